// Known answers for every step-time estimator: whole-step totals written out by hand from the op
// list of SCIENCE.md section 1 (the comments of workload_impl.h give each op's FLOPs, bytes and
// launches), summed here as closed forms in T, d, f, V, L, s, b, h, independently of ForEachOp
// and CountStep. Two shapes of the reference step (GELU, LayerNorm with biases, learned
// positions, untied head, bf16 autocast with fp32 master weights and residual stream, causal
// flash attention, fused AdamW).
//
// Tolerance: every comparison is at 1e-9 relative. Both sides sum the same products of exact
// integers in doubles, in different orders, so they agree to ~1e-15; 1e-9 leaves room for that
// rounding and nothing else: a 5% error in any single op's FLOPs, bytes, exponentials or
// launches moves some total below by far more than 1e-9 (the smallest op, a norm cast, is still
// > 1e-6 of its total).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include <chronoscale/hardware.h>
#include <chronoscale/shape.h>
#include <chronoscale/step_time.h>
#include <chronoscale/workload.h>

#include "hand_count.h"

using namespace chronoscale;
using chronoscale::test::Hand;
using chronoscale::test::HandCount;

namespace {

constexpr double kRel = 1e-9;  // see the file comment

ModelShape Shape(int64_t d, int64_t L, int64_t V, int64_t s, int64_t b) {
  ModelShape shape = ReferenceShape(d, L);
  shape.vocab = V;
  shape.seq_len = s;
  shape.batch = b;
  return shape;
}

struct Case {
  int64_t d, L, V, s, b;
};
// The README's example shape, and a GPT-2-small-like one at another vocabulary and sequence.
constexpr Case kCases[] = {{2048, 8, 32768, 1024, 8}, {768, 12, 50304, 2048, 4}};

double Rate(const std::array<double, kNumPrecisions>& rates, Precision p) {
  return rates[static_cast<std::size_t>(p)];
}

std::size_t K(OpKind k) { return static_cast<std::size_t>(k); }

// A device on which one resource is the only bottleneck: every other rate is 1e30 per second.
HardwareProfile Toy(double bandwidth, double matmul, double vector, double exps, double launch) {
  HardwareProfile hw;
  hw.name = "toy";
  hw.memory_bytes = 1e15;
  hw.mem_bandwidth_bytes_per_s = bandwidth;
  hw.matmul_flops_per_s[static_cast<std::size_t>(Precision::kBf16)] = matmul;
  hw.vector_flops_per_s[static_cast<std::size_t>(Precision::kFp32)] = vector;
  hw.exp_per_s = exps;
  hw.launch_overhead_s = launch;
  return hw;
}

}  // namespace

TEST_CASE("Known answers: parameters, FLOPs, bytes, exponentials and launches of a whole step") {
  const HardwareProfile hw = LoadHardware("h100-sxm");
  for (const Case& c : kCases) {
    const ModelShape shape = Shape(c.d, c.L, c.V, c.s, c.b);
    const Hand k = HandCount(c.d, c.L, c.V, c.s, c.b);
    INFO("d " << c.d << " L " << c.L << " V " << c.V << " s " << c.s << " b " << c.b);
    CHECK(shape.Params() == Approx(k.params).epsilon(kRel));
    const StepCounts n = CountStep(shape, hw);
    CHECK(n.flops[K(OpKind::kMatmul)] == Approx(k.matmul_flops).epsilon(kRel));
    CHECK(n.flops[K(OpKind::kAttention)] == Approx(k.attention_flops).epsilon(kRel));
    CHECK(n.TotalFlops() ==
          Approx(k.matmul_flops + k.attention_flops + k.other_flops).epsilon(kRel));
    CHECK(n.bytes[K(OpKind::kMatmul)] == Approx(k.matmul_bytes).epsilon(kRel));
    CHECK(n.bytes[K(OpKind::kAttention)] == Approx(k.attention_bytes).epsilon(kRel));
    CHECK(n.bytes[K(OpKind::kOptimizer)] == Approx(k.optimizer_bytes).epsilon(kRel));
    CHECK(n.TotalBytes() == Approx(k.bytes + k.optimizer_bytes).epsilon(kRel));
    CHECK(n.TotalExps() == Approx(k.exps).epsilon(kRel));
    CHECK(n.launches[K(OpKind::kOptimizer)] == Approx(k.optimizer_launches).epsilon(kRel));
    CHECK(n.TotalLaunches() == Approx(k.launches + k.optimizer_launches).epsilon(kRel));
    // The FLOP-only baseline's count: 6 N T plus attention.
    CHECK(n.model_flops == Approx(6 * k.params * k.tokens + k.attention_flops).epsilon(kRel));
    // The same totals through the allocating path (BuildWorkload), which the CLI prints.
    const Workload w = BuildWorkload(shape);
    CHECK(w.total.flops ==
          Approx(k.matmul_flops + k.attention_flops + k.other_flops).epsilon(kRel));
    CHECK(w.total.Bytes() == Approx(k.bytes + k.optimizer_bytes).epsilon(kRel));
    CHECK(w.total.launches == Approx(k.launches + k.optimizer_launches).epsilon(kRel));
  }
}

TEST_CASE("Known answers: the flops and memcopy estimators, unfitted and fitted") {
  const HardwareProfile hw = LoadHardware("h100-sxm");
  const double peak = Rate(hw.matmul_flops_per_s, Precision::kBf16);  // 989.4 TFLOP/s
  const double bw = hw.mem_bandwidth_bytes_per_s;                     // 3.35 TB/s
  REQUIRE(peak == 989.4e12);
  REQUIRE(bw == 3.35e12);
  TimeModel fitted = DefaultTimeModel(hw);
  fitted.flops_c0_s = 2e-3;
  fitted.flops_s_per_flop = 1 / 500e12;
  fitted.memcopy_c0_s = 3e-3;
  fitted.memcopy_s_per_byte = 1 / 2.5e12;
  for (const Case& c : kCases) {
    const ModelShape shape = Shape(c.d, c.L, c.V, c.s, c.b);
    const Hand k = HandCount(c.d, c.L, c.V, c.s, c.b);
    INFO("d " << c.d << " L " << c.L);
    const double model_flops = 6 * k.params * k.tokens + k.attention_flops;
    const double bytes = k.bytes + k.optimizer_bytes;
    // Unfitted: FLOPs at 40% of the bf16 peak; bytes at the datasheet bandwidth.
    const TimeModel m = DefaultTimeModel(hw);
    CHECK(PredictStepSeconds(m, shape, EstimatorKind::kFlops) ==
          Approx(model_flops / (0.4 * peak)).epsilon(kRel));
    CHECK(PredictStepSeconds(m, shape, EstimatorKind::kMemcopy) ==
          Approx(bytes / bw).epsilon(kRel));
    CHECK(PredictStepSeconds(DefaultTimeModel(hw, 0.5), shape, EstimatorKind::kFlops) ==
          Approx(model_flops / (0.5 * peak)).epsilon(kRel));
    CHECK(PredictStepSeconds(fitted, shape, EstimatorKind::kFlops) ==
          Approx(2e-3 + model_flops / 500e12).epsilon(kRel));
    CHECK(PredictStepSeconds(fitted, shape, EstimatorKind::kMemcopy) ==
          Approx(3e-3 + bytes / 2.5e12).epsilon(kRel));
  }
}

TEST_CASE("Known answers: the roofline where one resource bounds every op") {
  const double launch = 7e-6;
  for (const Case& c : kCases) {
    const ModelShape shape = Shape(c.d, c.L, c.V, c.s, c.b);
    const Hand k = HandCount(c.d, c.L, c.V, c.s, c.b);
    const double launches = k.launches + k.optimizer_launches;
    INFO("d " << c.d << " L " << c.L);
    // Memory-bound device: every op takes its bytes / bandwidth (every op moves bytes).
    const HardwareProfile mem = Toy(2e12, 1e30, 1e30, 1e30, launch);
    CHECK(PredictStepSeconds(DefaultTimeModel(mem), shape, EstimatorKind::kRoofline) ==
          Approx((k.bytes + k.optimizer_bytes) / 2e12 + launches * launch).epsilon(kRel));
    // Compute-bound device: tensor-core ops at the matmul rate, the rest at the vector rate.
    const HardwareProfile flops = Toy(1e30, 4e14, 3e13, 1e30, launch);
    CHECK(PredictStepSeconds(DefaultTimeModel(flops), shape, EstimatorKind::kRoofline) ==
          Approx((k.matmul_flops + k.attention_flops) / 4e14 + k.other_flops / 3e13 +
                 launches * launch)
              .epsilon(kRel));
    // Exponential-bound device: only the ops with exponentials take time.
    const HardwareProfile exps = Toy(1e30, 1e30, 1e30, 1e9, launch);
    CHECK(PredictStepSeconds(DefaultTimeModel(exps), shape, EstimatorKind::kRoofline) ==
          Approx(k.exps / 1e9 + launches * launch).epsilon(kRel));
  }
}

TEST_CASE("Known answers: the default estimator (roofline) on an H100, op classes by hand") {
  // On the H100 datasheet rates, at these shapes, every GEMM is compute-bound (e.g. qkv at
  // d 768, T 8192: 29 us of FLOPs against 16 us of bytes) and every vector op memory-bound (the
  // ridge of the fp32 vector rate is 67 TFLOP/s / 3.35 TB/s = 20 FLOP/byte; the vector ops do
  // < 1, and an exponential at 1/8 of the vector rate costs less than its bytes). Attention is
  // near the ridge, so it is priced as max(FLOPs, bytes, exps) by hand too.
  const HardwareProfile hw = LoadHardware("h100-sxm");
  const TimeModel m = DefaultTimeModel(hw);
  REQUIRE(m.best == EstimatorKind::kRoofline);
  for (const Case& c : kCases) {
    const ModelShape shape = Shape(c.d, c.L, c.V, c.s, c.b);
    const Hand k = HandCount(c.d, c.L, c.V, c.s, c.b);
    INFO("d " << c.d << " L " << c.L);
    CHECK(PredictStepSeconds(m, shape, EstimatorKind::kRoofline) ==
          Approx(chronoscale::test::HandRoofline(k, c.L, hw)).epsilon(kRel));
  }
}

TEST_CASE("Known answers: the calibrated estimator") {
  const HardwareProfile hw = LoadHardware("h100-sxm");
  TimeModel m = DefaultTimeModel(hw);
  CalibratedCoefficients& q = m.calibrated;
  q.c0_s = 1.5e-3;
  q.matmul_s_per_flop = 1 / 700e12;
  q.attention_s_per_flop = 1 / 400e12;
  q.s_per_byte = 1 / 3e12;
  q.s_per_launch = 20e-6;
  q.s_per_tensor_update = 30e-6;
  q.sharpness = 3.5;
  m.fitted[static_cast<std::size_t>(EstimatorKind::kCalibrated)] = true;
  auto smax = [&](double x, double y) {
    return std::pow(std::pow(x, q.sharpness) + std::pow(y, q.sharpness), 1 / q.sharpness);
  };
  for (const Case& c : kCases) {
    const ModelShape shape = Shape(c.d, c.L, c.V, c.s, c.b);
    const Hand k = HandCount(c.d, c.L, c.V, c.s, c.b);
    INFO("d " << c.d << " L " << c.L);
    const double gpu = k.matmul_flops / 700e12 + k.attention_flops / 400e12 + k.bytes / 3e12;
    const double cpu = k.launches * 20e-6;
    const double optimizer = smax(k.optimizer_bytes / 3e12, k.optimizer_launches * 30e-6);
    const double want = 1.5e-3 + smax(gpu, cpu) + optimizer;
    CHECK(PredictStepSeconds(m, shape, EstimatorKind::kCalibrated) == Approx(want).epsilon(kRel));
    // Each term matters at these coefficients (a 5% change of the smaller one still moves the
    // total by more than the tolerance): neither side of a smooth max is negligible.
    CHECK(std::min(gpu, cpu) / std::max(gpu, cpu) > 0.05);
  }
}
