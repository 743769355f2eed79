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

using namespace chronoscale;

namespace {

constexpr double kRel = 1e-9;  // see the file comment

// The hand totals of one step of the reference shape.
struct Hand {
  double params = 0;
  double matmul_flops = 0, attention_flops = 0, other_flops = 0;
  double matmul_bytes = 0, attention_bytes = 0, bytes = 0;  // bytes: forward + backward
  double optimizer_bytes = 0;
  double exps = 0, attention_exps_fwd = 0;
  double launches = 0, optimizer_launches = 0;
  // Attention of one layer (flash), forward and backward, for the mixed roofline.
  double att_f_flops = 0, att_f_bytes = 0, att_b_flops = 0, att_b_bytes = 0;
  double tokens = 0;
};

// s: sequence, b: batch, d: width, L: layers, V: vocab. Heads = d / 64 below 2048, d / 128 from
// 2048 (the reference rule), f = 4 d. a = 2 (bf16 activations), r = w = 4 (fp32 residual stream
// and master weights).
Hand HandCount(double d, double L, double V, double s, double b) {
  Hand k;
  const double h = d >= 2048 ? d / 128 : d / 64;
  const double f = 4 * d;
  const double T = s * b;
  k.tokens = T;

  // Parameters (PyTorch numel): per block qkv 3d^2 + 3d, out d^2 + d, up d f + f, down f d + d,
  // two LayerNorms 2 x 2d; final norm 2d; token embedding V d, positions s d, untied head V d.
  const double layer_params = 4 * d * d + 2 * d * f + 9 * d + f;
  k.params = L * layer_params + 2 * d + 2 * V * d + s * d;

  // FLOPs. Matmuls: forward 2 T x (3d^2 + d^2 + 2 d f) per layer and 2 T d V for the head, the
  // backward twice that (grad input + grad weight).
  k.matmul_flops = L * (24 * T * d * d + 12 * T * d * f) + 6 * T * d * V;
  // Flash attention, causal: forward 4 b s^2 d / 2, backward 2.5 x forward.
  k.att_f_flops = 2 * b * s * s * d;
  k.att_b_flops = 2.5 * k.att_f_flops;
  k.attention_flops = L * (k.att_f_flops + k.att_b_flops);
  // Vector FLOPs per layer: forward norms 2 x 7Td, residuals 2 x Td, GELU 8Tf; backward residual
  // grads 2Td, GELU 12Tf, norms 2 x 10Td, bias grads T (3d + d + f + d). Outside the layers:
  // embedding Td + its backward Td, final norm 7Td + 10Td, cross-entropy 4TV + 4TV, AdamW 12 P.
  k.other_flops = L * (16 * T * d + 8 * T * f + 22 * T * d + 12 * T * f + T * (5 * d + f)) +
                  19 * T * d + 8 * T * V + 12 * k.params;

  // Exponentials: attention b h s^2 / 2 forward and again in the backward's recompute, GELU Tf
  // forward and backward, softmax TV forward and backward.
  k.attention_exps_fwd = b * h * s * s / 2;
  k.exps = L * (2 * k.attention_exps_fwd + 2 * T * f) + 2 * T * V;

  // Bytes (read + written). Matmuls per layer: forward qkv (2Td + 6d^2 + 6d) + 6Td, out
  // 2Td + 2d^2 + 2Td, up 2Td + 2df + 2Tf, down 2Tf + 2df + 2Td; backward (grad input + grad
  // weight) down 4Td + 4Tf + 4df, up 4Tf + 4Td + 4df, out 8Td + 4d^2, qkv 16Td + 12d^2.
  // Head: forward 2Td + 2Vd + 2TV, backward 4TV + 4Vd + 4Td.
  k.matmul_bytes = L * (48 * T * d + 12 * T * f + 12 * d * f + 24 * d * d + 6 * d) + 6 * T * d +
                   6 * V * d + 6 * T * V;
  // Flash attention: forward reads Q K V (6Td), writes O (2Td) and the fp32 log-sum-exp (4Th);
  // backward reads Q K V O dO lse (10Td + 4Th), writes dQ dK dV (6Td) with dQ in fp32 (+4Td).
  k.att_f_bytes = 8 * T * d + 4 * T * h;
  k.att_b_bytes = 20 * T * d + 4 * T * h;
  k.attention_bytes = L * (k.att_f_bytes + k.att_b_bytes);
  // Everything else per layer, forward: norm1 and norm2 (read 4Td + 8d, write 4Td + 8T fp32
  // mean and rstd) 2 x (8Td + 8T + 8d), their bf16 casts 2 x 6Td, merge heads 4Td, residual adds
  // 2 x 10Td, GELU 4Tf, autocast weight casts 6 (Wl + Bl) (fp32 read, bf16 written).
  // Backward: residual grad accumulate 24Td and its cast 12Td, GELU 6Tf, norm casts 2 x 6Td,
  // norm backwards 2 x (12Td + 8T + 12d), merge heads 4Td, qkv grad stack 12Td, bias grads
  // 2T (5d + f) + 2 (5d + f), gradient casts 6 (Wl + Bl).
  const double Wl = 4 * d * d + 2 * d * f, Bl = 5 * d + f;
  const double layer_other =
      (2 * (8 * T * d + 8 * T + 8 * d) + 12 * T * d + 4 * T * d + 20 * T * d + 4 * T * f +
       6 * (Wl + Bl)) +
      (24 * T * d + 12 * T * d + 6 * T * f + 12 * T * d + 2 * (12 * T * d + 8 * T + 12 * d) +
       4 * T * d + 12 * T * d + 2 * T * (5 * d + f) + 2 * (5 * d + f) + 6 * (Wl + Bl));
  // Outside the layers: embedding forward (ids 8T, gathers, broadcast add) 8T + 20Td + 8sd and
  // backward (zero, sort, scatter-add) 32T + 16Td + 4Vd + 4sd; final norm 8Td + 8T + 8d and
  // backward 12Td + 8T + 12d, their casts 6Td + 6Td; head weight cast 6Vd and gradient cast 6Vd;
  // fp32 logits 6TV and back 6TV; cross-entropy 8TV + 12T, backward 16TV + 8T.
  const double outside = (8 * T + 20 * T * d + 8 * s * d) +
                         (32 * T + 16 * T * d + 4 * V * d + 4 * s * d) +
                         (8 * T * d + 8 * T + 8 * d) + (12 * T * d + 8 * T + 12 * d) + 12 * T * d +
                         12 * V * d + 12 * T * V + (8 * T * V + 12 * T) + (16 * T * V + 8 * T);
  k.bytes = k.matmul_bytes + k.attention_bytes + L * layer_other + outside;
  // Fused AdamW in fp32: reads param, grad, m, v; writes param, m, v: 28 bytes per parameter.
  k.optimizer_bytes = 28 * k.params;

  // Launches. Per layer, forward: norms 2, their casts 2, weight casts 8 (4 linears x weight +
  // bias), qkv, attention, merge, out, 2 residuals, up, GELU, down: 21. Backward: residual grad
  // 2 + cast 2, down 2, GELU 1, up 2, norm casts 2, norm backwards 4, out 2, merge 1,
  // attention 3, qkv grad stack 1, qkv 2, bias grads 4, gradient casts 8: 36. Outside: forward
  // embedding 4, final norm + cast 2, head cast + head 2, fp32 logits 1, cross-entropy 3; backward
  // cross-entropy 3, logits 1, head 2 + its cast 1, final norm cast 1 + backward 2, embedding 8.
  k.launches = L * (21 + 36) + (4 + 2 + 2 + 1 + 3) + (3 + 1 + 3 + 1 + 2 + 8);
  // AdamW: one per parameter tensor: per layer 4 weights + 4 biases + 2 norms x 2; final norm 2;
  // token embedding, positions, head.
  k.optimizer_launches = L * 12 + 2 + 3;
  return k;
}

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
  // d 768, T 8192: 29 us of FLOPs against 5 us of bytes) and every vector op memory-bound (the
  // vector rate is 67 TFLOP/s against 3.35 TB/s: < 1.2 FLOP/byte would be needed, the ops do
  // < 1; exponentials at 1/8 of the vector rate are cheaper than their bytes). Attention is
  // near the ridge, so it is priced as max(FLOPs, bytes, exps) here too.
  const HardwareProfile hw = LoadHardware("h100-sxm");
  const TimeModel m = DefaultTimeModel(hw);
  REQUIRE(m.best == EstimatorKind::kRoofline);
  const double mm = Rate(hw.matmul_flops_per_s, Precision::kBf16);
  const double bw = hw.mem_bandwidth_bytes_per_s;
  const double ex = hw.ExpRate();
  for (const Case& c : kCases) {
    const ModelShape shape = Shape(c.d, c.L, c.V, c.s, c.b);
    const Hand k = HandCount(c.d, c.L, c.V, c.s, c.b);
    INFO("d " << c.d << " L " << c.L);
    const double attention =
        c.L * (std::max({k.att_f_flops / mm, k.att_f_bytes / bw, k.attention_exps_fwd / ex}) +
               std::max({k.att_b_flops / mm, k.att_b_bytes / bw, k.attention_exps_fwd / ex}));
    const double memory_ops =
        (k.bytes - k.matmul_bytes - k.attention_bytes + k.optimizer_bytes) / bw;
    const double want = k.matmul_flops / mm + attention + memory_ops +
                        (k.launches + k.optimizer_launches) * hw.launch_overhead_s;
    CHECK(PredictStepSeconds(m, shape, EstimatorKind::kRoofline) == Approx(want).epsilon(kRel));
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
