// The shape term of the loss law: L = E + A / N^alpha + B / D^beta + C (ln(r / r*))^2 with
// r = d_model / n_layers, fitted in log space with the same Huber loss as Approach 3, all seven
// parameters at once (x = a, b, e, alpha, beta, log C, log r*), from the shape-blind optimum and
// a grid of 16 (C, r*) starts. Automatic derivatives: seven parameters and a few hundred runs
// make this fit milliseconds.
#include <ceres/ceres.h>
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <limits>
#include <set>

#include <chronoscale/error.h>
#include <chronoscale/loss_law.h>

namespace chronoscale {
namespace {

struct ShapeResidual {
  double log_n, log_d, log_r, log_l;
  template <typename T>
  bool operator()(const T* x, T* r) const {
    using std::exp;
    using std::log;
    const T base = exp(x[0] - x[3] * log_n) + exp(x[1] - x[4] * log_d) + exp(x[2]);
    const T dev = T(log_r) - x[6];
    r[0] = log(base + exp(x[5]) * dev * dev) - log_l;
    return true;
  }
};

}  // namespace

LossLaw FitShapeTerm(const std::vector<LossRun>& runs, const LossLaw& base, double huber_delta,
                     double* objective) {
  if (base.form != LossLaw::Form::kChinchilla) {
    throw InputError("the shape term extends the Chinchilla form only");
  }
  std::set<double> aspects;
  for (const LossRun& r : runs) {
    if (!(r.aspect > 0) || !std::isfinite(r.aspect)) {
      throw InputError(fmt::format(
          "{}: the shape term needs every run's d_model and n_layers (aspect ratio {})",
          r.line > 0 ? fmt::format("line {}", r.line) : std::string("a run"), r.aspect));
    }
    aspects.insert(r.aspect);
  }
  if (aspects.size() < 3) {
    throw InputError(fmt::format(
        "the shape term needs runs at 3 or more aspect ratios (d_model / n_layers); these have {}",
        aspects.size()));
  }
  ceres::Problem::Options po;
  po.loss_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  ceres::HuberLoss huber(huber_delta);
  std::array<double, 7> x{};
  ceres::Problem problem(po);
  for (const LossRun& r : runs) {
    auto* cost = new ceres::AutoDiffCostFunction<ShapeResidual, 1, 7>(new ShapeResidual{
        std::log(r.params), std::log(r.tokens), std::log(r.aspect), std::log(r.loss)});
    problem.AddResidualBlock(cost, &huber, x.data());
  }
  ceres::Solver::Options o;
  o.linear_solver_type = ceres::DENSE_QR;
  o.max_num_iterations = 500;
  o.function_tolerance = 1e-12;
  o.gradient_tolerance = 1e-14;
  o.parameter_tolerance = 1e-12;
  o.logging_type = ceres::SILENT;
  double best_cost = std::numeric_limits<double>::infinity();
  std::array<double, 7> best{};
  for (double c : {1e-3, 1e-2, 5e-2, 0.2}) {
    for (double aspect : {16.0, 48.0, 128.0, 384.0}) {
      x = {std::log(base.A), std::log(base.B), std::log(base.E), base.alpha,
           base.beta,        std::log(c),      std::log(aspect)};
      ceres::Solver::Summary summary;
      ceres::Solve(o, &problem, &summary);
      bool finite = summary.IsSolutionUsable() && std::isfinite(summary.final_cost);
      for (double v : x) finite = finite && std::isfinite(v);
      if (finite && summary.final_cost < best_cost) {
        best_cost = summary.final_cost;
        best = x;
      }
    }
  }
  if (!std::isfinite(best_cost)) {
    throw RuntimeError("the shape-term fit failed: no start reached a finite optimum");
  }
  LossLaw law = base;
  law.A = std::exp(best[0]);
  law.B = std::exp(best[1]);
  law.E = std::exp(best[2]);
  law.alpha = best[3];
  law.beta = best[4];
  law.shape_C = std::exp(best[5]);
  law.shape_aspect = std::exp(best[6]);
  *objective = LossObjective(law, runs, huber_delta);
  return law;
}

}  // namespace chronoscale
