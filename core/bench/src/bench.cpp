#include "chronoscale/bench.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>

#include "bench_internal.h"
#include "chronoscale/error.h"
#include "chronoscale/io.h"
#include "chronoscale/version.h"

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

RateStats StatsFromRates(std::vector<double> rates) {
  RateStats s;
  if (rates.empty()) return s;
  std::sort(rates.begin(), rates.end(), std::greater<double>());
  s.best = rates.front();
  s.worst = rates.back();
  const std::size_t m = rates.size();
  s.median = m % 2 ? rates[m / 2] : 0.5 * (rates[m / 2 - 1] + rates[m / 2]);
  s.repetitions = static_cast<int>(m);
  return s;
}

namespace {

// Times (lower is better): best is the smallest.
RateStats StatsFromTimes(std::vector<double> times) {
  RateStats s;
  if (times.empty()) return s;
  std::sort(times.begin(), times.end());
  s.best = times.front();
  s.worst = times.back();
  const std::size_t m = times.size();
  s.median = m % 2 ? times[m / 2] : 0.5 * (times[m / 2 - 1] + times[m / 2]);
  s.repetitions = static_cast<int>(m);
  return s;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string IsoDate() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

// A page-aligned array that is NOT touched here: the worker threads touch it first.
struct FreeDeleter {
  void operator()(double* p) const { std::free(p); }
};
using Array = std::unique_ptr<double[], FreeDeleter>;

Array AllocateUntouched(std::size_t n) {
  constexpr std::size_t kAlign = std::size_t{2} << 20;  // huge-page aligned
  const std::size_t bytes = (n * sizeof(double) + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, bytes);
  if (!p)
    throw RuntimeError(fmt::format("cannot allocate {} MiB for the STREAM arrays", bytes >> 20));
#if defined(MADV_HUGEPAGE)
  madvise(p, bytes, MADV_HUGEPAGE);  // fewer page faults on first touch; harmless if refused
#endif
  return Array(static_cast<double*>(p));
}

// A team of plain std::threads (unpinned) that meet at a std::barrier: the reference
// measurements use it so they share nothing with the bench's pool.
class ReferenceTeam {
 public:
  // `cpus`: the CPUs the process may use. A new thread inherits its creator's affinity, and the
  // creator is pinned to one CPU by the pool, so each thread widens its own mask back.
  ReferenceTeam(int n, const std::vector<int>& cpus) : n_(n), barrier_(n + 1) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this, i, cpus] {
        internal::SetCurrentThreadAffinity(cpus);
        for (;;) {
          barrier_.arrive_and_wait();
          if (stop_) return;
          (*work_)(i);
          barrier_.arrive_and_wait();
        }
      });
    }
  }
  ~ReferenceTeam() {
    stop_ = true;
    barrier_.arrive_and_wait();
    for (auto& t : threads_) t.join();
  }
  // Runs work(i) on every thread; returns the wall time from release to the last finish.
  double Run(const std::function<void(int)>& work) {
    work_ = &work;
    const double t0 = Now();
    barrier_.arrive_and_wait();
    barrier_.arrive_and_wait();
    return Now() - t0;
  }
  int size() const { return n_; }

 private:
  int n_;
  std::barrier<> barrier_;
  std::vector<std::thread> threads_;
  const std::function<void(int)>* work_ = nullptr;
  bool stop_ = false;
};

constexpr double kStreamScalar = 3.0;

class CpuBench {
 public:
  CpuBench(const BenchOptions& options, const ProgressCallback& progress)
      : options_(options), progress_(progress) {}

  BenchSummary Run() {
    const double t_start = Now();
    const internal::SystemInfo sys = internal::QuerySystem();
    simd_ = internal::DetectSimd();
    const int threads = options_.num_threads > 0 ? options_.num_threads : sys.hardware_threads;
    // Oversubscription measures the scheduler, not the machine, and takes minutes.
    if (threads > 4 * std::max(1, sys.hardware_threads)) {
      throw InputError(
          fmt::format("--threads {}: at most 4 x the {} CPUs this process may use ({})", threads,
                      sys.hardware_threads, 4 * std::max(1, sys.hardware_threads)));
    }
    s_.device = BenchDevice::kCpu;
    s_.device_name = sys.cpu_model;
    s_.hostname = sys.hostname;
    s_.date = IsoDate();
    s_.quick = options_.quick;
    s_.num_threads = threads;
    s_.simd = internal::ToString(simd_);
    s_.memory_bytes = sys.memory_bytes;
    s_.l1d_bytes = sys.l1d_bytes;
    s_.l2_bytes = sys.l2_bytes;
    s_.llc_bytes = sys.llc_bytes;
    if (threads > sys.hardware_threads) {
      s_.notes.push_back(fmt::format("{} threads on {} CPUs: threads are not pinned", threads,
                                     sys.hardware_threads));
    }
    Step(0, "starting threads");
    const std::vector<int> allowed_cpus = internal::AllowedCpus();  // before the pool pins us
    ThreadPool pool(threads, options_.pin_threads);
    s_.threads_pinned = pool.pinned();
    if (options_.compare_with_reference) {
      team_ = std::make_unique<ReferenceTeam>(threads, allowed_cpus);
    }
    pool_ = &pool;
    Stream(sys);
    Fma();
    Gemm();
    Exp();
    Dispatch();
    s_.has_reference = options_.compare_with_reference;
    team_.reset();
    s_.wall_s = Now() - t_start;
    Step(1.0, "done");
    return s_;
  }

 private:
  void Step(double fraction, const std::string& message) {
    if (!ReportProgress(progress_, fraction, message)) throw Cancelled();
  }

  std::size_t Lo(std::size_t n, int t) const {
    // Chunk boundaries on 64-byte (8-double) lines.
    return (n / 8) * static_cast<std::size_t>(t) / pool_->size() * 8;
  }
  std::size_t Hi(std::size_t n, int t) const { return t + 1 == pool_->size() ? n : Lo(n, t + 1); }

  void Stream(const internal::SystemInfo& sys) {
    const double mib = 1024.0 * 1024.0;
    double bytes = options_.stream_array_bytes;
    if (bytes <= 0) {
      // 4x the LLC is STREAM's rule; the caps keep quick under 10 s and full under 60 s on a
      // 2-core machine whose VM reports a 480 MiB L3 (full mode then meets the rule).
      const double cap = options_.quick ? 256 * mib : 2048 * mib;
      const double want = 4 * std::max(sys.llc_bytes, 4 * mib);
      bytes = std::min(want, cap);
      if (sys.memory_bytes > 0) bytes = std::min(bytes, sys.memory_bytes / 8);
      bytes = std::max(bytes, 8 * mib);
      if (bytes < want) {
        s_.notes.push_back(fmt::format(
            "STREAM arrays {:.0f} MiB each, below 4x the last-level cache ({:.0f} MiB reported; "
            "capped to keep the {} run short; a VM's L3 is often shared host-wide)",
            bytes / mib, sys.llc_bytes / mib, options_.quick ? "quick" : "full"));
      }
    }
    if (sys.memory_bytes > 0 && 3 * bytes > 0.75 * sys.memory_bytes) {
      throw InputError(
          fmt::format("STREAM arrays of {:.0f} MiB each need more than 3/4 of the "
                      "memory ({:.0f} MiB)",
                      bytes / mib, sys.memory_bytes / mib));
    }
    const std::size_t n = static_cast<std::size_t>(bytes / sizeof(double)) / 64 * 64;
    s_.stream_array_bytes = static_cast<double>(n * sizeof(double));
    int reps = options_.stream_repetitions;
    if (reps <= 0) {
      // Fewer repetitions for big arrays (each takes longer); even, so that the bench triad and
      // the reference triad get half each.
      reps = options_.quick ? 12 : 20;
      const double scale = std::min(1.0, 512 * mib / s_.stream_array_bytes);
      reps = std::max(10, static_cast<int>(std::lround(reps * scale)));
      reps += reps % 2;
    }
    Step(0.01, fmt::format("STREAM: first touch of 3 x {:.0f} MiB", s_.stream_array_bytes / mib));
    Array a = AllocateUntouched(n), b = AllocateUntouched(n), c = AllocateUntouched(n);
    double* pa = a.get();
    double* pb = b.get();
    double* pc = c.get();
    pool_->Run([&](int t) {
      for (std::size_t i = Lo(n, t); i < Hi(n, t); ++i) {
        pa[i] = 1.0;
        pb[i] = 2.0;
        pc[i] = 0.0;
      }
    });
    pool_->Run([&](int t) {
      for (std::size_t i = Lo(n, t); i < Hi(n, t); ++i) pa[i] = 2.0 * pa[i];
    });
    double ea = 2.0, eb = 2.0, ec = 0.0;  // the value every element should hold

    const SimdLevel simd = simd_;
    const double s = kStreamScalar;
    std::vector<double> times[4];
    std::vector<double> ref_times;
    const std::function<void(int)> kernels[4] = {
        [&](int t) {
          internal::StreamCopy(simd, pc + Lo(n, t), pa + Lo(n, t), Hi(n, t) - Lo(n, t));
        },
        [&](int t) {
          internal::StreamScale(simd, pb + Lo(n, t), pc + Lo(n, t), s, Hi(n, t) - Lo(n, t));
        },
        [&](int t) {
          internal::StreamAdd(simd, pc + Lo(n, t), pa + Lo(n, t), pb + Lo(n, t),
                              Hi(n, t) - Lo(n, t));
        },
        [&](int t) {
          internal::StreamTriad(simd, pa + Lo(n, t), pb + Lo(n, t), pc + Lo(n, t), s,
                                Hi(n, t) - Lo(n, t));
        },
    };
    // The reference triad splits the arrays its own way (plain equal chunks).
    const int team = team_ ? team_->size() : 1;
    const std::function<void(int)> reference = [&](int t) {
      const std::size_t lo = n * t / team, hi = n * (t + 1) / team;
      internal::ReferenceTriad(pa + lo, pb + lo, pc + lo, s, hi - lo);
    };
    for (int r = 0; r < reps; ++r) {
      Step(0.02 + 0.40 * r / reps, fmt::format("STREAM repetition {}/{}", r + 1, reps));
      for (int k = 0; k < 3; ++k) {
        const double t0 = Now();
        pool_->Run(kernels[k]);
        times[k].push_back(Now() - t0);
      }
      // The triad slot alternates between the bench's triad and the reference triad, so both
      // follow `add` (same cache state) and see the same machine load. Both write a = b + s c.
      if (team_ && r % 2 == 1) {
        ref_times.push_back(team_->Run(reference));
      } else {
        const double t0 = Now();
        pool_->Run(kernels[3]);
        times[3].push_back(Now() - t0);
      }
      ec = ea;
      eb = s * ec;
      ec = ea + eb;
      ea = eb + s * ec;
    }
    Step(0.42, "STREAM: verifying");
    std::vector<std::size_t> bad(pool_->size(), 0);
    pool_->Run([&](int t) {
      std::size_t count = 0;
      for (std::size_t i = Lo(n, t); i < Hi(n, t); ++i) {
        count += !(std::fabs(pa[i] - ea) <= 1e-13 * std::fabs(ea)) ||
                 !(std::fabs(pb[i] - eb) <= 1e-13 * std::fabs(eb)) ||
                 !(std::fabs(pc[i] - ec) <= 1e-13 * std::fabs(ec));
      }
      bad[t] = count;
    });
    std::size_t total_bad = 0;
    for (auto v : bad) total_bad += v;
    if (total_bad > 0) {
      throw RuntimeError(
          fmt::format("STREAM verification failed: {} of {} elements differ from "
                      "the expected values",
                      total_bad, n));
    }
    const char* names[4] = {"copy", "scale", "add", "triad"};
    const double bytes_per_elem[4] = {16, 16, 24, 24};
    for (int k = 0; k < 4; ++k) {
      KernelResult kr;
      kr.name = names[k];
      kr.unit = "bytes/s";
      kr.work_per_rep = bytes_per_elem[k] * static_cast<double>(n);
      std::vector<double> rates;
      for (double t : times[k]) rates.push_back(kr.work_per_rep / t);
      kr.rate = StatsFromRates(rates);
      kr.verified = true;
      kr.note = fmt::format("{} reads + 1 write per element, no write-allocate; {}", k < 2 ? 1 : 2,
                            s_.simd);
      s_.stream.push_back(kr);
    }
    if (team_) {
      KernelResult kr;
      kr.name = "reference_triad";
      kr.unit = "bytes/s";
      kr.work_per_rep = 24.0 * static_cast<double>(n);
      std::vector<double> rates;
      for (double t : ref_times) rates.push_back(kr.work_per_rep / t);
      kr.rate = StatsFromRates(rates);
      kr.verified = true;  // it wrote a = b + s c in STREAM's sequence, checked above
      kr.note = "plain loop, baseline x86-64, unpinned std::threads meeting at a std::barrier";
      s_.reference_triad = kr;
    }
  }

  // Iterations of `run` (one thread) that take about target seconds.
  int64_t Calibrate(const std::function<double(int64_t)>& run, int64_t start, double target) {
    int64_t iters = start;
    for (int i = 0; i < 20; ++i) {
      const double t0 = Now();
      run(iters);
      const double dt = Now() - t0;
      if (dt > 0.2 * target) {
        return std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(iters) * target / dt));
      }
      iters *= 4;
    }
    return iters;
  }

  void Fma() {
    const int reps = options_.quick ? 8 : 20;
    const SimdLevel simd = simd_;
    for (int precision = 0; precision < 2; ++precision) {
      const bool fp64 = precision == 1;
      const std::string label = fp64 ? "fp64" : "fp32";
      Step(0.45 + 0.07 * precision, "peak FMA " + label);
      double flops_one = 0;
      const int64_t iters =
          Calibrate([&](int64_t it) { return internal::FmaPeak(simd, fp64, it, 1.0, &flops_one); },
                    1000, options_.target_rep_s);
      std::vector<double> sums(pool_->size());
      std::vector<double> rates, ref_rates;
      double flops = 0, ref_flops = 0;
      const std::function<void(int)> bench = [&](int t) {
        double f = 0;
        sums[t] = internal::FmaPeak(simd, fp64, iters, 1.0 + t, &f);
        if (t == 0) flops = f;
      };
      const std::function<void(int)> reference = [&](int t) {
        double f = 0;
        sums[t] = internal::ReferenceFma(simd, fp64, iters, 1.0 + t, &f);
        if (t == 0) ref_flops = f;
      };
      for (int r = 0; r < reps; ++r) {
        const double t0 = Now();
        pool_->Run(bench);
        rates.push_back(flops * pool_->size() / (Now() - t0));
        CheckFinite(sums, "FMA " + label);
        if (team_) {
          const double dt = team_->Run(reference);
          ref_rates.push_back(ref_flops * team_->size() / dt);
          CheckFinite(sums, "reference FMA " + label);
        }
        Step(0.45 + 0.07 * precision + 0.07 * (r + 1) / reps, "peak FMA " + label);
      }
      KernelResult kr;
      kr.name = "fma_" + label;
      kr.unit = "flop/s";
      kr.work_per_rep = flops * pool_->size();
      kr.rate = StatsFromRates(rates);
      kr.verified = true;
      kr.note = fmt::format("{} intrinsics, {} independent chains per thread", s_.simd,
                            simd == SimdLevel::kAvx512 ? 16 : 12);
      (fp64 ? s_.fma_fp64 : s_.fma_fp32) = kr;
      if (team_) {
        KernelResult ref;
        ref.name = "reference_fma_" + label;
        ref.unit = "flop/s";
        ref.work_per_rep = ref_flops * team_->size();
        ref.rate = StatsFromRates(ref_rates);
        ref.verified = true;
        ref.note = "GCC vector extensions, x = x * m + k, 10 chains, compiler-chosen FMA";
        (fp64 ? s_.reference_fma_fp64 : s_.reference_fma_fp32) = ref;
      }
    }
  }

  static void CheckFinite(const std::vector<double>& sums, const std::string& what) {
    for (double v : sums) {
      if (!std::isfinite(v) || v == 0) {
        throw RuntimeError(
            fmt::format("{} produced {} (expected a finite nonzero checksum)", what, v));
      }
    }
  }

  void Gemm() {
    std::vector<int> sizes = options_.gemm_sizes;
    if (sizes.empty()) {
      sizes = options_.quick ? std::vector<int>{256, 512} : std::vector<int>{128, 256, 512, 1024};
    }
    const int reps = options_.quick ? 3 : 5;
    const auto& eigen = internal::EigenKernelsFor(simd_);
    const double steps = 2.0 * sizes.size();
    int step = 0;
    for (int precision = 0; precision < 2; ++precision) {
      const bool fp64 = precision == 1;
      for (int n : sizes) {
        Step(0.60 + 0.22 * step++ / steps, fmt::format("GEMM {} {}^3", fp64 ? "fp64" : "fp32", n));
        std::vector<void*> handles(pool_->size(), nullptr);
        std::vector<double> sums(pool_->size());
        pool_->Run([&](int t) { handles[t] = eigen.gemm_create(n, fp64, 7u + t); });
        const double flops_one = 2.0 * n * static_cast<double>(n) * n;
        const int inner = static_cast<int>(std::max(1.0, std::ceil(2e8 / flops_one)));
        const std::function<void(int)> run = [&](int t) {
          for (int k = 0; k < inner; ++k) sums[t] = eigen.gemm_run(handles[t]);
        };
        std::vector<double> rates;
        try {
          pool_->Run(run);  // warm-up: packing buffers, caches
          for (int r = 0; r < reps; ++r) {
            const double t0 = Now();
            pool_->Run(run);
            rates.push_back(flops_one * inner * pool_->size() / (Now() - t0));
          }
          CheckFinite(sums, fmt::format("GEMM {}", n));
        } catch (...) {
          pool_->Run([&](int t) { eigen.gemm_destroy(handles[t]); });
          throw;
        }
        pool_->Run([&](int t) { eigen.gemm_destroy(handles[t]); });
        GemmResult g;
        g.precision = fp64 ? "fp64" : "fp32";
        g.n = n;
        g.flops_per_s = StatsFromRates(rates);
        s_.gemm.push_back(g);
      }
    }
    // bf16 through Eigen::bfloat16: converted to float per operation. Reported, flagged as
    // emulated, and kept out of matmul_flops_per_s.
    const int n16 = options_.quick ? 128 : 256;
    Step(0.82, fmt::format("GEMM bf16 (emulated) {}^3", n16));
    double best_s = 0;
    const double check = internal::EmulatedBf16Gemm(n16, options_.quick ? 1 : 2, &best_s);
    if (std::isfinite(check) && best_s > 0) {
      GemmResult g;
      g.precision = "bf16";
      g.n = n16;
      g.emulated = true;
      g.flops_per_s = StatsFromRates({2.0 * n16 * static_cast<double>(n16) * n16 / best_s});
      s_.gemm.push_back(g);
    }
  }

  void Exp() {
    Step(0.86, "exp throughput");
    constexpr int kN = 4096;  // 16 KiB in, 16 KiB out per thread: in L1/L2
    const int reps_timed = options_.quick ? 5 : 11;
    auto measure = [&](const internal::EigenKernels& eigen, int reps_count) {
      std::vector<std::vector<float>> x(pool_->size()), y(pool_->size());
      pool_->Run([&](int t) {
        x[t].resize(kN);
        y[t].resize(kN);
        for (int i = 0; i < kN; ++i) x[t][i] = -4.0f + 8.0f * static_cast<float>(i) / kN;
      });
      const int64_t inner = Calibrate(
          [&](int64_t it) {
            return eigen.exp_run(x[0].data(), y[0].data(), kN, static_cast<int>(it));
          },
          4, options_.target_rep_s);
      std::vector<double> sums(pool_->size()), rates;
      const std::function<void(int)> run = [&](int t) {
        sums[t] = eigen.exp_run(x[t].data(), y[t].data(), kN, static_cast<int>(inner));
      };
      for (int r = 0; r < reps_count; ++r) {
        const double t0 = Now();
        pool_->Run(run);
        rates.push_back(static_cast<double>(kN) * inner * pool_->size() / (Now() - t0));
      }
      // exp(-4 + 8 (n-1)/n) ~ e^4 at the last element.
      for (double v : sums) {
        if (!(std::fabs(v - std::exp(-4.0 + 8.0 * (kN - 1) / kN)) < 1e-3 * 54.6)) {
          throw RuntimeError(fmt::format("exp verification failed: got {}", v));
        }
      }
      return std::make_pair(StatsFromRates(rates), static_cast<double>(kN) * inner * pool_->size());
    };
    auto [stats, work] = measure(internal::EigenKernelsFor(simd_), reps_timed);
    s_.exp.name = "exp";
    s_.exp.unit = "exp/s";
    s_.exp.rate = stats;
    s_.exp.work_per_rep = work;
    s_.exp.verified = true;
    s_.exp.note = fmt::format("Eigen ArrayXf::exp, {}, all threads", s_.simd);
    if (simd_ != SimdLevel::kSse2) {
      Step(0.88, "exp throughput (baseline ISA)");
      s_.exp_baseline_isa_per_s =
          measure(internal::EigenKernelsFor(SimdLevel::kSse2), 3).first.best;
    } else {
      s_.exp_baseline_isa_per_s = stats.best;
    }
  }

  void Dispatch() {
    Step(0.9, "thread dispatch overhead");
    const int reps = options_.quick ? 500 : 2000;
    std::vector<double> times;
    times.reserve(reps);
    const std::function<void(int)> empty = [](int) {};
    for (int r = 0; r < 50; ++r) pool_->Run(empty);  // warm-up
    for (int r = 0; r < reps; ++r) {
      const double t0 = Now();
      pool_->Run(empty);
      times.push_back(Now() - t0);
    }
    s_.launch_overhead_s = StatsFromTimes(times);
    Step(0.95, "thread spawn and join");
    std::vector<double> spawn;
    for (int r = 0; r < (options_.quick ? 20 : 100); ++r) {
      const double t0 = Now();
      std::vector<std::thread> ts;
      for (int i = 0; i < pool_->size(); ++i) ts.emplace_back([] {});  // (inherit our pinning)
      for (auto& t : ts) t.join();
      spawn.push_back(Now() - t0);
    }
    s_.thread_spawn_join_s = StatsFromTimes(spawn).median;
  }

  const BenchOptions& options_;
  const ProgressCallback& progress_;
  BenchSummary s_;
  SimdLevel simd_ = SimdLevel::kSse2;
  ThreadPool* pool_ = nullptr;
  std::unique_ptr<ReferenceTeam> team_;
};

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
  CpuBench bench(options, progress);
  return bench.Run();
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
