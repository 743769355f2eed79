// The op list of one training step (included by workload.h; the template lets the estimators and
// the planner run through it without allocation). SCIENCE.md section 1 describes the reference
// step; the comments give each op's byte count in the terms below.
//
//   T tokens per step, d width, kv = kv heads * head size, f MLP width, V vocab, L layers,
//   a activation bytes (2 under bf16/fp16 autocast), r residual-stream bytes (fp32 under
//   autocast), w master-weight bytes (fp32), S = batch * heads * seq^2 score elements.
#pragma once

#include <cstdint>

namespace chronoscale {
namespace internal {

struct StepDims {
  double T, d, kv, f, V, L, s, b, h, dh, m;
  double a, r, w;
  double mlp_in;        // 1 (GELU) or 2 (SwiGLU: gate and up)
  double w_layer;       // matrix weights per layer
  double b_layer;       // bias elements per layer
  double lin_tensors;   // parameter tensors of the linear layers per layer (weights + biases)
  double norm_tensors;  // per norm (weight, + bias for LayerNorm with bias)
  double attn_cf;       // causal saving of exact attention FLOPs (0.5 causal, 1 otherwise)
  bool autocast;
  Precision mm;
};

inline StepDims MakeDims(const ModelShape& s) {
  StepDims k{};
  k.T = static_cast<double>(s.seq_len) * static_cast<double>(s.batch);
  k.d = static_cast<double>(s.d_model);
  k.h = static_cast<double>(s.n_heads);
  k.dh = k.d / k.h;
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
  k.w_layer = k.d * (k.d + 2 * k.kv) + k.d * k.d + k.mlp_in * k.d * k.f + k.f * k.d;
  k.b_layer = s.bias ? (k.d + 2 * k.kv) + k.d + k.mlp_in * k.f + k.d : 0;
  const double linears = 3 + k.mlp_in;  // qkv (fused), out, up (+ gate), down
  k.lin_tensors = linears * (s.bias ? 2 : 1);
  k.norm_tensors = s.norm == NormKind::kLayerNorm && s.bias ? 2 : 1;
  k.attn_cf = s.causal ? 0.5 : 1.0;
  return k;
}

// The optimizer's op for the whole model (one step).
inline Op OptimizerOp(const ModelShape& shape, const StepDims& k) {
  const double P = shape.Params();
  const bool learned = shape.positions == PositionKind::kLearned;
  const double tensors = k.L * (k.lin_tensors + 2 * k.norm_tensors) + k.norm_tensors + 1 +
                         (learned ? 1 : 0) + (shape.tied_embeddings ? 0 : 1);
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
void ForEachOp(const ModelShape& shape, Sink&& sink) {
  const internal::StepDims k = internal::MakeDims(shape);
  const double T = k.T, d = k.d, kv = k.kv, f = k.f, V = k.V, L = k.L, a = k.a, r = k.r, w = k.w;
  const double qkv_out = d + 2 * kv;
  const bool rms = shape.norm == NormKind::kRmsNorm;
  const bool rotary = shape.positions == PositionKind::kRotary;
  const bool swiglu = shape.mlp == MlpKind::kSwiGlu;
  const double norm_stats = rms ? 4 : 8;   // fp32 rstd (+ mean) per token
  const double S = k.b * k.h * k.s * k.s;  // score elements per layer

  bool head = false;  // set around the head's ops below
  auto emit = [&](const char* name, OpKind kind, Phase phase, bool per_layer, double count,
                  double flops, double read, double written, double exps, double launches) {
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
      // Reads Q, K, V, writes O and the fp32 log-sum-exp; no s x s matrix in memory. Backward
      // recomputes the scores: ~2.5x the forward FLOPs, reads Q K V O dO lse, writes dQ dK dV
      // (dQ accumulated in fp32).
      att_flops = 4 * k.b * k.s * k.s * d * k.attn_cf;
      att_exps = S * k.attn_cf;
      att_read = qkv_bytes;
      att_write = T * d * a + T * k.h * 4;
      att_launch = 1;
      attb_flops = 2.5 * att_flops;
      attb_read = qkv_bytes + 2 * T * d * a + T * k.h * 4;
      attb_write = qkv_bytes + T * d * 4;
      attb_launch = 3;
      break;
    case AttentionKind::kNaive:
      // QK^T writes S scores; scale, mask and softmax (fp32 under autocast) each read and write
      // them; P is cast back and multiplied by V. Full s x s work even when causal.
      att_flops = 4 * k.b * k.s * k.s * d;
      att_exps = S;
      att_read = T * (d + kv) * a + S * (a + a + a + 4 + a) + T * kv * a;
      att_write = T * d * a + S * (a + a + 4 + a);
      att_launch = 6;
      attb_flops = 2 * att_flops;
      attb_read = qkv_bytes + T * d * a + S * (a + 4 + 4 + a + a);
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
      att_write = T * d * a + 4 * sm * a;
      att_launch = 20;
      if (shape.attention == AttentionKind::kDark) {
        // x -> M x for queries and keys: 2 s dh^2 each per head.
        att_flops += 4 * k.b * k.h * k.s * k.dh * k.dh;
        att_read += T * (d + kv) * a;
        att_write += T * (d + kv) * a;
        att_launch += 2;
      }
      attb_flops = 2 * att_flops;
      attb_read = 2 * att_read;
      attb_write = att_write + qkv_bytes;
      attb_launch = 2 * att_launch;
      break;
    }
  }

  // ---------------------------------------------------------------- forward
  const double ids = T * 8;  // int64 token ids
  if (shape.positions == PositionKind::kLearned) {
    // token gather, position gather (+ arange), broadcast add
    emit("embedding", OpKind::kEmbedding, F, false, 1, T * d,
         ids + T * d * w + k.s * d * w + 2 * T * d * r, T * d * r + k.s * d * r + T * d * r, 0, 4);
  } else {
    emit("embedding", OpKind::kEmbedding, F, false, 1, 0, ids + T * d * w, T * d * r, 0, 1);
  }

  auto layer_forward = [&](Phase phase) {
    emit("norm1", OpKind::kNorm, phase, true, L, 7 * T * d, T * d * r + 2 * d * w,
         T * d * r + T * norm_stats, 0, 1);
    if (k.autocast)
      emit("norm1_cast", OpKind::kCast, phase, true, L, 0, T * d * r, T * d * a, 0, 1);
    if (k.autocast) {
      emit("weight_casts", OpKind::kCast, phase, true, L, 0, (k.w_layer + k.b_layer) * w,
           (k.w_layer + k.b_layer) * a, 0, k.lin_tensors);
    }
    emit("qkv", OpKind::kMatmul, phase, true, L, 2 * T * d * qkv_out,
         T * d * a + d * qkv_out * a + (shape.bias ? qkv_out * a : 0), T * qkv_out * a, 0, 1);
    if (rotary) {
      emit("rotary", OpKind::kElementwise, phase, true, L, 6 * T * (d + kv), 4 * T * (d + kv) * a,
           4 * T * (d + kv) * a, 0, 10);
    }
    emit("attention", OpKind::kAttention, phase, true, L, att_flops, att_read, att_write, att_exps,
         att_launch);
    emit("merge_heads", OpKind::kElementwise, phase, true, L, 0, T * d * a, T * d * a, 0, 1);
    emit("attn_out", OpKind::kMatmul, phase, true, L, 2 * T * d * d, T * d * a + d * d * a,
         T * d * a, 0, 1);
    emit("residual1", OpKind::kElementwise, phase, true, L, T * d, T * d * (r + a), T * d * r, 0,
         1);
    emit("norm2", OpKind::kNorm, phase, true, L, 7 * T * d, T * d * r + 2 * d * w,
         T * d * r + T * norm_stats, 0, 1);
    if (k.autocast)
      emit("norm2_cast", OpKind::kCast, phase, true, L, 0, T * d * r, T * d * a, 0, 1);
    emit("mlp_up", OpKind::kMatmul, phase, true, L * k.mlp_in, 2 * T * d * f, T * d * a + d * f * a,
         T * f * a, 0, 1);
    if (swiglu) {
      emit("activation", OpKind::kElementwise, phase, true, L, 6 * T * f, 3 * T * f * a,
           2 * T * f * a, T * f, 2);
    } else {
      emit("activation", OpKind::kElementwise, phase, true, L, 8 * T * f, T * f * a, T * f * a,
           T * f, 1);
    }
    emit("mlp_down", OpKind::kMatmul, phase, true, L, 2 * T * f * d, T * f * a + f * d * a,
         T * d * a, 0, 1);
    emit("residual2", OpKind::kElementwise, phase, true, L, T * d, T * d * (r + a), T * d * r, 0,
         1);
  };
  layer_forward(F);

  head = true;
  emit("final_norm", OpKind::kNorm, F, false, 1, 7 * T * d, T * d * r + 2 * d * w,
       T * d * r + T * norm_stats, 0, 1);
  if (k.autocast) {
    emit("final_norm_cast", OpKind::kCast, F, false, 1, 0, T * d * r, T * d * a, 0, 1);
    emit("lm_head_weight_cast", OpKind::kCast, F, false, 1, 0, V * d * w, V * d * a, 0, 1);
  }
  emit("lm_head", OpKind::kMatmul, F, false, 1, 2 * T * d * V, T * d * a + V * d * a, T * V * a, 0,
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
  if (k.autocast)
    emit("lm_head_grad_cast", OpKind::kCast, B, false, 1, 0, V * d * a, V * d * w, 0, 1);
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

  // Per layer, in reverse order.
  emit("residual_grad_accumulate", OpKind::kElementwise, B, true, L, 2 * T * d, 4 * T * d * r,
       2 * T * d * r, 0, 2);
  if (k.autocast)
    emit("residual_grad_cast", OpKind::kCast, B, true, L, 0, 2 * T * d * r, 2 * T * d * a, 0, 2);
  emit("mlp_down_bwd", OpKind::kMatmul, B, true, L, 4 * T * f * d,
       (T * d * a + f * d * a) + (T * d * a + T * f * a), T * f * a + f * d * a, 0, 2);
  if (swiglu) {
    emit("activation_bwd", OpKind::kElementwise, B, true, L, 10 * T * f, 5 * T * f * a,
         2 * T * f * a, T * f, 3);
  } else {
    emit("activation_bwd", OpKind::kElementwise, B, true, L, 12 * T * f, 2 * T * f * a, T * f * a,
         T * f, 1);
  }
  emit("mlp_up_bwd", OpKind::kMatmul, B, true, L * k.mlp_in, 4 * T * d * f,
       (T * f * a + d * f * a) + (T * f * a + T * d * a), T * d * a + d * f * a, 0, 2);
  if (swiglu)
    emit("mlp_grad_sum", OpKind::kElementwise, B, true, L, T * d, 2 * T * d * a, T * d * a, 0, 1);
  if (k.autocast) emit("norm2_cast_bwd", OpKind::kCast, B, true, L, 0, T * d * a, T * d * r, 0, 1);
  emit("norm2_bwd", OpKind::kNorm, B, true, L, 10 * T * d, 2 * T * d * r + T * norm_stats + d * w,
       T * d * r + 2 * d * w, 0, 2);
  emit("attn_out_bwd", OpKind::kMatmul, B, true, L, 4 * T * d * d,
       (T * d * a + d * d * a) + 2 * T * d * a, T * d * a + d * d * a, 0, 2);
  emit("merge_heads_bwd", OpKind::kElementwise, B, true, L, 0, T * d * a, T * d * a, 0, 1);
  emit("attention_bwd", OpKind::kAttention, B, true, L, attb_flops, attb_read, attb_write, att_exps,
       attb_launch);
  if (rotary) {
    emit("rotary_bwd", OpKind::kElementwise, B, true, L, 6 * T * (d + kv), 4 * T * (d + kv) * a,
         4 * T * (d + kv) * a, 0, 10);
  }
  emit("qkv_grad_stack", OpKind::kElementwise, B, true, L, 0, qkv_bytes, qkv_bytes, 0, 1);
  emit("qkv_bwd", OpKind::kMatmul, B, true, L, 4 * T * d * qkv_out,
       (qkv_bytes + d * qkv_out * a) + (qkv_bytes + T * d * a), T * d * a + d * qkv_out * a, 0, 2);
  if (k.autocast) emit("norm1_cast_bwd", OpKind::kCast, B, true, L, 0, T * d * a, T * d * r, 0, 1);
  emit("norm1_bwd", OpKind::kNorm, B, true, L, 10 * T * d, 2 * T * d * r + T * norm_stats + d * w,
       T * d * r + 2 * d * w, 0, 2);
  if (shape.bias) {
    // bias gradients: a reduction over tokens of each linear layer's output gradient
    const double outs = qkv_out + d + k.mlp_in * f + d;
    emit("bias_grads", OpKind::kElementwise, B, true, L, T * outs, T * outs * a, outs * a, 0,
         3 + k.mlp_in);
  }
  if (k.autocast) {
    emit("weight_grad_casts", OpKind::kCast, B, true, L, 0, (k.w_layer + k.b_layer) * a,
         (k.w_layer + k.b_layer) * w, 0, k.lin_tensors);
  }

  // Embedding backward: zero the table's gradient, sort ids, scatter-add rows (+ positions).
  const bool learned = shape.positions == PositionKind::kLearned;
  emit("embedding_bwd", OpKind::kEmbedding, B, false, 1, T * d,
       4 * ids + 2 * T * d * r + (learned ? T * d * r : 0),
       V * d * w + T * d * w + (learned ? k.s * d * w : 0), 0, learned ? 8 : 6);

  // ---------------------------------------------------------------- optimizer
  sink(internal::OptimizerOp(shape, k));
}

}  // namespace chronoscale
