// The Approach 3 fit of L(N, D) = E + A / N^alpha + B / D^beta (SCIENCE.md section 2), as
// Hoffmann et al. describe it and Besiroglu et al. (Epoch AI, 2024) reproduce it:
//   parameters x = (a, b, e, alpha, beta) with a = log A, b = log B, e = log E;
//   r_i = LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i;
//   minimise SUM_i Huber_delta(r_i), delta = 1e-3, from each of a 4,500-point grid of starts.
// Ceres minimises 1/2 SUM rho(r_i^2) and its HuberLoss(d) has 1/2 rho(r^2) = Huber_d(r), so
// Ceres' cost is exactly this objective.
//
// Speed: analytic derivatives (one SizedCostFunction per run), one Problem per worker reused
// across its starts (only the parameter values and, for the bootstrap, the data points change),
// a worker per core, and an early exit: every start first runs a few iterations, and only the
// ones within a factor of the best cost so far carry on. Both phases are deterministic (a start's
// result never depends on which thread ran it or when).
#include <ceres/ceres.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <numbers>
#include <random>
#include <set>
#include <thread>

#include <chronoscale/error.h>
#include <chronoscale/loss_law.h>
#include <chronoscale/stats.h>

#include "loss_fit_internal.h"

namespace chronoscale {

using namespace loss_fit_internal;

namespace {

// r = LSE(a - alpha log N, b - beta log D, e) - log L, with its gradient: the softmax weights
// w of the three terms give dr/da = w1, dr/db = w2, dr/de = w3, dr/dalpha = -w1 log N,
// dr/dbeta = -w2 log D. False when r is not finite.
bool LseTerm(const double* x, const Point& point, double* r, double* grad) {
  const double t1 = x[kA] - x[kAlpha] * point.log_n;
  const double t2 = x[kB] - x[kBeta] * point.log_d;
  const double t3 = x[kE];
  const double m = std::max(t1, std::max(t2, t3));
  const double e1 = std::exp(t1 - m);
  const double e2 = std::exp(t2 - m);
  const double e3 = std::exp(t3 - m);
  const double s = e1 + e2 + e3;
  *r = m + std::log(s) - point.log_l;
  if (!std::isfinite(*r)) return false;
  if (grad != nullptr) {
    const double w1 = e1 / s;
    const double w2 = e2 / s;
    grad[kA] = w1;
    grad[kB] = w2;
    grad[kE] = e3 / s;
    grad[kAlpha] = -w1 * point.log_n;
    grad[kBeta] = -w2 * point.log_d;
  }
  return true;
}

// Every run in one residual block, each residual robustified inside: r~ = r where |r| <= delta,
// sign(r) sqrt(2 delta |r| - delta^2) beyond, so that the sum of r~^2 is the sum of Huber's
// rho(r^2) (Ceres' HuberLoss) term by term: the same objective, gradient and optimum as one
// block per run under a HuberLoss, without Ceres' per-block overhead (which was most of the time
// of the 4,500-start grid). dr~/dr = 1 inside, delta / |r~| beyond.
class HuberLseResiduals final : public ceres::CostFunction {
 public:
  HuberLseResiduals(const std::vector<Point>* points, double delta)
      : points_(points), delta_(delta) {
    set_num_residuals(static_cast<int>(points->size()));
    mutable_parameter_block_sizes()->push_back(5);
  }

  bool Evaluate(double const* const* parameters, double* residuals,
                double** jacobians) const override {
    const double* x = parameters[0];
    double* jac = jacobians != nullptr ? jacobians[0] : nullptr;
    double grad[5];
    for (std::size_t i = 0; i < points_->size(); ++i) {
      double r = 0;
      if (!LseTerm(x, (*points_)[i], &r, jac != nullptr ? grad : nullptr)) return false;
      const double a = std::fabs(r);
      double rt = r, scale = 1;
      if (a > delta_) {
        const double root = std::sqrt(2 * delta_ * a - delta_ * delta_);
        rt = r > 0 ? root : -root;
        scale = delta_ / root;
      }
      residuals[i] = rt;
      if (jac != nullptr) {
        for (int k = 0; k < 5; ++k) jac[5 * i + static_cast<std::size_t>(k)] = scale * grad[k];
      }
    }
    return true;
  }

 private:
  const std::vector<Point>* points_;
  double delta_;
};

// The objective at x (the sum of Huber_delta over the runs' residuals), with no derivatives:
// what the coarse screen ranks the starts by. Infinite where a residual is not finite.
double Objective(const std::vector<Point>& points, const Params& x, double delta) {
  double sum = 0;
  for (const Point& p : points) {
    double r = 0;
    if (!LseTerm(x.data(), p, &r, nullptr)) return std::numeric_limits<double>::infinity();
    sum += Huber(r, delta);
  }
  return sum;
}

// Coarse, then refine: the best `keep` share of `starts` (at least one) by their objective, in
// their grid order (ties to the earlier start).
std::vector<Params> ScreenStarts(const std::vector<Point>& points,
                                 const std::vector<Params>& starts, double delta, double keep) {
  std::vector<std::pair<double, std::size_t>> scored;
  scored.reserve(starts.size());
  for (std::size_t i = 0; i < starts.size(); ++i) {
    scored.emplace_back(Objective(points, starts[i], delta), i);
  }
  const auto n = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::ceil(keep * static_cast<double>(starts.size()))));
  std::nth_element(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(n - 1),
                   scored.end());
  std::vector<std::size_t> kept;
  for (std::size_t k = 0; k < n; ++k) kept.push_back(scored[k].second);
  std::sort(kept.begin(), kept.end());
  std::vector<Params> out;
  for (std::size_t i : kept) out.push_back(starts[i]);
  return out;
}

bool FiniteParams(const Params& x) {
  return std::all_of(x.begin(), x.end(), [](double v) { return std::isfinite(v); });
}

}  // namespace

namespace loss_fit_internal {

Worker::Worker(const std::vector<Point>& points, double huber_delta) : points_(points) {
  problem_.AddResidualBlock(new HuberLseResiduals(&points_, huber_delta), nullptr, x_.data());
}

StartResult Worker::Solve(const Params& start, const ceres::Solver::Options& options) {
  StartResult out;
  x_ = start;
  ceres::Solver::Summary summary;
  ceres::Solve(options, &problem_, &summary);
  out.iterations = summary.num_successful_steps + summary.num_unsuccessful_steps;
  out.x = x_;
  if (!summary.IsSolutionUsable() || !std::isfinite(summary.final_cost) || !FiniteParams(x_)) {
    return out;
  }
  out.cost = summary.final_cost;
  out.status = summary.termination_type == ceres::CONVERGENCE ? StartStatus::kConverged
                                                              : StartStatus::kNotConverged;
  return out;
}

ceres::Solver::Options SolverOptions(const LossFitOptions& options, int max_iterations) {
  ceres::Solver::Options o;
  o.minimizer_type = ceres::TRUST_REGION;
  o.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  o.linear_solver_type = ceres::DENSE_QR;
  o.num_threads = 1;
  o.max_num_iterations = max_iterations;
  o.function_tolerance = options.function_tolerance;
  o.gradient_tolerance = options.gradient_tolerance;
  o.parameter_tolerance = options.parameter_tolerance;
  o.logging_type = ceres::SILENT;
  o.minimizer_progress_to_stdout = false;
  return o;
}

LossLaw LawFromParams(const Params& x) {
  LossLaw law;
  law.form = LossLaw::Form::kChinchilla;
  law.params_counted = ParamCount::kAll;
  law.A = std::exp(x[kA]);
  law.B = std::exp(x[kB]);
  law.E = std::exp(x[kE]);
  law.alpha = x[kAlpha];
  law.beta = x[kBeta];
  return law;
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) and standard normal from a 64-bit generator, defined here so that results
// do not depend on the standard library's distributions.
double Uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
double Normal(std::mt19937_64& rng) {
  const double u1 = 1.0 - Uniform01(rng);  // (0, 1]
  const double u2 = Uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace loss_fit_internal

namespace {

// The index of the best (lowest-cost) result; ties go to the lower index.
int BestIndex(const std::vector<StartResult>& results) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(results.size()); ++i) {
    if (results[static_cast<std::size_t>(i)].status == StartStatus::kFailed) continue;
    if (best < 0 ||
        results[static_cast<std::size_t>(i)].cost < results[static_cast<std::size_t>(best)].cost) {
      best = i;
    }
  }
  return best;
}

void CheckRuns(const std::vector<LossRun>& runs, const LossFitOptions& options) {
  auto where = [](const LossRun& r, std::size_t i) {
    return r.line > 0 ? fmt::format("line {}", r.line) : fmt::format("run {}", i + 1);
  };
  // The minimum counts distinct (N, D) points: a run listed twice adds no information.
  std::set<std::pair<double, double>> points;
  for (const auto& r : runs) points.insert({r.params, r.tokens});
  if (static_cast<int>(points.size()) < options.min_runs) {
    throw InputError(fmt::format(
        "{} run{}{}: fitting the 5 parameters of E + A/N^alpha + B/D^beta needs at least {} "
        "distinct (N, D) points",
        runs.size(), runs.size() == 1 ? "" : "s",
        points.size() == runs.size() ? "" : fmt::format(" at {} distinct (N, D)", points.size()),
        options.min_runs));
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    for (auto [name, v] : {std::pair<const char*, double>{"params", r.params},
                           {"tokens", r.tokens},
                           {"loss", r.loss}}) {
      if (!(std::isfinite(v) && v > 0)) {
        throw InputError(
            fmt::format("{}: {} is {}; expected a finite positive number", where(r, i), name, v));
      }
    }
  }
  auto all_same = [&](auto get) {
    return std::all_of(runs.begin(), runs.end(),
                       [&](const LossRun& r) { return get(r) == get(runs.front()); });
  };
  if (all_same([](const LossRun& r) { return r.params; })) {
    throw InputError(
        fmt::format("every run has the same model size N = {:g}: alpha and A cannot "
                    "be fitted; add runs of other sizes",
                    runs.front().params));
  }
  if (all_same([](const LossRun& r) { return r.tokens; })) {
    throw InputError(
        fmt::format("every run has the same token count D = {:g}: beta and B cannot "
                    "be fitted; add runs of other lengths",
                    runs.front().tokens));
  }
}

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

}  // namespace

bool LossFitOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if (!(huber_delta > 0 && std::isfinite(huber_delta))) return fail("huber_delta must be > 0");
  for (const auto* grid : {&alpha_starts, &beta_starts, &e_starts, &a_starts, &b_starts}) {
    if (grid->empty()) return fail("every start grid needs at least one value");
    for (double v : *grid) {
      if (!std::isfinite(v)) return fail("start grid values must be finite");
    }
  }
  if (max_iterations_per_start < 1) return fail("max_iterations_per_start must be >= 1");
  if (early_exit_iterations < 0) return fail("early_exit_iterations must be >= 0");
  if (!(early_exit_cost_ratio >= 1)) return fail("early_exit_cost_ratio must be >= 1");
  if (!(screen_keep > 0 && screen_keep <= 1)) return fail("screen_keep must be in (0, 1]");
  if (num_threads < 0) return fail("num_threads must be >= 0");
  if (bootstrap_resamples < 0) return fail("bootstrap_resamples must be >= 0");
  if (bootstrap_perturbed_starts < 0) return fail("bootstrap_perturbed_starts must be >= 0");
  if (!(confidence > 0 && confidence < 1)) return fail("confidence must be in (0, 1)");
  if (!(budget_flops > 0 && std::isfinite(budget_flops))) return fail("budget_flops must be > 0");
  if (min_runs < 5) return fail("min_runs must be >= 5 (the law has 5 parameters)");
  return true;
}

namespace {

// The grid of starts, in a fixed order.
std::vector<Params> GridStarts(const LossFitOptions& options) {
  std::vector<Params> starts;
  for (double alpha : options.alpha_starts) {
    for (double beta : options.beta_starts) {
      for (double e : options.e_starts) {
        for (double a : options.a_starts) {
          for (double b : options.b_starts) starts.push_back({a, b, e, alpha, beta});
        }
      }
    }
  }
  return starts;
}

// Solves from every start (phase 1: a few iterations each; phase 2: on from the promising ones
// that have not converged) and counts the outcomes in the summary.
std::vector<StartResult> SolveStarts(std::vector<std::unique_ptr<Worker>>& workers,
                                     const std::vector<Params>& starts,
                                     const LossFitOptions& options,
                                     const ProgressCallback& progress, LossFitSummary* summary) {
  const int n_starts = static_cast<int>(starts.size());
  // Phase 1: a few iterations from every start (all of them when the early exit is off).
  const bool two_phase = options.early_exit_iterations > 0 &&
                         options.early_exit_iterations < options.max_iterations_per_start;
  const int phase1_iterations =
      two_phase ? options.early_exit_iterations : options.max_iterations_per_start;
  std::vector<StartResult> results(static_cast<std::size_t>(n_starts));
  {
    const auto solver_options = SolverOptions(options, phase1_iterations);
    const bool ok = ParallelFor(
        workers, n_starts,
        [&](Worker& w, int i) {
          results[static_cast<std::size_t>(i)] =
              w.Solve(starts[static_cast<std::size_t>(i)], solver_options);
        },
        progress, 0.0, two_phase ? 0.5 : 1.0, "grid of starts");
    if (!ok) throw Cancelled();
  }
  for (const auto& r : results) summary->iterations += r.iterations;

  // Phase 2: carry on with the promising starts that have not converged yet.
  if (two_phase) {
    const int best1 = BestIndex(results);
    std::vector<int> carry_on;
    if (best1 >= 0) {
      const double threshold =
          options.early_exit_cost_ratio * results[static_cast<std::size_t>(best1)].cost;
      for (int i = 0; i < n_starts; ++i) {
        const auto& r = results[static_cast<std::size_t>(i)];
        if (r.status != StartStatus::kNotConverged) continue;
        if (r.cost <= threshold) {
          carry_on.push_back(i);
        } else {
          ++summary->starts_abandoned;
        }
      }
    }
    const auto solver_options =
        SolverOptions(options, options.max_iterations_per_start - options.early_exit_iterations);
    std::atomic<int> phase2_iterations{0};
    const bool ok = ParallelFor(
        workers, static_cast<int>(carry_on.size()),
        [&](Worker& w, int k) {
          auto& r = results[static_cast<std::size_t>(carry_on[static_cast<std::size_t>(k)])];
          const int before = r.iterations;
          r = w.Solve(r.x, solver_options);
          phase2_iterations += r.iterations;
          r.iterations += before;
        },
        progress, 0.5, 1.0, "grid of starts");
    if (!ok) throw Cancelled();
    summary->iterations += phase2_iterations;
  }
  for (const auto& r : results) {
    if (r.status == StartStatus::kConverged) ++summary->starts_converged;
    if (r.status == StartStatus::kFailed) ++summary->starts_failed;
  }
  // Abandoned starts are counted as not converged, not failed.

  return results;
}

// The optimum as a law: the fitted ranges, the shape term when asked, and whether it converged.
void TakeOptimum(const std::vector<LossRun>& runs, const std::vector<StartResult>& results,
                 const StartResult& opt, const LossFitOptions& options, LossFitSummary* summary) {
  summary->objective = opt.cost;
  summary->best_iterations = opt.iterations;
  summary->law = LawFromParams(opt.x);
  for (const LossRun& r : runs) {
    LossLaw::Range& f = summary->law.fitted;
    f.params_min = f.params_min > 0 ? std::min(f.params_min, r.params) : r.params;
    f.params_max = std::max(f.params_max, r.params);
    f.tokens_min = f.tokens_min > 0 ? std::min(f.tokens_min, r.tokens) : r.tokens;
    f.tokens_max = std::max(f.tokens_max, r.tokens);
  }
  summary->law.fitted.source = fmt::format("the {} runs fit-loss was given", runs.size());
  if (options.shape_term) {
    const LossLaw::Range fitted = summary->law.fitted;
    summary->law = FitShapeTerm(runs, summary->law, options.huber_delta, &summary->objective);
    summary->law.fitted = fitted;
  }
  // Converged when the best start met a convergence test, or a converged start found the same
  // cost (the optimum is flat, and a start can stop at its iteration limit right on it).
  summary->converged = opt.status == StartStatus::kConverged;
  for (const auto& r : results) {
    if (r.status == StartStatus::kConverged && r.cost <= opt.cost * (1 + 1e-9)) {
      summary->converged = true;
    }
  }
  if (!summary->converged) {
    summary->warnings.push_back(fmt::format(
        "the best start stopped at the iteration limit ({}) before meeting a convergence test; "
        "the optimum may not be reached (raise max_iterations_per_start)",
        options.max_iterations_per_start));
  }
}

// Degenerate optima: an unconstrained fit can trade a term away. RuntimeError where the law
// cannot stand; warnings (and on_boundary) where it stands on a boundary.
void CheckOptimum(const std::vector<LossRun>& runs, LossFitSummary* summary) {
  const LossLaw& law = summary->law;
  const double min_loss =
      std::min_element(runs.begin(), runs.end(), [](const LossRun& x, const LossRun& y) {
        return x.loss < y.loss;
      })->loss;
  const std::string separability = SeparabilityWarning(runs);
  if (!separability.empty()) summary->warnings.push_back(separability);
  if (!(law.alpha > 0) || !(law.beta > 0)) {
    throw RuntimeError(fmt::format(
        "the loss fit landed on a boundary: alpha = {:.4g}, beta = {:.4g} (a loss that does not "
        "fall with size or data); the runs do not support the Chinchilla form{}",
        law.alpha, law.beta, separability.empty() ? "" : ". Likely cause: " + separability));
  }
  if (!(std::isfinite(law.A) && std::isfinite(law.B) && std::isfinite(law.E))) {
    throw RuntimeError(
        "the loss fit landed on a boundary: a scale overflowed (A, B or E is not finite)");
  }
  auto boundary = [&](const std::string& what) {
    summary->on_boundary = true;
    summary->warnings.push_back("the optimum lies on a boundary: " + what);
  };
  if (law.alpha < 1e-3)
    boundary(fmt::format("alpha = {:.3g}, the N term is a constant", law.alpha));
  if (law.beta < 1e-3) boundary(fmt::format("beta = {:.3g}, the D term is a constant", law.beta));
  if (law.alpha > 3) boundary(fmt::format("alpha = {:.3g} is implausibly steep", law.alpha));
  if (law.beta > 3) boundary(fmt::format("beta = {:.3g} is implausibly steep", law.beta));
  if (law.E < 1e-3 * min_loss) {
    boundary(fmt::format("E = {:.3g}, the irreducible loss vanished", law.E));
  }
}

// The residuals of log loss and their statistics.
void Residuals(const std::vector<LossRun>& runs, double huber_delta, LossFitSummary* summary) {
  {
    auto& s = summary->residual_stats;
    std::vector<double> abs_r;
    for (const auto& r : runs) {
      const double pred = summary->law.Loss(r.params, r.tokens, r.aspect);
      const double res = std::log(pred) - std::log(r.loss);
      summary->residuals.push_back(res);
      abs_r.push_back(std::fabs(res));
      s.mean += res;
      s.rms += res * res;
      s.max_abs = std::max(s.max_abs, std::fabs(res));
      const double rel = std::fabs(pred / r.loss - 1.0);
      s.mean_rel += rel;
      s.max_rel = std::max(s.max_rel, rel);
      if (std::fabs(res) > huber_delta) ++s.n_beyond_delta;
    }
    const double n = static_cast<double>(runs.size());
    s.mean /= n;
    s.rms = std::sqrt(s.rms / n);
    s.mean_rel /= n;
    s.median_abs = Percentile(abs_r, 0.5);
  }
}

}  // namespace

LossFitSummary FitLossLaw(const std::vector<LossRun>& runs, const LossFitOptions& options,
                          const ProgressCallback& progress) {
  std::string why;
  if (!options.IsValid(&why)) throw InputError("loss fit options: " + why);
  if (options.shape_term && options.bootstrap_resamples > 0) {
    throw InputError(
        "--bootstrap with --shape-term: bootstrap intervals of the shape-aware form are not "
        "available yet; fit one or the other");
  }
  CheckRuns(runs, options);

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Point> points;
  points.reserve(runs.size());
  for (const auto& r : runs) {
    points.push_back({std::log(r.params), std::log(r.tokens), std::log(r.loss)});
  }

  std::vector<Params> starts = GridStarts(options);
  const int grid_starts = static_cast<int>(starts.size());
  if (options.screen_keep < 1) {
    starts = ScreenStarts(points, starts, options.huber_delta, options.screen_keep);
  }
  const int n_starts = static_cast<int>(starts.size());

  LossFitSummary summary;
  summary.starts = grid_starts;
  summary.starts_screened_out = grid_starts - n_starts;
  summary.n_runs = static_cast<int>(runs.size());
  summary.num_threads = std::min(ResolveThreads(options.num_threads), n_starts);
  summary.confidence = options.confidence;
  summary.huber_delta = options.huber_delta;
  summary.budget_flops = options.budget_flops;

  std::vector<std::unique_ptr<Worker>> workers;
  for (int w = 0; w < summary.num_threads; ++w) {
    workers.push_back(std::make_unique<Worker>(points, options.huber_delta));
  }

  const std::vector<StartResult> results =
      SolveStarts(workers, starts, options, progress, &summary);
  const int best = BestIndex(results);
  if (best < 0) {
    throw RuntimeError(
        fmt::format("the loss fit failed: none of the {} starts reached a finite "
                    "optimum",
                    n_starts));
  }
  const StartResult& opt = results[static_cast<std::size_t>(best)];
  TakeOptimum(runs, results, opt, options, &summary);
  CheckOptimum(runs, &summary);
  Residuals(runs, options.huber_delta, &summary);
  summary.allocation = Allocate(summary.law, options.budget_flops);
  summary.time_s = Seconds(t0);

  if (options.bootstrap_resamples == 0) return summary;
  Bootstrap(workers, points, runs, opt.x, options, progress, &summary);
  return summary;
}

}  // namespace chronoscale
