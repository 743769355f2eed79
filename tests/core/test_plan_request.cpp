// The resolve step every front end plans through (plan_request.h), the plan's own reports
// (plan_report.h) and the attention timing helpers (attention_timing.h).
#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include <chronoscale/attention_calibrate.h>
#include <chronoscale/attention_timing.h>
#include <chronoscale/error.h>
#include <chronoscale/layout.h>
#include <chronoscale/plan_report.h>
#include <chronoscale/plan_request.h>

using namespace chronoscale;

namespace {

// The field an InputError names, or "(none)" when `f` throws no InputError.
template <typename F>
std::string FieldOf(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.field();
  }
  return "(none)";
}

PlanRequest SmallRequest() {
  PlanRequest r;
  r.plan.hours = 2;
  r.plan.width = {512, 2048, 256};
  r.plan.depth = {2, 32, 2};
  r.plan.base = ReferenceShape(1024, 1);
  return r;
}

}  // namespace

TEST_CASE("ResolveEstimator: the name, the default with and without a fit, the fallback") {
  TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  REQUIRE(m.Has(EstimatorKind::kMemcopy));
  REQUIRE_FALSE(m.Has(EstimatorKind::kCalibrated));
  m.best = EstimatorKind::kMemcopy;
  // Named: that one.
  CHECK(ResolveEstimator("flops", m, false, EstimatorFallback::kRefuse).kind ==
        EstimatorKind::kFlops);
  // Unnamed: the fitted model's best; without a fit, roofline.
  CHECK(ResolveEstimator("", m, true, EstimatorFallback::kRefuse).kind == EstimatorKind::kMemcopy);
  CHECK(ResolveEstimator("", m, false, EstimatorFallback::kRefuse).kind ==
        EstimatorKind::kRoofline);
  CHECK(ResolveEstimator("", m, false, EstimatorFallback::kRefuse).note.empty());
  // Unknown: the field and the CLI's words.
  try {
    ResolveEstimator("bogus", m, false, EstimatorFallback::kRoofline);
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(e.field() == "estimator");
    CHECK(std::string(e.what()) ==
          "--estimator 'bogus': expected flops, memcopy, roofline or calibrated");
  }
  // Calibrated without a fit: refused with how to fit one, or roofline with a note.
  try {
    ResolveEstimator("calibrated", m, false, EstimatorFallback::kRefuse);
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("fit-time"));
  }
  const EstimatorChoice fell =
      ResolveEstimator("calibrated", m, false, EstimatorFallback::kRoofline);
  CHECK(fell.kind == EstimatorKind::kRoofline);
  CHECK(fell.note == "The calibrated estimator needs a fit to measured runs; using roofline.");
}

TEST_CASE("ResolveCluster: defaults from the profile, each bad input names its field") {
  const HardwareProfile h = LoadHardware("h100-sxm");
  REQUIRE(h.gpus_per_node == 8);
  ClusterRequest c;
  c.devices = 16;
  LayoutSearchOptions s = ResolveCluster(c, h, EstimatorKind::kRoofline);
  CHECK(s.devices == 16);
  CHECK(s.gpus_per_node == 8);
  CHECK(s.usable_bytes == h.memory_bytes - DefaultMemoryReserve(h.memory_bytes));
  c.gpus_per_node = 4;
  c.memory_reserve_gib = 4;
  c.layout = "tp=4";
  c.checkpointing = Checkpointing::kFull;
  s = ResolveCluster(c, h, EstimatorKind::kRoofline);
  CHECK(s.gpus_per_node == 4);
  CHECK(s.usable_bytes == h.memory_bytes - 4 * kGiB);
  CHECK(s.pins.tp == 4);
  CHECK(s.pins.has_checkpointing);
  CHECK(s.pins.checkpointing == Checkpointing::kFull);

  auto with = [&](auto change) {
    ClusterRequest bad;
    bad.devices = 16;
    change(bad);
    return FieldOf([&] { ResolveCluster(bad, h, EstimatorKind::kRoofline); });
  };
  CHECK(with([](ClusterRequest& b) { b.devices = 0; }) == "devices");
  CHECK(with([](ClusterRequest& b) { b.devices = 12; }) == "devices");  // not whole nodes of 8
  CHECK(with([](ClusterRequest& b) { b.gpus_per_node = 0; }) == "gpus-per-node");
  CHECK(with([](ClusterRequest& b) { b.memory_reserve_gib = -1; }) == "memory-reserve");
  CHECK(with([](ClusterRequest& b) { b.memory_reserve_gib = 1000; }) == "memory-reserve");
  CHECK(with([](ClusterRequest& b) { b.layout = "tp=three"; }) == "layout");
  CHECK(with([](ClusterRequest& b) {
          b.layout = "ckpt=full";
          b.checkpointing = Checkpointing::kNone;
        }) == "checkpointing");
  CHECK(with([](ClusterRequest&) {}) == "(none)");
}

TEST_CASE(
    "ResolvePlan: the default batch, the reserve, the fallback; the plan is the hand-set one") {
  const TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  PlanRequest r = SmallRequest();
  r.cluster.devices = 64;
  ResolvedPlan p = ResolvePlan(r, m);
  CHECK(p.options.base.batch == DefaultGlobalBatch(64, 1024));
  CHECK(p.options.devices == 64);
  CHECK(p.options.gpus_per_node == 8);
  CHECK(p.options.memory_reserve_bytes == -1);
  CHECK(p.options.estimator == EstimatorKind::kRoofline);
  CHECK(p.note.empty());
  r.batch = 96;
  r.cluster.memory_reserve_gib = 4;
  r.estimator = "calibrated";
  r.fallback = EstimatorFallback::kRoofline;
  p = ResolvePlan(r, m);
  CHECK(p.options.base.batch == 96);
  CHECK(p.options.memory_reserve_bytes == 4 * kGiB);
  CHECK(p.options.estimator == EstimatorKind::kRoofline);
  CHECK_FALSE(p.note.empty());
  r.fallback = EstimatorFallback::kRefuse;
  CHECK_THROWS_AS(ResolvePlan(r, m), InputError);

  // One device, the request's plan against the same options set by hand.
  PlanRequest one = SmallRequest();
  const PlanResult via = Plan(ResolvePlan(one, m).options, m, LossLawPreset("epoch"), "epoch");
  PlanOptions hand = one.plan;
  hand.base.batch = 8;
  const PlanResult direct = Plan(hand, m, LossLawPreset("epoch"), "epoch");
  REQUIRE(via.found);
  CHECK(via.best.shape.d_model == direct.best.shape.d_model);
  CHECK(via.best.shape.n_layers == direct.best.shape.n_layers);
  CHECK(via.best.loss == direct.best.loss);
}

TEST_CASE("PlanBrief and PlanReport: the best, the FLOP-based answer, no fit") {
  const TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  const PlanResult r =
      Plan(ResolvePlan(SmallRequest(), m).options, m, LossLawPreset("epoch"), "epoch");
  REQUIRE(r.found);
  const std::string brief = PlanBrief(r);
  CHECK_THAT(brief, Catch::StartsWith(fmt::format("best: d_model {} x {} layers",
                                                  r.best.shape.d_model, r.best.shape.n_layers)));
  CHECK_THAT(brief, Catch::Contains(fmt::format("loss {:.4f}", r.best.loss)));
  CHECK_THAT(brief,
             Catch::Contains(fmt::format("FLOP-based: d_model {} x {} layers",
                                         r.flop_based.shape.d_model, r.flop_based.shape.n_layers)));
  CHECK_THAT(brief, Catch::Contains(r.loss_saved >= 0 ? "worse)" : "better)"));
  const std::string full = PlanReport(r);
  CHECK_THAT(full, Catch::StartsWith("budget 2 h x 1 device(s) on h100-sxm"));
  CHECK_THAT(full, Catch::Contains(fmt::format("time-optimal: d_model {} x {} layers",
                                               r.best.shape.d_model, r.best.shape.n_layers)));
  // CSV: one row per candidate, as many cells as the header.
  const std::string csv = CandidatesCsv(r.top);
  const auto header_cells = std::count(csv.begin(), csv.begin() + csv.find('\n'), ',') + 1;
  CHECK(header_cells == 23);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == static_cast<long>(r.top.size()) + 1);

  PlanRequest tiny = SmallRequest();
  tiny.cluster.memory_reserve_gib = 79.9;  // 0.1 GiB left of 80: nothing fits
  const PlanResult none = Plan(ResolvePlan(tiny, m).options, m, LossLawPreset("epoch"), "epoch");
  REQUIRE_FALSE(none.found);
  CHECK_THAT(PlanBrief(none), Catch::StartsWith("no shape fits"));
}

TEST_CASE("TimeAttention and TimeAcrossLengths: repeats sorted, lengths L/8..L, the prediction") {
  SyntheticOptions so;
  so.seq = 64;
  so.dim = 16;
  HeadTensor<float> q, k, v;
  MakeSyntheticInputs(so, &q, &k, &v);
  AttentionOptions o;
  o.kernel = AttentionKernel::kFlash;
  const std::vector<double> t = TimeAttention(o, q, k, v, nullptr, 3);
  REQUIRE(t.size() == 3);
  CHECK(std::is_sorted(t.begin(), t.end()));
  CHECK(t.front() > 0);

  const HardwareProfile h = LoadHardware("h100-sxm");
  o.kernel = AttentionKernel::kFavor;
  o.features = 32;
  const RandomFeatureMap map = DrawRandomFeatures(o, so.dim, 1);
  const std::vector<LengthTiming> lengths = TimeAcrossLengths(o, &map, so, 1, h);
  REQUIRE(lengths.size() == 8);  // favor, then exact flash beside it
  const int64_t expected[] = {16, 16, 32, 64};
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    CHECK(lengths[i].kernel == (i < 4 ? AttentionKernel::kFavor : AttentionKernel::kFlash));
    CHECK(lengths[i].seq == expected[i % 4]);
    CHECK(lengths[i].measured_s > 0);
    CHECK(lengths[i].predicted_s == PredictAttentionSeconds(lengths[i].kernel, 1, 1, lengths[i].seq,
                                                            16, 32, false, Precision::kFp32, h));
  }
}
