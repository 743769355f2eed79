// The op list of one training step (included by workload.h; the template lets the estimators and
// the planner run through it without allocation). SCIENCE.md section 1 describes the reference
// step; the comments give each op's byte count in the terms below.
//
//   T tokens per step, d width, kv = kv heads * head size, f MLP width, V vocab, L layers,
//   a activation bytes (2 under bf16/fp16 autocast), r residual-stream bytes (fp32 under
//   autocast), w master-weight bytes (fp32), S = batch * heads * seq^2 score elements.
#pragma once

#include <algorithm>
#include <cstdint>

namespace chronoscale {
namespace internal {

struct StepDims {
  double T, d, kv, f, V, L, s, b, h, dh, m;
  double q;  // query and attention-output width (heads x head size; d unless head_dim is set)
  double a, r, w;
  double mlp_in;        // 1 (GELU) or 2 (SwiGLU: gate and up)
  double norms;         // norms per layer (1 for a parallel block with a shared norm; + 2 post)
  double L_dense;       // layers with a dense MLP of width f_dense (all of them without MoE)
  double f_dense;       // their MLP width
  double L_moe;         // mixture-of-experts layers
  double E, topk;       // experts per MoE layer, experts per token
  double E_local;       // experts this device holds (E / expert parallelism)
  double f_shared;      // shared-expert MLP width (0: none)
  bool shared_gate;     // sigmoid gate on the shared expert
  double w_layer;       // matrix weights per layer (mean over layers)
  double b_layer;       // bias elements per layer (mean)
  double lin_tensors;   // parameter tensors of the linear layers per layer (weights + biases; mean)
  double bias_tensors;  // bias tensors per layer (mean)
  double bias_outs;     // bias-gradient reduction elements per layer (mean, all tokens)
  double norm_tensors;  // per norm (weight, + bias for LayerNorm with bias)
  double attn_cf;       // share of the s x s scores exact attention computes (causality, window)
  bool autocast;
  Precision mm;
};

inline StepDims MakeDims(const ModelShape& s, int64_t expert_shards = 1) {
  StepDims k{};
  k.T = static_cast<double>(s.seq_len) * static_cast<double>(s.batch);
  k.d = static_cast<double>(s.d_model);
  k.h = static_cast<double>(s.n_heads);
  k.dh = static_cast<double>(s.HeadDim());
  k.q = k.h * k.dh;
  k.kv = static_cast<double>(s.KvHeads()) * k.dh;
  k.f = static_cast<double>(s.d_ff);
  k.V = static_cast<double>(s.vocab);
  k.L = static_cast<double>(s.n_layers);
  k.s = static_cast<double>(s.seq_len);
  k.b = static_cast<double>(s.batch);
  k.m = static_cast<double>(s.features);
  k.autocast = s.precision == Precision::kBf16 || s.precision == Precision::kFp16;
  k.w = s.precision == Precision::kFp64 ? 8 : 4;
  k.r = k.w;
  k.a = k.autocast ? 2 : k.w;
  k.mm = s.precision;
  k.mlp_in = s.mlp == MlpKind::kSwiGlu ? 2 : 1;
  k.norms = static_cast<double>(s.NormsPerLayer() + (s.post_norms ? 2 : 0));
  k.L_moe = static_cast<double>(s.MoeLayers());
  k.L_dense = k.L - k.L_moe;
  k.f_dense = s.Moe() ? static_cast<double>(s.dense_ff) : k.f;
  k.E = static_cast<double>(s.experts);
  k.topk = static_cast<double>(s.experts_per_token);
  k.E_local = k.E / static_cast<double>(std::max<int64_t>(1, expert_shards));
  k.f_shared = static_cast<double>(s.shared_ff);
  k.shared_gate = s.shared_gate;

  // Attention: fused qkv and the output projection.
  const double attn_w = k.d * (k.q + 2 * k.kv) + k.q * k.d;
  const double attn_b = (s.QkvBias() ? k.q + 2 * k.kv : 0) + (s.OutBias() ? k.d : 0);
  const double attn_bt = (s.QkvBias() ? 1 : 0) + (s.OutBias() ? 1 : 0);
  // One MLP of width f: weights, biases, bias tensors, bias outputs per token.
  const bool mlp_bias = s.MlpBias();
  const double mlp_bt = mlp_bias ? k.mlp_in + 1 : 0;
  auto mlp_w = [&](double f) { return (k.mlp_in + 1) * k.d * f; };
  auto mlp_b = [&](double f) { return mlp_bias ? k.mlp_in * f + k.d : 0; };
  double w = k.L_dense * mlp_w(k.f_dense), bias = k.L_dense * mlp_b(k.f_dense);
  double tensors = k.L_dense * (k.mlp_in + 1 + mlp_bt), bias_t = k.L_dense * mlp_bt;
  double outs = k.L_dense * k.T * mlp_b(k.f_dense);
  if (k.L_moe > 0) {
    const bool shared = k.f_shared > 0;
    const double El = k.E_local;
    w += k.L_moe * (k.d * k.E + El * mlp_w(k.f) + (shared ? mlp_w(k.f_shared) : 0) +
                    (k.shared_gate ? k.d : 0));
    bias += k.L_moe * (El * mlp_b(k.f) + (shared ? mlp_b(k.f_shared) : 0));
    const double moe_bt = El * mlp_bt + (shared ? mlp_bt : 0);
    tensors += k.L_moe * (1 + El * (k.mlp_in + 1) + (shared ? k.mlp_in + 1 : 0) +
                          (k.shared_gate ? 1 : 0) + moe_bt);
    bias_t += k.L_moe * moe_bt;
    outs += k.L_moe * (k.T * k.topk * mlp_b(k.f) + (shared ? k.T * mlp_b(k.f_shared) : 0));
  }
  k.w_layer = attn_w + w / k.L;
  k.b_layer = attn_b + bias / k.L;
  k.lin_tensors = 2 + attn_bt + tensors / k.L;
  k.bias_tensors = attn_bt + bias_t / k.L;
  k.bias_outs = k.T * attn_b + outs / k.L;
  k.norm_tensors = s.NormHasBias() ? 2 : 1;

  // Exact attention computes the causal half of the scores, or a band of `window` keys.
  const double window =
      s.sliding_window > 0 ? std::min(k.s, static_cast<double>(s.sliding_window)) : k.s;
  if (s.causal) {
    k.attn_cf = window >= k.s ? 0.5 : (window * k.s - window * window / 2) / (k.s * k.s);
  } else {
    k.attn_cf = window / k.s;
  }
  return k;
}

// The optimizer's op for the whole model (one step).
inline Op OptimizerOp(const ModelShape& shape, const StepDims& k) {
  const double P = shape.Params();
  const bool learned = shape.positions == PositionKind::kLearned;
  const double tensors = k.L * (k.lin_tensors + k.norms * k.norm_tensors) + k.norm_tensors + 1 +
                         (learned ? 1 : 0) + (shape.tied_embeddings ? 0 : 1) +
                         (shape.head_bias ? 1 : 0);
  Op op;
  op.kind = OpKind::kOptimizer;
  op.phase = Phase::kOptimizer;
  op.precision = k.mm;
  op.launches = tensors;
  const double w = k.w;
  if (shape.optimizer == Optimizer::kAdamW) {
    // fused AdamW: reads param, grad, m, v; writes param, m, v (fp32): 28 bytes per parameter.
    // The multi-tensor kernels are launched per group, but each parameter tensor costs host
    // time; one launch per tensor models that.
    op.name = "adamw";
    op.flops = 12 * P;
    op.bytes_read = 4 * w * P;
    op.bytes_written = 3 * w * P;
  } else {
    op.name = "sgd_momentum";
    op.flops = 4 * P;
    op.bytes_read = 3 * w * P;
    op.bytes_written = 2 * w * P;
  }
  return op;
}

}  // namespace internal

template <typename Sink>
void ForEachOp(const ModelShape& shape, Sink&& sink, int64_t expert_shards) {
  const internal::StepDims k = internal::MakeDims(shape, expert_shards);
  const double T = k.T, d = k.d, q = k.q, kv = k.kv, f = k.f, V = k.V, L = k.L, a = k.a, r = k.r,
               w = k.w;
  const double qkv_out = q + 2 * kv;
  const bool rms = shape.norm == NormKind::kRmsNorm;
  const bool rotary = shape.positions == PositionKind::kRotary;
  const bool swiglu = shape.mlp == MlpKind::kSwiGlu;
  const bool sequential = shape.block == BlockKind::kSequential;
  const bool two_norms = shape.NormsPerLayer() == 2;
  const double norm_stats = rms ? 4 : 8;   // fp32 rstd (+ mean) per token
  const double S = k.b * k.h * k.s * k.s;  // score elements per layer

  bool head = false;  // set around the head's ops below
  auto emit = [&](const char* name, OpKind kind, Phase phase, bool per_layer, double count,
                  double flops, double read, double written, double exps, double launches) {
    if (count <= 0) return;
    Op op;
    op.name = name;
    op.kind = kind;
    op.phase = phase;
    op.per_layer = per_layer;
    op.head = head;
    op.count = count;
    op.flops = flops;
    op.bytes_read = read;
    op.bytes_written = written;
    op.exps = exps;
    op.launches = launches;
    op.precision = k.mm;
    sink(op);
  };
  constexpr Phase F = Phase::kForward, B = Phase::kBackward;

  // Attention core cost (one layer, forward), by kind.
  double att_flops = 0, att_read = 0, att_write = 0, att_exps = 0, att_launch = 0;
  double attb_flops = 0, attb_read = 0, attb_write = 0, attb_launch = 0;
  const double qkv_bytes = T * qkv_out * a;
  switch (shape.attention) {
    case AttentionKind::kFlash:
      // Reads Q, K, V, writes O and the fp32 log-sum-exp; no s x s matrix in memory; computes
      // only the causal half (or the sliding window's band) of the scores. Backward recomputes
      // the scores: ~2.5x the forward FLOPs, reads Q K V O dO lse, writes dQ dK dV (dQ
      // accumulated in fp32).
      att_flops = 4 * k.b * k.s * k.s * q * k.attn_cf;
      att_exps = S * k.attn_cf;
      att_read = qkv_bytes;
      att_write = T * q * a + T * k.h * 4;
      att_launch = 1;
      attb_flops = 2.5 * att_flops;
      attb_read = qkv_bytes + 2 * T * q * a + T * k.h * 4;
      attb_write = qkv_bytes + T * q * 4;
      attb_launch = 3;
      break;
    case AttentionKind::kNaive:
      // QK^T writes S scores; scale, mask and softmax (fp32 under autocast) each read and write
      // them; P is cast back and multiplied by V. Full s x s work even when causal or windowed.
      att_flops = 4 * k.b * k.s * k.s * q;
      att_exps = S;
      att_read = T * (q + kv) * a + S * (a + a + a + 4 + a) + T * kv * a;
      att_write = T * q * a + S * (a + a + 4 + a);
      att_launch = 6;
      attb_flops = 2 * att_flops;
      attb_read = qkv_bytes + T * q * a + S * (a + 4 + 4 + a + a);
      attb_write = qkv_bytes + S * (a + 4 + a);
      attb_launch = 6;
      break;
    case AttentionKind::kFavor:
    case AttentionKind::kDark: {
      // Random features per head: projections Q W^T and K W^T (2 s m dh each), exp of both
      // (2 s m), phi(K)^T V (2 s m dh), phi(Q) (phi(K)^T V) (2 s m dh), normaliser (~4 s m):
      // ~8 s m dh FLOPs and 2 s m exps per head; the feature maps go through memory.
      const double sm = k.b * k.h * k.s * k.m;
      att_flops = 8 * sm * k.dh + 10 * sm;
      att_exps = 2 * sm;
      att_read = qkv_bytes + 6 * sm * a;
      att_write = T * q * a + 4 * sm * a;
      att_launch = 20;
      if (shape.attention == AttentionKind::kDark) {
        // x -> M x for queries and keys: 2 s dh^2 each per head.
        att_flops += 4 * k.b * k.h * k.s * k.dh * k.dh;
        att_read += T * (q + kv) * a;
        att_write += T * (q + kv) * a;
        att_launch += 2;
      }
      attb_flops = 2 * att_flops;
      attb_read = 2 * att_read;
      attb_write = att_write + qkv_bytes;
      attb_launch = 2 * att_launch;
      break;
    }
  }

  // One MLP of width fw over t tokens, `count` times a step, with `sets` weight sets (the
  // experts of an MoE layer this device holds: every one's weights are read, one GEMM launch per
  // expert). Under expert parallelism the device's T k token copies (balanced routing) go to its
  // E / ep experts.
  struct MlpNames {
    const char *up, *act, *down, *down_bwd, *act_bwd, *up_bwd, *grad_sum;
  };
  static constexpr MlpNames kDense{"mlp_up",         "activation", "mlp_down",    "mlp_down_bwd",
                                   "activation_bwd", "mlp_up_bwd", "mlp_grad_sum"};
  static constexpr MlpNames kExpert{"expert_up",       "expert_activation",     "expert_down",
                                    "expert_down_bwd", "expert_activation_bwd", "expert_up_bwd",
                                    "expert_grad_sum"};
  static constexpr MlpNames kShared{"shared_up",       "shared_activation",     "shared_down",
                                    "shared_down_bwd", "shared_activation_bwd", "shared_up_bwd",
                                    "shared_grad_sum"};
  auto mlp_forward = [&](const MlpNames& n, Phase phase, double count, double t, double fw,
                         double sets) {
    emit(n.up, OpKind::kMatmul, phase, true, count * k.mlp_in, 2 * t * d * fw,
         t * d * a + sets * d * fw * a, t * fw * a, 0, sets);
    if (swiglu) {
      emit(n.act, OpKind::kElementwise, phase, true, count, 6 * t * fw, 3 * t * fw * a,
           2 * t * fw * a, t * fw, 2);
    } else {
      emit(n.act, OpKind::kElementwise, phase, true, count, 8 * t * fw, t * fw * a, t * fw * a,
           t * fw, 1);
    }
    emit(n.down, OpKind::kMatmul, phase, true, count, 2 * t * fw * d,
         t * fw * a + sets * fw * d * a, t * d * a, 0, sets);
  };
  auto mlp_backward = [&](const MlpNames& n, double count, double t, double fw, double sets) {
    emit(n.down_bwd, OpKind::kMatmul, B, true, count, 4 * t * fw * d,
         (t * d * a + sets * fw * d * a) + (t * d * a + t * fw * a), t * fw * a + sets * fw * d * a,
         0, 2 * sets);
    if (swiglu) {
      emit(n.act_bwd, OpKind::kElementwise, B, true, count, 10 * t * fw, 5 * t * fw * a,
           2 * t * fw * a, t * fw, 3);
    } else {
      emit(n.act_bwd, OpKind::kElementwise, B, true, count, 12 * t * fw, 2 * t * fw * a, t * fw * a,
           t * fw, 1);
    }
    emit(n.up_bwd, OpKind::kMatmul, B, true, count * k.mlp_in, 4 * t * d * fw,
         (t * fw * a + sets * d * fw * a) + (t * fw * a + t * d * a), t * d * a + sets * d * fw * a,
         0, 2 * sets);
    if (swiglu) {
      emit(n.grad_sum, OpKind::kElementwise, B, true, count, t * d, 2 * t * d * a, t * d * a, 0, 1);
    }
  };
  // Mixture of experts (per MoE layer): router GEMM, softmax and top-k, dispatch of each token's
  // copies to its experts (index_select per expert), the experts, the weighted combine
  // (index_add per expert), and the shared expert with its gate.
  const double Tk = T * k.topk;
  auto moe_forward = [&](Phase phase) {
    const double n = k.L_moe;
    emit("router", OpKind::kMatmul, phase, true, n, 2 * T * d * k.E, T * d * a + d * k.E * a,
         T * k.E * a, 0, 1);
    emit("router_topk", OpKind::kElementwise, phase, true, n, 6 * T * k.E, T * k.E * (a + 4),
         T * k.E * 4 + Tk * 12, T * k.E, 4);
    emit("dispatch", OpKind::kElementwise, phase, true, n, 0, Tk * (d * a + 8), Tk * d * a, 0,
         2 * k.E_local);
    mlp_forward(kExpert, phase, n, Tk, f, k.E_local);
    emit("combine", OpKind::kElementwise, phase, true, n, 2 * Tk * d, 2 * Tk * d * a + Tk * 4,
         Tk * d * a + T * d * a, 0, 2 * k.E_local);
    if (k.f_shared > 0) {
      mlp_forward(kShared, phase, n, T, k.f_shared, 1);
      // gate: Linear(d, 1), sigmoid, scale, and the sum with the routed output
      emit("shared_gate", OpKind::kElementwise, phase, true, n, (k.shared_gate ? 4 : 1) * T * d,
           (k.shared_gate ? 3 : 2) * T * d * a, T * d * a, k.shared_gate ? T : 0,
           k.shared_gate ? 4 : 1);
    }
  };
  auto mlp_block_forward = [&](Phase phase) {
    mlp_forward(kDense, phase, k.L_dense, T, k.f_dense, 1);
    if (k.L_moe > 0) moe_forward(phase);
  };

  // ---------------------------------------------------------------- forward
  const double ids = T * 8;  // int64 token ids
  if (shape.positions == PositionKind::kLearned) {
    // token gather, position gather (+ arange), broadcast add
    emit("embedding", OpKind::kEmbedding, F, false, 1, T * d,
         ids + T * d * w + k.s * d * w + 2 * T * d * r, T * d * r + k.s * d * r + T * d * r, 0, 4);
  } else {
    emit("embedding", OpKind::kEmbedding, F, false, 1, 0, ids + T * d * w, T * d * r, 0, 1);
  }

  auto norm = [&](const char* name, const char* cast, Phase phase) {
    emit(name, OpKind::kNorm, phase, true, L, 7 * T * d, T * d * r + 2 * d * w,
         T * d * r + T * norm_stats, 0, 1);
    if (k.autocast) emit(cast, OpKind::kCast, phase, true, L, 0, T * d * r, T * d * a, 0, 1);
  };
  auto layer_forward = [&](Phase phase) {
    norm("norm1", "norm1_cast", phase);
    if (k.autocast) {
      emit("weight_casts", OpKind::kCast, phase, true, L, 0, (k.w_layer + k.b_layer) * w,
           (k.w_layer + k.b_layer) * a, 0, k.lin_tensors);
    }
    emit("qkv", OpKind::kMatmul, phase, true, L, 2 * T * d * qkv_out,
         T * d * a + d * qkv_out * a + (shape.QkvBias() ? qkv_out * a : 0), T * qkv_out * a, 0, 1);
    if (rotary) {
      emit("rotary", OpKind::kElementwise, phase, true, L, 6 * T * (q + kv), 4 * T * (q + kv) * a,
           4 * T * (q + kv) * a, 0, 10);
    }
    emit("attention", OpKind::kAttention, phase, true, L, att_flops, att_read, att_write, att_exps,
         att_launch);
    emit("merge_heads", OpKind::kElementwise, phase, true, L, 0, T * q * a, T * q * a, 0, 1);
    emit("attn_out", OpKind::kMatmul, phase, true, L, 2 * T * q * d, T * q * a + q * d * a,
         T * d * a, 0, 1);
    if (shape.post_norms) norm("post_attn_norm", "post_attn_norm_cast", phase);
    if (sequential) {
      emit("residual1", OpKind::kElementwise, phase, true, L, T * d, T * d * (r + a), T * d * r, 0,
           1);
      norm("norm2", "norm2_cast", phase);
      mlp_block_forward(phase);
      if (shape.post_norms) norm("post_mlp_norm", "post_mlp_norm_cast", phase);
      emit("residual2", OpKind::kElementwise, phase, true, L, T * d, T * d * (r + a), T * d * r, 0,
           1);
    } else {
      // Parallel block: the MLP reads the same input (its own norm of it with two norms); one
      // residual add of both branches.
      if (two_norms) norm("norm2", "norm2_cast", phase);
      mlp_block_forward(phase);
      if (shape.post_norms) norm("post_mlp_norm", "post_mlp_norm_cast", phase);
      emit("residual", OpKind::kElementwise, phase, true, L, 2 * T * d, T * d * (r + 2 * a),
           T * d * r, 0, 1);
    }
  };
  layer_forward(F);

  head = true;
  emit("final_norm", OpKind::kNorm, F, false, 1, 7 * T * d, T * d * r + 2 * d * w,
       T * d * r + T * norm_stats, 0, 1);
  const double head_w = V * d + (shape.head_bias ? V : 0);  // LM head weight (+ bias)
  if (k.autocast) {
    emit("final_norm_cast", OpKind::kCast, F, false, 1, 0, T * d * r, T * d * a, 0, 1);
    emit("lm_head_weight_cast", OpKind::kCast, F, false, 1, 0, head_w * w, head_w * a, 0,
         shape.head_bias ? 2 : 1);
  }
  emit("lm_head", OpKind::kMatmul, F, false, 1, 2 * T * d * V, T * d * a + head_w * a, T * V * a, 0,
       1);
  if (k.autocast) emit("logits_fp32", OpKind::kCast, F, false, 1, 0, T * V * a, T * V * 4, 0, 1);
  // log_softmax (reads fp32 logits, writes log-probabilities), nll gather, mean
  emit("cross_entropy", OpKind::kLoss, F, false, 1, 4 * T * V, T * V * 4 + ids, T * V * 4 + T * 4,
       T * V, 3);

  // ---------------------------------------------------------------- backward
  // nll backward (zero-filled grad, scatter), log_softmax backward (reads grad and output)
  emit("cross_entropy_bwd", OpKind::kLoss, B, false, 1, 4 * T * V, 2 * T * V * 4 + ids,
       2 * T * V * 4, T * V, 3);
  if (k.autocast)
    emit("logits_fp32_bwd", OpKind::kCast, B, false, 1, 0, T * V * 4, T * V * a, 0, 1);
  // grad input and grad weight GEMMs
  emit("lm_head_bwd", OpKind::kMatmul, B, false, 1, 4 * T * d * V,
       (T * V * a + V * d * a) + (T * V * a + T * d * a), T * d * a + V * d * a, 0, 2);
  if (shape.head_bias) {
    emit("lm_head_bias_grad", OpKind::kElementwise, B, false, 1, T * V, T * V * a, V * a, 0, 1);
  }
  if (k.autocast) {
    emit("lm_head_grad_cast", OpKind::kCast, B, false, 1, 0, head_w * a, head_w * w, 0,
         shape.head_bias ? 2 : 1);
  }
  if (shape.tied_embeddings) {
    emit("tied_grad_accumulate", OpKind::kElementwise, B, false, 1, V * d, 2 * V * d * w, V * d * w,
         0, 1);
  }
  if (k.autocast)
    emit("final_norm_cast_bwd", OpKind::kCast, B, false, 1, 0, T * d * a, T * d * r, 0, 1);
  emit("final_norm_bwd", OpKind::kNorm, B, false, 1, 10 * T * d,
       2 * T * d * r + T * norm_stats + d * w, T * d * r + 2 * d * w, 0, 2);
  head = false;

  if (shape.checkpointing == Checkpointing::kFull) {
    layer_forward(B);  // recompute each layer's forward in the backward
  } else if (shape.checkpointing == Checkpointing::kSelective &&
             shape.attention != AttentionKind::kFlash) {
    // Selective (Korthikanti et al. 2022): recompute only the attention core; flash attention's
    // backward recomputes its scores anyway, so there selective costs nothing extra.
    emit("attention_recompute", OpKind::kAttention, B, true, L, att_flops, att_read, att_write,
         att_exps, att_launch);
  }

  // Per layer, in reverse order. The residual stream's gradient is accumulated once per branch
  // that reads it (twice in a sequential block; a parallel block's shared norm takes one).
  const double adds = shape.block == BlockKind::kParallel ? 1 : 2;
  emit("residual_grad_accumulate", OpKind::kElementwise, B, true, L, adds * T * d,
       2 * adds * T * d * r, adds * T * d * r, 0, adds);
  if (k.autocast) {
    emit("residual_grad_cast", OpKind::kCast, B, true, L, 0, adds * T * d * r, adds * T * d * a, 0,
         adds);
  }
  auto norm_backward = [&](const char* cast, const char* name) {
    if (k.autocast) emit(cast, OpKind::kCast, B, true, L, 0, T * d * a, T * d * r, 0, 1);
    emit(name, OpKind::kNorm, B, true, L, 10 * T * d, 2 * T * d * r + T * norm_stats + d * w,
         T * d * r + 2 * d * w, 0, 2);
  };
  if (shape.post_norms) norm_backward("post_mlp_norm_cast_bwd", "post_mlp_norm_bwd");
  mlp_backward(kDense, k.L_dense, T, k.f_dense, 1);
  if (k.L_moe > 0) {
    const double n = k.L_moe;
    if (k.f_shared > 0) {
      emit("shared_gate_bwd", OpKind::kElementwise, B, true, n, (k.shared_gate ? 6 : 1) * T * d,
           (k.shared_gate ? 4 : 1) * T * d * a, (k.shared_gate ? 3 : 2) * T * d * a, 0,
           k.shared_gate ? 5 : 1);
      mlp_backward(kShared, n, T, k.f_shared, 1);
    }
    emit("combine_bwd", OpKind::kElementwise, B, true, n, 2 * Tk * d,
         T * d * a + Tk * d * a + Tk * 4, Tk * d * a + Tk * 4, 0, 2 * k.E_local);
    mlp_backward(kExpert, n, Tk, f, k.E_local);
    emit("dispatch_bwd", OpKind::kElementwise, B, true, n, Tk * d, Tk * d * a + T * d * a,
         T * d * a, 0, 2 * k.E_local);
    emit("router_topk_bwd", OpKind::kElementwise, B, true, n, 6 * T * k.E, T * k.E * 8, T * k.E * a,
         0, 4);
    emit("router_bwd", OpKind::kMatmul, B, true, n, 4 * T * d * k.E,
         (T * k.E * a + d * k.E * a) + (T * k.E * a + T * d * a) + T * d * a,
         T * d * a + d * k.E * a, 0, 3);
  }
  if (two_norms) norm_backward("norm2_cast_bwd", "norm2_bwd");
  if (shape.post_norms) norm_backward("post_attn_norm_cast_bwd", "post_attn_norm_bwd");
  emit("attn_out_bwd", OpKind::kMatmul, B, true, L, 4 * T * q * d,
       (T * d * a + q * d * a) + T * d * a + T * q * a, T * q * a + q * d * a, 0, 2);
  emit("merge_heads_bwd", OpKind::kElementwise, B, true, L, 0, T * q * a, T * q * a, 0, 1);
  emit("attention_bwd", OpKind::kAttention, B, true, L, attb_flops, attb_read, attb_write, att_exps,
       attb_launch);
  if (rotary) {
    emit("rotary_bwd", OpKind::kElementwise, B, true, L, 6 * T * (q + kv), 4 * T * (q + kv) * a,
         4 * T * (q + kv) * a, 0, 10);
  }
  emit("qkv_grad_stack", OpKind::kElementwise, B, true, L, 0, qkv_bytes, qkv_bytes, 0, 1);
  emit("qkv_bwd", OpKind::kMatmul, B, true, L, 4 * T * d * qkv_out,
       (qkv_bytes + d * qkv_out * a) + (qkv_bytes + T * d * a), T * d * a + d * qkv_out * a, 0, 2);
  if (shape.block == BlockKind::kParallel) {
    // the shared norm's output feeds both branches: their input gradients are summed
    emit("branch_grad_sum", OpKind::kElementwise, B, true, L, T * d, 2 * T * d * a, T * d * a, 0,
         1);
  }
  norm_backward("norm1_cast_bwd", "norm1_bwd");
  if (k.bias_tensors > 0) {
    // bias gradients: a reduction over tokens of each biased linear layer's output gradient
    emit("bias_grads", OpKind::kElementwise, B, true, L, k.bias_outs, k.bias_outs * a,
         k.b_layer * a, 0, k.bias_tensors);
  }
  if (k.autocast) {
    emit("weight_grad_casts", OpKind::kCast, B, true, L, 0, (k.w_layer + k.b_layer) * a,
         (k.w_layer + k.b_layer) * w, 0, k.lin_tensors);
  }

  // Embedding backward: zero the table's gradient, sort ids, scatter-add rows (+ positions).
  const bool learned = shape.positions == PositionKind::kLearned;
  emit("embedding_bwd", OpKind::kEmbedding, B, false, 1, T * d,
       4 * ids + 2 * T * d * r + (learned ? T * d * r : 0),
       V * d * w + T * d * w + (learned ? static_cast<double>(shape.PositionRows()) * d * w : 0), 0,
       learned ? 8 : 6);

  // ---------------------------------------------------------------- optimizer
  sink(internal::OptimizerOp(shape, k));
}

}  // namespace chronoscale
