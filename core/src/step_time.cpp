#include "chronoscale/step_time.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "chronoscale/error.h"
#include "chronoscale/io.h"
#include "chronoscale/version.h"

namespace chronoscale {
namespace {

constexpr const char* kEstimatorNames[] = {"flops", "memcopy", "roofline", "calibrated"};

double SmoothMax(double x, double y, double p) {
  const double m = std::max(x, y);
  if (m <= 0) return 0;
  return m * std::pow(std::pow(x / m, p) + std::pow(y / m, p), 1.0 / p);
}

bool OnTensorUnits(OpKind k) { return k == OpKind::kMatmul || k == OpKind::kAttention; }

}  // namespace

std::string ToString(EstimatorKind e) { return kEstimatorNames[static_cast<int>(e)]; }

bool Parse(std::string_view text, EstimatorKind* out) {
  for (std::size_t i = 0; i < kNumEstimators; ++i) {
    if (text == kEstimatorNames[i]) {
      *out = static_cast<EstimatorKind>(i);
      return true;
    }
  }
  if (text == "flop" || text == "flops-only") {
    *out = EstimatorKind::kFlops;
    return true;
  }
  if (text == "memory" || text == "memcopies" || text == "memory-copies") {
    *out = EstimatorKind::kMemcopy;
    return true;
  }
  return false;
}

double StepCounts::TotalFlops() const {
  double s = 0;
  for (double x : flops) s += x;
  return s;
}
double StepCounts::TotalBytes() const {
  double s = 0;
  for (double x : bytes) s += x;
  return s;
}
double StepCounts::TotalExps() const {
  double s = 0;
  for (double x : exps) s += x;
  return s;
}
double StepCounts::TotalLaunches() const {
  double s = 0;
  for (double x : launches) s += x;
  return s;
}

double StepCounts::CommSeconds() const {
  double s = 0;
  for (double x : comm_s) s += x;
  return s;
}

Rates MakeRates(const HardwareProfile& hw, Precision precision) {
  Rates r;
  r.hw = &hw;
  r.matmul = hw.MatmulRate(precision);
  r.vector = hw.VectorRate(Precision::kFp32);
  r.inv_bandwidth = 1.0 / hw.mem_bandwidth_bytes_per_s;
  r.inv_exp = 1.0 / hw.ExpRate();
  r.launch_s = hw.launch_overhead_s;
  return r;
}

double OpSeconds::Roofline() const { return std::max({compute, memory, exp}) + launch + comm; }

OpSeconds PriceOp(const Op& op, const Rates& r) {
  OpSeconds t;
  if (op.kind == OpKind::kCommunication) {
    t.comm = CollectiveSeconds(op.collective, op.comm_bytes, op.group, op.group_per_node, *r.hw);
    return t;
  }
  t.compute = op.flops / (OnTensorUnits(op.kind) ? r.matmul : r.vector);
  t.memory = op.Bytes() * r.inv_bandwidth;
  t.exp = op.exps * r.inv_exp;
  t.launch = op.launches * r.launch_s;
  return t;
}

double RooflineOpSeconds(const Op& op, const HardwareProfile& hw) {
  return op.count * PriceOp(op, MakeRates(hw, op.precision)).Roofline();
}

namespace {

void Accumulate(const Op& op, const Rates& rates, StepCounts* c) {
  const auto k = static_cast<std::size_t>(op.kind);
  c->flops[k] += op.flops * op.count;
  c->bytes[k] += op.Bytes() * op.count;
  c->exps[k] += op.exps * op.count;
  c->launches[k] += op.launches * op.count;
  const OpSeconds t = PriceOp(op, rates);
  if (op.kind == OpKind::kCommunication) {
    c->comm_s[static_cast<std::size_t>(op.overlap)] += op.count * t.comm;
  } else if (op.kind == OpKind::kOptimizer) {
    c->optimizer_roofline_s += op.count * t.Roofline();
  } else {
    const double s = op.count * t.Roofline();
    c->compute_roofline_s += s;
    if (op.phase == Phase::kForward) c->forward_roofline_s += s;
  }
}

}  // namespace

StepCounts CountCompute(const ModelShape& shape, const ParallelLayout& layout, const Rates& rates) {
  StepCounts c;
  c.micro_steps = static_cast<double>(layout.grad_accum);
  c.stages = static_cast<double>(layout.pp);
  c.layers_per_stage = static_cast<double>(LayersPerStage(shape, layout));
  ForEachComputeOp(shape, layout, [&](const Op& op) { Accumulate(op, rates, &c); });
  return c;
}

void AddStepOps(const ModelShape& shape, const ParallelLayout& layout, const Rates& rates,
                StepCounts* c) {
  ForEachStepOp(shape, layout, [&](const Op& op) { Accumulate(op, rates, c); });
  // The FLOP-only baseline's count: 6 N T (forward + backward of every parameter) plus
  // attention, as in Kaplan et al. / Chinchilla (attention here is the accounting's own), per
  // device.
  const double attention_flops = c->flops[static_cast<std::size_t>(OpKind::kAttention)];
  c->model_flops =
      6 * shape.Params() * shape.TokensPerStep() / static_cast<double>(layout.devices) +
      attention_flops;
  c->roofline_s = c->compute_roofline_s * c->BubbleFactor() +
                  ExposedCommSeconds(*c, c->compute_roofline_s, 1.0, 1.0) + c->optimizer_roofline_s;
}

StepCounts CountStep(const ModelShape& shape, const ParallelLayout& given,
                     const HardwareProfile& hw) {
  const ParallelLayout layout = Resolve(given, shape);
  const Rates rates = MakeRates(hw, shape.precision);
  StepCounts c = CountCompute(shape, layout, rates);
  AddStepOps(shape, layout, rates, &c);
  return c;
}

StepCounts CountStep(const ModelShape& shape, const HardwareProfile& hw) {
  return CountStep(shape, SingleDevice(shape), hw);
}

bool TimeModel::Has(EstimatorKind e) const {
  switch (e) {
    case EstimatorKind::kFlops:
      return flops_s_per_flop > 0;
    case EstimatorKind::kMemcopy:
      return memcopy_s_per_byte > 0;
    case EstimatorKind::kRoofline:
      return true;
    case EstimatorKind::kCalibrated:
      return fitted[static_cast<std::size_t>(EstimatorKind::kCalibrated)];
  }
  return false;
}

TimeModel DefaultTimeModel(const HardwareProfile& hw, double mfu) {
  if (!(mfu > 0 && mfu <= 1)) throw InputError(fmt::format("--mfu {} must be in (0, 1]", mfu));
  TimeModel m;
  m.hardware = hw;
  m.flops_s_per_flop = 1.0 / (hw.MatmulRate(Precision::kBf16) * mfu);
  m.memcopy_s_per_byte = 1.0 / hw.mem_bandwidth_bytes_per_s;
  m.best = EstimatorKind::kRoofline;
  return m;
}

namespace {

// The calibrated estimator's forward + backward time (all micro-steps, no bubble) and its
// optimizer time.
void CalibratedParts(const CalibratedCoefficients& k, const StepCounts& c, double* compute,
                     double* optimizer) {
  constexpr auto kOpt = static_cast<std::size_t>(OpKind::kOptimizer);
  constexpr auto kComm = static_cast<std::size_t>(OpKind::kCommunication);
  const double gpu =
      c.flops[static_cast<std::size_t>(OpKind::kMatmul)] * k.matmul_s_per_flop +
      c.flops[static_cast<std::size_t>(OpKind::kAttention)] * k.attention_s_per_flop +
      (c.TotalBytes() - c.bytes[kOpt]) * k.s_per_byte;
  const double cpu = (c.TotalLaunches() - c.launches[kOpt] - c.launches[kComm]) * k.s_per_launch;
  *compute = SmoothMax(gpu, cpu, k.sharpness);
  *optimizer = SmoothMax(c.bytes[kOpt] * k.s_per_byte, c.launches[kOpt] * k.s_per_tensor_update,
                         k.sharpness);
}

}  // namespace

TimeModel Retarget(const TimeModel& model, const HardwareProfile& hw) {
  TimeModel m = model;
  const double mm = model.hardware.MatmulRate(Precision::kBf16) / hw.MatmulRate(Precision::kBf16);
  const double bw = model.hardware.mem_bandwidth_bytes_per_s / hw.mem_bandwidth_bytes_per_s;
  m.hardware = hw;
  m.flops_s_per_flop *= mm;
  m.memcopy_s_per_byte *= bw;
  m.calibrated.matmul_s_per_flop *= mm;
  m.calibrated.attention_s_per_flop *= mm;
  m.calibrated.s_per_byte *= bw;
  return m;
}

double PredictFromCounts(const TimeModel& model, const StepCounts& c, EstimatorKind e) {
  switch (e) {
    case EstimatorKind::kFlops:
      return model.flops_c0_s + model.flops_s_per_flop * c.model_flops;
    case EstimatorKind::kMemcopy:
      return model.memcopy_c0_s + model.memcopy_s_per_byte * c.TotalBytes();
    case EstimatorKind::kRoofline:
      return c.compute_roofline_s * c.BubbleFactor() +
             ExposedCommSeconds(c, c.compute_roofline_s, model.comm_multiplier,
                                model.comm_overlap) +
             c.optimizer_roofline_s;
    case EstimatorKind::kCalibrated: {
      double compute = 0, optimizer = 0;
      CalibratedParts(model.calibrated, c, &compute, &optimizer);
      return model.calibrated.c0_s + compute * c.BubbleFactor() +
             ExposedCommSeconds(c, compute, model.comm_multiplier, model.comm_overlap) + optimizer;
    }
  }
  return 0;
}

double PredictStepSeconds(const TimeModel& model, const ModelShape& shape, EstimatorKind e) {
  return PredictStepSeconds(model, shape, SingleDevice(shape), e);
}

double PredictStepSeconds(const TimeModel& model, const ModelShape& shape,
                          const ParallelLayout& layout, EstimatorKind e) {
  if (!model.Has(e)) {
    throw InputError(
        fmt::format("the {} estimator needs a fitted time model: run `chronoscale "
                    "fit-time --runs RUNS.csv --out time_model.json` and pass "
                    "--time-model time_model.json",
                    ToString(e)));
  }
  return PredictFromCounts(model, CountStep(shape, layout, model.hardware), e);
}

StepExplanation ExplainStep(const TimeModel& model, const Workload& wl, EstimatorKind e) {
  const StepCounts c = CountStep(wl.shape, wl.layout, model.hardware);
  StepExplanation x;
  x.total_s = PredictFromCounts(model, c, e);
  x.comm_s = model.comm_multiplier * c.CommSeconds();
  double compute = 0;
  switch (e) {
    case EstimatorKind::kFlops:
      x.fixed_s = model.flops_c0_s;
      x.compute_s = x.total_s - x.fixed_s;
      return x;
    case EstimatorKind::kMemcopy:
      x.fixed_s = model.memcopy_c0_s;
      x.compute_s = x.total_s - x.fixed_s;
      return x;
    case EstimatorKind::kRoofline:
      compute = c.compute_roofline_s;
      x.optimizer_s = c.optimizer_roofline_s;
      break;
    case EstimatorKind::kCalibrated:
      CalibratedParts(model.calibrated, c, &compute, &x.optimizer_s);
      x.fixed_s = model.calibrated.c0_s;
      break;
  }
  x.compute_s = compute;
  x.bubble_s = compute * (c.BubbleFactor() - 1);
  x.exposed_comm_s = ExposedCommSeconds(c, compute, model.comm_multiplier, model.comm_overlap);
  return x;
}

std::vector<double> ExplainOpSeconds(const TimeModel& model, const Workload& wl, EstimatorKind e) {
  std::vector<double> out;
  out.reserve(wl.ops.size());
  const StepCounts c = CountStep(wl.shape, wl.layout, model.hardware);
  const StepExplanation parts = ExplainStep(model, wl, e);
  const double total = PredictFromCounts(model, c, e) - parts.exposed_comm_s;
  const Rates rates = MakeRates(model.hardware, wl.shape.precision);
  // Attribute the step's time to ops: roofline per op; the fitted estimators share the step's
  // time in proportion to each op's own term in the model, with the fixed cost c0 kept apart.
  // Communication ops show their link time; the exposed part of it is kept out of the shares.
  std::vector<double> weight;
  double sum = 0, c0 = 0;
  for (const Op& op : wl.ops) {
    double x = 0;
    if (op.kind == OpKind::kCommunication) {
      weight.push_back(0);
      continue;
    }
    switch (e) {
      case EstimatorKind::kFlops:
        x = op.kind == OpKind::kMatmul || op.kind == OpKind::kAttention ? op.flops * op.count : 0;
        c0 = model.flops_c0_s;
        break;
      case EstimatorKind::kMemcopy:
        x = op.Bytes() * op.count;
        c0 = model.memcopy_c0_s;
        break;
      case EstimatorKind::kRoofline:
        x = RooflineOpSeconds(op, model.hardware);
        break;
      case EstimatorKind::kCalibrated: {
        const CalibratedCoefficients& k = model.calibrated;
        const double f = op.kind == OpKind::kMatmul      ? k.matmul_s_per_flop
                         : op.kind == OpKind::kAttention ? k.attention_s_per_flop
                                                         : 0;
        const double gpu = op.count * (op.flops * f + op.Bytes() * k.s_per_byte);
        const double cpu = op.count * op.launches *
                           (op.kind == OpKind::kOptimizer ? k.s_per_tensor_update : k.s_per_launch);
        x = std::max(gpu, cpu);
        c0 = k.c0_s;
        break;
      }
    }
    weight.push_back(x);
    sum += x;
  }
  // Each communication op gets its share of its overlap class's exposed time (by link time), so
  // that the ops add up to the step.
  std::array<double, kNumOverlaps> exposed_per_link{};
  for (std::size_t o = 0; o < kNumOverlaps; ++o) {
    if (!(c.comm_s[o] > 0)) continue;
    StepCounts one = c;
    one.comm_s.fill(0);
    one.comm_s[o] = c.comm_s[o];
    exposed_per_link[o] =
        ExposedCommSeconds(one, parts.compute_s, model.comm_multiplier, model.comm_overlap) /
        c.comm_s[o];
  }
  for (std::size_t i = 0; i < wl.ops.size(); ++i) {
    const Op& op = wl.ops[i];
    if (op.kind == OpKind::kCommunication) {
      out.push_back(e == EstimatorKind::kFlops || e == EstimatorKind::kMemcopy
                        ? 0
                        : exposed_per_link[static_cast<std::size_t>(op.overlap)] * op.count *
                              PriceOp(op, rates).comm);
    } else {
      out.push_back(sum > 0 ? (total - c0) * weight[i] / sum : 0);
    }
  }
  return out;
}

nlohmann::json TimeModelToJson(const TimeModel& m) {
  nlohmann::json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["tool"] = "chronoscale";
  doc["version"] = Version();
  doc["kind"] = "time_model";
  doc["hardware"] = HardwareToJson(m.hardware);
  doc["best"] = ToString(m.best);
  nlohmann::json est;
  est["flops"] = {
      {"fitted", m.fitted[0]}, {"c0_s", m.flops_c0_s}, {"s_per_flop", m.flops_s_per_flop}};
  est["memcopy"] = {
      {"fitted", m.fitted[1]}, {"c0_s", m.memcopy_c0_s}, {"s_per_byte", m.memcopy_s_per_byte}};
  est["roofline"] = {{"fitted", false}};
  if (m.fitted[3]) {
    const auto& k = m.calibrated;
    est["calibrated"] = {{"fitted", true},
                         {"c0_s", k.c0_s},
                         {"matmul_s_per_flop", k.matmul_s_per_flop},
                         {"attention_s_per_flop", k.attention_s_per_flop},
                         {"s_per_byte", k.s_per_byte},
                         {"s_per_launch", k.s_per_launch},
                         {"s_per_tensor_update", k.s_per_tensor_update},
                         {"sharpness", k.sharpness}};
  }
  doc["estimators"] = est;
  doc["communication"] = {{"multiplier", m.comm_multiplier}, {"overlap", m.comm_overlap}};
  doc["report"] = m.report;
  return doc;
}

TimeModel TimeModelFromJson(const nlohmann::json& doc, const std::string& where) {
  if (!doc.is_object() || !doc.contains("hardware") || !doc.contains("estimators")) {
    throw InputError(
        fmt::format("{}: not a time model (expected keys 'hardware' and 'estimators', "
                    "as written by fit-time --out)",
                    where));
  }
  TimeModel m;
  m.hardware = HardwareFromJson(doc.at("hardware"), where + " (hardware)");
  const auto& est = doc.at("estimators");
  const std::string w = where + " (estimators)";
  if (!est.is_object()) throw InputError(fmt::format("{}: 'estimators' must be an object", where));
  auto fitted = [&](const char* name) {
    if (!est.contains(name) || !est.at(name).is_object()) return false;
    const auto& e = est.at(name);
    const auto it = e.find("fitted");
    if (it == e.end() || it->is_null()) return false;
    if (!it->is_boolean()) {
      throw InputError(
          fmt::format("{}.{}: key 'fitted' must be true or false, found {}", w, name, it->dump()));
    }
    return it->get<bool>();
  };
  if (est.contains("flops")) {
    m.flops_c0_s = JsonNumber(est.at("flops"), "c0_s", w + ".flops", 0, 1e6);
    m.flops_s_per_flop = JsonNumber(est.at("flops"), "s_per_flop", w + ".flops", 0, 1);
    m.fitted[0] = fitted("flops");
  }
  if (est.contains("memcopy")) {
    m.memcopy_c0_s = JsonNumber(est.at("memcopy"), "c0_s", w + ".memcopy", 0, 1e6);
    m.memcopy_s_per_byte = JsonNumber(est.at("memcopy"), "s_per_byte", w + ".memcopy", 0, 1);
    m.fitted[1] = fitted("memcopy");
  }
  if (fitted("calibrated")) {
    const auto& c = est.at("calibrated");
    const std::string wc = w + ".calibrated";
    auto& k = m.calibrated;
    k.c0_s = JsonNumber(c, "c0_s", wc, 0, 1e6);
    k.matmul_s_per_flop = JsonNumber(c, "matmul_s_per_flop", wc, 0, 1);
    k.attention_s_per_flop = JsonNumber(c, "attention_s_per_flop", wc, 0, 1);
    k.s_per_byte = JsonNumber(c, "s_per_byte", wc, 0, 1);
    k.s_per_launch = JsonNumber(c, "s_per_launch", wc, 0, 1);
    k.s_per_tensor_update = JsonNumber(c, "s_per_tensor_update", wc, 0, 1);
    k.sharpness = JsonNumber(c, "sharpness", wc, 1, 64);
    m.fitted[3] = true;
  }
  if (doc.contains("best")) {
    const std::string best = JsonString(doc, "best", where);
    if (!Parse(best, &m.best) || !m.Has(m.best)) {
      throw InputError(
          fmt::format("{}: key 'best' is '{}', which is not an available estimator", where, best));
    }
  }
  if (doc.contains("communication")) {
    const auto& c = doc.at("communication");
    const std::string wc = where + " (communication)";
    if (!c.is_object()) throw InputError(fmt::format("{}: must be an object", wc));
    m.comm_multiplier = JsonNumberOr(c, "multiplier", wc, 0.01, 100, 1);
    m.comm_overlap = JsonNumberOr(c, "overlap", wc, 0, 1, 0.8);
  }
  if (doc.contains("report")) m.report = doc.at("report");
  return m;
}

TimeModel LoadTimeModel(const std::string& path) {
  return TimeModelFromJson(ReadJsonFile(path), path);
}

}  // namespace chronoscale
