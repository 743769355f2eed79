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

HardwareProfile BenchSummary::ToHardwareProfile() const {
  HardwareProfile h;
  const bool cuda = device == BenchDevice::kCuda;
  h.name = cuda ? SanitizeName(device_name) + "-measured" : SanitizeName(hostname) + "-cpu";
  h.device = device_name;
  h.source = fmt::format("measured by chronoscale bench on {}{}", hostname,
                         cuda ? " (" + device_name + ")" : "");
  h.date = date;
  h.memory_bytes = memory_bytes;
  h.mem_bandwidth_bytes_per_s = TriadBandwidth();
  for (std::size_t i = 0; i < kNumPrecisions; ++i) {
    h.matmul_flops_per_s[i] = BestGemm(ToString(static_cast<Precision>(i)));
  }
  h.vector_flops_per_s[static_cast<std::size_t>(Precision::kFp32)] = fma_fp32.rate.best;
  h.vector_flops_per_s[static_cast<std::size_t>(Precision::kFp64)] = fma_fp64.rate.best;
  h.launch_overhead_s = launch_overhead_s.median;
  h.exp_per_s = exp.rate.best;

  nlohmann::json extra = nlohmann::json::object();
  nlohmann::json kernels = nlohmann::json::object();
  for (const auto& k : stream) {
    extra[k.name + "_bandwidth_bytes_per_s"] = k.rate.best;
    kernels[k.name] = KernelJson(k);
  }
  nlohmann::json sources = {
      {"memory_bytes", cuda ? "measured: cudaGetDeviceProperties totalGlobalMem"
                            : "measured: sysconf physical pages x page size"},
      {"mem_bandwidth_bytes_per_s",
       cuda ? "measured: best fp32 triad, 2 reads + 1 write counted, CUDA events"
            : fmt::format("measured: best STREAM triad (double, 3 x {:.0f} MiB, {} threads), 2 "
                          "reads + 1 write counted, no write-allocate",
                          stream_array_bytes / (1 << 20), num_threads)},
      {"matmul_flops_per_s",
       cuda ? "measured: cublasGemmEx at the size given in bench.gemm, best of the repetitions"
            : "measured: Eigen GEMM, one independent product per thread, best over sizes; bf16 "
              "only emulated (see matmul_emulated_flops_per_s), so absent here"},
      {"launch_overhead_s",
       cuda ? "measured: median per-launch time of back-to-back empty kernels"
            : "measured: median time to wake the worker threads and join them (empty task)"},
  };
  if (!cuda) {
    sources["vector_flops_per_s"] = fmt::format(
        "measured: FMA chains in registers, {} on {} threads, best repetition", simd, num_threads);
    sources["exp_per_s"] = "measured: Eigen ArrayXf::exp over L1-resident data, all threads";
  }
  extra["field_sources"] = sources;
  nlohmann::json bench = {{"device", ToString(device)},
                          {"device_name", device_name},
                          {"hostname", hostname},
                          {"mode", quick ? "quick" : "full"},
                          {"tool_version", Version()},
                          {"wall_s", wall_s},
                          {"threads", num_threads},
                          {"threads_pinned", threads_pinned},
                          {"simd", simd},
                          {"stream_array_bytes", stream_array_bytes},
                          {"kernels", kernels},
                          {"notes", notes}};
  if (!cuda) {
    bench["caches"] = {{"l1d_bytes", l1d_bytes}, {"l2_bytes", l2_bytes}, {"llc_bytes", llc_bytes}};
    bench["fma_fp32"] = KernelJson(fma_fp32);
    bench["fma_fp64"] = KernelJson(fma_fp64);
    bench["exp"] = KernelJson(exp);
    bench["exp_baseline_isa_per_s"] = exp_baseline_isa_per_s;
    bench["thread_spawn_join_s"] = thread_spawn_join_s;
  }
  bench["launch_overhead_s"] = StatsJson(launch_overhead_s);
  nlohmann::json gemms = nlohmann::json::array();
  nlohmann::json emulated = nlohmann::json::object();
  for (const auto& g : gemm) {
    nlohmann::json j = StatsJson(g.flops_per_s);
    j["precision"] = g.precision;
    j["n"] = g.n;
    j["emulated"] = g.emulated;
    gemms.push_back(j);
    if (g.emulated) emulated[g.precision] = g.flops_per_s.best;
  }
  bench["gemm"] = gemms;
  if (!emulated.empty()) {
    extra["matmul_emulated_flops_per_s"] = emulated;
    sources["matmul_emulated_flops_per_s"] =
        "measured: Eigen::bfloat16 GEMM on one thread, converted to float per operation; not "
        "the CPU's bf16 rate";
    extra["field_sources"] = sources;
  }
  if (has_reference) {
    bench["reference"] = {
        {"triad", KernelJson(reference_triad)},
        {"fma_fp32", KernelJson(reference_fma_fp32)},
        {"fma_fp64", KernelJson(reference_fma_fp64)},
        {"triad_vs_reference", TriadVsReference()},
        {"fma_fp32_vs_reference", FmaVsReference(false)},
        {"fma_fp64_vs_reference", FmaVsReference(true)},
    };
  }
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

std::string BenchSummary::FullReport() const {
  std::string t;
  t += fmt::format("chronoscale bench ({} mode) on {}: {}\n", quick ? "quick" : "full", hostname,
                   device_name);
  if (device == BenchDevice::kCpu) {
    t += fmt::format("  threads {} ({}), SIMD {}, memory {:.1f} GiB\n", num_threads,
                     threads_pinned ? "pinned" : "not pinned", simd, memory_bytes / kGiB);
    t += fmt::format(
        "  caches: L1d {:.0f} KiB, L2 {:.0f} KiB, LLC {:.1f} MiB; STREAM arrays {:.0f} "
        "MiB each\n",
        l1d_bytes / 1024, l2_bytes / 1024, llc_bytes / (1 << 20), stream_array_bytes / (1 << 20));
  } else {
    t += fmt::format("  {}, memory {:.1f} GiB\n", simd, memory_bytes / kGiB);
  }
  t += fmt::format("\n  {:<18} {:>16} {:>16} {:>8} {:>5}  {}\n", "kernel", "best", "median",
                   "spread", "reps", "verified");
  auto row = [&](const KernelResult& k) {
    if (k.rate.repetitions == 0) return;
    t += fmt::format("  {:<18} {:>16} {:>16} {:>7.1f}% {:>5}  {}\n", k.name,
                     Rate(k.rate.best, k.unit), Rate(k.rate.median, k.unit), 100 * k.rate.Spread(),
                     k.rate.repetitions, k.verified ? "yes" : "no");
  };
  for (const auto& k : stream) row(k);
  row(fma_fp32);
  row(fma_fp64);
  row(exp);
  if (exp_baseline_isa_per_s > 0 && device == BenchDevice::kCpu) {
    t += fmt::format(
        "  {:<18} {:>16}   (Eigen built for baseline x86-64, as the library's "
        "kernels are)\n",
        "exp (sse2)", Rate(exp_baseline_isa_per_s, "exp/s"));
  }
  t += fmt::format(
      "  {:<18} {:>13.2f} us {:>13.2f} us {:>7.1f}% {:>5}  ({})\n", "launch",
      launch_overhead_s.best * 1e6, launch_overhead_s.median * 1e6,
      launch_overhead_s.median > 0
          ? 100 * (launch_overhead_s.median - launch_overhead_s.best) / launch_overhead_s.median
          : 0.0,
      launch_overhead_s.repetitions,
      device == BenchDevice::kCpu ? "wake + join the worker threads" : "empty kernel");
  if (thread_spawn_join_s > 0) {
    t += fmt::format("  {:<18} {:>13.2f} us   (create + join {} std::threads)\n", "thread spawn",
                     thread_spawn_join_s * 1e6, num_threads);
  }
  t += fmt::format("\n  {:<10} {:>6} {:>16} {:>16} {:>8}\n", "GEMM", "n", "best", "median",
                   "spread");
  for (const auto& g : gemm) {
    t +=
        fmt::format("  {:<10} {:>6} {:>16} {:>16} {:>7.1f}%{}\n", g.precision, g.n,
                    Rate(g.flops_per_s.best, "flop/s"), Rate(g.flops_per_s.median, "flop/s"),
                    100 * g.flops_per_s.Spread(),
                    g.emulated ? "  emulated (Eigen::bfloat16, 1 thread): not the CPU's rate" : "");
  }
  if (has_reference) {
    t += "\n  against reference loops measured in the same run (best vs best; spread = "
         "(best - median) / best):\n";
    auto cmp = [&](const char* what, const KernelResult& b, const KernelResult& r, double diff) {
      t += fmt::format(
          "  {:<10} bench {:>16} (spread {:.1f}%)  reference {:>16} (spread "
          "{:.1f}%)  {:+.1f}%{}\n",
          what, Rate(b.rate.best, b.unit), 100 * b.rate.Spread(), Rate(r.rate.best, r.unit),
          100 * r.rate.Spread(), 100 * diff,
          std::fabs(diff) <= 0.10 ? "  within 10%" : "  OUTSIDE 10%");
    };
    KernelResult triad;
    for (const auto& k : stream) {
      if (k.name == "triad") triad = k;
    }
    cmp("triad", triad, reference_triad, TriadVsReference());
    cmp("fma fp32", fma_fp32, reference_fma_fp32, FmaVsReference(false));
    cmp("fma fp64", fma_fp64, reference_fma_fp64, FmaVsReference(true));
  }
  const auto ridges = RooflineRidges();
  if (!ridges.empty()) {
    t += fmt::format(
        "\n  roofline ridge points (flops per byte of memory traffic at {:.2f} GB/s):\n",
        TriadBandwidth() / 1e9);
    for (const auto& r : ridges) {
      t += fmt::format("  {:<14} {:>16}  ridge {:>7.2f} flop/byte\n", r.what,
                       Rate(r.flops_per_s, "flop/s"), r.flops_per_byte);
    }
  }
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
