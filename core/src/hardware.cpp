#include "chronoscale/hardware.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

#include "chronoscale/error.h"
#include "chronoscale/io.h"

namespace chronoscale {
namespace internal {
const std::map<std::string, std::string>& HardwarePresetDocuments();
}  // namespace internal

namespace {

constexpr Precision kFallback[kNumPrecisions][kNumPrecisions] = {
    // preferred order when the asked-for precision is missing
    {Precision::kFp64, Precision::kFp32, Precision::kTf32, Precision::kBf16, Precision::kFp16},
    {Precision::kFp32, Precision::kTf32, Precision::kBf16, Precision::kFp16, Precision::kFp64},
    {Precision::kTf32, Precision::kFp32, Precision::kBf16, Precision::kFp16, Precision::kFp64},
    {Precision::kBf16, Precision::kFp16, Precision::kTf32, Precision::kFp32, Precision::kFp64},
    {Precision::kFp16, Precision::kBf16, Precision::kTf32, Precision::kFp32, Precision::kFp64},
};

double Pick(const std::array<double, kNumPrecisions>& rates, Precision p, const std::string& name,
            const char* what) {
  for (Precision q : kFallback[static_cast<int>(p)]) {
    const double r = rates[static_cast<std::size_t>(q)];
    if (r > 0) return r;
  }
  throw RuntimeError(fmt::format("hardware '{}' has no {} rate for any precision", name, what));
}

void ReadRates(const nlohmann::json& doc, const char* key, const std::string& where, bool required,
               std::array<double, kNumPrecisions>* out) {
  out->fill(0);
  if (!doc.contains(key)) {
    if (required) throw InputError(fmt::format("{}: missing key '{}'", where, key));
    return;
  }
  const auto& obj = doc.at(key);
  if (!obj.is_object()) {
    throw InputError(
        fmt::format("{}: key '{}' must be an object keyed by precision (fp64, fp32, "
                    "tf32, bf16, fp16)",
                    where, key));
  }
  for (const auto& [name, value] : obj.items()) {
    Precision p;
    if (!Parse(name, &p)) {
      throw InputError(
          fmt::format("{}: key '{}.{}': unknown precision; expected fp64, fp32, tf32, "
                      "bf16 or fp16",
                      where, key, name));
    }
    (*out)[static_cast<std::size_t>(p)] =
        JsonNumber(obj, name, fmt::format("{} ({})", where, key), 1e3, 1e20);
  }
  bool any = false;
  for (double r : *out) any = any || r > 0;
  if (required && !any)
    throw InputError(fmt::format("{}: key '{}' lists no precision", where, key));
}

}  // namespace

double HardwareProfile::MatmulRate(Precision p) const {
  return Pick(matmul_flops_per_s, p, name, "matmul");
}

double HardwareProfile::VectorRate(Precision p) const {
  bool any = false;
  for (double r : vector_flops_per_s) any = any || r > 0;
  // Without published vector rates, take a tenth of the matmul rate (tensor units are ~10x).
  if (!any) return 0.1 * MatmulRate(p);
  return Pick(vector_flops_per_s, p, name, "vector");
}

double HardwareProfile::ExpRate() const {
  // An exp costs about 8 fp32 vector flops where it was not measured.
  return exp_per_s > 0 ? exp_per_s : VectorRate(Precision::kFp32) / 8.0;
}

HardwareProfile HardwareFromJson(const nlohmann::json& doc, const std::string& where) {
  if (!doc.is_object())
    throw InputError(fmt::format("{}: expected a JSON object (a hardware profile)", where));
  HardwareProfile h;
  h.name = JsonString(doc, "name", where);
  if (h.name.empty()) throw InputError(fmt::format("{}: key 'name' is empty", where));
  if (Printable(h.name) != h.name) {
    throw InputError(fmt::format(
        "{}: key 'name' is \"{}\": control characters (terminal escapes) are not allowed in a "
        "name",
        where, Printable(h.name)));
  }
  h.source = doc.contains("source") ? JsonString(doc, "source", where) : "";
  h.date = doc.contains("date") ? JsonString(doc, "date", where) : "";
  h.device = doc.contains("device") ? JsonString(doc, "device", where) : "";
  h.memory_bytes = JsonNumberOr(doc, "memory_bytes", where, 1e6, 1e16, 0);
  h.mem_bandwidth_bytes_per_s = JsonNumber(doc, "mem_bandwidth_bytes_per_s", where, 1e6, 1e16);
  ReadRates(doc, "matmul_flops_per_s", where, true, &h.matmul_flops_per_s);
  ReadRates(doc, "vector_flops_per_s", where, false, &h.vector_flops_per_s);
  h.launch_overhead_s = JsonNumber(doc, "launch_overhead_s", where, 0, 1);
  h.interconnect_bandwidth_bytes_per_s =
      doc.contains("intra_node_bandwidth_bytes_per_s")
          ? JsonNumber(doc, "intra_node_bandwidth_bytes_per_s", where, 0, 1e16)
          : JsonNumberOr(doc, "interconnect_bandwidth_bytes_per_s", where, 0, 1e16, 0);
  h.gpus_per_node = static_cast<int64_t>(JsonNumberOr(doc, "gpus_per_node", where, 1, 1048576, 0));
  if (doc.contains("gpus_per_node") &&
      static_cast<double>(h.gpus_per_node) != doc.at("gpus_per_node").get<double>()) {
    throw InputError(fmt::format("{}: key 'gpus_per_node' must be a whole number", where));
  }
  h.inter_node_bandwidth_bytes_per_s =
      JsonNumberOr(doc, "inter_node_bandwidth_bytes_per_s", where, 0, 1e16, 0);
  h.intra_node_latency_s = JsonNumberOr(doc, "intra_node_latency_s", where, 0, 1, 0);
  h.inter_node_latency_s = JsonNumberOr(doc, "inter_node_latency_s", where, 0, 1, 0);
  if (doc.contains("collective_algorithm")) {
    const std::string algo = JsonString(doc, "collective_algorithm", where);
    if (algo != "ring" && algo != "tree") {
      throw InputError(fmt::format(
          "{}: key 'collective_algorithm' is '{}'; expected \"ring\" or \"tree\"", where, algo));
    }
    h.tree_collectives = algo == "tree";
  }
  h.exp_per_s = JsonNumberOr(doc, "exp_per_s", where, 0, 1e18, 0);
  static const char* known[] = {"name",
                                "source",
                                "date",
                                "device",
                                "memory_bytes",
                                "mem_bandwidth_bytes_per_s",
                                "matmul_flops_per_s",
                                "vector_flops_per_s",
                                "launch_overhead_s",
                                "interconnect_bandwidth_bytes_per_s",
                                "intra_node_bandwidth_bytes_per_s",
                                "inter_node_bandwidth_bytes_per_s",
                                "gpus_per_node",
                                "intra_node_latency_s",
                                "inter_node_latency_s",
                                "collective_algorithm",
                                "exp_per_s"};
  for (const auto& [key, value] : doc.items()) {
    bool is_known = false;
    for (const char* k : known) is_known = is_known || key == k;
    if (!is_known) h.extra[key] = value;
  }
  return h;
}

nlohmann::json HardwareToJson(const HardwareProfile& h) {
  nlohmann::json doc = h.extra.is_object() ? h.extra : nlohmann::json::object();
  doc["name"] = h.name;
  doc["source"] = h.source;
  doc["date"] = h.date;
  if (!h.device.empty()) doc["device"] = h.device;
  if (h.memory_bytes > 0) doc["memory_bytes"] = h.memory_bytes;
  doc["mem_bandwidth_bytes_per_s"] = h.mem_bandwidth_bytes_per_s;
  auto rates = [](const std::array<double, kNumPrecisions>& r) {
    nlohmann::json o = nlohmann::json::object();
    for (std::size_t i = 0; i < kNumPrecisions; ++i) {
      if (r[i] > 0) o[ToString(static_cast<Precision>(i))] = r[i];
    }
    return o;
  };
  doc["matmul_flops_per_s"] = rates(h.matmul_flops_per_s);
  const auto vec = rates(h.vector_flops_per_s);
  if (!vec.empty()) doc["vector_flops_per_s"] = vec;
  doc["launch_overhead_s"] = h.launch_overhead_s;
  if (h.interconnect_bandwidth_bytes_per_s > 0) {
    doc["interconnect_bandwidth_bytes_per_s"] = h.interconnect_bandwidth_bytes_per_s;
    doc["intra_node_bandwidth_bytes_per_s"] = h.interconnect_bandwidth_bytes_per_s;
  }
  if (h.gpus_per_node > 0) doc["gpus_per_node"] = h.gpus_per_node;
  if (h.inter_node_bandwidth_bytes_per_s > 0)
    doc["inter_node_bandwidth_bytes_per_s"] = h.inter_node_bandwidth_bytes_per_s;
  if (h.intra_node_latency_s > 0) doc["intra_node_latency_s"] = h.intra_node_latency_s;
  if (h.inter_node_latency_s > 0) doc["inter_node_latency_s"] = h.inter_node_latency_s;
  if (h.gpus_per_node > 0) doc["collective_algorithm"] = h.tree_collectives ? "tree" : "ring";
  if (h.exp_per_s > 0) doc["exp_per_s"] = h.exp_per_s;
  return doc;
}

std::vector<std::string> HardwarePresetNames() {
  std::vector<std::string> names;
  for (const auto& [name, doc] : internal::HardwarePresetDocuments()) names.push_back(name);
  return names;
}

bool IsHardwarePreset(const std::string& name) {
  return internal::HardwarePresetDocuments().count(name) > 0;
}

namespace {

// Other spellings of the presets that run logs and papers use (lower case).
const std::map<std::string, std::string>& PresetAliases() {
  static const std::map<std::string, std::string> aliases = {
      {"a100-sxm-80gb", "a100-80gb"}, {"a100-sxm4-80gb", "a100-80gb"},
      {"a100_80gb", "a100-80gb"},     {"a100-80g", "a100-80gb"},
      {"a100-sxm-40gb", "a100-40gb"}, {"a100-sxm4-40gb", "a100-40gb"},
      {"a100_40gb", "a100-40gb"},     {"a100-40g", "a100-40gb"},
      {"h100", "h100-sxm"},           {"h100-sxm5", "h100-sxm"},
      {"h100-80gb", "h100-sxm"},      {"h100-sxm-80gb", "h100-sxm"},
      {"h100_sxm", "h100-sxm"},       {"h200-sxm", "h200"},
      {"h200-141gb", "h200"},         {"mi300", "mi300x"},
      {"rtx4090", "rtx-4090"},        {"v5e", "tpu-v5e"}};
  return aliases;
}

}  // namespace

HardwareProfile LoadHardware(const std::string& given) {
  const auto& docs = internal::HardwarePresetDocuments();
  std::string name_or_path = given;
  if (docs.count(given) == 0) {
    std::string lower = given;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (docs.count(lower) > 0) {
      name_or_path = lower;
    } else if (const auto a = PresetAliases().find(lower); a != PresetAliases().end()) {
      name_or_path = a->second;
    }
  }
  const auto it = docs.find(name_or_path);
  if (it != docs.end()) {
    return HardwareFromJson(ParseJson(it->second, "preset " + it->first), "preset " + it->first);
  }
  std::error_code ec;
  const bool looks_like_file = name_or_path.find('/') != std::string::npos ||
                               name_or_path.ends_with(".json") ||
                               std::filesystem::exists(name_or_path, ec);
  if (!looks_like_file) {
    std::string names;
    for (const auto& [name, doc] : docs) names += (names.empty() ? "" : ", ") + name;
    throw InputError(
        fmt::format("unknown hardware '{}'; expected a preset ({}) or a profile JSON file",
                    name_or_path, names));
  }
  return HardwareFromJson(ReadJsonFile(name_or_path), name_or_path);
}

namespace {

std::string Canonical(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c)) out += static_cast<char>(std::tolower(c));
  }
  return out;
}

// The preset a name or alias stands for ("" when none).
std::string PresetOf(const std::string& name) {
  if (IsHardwarePreset(name)) return name;
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (IsHardwarePreset(lower)) return lower;
  const auto a = PresetAliases().find(lower);
  return a != PresetAliases().end() ? a->second : "";
}

}  // namespace

bool RunsMatchHardware(const HardwareProfile& hw, const std::string& run_hardware,
                       const std::string& run_device) {
  if (!run_hardware.empty()) {
    if (run_hardware == hw.name) return true;
    const std::string preset = PresetOf(run_hardware);
    if (!preset.empty() && preset == PresetOf(hw.name)) return true;
  }
  std::string device = run_device;
  if (device.empty() && !run_hardware.empty()) {
    // A preset's own device name, where the runs name a preset and no device (the presets are
    // parsed once, not once per run).
    static const std::map<std::string, std::string> preset_devices = [] {
      std::map<std::string, std::string> out;
      for (const auto& name : HardwarePresetNames()) out[name] = LoadHardware(name).device;
      return out;
    }();
    const auto it = preset_devices.find(PresetOf(run_hardware));
    if (it != preset_devices.end()) device = it->second;
  }
  return !device.empty() && !hw.device.empty() && Canonical(device) == Canonical(hw.device);
}

}  // namespace chronoscale
