#include "chronoscale/step_time.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "chronoscale/error.h"

namespace chronoscale {
namespace {

constexpr const char* kEstimatorNames[] = {"flops", "memcopy", "roofline", "calibrated"};

bool OnTensorUnits(OpKind k) { return k == OpKind::kMatmul || k == OpKind::kAttention; }

}  // namespace

std::string ToString(EstimatorKind e) { return kEstimatorNames[static_cast<int>(e)]; }

std::string ToString(CalibratedForm f) {
  return f == CalibratedForm::kSegments ? "segments" : "whole-step";
}

bool Parse(std::string_view text, CalibratedForm* out) {
  if (text == "segments") {
    *out = CalibratedForm::kSegments;
    return true;
  }
  if (text == "whole-step") {
    *out = CalibratedForm::kWholeStep;
    return true;
  }
  return false;
}

std::string DescribeCalibrated(const CalibratedCoefficients& k) {
  auto rate = [](double s_per, double unit) { return s_per > 0 ? unit / s_per : 0.0; };
  const std::string group = fmt::format(
      "smax_p(matmul FLOPs / {:.0f} TFLOP/s + attention FLOPs / {:.0f} TFLOP/s + bytes / {:.0f} "
      "GB/s, launches x {:.1f} us)",
      rate(k.matmul_s_per_flop, 1e-12), rate(k.attention_s_per_flop, 1e-12),
      rate(k.s_per_byte, 1e-9), k.s_per_launch * 1e6);
  const std::string optimizer =
      fmt::format("optimizer smax_p(bytes, {:.1f} us per tensor), p = {:.1f}",
                  k.s_per_tensor_update * 1e6, k.sharpness);
  if (k.form == CalibratedForm::kSegments) {
    return fmt::format(
        "calibrated: t = {:.3f} ms + sum over forward and backward of [{} of the layer stack + "
        "the same of the head] + {}\n",
        k.c0_s * 1e3, group, optimizer);
  }
  return fmt::format("calibrated (whole-step form): t = {:.3f} ms + {} + {}\n", k.c0_s * 1e3, group,
                     optimizer);
}

CalibratedTerms<double> TermsOf(const CalibratedCoefficients& k) {
  CalibratedTerms<double> t{k.c0_s,
                            k.matmul_s_per_flop,
                            k.attention_s_per_flop,
                            k.s_per_byte,
                            k.s_per_launch,
                            k.s_per_tensor_update,
                            k.sharpness,
                            k.form};
  return t;
}

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
    c->optimizer_bytes += op.Bytes() * op.count;
    c->optimizer_tensors += op.launches * op.count;
  } else {
    const double s = op.count * t.Roofline();
    c->compute_roofline_s += s;
    if (op.phase == Phase::kForward) c->forward_roofline_s += s;
    SegmentCounts& g = c->segments[SegmentOf(op)];
    if (op.kind == OpKind::kMatmul) g.matmul_flops += op.flops * op.count;
    if (op.kind == OpKind::kAttention) g.attention_flops += op.flops * op.count;
    g.bytes += op.Bytes() * op.count;
    g.launches += op.launches * op.count;
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
  if (!(mfu > 0 && mfu <= 1)) throw InputError("mfu", fmt::format(" {} must be in (0, 1]", mfu));
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
  const CalibratedPhases<double> ph = CalibratedPhaseSeconds(c, TermsOf(k));
  *compute = ph.forward + ph.backward;
  *optimizer = ph.optimizer;
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
    case EstimatorKind::kCalibrated:
      return CalibratedStep(c, TermsOf(model.calibrated), model.comm_multiplier,
                            model.comm_overlap);
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

namespace {

// The op's own term in estimator e (0 for the roofline's fixed cost); *c0 gets the estimator's
// fixed cost, kept apart from the shares.
double OpWeight(const Op& op, const TimeModel& model, EstimatorKind e, double* c0) {
  double x = 0;
  switch (e) {
    case EstimatorKind::kFlops:
      x = op.kind == OpKind::kMatmul || op.kind == OpKind::kAttention ? op.flops * op.count : 0;
      *c0 = model.flops_c0_s;
      break;
    case EstimatorKind::kMemcopy:
      x = op.Bytes() * op.count;
      *c0 = model.memcopy_c0_s;
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
      *c0 = k.c0_s;
      break;
    }
  }
  return x;
}

// Each communication op's exposed time per second of link time, by overlap class.
std::array<double, kNumOverlaps> ExposedPerLink(const TimeModel& model, const StepCounts& c,
                                                double compute_s) {
  // Each communication op gets its share of its overlap class's exposed time (by link time), so
  // that the ops add up to the step.
  std::array<double, kNumOverlaps> exposed_per_link{};
  for (std::size_t o = 0; o < kNumOverlaps; ++o) {
    if (!(c.comm_s[o] > 0)) continue;
    StepCounts one = c;
    one.comm_s.fill(0);
    one.comm_s[o] = c.comm_s[o];
    exposed_per_link[o] =
        ExposedCommSeconds(one, compute_s, model.comm_multiplier, model.comm_overlap) / c.comm_s[o];
  }
  return exposed_per_link;
}

// The calibrated estimator's group of an op: its segment (or 0 in the whole-step form), or
// kNumSegments for the optimizer.
std::size_t GroupOf(const TimeModel& model, const Op& op) {
  if (op.kind == OpKind::kOptimizer) return kNumSegments;
  return model.calibrated.form == CalibratedForm::kSegments ? SegmentOf(op) : 0;
}

// The calibrated estimator's time per group, and the sum of its ops' weights per group.
void CalibratedGroups(const TimeModel& model, const Workload& wl, const StepCounts& c,
                      const std::vector<double>& weight,
                      std::array<double, kNumSegments + 1>* group_s,
                      std::array<double, kNumSegments + 1>* group_w) {
  const CalibratedTerms<double> k = TermsOf(model.calibrated);
  const CalibratedPhases<double> ph = CalibratedPhaseSeconds(c, k);
  if (k.form == CalibratedForm::kSegments) {
    for (std::size_t g = 0; g < kNumSegments; ++g) {
      (*group_s)[g] = c.BubbleFactor() * GroupSeconds(c.segments[g], k);
    }
  } else {
    (*group_s)[0] = c.BubbleFactor() * (ph.forward + ph.backward);
  }
  (*group_s)[kNumSegments] = ph.optimizer;
  for (std::size_t i = 0; i < wl.ops.size(); ++i) {
    if (wl.ops[i].kind != OpKind::kCommunication) {
      (*group_w)[GroupOf(model, wl.ops[i])] += weight[i];
    }
  }
}

}  // namespace

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
    if (op.kind == OpKind::kCommunication) {
      weight.push_back(0);
      continue;
    }
    const double x = OpWeight(op, model, e, &c0);
    weight.push_back(x);
    sum += x;
  }
  const std::array<double, kNumOverlaps> exposed_per_link =
      ExposedPerLink(model, c, parts.compute_s);
  // The calibrated estimator: each op shares its group's time (a segment's smooth max, or the
  // whole step's in the first form, times the bubble; the optimizer's) by its weight.
  std::array<double, kNumSegments + 1> group_s{}, group_w{};
  if (e == EstimatorKind::kCalibrated) CalibratedGroups(model, wl, c, weight, &group_s, &group_w);
  for (std::size_t i = 0; i < wl.ops.size(); ++i) {
    const Op& op = wl.ops[i];
    if (e == EstimatorKind::kCalibrated && op.kind != OpKind::kCommunication) {
      const std::size_t g = GroupOf(model, op);
      out.push_back(group_w[g] > 0 ? group_s[g] * weight[i] / group_w[g] : 0);
      continue;
    }
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

}  // namespace chronoscale
