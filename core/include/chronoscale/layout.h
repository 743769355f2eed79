// Parallel layouts: how one optimizer step over the global batch is spread over a cluster (data,
// tensor and pipeline parallelism, ZeRO/FSDP sharding, micro-batches and gradient accumulation,
// activation checkpointing), the collectives that layout adds to the step and their price on the
// hardware's links, and the memory each device then needs.
//
// Placement follows Megatron-LM: tensor-parallel ranks are innermost (inside a node), then
// data-parallel, then pipeline stages outermost. Collectives over a group that spans nodes are
// priced hierarchically, as NCCL runs them on rail-optimised clusters: inside each node over
// NVLink, then across nodes on each GPU's own NIC with 1/k of the message (k group members per
// node).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "chronoscale/hardware.h"
#include "chronoscale/parallel.h"
#include "chronoscale/shape.h"
#include "chronoscale/workload.h"

namespace chronoscale {

// Parts of a layout pinned by the user (--layout "tp=8,pp=4,zero=1,micro=2"); 0 / unset = free.
struct LayoutPins {
  int64_t tp = 0, pp = 0, dp = 0, ep = 0, micro_batch = 0, grad_accum = 0;
  bool has_sharding = false, has_checkpointing = false;
  Sharding sharding = Sharding::kNone;
  Checkpointing checkpointing = Checkpointing::kNone;
  bool Empty() const;
};
// Parses "key=value,..." with keys tp, pp, dp, ep (expert parallel), micro (micro_batch), accum
// (grad_accum), zero (0-3) or sharding (none|zero1|zero2|zero3|fsdp|hybrid), ckpt (checkpointing).
// `flag` names the option in messages. InputError on anything else.
LayoutPins ParseLayoutPins(std::string_view text, const std::string& flag);
std::string Describe(const LayoutPins& pins);

// Checks that `layout` is legal for `shape` (whose batch is the global batch): every degree
// divides evenly (devices = dp tp pp; batch = micro dp accum; tp divides heads, kv heads, d_ff
// and the node; devices beyond one node are whole nodes); pp is at most the layers (uneven
// stages are allowed: the fullest holds ceil(layers / pp)); ep > 1 only for MoE shapes, dividing
// dp and the experts.
// Throws InputError naming `what` (a flag, or a file's row) and the rule broken.
void ValidateLayout(const ModelShape& shape, const ParallelLayout& layout, const std::string& what);

// The default global batch when the user gives none: 8 sequences per GPU (the reference step of
// one GPU, kept per GPU as the job grows), at most 2^22 tokens (4M: Llama 2's batch, the largest
// in common use), rounded up to a multiple of the device count so that every data-parallel
// degree divides it. One device: 8 sequences, as before.
int64_t DefaultGlobalBatch(int64_t devices, int64_t seq_len);

// --------------------------------------------------------------------------- collectives

// Seconds of one collective of `bytes` (the whole tensor) over `group` devices, `per_node` of
// them in each node (group = per_node x nodes), on hw's links. Ring: all-reduce moves
// 2 (g-1)/g of the message per GPU and pays 2 (g-1) latencies; reduce-scatter and all-gather
// half of that. Across nodes, hierarchical: the intra-node phase over per_node GPUs, then the
// inter-node phase over the nodes with 1/per_node of the message on each GPU's NIC (tree:
// log2(nodes) latencies instead of nodes - 1). Send/recv: bytes / link + one latency, across
// nodes when `per_node` is 1 and group > 1. All-to-all: (k-1)/g of the message inside the node and
// (g-k)/g across it, one latency per peer node. InputError when a needed link speed is unknown.
double CollectiveSeconds(Collective collective, double bytes, int64_t group, int64_t per_node,
                         const HardwareProfile& hw);

// --------------------------------------------------------------------------- memory

// Conventions of the activation accounting. The default is the PyTorch step of SCIENCE.md
// section 1 (no dropout, fp32 residual stream and norm inputs under autocast, SDPA's output and
// its merged-heads copy, flash's fp32 log-sum-exp), which reproduces the measured H200 peaks.
// kMegatron is the accounting of Korthikanti et al. 2022 (dropout masks, fp16 norm inputs, one
// attention output), under which the per-layer bytes are s b h (34 + 5 a s / h) for materialised
// attention.
enum class ActivationConventions { kPyTorch = 0, kMegatron };

// Bytes of activations one transformer layer saves for its backward, per device, for a
// micro-step of `shape` (its batch is the micro-batch) under tensor parallelism `tp` with
// sequence parallelism, and `checkpointing` (full: only the layer's input is kept).
double ActivationBytesPerLayer(const ModelShape& shape, int64_t tp, Checkpointing checkpointing,
                               ActivationConventions conventions = ActivationConventions::kPyTorch);

// Bytes per device of the model states (weights, gradients, optimizer state) of `params`
// parameters under a sharding over `shard_group` ranks (ZeRO, Rajbhandari et al. 2020, section
// 5): stage 1 shards the optimizer state, 2 also the gradients, 3 also the weights.
struct ModelStateBytes {
  double weights = 0, grads = 0, optimizer = 0;
  double Total() const { return weights + grads + optimizer; }
};
ModelStateBytes ShardedModelStates(double params, double weight_bytes, double grad_bytes,
                                   double optimizer_bytes, Sharding sharding, int64_t shard_group);

// Memory per device of training `shape` (global batch) under `layout`: the fullest pipeline
// stage (the first holds min(pp, micro-steps) micro-batches in flight, the last the logits).
MemoryEstimate EstimateMemory(const ModelShape& shape, const ParallelLayout& layout);
// The same for a shape already validated (the layout search's inner loop).
MemoryEstimate EstimateMemoryOfValid(const ModelShape& shape, const ParallelLayout& layout);
namespace internal {
struct StepDims;
}
// The same again with `micro_dims` = MakeDims(shape at the layout's micro-batch, layout.ep),
// which the layout search computes once per micro-batch rather than once per layout.
MemoryEstimate EstimateMemoryOfValid(const ModelShape& shape, const ParallelLayout& layout,
                                     const internal::StepDims& micro_dims);

// Parameters on the fullest pipeline stage before tensor parallelism splits them, with each MoE
// layer's experts split over `ep` expert-parallel ranks.
double StageParams(const ModelShape& shape, int64_t pp, int64_t ep = 1);

// --------------------------------------------------------------------------- the step's ops

// The forward and backward ops of one optimizer step on one device of the fullest pipeline
// stage: ForEachOp's ops for one micro-batch, split by tensor parallelism (every op's FLOPs and
// bytes / tp; launches stay), per-layer ops for ceil(n_layers / pp) layers, and counted grad_accum
// times. The optimizer's op is left out (see ForEachStepOp).
template <typename Sink>
void ForEachComputeOp(const ModelShape& shape, const ParallelLayout& layout, Sink&& sink);
// The optimizer's op on this device's share of the parameters, and the communication ops of the
// layout (tensor-parallel all-gathers and reduce-scatters, pipeline sends, the data-parallel
// all-reduce or ZeRO/FSDP reduce-scatters and all-gathers), each with its message, group and
// overlap class.
template <typename Sink>
void ForEachStepOp(const ModelShape& shape, const ParallelLayout& layout, Sink&& sink);
// Both: every op of the step on one device.
template <typename Sink>
void ForEachLayoutOp(const ModelShape& shape, const ParallelLayout& layout, Sink&& sink) {
  ForEachComputeOp(shape, layout, sink);
  ForEachStepOp(shape, layout, sink);
}

}  // namespace chronoscale

#include "chronoscale/layout_impl.h"
