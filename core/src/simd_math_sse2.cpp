// SimdMath built for the sse2 level (see cmake/SimdVariants.cmake); SimdMathFor picks it only
// where the CPU has it.
#define CS_EIGEN_NAMESPACE EigenMathSse2
#define CS_ISA_NAMESPACE isa_sse2
#define CS_ISA_NAME "sse2"
#define CS_MATH_FUNCTION SimdMathSse2
#include "simd_math.inc"
