// Bench: measure this machine (or its CUDA device) and turn the rates into a HardwareProfile.
//
// CPU: STREAM copy/scale/add/triad (STREAM rules: large arrays first-touched by pinned worker
// threads, many repetitions, best and median, bytes = reads + writes without write-allocate,
// verified results), peak vector FLOP/s from FMA chains with the widest SIMD the CPU has (picked
// at run time), Eigen GEMM over sizes, exp throughput, thread dispatch overhead (the CPU's
// analogue of a kernel launch), cache sizes and memory. Each run also measures independent
// reference loops (a plain triad on std::thread with a barrier, a plain FMA loop) so that the
// report says how far the bench is from them.
// CUDA (optional backend): device-to-device copy and triad, cuBLAS GEMM bf16/fp16/tf32/fp32,
// launch latency, device memory.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chronoscale/hardware.h"
#include "chronoscale/progress.h"

namespace chronoscale {

enum class BenchDevice { kCpu = 0, kCuda };
std::string ToString(BenchDevice device);
// "cpu" or "cuda" (case-insensitive); false when unknown.
bool Parse(std::string_view text, BenchDevice* out);

struct BenchOptions {
  BenchDevice device = BenchDevice::kCpu;
  // Quick mode: smaller arrays, fewer sizes and repetitions (under 10 s on a 2-core machine);
  // otherwise a full run (under 60 s there).
  bool quick = false;
  // Worker threads for the CPU bench; 0 means every CPU this process may run on.
  int num_threads = 0;
  // Pin worker thread i to the i-th allowed CPU (where the OS allows it).
  bool pin_threads = true;
  // Bytes of each of the three STREAM arrays; 0 picks 4x the last-level cache, capped at
  // 256 MiB (quick) or 2 GiB (full) and at an eighth of the memory.
  double stream_array_bytes = 0;
  // STREAM repetitions (each runs copy, scale, add and a triad; with the reference on, the
  // triad slot alternates between the bench's triad and the reference triad); 0 picks 12
  // (quick) or 20, fewer (at least 10) for arrays over 512 MiB.
  int stream_repetitions = 0;
  // Square GEMM sizes; empty picks {256, 512} (quick) or {128, 256, 512, 1024} (full).
  std::vector<int> gemm_sizes;
  // Measure the reference loops (plain triad, plain FMA loop) and compare.
  bool compare_with_reference = true;
  // Target seconds per timed FMA / exp repetition.
  double target_rep_s = 0.03;

  bool IsValid(std::string* error) const;
};

// Rates over repetitions: the best, the median and the worst; spread = (best - median) / best.
struct RateStats {
  double best = 0;
  double median = 0;
  double worst = 0;
  int repetitions = 0;
  double Spread() const { return best > 0 ? (best - median) / best : 0; }
};
// Builds RateStats from per-repetition rates (higher is better).
RateStats StatsFromRates(std::vector<double> rates);

// One timed kernel: a STREAM kernel (rate in bytes/s), an FMA loop (flop/s), exp (exp/s).
struct KernelResult {
  std::string name;  // "copy", "triad", "fma_fp32", "reference_triad", ...
  std::string unit;  // "bytes/s", "flop/s", "exp/s"
  RateStats rate;
  double work_per_rep = 0;  // bytes or flops or exps counted per repetition
  bool verified = false;    // results checked against the expected values
  std::string note;         // how bytes were counted, ISA, ...
};

struct GemmResult {
  std::string precision;  // "fp64", "fp32", "bf16", "tf32", "fp16"
  int n = 0;              // square size
  RateStats flops_per_s;
  bool emulated = false;  // computed through a wider type (Eigen::bfloat16 on the CPU)
};

struct BenchSummary {
  BenchDevice device = BenchDevice::kCpu;
  std::string device_name;  // CPU model or GPU name
  std::string hostname;
  std::string date;  // ISO date of the run
  bool quick = false;
  int num_threads = 0;
  bool threads_pinned = false;
  std::string simd;  // "avx512", "avx2", "sse2" (CPU); "sm_90" (CUDA)
  double memory_bytes = 0;
  double l1d_bytes = 0, l2_bytes = 0, llc_bytes = 0;  // per cache level, 0 if unknown
  double stream_array_bytes = 0;

  std::vector<KernelResult> stream;  // copy, scale, add, triad
  KernelResult fma_fp32, fma_fp64;   // peak vector rates (CPU)
  std::vector<GemmResult> gemm;
  KernelResult exp;                   // exp/s (CPU: Eigen's vectorised exp, float)
  double exp_baseline_isa_per_s = 0;  // exp/s of Eigen compiled for baseline x86-64
  RateStats launch_overhead_s;        // lower is better: best = smallest time
  double thread_spawn_join_s = 0;     // creating and joining N std::threads (CPU)

  // Reference measurements in the same run (CPU): a plain triad loop, a plain FMA loop.
  bool has_reference = false;
  KernelResult reference_triad, reference_fma_fp32, reference_fma_fp64;

  std::vector<std::string> notes;
  double wall_s = 0;

  // Best triad (STREAM byte count), the profile's mem_bandwidth_bytes_per_s.
  double TriadBandwidth() const;
  // Best GEMM rate over sizes for a precision (0 if not measured or only emulated).
  double BestGemm(const std::string& precision) const;
  // (bench best - reference best) / reference best; 0 without reference.
  double TriadVsReference() const;
  double FmaVsReference(bool fp64) const;
  // Roofline ridge points: flops per byte where compute and bandwidth take equal time.
  struct Ridge {
    std::string what;  // "vector fp32", "matmul bf16", ...
    double flops_per_s = 0;
    double flops_per_byte = 0;
  };
  std::vector<Ridge> RooflineRidges() const;

  // The profile: name, source "measured by chronoscale bench on <host>", date, rates, and in
  // extra the per-kernel rates, spreads, caches, reference comparison and field_sources.
  HardwareProfile ToHardwareProfile() const;

  std::string BriefReport() const;
  // Per-kernel best/median/spread, GEMM table, reference comparison, roofline ridges.
  std::string FullReport() const;
};

// Runs the bench. Throws InputError for invalid options, Cancelled when `progress` returns
// false, RuntimeError when a result fails verification or the device is unusable ("no usable
// CUDA device: <reason>", or a build without the CUDA backend).
BenchSummary RunBench(const BenchOptions& options, const ProgressCallback& progress);

// True when this build has the CUDA backend.
bool HaveCudaBackend();

// Where the "local" profile is cached: $XDG_CACHE_HOME/chronoscale/local.json, else
// ~/.cache/chronoscale/local.json.
std::string LocalProfileCachePath();

// "local": this machine's cached profile, or a quick bench whose profile is then cached
// (written atomically; a cache that cannot be written is reported through `progress` and
// skipped). Anything else: LoadHardware(name_or_path).
HardwareProfile LoadHardwareOrLocal(const std::string& name_or_path,
                                    const ProgressCallback& progress);

}  // namespace chronoscale
