// chronoscale fit-loss: fit L(N, D) = E + A / N^alpha + B / D^beta to measured runs by
// Approach 3 (SCIENCE.md section 2), with optional bootstrap intervals.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include <chronoscale/error.h>
#include <chronoscale/io.h>
#include <chronoscale/loss_law.h>

#include "cli_common.h"
#include "commands.h"
#include "plot_hooks.h"

namespace chronoscale::cli {
namespace {

struct FitLossArgs {
  std::string runs_path;
  LossRunsOptions runs;
  int bootstrap = 0;
  std::string param_count = "all";
  uint64_t seed = 0;
  double budget_flops = 5.76e23;
  int threads = 0;
  double screen = 1.0;
  std::string out_path;
  std::string plot_path;
  Format format = Format::kTable;
};

// A JSON number, or null where the value is not finite (the tool never prints NaN).
nlohmann::json Finite(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

std::string Num(double v, int digits = 5) {
  return std::isfinite(v) ? fmt::format("{:.{}g}", v, digits) : std::string("n/a");
}

nlohmann::json SummaryToJson(const FitLossArgs& args, const LossRunsTable& table,
                             const LossFitSummary& s) {
  nlohmann::json doc = Provenance({args.runs_path});
  // The law carries its bootstrap draws: plan --law propagates them into loss intervals.
  doc["law"] = LossLawToJson(LawWithDraws(s));

  nlohmann::json ci = nlohmann::json::object();
  for (const auto& [name, iv] : s.intervals) ci[name] = {Finite(iv.lo), Finite(iv.hi)};
  if (!s.intervals.empty()) {
    ci["confidence"] = s.confidence;
    ci["budget_flops"] = s.budget_flops;
    ci["resamples"] = s.bootstrap_resamples;
    ci["failed"] = s.bootstrap_failed;
    ci["time_s"] = s.bootstrap_time_s;
  }
  doc["ci"] = ci;

  const auto& a = s.allocation;
  doc["compute_optimal"] = {{"flops", a.flops},          {"G", Finite(a.G)},
                            {"a", Finite(a.a)},          {"b", Finite(a.b)},
                            {"N_opt", Finite(a.params)}, {"D_opt", Finite(a.tokens)},
                            {"loss", Finite(a.loss)}};

  const auto& r = s.residual_stats;
  nlohmann::json dropped = nlohmann::json::array();
  for (const auto& d : table.dropped) {
    dropped.push_back(
        {{"line", d.line}, {"params", d.params}, {"tokens", d.tokens}, {"loss", d.loss}});
  }
  nlohmann::json residuals = nlohmann::json::array();
  for (std::size_t i = 0; i < s.residuals.size(); ++i) {
    const auto& run = table.runs[i];
    residuals.push_back({{"line", run.line},
                         {"params", run.params},
                         {"tokens", run.tokens},
                         {"loss", run.loss},
                         {"pred", Finite(s.law.Loss(run.params, run.tokens, run.aspect))},
                         {"residual", Finite(s.residuals[i])}});
  }
  doc["fit"] = {{"method", "approach3_huber_lse_grid"},
                {"objective", Finite(s.objective)},
                {"huber_delta", s.huber_delta},
                {"converged", s.converged},
                {"on_boundary", s.on_boundary},
                {"starts", s.starts},
                {"starts_converged", s.starts_converged},
                {"starts_abandoned", s.starts_abandoned},
                {"starts_screened_out", s.starts_screened_out},
                {"starts_failed", s.starts_failed},
                {"iterations", s.iterations},
                {"best_iterations", s.best_iterations},
                {"time_s", s.time_s},
                {"threads", s.num_threads},
                {"n_runs", s.n_runs},
                {"dropped", static_cast<int>(table.dropped.size())},
                {"dropped_runs", dropped},
                {"tokens_from", args.runs.flops_column.empty()
                                    ? "column '" + args.runs.tokens_column + "'"
                                    : "C / (6 N), C from column '" + args.runs.flops_column + "'"},
                {"params_counted", ParamCountToString(s.law.params_counted)},
                {"warnings", s.warnings},
                {"residual_summary",
                 {{"rms", Finite(r.rms)},
                  {"mean", Finite(r.mean)},
                  {"median_abs", Finite(r.median_abs)},
                  {"max_abs", Finite(r.max_abs)},
                  {"mean_rel", Finite(r.mean_rel)},
                  {"max_rel", Finite(r.max_rel)},
                  {"beyond_delta", r.n_beyond_delta}}},
                {"residuals", residuals}};
  return doc;
}

std::string SummaryToTable(const FitLossArgs& args, const LossRunsTable& table,
                           const LossFitSummary& s) {
  std::string text = fmt::format("loss law fitted to {} runs from {}", s.n_runs, args.runs_path);
  if (!table.dropped.empty())
    text += fmt::format(" ({} highest-loss dropped)", table.dropped.size());
  text += fmt::format("\nL(N, D) = E + A / N^alpha + B / D^beta, N counts {} parameters, D {}\n\n",
                      ParamCountToString(s.law.params_counted),
                      args.runs.flops_column.empty()
                          ? "from column '" + args.runs.tokens_column + "'"
                          : "= C / (6 N), C from column '" + args.runs.flops_column + "'");
  std::map<std::string, Interval> ci(s.intervals.begin(), s.intervals.end());
  const bool have_ci = !ci.empty();
  text += fmt::format("{:<7} {:>12}", "param", "value");
  if (have_ci) text += fmt::format("  {:>25}", fmt::format("{:.0f}% interval", 100 * s.confidence));
  text += "\n";
  const auto& a = s.allocation;
  const std::pair<const char*, double> rows[] = {
      {"E", s.law.E}, {"A", s.law.A}, {"B", s.law.B}, {"alpha", s.law.alpha}, {"beta", s.law.beta},
      {"a", a.a},     {"b", a.b},     {"G", a.G},     {"N_opt", a.params},    {"D_opt", a.tokens}};
  for (const auto& [name, value] : rows) {
    text += fmt::format("{:<7} {:>12}", name, Num(value));
    if (auto it = ci.find(name); it != ci.end()) {
      text += fmt::format("  [{:>11}, {:>11}]", Num(it->second.lo), Num(it->second.hi));
    }
    text += "\n";
  }
  if (s.law.ShapeAware()) {
    text += fmt::format(
        "shape term + C (ln(r / r*))^2, r = d_model / n_layers: C = {}, r* = {} (loss {:+.4f} at "
        "r = r*/4 or 4 r*)\n",
        Num(s.law.shape_C), Num(s.law.shape_aspect), s.law.shape_C * std::log(4.0) * std::log(4.0));
  }
  text += fmt::format(
      "(a, b, G: N_opt = G (C/6)^a, D_opt = (C/6)^b / G; N_opt, D_opt at C = {:.3g} FLOPs, "
      "{:.1f} tokens per parameter, loss {})\n\n",
      a.flops, a.tokens / a.params, Num(a.loss));
  text += fmt::format(
      "objective {} (sum of Huber, delta {:g}); best of {} starts{}: {} converged, {} abandoned "
      "early, {} failed; {} iterations; {:.2f} s on {} thread{}; {}\n",
      Num(s.objective, 6), s.huber_delta, s.starts,
      s.starts_screened_out > 0
          ? fmt::format(" ({} optimised, the rest screened out by their objective)",
                        s.starts - s.starts_screened_out)
          : "",
      s.starts_converged, s.starts_abandoned, s.starts_failed, s.iterations, s.time_s,
      s.num_threads, s.num_threads == 1 ? "" : "s", s.converged ? "converged" : "NOT converged");
  const auto& r = s.residual_stats;
  text += fmt::format(
      "residuals log L_pred - log L_obs: rms {}, median |r| {}, max |r| {}; loss error mean "
      "{:.2f}%, max {:.2f}%\n",
      Num(r.rms, 3), Num(r.median_abs, 3), Num(r.max_abs, 3), 100 * r.mean_rel, 100 * r.max_rel);
  if (s.bootstrap_resamples > 0) {
    text += fmt::format("bootstrap: {} resamples ({} failed), seed {}, {:.2f} s\n",
                        s.bootstrap_resamples, s.bootstrap_failed, args.seed, s.bootstrap_time_s);
  }
  for (const auto& w : s.warnings) text += "warning: " + w + "\n";
  return text;
}

void RunFitLoss(const FitLossArgs& args) {
  if (!args.out_path.empty()) CheckNotInput(args.out_path, {args.runs_path}, "--out");
  if (!args.plot_path.empty()) {
    CheckPlotPath(args.plot_path);
    CheckNotInput(args.plot_path, {args.runs_path}, "--plot");
  }
  LossRunsOptions runs_options = args.runs;
  if (!StringToParamCount(args.param_count, &runs_options.params_counted)) {
    throw InputError(fmt::format("--param-count '{}': expected all or non-embedding",
                                 Printable(args.param_count)));
  }
  const LossRunsTable table = LoadLossRuns(args.runs_path, runs_options);
  LossFitOptions options;
  options.bootstrap_resamples = args.bootstrap;
  options.seed = args.seed;
  options.budget_flops = args.budget_flops;
  options.num_threads = args.threads;
  options.screen_keep = args.screen;
  options.shape_term = args.runs.shape;
  LossFitSummary summary = FitLossLaw(table.runs, options, TerminalProgress("fit-loss"));
  summary.law.params_counted = runs_options.params_counted;
  const std::string text = args.format == Format::kJson
                               ? SummaryToJson(args, table, summary).dump(2)
                               : SummaryToTable(args, table, summary);
  Emit(text, args.out_path, {args.runs_path});
  if (!args.plot_path.empty()) RenderLossFitPlot(summary, table.runs, args.plot_path);
  for (const auto& w : summary.warnings) Diag("warning: " + w);
  if (!summary.converged) {
    throw RuntimeError(
        "the loss fit did not converge (the result above is the best start's "
        "last iterate)");
  }
}

}  // namespace

void SetupFitLoss(CLI::App& app) {
  auto args = std::make_shared<FitLossArgs>();
  auto* sub = app.add_subcommand(
      "fit-loss", "fit L(N, D) = E + A/N^alpha + B/D^beta to measured runs (Approach 3)");
  sub->add_option("--runs", args->runs_path, "runs CSV: model size, tokens (or FLOPs), loss")
      ->required();
  sub->add_option("--params-col", args->runs.params_column, "column of the parameter count N")
      ->capture_default_str();
  auto* tokens =
      sub->add_option("--tokens-col", args->runs.tokens_column, "column of the token count D")
          ->capture_default_str();
  auto* flops = sub->add_option("--flops-col", args->runs.flops_column,
                                "column of the training FLOPs C; D = C / (6 N)");
  tokens->excludes(flops);
  sub->add_option("--loss-col", args->runs.loss_column, "column of the final loss")
      ->capture_default_str();
  sub->add_option("--drop-highest", args->runs.drop_highest,
                  "drop the K runs with the highest loss (Epoch drops 5)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--shape-term", args->runs.shape,
                "fit a shape term C (ln(r / r*))^2 too, r = d_model / n_layers (columns "
                "--width-col and --depth-col)");
  sub->add_option("--width-col", args->runs.width_column, "column of d_model (--shape-term)")
      ->capture_default_str();
  sub->add_option("--depth-col", args->runs.depth_column, "column of n_layers (--shape-term)")
      ->capture_default_str();
  sub->add_option("--param-count", args->param_count,
                  "what the params column counts: all (Hoffmann) or non-embedding (Kaplan); the "
                  "law records it and plan feeds it the same count")
      ->capture_default_str();
  sub->add_option("--bootstrap", args->bootstrap, "bootstrap resamples for intervals (0: none)")
      ->check(CLI::Range(0, 1000000));
  sub->add_option("--seed", args->seed, "random seed of the bootstrap")->capture_default_str();
  sub->add_option("--budget", args->budget_flops,
                  "compute budget in FLOPs for N_opt, D_opt and their intervals")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--threads", args->threads, "worker threads (0: one per core)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--screen-starts", args->screen,
                  "coarse, then refine: optimise only from this share of the 4,500-start grid, "
                  "the starts with the lowest objective (1: every start, the published protocol)")
      ->check(CLI::Range(1e-6, 1.0))
      ->capture_default_str();
  sub->add_option("--out", args->out_path, "write the result here (atomically) instead of stdout");
  sub->add_option("--plot", args->plot_path, "runs and fitted curves, log-log (PNG or SVG)");
  auto* format = AddFormatOption(sub, &args->format, false);
  sub->callback([args, format] {
    // --out law.json without --format writes the JSON document a law file is.
    if (format->count() == 0 && args->out_path.ends_with(".json")) args->format = Format::kJson;
    RunFitLoss(*args);
  });
}

}  // namespace chronoscale::cli
