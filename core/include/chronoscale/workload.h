// Workload: the op-by-op accounting of one training step ("memory copies"): every kernel of the
// forward, backward and optimizer with its FLOPs, bytes read, bytes written, exponentials and
// launches. One place, unit-tested by hand counts; every estimator reads it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "chronoscale/parallel.h"
#include "chronoscale/shape.h"
#include "chronoscale/types.h"

namespace chronoscale {

enum class OpKind {
  kMatmul = 0,     // GEMMs on tensor cores (linear layers, LM head)
  kAttention,      // the attention core (flash, naive score/prob matmuls, random features)
  kElementwise,    // activations, residual adds, copies, bias and gradient accumulation
  kNorm,           // layer norm / RMS norm (forward and backward)
  kCast,           // dtype casts: autocast weight and activation casts, fp32 logits
  kLoss,           // softmax cross-entropy over the vocabulary
  kEmbedding,      // token and position gathers and their scatter-add backward
  kOptimizer,      // AdamW / SGD update
  kCommunication,  // collectives and pipeline sends between devices (priced on the links)
};
inline constexpr std::size_t kNumOpKinds = 9;

// Communication ops: the collective and what compute it can run under.
enum class Collective { kAllReduce = 0, kReduceScatter, kAllGather, kSendRecv, kAllToAll };
// kExposed: on the critical path (tensor-parallel collectives, pipeline sends). kForward /
// kBackward: prefetched or bucketed under the forward / backward of the micro-steps it runs in
// (FSDP all-gathers and reduce-scatters). kFirstForward / kLastBackward: once per optimizer step,
// under the first micro-step's forward (ZeRO's parameter all-gather) or the last micro-step's
// backward (DDP's bucketed all-reduce).
enum class Overlap { kExposed = 0, kForward, kBackward, kFirstForward, kLastBackward };
inline constexpr std::size_t kNumOverlaps = 5;
std::string ToString(Collective c);
std::string ToString(Overlap o);
enum class Phase { kForward = 0, kBackward, kOptimizer };
inline constexpr std::size_t kNumPhases = 3;

std::string ToString(OpKind k);
std::string ToString(Phase p);

struct Op {
  const char* name = "";  // static string, e.g. "mlp_up"
  OpKind kind = OpKind::kElementwise;
  Phase phase = Phase::kForward;
  bool per_layer = false;  // repeated once per transformer layer (count = n_layers)
  // Part of the head: final norm, LM head, fp32 logits and the loss, forward and backward. It
  // runs after the layer stack has been dispatched, so its GPU time is not hidden under dispatch.
  bool head = false;
  double count = 1;  // how many times the op runs per step
  // Per run of the op:
  double flops = 0;
  double bytes_read = 0;
  double bytes_written = 0;
  double exps = 0;                         // exponentials (softmax, random features, GELU's tanh)
  double launches = 0;                     // kernel launches
  Precision precision = Precision::kBf16;  // precision of its arithmetic (matmul rate)
  // Communication ops only (kind kCommunication; their bytes_read/written stay 0: the traffic
  // is on the links, not in device memory):
  Collective collective = Collective::kAllReduce;
  double comm_bytes = 0;       // the message: the whole tensor reduced, gathered or sent
  int64_t group = 1;           // devices in the collective
  int64_t group_per_node = 1;  // of them, how many share a node (the rest is across nodes)
  Overlap overlap = Overlap::kExposed;

  double Bytes() const { return bytes_read + bytes_written; }
};

struct Totals {
  double flops = 0, bytes_read = 0, bytes_written = 0, exps = 0, launches = 0;
  double Bytes() const { return bytes_read + bytes_written; }
  void Add(const Op& op);  // adds op * count
};

struct Workload {
  ModelShape shape;
  ParallelLayout layout;  // the device whose ops these are
  std::vector<Op> ops;    // per-layer ops appear once with count = n_layers
  Totals total;
  std::array<Totals, kNumOpKinds> by_kind;
  std::array<Totals, kNumPhases> by_phase;
  Totals per_layer;  // one transformer layer (forward + backward + its optimizer share excluded)
};

// Builds the accounting for one training step of `shape` (validated first; InputError if bad).
Workload BuildWorkload(const ModelShape& shape);
// The ops of one device of the fullest pipeline stage under `layout` (layout.h): the forward and
// backward of every micro-step, the optimizer's share and the communication ops.
Workload BuildWorkload(const ModelShape& shape, const ParallelLayout& layout);

// The same ops without allocation: calls sink(op) for each op (count already set). The fast path
// of the estimators and the planner.
// `expert_shards` (expert parallelism, layout.h): this device holds experts / expert_shards of
// each MoE layer's experts, so reads, casts and launches only those.
template <typename Sink>
void ForEachOp(const ModelShape& shape, Sink&& sink, int64_t expert_shards = 1);

// The attention core alone, for kernel calibration: `kernel` is one of the kernel names of
// ARCHITECTURE.md (softmax, flash, favor, favor-orth, favor-hyp, optimal, dark), forward only,
// for batch x heads sequences of length seq_len with head size d_head, in `precision`.
// Returns the ops (count set) the step-time model prices for it. Throws InputError on an
// unknown kernel name.
std::vector<Op> AttentionKernelOps(const std::string& kernel, int64_t batch, int64_t heads,
                                   int64_t seq_len, int64_t d_head, int64_t features, bool causal,
                                   Precision precision);

// Memory footprint of training `shape` (bytes), and whether it fits the device.
// The peak is the larger of two moments: at the loss (every activation saved, the logits' fp32
// buffers live, no parameter gradient yet under zero_grad(set_to_none=True)) and at the end of
// the backward (every gradient live, activations freed). The fields are what is live then.
struct MemoryEstimate {
  double weights = 0, grads = 0, optimizer = 0, activations = 0, logits = 0, workspace = 0;
  const char* peak = "at the loss";  // or "end of backward"
  double Total() const { return weights + grads + optimizer + activations + logits + workspace; }
};
MemoryEstimate EstimateMemory(const ModelShape& shape);  // one device (layout.h: any layout)

}  // namespace chronoscale

#include "chronoscale/workload_impl.h"
