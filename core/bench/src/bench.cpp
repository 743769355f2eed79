// The bench's options and its entry point: the CPU bench (bench_cpu.cpp) or, in a CUDA build,
// the CUDA one.
#include "chronoscale/bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "bench_internal.h"
#include "chronoscale/error.h"
#include "chronoscale/stats.h"

#if defined(CHRONOSCALE_HAVE_CUDA)
#include "bench_cuda.h"
#endif

namespace chronoscale {

using internal::SimdLevel;
using internal::ThreadPool;

std::string ToString(BenchDevice device) { return device == BenchDevice::kCuda ? "cuda" : "cpu"; }

bool Parse(std::string_view text, BenchDevice* out) {
  std::string lower(text);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "cpu") {
    *out = BenchDevice::kCpu;
    return true;
  }
  if (lower == "cuda" || lower == "gpu") {
    *out = BenchDevice::kCuda;
    return true;
  }
  return false;
}

bool BenchOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error) *error = message;
    return false;
  };
  if (num_threads < 0 || num_threads > 4096) {
    return fail(fmt::format("threads: expected 0 (all CPUs) to 4096, found {}", num_threads));
  }
  if (stream_array_bytes != 0 && !(stream_array_bytes >= (1 << 20) && stream_array_bytes <= 1e12)) {
    return fail(fmt::format("stream array bytes: expected 0 (auto) or 1 MiB to 1 TB, found {}",
                            stream_array_bytes));
  }
  if (stream_repetitions < 0 || stream_repetitions > 200) {
    return fail(
        fmt::format("stream repetitions: expected 0 (auto) to 200, found {}", stream_repetitions));
  }
  for (int n : gemm_sizes) {
    if (n < 8 || n > 16384) {
      return fail(fmt::format("GEMM size: expected 8 to 16384, found {}", n));
    }
  }
  if (!(target_rep_s > 0 && target_rep_s <= 10)) {
    return fail(
        fmt::format("target seconds per repetition: expected (0, 10], found {}", target_rep_s));
  }
  return true;
}

namespace {
// Best, worst and median of per-repetition values sorted best first.
RateStats StatsOfSorted(const std::vector<double>& best_first) {
  RateStats s;
  if (best_first.empty()) return s;
  s.best = best_first.front();
  s.worst = best_first.back();
  s.median = Median(best_first);
  s.repetitions = static_cast<int>(best_first.size());
  return s;
}
}  // namespace

RateStats StatsFromRates(std::vector<double> rates) {
  std::sort(rates.begin(), rates.end(), std::greater<double>());
  return StatsOfSorted(rates);
}

RateStats internal::StatsFromTimes(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  return StatsOfSorted(times);
}

using internal::IsoDate;
using internal::Now;
using internal::StatsFromTimes;

#if defined(CHRONOSCALE_HAVE_CUDA)
BenchSummary RunCuda(const BenchOptions& options, const ProgressCallback& progress) {
  const double t0 = Now();
  const internal::CudaBenchResult r = internal::RunCudaBench(options.quick, progress);
  if (r.cancelled) throw Cancelled();
  if (!r.error.empty()) throw RuntimeError(r.error);
  BenchSummary s;
  s.device = BenchDevice::kCuda;
  s.device_name = r.device_name;
  s.hostname = internal::QuerySystem().hostname;
  s.date = IsoDate();
  s.quick = options.quick;
  s.simd = r.arch;
  s.memory_bytes = r.memory_bytes;
  s.notes = r.notes;
  s.notes.push_back(fmt::format("CUDA driver {}, runtime {}", r.driver_version, r.runtime_version));
  for (const auto& rate : r.rates) {
    if (rate.name == "launch") {
      s.launch_overhead_s = StatsFromTimes(rate.samples);
    } else if (rate.name.rfind("gemm_", 0) == 0) {
      GemmResult g;
      g.precision = rate.name.substr(5);
      g.n = rate.n;
      g.flops_per_s = StatsFromRates(rate.samples);
      s.gemm.push_back(g);
    } else {
      KernelResult k;
      k.name = rate.name;
      k.unit = rate.unit;
      k.work_per_rep = rate.work_per_rep;
      k.rate = StatsFromRates(rate.samples);
      k.verified = rate.verified;
      k.note = rate.note;
      s.stream.push_back(k);
    }
  }
  s.wall_s = Now() - t0;
  return s;
}
#endif

bool HaveCudaBackend() {
#if defined(CHRONOSCALE_HAVE_CUDA)
  return true;
#else
  return false;
#endif
}

BenchSummary RunBench(const BenchOptions& options, const ProgressCallback& progress) {
  std::string error;
  if (!options.IsValid(&error)) throw InputError("bench: " + error);
  if (options.device == BenchDevice::kCuda) {
#if defined(CHRONOSCALE_HAVE_CUDA)
    return RunCuda(options, progress);
#else
    throw RuntimeError(
        "this build has no CUDA backend (configured without a CUDA toolkit or with "
        "-DCHRONOSCALE_WITH_CUDA=OFF); rebuild with CUDA, or use --device cpu");
#endif
  }
  return internal::RunCpuBench(options, progress);
}

}  // namespace chronoscale
