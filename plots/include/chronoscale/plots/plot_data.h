// Data preparation for the charts, in plain C++ (no Qt): colour mapping of the loss surface,
// iso-parameter curves, roofline ceilings and points, the step-time breakdown, loss-fit groups,
// predicted-vs-measured pairs and attention timing curves. The chart code only draws what these
// return, so everything here is testable without a display.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <chronoscale/attention.h>
#include <chronoscale/hardware.h>
#include <chronoscale/loss_law.h>
#include <chronoscale/planner.h>
#include <chronoscale/step_time.h>
#include <chronoscale/time_fit.h>
#include <chronoscale/workload.h>

namespace chronoscale::plots {

struct XY {
  double x = 0, y = 0;
};

// ---------------------------------------------------------------------------------------------
// Heatmap colours.

struct Rgb {
  unsigned char r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};
// Viridis (matplotlib's), piecewise linear through 9 stops; t is clamped to [0, 1]:
// 0 is dark purple, 1 is yellow.
Rgb Viridis(double t);
// 0xAARRGGBB, opaque.
uint32_t ToArgb(Rgb c);

// The loss range the colours span: the lowest finite loss to the `quantile` of the finite losses
// (the worst shapes would otherwise squash the interesting range near the optimum into one
// colour). Losses above `hi` take the colour of `hi`. lo < hi always (hi = lo + 1e-9 if flat).
struct ColorScale {
  double lo = 0, hi = 1;
};
ColorScale SurfaceColorScale(const std::vector<double>& loss, double quantile = 0.9);
// Colour of one loss: the lowest loss is yellow (viridis 1), `hi` and above dark purple.
uint32_t LossColor(double loss, const ColorScale& scale);
// Colour of cells where the shape does not fit in memory (NaN loss): grey.
inline constexpr uint32_t kNoFitArgb = 0xFFC8C8C8u;
// Colour of cells the plan left out (aspect ratio out of range, no head size; NaN step time):
// a lighter grey.
inline constexpr uint32_t kLeftOutArgb = 0xFFEDEDEDu;

// Colour of cells that fit but where the budget buys less than one optimizer step: grey-blue.
inline constexpr uint32_t kUnderOneStepArgb = 0xFFB9C9DAu;

// Why cells of a surface have no loss, each reason's count (the heatmap's legend lists those
// that occur).
struct SurfaceExclusions {
  int64_t out_of_memory = 0;   // priced, larger than the usable memory per device
  int64_t under_one_step = 0;  // fits, but the budget is less than one optimizer step
  int64_t aspect = 0;          // left out: d_model / n_layers outside the --aspect range
  int64_t unbuildable = 0;     // left out otherwise: no head size, kv heads, no legal layout
};
SurfaceExclusions CountExclusions(const PlanResult& plan);

// One pixel per cell of the plan's surface, ARGB32, rows top-down with the deepest row first
// (so that the image drawn over the plot area has depth increasing upwards). Cells without a
// loss take kNoFitArgb, kUnderOneStepArgb where they fit in memory (the plan keeps each cell's
// memory), or kLeftOutArgb where they have no step time either.
struct SurfaceImage {
  int columns = 0, rows = 0;
  std::vector<uint32_t> argb;  // rows * columns
  ColorScale scale;
};
// `fixed`, when given, is the colour scale to use instead of the plan's own (to compare plans).
SurfaceImage SurfacePixels(const PlanResult& plan, double quantile = 0.9,
                           const ColorScale* fixed = nullptr);

// How the surface is drawn: the extent, in d_model and layers at the cells' edges, and whether
// each axis is logarithmic. The extent holds the cells with a loss and the marked shapes (best,
// FLOP-based, `selected`), with a margin of a tenth (at least two cells) inside the priced
// region, so that grey the plan left out does not fill the picture. An axis whose extent spans
// kSurfaceLogSpan times or more is logarithmic: the aspect range's wedge, d / 256 <= n <= d / 8,
// is then a band of constant height, and small shapes get as much room as large ones.
struct SurfaceView {
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  bool log_x = false, log_y = false;
};
inline constexpr double kSurfaceLogSpan = 8;
SurfaceView SurfaceViewOf(const PlanResult& plan, const Candidate* selected = nullptr);
// The surface over `view` as columns x rows pixels (rows top-down, the deepest first): each pixel
// takes the colour of the grid cell nearest its centre, placed in the axes' own scale
// (kLeftOutArgb outside the grid).
SurfaceImage SurfacePixels(const PlanResult& plan, const SurfaceView& view, int columns, int rows,
                           double quantile = 0.9, const ColorScale* fixed = nullptr);

// The surface's cell nearest to (width, depth) in the grid's units, as an index into plan.loss
// (depth row x widths + width column); none outside the grid.
std::optional<std::size_t> SurfaceCellAt(const PlanResult& plan, double width, double depth);
// What a pointer over that cell reads: the shape and its loss, step time, tokens and memory
// per device; or why it has no loss (left out of the grid, out of memory, under one step).
std::string SurfaceCellReadout(const PlanResult& plan, std::size_t cell);

// ---------------------------------------------------------------------------------------------
// Iso-parameter curves over the width x depth surface.

// Round parameter counts (1, 2, 5 x 10^k) strictly inside the range of the surface's params,
// at most `max_levels` of them, spread over the range (every other one is dropped until few
// enough remain).
std::vector<double> IsoParamLevels(const PlanResult& plan, int max_levels = 6);
// The curve params(width, depth) = target: for each depth row, the width where the row's params
// cross the target, linearly interpolated between the two grid widths around it (x = width,
// y = depth). Cells without params (left out, params 0) are ignored; rows that do not reach the
// target are skipped.
std::vector<XY> IsoParamCurve(const PlanResult& plan, double target);
// "350M", "1.3B", "20K", "125M": 3 significant digits at most, with a suffix.
std::string FormatCount(double value);

// ---------------------------------------------------------------------------------------------
// Roofline.

struct RooflineCeiling {
  std::string label;  // "matmul bf16", "vector fp32"
  double flops_per_s = 0;
};
// The compute ceilings of a profile: the matmul rate of bf16 (else the best precision it has),
// matmul fp32 where it differs, and the fp32 vector rate; duplicates dropped, highest first.
std::vector<RooflineCeiling> RooflineCeilings(const HardwareProfile& hw);
// min(peak, intensity * bandwidth).
double RooflineAttainable(double intensity, double peak_flops_per_s, double bandwidth_bytes_per_s);

struct RooflinePoint {
  std::string name;  // op name
  OpKind kind = OpKind::kElementwise;
  Phase phase = Phase::kForward;
  double intensity = 0;    // flops / bytes
  double flops_per_s = 0;  // flops / roofline seconds (what the op attains under the model)
  double seconds = 0;      // per step (count included)
};
// Every op of the shape's step that has both flops and bytes, placed by the roofline estimator.
std::vector<RooflinePoint> RooflinePoints(const ModelShape& shape, const HardwareProfile& hw);

// ---------------------------------------------------------------------------------------------
// Step-time breakdown: seconds by op kind and phase under one estimator.

struct Breakdown {
  std::array<std::array<double, kNumPhases>, kNumOpKinds> seconds{};  // [kind][phase]
  double total_s = 0;         // the sum of the bars (the ops' shares)
  double fixed_s = 0;         // the fitted constant per step (c0), no op's
  double exposed_comm_s = 0;  // communication not hidden under compute
  double step_s = 0;          // the estimator's step time: total_s + fixed_s + exposed_comm_s
};
// `layout`: the device's parallel layout (nullptr: one device); communication ops show their link
// time under the kind "communication".
Breakdown StepBreakdown(const TimeModel& model, const ModelShape& shape, EstimatorKind estimator,
                        const ParallelLayout* layout = nullptr);

// ---------------------------------------------------------------------------------------------
// Loss-law fit: runs grouped by model size, with the law's curve L(N, D) for each group.

struct LossFitGroup {
  double params = 0;      // geometric mean N of the group's runs
  std::vector<XY> runs;   // (tokens, loss)
  std::vector<XY> curve;  // (tokens, law loss at `params`), log-spaced tokens
  // The 95% band of the law's bootstrap draws at the same tokens (empty without draws).
  std::vector<XY> band_lo, band_hi;
};
// One group per distinct size (within 2 %) when there are at most `max_groups`, else
// `max_groups` equal bins in log N. Curves span the runs' tokens (x 1/1.5 .. x 1.5); with
// bootstrap draws in the law, each curve gets the 2.5-97.5 percentile band of the draws.
std::vector<LossFitGroup> LossFitGroups(const std::vector<LossRun>& runs, const LossLaw& law,
                                        int max_groups = 8, int curve_points = 64);
// Curves of a law alone (no runs): one per size in `params`, tokens over [d_lo, d_hi].
std::vector<LossFitGroup> LawCurves(const LossLaw& law, const std::vector<double>& params,
                                    double d_lo, double d_hi, int curve_points = 64);

// ---------------------------------------------------------------------------------------------
// Predicted vs measured step time (cross-validated predictions of each fitted estimator).

struct EstimatorScatter {
  std::string name;        // "roofline", "calibrated", ...
  std::vector<XY> points;  // (measured s, predicted s)
  double cv_median = 0;    // median |relative error|, cross-validated
};
std::vector<EstimatorScatter> PredictedVsMeasured(const std::vector<StepRun>& runs,
                                                  const TimeFitSummary& fit);

// ---------------------------------------------------------------------------------------------
// Attention kernel time against sequence length.

struct AttentionCurve {
  std::string label;
  std::vector<double> seq_len, measured_s, predicted_s;  // predicted_s empty or NaN: none
};
// Groups parallel rows by label, each curve sorted by sequence length. `predicted_s` may be
// empty (no predictions). Sizes must match (assert).
std::vector<AttentionCurve> GroupAttentionRows(const std::vector<std::string>& labels,
                                               const std::vector<double>& seq_len,
                                               const std::vector<double>& measured_s,
                                               const std::vector<double>& predicted_s);

// One row of an attention timing CSV.
struct AttentionRow {
  std::string kernel;  // as in the file ("flash", "sdpa_flash", "favor_plus", ...)
  int64_t batch = 1, heads = 1, seq_len = 0, d_head = 0, features = 0;
  double measured_s = 0;
  double predicted_s = -1;  // < 0: the file has no prediction
  int line = 0;
};
// Reads either `chronoscale calibrate --out` CSV (kernel, seq_len, d_head, features, measured_s,
// predicted_s[, roofline_s]) or a measured timing CSV (kind, batch, heads, seq_len, d_head,
// features, ms[, status]; rows whose status is not "ok" are skipped). InputError naming
// file:line:col on a bad cell, the columns expected when neither layout matches.
std::vector<AttentionRow> ReadAttentionCsv(const std::string& path);
// The kernel of attention.h a timing CSV's kernel name stands for: this tool's own names, or
// PyTorch's (sdpa_flash, naive_softmax, favor_plus); false for any other.
bool AttentionKernelOfCsvName(const std::string& name, AttentionKernel* kernel);
// Fills predicted_s of the rows that have none and whose kernel is known: attention.h's model of
// the kernel on `hw` (non-causal, bf16). A row it cannot price keeps -1. Returns how many rows it
// priced.
int PredictMissingAttention(std::vector<AttentionRow>* rows, const HardwareProfile& hw);
// Curve label of a row: the kernel, plus " m=F" for random-feature rows and " d=D" when the
// rows have several head dimensions.
std::vector<AttentionCurve> AttentionCurvesFromRows(const std::vector<AttentionRow>& rows);

// ---------------------------------------------------------------------------------------------
// Axis helpers.

// [10^floor(log10 lo), 10^ceil(log10 hi)] over the positive finite values; {1, 10} if none.
std::pair<double, double> LogAxisRange(const std::vector<double>& values);

}  // namespace chronoscale::plots
