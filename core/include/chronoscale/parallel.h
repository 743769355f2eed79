// ParallelLayout: how one optimizer step over the global batch is spread over devices (see
// layout.h for the rules, the collectives and the memory it implies).
#pragma once

#include <cstdint>
#include <string>

#include "chronoscale/shape.h"
#include "chronoscale/types.h"

namespace chronoscale {

struct ParallelLayout {
  int64_t devices = 1;        // GPUs in the job
  int64_t gpus_per_node = 1;  // GPUs that share a node's fast links
  int64_t tp = 1;             // tensor parallel (Megatron, with sequence parallelism), in a node
  int64_t pp = 1;             // pipeline stages (1F1B schedule)
  Sharding sharding = Sharding::kNone;
  // Sequences per data-parallel replica per micro-step; 0: the replica's whole share of the
  // batch in grad_accum micro-steps (resolved by Resolve against the shape).
  int64_t micro_batch = 0;
  int64_t grad_accum = 1;  // micro-steps per optimizer step (pipeline micro-batches when pp > 1)
  // Expert parallelism (MoE shapes): each MoE layer's experts are split over ep consecutive
  // data-parallel ranks, which exchange token copies by all-to-all; ep divides dp and the experts.
  int64_t ep = 1;

  int64_t Dp() const { return devices / (tp * pp); }
  // Data-parallel ranks that share a node.
  int64_t DpPerNode() const;
  // Ranks over which ZeRO shards model states: dp (hybrid: the ranks of one node).
  int64_t ShardGroup() const;
  bool operator==(const ParallelLayout&) const = default;
};

// "dp 8 x tp 8 x pp 1, zero1, micro 1 x 64" (one line, for tables and notes).
std::string Describe(const ParallelLayout& layout);
// "dp8 tp8 pp1 zero1 mb1x64 ckpt-full": a layout and its checkpointing in one short cell.
std::string ShortDescribe(const ParallelLayout& layout, Checkpointing checkpointing);
// The single-device layout of a shape: the whole batch in one micro-step.
ParallelLayout SingleDevice(const ModelShape& shape);
// Layers on the fullest pipeline stage: ceil(n_layers / pp) (Megatron-DeepSpeed allows uneven
// stages, e.g. BLOOM's 70 layers on 12).
inline int64_t LayersPerStage(const ModelShape& shape, const ParallelLayout& layout) {
  return (shape.n_layers + layout.pp - 1) / layout.pp;
}
// `layout` with micro_batch filled in where it is 0 (batch / (dp x grad_accum)).
ParallelLayout Resolve(const ParallelLayout& layout, const ModelShape& shape);

}  // namespace chronoscale
