#include "chronoscale/workload.h"

#include <fmt/format.h>

#include <algorithm>

#include "chronoscale/error.h"
#include "chronoscale/layout.h"

namespace chronoscale {

std::string ToString(OpKind k) {
  static const char* names[] = {"matmul", "attention", "elementwise", "norm",         "cast",
                                "loss",   "embedding", "optimizer",   "communication"};
  return names[static_cast<int>(k)];
}

std::string ToString(Phase p) {
  static const char* names[] = {"forward", "backward", "optimizer"};
  return names[static_cast<int>(p)];
}

std::string ToString(Collective c) {
  static const char* names[] = {"all-reduce", "reduce-scatter", "all-gather", "send/recv",
                                "all-to-all"};
  return names[static_cast<int>(c)];
}

std::string ToString(Overlap o) {
  static const char* names[] = {"exposed", "under forward", "under backward", "under first forward",
                                "under last backward"};
  return names[static_cast<int>(o)];
}

void Totals::Add(const Op& op) {
  flops += op.flops * op.count;
  bytes_read += op.bytes_read * op.count;
  bytes_written += op.bytes_written * op.count;
  exps += op.exps * op.count;
  launches += op.launches * op.count;
}

Workload BuildWorkload(const ModelShape& shape) {
  return BuildWorkload(shape, SingleDevice(shape));
}

Workload BuildWorkload(const ModelShape& shape, const ParallelLayout& given) {
  shape.Validate();
  const ParallelLayout layout = Resolve(given, shape);
  Workload wl;
  wl.shape = shape;
  wl.layout = layout;
  ForEachLayoutOp(shape, layout, [&](const Op& op) {
    wl.ops.push_back(op);
    wl.total.Add(op);
    wl.by_kind[static_cast<std::size_t>(op.kind)].Add(op);
    wl.by_phase[static_cast<std::size_t>(op.phase)].Add(op);
    if (op.per_layer) {
      Op one = op;
      one.count = op.count / static_cast<double>(LayersPerStage(shape, layout) * layout.grad_accum);
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

}  // namespace chronoscale
