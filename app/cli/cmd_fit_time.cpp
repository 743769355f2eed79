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
  std::string runs, hardware = "h100-sxm", out, plot, holdout;
  int folds = 5;
  unsigned seed = 1;
  Format format = Format::kTable;
};

void Run(const FitTimeOptions& o) {
  if (!o.plot.empty()) CheckPlotPath(o.plot);
  if (!o.out.empty()) CheckNotInput(o.out, {o.runs, o.hardware}, "--out");
  if (!o.holdout.empty() && o.holdout != "multi-node") {
    throw InputError(fmt::format("--holdout '{}': expected multi-node", o.holdout));
  }
  const HardwareProfile hw = LoadHardware(o.hardware);
  const RunsFile file = ReadStepRuns(o.runs, hw.gpus_per_node);
  for (const auto& note : file.notes) fmt::print(stderr, "note: {}\n", note);
  TimeFitOptions opt;
  opt.folds = o.folds;
  opt.seed = o.seed;
  std::vector<StepRun> train = file.runs, test;
  if (!o.holdout.empty()) {
    train.clear();
    SplitByNodes(file.runs, &train, &test);
    if (test.empty()) {
      throw InputError(
          fmt::format("--holdout multi-node: {} has no run on more than one node", o.runs));
    }
    if (train.empty()) {
      throw InputError(
          fmt::format("--holdout multi-node: {} has no single-node run to fit on", o.runs));
    }
  }
  const TimeFitSummary summary = FitTimeModel(train, hw, opt, TerminalProgress("fit-time"));
  std::vector<HoldoutLine> holdout;
  if (!test.empty()) holdout = EvaluateHoldout(summary, train, test);
  for (const auto& r : summary.reports) {
    if (!r.available) fmt::print(stderr, "note: {} {}\n", ToString(r.kind), r.note);
  }
  nlohmann::json model = TimeModelToJson(summary.model);
  const nlohmann::json prov = Provenance({o.runs});
  model["inputs"] = prov["inputs"];
  if (!o.out.empty()) {
    WriteFileAtomic(o.out, model.dump(2) + "\n");
    fmt::print(stderr, "wrote {}\n", o.out);
  }
  if (!o.plot.empty()) {
    RenderTimeFitPlot(summary, train, o.plot);
    fmt::print(stderr, "wrote {}\n", o.plot);
  }
  if (o.format == Format::kJson) {
    nlohmann::json doc = prov;
    doc["hardware"] = hw.name;
    doc["skipped_rows"] = file.skipped;
    doc["report"] = summary.ToJson();
    doc["model"] = model;
    if (!holdout.empty()) {
      nlohmann::json h = nlohmann::json::array();
      auto stats = [](const ErrorStats& s) {
        return nlohmann::json{{"median", s.median}, {"p90", s.p90}, {"worst", s.worst}};
      };
      for (const auto& l : holdout) {
        h.push_back({{"estimator", l.name},
                     {"train", stats(l.train)},
                     {"test", stats(l.test)},
                     {"test_signed_median", l.signed_median_test},
                     {"note", l.note}});
      }
      doc["holdout"] = {{"split", o.holdout},
                        {"train_runs", train.size()},
                        {"test_runs", test.size()},
                        {"estimators", h}};
    }
    Emit(doc.dump(2), "");
  } else {
    std::string text = summary.BriefReport();
    if (file.skipped) text += fmt::format("({} rows skipped: status not ok)\n", file.skipped);
    const auto& k = summary.model.calibrated;
    if (summary.model.fitted[3]) {
      text += fmt::format(
          "calibrated: t = {:.3f} ms + smoothmax_p(matmul FLOPs / {:.0f} TFLOP/s + attention FLOPs "
          "/ {:.0f} TFLOP/s "
          "+ bytes / {:.0f} GB/s, launches x {:.1f} us) + optimizer (bytes, {:.1f} us per tensor), "
          "p = {:.1f}\n",
          k.c0_s * 1e3, k.matmul_s_per_flop > 0 ? 1e-12 / k.matmul_s_per_flop : 0,
          k.attention_s_per_flop > 0 ? 1e-12 / k.attention_s_per_flop : 0,
          k.s_per_byte > 0 ? 1e-9 / k.s_per_byte : 0, k.s_per_launch * 1e6,
          k.s_per_tensor_update * 1e6, k.sharpness);
    }
    bool comm = false;
    for (const auto& r : train) comm = comm || r.layout.devices > 1;
    if (comm) {
      text += fmt::format("communication: link time x {:.2f}, overlap {:.2f}\n",
                          summary.model.comm_multiplier, summary.model.comm_overlap);
    }
    if (!holdout.empty()) {
      text += fmt::format(
          "\nheld out: fitted on the {} single-node runs, predicting the {} multi-node runs "
          "(|relative error|; bias: median signed error)\n",
          train.size(), test.size());
      text += fmt::format("{:<24} {:>9} {:>9} {:>9} {:>9} {:>8}  {}\n", "estimator", "train-med",
                          "test-med", "test-p90", "test-max", "bias", "note");
      for (const auto& l : holdout) {
        text += fmt::format("{:<24} {:>8.1f}% {:>8.1f}% {:>8.1f}% {:>8.1f}% {:>+7.1f}%  {}\n",
                            l.name, 100 * l.train.median, 100 * l.test.median, 100 * l.test.p90,
                            100 * l.test.worst, 100 * l.signed_median_test, l.note);
      }
    }
    Emit(text, "");
  }
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
  sub->add_option("--hardware", o->hardware,
                  "preset name or profile JSON the runs were measured on (default h100-sxm)");
  sub->add_option("--out", o->out, "write the time model JSON here");
  sub->add_option("--folds", o->folds, "k of the k-fold cross-validation (default 5)")
      ->check(CLI::Range(2, 1000));
  sub->add_option("--seed", o->seed, "seed of the fold assignment");
  sub->add_option("--plot", o->plot, "predicted vs measured plot (PNG or SVG)");
  sub->add_option("--holdout", o->holdout,
                  "multi-node: fit on the runs of one node (devices <= gpus_per_node) and report "
                  "how the model predicts the others, beside a constant-MFU rule");
  AddFormatOption(sub, &o->format, false);
  sub->callback([o] { Run(*o); });
}

}  // namespace chronoscale::cli
