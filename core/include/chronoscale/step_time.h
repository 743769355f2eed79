// Step-time estimators (SCIENCE.md section 1): FLOPs, memory copies, roofline and calibrated,
// all reading the same Workload accounting. A TimeModel holds the hardware and the coefficients
// fitted to measured steps (see time_fit.h); PredictStepSeconds is the fast path the planner
// calls millions of times.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chronoscale/hardware.h"
#include "chronoscale/shape.h"
#include "chronoscale/workload.h"

namespace chronoscale {

enum class EstimatorKind { kFlops = 0, kMemcopy, kRoofline, kCalibrated };
inline constexpr std::size_t kNumEstimators = 4;
std::string ToString(EstimatorKind e);
bool Parse(std::string_view text, EstimatorKind* out);

// Totals of one step per op kind, plus the roofline time on a given hardware.
struct StepCounts {
  std::array<double, kNumOpKinds> flops{}, bytes{}, exps{}, launches{};
  double model_flops = 0;  // 6 N T + attention FLOPs (the FLOP-only baseline's count)
  double roofline_s = 0;   // sum over ops of max(flops/rate, bytes/bandwidth, exps/exp rate)
  double TotalFlops() const;
  double TotalBytes() const;
  double TotalExps() const;
  double TotalLaunches() const;
};
// No validation (the caller validated the shape); no allocation.
StepCounts CountStep(const ModelShape& shape, const HardwareProfile& hw);

// Seconds of one op on `hw` under the roofline: max(flops / rate(kind), bytes / bandwidth,
// exps / exp rate) + launches * launch overhead, times op.count.
double RooflineOpSeconds(const Op& op, const HardwareProfile& hw);

// Coefficients of the calibrated estimator. For the forward and backward ops:
//   gpu_s = matmul flops * matmul_s_per_flop + attention flops * attention_s_per_flop
//           + bytes * s_per_byte
// (exponentials are not a term of their own: in flash attention they are fused into the
// attention kernel, elsewhere they ride on memory-bound kernels)
//   cpu_s = launches * s_per_launch
// and for the optimizer: gpu = bytes * s_per_byte, cpu = parameter tensors * s_per_tensor_update;
//   t = c0_s + smax(gpu_s, cpu_s) + smax(optimizer gpu, optimizer cpu),
//   smax(x, y) = (x^p + y^p)^(1/p).
// Eager frameworks dispatch kernels from the CPU while the GPU runs earlier ones, so a phase takes
// about the larger of the two totals; p (sharpness) smooths the max. All coefficients >= 0.
struct CalibratedCoefficients {
  double c0_s = 0;
  double matmul_s_per_flop = 0;
  double attention_s_per_flop = 0;
  double s_per_byte = 0;
  double s_per_launch = 0;
  double s_per_tensor_update = 0;
  double sharpness = 4;
};

// A fitted (or default) time model: the hardware plus each estimator's coefficients.
struct TimeModel {
  HardwareProfile hardware;
  // FLOPs: t = c0 + c1 * model_flops. Unfitted: c1 = 1 / (bf16 peak * mfu).
  double flops_c0_s = 0, flops_s_per_flop = 0;
  // Memory copies: t = c0 + c1 * bytes. Unfitted: c1 = 1 / bandwidth.
  double memcopy_c0_s = 0, memcopy_s_per_byte = 0;
  CalibratedCoefficients calibrated;
  std::array<bool, kNumEstimators> fitted{};         // which estimators were fitted to runs
  EstimatorKind best = EstimatorKind::kRoofline;     // the default estimator of this model
  nlohmann::json report = nlohmann::json::object();  // the fit report, kept with the model

  bool Has(EstimatorKind e) const;
};

// A model with no fit: FLOPs at `mfu` of the hardware's peak, memcopy at its bandwidth,
// roofline; the calibrated estimator is not available.
TimeModel DefaultTimeModel(const HardwareProfile& hw, double mfu = 0.4);

// Predicted seconds per step. Throws InputError if `e` is not available in `model`.
double PredictStepSeconds(const TimeModel& model, const ModelShape& shape, EstimatorKind e);
// The same from precomputed counts (fast path).
double PredictFromCounts(const TimeModel& model, const StepCounts& counts, EstimatorKind e);
// Seconds of each op under estimator e, in the order of BuildWorkload's ops (for --explain).
std::vector<double> ExplainOpSeconds(const TimeModel& model, const Workload& wl, EstimatorKind e);

nlohmann::json TimeModelToJson(const TimeModel& model);
TimeModel TimeModelFromJson(const nlohmann::json& doc, const std::string& where);
TimeModel LoadTimeModel(const std::string& path);

}  // namespace chronoscale
