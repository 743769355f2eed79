// chronoscale_plots: core results as Qt Charts, shown in a widget (ChartPanel, chart_panel.h)
// or rendered to PNG or SVG without a display. This header names Qt types only by forward
// declaration, so that callers (the CLI) need no Qt Charts headers: the Qt Charts includes stay
// inside plots/.
//
// Every Make*Chart returns a new chart the caller owns (a ChartPanel or SaveChart takes it).
// Render* build a chart and write it to `path`, PNG or SVG by extension; they create a
// QApplication on the offscreen platform when the process has none (a CLI), and throw
// chronoscale::RuntimeError when the file cannot be written.
#pragma once

#include <string>
#include <vector>

#include <QtGlobal>

#include <chronoscale/plots/plot_data.h>

QT_BEGIN_NAMESPACE
class QChart;
class QImage;
QT_END_NAMESPACE

namespace chronoscale::plots {

inline constexpr int kDefaultWidth = 1100;
inline constexpr int kDefaultHeight = 720;

// Makes sure a QApplication exists (creates one on the offscreen platform if not; it lives
// until the process exits). RuntimeError when a non-widget application is already running.
void EnsureApplication();

// (1) Loss over width x depth: the surface painted as an image in the plot area with a colour
// bar, the best shape and the FLOP-based shape marked, iso-parameter curves; `selected` (a shape
// picked on the surface or in the table), when given and not the best, ringed; `scale`, when
// given, fixes the colours (the same loss the same colour across plans).
QChart* MakeLossHeatmapChart(const PlanResult& plan, const Candidate* selected = nullptr,
                             const ColorScale* scale = nullptr);
// (2) Loss-law fit: runs as points and the law's curves on log-log axes, one per model size.
// Without runs, the law's curves for `sizes` alone.
QChart* MakeLossFitChart(const std::vector<LossRun>& runs, const LossLaw& law,
                         const std::string& title = "");
QChart* MakeLawCurvesChart(const LossLaw& law, const std::vector<double>& sizes,
                           const std::string& title = "");
// (3) Predicted (cross-validated) vs measured step time, one series per estimator, y = x.
QChart* MakeTimeFitChart(const std::vector<StepRun>& runs, const TimeFitSummary& fit);
// (4) Step-time breakdown of one shape: stacked bars by phase, one set per op kind.
QChart* MakeBreakdownChart(const TimeModel& model, const ModelShape& shape, EstimatorKind estimator,
                           const ParallelLayout* layout = nullptr);
// (5) Roofline: bandwidth slope and compute ceilings of `hw`; the ops of `shape` placed on it
// when given.
QChart* MakeRooflineChart(const HardwareProfile& hw, const ModelShape* shape = nullptr);
// (6) Attention kernel time against sequence length: measured (solid, markers) and predicted
// (dashed) per curve.
QChart* MakeAttentionChart(const std::vector<AttentionCurve>& curves,
                           const std::string& title = "");

// Writes `chart` to `path` (PNG or SVG by extension, else InputError), at width x height
// pixels, and deletes the chart. RuntimeError when the file cannot be written.
void SaveChart(QChart* chart, const std::string& path, int width = kDefaultWidth,
               int height = kDefaultHeight);
// The chart drawn into an image (for the benchmark and tests); deletes the chart.
QImage ChartToImage(QChart* chart, int width = kDefaultWidth, int height = kDefaultHeight);

// Build-and-save shorthands for the CLI.
void RenderLossHeatmap(const PlanResult& plan, const std::string& path);
void RenderLossFit(const std::vector<LossRun>& runs, const LossLaw& law, const std::string& path);
void RenderTimeFit(const std::vector<StepRun>& runs, const TimeFitSummary& fit,
                   const std::string& path);
void RenderBreakdown(const TimeModel& model, const ModelShape& shape, EstimatorKind estimator,
                     const std::string& path, const ParallelLayout* layout = nullptr);
void RenderRoofline(const HardwareProfile& hw, const ModelShape* shape, const std::string& path);
void RenderAttention(const std::vector<AttentionCurve>& curves, const std::string& path,
                     const std::string& title = "");

}  // namespace chronoscale::plots
