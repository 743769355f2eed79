// Attention kernels: exact softmax (naive and blocked online softmax) and random-feature kernels
// (FAVOR+, optimal sampling, data-aware). The per-head work is GEMM-shaped and goes through Eigen;
// threads split heads when there are enough of them, else the rows of each head.
#include "chronoscale/attention.h"

#include <fmt/format.h>

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>

#include "attention_internal.h"
#include "chronoscale/error.h"
#include "simd_math.h"

namespace chronoscale {

namespace {

constexpr const char* kKernelNames[kNumAttentionKernels] = {
    "softmax", "flash", "favor", "favor-orth", "favor-hyp", "optimal", "dark"};

}  // namespace

std::string ToString(AttentionKernel kernel) { return kKernelNames[static_cast<int>(kernel)]; }

bool Parse(std::string_view text, AttentionKernel* out) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (int i = 0; i < kNumAttentionKernels; ++i) {
    if (lower == kKernelNames[i]) {
      *out = static_cast<AttentionKernel>(i);
      return true;
    }
  }
  if (lower == "naive") {
    *out = AttentionKernel::kSoftmax;
    return true;
  }
  return false;
}

std::vector<std::string> AttentionKernelNames() {
  return std::vector<std::string>(std::begin(kKernelNames), std::end(kKernelNames));
}

bool IsRandomFeature(AttentionKernel kernel) {
  return kernel != AttentionKernel::kSoftmax && kernel != AttentionKernel::kFlash;
}

bool AttentionOptions::IsValid(int64_t dim, std::string* error) const {
  auto fail = [&](const std::string& message) {
    if (error) *error = message;
    return false;
  };
  if (dim <= 0) return fail(fmt::format("head dimension {}: expected a positive integer", dim));
  if (!(isa.empty() || isa == "sse2" || isa == "avx2" || isa == "avx512")) {
    return fail(fmt::format("isa '{}': expected sse2, avx2 or avx512", isa));
  }
  if (IsRandomFeature(kernel)) {
    if (features <= 0) {
      return fail(
          fmt::format("features {}: expected a positive number of random features", features));
    }
    if (kernel == AttentionKernel::kFavorHyp && features % 2 != 0) {
      return fail(fmt::format(
          "features {}: favor-hyp needs an even number (pairs exp(wx), exp(-wx))", features));
    }
  }
  if (block_rows <= 0) return fail(fmt::format("block_rows {}: expected > 0", block_rows));
  if (chunk_rows <= 0) return fail(fmt::format("chunk_rows {}: expected > 0", chunk_rows));
  if (threads < 0) return fail(fmt::format("threads {}: expected >= 0", threads));
  if (kernel == AttentionKernel::kDark && sigma_k.size() > 0) {
    if (sigma_k.rows() != dim || sigma_k.cols() != dim) {
      return fail(fmt::format("sigma_k is {}x{}: expected {}x{} (the head dimension)",
                              sigma_k.rows(), sigma_k.cols(), dim, dim));
    }
    if (!sigma_k.allFinite()) return fail("sigma_k: expected finite entries");
    if ((sigma_k - sigma_k.transpose()).cwiseAbs().maxCoeff() >
        1e-9 * std::max(1.0, sigma_k.cwiseAbs().maxCoeff())) {
      return fail("sigma_k: expected a symmetric matrix");
    }
    Eigen::LLT<Eigen::MatrixXd> llt(sigma_k);
    if (llt.info() != Eigen::Success) return fail("sigma_k: expected a positive definite matrix");
  }
  if (kernel == AttentionKernel::kOptimal && second_moment.size() > 0 &&
      (second_moment.rows() != dim || second_moment.cols() != dim)) {
    return fail(fmt::format("second_moment is {}x{}: expected {}x{}", second_moment.rows(),
                            second_moment.cols(), dim, dim));
  }
  return true;
}

namespace internal {

Eigen::MatrixXd OrthogonalBlock(int64_t dim, bool sign_fix, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  Eigen::MatrixXd g(dim, dim);
  for (int64_t i = 0; i < dim; ++i)
    for (int64_t j = 0; j < dim; ++j) g(i, j) = normal(rng);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(dim, dim);
  if (sign_fix) {
    const Eigen::VectorXd r_diag = qr.matrixQR().diagonal();
    for (int64_t j = 0; j < dim; ++j) {
      if (r_diag(j) < 0) q.col(j) = -q.col(j);
    }
  }
  return q;  // columns are the directions
}

}  // namespace internal

RandomFeatureMap DrawRandomFeatures(const AttentionOptions& options, int64_t dim, uint64_t seed,
                                    const Eigen::MatrixXd& second_moment) {
  std::string error;
  if (!options.IsValid(dim, &error)) throw InputError(error);
  RandomFeatureMap map;
  map.kernel = options.kernel;
  map.dim = dim;
  if (!IsRandomFeature(options.kernel)) return map;
  map.features = options.features;
  map.hyperbolic = options.kernel == AttentionKernel::kFavorHyp;
  const int64_t draws = map.hyperbolic ? options.features / 2 : options.features;
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd w(draws, dim);
  map.log_weight = Eigen::VectorXd::Zero(draws);

  const bool orthogonal =
      options.kernel == AttentionKernel::kFavorOrth || options.kernel == AttentionKernel::kFavorHyp;
  if (orthogonal) {
    for (int64_t row = 0; row < draws; row += dim) {
      const Eigen::MatrixXd q = internal::OrthogonalBlock(dim, options.qr_sign_fix, rng);
      const int64_t take = std::min(dim, draws - row);
      for (int64_t i = 0; i < take; ++i) {
        double norm2 = 0;  // chi_d: the norm of an independent N(0, I) vector
        for (int64_t j = 0; j < dim; ++j) {
          const double z = normal(rng);
          norm2 += z * z;
        }
        w.row(row + i) = std::sqrt(norm2) * q.col(i).transpose();
      }
    }
  } else {
    for (int64_t i = 0; i < draws; ++i)
      for (int64_t j = 0; j < dim; ++j) w(i, j) = normal(rng);
  }

  if (options.kernel == AttentionKernel::kOptimal) {
    Eigen::MatrixXd lambda = second_moment;
    if (lambda.size() == 0) lambda = options.second_moment;
    if (lambda.size() == 0) lambda = Eigen::MatrixXd::Zero(dim, dim);
    if (lambda.rows() != dim || lambda.cols() != dim) {
      throw InputError(fmt::format("second moment is {}x{}: expected {}x{}", lambda.rows(),
                                   lambda.cols(), dim, dim));
    }
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(0.5 * (lambda + lambda.transpose()));
    const Eigen::VectorXd l = eig.eigenvalues().cwiseMax(0.0).cwiseMin(0.45);
    const Eigen::VectorXd c =
        ((1.0 + 2.0 * l.array()) / (1.0 - 2.0 * l.array())).matrix();  // proposal eigenvalues
    // omega = V diag(sqrt c) z; log(p/q) = 1/2 sum log c - 1/2 sum (c - 1) z^2.
    const double half_log_det = 0.5 * c.array().log().sum();
    const Eigen::MatrixXd z = w;
    w = z * c.cwiseSqrt().asDiagonal() * eig.eigenvectors().transpose();
    for (int64_t i = 0; i < draws; ++i) {
      const double quad = (z.row(i).array().square() * (c.array() - 1.0).transpose()).sum();
      map.log_weight(i) = 0.5 * (half_log_det - 0.5 * quad);  // split across both sides
    }
  }
  if (options.kernel == AttentionKernel::kDark && options.sigma_k.size() > 0) {
    const Eigen::LLT<Eigen::MatrixXd> llt(options.sigma_k);
    const Eigen::MatrixXd lower = llt.matrixL();  // Sigma_k = L L^T, M = L^T
    w = w * lower.transpose();                    // rows w^T M
    map.norm_metric = options.sigma_k;
  }
  map.projection = std::move(w);
  return map;
}

namespace internal {

template <typename T>
FeatureParams<T> MakeFeatureParams(const RandomFeatureMap& map) {
  FeatureParams<T> p;
  const double scale = std::pow(static_cast<double>(map.dim), -0.25);
  p.draws = map.Draws();
  p.features = map.features;
  p.hyperbolic = map.hyperbolic;
  p.wt = (scale * map.projection.transpose()).cast<T>();
  p.bias.resize(map.features);
  p.bias.head(p.draws) = map.log_weight.transpose().cast<T>();
  if (map.hyperbolic) p.bias.tail(p.draws) = map.log_weight.transpose().cast<T>();
  p.has_bias = map.log_weight.size() > 0 && (map.log_weight.array() != 0.0).any();
  p.half_norm_scale = static_cast<T>(0.5 * scale * scale);
  if (map.norm_metric.size() > 0) p.metric = map.norm_metric.cast<T>();
  return p;
}

Eigen::MatrixXd ExponentsDouble(const RandomFeatureMap& map, const Eigen::MatrixXd& rows) {
  const FeatureParams<double> p = MakeFeatureParams<double>(map);
  const RowMatrix<double> x = rows;
  RowMatrix<double> e(x.rows(), p.features);
  BestKernels().exponents_d(Raw(p), x.data(), x.rows(), e.data());
  return e;
}

void RunRanges(int64_t n, int threads, RangeBody body, void* ctx) {
  ParallelFor(n, threads, [&](int64_t begin, int64_t end, int t) { body(ctx, begin, end, t); });
}

const IsaKernels& KernelsFor(std::string_view want) {
  switch (ChooseSimdIsa(want)) {
    case SimdIsa::kAvx512:
      return KernelsAvx512();
    case SimdIsa::kAvx2:
      return KernelsAvx2();
    case SimdIsa::kSse2:
      break;
  }
  return KernelsSse2();
}

const IsaKernels& BestKernels() {
  static const IsaKernels& best = []() -> const IsaKernels& {
    const char* env = std::getenv("CHRONOSCALE_ATTENTION_ISA");
    return KernelsFor(env != nullptr ? env : "");
  }();
  return best;
}

template FeatureParams<float> MakeFeatureParams<float>(const RandomFeatureMap&);
template FeatureParams<double> MakeFeatureParams<double>(const RandomFeatureMap&);

}  // namespace internal

Eigen::MatrixXd FeatureMatrix(const RandomFeatureMap& map, const Eigen::MatrixXd& rows) {
  if (!IsRandomFeature(map.kernel) || rows.cols() != map.dim) {
    throw InputError(
        fmt::format("FeatureMatrix: expected a random-feature map and {} columns", map.dim));
  }
  const Eigen::MatrixXd e = internal::ExponentsDouble(map, rows);
  return e.array().exp() / std::sqrt(static_cast<double>(map.features));
}

Eigen::MatrixXd EstimateKernel(const RandomFeatureMap& map, const Eigen::MatrixXd& q,
                               const Eigen::MatrixXd& k) {
  if (!IsRandomFeature(map.kernel)) return ExactKernel(map.kernel, Eigen::MatrixXd(), q, k);
  if (q.cols() != map.dim || k.cols() != map.dim) {
    throw InputError(fmt::format("EstimateKernel: expected {} columns", map.dim));
  }
  Eigen::MatrixXd eq = internal::ExponentsDouble(map, q);
  Eigen::MatrixXd ek = internal::ExponentsDouble(map, k);
  const Eigen::VectorXd mq = eq.rowwise().maxCoeff();
  const Eigen::VectorXd mk = ek.rowwise().maxCoeff();
  eq = (eq.colwise() - mq).array().exp();
  ek = (ek.colwise() - mk).array().exp();
  Eigen::MatrixXd khat = eq * ek.transpose() / static_cast<double>(map.features);
  khat.array() *= (mq.replicate(1, k.rows()) + mk.transpose().replicate(q.rows(), 1)).array().exp();
  return khat;
}

Eigen::MatrixXd ExactKernel(AttentionKernel kernel, const Eigen::MatrixXd& sigma_k,
                            const Eigen::MatrixXd& q, const Eigen::MatrixXd& k) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.cols()));
  if (kernel == AttentionKernel::kDark && sigma_k.size() > 0) {
    return ((q * sigma_k * k.transpose()) * scale).array().exp();
  }
  return ((q * k.transpose()) * scale).array().exp();
}

Eigen::MatrixXd ExactOutputRows(AttentionKernel kernel, const Eigen::MatrixXd& sigma_k, bool causal,
                                const Eigen::MatrixXd& q, const Eigen::MatrixXd& k,
                                const Eigen::MatrixXd& v, const std::vector<int64_t>& rows) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.cols()));
  const bool metric = kernel == AttentionKernel::kDark && sigma_k.size() > 0;
  const Eigen::MatrixXd keys = metric ? Eigen::MatrixXd(k * sigma_k) : k;
  Eigen::MatrixXd out(static_cast<int64_t>(rows.size()), v.cols());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const int64_t i = rows[r];
    const int64_t n = causal ? std::min<int64_t>(i + 1, k.rows()) : k.rows();
    Eigen::VectorXd s = keys.topRows(n) * q.row(i).transpose() * scale;
    s = (s.array() - s.maxCoeff()).exp();
    out.row(r) = (s.transpose() * v.topRows(n)) / s.sum();
  }
  return out;
}

template <typename T>
Eigen::MatrixXd ScaledSecondMoment(const HeadTensor<T>& q, const HeadTensor<T>& k) {
  const int64_t d = q.dim;
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(d, d);
  double rows = 0;
  for (const auto* t : {&q, &k}) {
    for (const auto& m : t->data) {
      const Eigen::MatrixXd md = m.template cast<double>();
      sum.noalias() += md.transpose() * md;
      rows += static_cast<double>(m.rows());
    }
  }
  return sum / std::max(1.0, rows) / std::sqrt(static_cast<double>(d));
}

template <typename T>
void Attention(const AttentionOptions& options, const HeadTensor<T>& q, const HeadTensor<T>& k,
               const HeadTensor<T>& v, HeadTensor<T>* out, const RandomFeatureMap* features) {
  std::string error;
  if (!options.IsValid(q.dim, &error)) throw InputError(error);
  if (k.batch != q.batch || k.heads != q.heads || v.batch != q.batch || v.heads != q.heads) {
    throw InputError("attention: queries, keys and values must have the same batch and heads");
  }
  if (k.dim != q.dim) {
    throw InputError(fmt::format("attention: keys have dimension {}, queries {}", k.dim, q.dim));
  }
  if (v.seq != k.seq) {
    throw InputError(fmt::format("attention: {} values for {} keys", v.seq, k.seq));
  }
  if (options.causal && q.seq != k.seq) {
    throw InputError("attention: causal attention needs as many queries as keys");
  }
  if (static_cast<int64_t>(q.data.size()) != q.NumHeads() ||
      static_cast<int64_t>(k.data.size()) != k.NumHeads() ||
      static_cast<int64_t>(v.data.size()) != v.NumHeads()) {
    throw InputError("attention: tensor data does not match batch x heads");
  }
  RandomFeatureMap drawn;
  if (IsRandomFeature(options.kernel)) {
    if (!features) {
      Eigen::MatrixXd lambda;
      if (options.kernel == AttentionKernel::kOptimal && options.second_moment.size() == 0) {
        lambda = ScaledSecondMoment(q, k);
      }
      drawn = DrawRandomFeatures(options, q.dim, options.seed, lambda);
      features = &drawn;
    } else if (features->dim != q.dim || features->kernel != options.kernel) {
      throw InputError("attention: the feature map was drawn for another kernel or dimension");
    }
  }
  if (out->batch != q.batch || out->heads != q.heads || out->seq != q.seq || out->dim != v.dim ||
      static_cast<int64_t>(out->data.size()) != q.NumHeads()) {
    *out = HeadTensor<T>(q.batch, q.heads, q.seq, v.dim);
  }

  internal::FeatureParams<T> params;
  if (features) params = internal::MakeFeatureParams<T>(*features);
  internal::RawOptions raw;
  raw.kernel = options.kernel == AttentionKernel::kSoftmax ? internal::HeadKernel::kSoftmax
               : options.kernel == AttentionKernel::kFlash ? internal::HeadKernel::kFlash
                                                           : internal::HeadKernel::kRandomFeature;
  raw.causal = options.causal;
  raw.stabilize = options.stabilize;
  raw.block_rows = options.block_rows;
  raw.chunk_rows = options.chunk_rows;
  const internal::RawFeatures<T> raw_features = internal::Raw(params);
  const internal::IsaKernels& kernels =
      options.isa.empty() ? internal::BestKernels() : internal::KernelsFor(options.isa);
  auto run = [&](int64_t h, int threads) {
    internal::RawHead<T> head;
    head.q = q.data[h].data();
    head.k = k.data[h].data();
    head.v = v.data[h].data();
    head.out = out->data[h].data();
    head.rows = q.data[h].rows();
    head.keys = k.data[h].rows();
    head.dim = q.data[h].cols();
    head.dv = v.data[h].cols();
    if constexpr (std::is_same_v<T, float>) {
      kernels.head_f(raw, raw_features, head, threads);
    } else {
      kernels.head_d(raw, raw_features, head, threads);
    }
  };
  // Threads over heads (and batch) when there are enough of them, else inside each head.
  const int threads = ThreadCount(options.threads);
  const int64_t heads = q.NumHeads();
  if (heads >= threads) {
    ParallelFor(heads, threads, [&](int64_t begin, int64_t end, int) {
      for (int64_t h = begin; h < end; ++h) run(h, 1);
    });
  } else {
    for (int64_t h = 0; h < heads; ++h) run(h, threads);
  }
}

std::string AttentionIsa() { return internal::BestKernels().isa; }

template <typename T>
AttentionErrors MeasureErrors(const AttentionOptions& options, const RandomFeatureMap* map,
                              const HeadTensor<T>& q, const HeadTensor<T>& k,
                              const HeadTensor<T>& v, const HeadTensor<T>& out,
                              const ErrorOptions& error_options) {
  AttentionErrors errors;
  const bool random = IsRandomFeature(options.kernel);
  if (random && !map) throw InputError("MeasureErrors: a random-feature kernel needs its map");
  const int64_t heads =
      std::min<int64_t>(q.NumHeads(), std::max<int64_t>(1, error_options.max_heads));
  const int64_t stride = std::max<int64_t>(
      1, (q.seq + error_options.max_queries - 1) / std::max<int64_t>(1, error_options.max_queries));
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < q.seq; i += stride) rows.push_back(i);
  double rel_sum = 0, mse_sum = 0, diff2 = 0, exact2 = 0;
  int64_t pairs = 0;
  for (int64_t h = 0; h < heads; ++h) {
    const Eigen::MatrixXd qd = q.data[h].template cast<double>();
    const Eigen::MatrixXd kd = k.data[h].template cast<double>();
    const Eigen::MatrixXd vd = v.data[h].template cast<double>();
    Eigen::MatrixXd qs(static_cast<int64_t>(rows.size()), qd.cols());
    for (std::size_t r = 0; r < rows.size(); ++r) qs.row(r) = qd.row(rows[r]);
    if (random) {
      const Eigen::MatrixXd exact = ExactKernel(options.kernel, options.sigma_k, qs, kd);
      const Eigen::MatrixXd khat = EstimateKernel(*map, qs, kd);
      rel_sum += ((khat - exact).array() / exact.array()).square().sum();
      mse_sum += (khat - exact).array().square().sum();
    }
    pairs += qs.rows() * kd.rows();
    const Eigen::MatrixXd exact_out =
        ExactOutputRows(options.kernel, options.sigma_k, options.causal, qd, kd, vd, rows);
    const Eigen::MatrixXd od = out.data[h].template cast<double>();
    for (std::size_t r = 0; r < rows.size(); ++r) {
      diff2 += (od.row(rows[r]) - exact_out.row(r)).squaredNorm();
      exact2 += exact_out.row(r).squaredNorm();
    }
  }
  errors.pairs = pairs;
  errors.rows = static_cast<int64_t>(rows.size()) * heads;
  errors.kernel_rel_mse = pairs > 0 ? rel_sum / static_cast<double>(pairs) : 0;
  errors.kernel_mse = pairs > 0 ? mse_sum / static_cast<double>(pairs) : 0;
  errors.output_rel_error = exact2 > 0 ? std::sqrt(diff2 / exact2) : 0;
  return errors;
}

double KernelMseTheory(AttentionKernel kernel, const Eigen::MatrixXd& lambda, int64_t features,
                       const Eigen::MatrixXd& sigma_k) {
  if (!IsRandomFeature(kernel)) return 0;
  if (kernel == AttentionKernel::kFavorOrth || kernel == AttentionKernel::kFavorHyp) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  Eigen::MatrixXd effective = 0.5 * (lambda + lambda.transpose());
  if (kernel == AttentionKernel::kDark && sigma_k.size() > 0) {
    const Eigen::MatrixXd lower = Eigen::LLT<Eigen::MatrixXd>(sigma_k).matrixL();
    effective = lower.transpose() * effective * lower;  // same spectrum as Lambda Sigma_k
  }
  const Eigen::VectorXd l =
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(effective, Eigen::EigenvaluesOnly)
          .eigenvalues();
  const double inf = std::numeric_limits<double>::infinity();
  double log_cross = 0;  // log det(I - 4 L^2)^-1/2
  for (int i = 0; i < l.size(); ++i) {
    if (4 * l(i) * l(i) >= 1) return inf;
    log_cross += -0.5 * std::log1p(-4 * l(i) * l(i));
  }
  double log_first = 0;
  if (kernel == AttentionKernel::kOptimal) {
    for (int i = 0; i < l.size(); ++i) {
      if (l(i) >= 0.5) return inf;
      log_first += -std::log1p(-2 * l(i));
    }
  } else {
    for (int i = 0; i < l.size(); ++i) {
      if (6 * l(i) >= 1) return inf;
      log_first += -0.5 * (std::log1p(-6 * l(i)) + std::log1p(2 * l(i)));
    }
  }
  return (std::exp(log_first) - std::exp(log_cross)) / static_cast<double>(features);
}

double KernelRelMseTheoryIsotropic(double tau, int64_t dim, int64_t features) {
  const double s = tau / std::sqrt(static_cast<double>(dim));
  if (4 * s >= 1) return std::numeric_limits<double>::infinity();
  return (std::pow(1 - 4 * s, -0.5 * static_cast<double>(dim)) - 1) / static_cast<double>(features);
}

Eigen::MatrixXd SyntheticCovariance(const SyntheticOptions& options) {
  const int64_t d = options.dim;
  if (d <= 0) throw InputError(fmt::format("dimension {}: expected > 0", d));
  if (!(options.tau >= 0) || !std::isfinite(options.tau)) {
    throw InputError(fmt::format("tau {}: expected a finite value >= 0", options.tau));
  }
  if (!(options.decay_ratio >= 1) || !std::isfinite(options.decay_ratio)) {
    throw InputError(
        fmt::format("decay ratio {}: expected a finite value >= 1", options.decay_ratio));
  }
  if (options.decay_ratio == 1) return options.tau * Eigen::MatrixXd::Identity(d, d);
  std::mt19937_64 rng(options.seed * 0xD1B54A32D192ED03ULL + 17);
  const Eigen::MatrixXd u = internal::OrthogonalBlock(d, true, rng);
  Eigen::VectorXd l(d);
  for (int64_t i = 0; i < d; ++i) {
    l(i) = d > 1
               ? std::pow(options.decay_ratio, -static_cast<double>(i) / static_cast<double>(d - 1))
               : 1.0;
  }
  l *= options.tau * std::sqrt(static_cast<double>(d) / l.squaredNorm());
  return u * l.asDiagonal() * u.transpose();
}

template <typename T>
void MakeSyntheticInputs(const SyntheticOptions& options, HeadTensor<T>* q, HeadTensor<T>* k,
                         HeadTensor<T>* v, Eigen::MatrixXd* covariance) {
  if (options.batch <= 0 || options.heads <= 0 || options.seq <= 0) {
    throw InputError(fmt::format("synthetic inputs: batch {}, heads {}, seq {}: expected > 0",
                                 options.batch, options.heads, options.seq));
  }
  const Eigen::MatrixXd sigma = SyntheticCovariance(options);
  if (covariance) *covariance = sigma;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(sigma);
  const Eigen::MatrixXd factor_t =
      (eig.eigenvectors() * eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal()).transpose();
  std::mt19937_64 rng(options.seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL);
  std::normal_distribution<double> normal;
  const int64_t d = options.dim, s = options.seq;
  *q = HeadTensor<T>(options.batch, options.heads, s, d);
  *k = HeadTensor<T>(options.batch, options.heads, s, d);
  *v = HeadTensor<T>(options.batch, options.heads, s, d);
  Eigen::MatrixXd z(s, d);
  auto fill = [&](Eigen::MatrixXd* m) {
    for (int64_t i = 0; i < s; ++i)
      for (int64_t j = 0; j < d; ++j) (*m)(i, j) = normal(rng);
  };
  for (int64_t h = 0; h < q->NumHeads(); ++h) {
    fill(&z);
    q->data[h] = (z * factor_t).cast<T>();
    fill(&z);
    k->data[h] = (z * factor_t).cast<T>();
    fill(&z);
    v->data[h] = z.cast<T>();
  }
}

double ParseSpectrum(std::string_view spec, const std::string& flag) {
  std::string text(spec);
  if (text == "isotropic" || text == "iso") return 1.0;
  const std::string prefix = "decay:";
  if (text.rfind(prefix, 0) != 0) {
    throw InputError(fmt::format("{} '{}': expected decay:R (eigenvalue ratio R >= 1) or isotropic",
                                 flag, text));
  }
  const std::string number = text.substr(prefix.size());
  double ratio = 0;
  std::size_t used = 0;
  try {
    ratio = std::stod(number, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (number.empty() || used != number.size() || !std::isfinite(ratio) || ratio < 1) {
    throw InputError(fmt::format(
        "{} '{}': expected decay:R with R a number >= 1 (the ratio of the largest to the smallest "
        "eigenvalue), found '{}'",
        flag, text, number));
  }
  return ratio;
}

#define CHRONOSCALE_INSTANTIATE(T)                                                                \
  template Eigen::MatrixXd ScaledSecondMoment<T>(const HeadTensor<T>&, const HeadTensor<T>&);     \
  template void Attention<T>(const AttentionOptions&, const HeadTensor<T>&, const HeadTensor<T>&, \
                             const HeadTensor<T>&, HeadTensor<T>*, const RandomFeatureMap*);      \
  template AttentionErrors MeasureErrors<T>(                                                      \
      const AttentionOptions&, const RandomFeatureMap*, const HeadTensor<T>&,                     \
      const HeadTensor<T>&, const HeadTensor<T>&, const HeadTensor<T>&, const ErrorOptions&);     \
  template void MakeSyntheticInputs<T>(const SyntheticOptions&, HeadTensor<T>*, HeadTensor<T>*,   \
                                       HeadTensor<T>*, Eigen::MatrixXd*);
CHRONOSCALE_INSTANTIATE(float)
CHRONOSCALE_INSTANTIATE(double)
#undef CHRONOSCALE_INSTANTIATE

}  // namespace chronoscale
