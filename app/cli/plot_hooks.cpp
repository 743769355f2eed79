// --plot for the CLI: renders through chronoscale_plots when the build has it.
#include "plot_hooks.h"

#include <fmt/format.h>

#include <algorithm>

#include <chronoscale/error.h>

#ifdef CHRONOSCALE_HAVE_PLOTS
#include <chronoscale/plots/plots.h>
#endif

namespace chronoscale::cli {

#ifdef CHRONOSCALE_HAVE_PLOTS

void RenderPlanPlot(const PlanResult& r, const std::string& path) {
  plots::RenderLossHeatmap(r, path);
}

void RenderTimeFitPlot(const TimeFitSummary& fit, const std::vector<StepRun>& runs,
                       const std::string& path) {
  plots::RenderTimeFit(runs, fit, path);
}

void RenderLossFitPlot(const LossFitSummary& fit, const std::vector<LossRun>& runs,
                       const std::string& path) {
  plots::RenderLossFit(runs, LawWithDraws(fit), path);  // the plot shades the draws' 95% band
}

void RenderBenchPlot(const HardwareProfile& profile, const std::string& path) {
  const ModelShape shape = ReferenceShape(1024, 16);
  plots::RenderRoofline(profile, &shape, path);
}

void RenderBreakdownPlot(const TimeModel& model, const ModelShape& shape,
                         const ParallelLayout& layout, EstimatorKind estimator,
                         const std::string& path) {
  plots::RenderBreakdown(model, shape, estimator, path, &layout);
}

void RenderAttentionPlot(const std::vector<std::string>& labels, const std::vector<double>& seq_len,
                         const std::vector<double>& measured_s,
                         const std::vector<double>& predicted_s, const std::string& path) {
  if (seq_len.size() != labels.size() || measured_s.size() != labels.size() ||
      (!predicted_s.empty() && predicted_s.size() != labels.size())) {
    throw RuntimeError("cannot plot " + path + ": rows of different lengths");
  }
  plots::RenderAttention(plots::GroupAttentionRows(labels, seq_len, measured_s, predicted_s), path);
}

void RenderCalibratePlot(const CalibrateSummary& summary, const std::string& path) {
  int64_t d_head = 0;
  for (const auto& p : summary.points) d_head = std::max(d_head, p.d_head);
  std::vector<plots::AttentionRow> rows;
  for (const auto& p : summary.points) {
    if (p.d_head != d_head) continue;
    plots::AttentionRow row;
    row.kernel = ToString(p.kernel);
    row.seq_len = p.seq_len;
    row.d_head = p.d_head;
    row.features = IsRandomFeature(p.kernel) ? p.features : 0;
    row.measured_s = p.measured_s;
    row.predicted_s = p.predicted_s;
    rows.push_back(row);
  }
  plots::RenderAttention(
      plots::AttentionCurvesFromRows(rows), path,
      fmt::format("Attention kernels on {}: measured and calibrated model (head dim {})",
                  summary.calibrated.name, d_head));
}

#else

namespace {
[[noreturn]] void NoPlots(const std::string& path) {
  throw RuntimeError("cannot write " + path +
                     ": this build has no plots (configure with CHRONOSCALE_BUILD_GUI=ON)");
}
}  // namespace

void RenderPlanPlot(const PlanResult&, const std::string& path) { NoPlots(path); }
void RenderTimeFitPlot(const TimeFitSummary&, const std::vector<StepRun>&,
                       const std::string& path) {
  NoPlots(path);
}
void RenderLossFitPlot(const LossFitSummary&, const std::vector<LossRun>&,
                       const std::string& path) {
  NoPlots(path);
}
void RenderBenchPlot(const HardwareProfile&, const std::string& path) { NoPlots(path); }
void RenderBreakdownPlot(const TimeModel&, const ModelShape&, const ParallelLayout&, EstimatorKind,
                         const std::string& path) {
  NoPlots(path);
}
void RenderAttentionPlot(const std::vector<std::string>&, const std::vector<double>&,
                         const std::vector<double>&, const std::vector<double>&,
                         const std::string& path) {
  NoPlots(path);
}
void RenderCalibratePlot(const CalibrateSummary&, const std::string& path) { NoPlots(path); }

#endif

}  // namespace chronoscale::cli
