// Enumerations shared by the core, with one string table each that feeds CLI flags, JSON and
// combo boxes (the Ceres types.h pattern).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chronoscale {

enum class Precision { kFp64 = 0, kFp32, kTf32, kBf16, kFp16 };
inline constexpr std::size_t kNumPrecisions = 5;

// Bytes in a GiB (2^30): the one unit of memory in reports, flags (--memory-reserve) and JSON.
inline constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Attention core of a transformer layer. kFavor covers every random-feature variant (favor,
// favor-orth, favor-hyp, optimal: same cost); kDark is the data-aware kernel.
enum class AttentionKind { kFlash = 0, kNaive, kFavor, kDark };
enum class MlpKind { kGelu = 0, kSwiGlu };
enum class NormKind { kLayerNorm = 0, kRmsNorm };
enum class PositionKind { kLearned = 0, kRotary };
enum class Optimizer { kAdamW = 0, kSgd };
// How a block combines attention and MLP: sequential (x + attn(norm1 x), then + mlp(norm2 .));
// parallel (x + attn(n x) + mlp(n x) with one shared norm: GPT-J, Falcon-7B, Phi); parallel-2norm
// (the same with a norm per branch: GPT-NeoX, Pythia, Falcon's new decoder architecture).
enum class BlockKind { kSequential = 0, kParallel, kParallelTwoNorms };
// Activation checkpointing (Korthikanti et al. 2022): none; selective (recompute only the
// attention core's score/softmax part in the backward, which flash attention does anyway); full
// (keep only each layer's input and recompute the layer's forward in the backward).
enum class Checkpointing { kNone = 0, kSelective, kFull };
// How data-parallel replicas hold model states (Rajbhandari et al. 2020, ZeRO): none (DDP:
// replicated, gradients all-reduced), zero1 (optimizer state sharded), zero2 (+ gradients),
// zero3 / FSDP full shard (+ weights, gathered per layer), hybrid (FSDP HYBRID_SHARD: zero3
// within a node, replicated across nodes).
enum class Sharding { kNone = 0, kZero1, kZero2, kZero3, kHybrid };
inline constexpr std::size_t kNumShardings = 5;

std::string ToString(Precision p);
std::string ToString(AttentionKind a);
std::string ToString(MlpKind m);
std::string ToString(NormKind n);
std::string ToString(PositionKind p);
std::string ToString(Optimizer o);
std::string ToString(BlockKind b);
std::string ToString(Checkpointing c);
std::string ToString(Sharding s);

// Parse a name (case-insensitive); return false when unknown. Aliases: attention "softmax" and
// "naive"; "favor", "favor-orth", "favor-hyp", "optimal" and "performer" are all kFavor;
// "darkformer" is kDark; mlp "swiglu"/"silu"/"glu"; norm "rmsnorm"/"rms".
bool Parse(std::string_view text, Precision* out);
bool Parse(std::string_view text, AttentionKind* out);
bool Parse(std::string_view text, MlpKind* out);
bool Parse(std::string_view text, NormKind* out);
bool Parse(std::string_view text, PositionKind* out);
bool Parse(std::string_view text, Optimizer* out);
// "sequential", "parallel", "parallel-2norm" (alias "parallel2").
bool Parse(std::string_view text, BlockKind* out);
// "none", "selective", "full"; "true"/"1"/"yes" mean full and "false"/"0"/"no" none (older files).
bool Parse(std::string_view text, Checkpointing* out);
// "none" (alias "ddp"), "zero1", "zero2", "zero3" (alias "fsdp"), "hybrid" (alias "hsdp"); also
// FSDP's strategy names (no_shard, shard_grad_op, full_shard, hybrid_shard) and "zero-N".
bool Parse(std::string_view text, Sharding* out);

// The canonical names of each enum, for help texts and combo boxes.
std::vector<std::string> PrecisionNames();
std::vector<std::string> AttentionNames();

}  // namespace chronoscale
