// chronoscale-plot-gallery: renders every chart type of chronoscale_plots from shipped data, for
// docs/gallery.md and for looking at the charts after a change:
//   chronoscale-plot-gallery OUT_DIR LOSS_RUNS.csv ATTENTION.csv STEP_RUNS.csv
// LOSS_RUNS.csv: params/tokens/loss columns, or the Chinchilla extraction's "Model Size",
// "Training FLOP", "loss". ATTENTION.csv: `calibrate --out` or a timing CSV (kind, ..., ms).
#include <fmt/format.h>

#include <chronoscale/attention.h>
#include <chronoscale/attention_calibrate.h>
#include <chronoscale/error.h>
#include <chronoscale/io.h>
#include <chronoscale/planner.h>
#include <chronoscale/plots/plots.h>

namespace cs = chronoscale;

namespace {

void Run(const std::string& out, const std::string& loss_csv, const std::string& attention_csv,
         const std::string& steps_csv) {
  const auto path = [&](const char* name) { return out + "/" + name; };
  // (1) Heatmap: 24 h on one H100.
  cs::PlanOptions po;
  po.hours = 24;
  po.base = cs::ReferenceShape(1024, 8);
  const cs::HardwareProfile h100 = cs::LoadHardware("h100-sxm");
  const cs::PlanResult plan =
      cs::Plan(po, cs::DefaultTimeModel(h100), cs::LossLawPreset("epoch"), "epoch");
  cs::plots::RenderLossHeatmap(plan, path("heatmap.png"));
  // (2) Loss-law fit.
  cs::LossRunsOptions lo;
  const cs::CsvTable head = cs::ReadCsv(loss_csv);
  if (head.Column("params") < 0 && head.Column("Model Size") >= 0) {
    lo.params_column = "Model Size";
    lo.flops_column = "Training FLOP";
    lo.drop_highest = 5;
  }
  const cs::LossRunsTable runs = cs::LoadLossRuns(loss_csv, lo);
  cs::LossFitOptions fo;
  fo.bootstrap_resamples = 200;  // the plot shades the 95% band of the bootstrap fits
  const cs::LossFitSummary fit = cs::FitLossLaw(runs.runs, fo);
  cs::plots::RenderLossFit(runs.runs, cs::LawWithDraws(fit), path("loss_fit.png"));
  // (3) Predicted vs measured step time.
  const cs::HardwareProfile h200 = cs::LoadHardware("h200-measured");
  const cs::RunsFile steps = cs::ReadStepRuns(steps_csv);
  const cs::TimeFitSummary tfit = cs::FitTimeModel(steps.runs, h200);
  cs::plots::RenderTimeFit(steps.runs, tfit, path("time_fit.png"));
  // (4) Breakdown of the plan's best shape.
  cs::plots::RenderBreakdown(cs::DefaultTimeModel(h100), plan.best.shape,
                             cs::EstimatorKind::kRoofline, path("breakdown.png"));
  // (5) Roofline with those ops.
  cs::plots::RenderRoofline(h100, &plan.best.shape, path("roofline.png"));
  // (6) Attention: measured, and the roofline model's prediction on the measured profile.
  std::vector<cs::plots::AttentionRow> rows = cs::plots::ReadAttentionCsv(attention_csv);
  cs::plots::PredictMissingAttention(&rows, h200);
  cs::plots::RenderAttention(cs::plots::AttentionCurvesFromRows(rows), path("attention.png"),
                             "Attention kernels on h200: measured and roofline model");
  for (const char* f : {"heatmap", "loss_fit", "time_fit", "breakdown", "roofline", "attention"}) {
    fmt::print("wrote {}/{}.png\n", out, f);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    fmt::print(stderr, "usage: {} OUT_DIR LOSS_RUNS.csv ATTENTION.csv STEP_RUNS.csv\n", argv[0]);
    return 2;
  }
  try {
    Run(argv[1], argv[2], argv[3], argv[4]);
  } catch (const cs::InputError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
