// Hand counts of one training step of the reference shape (SCIENCE.md section 1; each op's
// FLOPs, bytes and launches are in the comments of workload_impl.h), summed as closed forms in
// T, d, f, V, L, s, b, h, independently of ForEachOp and CountStep. Used by the known-answer
// tests (test_known_answers.cpp) and the planner's by-hand checks.
#pragma once

#include <algorithm>

#include <chronoscale/hardware.h>

namespace chronoscale::test {

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
// heads: 0 for the reference rule.
inline Hand HandCount(double d, double L, double V, double s, double b, double heads = 0) {
  Hand k;
  const double h = heads > 0 ? heads : d >= 2048 ? d / 128 : d / 64;
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

// The roofline (the default estimator) of that step on `hw`, for shapes where every GEMM is
// compute-bound and every vector op memory-bound (the H100 at the shapes of these tests: see
// test_known_answers.cpp); attention is near the ridge and priced as its max. L: layers.
inline double HandRoofline(const Hand& k, double L, const HardwareProfile& hw) {
  const double mm = hw.matmul_flops_per_s[static_cast<std::size_t>(Precision::kBf16)];
  const double bw = hw.mem_bandwidth_bytes_per_s;
  const double ex = hw.ExpRate();
  const double attention =
      L * (std::max({k.att_f_flops / mm, k.att_f_bytes / bw, k.attention_exps_fwd / ex}) +
           std::max({k.att_b_flops / mm, k.att_b_bytes / bw, k.attention_exps_fwd / ex}));
  const double memory_ops = (k.bytes - k.matmul_bytes - k.attention_bytes + k.optimizer_bytes) / bw;
  return k.matmul_flops / mm + attention + memory_ops +
         (k.launches + k.optimizer_launches) * hw.launch_overhead_s;
}

}  // namespace chronoscale::test
