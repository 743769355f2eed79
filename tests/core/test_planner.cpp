#include <catch2/catch.hpp>
#include <cmath>

#include <chronoscale/error.h>
#include <chronoscale/planner.h>

#include "hand_count.h"

using namespace chronoscale;

namespace {
PlanOptions Options(double hours) {
  PlanOptions o;
  o.hours = hours;
  o.base = ReferenceShape(1024, 1);
  return o;
}
double Aspect(const Candidate& c) {
  return static_cast<double>(c.shape.d_model) / static_cast<double>(c.shape.n_layers);
}
// Step time of a reference-family shape under the roofline on `hw`, by hand (hand_count.h).
double HandStep(const ModelShape& s, const HardwareProfile& hw) {
  const auto k = chronoscale::test::HandCount(
      static_cast<double>(s.d_model), static_cast<double>(s.n_layers), static_cast<double>(s.vocab),
      static_cast<double>(s.seq_len), static_cast<double>(s.batch), static_cast<double>(s.n_heads));
  return chronoscale::test::HandRoofline(k, static_cast<double>(s.n_layers), hw);
}
// The law by hand: E + A / N^alpha + B / D^beta.
double HandLoss(const LossLaw& l, double n, double d) {
  return l.E + l.A / std::pow(n, l.alpha) + l.B / std::pow(d, l.beta);
}
// 1e-9: the same sums as the library in another order (see test_known_answers.cpp).
constexpr double kRel = 1e-9;
}  // namespace

TEST_CASE("Tokens and loss of one candidate by hand") {
  const TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  const LossLaw law = LossLawPreset("epoch");
  PlanOptions o = Options(10);
  const ModelShape s = ReferenceShape(1024, 8);
  const Candidate c = Evaluate(o, m, law, s);
  const double step = HandStep(s, m.hardware);
  CHECK(c.step_s == Approx(step).epsilon(kRel));
  CHECK(c.tokens == Approx(10 * 3600.0 / step * 8 * 1024).epsilon(kRel));
  CHECK(c.loss == Approx(HandLoss(law, s.Params(), c.tokens)).epsilon(kRel));
  o.goodput = 0.5;
  CHECK(Evaluate(o, m, law, s).tokens == Approx(c.tokens / 2));
}

TEST_CASE("The FLOP-based answer is Chinchilla's N_opt at the conventional aspect ratio") {
  const TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  const LossLaw law = LossLawPreset("epoch");
  PlanOptions fixed = Options(24);
  fixed.mfu_override = true;  // --mfu 0.4
  const PlanResult r = Plan(fixed, m, law, "epoch");
  REQUIRE(r.found);
  CHECK_FALSE(r.flop_mfu_from_model);
  const double C = 989.4e12 * 0.4 * 24 * 3600;
  CHECK(r.flop_alloc.flops == Approx(C));
  CHECK(r.flop_alloc.params == Approx(Allocate(law, C).params));
  CHECK(std::fabs(std::log(r.flop_based.total_params / r.flop_alloc.params)) < 0.2);
  CHECK(Aspect(r.flop_based) == Approx(100).epsilon(0.35));
  // Both answers priced by hand: step, tokens in the budget, loss.
  for (const Candidate* c : {&r.best, &r.flop_based}) {
    INFO("d " << c->shape.d_model << " x " << c->shape.n_layers);
    const double step = HandStep(c->shape, m.hardware);
    CHECK(c->step_s == Approx(step).epsilon(kRel));
    CHECK(c->tokens == Approx(24 * 3600.0 / step * 8 * 1024).epsilon(kRel));
    CHECK(c->loss == Approx(HandLoss(law, c->shape.Params(), c->tokens)).epsilon(kRel));
  }
  // The best shape is the lowest loss of a brute-force walk over the same grid (every candidate
  // the sweep reports as admissible), and the top list is in order.
  double lowest = 1e300;
  SweepCandidates(Options(24), m, law, [&](const Candidate& c) {
    if (c.fits) lowest = std::min(lowest, c.loss);
  });
  CHECK(r.best.loss == lowest);
  for (std::size_t i = 1; i < r.top.size(); ++i) CHECK(r.top[i - 1].loss <= r.top[i].loss);
  CHECK(r.loss_saved > 0);
}

TEST_CASE("Where memory traffic dominates, the time-optimal shape is wider and shallower") {
  // A device with plenty of compute and little bandwidth: activation bytes, which grow with
  // depth at fixed N, dominate the step.
  HardwareProfile hw = LoadHardware("h100-sxm");
  hw.mem_bandwidth_bytes_per_s = 0.3e12;
  const TimeModel m = DefaultTimeModel(hw);
  PlanOptions o = Options(24);
  o.mfu_override = true;  // --mfu 0.4: more than this device delivers
  const PlanResult r = Plan(o, m, LossLawPreset("epoch"), "epoch");
  REQUIRE(r.found);
  INFO("best d/n " << Aspect(r.best) << " flop-based d/n " << Aspect(r.flop_based));
  CHECK(Aspect(r.best) > 1.5 * Aspect(r.flop_based));
  CHECK(r.best.tokens > r.flop_based.tokens);
  CHECK(r.loss_saved > 0);
  // With the MFU the model predicts for it, the FLOP-based answer is a smaller model (this device
  // is slow), the time-optimal shape is still the wider one, and it still wins.
  o.mfu_override = false;
  const PlanResult fair = Plan(o, m, LossLawPreset("epoch"), "epoch");
  CHECK(fair.flop_mfu < 0.4);
  CHECK(fair.flop_based.params < r.flop_based.params);
  CHECK(Aspect(fair.best) > 1.5 * Aspect(fair.flop_based));
  CHECK(fair.loss_saved > 0);
}

TEST_CASE("Data parallelism: a DDP all-reduce hidden under the backward but for one bucket") {
  const HardwareProfile hw = LoadHardware("h100-sxm");
  const TimeModel m = DefaultTimeModel(hw);
  const LossLaw law = LossLawPreset("epoch");
  PlanOptions o = Options(24);
  o.base.batch = 32;  // global
  o.devices = 4;
  o.pins = ParseLayoutPins("tp=1,pp=1,sharding=none,micro=8", "--layout");
  ModelShape global = ReferenceShape(1024, 8);
  global.batch = 32;
  ModelShape per_device = global;
  per_device.batch = 8;
  const Candidate c = Evaluate(o, m, law, global);
  REQUIRE(c.fits);
  CHECK(c.layout.Dp() == 4);
  // Ring all-reduce of fp32 gradients over 4 GPUs in a node: 2 (g-1)/g x 4 P / B + 2 (g-1)
  // latencies. The backward (about two thirds of a 7 ms step) hides it but for the last layer's
  // bucket, 1 / (layers + 1) of it.
  const double allreduce =
      2.0 * 3 / 4 * 4 * per_device.Params() / hw.interconnect_bandwidth_bytes_per_s +
      2.0 * 3 * hw.intra_node_latency_s;
  CHECK(c.step_s == Approx(HandStep(per_device, hw) + allreduce / 9).epsilon(kRel));
  CHECK(c.tokens == Approx(24 * 3600.0 / c.step_s * 32 * 1024));
  // 3 devices cannot split 32 sequences: no legal layout, and the plan says why
  o.devices = 3;
  o.pins = LayoutPins{};
  const Candidate bad = Evaluate(o, m, law, global);
  CHECK_FALSE(bad.fits);
  CHECK_THAT(bad.why_not, Catch::Contains("does not split over dp 3"));
  // whereas a plan can use 3 pipeline stages on depths divisible by 3 (dp 1)
  const PlanResult r3 = Plan(o, m, law);
  REQUIRE(r3.found);
  CHECK(r3.best.layout.pp == 3);
}

TEST_CASE("Surface and memory limits") {
  PlanOptions o = Options(1);
  o.width = {256, 8192, 256};
  o.depth = {1, 64, 1};
  HardwareProfile hw = LoadHardware("rtx-4090");
  const PlanResult r = Plan(o, DefaultTimeModel(hw), LossLawPreset("chinchilla"), "chinchilla");
  CHECK(r.widths.size() == 32);
  CHECK(r.depths.size() == 64);
  CHECK(r.loss.size() == 32 * 64);
  CHECK(r.fitting < r.candidates);
  for (const auto& c : r.top) CHECK(c.memory_bytes <= hw.memory_bytes);
  // a shape past memory is marked with a reason
  int over = 0;
  SweepCandidates(o, DefaultTimeModel(hw), LossLawPreset("chinchilla"), [&](const Candidate& c) {
    if (!c.fits && c.why_not.find("memory") != std::string::npos) ++over;
  });
  CHECK(over > 0);
}

TEST_CASE("Bad plan options are rejected with the flag named") {
  const TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  const LossLaw law = LossLawPreset("epoch");
  PlanOptions o = Options(-1);
  CHECK_THROWS_WITH(Plan(o, m, law), Catch::Contains("--hours"));
  o = Options(1);
  o.goodput = 1.5;
  CHECK_THROWS_WITH(Plan(o, m, law), Catch::Contains("--goodput"));
  CHECK_THROWS_WITH(ParseRange("64:32", "--width", 64), Catch::Contains("--width"));
  CHECK_THROWS_WITH(ParseRange("a:b", "--depth", 1), Catch::Contains("--depth"));
  CHECK(ParseRange("64:1024", "--width", 64).Count() == 16);
  // The error names its input as a field the front ends map to their own words (the GUI: a
  // widget's label); what() keeps the CLI's wording.
  o = Options(1);
  o.devices = 0;
  try {
    Plan(o, m, law);
    FAIL("devices 0 accepted");
  } catch (const InputError& e) {
    CHECK(e.field() == "devices");
    CHECK(e.detail() == " 0: expected a positive count");
    CHECK(std::string(e.what()) == "--devices 0: expected a positive count");
  }
  o = Options(1);
  o.devices = 6;
  o.gpus_per_node = 4;
  try {
    Plan(o, m, law);
    FAIL("6 devices on nodes of 4 accepted");
  } catch (const InputError& e) {
    CHECK(e.field() == "devices");
  }
}

TEST_CASE("On an aspect bound, the relaxed answer is the best of the grid with the bound relaxed") {
  // Plan prices only the cells beyond the bound a second time; its answer must be the one a whole
  // plan with the relaxed bound gives (three bounds under the roofline, memcopy and FLOP
  // estimators; a time budget puts the best on the upper bound: wide and shallow).
  const TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  const LossLaw law = LossLawPreset("epoch");
  struct Case {
    double min_aspect, max_aspect;
    EstimatorKind estimator;
  };
  for (const Case& k :
       {Case{8, 64, EstimatorKind::kRoofline}, Case{8, 256, EstimatorKind::kMemcopy},
        Case{8, 128, EstimatorKind::kFlops}}) {
    PlanOptions o = Options(24);
    o.width = {256, 8192, 128};
    o.depth = {1, 96, 1};
    o.min_aspect = k.min_aspect;
    o.max_aspect = k.max_aspect;
    o.estimator = k.estimator;
    const PlanResult r = Plan(o, m, law);
    INFO("aspect " << k.min_aspect << ":" << k.max_aspect);
    REQUIRE(r.on_aspect_bound);
    PlanOptions wide = o;
    (r.aspect_bound == o.max_aspect ? wide.max_aspect : wide.min_aspect) = r.relaxed_aspect_bound;
    const PlanResult w = Plan(wide, m, law);
    CHECK(r.at_relaxed_bound.shape.d_model == w.best.shape.d_model);
    CHECK(r.at_relaxed_bound.shape.n_layers == w.best.shape.n_layers);
    // The same shape priced under each plan's closed form, which is fitted on a sample of its
    // own grid and equals the op walk to 1e-13 (test_step_polynomial): equal to that, not bitwise.
    CHECK(r.at_relaxed_bound.loss == Approx(w.best.loss).epsilon(1e-12));
    CHECK(r.at_relaxed_bound.step_s == Approx(w.best.step_s).epsilon(1e-12));
  }
}

TEST_CASE("Grid ranges iterate on counts: a step near INT64_MAX cannot overflow") {
  // Issue 16: --width 1048576:1048576:9223372036854775807 used to wrap the loop and recommend
  // widths outside the range (d_model -9223372036854775745).
  PlanOptions o = Options(24);
  o.width = {64, 4096, INT64_MAX};
  o.depth = {1, 20, INT64_MAX - 1};
  o.min_aspect = 1e-3;
  o.max_aspect = 1e9;
  CHECK(o.width.Count() == 1);
  CHECK(o.depth.Count() == 1);
  const PlanResult r = Plan(o, DefaultTimeModel(LoadHardware("h100-sxm")), LossLawPreset("epoch"));
  REQUIRE(r.found);
  CHECK(r.candidates == 1);
  CHECK(r.best.shape.d_model == 64);
  CHECK(r.best.shape.n_layers == 1);
  o.top = kMaxTop + 1;
  CHECK_THROWS_AS(o.Validate(), InputError);
}

TEST_CASE("The FLOP-based answer uses the MFU the time model predicts, not a free constant") {
  const TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  const LossLaw law = LossLawPreset("epoch");
  PlanOptions o = Options(24);
  o.mfu = 0.2;  // not given as --mfu: ignored by the FLOP-based answer
  const PlanResult low = Plan(o, m, law);
  o.mfu = 0.6;
  const PlanResult high = Plan(o, m, law);
  REQUIRE(low.found);
  REQUIRE(high.found);
  CHECK(low.flop_mfu_from_model);
  CHECK(low.flop_based.shape.d_model == high.flop_based.shape.d_model);
  CHECK(low.flop_based.shape.n_layers == high.flop_based.shape.n_layers);
  CHECK(low.loss_saved == high.loss_saved);
  CHECK(low.flop_mfu == high.flop_mfu);
  // That MFU is what the model predicts for the answer: 6 N D over the peak, within the grid's
  // granularity (the fixed point stops where the next shape would be the same or a neighbour).
  const Candidate& f = low.flop_based;
  const double achieved = 6 * f.params * f.shape.TokensPerStep() / (f.step_s * 989.4e12);
  CHECK(low.flop_mfu == Approx(achieved).epsilon(0.05));
  CHECK(low.flop_alloc.flops == Approx(989.4e12 * low.flop_mfu * 24 * 3600));
  CHECK(low.loss_saved >= 0);
  // --mfu overrides it, and then the answer moves with it.
  o.mfu_override = true;
  o.mfu = 0.2;
  const PlanResult a = Plan(o, m, law);
  o.mfu = 0.6;
  const PlanResult b = Plan(o, m, law);
  CHECK_FALSE(a.flop_mfu_from_model);
  CHECK(a.flop_alloc.params < b.flop_alloc.params);
}

TEST_CASE("A data budget: repeated tokens count as Muennighoff et al.'s effective data") {
  // D' = U + U R* (1 - exp(-R / R*)), R = D / U - 1, R* = 15.4
  CHECK(EffectiveTokens(5e9, 10e9) == 5e9);  // no repetition
  CHECK(EffectiveTokens(5e9, 0) == 5e9);     // unlimited
  CHECK(EffectiveTokens(20e9, 10e9) == Approx(10e9 + 10e9 * 15.4 * (1 - std::exp(-1 / 15.4))));
  CHECK(EffectiveTokens(1e15, 1e9) == Approx(1e9 * 16.4).epsilon(1e-6));  // the asymptote
  const TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  const LossLaw law = LossLawPreset("epoch");
  PlanOptions o = Options(24);
  const PlanResult open = Plan(o, m, law);
  o.unique_tokens = open.best.tokens / 8;  // an eighth of what the best shape would read
  const PlanResult scarce = Plan(o, m, law);
  REQUIRE(scarce.found);
  CHECK(scarce.best.epochs > 1);
  CHECK(scarce.best.effective_tokens < scarce.best.tokens);
  CHECK(scarce.best.loss ==
        Approx(law.Loss(scarce.best.params, EffectiveTokens(scarce.best.tokens, o.unique_tokens))));
  // Scarce data favours more parameters and fewer repeats than the unlimited answer.
  CHECK(scarce.best.params > open.best.params);
  CHECK(scarce.best.loss > open.best.loss);
  o.unique_tokens = -1;
  CHECK_THROWS_WITH(Plan(o, m, law), Catch::Contains("--unique-tokens"));
}

TEST_CASE("Uncertainty: draws equal to the law and no step-time error give zero-width intervals") {
  const TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));  // unfitted: no CV spread
  LossLaw law = LossLawPreset("epoch");
  CHECK(TimeSpread(m, EstimatorKind::kRoofline) == 0);
  PlanOptions o = Options(24);
  o.top = 4;
  CHECK(Plan(o, m, law).draws == 0);  // nothing to propagate
  for (int i = 0; i < 10; ++i) law.draws.push_back({law.E, law.A, law.B, law.alpha, law.beta});
  const PlanResult r = Plan(o, m, law);
  REQUIRE(r.draws == 10);
  for (const Candidate& c : r.top) {
    CHECK(c.loss_lo == Approx(c.loss).epsilon(1e-12));
    CHECK(c.loss_hi == Approx(c.loss).epsilon(1e-12));
  }
  CHECK(r.top[0].p_best == 1);  // the best in every draw
  CHECK(r.loss_saved_lo == Approx(r.loss_saved).epsilon(1e-9));
  // A draw with a larger irreducible loss widens every interval upwards by the same amount.
  law.draws.back()[0] += 0.1;
  const PlanResult wide = Plan(o, m, law);
  CHECK(wide.top[0].loss_hi > wide.top[0].loss);
  CHECK(wide.loss_saved_hi == Approx(wide.loss_saved).epsilon(1e-9));  // paired: E cancels
}
