// Step-time estimators (SCIENCE.md section 1): FLOPs, memory copies, roofline and calibrated,
// all reading the same Workload accounting. A TimeModel holds the hardware and the coefficients
// fitted to measured steps (see time_fit.h); PredictStepSeconds is the fast path the planner
// calls millions of times.
#pragma once

#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chronoscale/hardware.h"
#include "chronoscale/layout.h"
#include "chronoscale/shape.h"
#include "chronoscale/workload.h"

namespace chronoscale {

enum class EstimatorKind { kFlops = 0, kMemcopy, kRoofline, kCalibrated };
inline constexpr std::size_t kNumEstimators = 4;
std::string ToString(EstimatorKind e);
bool Parse(std::string_view text, EstimatorKind* out);

// The rates of one hardware profile for one compute precision, looked up once per request.
struct Rates {
  const HardwareProfile* hw = nullptr;
  double matmul = 0;         // FLOP/s of matmul and attention ops (tensor units)
  double vector = 0;         // FLOP/s of every other op (fp32 vector units)
  double inv_bandwidth = 0;  // s per byte of device memory
  double inv_exp = 0;        // s per exponential
  double launch_s = 0;       // s per kernel launch
};
Rates MakeRates(const HardwareProfile& hw, Precision precision);

// The price of one run of an op (multiply by op.count): the one pricing function every estimator,
// the planner and the kernel calibration use.
struct OpSeconds {
  double compute = 0;  // flops / rate of its kind
  double memory = 0;   // bytes / bandwidth
  double exp = 0;      // exponentials / exp rate
  double launch = 0;   // launches x overhead
  double comm = 0;     // communication ops: the collective on the links (CollectiveSeconds)
  // The roofline: the binding one of compute, memory and exp, plus launches; for a
  // communication op its link time.
  double Roofline() const;
};
OpSeconds PriceOp(const Op& op, const Rates& rates);

// What the calibrated estimator reads of one phase (forward or backward) and segment (the layer
// stack with the embedding, or the head: Op::head): FLOPs on the tensor units by kind, bytes of
// device memory and kernel launches, every micro-step.
struct SegmentCounts {
  double matmul_flops = 0, attention_flops = 0, bytes = 0, launches = 0;
};
enum class Segment { kForwardBody = 0, kForwardHead, kBackwardBody, kBackwardHead };
inline constexpr std::size_t kNumSegments = 4;
inline std::size_t SegmentOf(const Op& op) {
  return (op.phase == Phase::kBackward ? 2u : 0u) + (op.head ? 1u : 0u);
}

// Totals of one optimizer step on one device per op kind, and the roofline time on a hardware.
// Forward/backward totals cover every micro-step; communication is kept apart by overlap class.
struct StepCounts {
  std::array<double, kNumOpKinds> flops{}, bytes{}, exps{}, launches{};
  double model_flops = 0;           // (6 N T + attention FLOPs) per device: the FLOP-only count
  double compute_roofline_s = 0;    // forward + backward ops under the roofline
  double forward_roofline_s = 0;    // of which the forward's
  double optimizer_roofline_s = 0;  // the optimizer's op
  std::array<double, kNumOverlaps> comm_s{};           // link seconds by overlap class
  std::array<SegmentCounts, kNumSegments> segments{};  // forward/backward ops by segment
  double optimizer_bytes = 0, optimizer_tensors = 0;   // the optimizer op: bytes and launches
  double micro_steps = 1, stages = 1, layers_per_stage = 1;
  double roofline_s = 0;  // the roofline estimator's step (see ExposedCommSeconds)
  double TotalFlops() const;
  double TotalBytes() const;
  double TotalExps() const;
  double TotalLaunches() const;
  double CommSeconds() const;  // every communication op's link time
  // 1F1B: the step takes (m + p - 1) micro-steps' time for m micro-batches on p stages.
  double BubbleFactor() const { return (micro_steps + stages - 1) / micro_steps; }
};
// No validation (the caller validated the shape and layout); no allocation.
StepCounts CountStep(const ModelShape& shape, const HardwareProfile& hw);
StepCounts CountStep(const ModelShape& shape, const ParallelLayout& layout,
                     const HardwareProfile& hw);
// The two halves of CountStep, for the layout search: the forward/backward ops (which the
// sharding does not change), then the optimizer and communication ops, then the totals.
StepCounts CountCompute(const ModelShape& shape, const ParallelLayout& layout, const Rates& rates);
void AddStepOps(const ModelShape& shape, const ParallelLayout& layout, const Rates& rates,
                StepCounts* counts);

// Communication time left on the critical path. Each class's link seconds (times `multiplier`)
// hide under the compute they overlap with, scaled by `overlap` (1: all of it usable): exposed =
// max(0, C - overlap X) + C / (layers per stage + 1), the second term the last layer's bucket or
// the first layer's gather, which nothing hides. `compute_s` is the step's forward + backward
// compute time under the estimator (all micro-steps, no bubble). A template so that the fit can
// differentiate it (Ceres Jets); one definition for prediction and residual.
template <typename T>
T ExposedComm(const StepCounts& c, const T& compute_s, const T& multiplier, const T& overlap) {
  double total = 0;
  for (double x : c.comm_s) total += x;
  if (total <= 0) return T(0);
  const double fwd_share =
      c.compute_roofline_s > 0 ? c.forward_roofline_s / c.compute_roofline_s : 0.5;
  const T x_fwd = overlap * compute_s * fwd_share;
  const T x_bwd = overlap * compute_s * (1 - fwd_share);
  const double tail = 1.0 / (c.layers_per_stage + 1);
  auto hidden = [&](Overlap o, const T& under) -> T {
    const double raw = c.comm_s[static_cast<std::size_t>(o)];
    if (raw <= 0) return T(0);
    const T comm = multiplier * raw;
    const T excess = comm - under;
    return (excess > T(0) ? excess : T(0)) + comm * tail;
  };
  return multiplier * c.comm_s[static_cast<std::size_t>(Overlap::kExposed)] +
         hidden(Overlap::kForward, x_fwd) + hidden(Overlap::kBackward, x_bwd) +
         hidden(Overlap::kFirstForward, x_fwd / c.micro_steps) +
         hidden(Overlap::kLastBackward, x_bwd / c.micro_steps);
}
inline double ExposedCommSeconds(const StepCounts& c, double compute_s, double multiplier,
                                 double overlap) {
  return ExposedComm<double>(c, compute_s, multiplier, overlap);
}

// Seconds of one op on `hw` under the roofline (PriceOp(...).Roofline() x op.count).
double RooflineOpSeconds(const Op& op, const HardwareProfile& hw);

// The calibrated estimator. Per op group: gpu = matmul FLOPs x matmul_s_per_flop + attention
// FLOPs x attention_s_per_flop + bytes x s_per_byte (exponentials are no term of their own: in
// flash attention they are fused into the attention kernel, elsewhere they ride on memory-bound
// kernels) and cpu = launches x s_per_launch. Eager frameworks dispatch kernels from the CPU
// while the GPU runs earlier ones, so a group takes about the larger of the two, smoothed:
// smax(x, y) = (x^p + y^p)^(1/p), p the sharpness. Two forms:
//   kSegments (fit-time's default): each phase is the layer stack, then the head (Op::head),
//     which starts only when the stack's kernels have run, so nothing hides its GPU time:
//       forward = smax(gpu, cpu)[stack] + smax(gpu, cpu)[head], backward the same;
//   kWholeStep (the first form; older time models): compute = smax(gpu, cpu) over every forward
//     and backward op at once.
// Optimizer: smax(bytes x s_per_byte, parameter tensors x s_per_tensor_update).
// Step: t = c0 + (forward + backward) x bubble + exposed communication + optimizer.
// All coefficients >= 0.
enum class CalibratedForm { kWholeStep = 0, kSegments };
std::string ToString(CalibratedForm f);
bool Parse(std::string_view text, CalibratedForm* out);

struct CalibratedCoefficients {
  double c0_s = 0;
  double matmul_s_per_flop = 0;
  double attention_s_per_flop = 0;
  double s_per_byte = 0;
  double s_per_launch = 0;
  double s_per_tensor_update = 0;
  double sharpness = 4;
  CalibratedForm form = CalibratedForm::kWholeStep;
};

// The smooth max; a template so that Ceres can differentiate it (one definition for prediction
// and fit).
// (x^p + y^p)^(1/p) = m (1 + (lo/m)^p)^(1/p) for m = max, lo = min: one pow, and log1p/exp in
// place of a pow of a number near 1 (libm's slow path); 0 when both are 0, m when lo <= 0.
template <typename T>
T SmoothMax(const T& x, const T& y, const T& p) {
  using std::exp;
  using std::log1p;
  using std::pow;
  const T m = (x > y ? x : y);
  if (!(m > T(0))) return T(0);
  const T lo = (x > y ? y : x);
  if (!(lo > T(0))) return m;
  return m * exp(log1p(pow(lo / m, p)) / p);
}

// The calibrated formula, written once: coefficients of type T (double, or Ceres Jets in the
// fit) applied to one step's counts.
template <typename T>
struct CalibratedTerms {
  T c0, matmul, attention, byte, launch, tensor, sharpness;
  CalibratedForm form = CalibratedForm::kSegments;
};
CalibratedTerms<double> TermsOf(const CalibratedCoefficients& k);
// The fitted formula in words and numbers, for reports (fit-time, the GUI).
std::string DescribeCalibrated(const CalibratedCoefficients& k);

// One group of ops: smax(gpu, cpu) of a segment (or of the sum of segments).
template <typename T>
T GroupSeconds(const SegmentCounts& s, const CalibratedTerms<T>& k) {
  return SmoothMax(k.matmul * s.matmul_flops + k.attention * s.attention_flops + k.byte * s.bytes,
                   k.launch * s.launches, k.sharpness);
}

template <typename T>
struct CalibratedPhases {
  T forward, backward, optimizer;  // seconds of each phase (all micro-steps, no bubble)
};
template <typename T>
CalibratedPhases<T> CalibratedPhaseSeconds(const StepCounts& c, const CalibratedTerms<T>& k) {
  auto gpu = [&](const SegmentCounts& s) {
    return k.matmul * s.matmul_flops + k.attention * s.attention_flops + k.byte * s.bytes;
  };
  auto cpu = [&](const SegmentCounts& s) { return k.launch * s.launches; };
  const auto& seg = c.segments;
  CalibratedPhases<T> out;
  if (k.form == CalibratedForm::kSegments) {
    auto group = [&](Segment s) { return GroupSeconds(seg[static_cast<std::size_t>(s)], k); };
    out.forward = group(Segment::kForwardBody) + group(Segment::kForwardHead);
    out.backward = group(Segment::kBackwardBody) + group(Segment::kBackwardHead);
  } else {
    T g_fwd = gpu(seg[0]) + gpu(seg[1]), g_bwd = gpu(seg[2]) + gpu(seg[3]);
    T c_fwd = cpu(seg[0]) + cpu(seg[1]), c_bwd = cpu(seg[2]) + cpu(seg[3]);
    const T whole = SmoothMax(g_fwd + g_bwd, c_fwd + c_bwd, k.sharpness);
    // the one maximum split between the phases by their own sizes (reporting only)
    const T f = g_fwd > c_fwd ? g_fwd : c_fwd, b = g_bwd > c_bwd ? g_bwd : c_bwd;
    out.forward = f + b > T(0) ? whole * f / (f + b) : T(0);
    out.backward = whole - out.forward;
  }
  out.optimizer =
      SmoothMax(k.byte * c.optimizer_bytes, k.tensor * c.optimizer_tensors, k.sharpness);
  return out;
}

// The calibrated step: c0 + compute x bubble + exposed communication + optimizer.
template <typename T>
T CalibratedStep(const StepCounts& c, const CalibratedTerms<T>& k, const T& comm_multiplier,
                 const T& comm_overlap) {
  const CalibratedPhases<T> ph = CalibratedPhaseSeconds(c, k);
  const T compute = ph.forward + ph.backward;
  return k.c0 + compute * c.BubbleFactor() +
         ExposedComm(c, compute, comm_multiplier, comm_overlap) + ph.optimizer;
}

// What a fitted time model was fitted on: the runs' hardware and the range of their shapes,
// so that a prediction outside it can say it extrapolates. Absent (runs == 0) in models that
// predate it and in unfitted models.
struct FitDomain {
  int runs = 0;
  std::vector<std::string> hardware;  // each distinct hardware the runs were measured on
  bool forced = false;  // runs of another device fitted under this one's name (fit-time --force)
  double params_min = 0, params_max = 0;
  double tokens_min = 0, tokens_max = 0;  // tokens per optimizer step
  double seq_min = 0, seq_max = 0;
  double vocab_min = 0, vocab_max = 0;
  bool Known() const { return runs > 0; }
  void Add(const ModelShape& shape);  // widens the ranges to cover `shape`
};
// One phrase per dimension in which `shape` lies outside the domain (beyond a 10% margin), e.g.
// "7.2B parameters (fitted 18M-2.1B)"; empty when inside or when the domain is unknown.
std::vector<std::string> OutsideFitDomain(const FitDomain& domain, const ModelShape& shape);

// A fitted (or default) time model: the hardware plus each estimator's coefficients.
struct TimeModel {
  HardwareProfile hardware;
  // FLOPs: t = c0 + c1 * model_flops. Unfitted: c1 = 1 / (bf16 peak * mfu).
  double flops_c0_s = 0, flops_s_per_flop = 0;
  // Memory copies: t = c0 + c1 * bytes. Unfitted: c1 = 1 / bandwidth.
  double memcopy_c0_s = 0, memcopy_s_per_byte = 0;
  CalibratedCoefficients calibrated;
  // Communication (roofline and calibrated): link seconds x comm_multiplier, hidden under the
  // compute they overlap with at comm_overlap efficiency (see ExposedCommSeconds). Unfitted: the
  // datasheet links and 0.8 (NCCL kernels share the SMs with the compute they hide under).
  double comm_multiplier = 1, comm_overlap = 0.8;
  std::array<bool, kNumEstimators> fitted{};         // which estimators were fitted to runs
  EstimatorKind best = EstimatorKind::kRoofline;     // the default estimator of this model
  nlohmann::json report = nlohmann::json::object();  // the fit report, kept with the model
  FitDomain fitted_on;

  bool Has(EstimatorKind e) const;
};

// A model with no fit: FLOPs at `mfu` of the hardware's peak, memcopy at its bandwidth,
// roofline; the calibrated estimator is not available.
TimeModel DefaultTimeModel(const HardwareProfile& hw, double mfu = 0.4);
// The same fitted multipliers on another device: per-FLOP times scale with the ratio of the
// matmul rates, per-byte times with the bandwidths; fixed and per-launch times stay. This is
// how a model fitted on runs from several kinds of GPU (or on one) prices another.
TimeModel Retarget(const TimeModel& model, const HardwareProfile& hw);

// Predicted seconds per step. Throws InputError if `e` is not available in `model`.
double PredictStepSeconds(const TimeModel& model, const ModelShape& shape, EstimatorKind e);
double PredictStepSeconds(const TimeModel& model, const ModelShape& shape,
                          const ParallelLayout& layout, EstimatorKind e);
// The same from precomputed counts (fast path).
double PredictFromCounts(const TimeModel& model, const StepCounts& counts, EstimatorKind e);
// Seconds of each op under estimator e, in the order of BuildWorkload's ops (for --explain and
// the breakdown chart); they add up to the step: compute ops share the compute time (bubble
// included), communication ops the exposed communication time in proportion to their link time.
std::vector<double> ExplainOpSeconds(const TimeModel& model, const Workload& wl, EstimatorKind e);
// The step's time in parts under estimator e.
struct StepExplanation {
  double total_s = 0, fixed_s = 0, compute_s = 0, bubble_s = 0, optimizer_s = 0;
  double comm_s = 0;          // every collective's link time
  double exposed_comm_s = 0;  // of it, on the critical path
};
StepExplanation ExplainStep(const TimeModel& model, const Workload& wl, EstimatorKind e);

nlohmann::json TimeModelToJson(const TimeModel& model);
TimeModel TimeModelFromJson(const nlohmann::json& doc, const std::string& where);
TimeModel LoadTimeModel(const std::string& path);

}  // namespace chronoscale
