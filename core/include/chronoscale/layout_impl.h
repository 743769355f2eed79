// The ops a parallel layout adds to and changes in one training step (included by layout.h).
// Terms: P_dev parameters on this device before ZeRO (the fullest stage's parameters / tp),
// T_micro = micro_batch x seq tokens per micro-step, m = grad_accum micro-steps, L_s = layers
// per pipeline stage, a activation bytes (2 under autocast), w weight/grad bytes (fp32).
#pragma once

#include <cstdint>
#include <numeric>

namespace chronoscale {

template <typename Sink>
void ForEachComputeOp(const ModelShape& shape, const ParallelLayout& layout, Sink&& sink) {
  ModelShape micro = shape;
  micro.batch = layout.micro_batch;
  const double tp = static_cast<double>(layout.tp);
  // the fullest stage's share of the per-layer ops (1 without a pipeline)
  const double per_stage = layout.pp == 1 ? 1.0
                                          : static_cast<double>(LayersPerStage(shape, layout)) /
                                                static_cast<double>(shape.n_layers);
  const double m = static_cast<double>(layout.grad_accum);
  ForEachOp(
      micro,
      [&](const Op& original) {
        if (original.phase == Phase::kOptimizer) return;
        Op op = original;
        if (layout.tp > 1) {
          // Megatron tensor parallelism with sequence parallelism: GEMMs split their weights,
          // attention its heads, norms and elementwise ops the sequence, the LM head and the loss
          // the vocabulary. Every rank still launches every kernel.
          op.flops /= tp;
          op.bytes_read /= tp;
          op.bytes_written /= tp;
          op.exps /= tp;
        }
        if (op.per_layer) op.count *= per_stage;
        op.count *= m;
        sink(op);
      },
      layout.ep);
}

template <typename Sink>
void ForEachStepOp(const ModelShape& shape, const ParallelLayout& layout, Sink&& sink) {
  const internal::StepDims k = internal::MakeDims(shape, layout.ep);
  const double P = shape.Params();
  const double p_dev = StageParams(shape, layout.pp, layout.ep) / static_cast<double>(layout.tp);
  const int64_t dp = layout.Dp();
  const int64_t shard = layout.sharding == Sharding::kNone ? 1 : layout.ShardGroup();

  // The optimizer updates this device's share of the parameters; one launch per tensor of the
  // stage.
  Op opt = internal::OptimizerOp(shape, k);
  const double share = p_dev / P / static_cast<double>(shard);
  if (share != 1.0) {
    opt.flops *= share;
    opt.bytes_read *= share;
    opt.bytes_written *= share;
  }
  if (layout.pp > 1) opt.launches /= static_cast<double>(layout.pp);
  sink(opt);

  const double m = static_cast<double>(layout.grad_accum);
  const double layers = static_cast<double>(LayersPerStage(shape, layout));
  const double t_micro = static_cast<double>(layout.micro_batch) * k.s;
  auto comm = [&](const char* name, Phase phase, Collective c, double bytes, int64_t group,
                  int64_t per_node, Overlap overlap, double count) {
    Op op;
    op.name = name;
    op.kind = OpKind::kCommunication;
    op.phase = phase;
    op.count = count;
    op.launches = 1;
    op.precision = k.mm;
    op.collective = c;
    op.comm_bytes = bytes;
    op.group = group;
    op.group_per_node = per_node;
    op.overlap = overlap;
    sink(op);
  };
  constexpr Phase F = Phase::kForward, B = Phase::kBackward;

  if (layout.tp > 1) {
    // Sequence parallelism: before each of attention and the MLP an all-gather of the layer's
    // activations, after each a reduce-scatter (2 all-reduces' worth per layer and direction);
    // full checkpointing repeats the forward's in the backward. The vocabulary-parallel LM head
    // gathers the final norm's output and reduce-scatters its gradient.
    const double msg = t_micro * k.d * k.a;
    const double bwd = shape.checkpointing == Checkpointing::kFull ? 4 : 2;
    const int64_t g = layout.tp;
    comm("tp_all_gather", F, Collective::kAllGather, msg, g, g, Overlap::kExposed, 2 * layers * m);
    comm("tp_reduce_scatter", F, Collective::kReduceScatter, msg, g, g, Overlap::kExposed,
         2 * layers * m);
    comm("tp_all_gather_bwd", B, Collective::kAllGather, msg, g, g, Overlap::kExposed,
         bwd * layers * m);
    comm("tp_reduce_scatter_bwd", B, Collective::kReduceScatter, msg, g, g, Overlap::kExposed,
         bwd * layers * m);
    comm("tp_lm_head", F, Collective::kAllGather, msg, g, g, Overlap::kExposed, 2 * m);
  }
  if (layout.ep > 1 && shape.Moe()) {
    // Expert parallelism: each MoE layer sends every token's k copies to the ranks holding their
    // experts and brings the outputs back (two all-to-alls forward, two backward, repeated by
    // full checkpointing's recompute), on the critical path. The expert weights' gradients are
    // reduced with the rest (over the data-parallel group: conservative, their replicas are dp /
    // ep).
    const double msg = t_micro * k.topk * k.d * k.a / static_cast<double>(layout.tp);
    const double moe_layers =
        layers * static_cast<double>(shape.MoeLayers()) / static_cast<double>(shape.n_layers);
    const int64_t g = layout.ep;
    const int64_t per_node = std::gcd(g, layout.DpPerNode());
    const double bwd = shape.checkpointing == Checkpointing::kFull ? 4 : 2;
    comm("ep_all_to_all", F, Collective::kAllToAll, msg, g, per_node, Overlap::kExposed,
         2 * moe_layers * m);
    comm("ep_all_to_all_bwd", B, Collective::kAllToAll, msg, g, per_node, Overlap::kExposed,
         bwd * moe_layers * m);
  }
  if (layout.pp > 1) {
    // 1F1B: each micro-batch's activations go to the next stage and their gradients come back
    // (split across the tensor-parallel ranks).
    const double msg = t_micro * k.d * k.a / static_cast<double>(layout.tp);
    const int64_t per_node = layout.devices <= layout.gpus_per_node ? 2 : 1;
    comm("pp_send_activations", F, Collective::kSendRecv, msg, 2, per_node, Overlap::kExposed, m);
    comm("pp_send_grads", B, Collective::kSendRecv, msg, 2, per_node, Overlap::kExposed, m);
  }
  if (dp > 1) {
    const int64_t per_node = layout.DpPerNode();
    const double grads = p_dev * k.w;     // fp32 gradients
    const double params = p_dev * k.w;    // fp32 weights (ZeRO-1/2 gather the updated shards)
    const double gathered = p_dev * k.a;  // FSDP gathers weights in the compute precision
    switch (layout.sharding) {
      case Sharding::kNone:
        // DDP: gradients accumulate locally (no_sync) and are all-reduced in buckets during the
        // last micro-step's backward.
        comm("dp_all_reduce", B, Collective::kAllReduce, grads, dp, per_node,
             Overlap::kLastBackward, 1);
        break;
      case Sharding::kZero1:
        comm("zero_reduce_scatter", B, Collective::kReduceScatter, grads, dp, per_node,
             Overlap::kLastBackward, 1);
        comm("zero_all_gather", F, Collective::kAllGather, params, dp, per_node,
             Overlap::kFirstForward, 1);
        break;
      case Sharding::kZero2:
        // Sharded gradients are reduced as each micro-step produces them.
        comm("zero_reduce_scatter", B, Collective::kReduceScatter, grads, dp, per_node,
             Overlap::kBackward, m);
        comm("zero_all_gather", F, Collective::kAllGather, params, dp, per_node,
             Overlap::kFirstForward, 1);
        break;
      case Sharding::kZero3:
      case Sharding::kHybrid: {
        // FSDP: each layer's weights are gathered before its forward and again before its
        // backward, prefetched under the previous layer's compute; gradients are
        // reduce-scattered as the backward produces them. Hybrid: all of it inside the node,
        // then an all-reduce of each shard's gradients across nodes.
        const int64_t g = layout.sharding == Sharding::kHybrid ? shard : dp;
        const int64_t gn = layout.sharding == Sharding::kHybrid ? shard : per_node;
        comm("fsdp_all_gather", F, Collective::kAllGather, gathered, g, gn, Overlap::kForward, m);
        comm("fsdp_all_gather_bwd", B, Collective::kAllGather, gathered, g, gn, Overlap::kBackward,
             m);
        comm("fsdp_reduce_scatter", B, Collective::kReduceScatter, grads, g, gn, Overlap::kBackward,
             m);
        if (layout.sharding == Sharding::kHybrid && dp > shard) {
          comm("hsdp_all_reduce", B, Collective::kAllReduce, grads / static_cast<double>(shard),
               dp / shard, 1, Overlap::kBackward, m);
        }
        break;
      }
    }
  }
}

}  // namespace chronoscale
