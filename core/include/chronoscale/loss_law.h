// Scaling laws L(N, D): the loss a model of N parameters reaches after D training tokens.
//
// Two forms (SCIENCE.md section 2):
//   Chinchilla (Hoffmann et al. 2022):  L = E + A / N^alpha + B / D^beta
//   Kaplan (Kaplan et al. 2020):        L = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D
// Presets, the compute-optimal allocation for a FLOP budget C = 6 N D, JSON read/write, and the
// "Approach 3" fit (log-space LSE residuals, Huber delta 1e-3 summed, a 4,500-start grid, Ceres)
// with bootstrap confidence intervals.
//
// Which N: a law is only meaningful with the parameter count it was fitted on. Hoffmann (and the
// "chinchilla" and "epoch" presets) count all parameters, embeddings included; Kaplan counts
// non-embedding parameters. LossLaw::params_counted says which, and the planner feeds N to match.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include <chronoscale/progress.h>

namespace chronoscale {

// Which parameters N counts.
enum class ParamCount { kAll, kNonEmbedding };
const char* ParamCountToString(ParamCount count);
// "all" or "non_embedding" (also spelled "non-embedding", as the flag takes it); false when
// `text` is neither.
bool StringToParamCount(std::string_view text, ParamCount* count);

struct LossLaw {
  enum class Form { kChinchilla, kKaplan };

  Form form = Form::kChinchilla;
  ParamCount params_counted = ParamCount::kAll;

  // Chinchilla form: L = E + A / N^alpha + B / D^beta (loss in nats per token).
  double E = 0.0;
  double A = 0.0;
  double B = 0.0;
  double alpha = 0.0;
  double beta = 0.0;

  // Kaplan form: L = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D (no irreducible term).
  double N_c = 0.0;
  double D_c = 0.0;
  double alpha_N = 0.0;
  double alpha_D = 0.0;

  // Shape term (fit-loss --shape-term; 0 when shape-blind): C (ln(r / r*))^2 added to the
  // Chinchilla form, r = d_model / n_layers and r* = shape_aspect the aspect ratio of lowest loss
  // (a penalty in log aspect ratio, as Kaplan et al. 2020, figure 5, see it). JSON:
  // "shape_term": {"C": C, "aspect": r*}.
  double shape_C = 0;
  double shape_aspect = 0;
  bool ShapeAware() const { return shape_C > 0 && shape_aspect > 0; }
  // The loss of a shape of aspect ratio `aspect` (the shape term is 0 for a shape-blind law).
  double Loss(double params, double tokens, double aspect) const {
    const double base = Loss(params, tokens);
    if (!ShapeAware()) return base;
    const double dev = std::log(aspect / shape_aspect);
    return base + shape_C * dev * dev;
  }

  // Predicted loss for `params` parameters trained on `tokens` tokens (both > 0). Cheap: the
  // planner calls it millions of times.
  double Loss(double params, double tokens) const {
    if (form == Form::kChinchilla) {
      return E + A * std::exp(-alpha * std::log(params)) + B * std::exp(-beta * std::log(tokens));
    }
    return std::pow(std::pow(N_c / params, alpha_N / alpha_D) + D_c / tokens, alpha_D);
  }

  // Every field finite and in range for the form (positive scales and exponents, E >= 0).
  bool IsValid(std::string* error) const;

  // The range of the runs the law was fitted on (N as the law counts it, D in tokens); all 0
  // when unknown. JSON: "fitted_range": {"params": [min, max], "tokens": [min, max], "source"}.
  struct Range {
    double params_min = 0, params_max = 0, tokens_min = 0, tokens_max = 0;
    std::string source;
    bool Known() const { return params_max > 0 && tokens_max > 0; }
  } fitted;

  // Bootstrap draws of the Chinchilla form's (E, A, B, alpha, beta) (fit-loss --bootstrap stores
  // them with the law); the planner propagates them into loss intervals. JSON:
  // "bootstrap_draws": [[E, A, B, alpha, beta], ...].
  std::vector<std::array<double, 5>> draws;
  // The law of draw i (same form and N count).
  LossLaw Draw(std::size_t i) const;
};
// One phrase per axis on which (params, tokens) lies outside the law's fitted range by more
// than a factor 1.5, e.g. "D = 24.9T tokens is 78x the largest fitted (318B)"; empty when inside
// or unknown.
std::vector<std::string> OutsideLawRange(const LossLaw& law, double params, double tokens);

const char* LossLawFormToString(LossLaw::Form form);
// "chinchilla" or "kaplan"; false when `text` is neither.
bool StringToLossLawForm(std::string_view text, LossLaw::Form* form);

// The compute-optimal split of a budget C = 6 N D (SCIENCE.md section 2):
//   N_opt = G (C/6)^a,  D_opt = G^-1 (C/6)^b.
// Chinchilla form: G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta),
// b = alpha/(alpha+beta). Kaplan form (minimising its L(N, D) along C = 6 N D, with
// p = alpha_N/alpha_D): a = 1/(1+p), b = p/(1+p), G = (p N_c^p / D_c)^(1/(1+p)). This is the
// optimum of the data-limited law; Kaplan's own compute-efficient frontier (N ~ C^0.73) came from
// a different, step-limited fit, and is not what this returns.
struct ComputeOptimal {
  double G = 0.0;
  double a = 0.0;
  double b = 0.0;
  double flops = 0.0;   // the budget C
  double params = 0.0;  // N_opt
  double tokens = 0.0;  // D_opt
  double loss = 0.0;    // L(N_opt, D_opt)
};
ComputeOptimal Allocate(const LossLaw& law, double flops);

// Compiled-in laws: "chinchilla" (Hoffmann 2022, unrounded), "epoch" (Besiroglu et al. 2024
// maximum-likelihood headline fit), "kaplan" (Kaplan et al. 2020, non-embedding N).
std::vector<std::string> LossLawPresetNames();
// Throws InputError naming the presets when `name` is not one.
LossLaw LossLawPreset(const std::string& name);

// {"form": "chinchilla", "params": "all", "E", "A", "B", "alpha", "beta"} or
// {"form": "kaplan", "params": "non_embedding", "N_c", "D_c", "alpha_N", "alpha_D"}.
nlohmann::json LossLawToJson(const LossLaw& law);
// Reads that object, or a whole fit-loss document (it takes its "law" object). "form" defaults
// to chinchilla and "params" to all. `where` names the file in messages; a missing key or a
// value out of range is an InputError.
LossLaw LossLawFromJson(const nlohmann::json& json, const std::string& where);
// A preset name, or a path to a law JSON file (a fit-loss document or its "law" object).
LossLaw LoadLaw(const std::string& name_or_path);

// ---------------------------------------------------------------------------------------------
// Measured runs and the fit.

struct LossRun {
  double params = 0.0;  // N
  double tokens = 0.0;  // D
  double loss = 0.0;    // final loss, nats per token
  double aspect = 0.0;  // d_model / n_layers, for the shape term (0: not read)
  int line = 0;         // line in the source file (0 when not from a file), for messages
};

struct LossRunsOptions {
  std::string params_column = "params";
  // Exactly one of tokens_column and flops_column is used: when flops_column is set, the token
  // count is derived as D = C / (6 N) and tokens_column is ignored.
  std::string tokens_column = "tokens";
  std::string flops_column;
  std::string loss_column = "loss";
  // Read d_model / n_layers from these columns (for LossFitOptions::shape_term).
  bool shape = false;
  std::string width_column = "d_model";
  std::string depth_column = "n_layers";
  // What the params column counts; the fitted law records it and the planner feeds it the same.
  ParamCount params_counted = ParamCount::kAll;
  // Drop this many runs with the highest loss (Epoch drops the 5 highest of Hoffmann's 245, the
  // tiny models whose loss the law does not describe). Ties keep file order.
  int drop_highest = 0;
};

struct LossRunsTable {
  std::string path;
  std::vector<LossRun> runs;     // in file order, dropped rows removed
  std::vector<LossRun> dropped;  // the rows dropped by drop_highest
};

// Reads a runs CSV. Every cell must be a finite positive number; an error names file:line:col
// and the column. A missing column lists the columns the file has.
LossRunsTable LoadLossRuns(const std::string& path, const LossRunsOptions& options);

struct LossFitOptions {
  // Huber threshold on the log-space residual. Epoch and Hoffmann use 1e-3.
  double huber_delta = 1e-3;

  // Starting grid (SCIENCE.md section 2): every combination is one start, 4,500 in all. a, b and
  // e are log A, log B and log E.
  std::vector<double> alpha_starts = {0.0, 0.5, 1.0, 1.5, 2.0};
  std::vector<double> beta_starts = {0.0, 0.5, 1.0, 1.5, 2.0};
  std::vector<double> e_starts = {-1.0, -0.5, 0.0, 0.5, 1.0};
  std::vector<double> a_starts = {0.0, 5.0, 10.0, 15.0, 20.0, 25.0};
  std::vector<double> b_starts = {0.0, 5.0, 10.0, 15.0, 20.0, 25.0};

  // Levenberg-Marquardt iterations per start. The optimum is flat: too few leave starts short
  // of it.
  int max_iterations_per_start = 500;
  // Ceres tolerances (relative change of the cost, max-norm of the gradient, relative step).
  double function_tolerance = 1e-12;
  double gradient_tolerance = 1e-14;
  double parameter_tolerance = 1e-12;

  // Early exit for a start: after `early_exit_iterations` iterations, a start whose cost is more
  // than `early_exit_cost_ratio` times the best cost found so far is abandoned (it is heading for
  // a worse basin; the grid has plenty of starts near the best one). 0 disables.
  int early_exit_iterations = 10;
  double early_exit_cost_ratio = 2.0;

  // Coarse, then refine: the objective is evaluated at every start of the grid (no iterations),
  // and the optimizer runs only from the best `screen_keep` share of them (at least one). 1 runs
  // every start (the published protocol).
  double screen_keep = 1.0;

  // Worker threads, each with its own Ceres Problem reused across its starts. 0: one per core.
  int num_threads = 0;

  // Bootstrap: resample the runs with replacement this many times and refit each from the
  // full-data optimum plus `bootstrap_perturbed_starts` perturbed copies of it (Epoch's
  // bootstrap), not from the whole grid. 0 disables.
  int bootstrap_resamples = 0;
  int bootstrap_perturbed_starts = 3;
  uint64_t seed = 0;
  // Two-sided coverage of the percentile intervals.
  double confidence = 0.95;
  // The compute budget at which intervals for N_opt and D_opt are given (Chinchilla's 5.76e23).
  double budget_flops = 5.76e23;

  // Minimum number of runs (5 parameters need at least 5; a meaningful fit needs more).
  int min_runs = 5;

  // Fit the shape term too (runs need aspect > 0, at 3 or more distinct aspect ratios): all 7
  // parameters from the shape-blind optimum, over a grid of 16 (C, r*) starts. Not with the
  // bootstrap.
  bool shape_term = false;

  bool IsValid(std::string* error) const;
};

struct Interval {
  double lo = 0.0;
  double hi = 0.0;
};

struct ResidualStats {
  // Log-space residuals r_i = log L_pred - log L_obs.
  double rms = 0.0;
  double mean = 0.0;
  double max_abs = 0.0;
  double median_abs = 0.0;
  // Relative error of the predicted loss |L_pred / L_obs - 1|.
  double mean_rel = 0.0;
  double max_rel = 0.0;
  int n_beyond_delta = 0;  // residuals in the Huber tails
};

struct LossFitSummary {
  LossLaw law;
  bool converged = false;    // the best start met a Ceres convergence test
  bool on_boundary = false;  // the optimum is degenerate (an exponent or scale at a limit)
  double objective = 0.0;    // sum of Huber(r_i) at the optimum
  double huber_delta = 0.0;  // the delta it used
  int starts = 0;
  int starts_converged = 0;     // starts that met a convergence test
  int starts_abandoned = 0;     // starts left early by the early exit
  int starts_screened_out = 0;  // starts the coarse screen kept from the optimizer
  int starts_failed = 0;        // starts whose solve failed or left the finite range
  int iterations = 0;           // iterations of all starts
  int best_iterations = 0;      // iterations of the start that found the optimum
  double time_s = 0.0;          // wall time of the grid fit
  int num_threads = 1;
  int n_runs = 0;

  std::vector<double> residuals;  // per run, in input order
  ResidualStats residual_stats;
  ComputeOptimal allocation;  // at options.budget_flops, from the fitted law

  std::vector<std::string> warnings;

  // Bootstrap (when resamples > 0).
  int bootstrap_resamples = 0;
  int bootstrap_failed = 0;  // resamples that could not be fitted (left out of the intervals)
  double bootstrap_time_s = 0.0;
  double confidence = 0.95;
  double budget_flops = 0.0;
  // Percentile intervals, in this order: A, B, E, alpha, beta, a, b, G, N_opt, D_opt.
  std::vector<std::pair<std::string, Interval>> intervals;
  std::vector<LossLaw> bootstrap_laws;  // one per successful resample, for plots

  // One paragraph; FullReport adds residuals, intervals and warnings.
  std::string BriefReport() const;
  std::string FullReport() const;
};

// The fitted law carrying its bootstrap draws (for plan's intervals and the plot's bands).
inline LossLaw LawWithDraws(const LossFitSummary& fit) {
  LossLaw law = fit.law;
  for (const LossLaw& d : fit.bootstrap_laws) law.draws.push_back({d.E, d.A, d.B, d.alpha, d.beta});
  return law;
}

// Fits the Chinchilla form by Approach 3. Throws InputError for unusable runs (too few, a
// non-finite or non-positive value, all one size or all one token count), RuntimeError when no
// start converges to a finite optimum, Cancelled when `progress` says stop.
LossFitSummary FitLossLaw(const std::vector<LossRun>& runs, const LossFitOptions& options,
                          const ProgressCallback& progress = nullptr);

// The shape term's fit (LossFitOptions::shape_term) from a shape-blind `base`: the law with all
// seven parameters refitted, and the objective at its optimum. InputError when the runs do not
// carry enough aspect ratios.
LossLaw FitShapeTerm(const std::vector<LossRun>& runs, const LossLaw& base, double huber_delta,
                     double* objective);

// Huber's loss of one residual: r^2 / 2 within delta, delta (|r| - delta / 2) beyond.
inline double Huber(double r, double delta) {
  const double a = r < 0 ? -r : r;
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

// The Approach 3 objective (sum of Huber(r_i)) of `law` on `runs`; for tests and reports.
double LossObjective(const LossLaw& law, const std::vector<LossRun>& runs, double huber_delta);

// A warning (empty when none) when the runs cannot separate alpha from beta: log D is (nearly)
// an affine function of log N, e.g. every run at one tokens-per-parameter ratio.
std::string SeparabilityWarning(const std::vector<LossRun>& runs);

}  // namespace chronoscale
