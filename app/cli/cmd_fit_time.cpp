// chronoscale fit-time: fit every step-time estimator to measured runs, report in-sample and
// cross-validated errors side by side, write the time model.
#include <fmt/format.h>

#include <chronoscale/error.h>
#include <chronoscale/io.h>
#include <chronoscale/time_fit.h>

#include "cli_common.h"
#include "commands.h"
#include "plot_hooks.h"

namespace chronoscale::cli {
namespace {

struct FitTimeOptions {
  std::string runs, hardware = "h100-sxm", out, plot, holdout, form = "segments";
  std::string runs_hardware;
  bool no_phases = false, force = false;
  int folds = 5;
  unsigned seed = 1;
  Format format = Format::kTable;
};

void PrintRegimes(const std::vector<RegimeResult>& regimes, std::size_t runs,
                  const FitTimeOptions& o) {
  if (o.format == Format::kJson) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : regimes) {
      list.push_back({{"dimension", r.dimension},
                      {"values", r.values},
                      {"skipped_values", r.skipped_values},
                      {"predicted_runs", r.predicted_runs},
                      {"median", r.error.median},
                      {"p90", r.error.p90},
                      {"worst", r.error.worst},
                      {"signed_median", r.signed_median},
                      {"worst_run", r.worst_run}});
    }
    nlohmann::json doc = Provenance({o.runs});
    doc["form"] = o.form;
    doc["phases"] = !o.no_phases;
    doc["regimes"] = list;
    Emit(doc.dump(2), "");
    return;
  }
  std::string text = fmt::format(
      "leave-one-regime-out, calibrated ({} form{}), {} runs: fit without one value of a "
      "dimension, predict the runs with it (|relative error|; bias: median signed error)\n",
      o.form, o.no_phases ? ", phases not fitted" : "", runs);
  text += fmt::format("{:<22} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8}  {}\n", "held out", "values",
                      "predicted", "median", "p90", "worst", "bias", "worst run");
  for (const auto& r : regimes) {
    text += fmt::format("{:<22} {:>6} {:>9} {:>7.1f}% {:>7.1f}% {:>7.1f}% {:>+7.1f}%  {}\n",
                        r.dimension, r.values - r.skipped_values, r.predicted_runs,
                        100 * r.error.median, 100 * r.error.p90, 100 * r.error.worst,
                        100 * r.signed_median, r.worst_run);
  }
  Emit(text, "");
}

// Every flag checked before the runs are read: the output paths, --holdout and --form.
CalibratedForm CheckFlags(const FitTimeOptions& o) {
  if (!o.plot.empty()) CheckPlotPath(o.plot);
  if (!o.out.empty()) CheckNotInput(o.out, {o.runs, o.hardware}, "--out");
  if (!o.holdout.empty() && o.holdout != "multi-node" && o.holdout != "regimes") {
    throw InputError(fmt::format("--holdout '{}': expected multi-node or regimes", o.holdout));
  }
  CalibratedForm form = CalibratedForm::kSegments;
  if (!Parse(o.form, &form)) {
    throw InputError(fmt::format("--form '{}': expected segments or whole-step", o.form));
  }
  return form;
}

// --holdout multi-node: fit on the single-node runs, test on the rest (both must exist).
void SplitHoldout(const FitTimeOptions& o, const std::vector<StepRun>& runs,
                  std::vector<StepRun>* train, std::vector<StepRun>* test) {
  train->clear();
  SplitByNodes(runs, train, test);
  if (test->empty()) {
    throw InputError(
        fmt::format("--holdout multi-node: {} has no run on more than one node", o.runs));
  }
  if (train->empty()) {
    throw InputError(
        fmt::format("--holdout multi-node: {} has no single-node run to fit on", o.runs));
  }
}

// What the fit measured, for the report.
struct FitTimeResult {
  TimeFitSummary summary;
  RunsFile file;
  RunsHardware tie;
  std::vector<StepRun> train, test;
  std::vector<HoldoutLine> holdout;
  nlohmann::json model, provenance;
};

nlohmann::json FitTimeJson(const FitTimeOptions& o, const FitTimeResult& f,
                           const HardwareProfile& hw) {
  nlohmann::json doc = f.provenance;
  doc["hardware"] = hw.name;
  doc["skipped_rows"] = f.file.skipped;
  doc["report"] = f.summary.ToJson();
  doc["model"] = f.model;
  if (!f.holdout.empty()) {
    nlohmann::json h = nlohmann::json::array();
    auto stats = [](const ErrorStats& s) {
      return nlohmann::json{{"median", s.median}, {"p90", s.p90}, {"worst", s.worst}};
    };
    for (const auto& l : f.holdout) {
      h.push_back({{"estimator", l.name},
                   {"train", stats(l.train)},
                   {"test", stats(l.test)},
                   {"test_signed_median", l.signed_median_test},
                   {"note", l.note}});
    }
    doc["holdout"] = {{"split", o.holdout},
                      {"train_runs", f.train.size()},
                      {"test_runs", f.test.size()},
                      {"estimators", h}};
  }
  return doc;
}

std::string FitTimeText(const FitTimeResult& f, const HardwareProfile& hw) {
  const TimeFitSummary& summary = f.summary;
  std::string text = summary.BriefReport();
  if (f.file.skipped) text += fmt::format("({} rows skipped: status not ok)\n", f.file.skipped);
  if (summary.model.fitted[3]) text += DescribeCalibrated(summary.model.calibrated);
  if (f.tie.forced) {
    text += fmt::format(
        "forced: runs measured on other hardware are fitted for {} (--force); the model "
        "records it (fitted_on.forced)\n",
        hw.name);
  }
  bool comm = false;
  for (const auto& r : f.train) comm = comm || r.layout.devices > 1;
  if (comm) {
    text += fmt::format("communication: link time x {:.2f}, overlap {:.2f}\n",
                        summary.model.comm_multiplier, summary.model.comm_overlap);
  }
  if (!f.holdout.empty()) {
    text += fmt::format(
        "\nheld out: fitted on the {} single-node runs, predicting the {} multi-node runs "
        "(|relative error|; bias: median signed error)\n",
        f.train.size(), f.test.size());
    text += fmt::format("{:<24} {:>9} {:>9} {:>9} {:>9} {:>8}  {}\n", "estimator", "train-med",
                        "test-med", "test-p90", "test-max", "bias", "note");
    for (const auto& l : f.holdout) {
      text += fmt::format("{:<24} {:>8.1f}% {:>8.1f}% {:>8.1f}% {:>8.1f}% {:>+7.1f}%  {}\n", l.name,
                          100 * l.train.median, 100 * l.test.median, 100 * l.test.p90,
                          100 * l.test.worst, 100 * l.signed_median_test, l.note);
    }
  }
  return text;
}

void Run(const FitTimeOptions& o) {
  TimeFitOptions opt;
  opt.form = CheckFlags(o);
  opt.folds = o.folds;
  opt.seed = o.seed;
  opt.use_phases = !o.no_phases;
  const HardwareProfile hw = ResolveHardware(o.hardware);
  FitTimeResult f;
  f.file = ReadStepRuns(o.runs, hw.gpus_per_node);
  for (const auto& note : f.file.notes) Diag(fmt::format("note: {}", note));
  f.tie = AssignRunsHardware(&f.file.runs, o.runs, hw, o.runs_hardware, o.force);
  for (const auto& note : f.tie.notes) Diag(fmt::format("note: {}", note));
  if (o.holdout == "regimes") {
    PrintRegimes(LeaveOneRegimeOut(f.file.runs, hw, opt), f.file.runs.size(), o);
    return;
  }
  f.train = f.file.runs;
  if (!o.holdout.empty()) SplitHoldout(o, f.file.runs, &f.train, &f.test);
  f.summary = FitTimeModel(f.train, hw, opt, TerminalProgress("fit-time"));
  f.summary.model.fitted_on.forced = f.tie.forced;
  if (!f.test.empty()) f.holdout = EvaluateHoldout(f.summary, f.train, f.test);
  for (const auto& r : f.summary.reports) {
    if (!r.available) Diag(fmt::format("note: {} {}", ToString(r.kind), r.note));
  }
  f.model = TimeModelToJson(f.summary.model);
  f.provenance = Provenance({o.runs});
  f.model["inputs"] = f.provenance["inputs"];
  if (!o.out.empty()) {
    WriteFileAtomic(o.out, f.model.dump(2) + "\n");
    Diag(fmt::format("wrote {}", o.out));
  }
  if (!o.plot.empty()) {
    RenderTimeFitPlot(f.summary, f.train, o.plot);
    Diag(fmt::format("wrote {}", o.plot));
  }
  Emit(o.format == Format::kJson ? FitTimeJson(o, f, hw).dump(2) : FitTimeText(f, hw), "");
}

}  // namespace

void SetupFitTime(CLI::App& app) {
  auto* sub = app.add_subcommand("fit-time", "fit the step-time estimators to measured runs");
  auto o = std::make_shared<FitTimeOptions>();
  sub->add_option("--runs", o->runs,
                  "runs CSV (d_model, n_layers, n_heads, d_ff, seq_len, batch, vocab, step_ms; "
                  "optional layout columns devices, gpus_per_node, tp, pp, sharding, micro_batch, "
                  "grad_accum, checkpointing, and hardware per row)")
      ->required();
  sub->add_option(
      "--hardware", o->hardware,
      "preset name, profile JSON or local: the device the model is for and the runs were "
      "measured on (default h100-sxm)");
  sub->add_option("--out", o->out, "write the time model JSON here");
  sub->add_option("--folds", o->folds, "k of the k-fold cross-validation (default 5)")
      ->check(CLI::Range(2, 1000));
  sub->add_option("--seed", o->seed, "seed of the fold assignment");
  sub->add_option("--plot", o->plot, "predicted vs measured plot (PNG or SVG)");
  sub->add_option("--holdout", o->holdout,
                  "multi-node: fit on the runs of one node (devices <= gpus_per_node) and report "
                  "how the model predicts the others, beside a constant-MFU rule; regimes: "
                  "leave-one-regime-out errors of the calibrated estimator (each width, depth, "
                  "batch and sequence length held out in turn, and every tokens-per-step but the "
                  "most common)");
  sub->add_option("--form", o->form,
                  "the calibrated estimator's form: segments (the layer stack and the head priced "
                  "apart; default) or whole-step (one smooth max over the step, the first form)");
  sub->add_option("--runs-hardware", o->runs_hardware,
                  "what the runs were measured on, for a runs file with no hardware column (a "
                  "preset, a profile JSON or local)");
  sub->add_flag("--force", o->force,
                "fit runs measured on another device under --hardware's name (the report and the "
                "model say so)");
  sub->add_flag("--no-phases", o->no_phases,
                "do not fit the runs' fwd_ms, bwd_ms and opt_ms columns (only step_ms)");
  AddFormatOption(sub, &o->format, false);
  sub->callback([o] { Run(*o); });
}

}  // namespace chronoscale::cli
