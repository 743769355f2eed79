// Eigen kernels built with -mavx2 -mfma (see core/bench/CMakeLists.txt); called only where the
// CPU has AVX2 and FMA.
#define CS_EIGEN_NAMESPACE EigenAvx2
#define CS_KERNELS_FUNCTION EigenKernelsAvx2
#include "eigen_variant.inc"
