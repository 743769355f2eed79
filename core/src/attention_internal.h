// Internal pieces of the attention kernels shared by attention.cpp and attention_kernels.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "chronoscale/attention.h"

namespace chronoscale::internal {

// A feature map cast to the kernel's scalar type, with the input scale d^-1/4 folded in.
template <typename T>
struct FeatureParams {
  RowMatrix<T> wt;  // dim x draws: d^-1/4 W^T, so that X wt = W x for x = q d^-1/4
  Eigen::Matrix<T, 1, Eigen::Dynamic> bias;  // features: c_i (repeated for the -w half)
  RowMatrix<T> metric;                       // dim x dim: A (empty: identity)
  T half_norm_scale = 0;                     // d^-1/2 / 2: x^T A x / 2 = q^T A q * this
  int64_t draws = 0;
  int64_t features = 0;
  bool hyperbolic = false;
  bool has_bias = false;  // any c_i != 0
};

template <typename T>
FeatureParams<T> MakeFeatureParams(const RandomFeatureMap& map);

// e (rows x features, preallocated) = the exponents w_i.x - x^T A x / 2 + c_i of the rows of x
// (unscaled queries or keys); scratch and norms are workspaces (resized only when too small).
template <typename T>
void FeatureExponents(const FeatureParams<T>& p, const Eigen::Ref<const RowMatrix<T>>& x,
                      Eigen::Ref<RowMatrix<T>> e, RowMatrix<T>* scratch,
                      Eigen::Matrix<T, Eigen::Dynamic, 1>* norms);

template <typename T>
struct KernelContext {
  const AttentionOptions* options = nullptr;
  FeatureParams<T> params;
};

// One head: out = attention(q, k, v) with up to `threads` threads.
template <typename T>
void RunHead(const KernelContext<T>& ctx, const RowMatrix<T>& q, const RowMatrix<T>& k,
             const RowMatrix<T>& v, RowMatrix<T>* out, int threads);

Eigen::MatrixXd OrthogonalBlock(int64_t dim, bool sign_fix, std::mt19937_64& rng);

inline int ThreadCount(int requested) {
  if (requested > 0) return requested;
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

// fn(begin, end, thread_index) over [0, n) split into up to `threads` contiguous ranges; the
// calling thread takes the first range. Inline when threads <= 1.
template <typename Fn>
void ParallelFor(int64_t n, int threads, Fn&& fn) {
  if (n <= 0) return;
  const int64_t t = std::max<int64_t>(1, std::min<int64_t>(threads, n));
  if (t == 1) {
    fn(int64_t{0}, n, 0);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(t - 1));
  for (int64_t i = 1; i < t; ++i) {
    pool.emplace_back([&fn, i, t, n] { fn(i * n / t, (i + 1) * n / t, static_cast<int>(i)); });
  }
  fn(int64_t{0}, n / t, 0);
  for (auto& th : pool) th.join();
}

}  // namespace chronoscale::internal
