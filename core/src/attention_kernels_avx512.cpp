// The attention kernels built for -mavx512f -mavx512dq -mavx512vl -mavx512bw -mavx2 -mfma (see
// core/CMakeLists.txt); BestKernels picks this level only where the CPU has it.
#define CS_EIGEN_NAMESPACE EigenAttnAvx512
#define CS_ISA_NAMESPACE isa_avx512
#define CS_ISA_NAME "avx512"
#define CS_KERNELS_FUNCTION KernelsAvx512
#include "attention_kernels.inc"
