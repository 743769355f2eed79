// STREAM and peak-FMA kernels, compiled for SSE2 (baseline x86-64), AVX2+FMA and AVX-512 with
// per-function target attributes, dispatched at run time so one binary runs on any x86-64 CPU.
// This file is built with -O3 whatever the build type (the kernels must vectorise).
#include <cstdint>

#include "bench_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#define CHRONOSCALE_X86 1
#include <immintrin.h>
#endif

namespace chronoscale::internal {

#if CHRONOSCALE_X86
#define CS_TARGET_AVX2 __attribute__((target("avx2,fma")))
#if defined(__clang__)  // clang has no prefer-vector-width target attribute (it drops them all)
#define CS_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#else
#define CS_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma,prefer-vector-width=512")))
#endif
#else
#define CS_TARGET_AVX2
#define CS_TARGET_AVX512
#endif
#define CS_INLINE [[gnu::always_inline]] inline

SimdLevel DetectSimd() {
#if CHRONOSCALE_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")) {
    return SimdLevel::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::kAvx2;
#endif
  return SimdLevel::kSse2;
}

const char* ToString(SimdLevel level) {
  switch (level) {
    case SimdLevel::kAvx512:
      return "avx512";
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kSse2:
      break;
  }
  return "sse2";
}

// ---- STREAM ------------------------------------------------------------------------------

namespace {

CS_INLINE void CopyLoop(double* __restrict c, const double* __restrict a, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) c[i] = a[i];
}
CS_INLINE void ScaleLoop(double* __restrict b, const double* __restrict c, double s,
                         std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) b[i] = s * c[i];
}
CS_INLINE void AddLoop(double* __restrict c, const double* __restrict a, const double* __restrict b,
                       std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
}
CS_INLINE void TriadLoop(double* __restrict a, const double* __restrict b,
                         const double* __restrict c, double s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

#define CS_STREAM_VARIANT(SUFFIX, TARGET)                                                    \
  TARGET void Copy##SUFFIX(double* c, const double* a, std::size_t n) { CopyLoop(c, a, n); } \
  TARGET void Scale##SUFFIX(double* b, const double* c, double s, std::size_t n) {           \
    ScaleLoop(b, c, s, n);                                                                   \
  }                                                                                          \
  TARGET void Add##SUFFIX(double* c, const double* a, const double* b, std::size_t n) {      \
    AddLoop(c, a, b, n);                                                                     \
  }                                                                                          \
  TARGET void Triad##SUFFIX(double* a, const double* b, const double* c, double s,           \
                            std::size_t n) {                                                 \
    TriadLoop(a, b, c, s, n);                                                                \
  }

CS_STREAM_VARIANT(Sse2, )
CS_STREAM_VARIANT(Avx2, CS_TARGET_AVX2)
CS_STREAM_VARIANT(Avx512, CS_TARGET_AVX512)

}  // namespace

void StreamCopy(SimdLevel level, double* c, const double* a, std::size_t n) {
  if (level == SimdLevel::kAvx512) return CopyAvx512(c, a, n);
  if (level == SimdLevel::kAvx2) return CopyAvx2(c, a, n);
  CopySse2(c, a, n);
}
void StreamScale(SimdLevel level, double* b, const double* c, double s, std::size_t n) {
  if (level == SimdLevel::kAvx512) return ScaleAvx512(b, c, s, n);
  if (level == SimdLevel::kAvx2) return ScaleAvx2(b, c, s, n);
  ScaleSse2(b, c, s, n);
}
void StreamAdd(SimdLevel level, double* c, const double* a, const double* b, std::size_t n) {
  if (level == SimdLevel::kAvx512) return AddAvx512(c, a, b, n);
  if (level == SimdLevel::kAvx2) return AddAvx2(c, a, b, n);
  AddSse2(c, a, b, n);
}
void StreamTriad(SimdLevel level, double* a, const double* b, const double* c, double s,
                 std::size_t n) {
  if (level == SimdLevel::kAvx512) return TriadAvx512(a, b, c, s, n);
  if (level == SimdLevel::kAvx2) return TriadAvx2(a, b, c, s, n);
  TriadSse2(a, b, c, s, n);
}

// Deliberately plain: the loop as STREAM's C source writes it, baseline ISA, out of line.
[[gnu::noinline]] void ReferenceTriad(double* a, const double* b, const double* c, double scalar,
                                      std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) a[j] = b[j] + scalar * c[j];
}

// ---- peak FMA -------------------------------------------------------------------------------
// Each chain is x = x * m + k with m slightly below 1: it converges to k / (1 - m) and stays
// finite however long it runs. Enough independent chains (accumulators) cover the FMA latency
// (4 cycles) times the FMA ports (2): at least 8 vectors in flight.

namespace {

#if CHRONOSCALE_X86
constexpr int kAccAvx512 = 16;  // 32 zmm registers: 16 chains + constants
constexpr int kAccAvx2 = 12;    // 16 ymm registers: 12 chains + 2 constants
constexpr int kAccSse2 = 12;    // mul + add (no FMA): 12 chains of two dependent ops

CS_TARGET_AVX512 double FmaAvx512F32(int64_t iters, double seed) {
  __m512 acc[kAccAvx512];
  for (int j = 0; j < kAccAvx512; ++j) acc[j] = _mm512_set1_ps(static_cast<float>(seed + j));
  const __m512 m = _mm512_set1_ps(0.9999999f), k = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int j = 0; j < kAccAvx512; ++j) acc[j] = _mm512_fmadd_ps(acc[j], m, k);
  }
  __m512 sum = acc[0];
  for (int j = 1; j < kAccAvx512; ++j) sum = _mm512_add_ps(sum, acc[j]);
  alignas(64) float out[16];
  _mm512_store_ps(out, sum);
  double total = 0;
  for (float v : out) total += v;
  return total;
}

CS_TARGET_AVX512 double FmaAvx512F64(int64_t iters, double seed) {
  __m512d acc[kAccAvx512];
  for (int j = 0; j < kAccAvx512; ++j) acc[j] = _mm512_set1_pd(seed + j);
  const __m512d m = _mm512_set1_pd(0.9999999), k = _mm512_set1_pd(1e-7);
  for (int64_t it = 0; it < iters; ++it) {
    for (int j = 0; j < kAccAvx512; ++j) acc[j] = _mm512_fmadd_pd(acc[j], m, k);
  }
  __m512d sum = acc[0];
  for (int j = 1; j < kAccAvx512; ++j) sum = _mm512_add_pd(sum, acc[j]);
  alignas(64) double out[8];
  _mm512_store_pd(out, sum);
  double total = 0;
  for (double v : out) total += v;
  return total;
}

CS_TARGET_AVX2 double FmaAvx2F32(int64_t iters, double seed) {
  __m256 acc[kAccAvx2];
  for (int j = 0; j < kAccAvx2; ++j) acc[j] = _mm256_set1_ps(static_cast<float>(seed + j));
  const __m256 m = _mm256_set1_ps(0.9999999f), k = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int j = 0; j < kAccAvx2; ++j) acc[j] = _mm256_fmadd_ps(acc[j], m, k);
  }
  __m256 sum = acc[0];
  for (int j = 1; j < kAccAvx2; ++j) sum = _mm256_add_ps(sum, acc[j]);
  alignas(32) float out[8];
  _mm256_store_ps(out, sum);
  double total = 0;
  for (float v : out) total += v;
  return total;
}

CS_TARGET_AVX2 double FmaAvx2F64(int64_t iters, double seed) {
  __m256d acc[kAccAvx2];
  for (int j = 0; j < kAccAvx2; ++j) acc[j] = _mm256_set1_pd(seed + j);
  const __m256d m = _mm256_set1_pd(0.9999999), k = _mm256_set1_pd(1e-7);
  for (int64_t it = 0; it < iters; ++it) {
    for (int j = 0; j < kAccAvx2; ++j) acc[j] = _mm256_fmadd_pd(acc[j], m, k);
  }
  __m256d sum = acc[0];
  for (int j = 1; j < kAccAvx2; ++j) sum = _mm256_add_pd(sum, acc[j]);
  alignas(32) double out[4];
  _mm256_store_pd(out, sum);
  return out[0] + out[1] + out[2] + out[3];
}

double FmaSse2F32(int64_t iters, double seed) {
  __m128 acc[kAccSse2];
  for (int j = 0; j < kAccSse2; ++j) acc[j] = _mm_set1_ps(static_cast<float>(seed + j));
  const __m128 m = _mm_set1_ps(0.9999999f), k = _mm_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int j = 0; j < kAccSse2; ++j) acc[j] = _mm_add_ps(_mm_mul_ps(acc[j], m), k);
  }
  __m128 sum = acc[0];
  for (int j = 1; j < kAccSse2; ++j) sum = _mm_add_ps(sum, acc[j]);
  alignas(16) float out[4];
  _mm_store_ps(out, sum);
  return static_cast<double>(out[0]) + out[1] + out[2] + out[3];
}

double FmaSse2F64(int64_t iters, double seed) {
  __m128d acc[kAccSse2];
  for (int j = 0; j < kAccSse2; ++j) acc[j] = _mm_set1_pd(seed + j);
  const __m128d m = _mm_set1_pd(0.9999999), k = _mm_set1_pd(1e-7);
  for (int64_t it = 0; it < iters; ++it) {
    for (int j = 0; j < kAccSse2; ++j) acc[j] = _mm_add_pd(_mm_mul_pd(acc[j], m), k);
  }
  __m128d sum = acc[0];
  for (int j = 1; j < kAccSse2; ++j) sum = _mm_add_pd(sum, acc[j]);
  alignas(16) double out[2];
  _mm_store_pd(out, sum);
  return out[0] + out[1];
}
#endif

// The reference: GCC vector extensions, written as plain arithmetic; the compiler picks the
// instructions (FMA where the target has it: this file is built with -ffp-contract=fast).
template <typename V, int kChains>
CS_INLINE double PlainFmaLoop(int64_t iters, double seed) {
  using S = decltype(V{}[0]);
  V x[kChains];
  for (int j = 0; j < kChains; ++j) {
    for (int l = 0; l < static_cast<int>(sizeof(V) / sizeof(S)); ++l) {
      x[j][l] = static_cast<S>(seed + 0.5 * j + 0.01 * l);
    }
  }
  const S m = static_cast<S>(0.9999999), k = static_cast<S>(1e-7);
  for (int64_t it = 0; it < iters; ++it) {
    for (int j = 0; j < kChains; ++j) x[j] = x[j] * m + k;
  }
  double total = 0;
  for (int j = 0; j < kChains; ++j) {
    for (int l = 0; l < static_cast<int>(sizeof(V) / sizeof(S)); ++l) total += x[j][l];
  }
  return total;
}

typedef float F32x16 __attribute__((vector_size(64)));
typedef double F64x8 __attribute__((vector_size(64)));
typedef float F32x8 __attribute__((vector_size(32)));
typedef double F64x4 __attribute__((vector_size(32)));
typedef float F32x4 __attribute__((vector_size(16)));
typedef double F64x2 __attribute__((vector_size(16)));

constexpr int kRefChains = 10;  // different from the bench's 16 / 12 on purpose

CS_TARGET_AVX512 double RefAvx512F32(int64_t n, double s) {
  return PlainFmaLoop<F32x16, kRefChains>(n, s);
}
CS_TARGET_AVX512 double RefAvx512F64(int64_t n, double s) {
  return PlainFmaLoop<F64x8, kRefChains>(n, s);
}
CS_TARGET_AVX2 double RefAvx2F32(int64_t n, double s) {
  return PlainFmaLoop<F32x8, kRefChains>(n, s);
}
CS_TARGET_AVX2 double RefAvx2F64(int64_t n, double s) {
  return PlainFmaLoop<F64x4, kRefChains>(n, s);
}
double RefSse2F32(int64_t n, double s) { return PlainFmaLoop<F32x4, kRefChains>(n, s); }
double RefSse2F64(int64_t n, double s) { return PlainFmaLoop<F64x2, kRefChains>(n, s); }

}  // namespace

double FmaPeak(SimdLevel level, bool fp64, int64_t iterations, double seed, double* flops) {
#if CHRONOSCALE_X86
  const double lanes64 = level == SimdLevel::kAvx512 ? 8 : level == SimdLevel::kAvx2 ? 4 : 2;
  const double chains = level == SimdLevel::kAvx512 ? kAccAvx512
                        : level == SimdLevel::kAvx2 ? kAccAvx2
                                                    : kAccSse2;
  *flops = 2.0 * chains * lanes64 * (fp64 ? 1 : 2) * static_cast<double>(iterations);
  switch (level) {
    case SimdLevel::kAvx512:
      return fp64 ? FmaAvx512F64(iterations, seed) : FmaAvx512F32(iterations, seed);
    case SimdLevel::kAvx2:
      return fp64 ? FmaAvx2F64(iterations, seed) : FmaAvx2F32(iterations, seed);
    case SimdLevel::kSse2:
      break;
  }
  return fp64 ? FmaSse2F64(iterations, seed) : FmaSse2F32(iterations, seed);
#else
  return ReferenceFma(level, fp64, iterations, seed, flops);
#endif
}

double ReferenceFma(SimdLevel level, bool fp64, int64_t iterations, double seed, double* flops) {
  const double bytes = level == SimdLevel::kAvx512 ? 64 : level == SimdLevel::kAvx2 ? 32 : 16;
  *flops = 2.0 * kRefChains * (bytes / (fp64 ? 8 : 4)) * static_cast<double>(iterations);
  switch (level) {
    case SimdLevel::kAvx512:
      return fp64 ? RefAvx512F64(iterations, seed) : RefAvx512F32(iterations, seed);
    case SimdLevel::kAvx2:
      return fp64 ? RefAvx2F64(iterations, seed) : RefAvx2F32(iterations, seed);
    case SimdLevel::kSse2:
      break;
  }
  return fp64 ? RefSse2F64(iterations, seed) : RefSse2F32(iterations, seed);
}

}  // namespace chronoscale::internal
