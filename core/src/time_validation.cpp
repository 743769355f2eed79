// Validation of fitted step-time models on runs they were not fitted on (time_fit.h): the
// multi-node holdout beside a constant-MFU rule, and leave-one-regime-out.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "chronoscale/stats.h"
#include "chronoscale/time_fit.h"

namespace chronoscale {
namespace {

constexpr std::size_t kMinTrainRuns = 10;

// Fits on `train` (no cross-validation) and appends the relative errors of `test`.
void FitAndPredict(const std::vector<StepRun>& train, const std::vector<StepRun>& test,
                   const HardwareProfile& hw, const TimeFitOptions& options,
                   std::vector<double>* errors, std::vector<const StepRun*>* runs) {
  TimeFitOptions o = options;
  o.cross_validate = false;
  const TimeFitSummary fit = FitTimeModel(train, hw, o);
  std::map<std::string, TimeModel> retargeted;  // one profile load per other device
  for (const StepRun& r : test) {
    const bool own = r.hardware.empty() || r.hardware == hw.name;
    auto it = retargeted.find(r.hardware);
    if (!own && it == retargeted.end()) {
      it = retargeted.emplace(r.hardware, Retarget(fit.model, LoadHardware(r.hardware))).first;
    }
    const TimeModel& m = own ? fit.model : it->second;
    errors->push_back(
        PredictStepSeconds(m, r.shape, r.layout, EstimatorKind::kCalibrated) / r.step_s - 1);
    runs->push_back(&r);
  }
}

RegimeResult Summarise(std::string dimension, const std::vector<double>& errors,
                       const std::vector<const StepRun*>& runs) {
  RegimeResult out;
  out.dimension = std::move(dimension);
  out.predicted_runs = static_cast<int>(errors.size());
  if (errors.empty()) return out;
  out.error = AbsStats(errors);
  out.signed_median = Median(errors);
  std::size_t worst = 0;
  for (std::size_t i = 1; i < errors.size(); ++i) {
    if (std::fabs(errors[i]) > std::fabs(errors[worst])) worst = i;
  }
  const ModelShape& s = runs[worst]->shape;
  out.worst_run = fmt::format("d{} x {}, seq {} x {}: {:+.1f}%", s.d_model, s.n_layers, s.seq_len,
                              s.batch, 100 * errors[worst]);
  return out;
}

}  // namespace

std::vector<RegimeResult> LeaveOneRegimeOut(const std::vector<StepRun>& runs,
                                            const HardwareProfile& hw,
                                            const TimeFitOptions& options) {
  const std::pair<const char*, std::function<int64_t(const ModelShape&)>> dims[] = {
      {"d_model", [](const ModelShape& s) { return s.d_model; }},
      {"n_layers", [](const ModelShape& s) { return s.n_layers; }},
      {"batch", [](const ModelShape& s) { return s.batch; }},
      {"seq_len", [](const ModelShape& s) { return s.seq_len; }}};
  std::vector<RegimeResult> out;
  for (const auto& [name, key] : dims) {
    std::map<int64_t, std::vector<StepRun>> groups;
    for (const auto& r : runs) groups[key(r.shape)].push_back(r);
    std::vector<double> errors;
    std::vector<const StepRun*> predicted;
    int skipped = 0;
    for (const auto& [value, test] : groups) {
      std::vector<StepRun> train;
      for (const auto& r : runs)
        if (key(r.shape) != value) train.push_back(r);
      if (train.size() < kMinTrainRuns) {
        ++skipped;
        continue;
      }
      FitAndPredict(train, test, hw, options, &errors, &predicted);
    }
    RegimeResult res = Summarise(name, errors, predicted);
    res.values = static_cast<int>(groups.size());
    res.skipped_values = skipped;
    out.push_back(res);
  }
  // Fit at the most common tokens per step, predict the rest.
  std::map<double, std::size_t> tokens;
  for (const auto& r : runs) ++tokens[r.shape.TokensPerStep()];
  const auto mode = std::max_element(tokens.begin(), tokens.end(), [](auto& a, auto& b) {
                      return a.second < b.second;
                    })->first;
  std::vector<StepRun> train, test;
  for (const auto& r : runs) (r.shape.TokensPerStep() == mode ? train : test).push_back(r);
  std::vector<double> errors;
  std::vector<const StepRun*> predicted;
  if (train.size() >= kMinTrainRuns && !test.empty()) {
    FitAndPredict(train, test, hw, options, &errors, &predicted);
  }
  RegimeResult res = Summarise(fmt::format("tokens (fit at {:.0f})", mode), errors, predicted);
  res.values = static_cast<int>(tokens.size());
  res.skipped_values = errors.empty() ? res.values : 0;
  out.push_back(res);
  return out;
}

std::vector<HoldoutLine> EvaluateHoldout(const TimeFitSummary& fit,
                                         const std::vector<StepRun>& train,
                                         const std::vector<StepRun>& test) {
  const TimeModel& model = fit.model;
  std::map<std::string, HardwareProfile> profiles;
  auto hw_of = [&](const StepRun& r) -> const HardwareProfile& {
    if (r.hardware.empty() || r.hardware == model.hardware.name) return model.hardware;
    auto it = profiles.find(r.hardware);
    if (it == profiles.end()) it = profiles.emplace(r.hardware, LoadHardware(r.hardware)).first;
    return it->second;
  };
  auto errors = [&](const std::vector<StepRun>& runs, const auto& predict) {
    std::vector<double> e;
    for (const auto& r : runs) e.push_back(predict(r) / r.step_s - 1);
    return e;
  };
  std::vector<HoldoutLine> out;
  const TimeModel uncalibrated = DefaultTimeModel(model.hardware);
  for (EstimatorKind e : {EstimatorKind::kRoofline, EstimatorKind::kFlops, EstimatorKind::kMemcopy,
                          EstimatorKind::kCalibrated}) {
    const bool fitted = e == EstimatorKind::kRoofline || model.fitted[static_cast<std::size_t>(e)];
    if (!fitted) continue;
    const TimeModel& base = e == EstimatorKind::kRoofline ? uncalibrated : model;
    auto predict = [&](const StepRun& r) {
      return PredictStepSeconds(Retarget(base, hw_of(r)), r.shape, r.layout, e);
    };
    HoldoutLine line;
    line.name = e == EstimatorKind::kRoofline ? "roofline (uncalibrated)" : ToString(e);
    line.train = AbsStats(errors(train, predict));
    const auto te = errors(test, predict);
    line.test = AbsStats(te);
    line.signed_median_test = Median(te);
    if (e == EstimatorKind::kRoofline) line.note = "datasheet rates and links, no fit";
    if (e == EstimatorKind::kFlops) line.note = "c0 + FLOPs per device x c1, fitted";
    out.push_back(line);
  }
  // The constant-MFU rule: t = model FLOPs per device / (peak x u), u the training runs' median.
  auto ideal = [&](const StepRun& r) {
    const HardwareProfile& h = hw_of(r);
    return CountStep(r.shape, r.layout, h).model_flops / h.MatmulRate(Precision::kBf16);
  };
  std::vector<double> mfu;
  for (const auto& r : train) mfu.push_back(ideal(r) / r.step_s);
  if (!mfu.empty()) {
    std::sort(mfu.begin(), mfu.end());
    const double u = Median(mfu);
    auto predict = [&](const StepRun& r) { return ideal(r) / u; };
    HoldoutLine line;
    line.name = "constant MFU";
    line.train = AbsStats(errors(train, predict));
    const auto te = errors(test, predict);
    line.test = AbsStats(te);
    line.signed_median_test = Median(te);
    line.note = fmt::format("MFU {:.3f}, the training runs' median", u);
    out.push_back(line);
  }
  return out;
}

}  // namespace chronoscale
