// Eigen kernels for baseline x86-64 (SSE2), and the emulated bf16 GEMM.
#define CS_EIGEN_NAMESPACE EigenSse2
#define CS_KERNELS_FUNCTION EigenKernelsSse2
#include <chrono>

#include "eigen_variant.inc"

namespace chronoscale::internal {

const EigenKernels& EigenKernelsAvx2();
const EigenKernels& EigenKernelsAvx512();

const EigenKernels& EigenKernelsFor(SimdLevel level) {
  if (level == SimdLevel::kAvx512) return EigenKernelsAvx512();
  if (level == SimdLevel::kAvx2) return EigenKernelsAvx2();
  return EigenKernelsSse2();
}

double EmulatedBf16Gemm(int n, int reps, double* seconds_best) {
  using Bf16 = Eigen::bfloat16;
  using M = Eigen::Matrix<Bf16, Eigen::Dynamic, Eigen::Dynamic>;
  M a(n, n), b(n, n), c(n, n);
  Lcg rng{12345};
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = Bf16(static_cast<float>(rng.Next()));
  for (Eigen::Index i = 0; i < b.size(); ++i) {
    b.data()[i] = Bf16(static_cast<float>(rng.Next() / n));
  }
  double best = 1e300;
  for (int r = 0; r < std::max(1, reps); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    c.noalias() = a * b;
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  *seconds_best = best;
  return static_cast<float>(c(0, 0));
}

}  // namespace chronoscale::internal
