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
  std::string runs, hardware = "h100-sxm", out, plot;
  int folds = 5;
  unsigned seed = 1;
  Format format = Format::kTable;
};

void Run(const FitTimeOptions& o) {
  if (!o.plot.empty()) CheckPlotPath(o.plot);
  if (!o.out.empty()) CheckNotInput(o.out, {o.runs, o.hardware}, "--out");
  const RunsFile file = ReadStepRuns(o.runs);
  for (const auto& note : file.notes) fmt::print(stderr, "note: {}\n", note);
  const HardwareProfile hw = LoadHardware(o.hardware);
  TimeFitOptions opt;
  opt.folds = o.folds;
  opt.seed = o.seed;
  const TimeFitSummary summary = FitTimeModel(file.runs, hw, opt, TerminalProgress("fit-time"));
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
    RenderTimeFitPlot(summary, file.runs, o.plot);
    fmt::print(stderr, "wrote {}\n", o.plot);
  }
  if (o.format == Format::kJson) {
    nlohmann::json doc = prov;
    doc["hardware"] = hw.name;
    doc["skipped_rows"] = file.skipped;
    doc["report"] = summary.ToJson();
    doc["model"] = model;
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
    Emit(text, "");
  }
}

}  // namespace

void SetupFitTime(CLI::App& app) {
  auto* sub = app.add_subcommand("fit-time", "fit the step-time estimators to measured runs");
  auto o = std::make_shared<FitTimeOptions>();
  sub->add_option("--runs", o->runs,
                  "runs CSV (d_model, n_layers, n_heads, d_ff, seq_len, batch, vocab, step_ms)")
      ->required();
  sub->add_option("--hardware", o->hardware,
                  "preset name or profile JSON the runs were measured on (default h100-sxm)");
  sub->add_option("--out", o->out, "write the time model JSON here");
  sub->add_option("--folds", o->folds, "k of the k-fold cross-validation (default 5)")
      ->check(CLI::Range(2, 1000));
  sub->add_option("--seed", o->seed, "seed of the fold assignment");
  sub->add_option("--plot", o->plot, "predicted vs measured plot (PNG or SVG)");
  AddFormatOption(sub, &o->format, false);
  sub->callback([o] { Run(*o); });
}

}  // namespace chronoscale::cli
