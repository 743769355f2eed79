// HardwareProfile: the rates of one device. Presets (datasheet numbers with sources, or measured
// figures) ship as JSON in resources/hardware and are compiled into the library; the
// microbenchmark writes the same keys.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chronoscale/types.h"

namespace chronoscale {

struct HardwareProfile {
  std::string name;
  // The device as its driver names it ("NVIDIA H200", or the CPU model for a CPU profile): what
  // measured runs are matched against (RunsMatchHardware), whatever the profile is called.
  std::string device;
  std::string source;  // where the numbers come from (datasheet URL, "measured by ...")
  std::string date;    // ISO date of the source or measurement
  double memory_bytes = 0;
  double mem_bandwidth_bytes_per_s = 0;
  // Per precision (index: static_cast<size_t>(Precision)); 0 means the device lacks it.
  std::array<double, kNumPrecisions> matmul_flops_per_s{};
  std::array<double, kNumPrecisions> vector_flops_per_s{};
  double launch_overhead_s = 0;
  // Cluster topology. Bandwidths are per GPU, one direction; 0 means unknown (an error only when
  // a layout needs that link). JSON: gpus_per_node, intra_node_bandwidth_bytes_per_s (the older
  // key interconnect_bandwidth_bytes_per_s is read as the same figure),
  // inter_node_bandwidth_bytes_per_s, intra_node_latency_s, inter_node_latency_s and
  // collective_algorithm ("ring" or "tree": the latency term of the inter-node phase).
  double interconnect_bandwidth_bytes_per_s = 0;  // within a node (NVLink/NVSwitch, xGMI, PCIe)
  int64_t gpus_per_node = 0;
  double inter_node_bandwidth_bytes_per_s = 0;  // the NIC(s) of one GPU
  double intra_node_latency_s = 0;
  double inter_node_latency_s = 0;
  bool tree_collectives = false;  // false: ring (latency (g-1) alpha), true: tree (log2 g alpha)
  double exp_per_s = 0;           // exponentials per second (0: derived from the fp32 vector rate)
  // Everything else in the JSON document (field_sources, notes, bench details): kept as is.
  nlohmann::json extra = nlohmann::json::object();

  // Matmul rate for p, falling back to the nearest precision the device has (bf16 -> fp16 ->
  // tf32 -> fp32); throws RuntimeError if it has none.
  double MatmulRate(Precision p) const;
  // Vector (elementwise) rate for p with the same fallback.
  double VectorRate(Precision p) const;
  double ExpRate() const;
};

// Parses a profile document; `where` names the file for messages. Required: name,
// mem_bandwidth_bytes_per_s, matmul_flops_per_s (one precision at least), launch_overhead_s.
HardwareProfile HardwareFromJson(const nlohmann::json& doc, const std::string& where);
nlohmann::json HardwareToJson(const HardwareProfile& profile);

// Names of the compiled-in presets, sorted.
std::vector<std::string> HardwarePresetNames();
// A preset by name, or a profile JSON file by path (anything with a '/' or ending in .json, or
// an existing file). Unknown name: InputError listing the presets.
HardwareProfile LoadHardware(const std::string& name_or_path);
// True if runs labelled with hardware `run_hardware` (a profile name, a preset or an alias of
// one) and device `run_device` (the driver's name; either may be empty) were measured on the
// device of `hw`: the same profile name, the same preset, or the same device name (compared
// without case or punctuation).
bool RunsMatchHardware(const HardwareProfile& hw, const std::string& run_hardware,
                       const std::string& run_device);
// True if `name` is a compiled-in preset.
bool IsHardwarePreset(const std::string& name);

}  // namespace chronoscale
