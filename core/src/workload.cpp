#include "chronoscale/workload.h"

#include <fmt/format.h>

#include <algorithm>

#include "chronoscale/error.h"

namespace chronoscale {

std::string ToString(OpKind k) {
  static const char* names[] = {"matmul", "attention", "elementwise", "norm",
                                "cast",   "loss",      "embedding",   "optimizer"};
  return names[static_cast<int>(k)];
}

std::string ToString(Phase p) {
  static const char* names[] = {"forward", "backward", "optimizer"};
  return names[static_cast<int>(p)];
}

void Totals::Add(const Op& op) {
  flops += op.flops * op.count;
  bytes_read += op.bytes_read * op.count;
  bytes_written += op.bytes_written * op.count;
  exps += op.exps * op.count;
  launches += op.launches * op.count;
}

Workload BuildWorkload(const ModelShape& shape) {
  shape.Validate();
  Workload wl;
  wl.shape = shape;
  ForEachOp(shape, [&](const Op& op) {
    wl.ops.push_back(op);
    wl.total.Add(op);
    wl.by_kind[static_cast<std::size_t>(op.kind)].Add(op);
    wl.by_phase[static_cast<std::size_t>(op.phase)].Add(op);
    if (op.per_layer) {
      Op one = op;
      one.count = op.count / static_cast<double>(shape.n_layers);
      wl.per_layer.Add(one);
    }
  });
  return wl;
}

std::vector<Op> AttentionKernelOps(const std::string& kernel, int64_t batch, int64_t heads,
                                   int64_t seq_len, int64_t d_head, int64_t features, bool causal,
                                   Precision precision) {
  AttentionKind kind;
  if (kernel == "flash") {
    kind = AttentionKind::kFlash;
  } else if (!Parse(kernel, &kind)) {
    throw InputError(
        fmt::format("unknown attention kernel '{}'; expected softmax, flash, favor, "
                    "favor-orth, favor-hyp, optimal or dark",
                    kernel));
  }
  // A one-layer shape whose attention op is exactly this kernel call.
  ModelShape s;
  s.d_model = heads * d_head;
  s.n_heads = heads;
  s.n_layers = 1;
  s.d_ff = 1;
  s.vocab = 1;
  s.seq_len = seq_len;
  s.batch = batch;
  s.attention = kind;
  s.features = features;
  s.causal = causal;
  s.precision = precision;
  s.Validate();
  std::vector<Op> ops;
  ForEachOp(s, [&](const Op& op) {
    if (op.kind == OpKind::kAttention && op.phase == Phase::kForward) ops.push_back(op);
  });
  return ops;
}

MemoryEstimate EstimateMemory(const ModelShape& shape) {
  shape.Validate();
  const internal::StepDims k = internal::MakeDims(shape);
  const double P = shape.Params();
  const double T = k.T, d = k.d, f = k.f, a = k.a, r = k.r;
  // Tensors saved for the backward, per layer: norm inputs (residual stream, fp32 under
  // autocast), norm outputs cast for the matmuls, Q K V, attention output (+ lse), merged heads,
  // MLP up output and activation output.
  double per_layer = T * d * (2 * r + 4 * a) + T * (d + 2 * k.kv) * a + T * k.h * 4 +
                     k.mlp_in * T * f * a + T * f * a;
  if (shape.attention == AttentionKind::kNaive) {
    per_layer += k.b * k.h * k.s * k.s * (4 + a);  // fp32 probabilities and their cast
  } else if (shape.attention == AttentionKind::kFavor || shape.attention == AttentionKind::kDark) {
    per_layer += 2 * k.b * k.h * k.s * k.m * a;  // the feature maps phi(Q), phi(K)
  }
  double activations = k.L * per_layer;
  if (shape.checkpointing) activations = k.L * T * d * r + per_layer;
  // Logits at the loss: bf16 logits, their fp32 copy, log-probabilities and their gradient:
  // ~12 bytes per element at the peak (3 fp32 buffers live at once).
  const double logits = T * k.V * 12;
  const double optimizer = shape.optimizer == Optimizer::kAdamW ? 2 * k.w * P : k.w * P;
  // bf16 copies of the weights made by autocast, held by the graph until the backward.
  const double casts = k.autocast ? (k.L * (k.w_layer + k.b_layer) + k.V * d) * a : 0;

  // Peak A: at the loss, every activation saved, no parameter gradient yet (set_to_none).
  MemoryEstimate at_loss;
  at_loss.weights = k.w * P + casts;
  at_loss.optimizer = optimizer;
  at_loss.activations = activations;
  at_loss.logits = logits;
  // Peak B: end of the backward: every gradient live, activations freed.
  MemoryEstimate at_end;
  at_end.weights = k.w * P + casts;
  at_end.optimizer = optimizer;
  at_end.grads = k.w * P;
  at_end.workspace = T * d * r * 4;
  at_end.peak = "end of backward";
  return at_loss.Total() >= at_end.Total() ? at_loss : at_end;
}

}  // namespace chronoscale
