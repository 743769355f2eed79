#include <catch2/catch.hpp>
#include <cmath>

#include <chronoscale/error.h>
#include <chronoscale/planner.h>

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
}  // namespace

TEST_CASE("Tokens and loss of one candidate by hand") {
  const TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  const LossLaw law = LossLawPreset("epoch");
  PlanOptions o = Options(10);
  const ModelShape s = ReferenceShape(1024, 8);
  const Candidate c = Evaluate(o, m, law, s);
  const double step = PredictStepSeconds(m, s, EstimatorKind::kRoofline);
  CHECK(c.step_s == Approx(step));
  CHECK(c.tokens == Approx(10 * 3600.0 / step * 8 * 1024));
  CHECK(c.loss == Approx(law.Loss(s.Params(), c.tokens)));
  o.goodput = 0.5;
  CHECK(Evaluate(o, m, law, s).tokens == Approx(c.tokens / 2));
}

TEST_CASE("The FLOP-based answer is Chinchilla's N_opt at the conventional aspect ratio") {
  const TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  const LossLaw law = LossLawPreset("epoch");
  const PlanResult r = Plan(Options(24), m, law, "epoch");
  REQUIRE(r.found);
  const double C = 989.4e12 * 0.4 * 24 * 3600;
  CHECK(r.flop_alloc.flops == Approx(C));
  CHECK(r.flop_alloc.params == Approx(Allocate(law, C).params));
  CHECK(std::fabs(std::log(r.flop_based.total_params / r.flop_alloc.params)) < 0.2);
  CHECK(Aspect(r.flop_based) == Approx(100).epsilon(0.35));
  CHECK(r.loss_saved == Approx(r.flop_based.loss - r.best.loss));
  CHECK(r.best.loss <= r.top.back().loss);
  CHECK(r.loss_saved >= 0);
}

TEST_CASE("Where memory traffic dominates, the time-optimal shape is wider and shallower") {
  // A device with plenty of compute and little bandwidth: activation bytes, which grow with
  // depth at fixed N, dominate the step.
  HardwareProfile hw = LoadHardware("h100-sxm");
  hw.mem_bandwidth_bytes_per_s = 0.3e12;
  const TimeModel m = DefaultTimeModel(hw);
  const PlanResult r = Plan(Options(24), m, LossLawPreset("epoch"), "epoch");
  REQUIRE(r.found);
  INFO("best d/n " << Aspect(r.best) << " flop-based d/n " << Aspect(r.flop_based));
  CHECK(Aspect(r.best) > 1.5 * Aspect(r.flop_based));
  CHECK(r.best.tokens > r.flop_based.tokens);
  CHECK(r.loss_saved > 0);
}

TEST_CASE("Data parallelism adds a ring all-reduce priced from the interconnect") {
  const HardwareProfile hw = LoadHardware("h100-sxm");
  const TimeModel m = DefaultTimeModel(hw);
  const LossLaw law = LossLawPreset("epoch");
  PlanOptions o = Options(24);
  o.base.batch = 32;
  o.devices = 4;
  ModelShape per_device = ReferenceShape(1024, 8);
  per_device.batch = 8;
  const Candidate c = Evaluate(o, m, law, per_device);
  const double allreduce =
      2.0 * 3 / 4 * 4 * per_device.Params() / hw.interconnect_bandwidth_bytes_per_s;
  CHECK(c.step_s ==
        Approx(PredictStepSeconds(m, per_device, EstimatorKind::kRoofline) + allreduce));
  CHECK(c.tokens == Approx(24 * 3600.0 / c.step_s * 32 * 1024));
  o.devices = 3;
  CHECK_THROWS_WITH(Plan(o, m, law), Catch::Contains("--devices"));
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
}
