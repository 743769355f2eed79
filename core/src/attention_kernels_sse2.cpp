// The attention kernels built for baseline x86-64 (SSE2) (see core/CMakeLists.txt); BestKernels
// picks this level only where the CPU has it.
#define CS_EIGEN_NAMESPACE EigenAttnSse2
#define CS_ISA_NAMESPACE isa_sse2
#define CS_ISA_NAME "sse2"
#define CS_KERNELS_FUNCTION KernelsSse2
#include "attention_kernels.inc"
