// The closed-form step totals (issue 15) against the op walk they are generated from: on thousands
// of random shapes of each family, every estimator it serves must give the op walk's step time to
// 1e-9, and a family it cannot reproduce must say so rather than answer.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include <chronoscale/error.h>
#include <chronoscale/hardware.h>
#include <chronoscale/parallel.h>
#include <chronoscale/step_polynomial.h>
#include <chronoscale/step_time.h>

#include "test_models.h"

using namespace chronoscale;

namespace {

// A calibrated model with every term at work (both smooth maxima active).
TimeModel Calibrated(CalibratedForm form) {
  TimeModel m = test::CalibratedTestModel(form);
  m.flops_c0_s = 1e-3;
  m.memcopy_c0_s = 1e-3;
  return m;
}

// A shape of the plan grid's family: `base` at d_model d and n layers, heads by the reference
// rule (or kv heads kept dividing), d_ff = round(ratio d).
ModelShape At(const ModelShape& base, int64_t d, int64_t n, double ratio) {
  ModelShape s = base;
  s.d_model = d;
  s.n_layers = n;
  s.n_heads = DefaultHeads(d);
  s.d_ff = std::llround(ratio * static_cast<double>(d));
  return s;
}

std::vector<ModelShape> Random(const ModelShape& base, int count, double ratio, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> width(4, 256), depth(1, 128);
  std::vector<ModelShape> out;
  while (static_cast<int>(out.size()) < count) {
    const ModelShape s = At(base, 64 * width(rng), depth(rng), ratio);
    if (s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads != 0) continue;
    out.push_back(s);
  }
  return out;
}

}  // namespace

TEST_CASE("closed-form totals equal the op walk on 2,000 random shapes per family",
          "[step_polynomial]") {
  const HardwareProfile hw = LoadHardware("h100-sxm");
  ModelShape dense = ReferenceShape(1024, 8);
  ModelShape llama = dense;
  llama.mlp = MlpKind::kSwiGlu;
  llama.norm = NormKind::kRmsNorm;
  llama.positions = PositionKind::kRotary;
  llama.n_kv_heads = 4;
  llama.tied_embeddings = false;
  ModelShape moe = llama;
  moe.experts = 8;
  moe.experts_per_token = 2;
  ModelShape naive = dense;
  naive.attention = AttentionKind::kNaive;
  ModelShape favor = dense;
  favor.attention = AttentionKind::kFavor;
  ModelShape window = llama;
  window.sliding_window = 512;
  ModelShape parallel = dense;
  parallel.block = BlockKind::kParallel;
  struct Family {
    const char* name;
    ModelShape base;
    double ratio;
  };
  const std::vector<Family> families = {{"gpt", dense, 4.0},
                                        {"llama", llama, 8.0 / 3},
                                        {"mixtral-like", moe, 3.5},
                                        {"naive attention", naive, 4},
                                        {"favor+", favor, 4},
                                        {"sliding window", window, 3},
                                        {"parallel block", parallel, 4}};
  for (const Family& f : families) {
    INFO(f.name);
    const StepPolynomial poly =
        StepPolynomial::Fit(Random(f.base, 120, f.ratio, 1), Random(f.base, 64, f.ratio, 2), hw);
    INFO(poly.why_not());
    REQUIRE(poly.usable());
    CHECK(poly.terms() <= 56);
    for (CalibratedForm form : {CalibratedForm::kWholeStep, CalibratedForm::kSegments}) {
      const TimeModel model = Calibrated(form);
      double worst = 0;
      for (const ModelShape& s : Random(f.base, 2000, f.ratio, 3)) {
        for (EstimatorKind e :
             {EstimatorKind::kCalibrated, EstimatorKind::kFlops, EstimatorKind::kMemcopy}) {
          const double walk = PredictStepSeconds(model, s, e);
          const double closed = poly.Predict(model, s, e);
          worst = std::max(worst, std::abs(closed / walk - 1));
        }
      }
      CHECK(worst < 1e-9);
    }
  }
}

TEST_CASE("a family outside the closed form is refused, not approximated", "[step_polynomial]") {
  const HardwareProfile hw = LoadHardware("h100-sxm");
  const ModelShape base = ReferenceShape(1024, 8);
  // Shapes that also differ in seq_len are no family: refused outright.
  ModelShape other = base;
  other.seq_len = 2048;
  CHECK_THROWS_AS(StepPolynomial::Fit({base}, {other}, hw), InputError);
  // Too few samples for the basis: the check against the op walk fails and says so.
  const StepPolynomial thin =
      StepPolynomial::Fit({At(base, 512, 4, 4), At(base, 1024, 8, 4)}, Random(base, 32, 4, 5), hw);
  CHECK_FALSE(thin.usable());
  CHECK_THAT(thin.why_not(), Catch::Contains("relative error"));
  // The roofline estimator takes a maximum per op: no closed form.
  const StepPolynomial poly =
      StepPolynomial::Fit(Random(base, 120, 4, 1), Random(base, 16, 4, 2), hw);
  REQUIRE(poly.usable());
  CHECK_THROWS_AS(poly.Predict(DefaultTimeModel(hw), base, EstimatorKind::kRoofline), InputError);
}

TEST_CASE("PredictMany gives Predict's step times at every SIMD level", "[step_polynomial]") {
  const HardwareProfile hw = LoadHardware("h100-sxm");
  ModelShape llama = ReferenceShape(1024, 8);
  llama.mlp = MlpKind::kSwiGlu;
  llama.n_kv_heads = 4;
  const StepPolynomial poly =
      StepPolynomial::Fit(Random(llama, 120, 3, 1), Random(llama, 64, 3, 2), hw);
  REQUIRE(poly.usable());
  // 3,000 shapes: more than one block of the batch (2,048) and a ragged tail.
  const std::vector<ModelShape> shapes = Random(llama, 3000, 3, 7);
  std::vector<double> out(shapes.size());
  // Every smooth-max branch: both operands positive (sharpness 1, 4 and 64), one operand zero
  // (no launch cost: the max is the GPU time exactly).
  std::vector<TimeModel> models;
  for (double p : {1.0, 4.0, 64.0}) {
    for (CalibratedForm form : {CalibratedForm::kWholeStep, CalibratedForm::kSegments}) {
      TimeModel m = Calibrated(form);
      m.calibrated.sharpness = p;
      models.push_back(m);
    }
  }
  TimeModel no_launch = Calibrated(CalibratedForm::kSegments);
  no_launch.calibrated.s_per_launch = 0;
  models.push_back(no_launch);
  for (const char* isa : {"sse2", "avx2", "avx512"}) {
    INFO(isa);
    for (const TimeModel& model : models) {
      INFO("sharpness " << model.calibrated.sharpness << ", form "
                        << ToString(model.calibrated.form));
      for (EstimatorKind e :
           {EstimatorKind::kCalibrated, EstimatorKind::kFlops, EstimatorKind::kMemcopy}) {
        poly.PredictMany(model, e, shapes, out, isa);
        double worst = 0;
        for (std::size_t i = 0; i < shapes.size(); ++i) {
          worst = std::max(worst, std::abs(out[i] / poly.Predict(model, shapes[i], e) - 1));
        }
        // Eigen's exp and log are within a few ulp of libm's; summation order differs.
        CHECK(worst < 1e-13);
      }
    }
  }
  std::vector<double> short_out(2);
  CHECK_THROWS_AS(poly.PredictMany(models[0], EstimatorKind::kCalibrated, shapes, short_out),
                  InputError);
  CHECK_THROWS_AS(poly.PredictMany(models[0], EstimatorKind::kRoofline, shapes, out), InputError);
}
