// Internal pieces of the CPU bench: thread pool, SIMD dispatch, kernels, system queries.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "chronoscale/bench.h"

namespace chronoscale::internal {

// ---- thread pool --------------------------------------------------------------------------

// N threads (the caller is thread 0) that run one task together: Run(fn) wakes the N - 1
// workers, runs fn(0) on the caller, and returns when every fn(i) has returned. Workers sleep
// on a futex (std::atomic::wait) between tasks; waking them and joining is what a "dispatch"
// costs, the CPU's analogue of a kernel launch.
class ThreadPool {
 public:
  ThreadPool(int num_threads, bool pin);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return num_threads_; }
  bool pinned() const { return pinned_; }
  void Run(const std::function<void(int)>& fn);

 private:
  void Worker(int index);

  int num_threads_;
  bool pinned_ = false;
  std::vector<std::thread> threads_;
  const std::function<void(int)>* task_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::vector<int> cpus_;
  bool restore_caller_affinity_ = false;
  std::vector<int> caller_cpus_;
};

// CPUs this process may run on (sched_getaffinity), in order.
std::vector<int> AllowedCpus();
// Pins the calling thread to one CPU; false where the OS refuses.
bool PinCurrentThread(int cpu);
// Sets the calling thread's affinity to `cpus` (empty: no change).
void SetCurrentThreadAffinity(const std::vector<int>& cpus);

// ---- SIMD dispatch ------------------------------------------------------------------------

enum class SimdLevel { kSse2 = 0, kAvx2, kAvx512 };
SimdLevel DetectSimd();  // widest level this CPU (and OS) supports
const char* ToString(SimdLevel level);

// ---- STREAM kernels (double, on [0, n)), compiled for each SIMD level ----------------------

void StreamCopy(SimdLevel level, double* c, const double* a, std::size_t n);
void StreamScale(SimdLevel level, double* b, const double* c, double scalar, std::size_t n);
void StreamAdd(SimdLevel level, double* c, const double* a, const double* b, std::size_t n);
void StreamTriad(SimdLevel level, double* a, const double* b, const double* c, double scalar,
                 std::size_t n);

// The reference triad: a plain loop compiled for baseline x86-64, no dispatch.
void ReferenceTriad(double* a, const double* b, const double* c, double scalar, std::size_t n);

// ---- peak FMA loops ----------------------------------------------------------------------

// Runs `iterations` steps of independent FMA chains held in registers (intrinsics, enough
// accumulators to cover the FMA latency on two ports). Returns a checksum so the work is kept;
// *flops gets the flop count (2 per FMA lane).
double FmaPeak(SimdLevel level, bool fp64, int64_t iterations, double seed, double* flops);
// The hand-written reference: GCC vector-extension variables, x = x * m + a, a different
// accumulator count, no intrinsics.
double ReferenceFma(SimdLevel level, bool fp64, int64_t iterations, double seed, double* flops);

// ---- Eigen kernels, compiled once per SIMD level in separate translation units -------------

struct EigenKernels {
  // Allocates per-thread operands for an n x n GEMM (random, nonzero) and returns a handle.
  void* (*gemm_create)(int n, bool fp64, unsigned seed);
  // C = A * B; returns a checksum.
  double (*gemm_run)(void* handle);
  void (*gemm_destroy)(void* handle);
  // y = exp(x) over `n` floats, `reps` times; returns a checksum.
  double (*exp_run)(const float* x, float* y, int n, int reps);
};
const EigenKernels& EigenKernelsFor(SimdLevel level);
// bf16 GEMM through Eigen::bfloat16 (emulated: converted to float per operation).
double EmulatedBf16Gemm(int n, int reps, double* seconds_best);

// ---- system ---------------------------------------------------------------------------------

struct SystemInfo {
  std::string cpu_model;
  std::string hostname;
  double memory_bytes = 0;
  double l1d_bytes = 0, l2_bytes = 0, llc_bytes = 0;
  int hardware_threads = 0;
};
SystemInfo QuerySystem();

// ---- shared by the bench's sources (bench.cpp, bench_cpu.cpp) ------------------------------

// Times (lower is better): best is the smallest, with the median and the spread.
RateStats StatsFromTimes(std::vector<double> times);
double Now();           // steady clock, seconds
std::string IsoDate();  // today, UTC, YYYY-MM-DD
// The CPU bench over `options` (validated by the caller).
BenchSummary RunCpuBench(const BenchOptions& options, const ProgressCallback& progress);

}  // namespace chronoscale::internal
