// --plot for the CLI's commands: each renders through chronoscale_plots (PNG or SVG by the
// path's extension) when the build has it (CHRONOSCALE_BUILD_GUI=ON), and otherwise throws a
// RuntimeError saying so. A write failure is a RuntimeError too.
#pragma once

#include <string>
#include <vector>

#include <chronoscale/attention_calibrate.h>
#include <chronoscale/hardware.h>
#include <chronoscale/loss_law.h>
#include <chronoscale/planner.h>
#include <chronoscale/shape.h>
#include <chronoscale/step_time.h>
#include <chronoscale/time_fit.h>

namespace chronoscale::cli {

// plan, sweep: the loss heatmap of the surface.
void RenderPlanPlot(const PlanResult& plan, const std::string& path);
// fit-time: cross-validated predicted vs measured step time, one series per estimator.
void RenderTimeFitPlot(const TimeFitSummary& fit, const std::vector<StepRun>& runs,
                       const std::string& path);
// fit-loss: the runs and the fitted law's curves on log-log axes, one curve per model size.
void RenderLossFitPlot(const LossFitSummary& fit, const std::vector<LossRun>& runs,
                       const std::string& path);
// bench: roofline of the measured profile (bandwidth and compute ceilings), with the ops of the
// reference shape d1024 x 16 layers placed on it.
void RenderBenchPlot(const HardwareProfile& profile, const std::string& path);
// estimate --explain style: step time of one shape by phase and op kind.
void RenderBreakdownPlot(const TimeModel& model, const ModelShape& shape,
                         const ParallelLayout& layout, EstimatorKind estimator,
                         const std::string& path);
// attention: kernel time against sequence length; parallel rows, one curve per label. Times in
// seconds; `predicted_s` may be empty (or hold NaN where there is no prediction).
void RenderAttentionPlot(const std::vector<std::string>& labels, const std::vector<double>& seq_len,
                         const std::vector<double>& measured_s,
                         const std::vector<double>& predicted_s, const std::string& path);
// calibrate: measured and cross-validated predicted time of every kernel against sequence
// length (the largest head dimension of the grid; one curve per kernel and feature count).
void RenderCalibratePlot(const CalibrateSummary& summary, const std::string& path);

}  // namespace chronoscale::cli
