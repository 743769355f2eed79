// The attention kernels built for -mavx2 -mfma (see core/CMakeLists.txt); BestKernels picks
// this level only where the CPU has it.
#define CS_EIGEN_NAMESPACE EigenAttnAvx2
#define CS_ISA_NAMESPACE isa_avx2
#define CS_ISA_NAME "avx2"
#define CS_KERNELS_FUNCTION KernelsAvx2
#include "attention_kernels.inc"
