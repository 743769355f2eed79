// SimdMath built for the avx512 level (see cmake/SimdVariants.cmake); SimdMathFor picks it only
// where the CPU has it.
#define CS_EIGEN_NAMESPACE EigenMathAvx512
#define CS_ISA_NAMESPACE isa_avx512
#define CS_ISA_NAME "avx512"
#define CS_MATH_FUNCTION SimdMathAvx512
#include "simd_math.inc"
