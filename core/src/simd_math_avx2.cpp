// SimdMath built for the avx2 level (see cmake/SimdVariants.cmake); SimdMathFor picks it only
// where the CPU has it.
#define CS_EIGEN_NAMESPACE EigenMathAvx2
#define CS_ISA_NAMESPACE isa_avx2
#define CS_ISA_NAME "avx2"
#define CS_MATH_FUNCTION SimdMathAvx2
#include "simd_math.inc"
