// Eigen kernels built with -mavx512f -mavx512vl -mavx512dq -mavx512bw -mavx2 -mfma (see
// core/bench/CMakeLists.txt); called only where the CPU has AVX-512.
#define CS_EIGEN_NAMESPACE EigenAvx512
#define CS_KERNELS_FUNCTION EigenKernelsAvx512
#include "eigen_variant.inc"
