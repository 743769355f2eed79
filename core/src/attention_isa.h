// The attention kernels' per-head loops, compiled once per SIMD level (SSE2, AVX2+FMA, AVX-512)
// and picked at run time like the microbenchmark's kernels. The three objects rename Eigen's
// namespace so the linker cannot mix their template code, so nothing Eigen crosses this
// interface: raw row-major arrays and plain structs.
#pragma once

#include <cstdint>
#include <string_view>

namespace chronoscale::internal {

// A feature map for the kernels (see FeatureParams): W^T scaled (dim x draws), the per-feature
// bias c_i, the optional norm metric A (dim x dim), and x^T A x / 2's scale.
template <typename T>
struct RawFeatures {
  const T* wt = nullptr;
  const T* bias = nullptr;    // features entries
  const T* metric = nullptr;  // null: identity
  T half_norm_scale = 0;
  int64_t dim = 0, draws = 0, features = 0;
  bool hyperbolic = false, has_bias = false;
};

// One head: q (rows x dim), k (keys x dim), v (keys x dv), out (rows x dv), row-major.
template <typename T>
struct RawHead {
  const T* q = nullptr;
  const T* k = nullptr;
  const T* v = nullptr;
  T* out = nullptr;
  int64_t rows = 0, keys = 0, dim = 0, dv = 0;
};

enum class HeadKernel { kSoftmax, kFlash, kRandomFeature };

struct RawOptions {
  HeadKernel kernel = HeadKernel::kFlash;
  bool causal = false;
  bool stabilize = true;
  int64_t block_rows = 64;
  int64_t chunk_rows = 64;
};

// One SIMD level's kernels.
struct IsaKernels {
  const char* isa;  // "sse2", "avx2", "avx512"
  void (*head_f)(const RawOptions&, const RawFeatures<float>&, const RawHead<float>&, int threads);
  void (*head_d)(const RawOptions&, const RawFeatures<double>&, const RawHead<double>&,
                 int threads);
  // e (rows x features) = the exponents w_i.x - x^T A x / 2 + c_i of the rows of x (rows x dim).
  void (*exponents_d)(const RawFeatures<double>&, const double* x, int64_t rows, double* e);
};

// body(ctx, begin, end, thread) over [0, n) in up to `threads` contiguous ranges (ParallelFor,
// compiled at the baseline level: the SIMD objects call this rather than instantiate std::thread).
using RangeBody = void (*)(void* ctx, int64_t begin, int64_t end, int thread);
void RunRanges(int64_t n, int threads, RangeBody body, void* ctx);

const IsaKernels& KernelsSse2();
const IsaKernels& KernelsAvx2();
const IsaKernels& KernelsAvx512();
// The best level this CPU runs, or the one CHRONOSCALE_ATTENTION_ISA names (sse2, avx2, avx512;
// a level the CPU lacks falls back to the best it has).
const IsaKernels& BestKernels();
// The level `want` names ("sse2", "avx2", "avx512"; "" the best), where the CPU has it, else the
// best it has.
const IsaKernels& KernelsFor(std::string_view want);

}  // namespace chronoscale::internal
