#include "simd_math.h"

#include <cstdlib>

namespace chronoscale::internal {

SimdIsa CpuSimdIsa() {
#if defined(__x86_64__) || defined(__i386__)
  static const SimdIsa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")) {
      return SimdIsa::kAvx512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdIsa::kAvx2;
    return SimdIsa::kSse2;
  }();
  return isa;
#else
  return SimdIsa::kSse2;  // the portable build of the same code
#endif
}

SimdIsa ChooseSimdIsa(std::string_view want) {
  const SimdIsa best = CpuSimdIsa();
  if (want == "sse2") return SimdIsa::kSse2;
  if (want == "avx2" && best >= SimdIsa::kAvx2) return SimdIsa::kAvx2;
  return best;
}

const SimdMath& SimdMathFor(std::string_view want) {
  switch (ChooseSimdIsa(want)) {
    case SimdIsa::kAvx512:
      return SimdMathAvx512();
    case SimdIsa::kAvx2:
      return SimdMathAvx2();
    case SimdIsa::kSse2:
      break;
  }
  return SimdMathSse2();
}

const SimdMath& BestSimdMath() {
  static const SimdMath& best = SimdMathFor("");
  return best;
}

}  // namespace chronoscale::internal
