// Batched arithmetic over many shapes at once, compiled once per SIMD level (SSE2, AVX2+FMA,
// AVX-512) and picked at run time, like the attention kernels (attention_isa.h): the closed-form
// estimators price a batch of shapes with Eigen's vectorised exp and log instead of one libm call
// per smooth max. The objects rename Eigen's namespace, so only raw arrays cross this interface.
#pragma once

#include <cstdint>
#include <string_view>

namespace chronoscale::internal {

// The SIMD levels the dispatched objects are built for, and the best this CPU runs.
enum class SimdIsa { kSse2 = 0, kAvx2, kAvx512 };
SimdIsa CpuSimdIsa();
// The level `want` names ("sse2", "avx2", "avx512"; "" the best) where the CPU has it, else the
// best it has.
SimdIsa ChooseSimdIsa(std::string_view want);

struct SimdMath {
  const char* isa;  // "sse2", "avx2", "avx512"
  // For j < n: out[j] = c0 + sum over k < pairs of smax(z(2k, j), z(2k+1, j), p)
  //                        + sum over r >= 2 pairs of z(r, j),
  // where z = coef (rows x terms, row-major) x m, m(t, j) = the product of x(a[t], j), x(b[t], j)
  // and x(layers, j) for those of them that monomial t has (a[t] or b[t] < 0: none; times_layers[t]
  // 0: none), x (vars x n, row-major: each variable over the shapes) and smax the smooth max of
  // sharpness p (SmoothMax in step_time.h): (x^p + y^p)^(1/p), 0 when both are 0, the larger when
  // the smaller is <= 0.
  struct Polynomial {
    const double* coef;
    int rows, terms;
    const signed char *a, *b, *times_layers;
    int vars, layers;  // the variables' count and the layer count's index
  };
  void (*smooth_max_sums)(const Polynomial& poly, const double* x, int64_t n, int pairs, double p,
                          double c0, double* out);
};

const SimdMath& SimdMathSse2();
const SimdMath& SimdMathAvx2();
const SimdMath& SimdMathAvx512();
// The objects for ChooseSimdIsa(want).
const SimdMath& SimdMathFor(std::string_view want);
// The best level this CPU runs (once per process).
const SimdMath& BestSimdMath();

}  // namespace chronoscale::internal
