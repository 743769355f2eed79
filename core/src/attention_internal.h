// Internal pieces of the attention kernels shared by attention.cpp and attention_kernels.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "attention_isa.h"
#include "chronoscale/attention.h"
#include "chronoscale/parallel_for.h"

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

// The kernels' view of `p` (arrays it keeps alive).
template <typename T>
RawFeatures<T> Raw(const FeatureParams<T>& p) {
  RawFeatures<T> r;
  r.wt = p.wt.size() > 0 ? p.wt.data() : nullptr;
  r.bias = p.bias.size() > 0 ? p.bias.data() : nullptr;
  r.metric = p.metric.size() > 0 ? p.metric.data() : nullptr;
  r.half_norm_scale = p.half_norm_scale;
  r.dim = p.wt.rows();
  r.draws = p.draws;
  r.features = p.features;
  r.hyperbolic = p.hyperbolic;
  r.has_bias = p.has_bias;
  return r;
}

Eigen::MatrixXd OrthogonalBlock(int64_t dim, bool sign_fix, std::mt19937_64& rng);

using chronoscale::ParallelFor;
using chronoscale::ThreadCount;

}  // namespace chronoscale::internal
