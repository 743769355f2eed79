// What a bench run reports: the summary as JSON and text, the roofline ridges, the hardware
// profile it makes, and the local profile's cache.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "bench_internal.h"
#include "chronoscale/bench.h"
#include "chronoscale/error.h"
#include "chronoscale/io.h"
#include "chronoscale/version.h"

namespace chronoscale {
namespace {

nlohmann::json StatsJson(const RateStats& r) {
  return {{"best", r.best},
          {"median", r.median},
          {"worst", r.worst},
          {"spread", r.Spread()},
          {"repetitions", r.repetitions}};
}

nlohmann::json KernelJson(const KernelResult& k) {
  nlohmann::json j = StatsJson(k.rate);
  j["unit"] = k.unit;
  j["work_per_rep"] = k.work_per_rep;
  j["verified"] = k.verified;
  if (!k.note.empty()) j["note"] = k.note;
  return j;
}

std::string Rate(double v, const std::string& unit) {
  if (unit == "bytes/s") return fmt::format("{:.2f} GB/s", v / 1e9);
  if (unit == "flop/s") return fmt::format("{:.1f} GFLOP/s", v / 1e9);
  if (unit == "exp/s") return fmt::format("{:.2f} Gexp/s", v / 1e9);
  return fmt::format("{:.3g} {}", v, unit);
}

std::string SanitizeName(std::string text) {
  for (char& ch : text) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
    ch = ok ? static_cast<char>(std::tolower(static_cast<unsigned char>(ch))) : '-';
  }
  return text;
}

}  // namespace

double BenchSummary::TriadBandwidth() const {
  for (const auto& k : stream) {
    if (k.name == "triad") return k.rate.best;
  }
  return 0;
}

double BenchSummary::BestGemm(const std::string& precision) const {
  double best = 0;
  for (const auto& g : gemm) {
    if (g.precision == precision && !g.emulated) best = std::max(best, g.flops_per_s.best);
  }
  return best;
}

double BenchSummary::TriadVsReference() const {
  if (!has_reference || reference_triad.rate.best <= 0) return 0;
  return (TriadBandwidth() - reference_triad.rate.best) / reference_triad.rate.best;
}

double BenchSummary::FmaVsReference(bool fp64) const {
  const KernelResult& b = fp64 ? fma_fp64 : fma_fp32;
  const KernelResult& r = fp64 ? reference_fma_fp64 : reference_fma_fp32;
  if (!has_reference || r.rate.best <= 0) return 0;
  return (b.rate.best - r.rate.best) / r.rate.best;
}

std::vector<BenchSummary::Ridge> BenchSummary::RooflineRidges() const {
  std::vector<Ridge> ridges;
  const double bw = TriadBandwidth();
  if (bw <= 0) return ridges;
  auto add = [&](const std::string& what, double flops) {
    if (flops > 0) ridges.push_back({what, flops, flops / bw});
  };
  add("vector fp32", fma_fp32.rate.best);
  add("vector fp64", fma_fp64.rate.best);
  for (const char* p : {"fp64", "fp32", "tf32", "bf16", "fp16"}) {
    add(std::string("matmul ") + p, BestGemm(p));
  }
  return ridges;
}

namespace {

// The profile's identity and rates, from the measured kernels.
HardwareProfile MeasuredProfile(const BenchSummary& b, bool cuda) {
  HardwareProfile h;
  h.name = cuda ? SanitizeName(b.device_name) + "-measured" : SanitizeName(b.hostname) + "-cpu";
  h.device = b.device_name;
  h.source = fmt::format("measured by chronoscale bench on {}{}", b.hostname,
                         cuda ? " (" + b.device_name + ")" : "");
  h.date = b.date;
  h.memory_bytes = b.memory_bytes;
  h.mem_bandwidth_bytes_per_s = b.TriadBandwidth();
  for (std::size_t i = 0; i < kNumPrecisions; ++i) {
    h.matmul_flops_per_s[i] = b.BestGemm(ToString(static_cast<Precision>(i)));
  }
  h.vector_flops_per_s[static_cast<std::size_t>(Precision::kFp32)] = b.fma_fp32.rate.best;
  h.vector_flops_per_s[static_cast<std::size_t>(Precision::kFp64)] = b.fma_fp64.rate.best;
  h.launch_overhead_s = b.launch_overhead_s.median;
  h.exp_per_s = b.exp.rate.best;
  return h;
}

// How each profile field was measured (extra.field_sources).
nlohmann::json FieldSources(const BenchSummary& b, bool cuda) {
  nlohmann::json sources = {
      {"memory_bytes", cuda ? "measured: cudaGetDeviceProperties totalGlobalMem"
                            : "measured: sysconf physical pages x page size"},
      {"mem_bandwidth_bytes_per_s",
       cuda ? "measured: best fp32 triad, 2 reads + 1 write counted, CUDA events"
            : fmt::format("measured: best STREAM triad (double, 3 x {:.0f} MiB, {} threads), 2 "
                          "reads + 1 write counted, no write-allocate",
                          b.stream_array_bytes / (1 << 20), b.num_threads)},
      {"matmul_flops_per_s",
       cuda ? "measured: cublasGemmEx at the size given in bench.gemm, best of the repetitions"
            : "measured: Eigen GEMM, one independent product per thread, best over sizes; bf16 "
              "only emulated (see matmul_emulated_flops_per_s), so absent here"},
      {"launch_overhead_s",
       cuda ? "measured: median per-launch time of back-to-back empty kernels"
            : "measured: median time to wake the worker threads and join them (empty task)"},
  };
  if (!cuda) {
    sources["vector_flops_per_s"] =
        fmt::format("measured: FMA chains in registers, {} on {} threads, best repetition", b.simd,
                    b.num_threads);
    sources["exp_per_s"] = "measured: Eigen ArrayXf::exp over L1-resident data, all threads";
  }
  return sources;
}

// The run's details (extra.bench): device, mode, threads, kernels and, on a CPU, the caches and
// the CPU-only kernels.
nlohmann::json BenchDetails(const BenchSummary& b, bool cuda, const nlohmann::json& kernels) {
  nlohmann::json bench = {{"device", ToString(b.device)},
                          {"device_name", b.device_name},
                          {"hostname", b.hostname},
                          {"mode", b.quick ? "quick" : "full"},
                          {"tool_version", Version()},
                          {"wall_s", b.wall_s},
                          {"threads", b.num_threads},
                          {"threads_pinned", b.threads_pinned},
                          {"simd", b.simd},
                          {"stream_array_bytes", b.stream_array_bytes},
                          {"kernels", kernels},
                          {"notes", b.notes}};
  if (!cuda) {
    bench["caches"] = {
        {"l1d_bytes", b.l1d_bytes}, {"l2_bytes", b.l2_bytes}, {"llc_bytes", b.llc_bytes}};
    bench["fma_fp32"] = KernelJson(b.fma_fp32);
    bench["fma_fp64"] = KernelJson(b.fma_fp64);
    bench["exp"] = KernelJson(b.exp);
    bench["exp_baseline_isa_per_s"] = b.exp_baseline_isa_per_s;
    bench["thread_spawn_join_s"] = b.thread_spawn_join_s;
  }
  return bench;
}

// The GEMM rows (bench.gemm); the emulated rates by precision go to `emulated`.
nlohmann::json GemmJson(const BenchSummary& b, nlohmann::json* emulated) {
  nlohmann::json gemms = nlohmann::json::array();
  for (const auto& g : b.gemm) {
    nlohmann::json j = StatsJson(g.flops_per_s);
    j["precision"] = g.precision;
    j["n"] = g.n;
    j["emulated"] = g.emulated;
    gemms.push_back(j);
    if (g.emulated) (*emulated)[g.precision] = g.flops_per_s.best;
  }
  return gemms;
}

// The reference loops and how the bench kernels compare with them (bench.reference).
nlohmann::json ReferenceJson(const BenchSummary& b) {
  return {
      {"triad", KernelJson(b.reference_triad)},
      {"fma_fp32", KernelJson(b.reference_fma_fp32)},
      {"fma_fp64", KernelJson(b.reference_fma_fp64)},
      {"triad_vs_reference", b.TriadVsReference()},
      {"fma_fp32_vs_reference", b.FmaVsReference(false)},
      {"fma_fp64_vs_reference", b.FmaVsReference(true)},
  };
}

}  // namespace

HardwareProfile BenchSummary::ToHardwareProfile() const {
  const bool cuda = device == BenchDevice::kCuda;
  HardwareProfile h = MeasuredProfile(*this, cuda);

  nlohmann::json extra = nlohmann::json::object();
  nlohmann::json kernels = nlohmann::json::object();
  for (const auto& k : stream) {
    extra[k.name + "_bandwidth_bytes_per_s"] = k.rate.best;
    kernels[k.name] = KernelJson(k);
  }
  nlohmann::json sources = FieldSources(*this, cuda);
  extra["field_sources"] = sources;
  nlohmann::json bench = BenchDetails(*this, cuda, kernels);
  bench["launch_overhead_s"] = StatsJson(launch_overhead_s);
  nlohmann::json emulated = nlohmann::json::object();
  bench["gemm"] = GemmJson(*this, &emulated);
  if (!emulated.empty()) {
    extra["matmul_emulated_flops_per_s"] = emulated;
    sources["matmul_emulated_flops_per_s"] =
        "measured: Eigen::bfloat16 GEMM on one thread, converted to float per operation; not "
        "the CPU's bf16 rate";
    extra["field_sources"] = sources;
  }
  if (has_reference) bench["reference"] = ReferenceJson(*this);
  nlohmann::json ridges = nlohmann::json::object();
  for (const auto& r : RooflineRidges()) ridges[r.what] = r.flops_per_byte;
  bench["roofline_ridge_flops_per_byte"] = ridges;
  extra["bench"] = bench;
  h.extra = extra;
  return h;
}

std::string BenchSummary::BriefReport() const {
  std::string text = fmt::format(
      "{} bench on {} ({}, {}): triad {:.2f} GB/s, fp32 {:.1f} / fp64 {:.1f} GFLOP/s vector, "
      "fp32 GEMM {:.1f} GFLOP/s, launch {:.2f} us, {:.1f} s",
      quick ? "quick" : "full", hostname, device_name, ToString(device), TriadBandwidth() / 1e9,
      fma_fp32.rate.best / 1e9, fma_fp64.rate.best / 1e9, BestGemm("fp32") / 1e9,
      launch_overhead_s.median * 1e6, wall_s);
  return text;
}

namespace {

// The title line and the machine: threads, SIMD, memory and caches (CPU) or the device.
std::string ReportMachine(const BenchSummary& b) {
  std::string t;
  t += fmt::format("chronoscale bench ({} mode) on {}: {}\n", b.quick ? "quick" : "full",
                   b.hostname, b.device_name);
  if (b.device == BenchDevice::kCpu) {
    t += fmt::format("  threads {} ({}), SIMD {}, memory {:.1f} GiB\n", b.num_threads,
                     b.threads_pinned ? "pinned" : "not pinned", b.simd, b.memory_bytes / kGiB);
    t += fmt::format(
        "  caches: L1d {:.0f} KiB, L2 {:.0f} KiB, LLC {:.1f} MiB; STREAM arrays {:.0f} "
        "MiB each\n",
        b.l1d_bytes / 1024, b.l2_bytes / 1024, b.llc_bytes / (1 << 20),
        b.stream_array_bytes / (1 << 20));
  } else {
    t += fmt::format("  {}, memory {:.1f} GiB\n", b.simd, b.memory_bytes / kGiB);
  }
  return t;
}

// The kernel table: best, median, spread and repetitions per kernel, the launch overhead and the
// thread spawn time.
std::string ReportKernels(const BenchSummary& b) {
  std::string t;
  t += fmt::format("\n  {:<18} {:>16} {:>16} {:>8} {:>5}  {}\n", "kernel", "best", "median",
                   "spread", "reps", "verified");
  auto row = [&](const KernelResult& k) {
    if (k.rate.repetitions == 0) return;
    t += fmt::format("  {:<18} {:>16} {:>16} {:>7.1f}% {:>5}  {}\n", k.name,
                     Rate(k.rate.best, k.unit), Rate(k.rate.median, k.unit), 100 * k.rate.Spread(),
                     k.rate.repetitions, k.verified ? "yes" : "no");
  };
  for (const auto& k : b.stream) row(k);
  row(b.fma_fp32);
  row(b.fma_fp64);
  row(b.exp);
  if (b.exp_baseline_isa_per_s > 0 && b.device == BenchDevice::kCpu) {
    t += fmt::format(
        "  {:<18} {:>16}   (Eigen built for baseline x86-64, as the library's "
        "kernels are)\n",
        "exp (sse2)", Rate(b.exp_baseline_isa_per_s, "exp/s"));
  }
  const RateStats& launch = b.launch_overhead_s;
  t += fmt::format(
      "  {:<18} {:>13.2f} us {:>13.2f} us {:>7.1f}% {:>5}  ({})\n", "launch", launch.best * 1e6,
      launch.median * 1e6,
      launch.median > 0 ? 100 * (launch.median - launch.best) / launch.median : 0.0,
      launch.repetitions,
      b.device == BenchDevice::kCpu ? "wake + join the worker threads" : "empty kernel");
  if (b.thread_spawn_join_s > 0) {
    t += fmt::format("  {:<18} {:>13.2f} us   (create + join {} std::threads)\n", "thread spawn",
                     b.thread_spawn_join_s * 1e6, b.num_threads);
  }
  return t;
}

// The GEMM table: best, median and spread per precision and size.
std::string ReportGemm(const BenchSummary& b) {
  std::string t;
  t += fmt::format("\n  {:<10} {:>6} {:>16} {:>16} {:>8}\n", "GEMM", "n", "best", "median",
                   "spread");
  for (const auto& g : b.gemm) {
    t +=
        fmt::format("  {:<10} {:>6} {:>16} {:>16} {:>7.1f}%{}\n", g.precision, g.n,
                    Rate(g.flops_per_s.best, "flop/s"), Rate(g.flops_per_s.median, "flop/s"),
                    100 * g.flops_per_s.Spread(),
                    g.emulated ? "  emulated (Eigen::bfloat16, 1 thread): not the CPU's rate" : "");
  }
  return t;
}

// The bench kernels against the reference loops measured in the same run.
std::string ReportReference(const BenchSummary& b) {
  std::string t;
  t += "\n  against reference loops measured in the same run (best vs best; spread = "
       "(best - median) / best):\n";
  auto cmp = [&](const char* what, const KernelResult& k, const KernelResult& r, double diff) {
    t += fmt::format(
        "  {:<10} bench {:>16} (spread {:.1f}%)  reference {:>16} (spread "
        "{:.1f}%)  {:+.1f}%{}\n",
        what, Rate(k.rate.best, k.unit), 100 * k.rate.Spread(), Rate(r.rate.best, r.unit),
        100 * r.rate.Spread(), 100 * diff,
        std::fabs(diff) <= 0.10 ? "  within 10%" : "  OUTSIDE 10%");
  };
  KernelResult triad;
  for (const auto& k : b.stream) {
    if (k.name == "triad") triad = k;
  }
  cmp("triad", triad, b.reference_triad, b.TriadVsReference());
  cmp("fma fp32", b.fma_fp32, b.reference_fma_fp32, b.FmaVsReference(false));
  cmp("fma fp64", b.fma_fp64, b.reference_fma_fp64, b.FmaVsReference(true));
  return t;
}

// The roofline ridge points, if the triad bandwidth was measured.
std::string ReportRidges(const BenchSummary& b) {
  std::string t;
  const auto ridges = b.RooflineRidges();
  if (!ridges.empty()) {
    t += fmt::format(
        "\n  roofline ridge points (flops per byte of memory traffic at {:.2f} GB/s):\n",
        b.TriadBandwidth() / 1e9);
    for (const auto& r : ridges) {
      t += fmt::format("  {:<14} {:>16}  ridge {:>7.2f} flop/byte\n", r.what,
                       Rate(r.flops_per_s, "flop/s"), r.flops_per_byte);
    }
  }
  return t;
}

}  // namespace

std::string BenchSummary::FullReport() const {
  std::string t = ReportMachine(*this);
  t += ReportKernels(*this);
  t += ReportGemm(*this);
  if (has_reference) t += ReportReference(*this);
  t += ReportRidges(*this);
  for (const auto& n : notes) t += "  note: " + n + "\n";
  t += fmt::format("  wall time {:.1f} s\n", wall_s);
  return t;
}

std::string LocalProfileCachePath() {
  namespace fs = std::filesystem;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  fs::path base;
  if (xdg && *xdg) {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    base = fs::path(home && *home ? home : ".") / ".cache";
  }
  return (base / "chronoscale" / "local.json").string();
}

HardwareProfile LoadHardwareOrLocal(const std::string& name_or_path,
                                    const ProgressCallback& progress) {
  if (name_or_path != "local") return LoadHardware(name_or_path);
  namespace fs = std::filesystem;
  const std::string path = LocalProfileCachePath();
  std::error_code ec;
  if (fs::exists(path, ec)) {
    try {
      HardwareProfile cached = HardwareFromJson(ReadJsonFile(path), path);
      cached.name = "local";
      // Profiles cached before the device key name it only in the bench details.
      if (cached.device.empty() && cached.extra.contains("bench") &&
          cached.extra["bench"].is_object() && cached.extra["bench"].contains("device_name") &&
          cached.extra["bench"]["device_name"].is_string()) {
        cached.device = cached.extra["bench"]["device_name"].get<std::string>();
      }
      return cached;
    } catch (const InputError& e) {
      // A damaged cache is measured again and replaced.
      ReportProgress(progress, 0, std::string("ignoring the cached profile: ") + e.what());
    }
  }
  BenchOptions options;
  options.quick = true;
  const BenchSummary summary = RunBench(options, progress);
  HardwareProfile profile = summary.ToHardwareProfile();
  profile.name = "local";
  try {
    fs::create_directories(fs::path(path).parent_path(), ec);
    WriteFileAtomic(path, HardwareToJson(profile).dump(2) + "\n");
  } catch (const RuntimeError& e) {
    ReportProgress(progress, 1, std::string("could not cache the local profile: ") + e.what());
  }
  return profile;
}

}  // namespace chronoscale
