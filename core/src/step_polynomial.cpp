#include "chronoscale/step_polynomial.h"

#include <fmt/format.h>

#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <random>

#include "chronoscale/error.h"
#include "chronoscale/parallel.h"
#include "simd_math.h"

namespace chronoscale {
namespace {

// The totals in StepPolynomial's order (kQuantities of them).
constexpr int kTotals = 4 * static_cast<int>(kNumSegments);

void ReadTotals(const StepCounts& c, double* y) {
  for (std::size_t g = 0; g < kNumSegments; ++g) {
    y[4 * g + 0] = c.segments[g].matmul_flops;
    y[4 * g + 1] = c.segments[g].attention_flops;
    y[4 * g + 2] = c.segments[g].bytes;
    y[4 * g + 3] = c.segments[g].launches;
  }
  y[kTotals + 0] = c.optimizer_bytes;
  y[kTotals + 1] = c.optimizer_tensors;
  y[kTotals + 2] = c.model_flops;
  y[kTotals + 3] = c.TotalBytes();
}

// What a family's members share: the shape's serialization with the four dimensions that vary
// set to 1 (every field, so a new one cannot be forgotten).
nlohmann::json FamilyKey(const ModelShape& s) {
  ModelShape x = s;
  x.d_model = x.n_layers = x.n_heads = x.d_ff = 1;
  return ShapeToJson(x);
}

// InputError unless every sample and check shape is of the family of samples[0].
void CheckOneFamily(const std::vector<ModelShape>& samples, const std::vector<ModelShape>& checks) {
  if (samples.empty()) throw InputError("StepPolynomial: no sample shapes");
  const nlohmann::json family = FamilyKey(samples[0]);
  for (const auto* set : {&samples, &checks}) {
    for (const ModelShape& s : *set) {
      if (FamilyKey(s) != family) {
        throw InputError(
            "StepPolynomial: the shapes differ in more than d_model, n_layers, n_heads, d_ff");
      }
    }
  }
}

// The totals of the op walk of s on one device, into out[0..kTotals + 4).
template <typename Out>
void WalkTotals(const ModelShape& s, const HardwareProfile& hw, Out&& out) {
  double y[kTotals + 4];
  ReadTotals(CountStep(s, SingleDevice(s), hw), y);
  for (int q = 0; q < kTotals + 4; ++q) out[q] = y[q];
}

// The monomials (columns of A) that contribute to some total in the solution X, given each
// total's scale.
std::vector<Eigen::Index> UsedMonomials(const Eigen::MatrixXd& A, const Eigen::MatrixXd& X,
                                        const Eigen::VectorXd& yscale) {
  std::vector<Eigen::Index> kept_rows;
  for (Eigen::Index k = 0; k < A.cols(); ++k) {
    const double col = A.col(k).cwiseAbs().maxCoeff();
    bool used = false;
    for (int q = 0; q < X.cols(); ++q) {
      if (yscale[q] > 0 && std::abs(X(k, q)) * col > 1e-13 * yscale[q]) used = true;
    }
    if (used) kept_rows.push_back(k);
  }
  return kept_rows;
}

// The largest relative difference of p's totals from the op walk over `checks`.
double CheckError(const StepPolynomial& p, const std::vector<ModelShape>& checks,
                  const HardwareProfile& hw, const Eigen::VectorXd& yscale) {
  constexpr int kQuantities = kTotals + 4;
  double error = 0;
  Eigen::RowVectorXd y(kQuantities);
  for (const ModelShape& s : checks) {
    WalkTotals(s, hw, y);
    double total_bytes = 0;
    const StepCounts c = p.Counts(s, &total_bytes);
    double got[kQuantities];
    ReadTotals(c, got);
    got[kQuantities - 1] = total_bytes;
    for (int q = 0; q < kQuantities; ++q) {
      const double scale = std::max(std::abs(y[q]), yscale[q]);
      if (scale <= 0) continue;
      error = std::max(error, std::abs(got[q] - y[q]) / scale);
    }
  }
  return error;
}

// Why a fit with that check error is not usable ("" when it is).
std::string WhyNotUsable(bool no_checks, double check_error) {
  if (no_checks) return "no check shapes";
  if (!(check_error <= 1e-9)) {
    return fmt::format("relative error {:.3g} against the op walk", check_error);
  }
  return "";
}

// The estimator as rows over the monomials of the totals `coef` (totals x monomials): `pairs`
// pairs of smooth-max operands, then linear rows; *c0 the fixed time, *p the sharpness.
template <typename Coef>
Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> EstimatorRows(
    const Coef& coef, const TimeModel& model, EstimatorKind e, int* pairs, double* c0, double* p) {
  using Rows = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Index terms = coef.cols();
  Rows rows;
  auto total = [&](int q) { return coef.row(q); };
  switch (e) {
    case EstimatorKind::kFlops:
      rows = model.flops_s_per_flop * total(kTotals + 2);
      *c0 = model.flops_c0_s;
      break;
    case EstimatorKind::kMemcopy:
      rows = model.memcopy_s_per_byte * total(kTotals + 3);
      *c0 = model.memcopy_c0_s;
      break;
    case EstimatorKind::kRoofline:
      throw InputError("the roofline estimator takes a maximum per op and has no closed form");
    case EstimatorKind::kCalibrated: {
      // One device, one micro-step: no bubble and no communication (CalibratedStep).
      const CalibratedTerms<double> k = TermsOf(model.calibrated);
      auto gpu = [&](std::size_t g) {
        const int q = static_cast<int>(4 * g);
        return (k.matmul * total(q) + k.attention * total(q + 1) + k.byte * total(q + 2)).eval();
      };
      auto cpu = [&](std::size_t g) {
        return (k.launch * total(static_cast<int>(4 * g) + 3)).eval();
      };
      const bool segments = k.form == CalibratedForm::kSegments;
      *pairs = segments ? static_cast<int>(kNumSegments) + 1 : 2;
      rows.resize(2 * *pairs, terms);
      if (segments) {
        for (std::size_t g = 0; g < kNumSegments; ++g) {
          rows.row(static_cast<Eigen::Index>(2 * g)) = gpu(g);
          rows.row(static_cast<Eigen::Index>(2 * g + 1)) = cpu(g);
        }
      } else {
        rows.row(0).setZero();
        rows.row(1).setZero();
        for (std::size_t g = 0; g < kNumSegments; ++g) {
          rows.row(0) += gpu(g);
          rows.row(1) += cpu(g);
        }
      }
      rows.row(2 * *pairs - 2) = k.byte * total(kTotals + 0);
      rows.row(2 * *pairs - 1) = k.tensor * total(kTotals + 1);
      *c0 = k.c0;
      *p = k.sharpness;
      break;
    }
  }
  return rows;
}

}  // namespace

void StepPolynomial::RawVariables(const ModelShape& s, double* x) {
  const double dh = static_cast<double>(s.HeadDim());
  x[0] = static_cast<double>(s.d_model);
  x[1] = static_cast<double>(s.n_heads) * dh;
  x[2] = static_cast<double>(s.KvHeads()) * dh;
  x[3] = static_cast<double>(s.d_ff);
  x[4] = static_cast<double>(s.n_heads);
  x[5] = dh;
  x[6] = static_cast<double>(s.n_layers);
}

void StepPolynomial::Variables(const ModelShape& s, double* x) const {
  RawVariables(s, x);
  for (int v = 0; v < kVars; ++v) x[v] /= scale_[v];
}

StepPolynomial StepPolynomial::Fit(const std::vector<ModelShape>& samples,
                                   const std::vector<ModelShape>& checks,
                                   const HardwareProfile& hw) {
  static_assert(kQuantities == kTotals + 4);
  StepPolynomial p;
  CheckOneFamily(samples, checks);
  // 1 and every product of one or two of (d, q, kv, f, h, dh), with and without the layers.
  for (const bool layers : {false, true}) {
    p.monomials_.push_back(Monomial{-1, -1, layers});
    for (signed char a = 0; a < kVars - 1; ++a) {
      p.monomials_.push_back(Monomial{a, -1, layers});
      for (signed char b = a; b < kVars - 1; ++b) p.monomials_.push_back(Monomial{a, b, layers});
    }
  }
  // Scale each variable by its largest sample value, so the columns are of order one.
  for (int v = 0; v < kVars; ++v) p.scale_[v] = 1;
  double raw[kVars];
  for (const ModelShape& s : samples) {
    p.Variables(s, raw);
    for (int v = 0; v < kVars; ++v) p.scale_[v] = std::max(p.scale_[v], raw[v]);
  }
  auto row = [&](const ModelShape& s, auto&& out) {
    double x[kVars];
    p.Variables(s, x);
    for (std::size_t k = 0; k < p.monomials_.size(); ++k) {
      const Monomial& m = p.monomials_[k];
      double v = m.times_layers ? x[6] : 1.0;
      if (m.a >= 0) v *= x[m.a];
      if (m.b >= 0) v *= x[m.b];
      out[static_cast<Eigen::Index>(k)] = v;
    }
  };
  const auto n = static_cast<Eigen::Index>(samples.size());
  const auto m = static_cast<Eigen::Index>(p.monomials_.size());
  Eigen::MatrixXd A(n, m), Y(n, kQuantities);
  for (Eigen::Index i = 0; i < n; ++i) {
    row(samples[static_cast<std::size_t>(i)], A.row(i));
    WalkTotals(samples[static_cast<std::size_t>(i)], hw, Y.row(i));
  }
  // Exact least squares on a rank-deficient basis (q = d when head_dim follows d / heads...):
  // the minimum-norm solution, exact on the span the family reaches.
  const Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(A);
  Eigen::MatrixXd X = cod.solve(Y);  // monomials x totals
  // Drop monomials that contribute nothing to any total.
  Eigen::VectorXd yscale = Y.cwiseAbs().colwise().maxCoeff().transpose();
  const std::vector<Eigen::Index> kept_rows = UsedMonomials(A, X, yscale);
  std::vector<Monomial> kept;
  for (Eigen::Index k : kept_rows) kept.push_back(p.monomials_[static_cast<std::size_t>(k)]);
  p.monomials_ = kept;
  p.coef_.resize(kQuantities, static_cast<Eigen::Index>(kept.size()));
  for (std::size_t k = 0; k < kept.size(); ++k) {
    p.coef_.col(static_cast<Eigen::Index>(k)) = X.row(kept_rows[k]).transpose();
  }
  // Check against the op walk on shapes it was not fitted on.
  p.usable_ = true;
  p.check_error_ = CheckError(p, checks, hw, yscale);
  p.why_not_ = WhyNotUsable(checks.empty(), p.check_error_);
  p.usable_ = p.why_not_.empty();
  return p;
}

StepPolynomial StepPolynomial::ForFamily(const ModelShape& base, const HardwareProfile& hw,
                                         const std::vector<ModelShape>& checks) {
  std::mt19937_64 rng(20261202);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  auto member = [&]() {
    for (int attempt = 0;; ++attempt) {
      ModelShape s = base;
      const int64_t dh = base.head_dim > 0 ? base.head_dim : int64_t{32} << uniform(0, 2);
      s.n_heads = base.n_kv_heads > 0 ? base.n_kv_heads * uniform(1, 16) : uniform(1, 96);
      s.d_model = base.head_dim > 0 ? 64 * uniform(1, 128) : s.n_heads * dh;
      s.d_ff = uniform(1, 6 * s.d_model);
      s.n_layers = base.dense_layers + uniform(1, 128);
      try {
        s.Validate();
        return s;
      } catch (const InputError& e) {
        if (attempt == 1000)
          throw InputError(fmt::format("no valid shape of the family: {}", e.what()));
      }
    }
  };
  std::vector<ModelShape> samples, all_checks = checks;
  for (int i = 0; i < 160; ++i) samples.push_back(member());
  for (int i = 0; i < 64; ++i) all_checks.push_back(member());
  return Fit(samples, all_checks, hw);
}

StepCounts StepPolynomial::Counts(const ModelShape& s, double* total_bytes) const {
  double x[kVars];
  Variables(s, x);
  // A fixed-size accumulator (registers, vectorised) rather than a loop through memory.
  Eigen::Matrix<double, kQuantities, 1> y = Eigen::Matrix<double, kQuantities, 1>::Zero();
  for (std::size_t k = 0; k < monomials_.size(); ++k) {
    const Monomial& m = monomials_[k];
    double v = m.times_layers ? x[6] : 1.0;
    if (m.a >= 0) v *= x[m.a];
    if (m.b >= 0) v *= x[m.b];
    y.noalias() += coef_.col(static_cast<Eigen::Index>(k)) * v;
  }
  StepCounts c;
  for (std::size_t g = 0; g < kNumSegments; ++g) {
    c.segments[g].matmul_flops = y[4 * g + 0];
    c.segments[g].attention_flops = y[4 * g + 1];
    c.segments[g].bytes = y[4 * g + 2];
    c.segments[g].launches = y[4 * g + 3];
  }
  c.optimizer_bytes = y[kTotals + 0];
  c.optimizer_tensors = y[kTotals + 1];
  c.model_flops = y[kTotals + 2];
  c.layers_per_stage = static_cast<double>(s.n_layers);
  if (total_bytes != nullptr) *total_bytes = y[kTotals + 3];
  return c;
}

double StepPolynomial::Predict(const TimeModel& model, const ModelShape& s, EstimatorKind e) const {
  if (e == EstimatorKind::kRoofline) {
    throw InputError("the roofline estimator takes a maximum per op and has no closed form");
  }
  double total_bytes = 0;
  StepCounts c = Counts(s, &total_bytes);
  c.bytes[0] = total_bytes;  // the memcopy estimator reads the sum over kinds
  return PredictFromCounts(model, c, e);
}

}  // namespace chronoscale

namespace chronoscale {

void StepPolynomial::PredictMany(const TimeModel& model, EstimatorKind e,
                                 std::span<const ModelShape> shapes, std::span<double> out,
                                 std::string_view isa) const {
  if (shapes.size() != out.size()) {
    throw InputError(
        fmt::format("PredictMany: {} shapes but {} outputs", shapes.size(), out.size()));
  }
  if (!usable_) throw InputError("PredictMany: the closed form is not usable: " + why_not_);
  // The estimator as rows over the monomials: pairs of smooth-max operands, then linear rows.
  const Eigen::Index terms = static_cast<Eigen::Index>(monomials_.size());
  int pairs = 0;
  double c0 = 0, p = 1;
  auto rows = EstimatorRows(coef_, model, e, &pairs, &c0, &p);
  const internal::SimdMath& math =
      isa.empty() ? internal::BestSimdMath() : internal::SimdMathFor(isa);
  // The shapes' raw dimensions go in: each monomial's column takes its variables' scales.
  std::vector<signed char> a, b, times_layers;
  for (const Monomial& t : monomials_) {
    double scale = t.times_layers ? scale_[6] : 1.0;
    if (t.a >= 0) scale *= scale_[t.a];
    if (t.b >= 0) scale *= scale_[t.b];
    rows.col(static_cast<Eigen::Index>(a.size())) /= scale;
    a.push_back(t.a);
    b.push_back(t.b);
    times_layers.push_back(t.times_layers ? 1 : 0);
  }
  const internal::SimdMath::Polynomial poly{rows.data(),
                                            static_cast<int>(rows.rows()),
                                            static_cast<int>(terms),
                                            a.data(),
                                            b.data(),
                                            times_layers.data(),
                                            kVars,
                                            6};
  // The variables of a block of shapes, each variable's values in a row.
  constexpr std::size_t kBlock = 2048;
  std::vector<double> x(kVars * kBlock);
  for (std::size_t begin = 0; begin < shapes.size(); begin += kBlock) {
    const std::size_t count = std::min(kBlock, shapes.size() - begin);
    for (std::size_t i = 0; i < count; ++i) {
      double v[kVars];
      RawVariables(shapes[begin + i], v);
      for (std::size_t k = 0; k < kVars; ++k) x[k * count + i] = v[k];
    }
    math.smooth_max_sums(poly, x.data(), static_cast<int64_t>(count), pairs, p, c0,
                         out.data() + begin);
  }
}

}  // namespace chronoscale
