// The CPU bench: STREAM triad/copy against reference loops, FMA peak, GEMM (Eigen, per SIMD
// level), exp throughput, dispatch and thread spawn costs, on a pool of pinned threads.
#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>

#include "bench_internal.h"
#include "chronoscale/bench.h"
#include "chronoscale/error.h"

namespace chronoscale {

using internal::SimdLevel;
using internal::ThreadPool;

namespace internal {

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

}  // namespace internal

using internal::IsoDate;
using internal::Now;
using internal::StatsFromTimes;

namespace {

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

}  // namespace

BenchSummary internal::RunCpuBench(const BenchOptions& options, const ProgressCallback& progress) {
  CpuBench bench(options, progress);
  return bench.Run();
}

}  // namespace chronoscale
