#include "chronoscale/types.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace chronoscale {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

template <typename E, std::size_t N>
bool Lookup(std::string_view text, const std::pair<const char*, E> (&table)[N], E* out) {
  const std::string key = Lower(text);
  for (const auto& [name, value] : table) {
    if (key == name) {
      *out = value;
      return true;
    }
  }
  return false;
}

constexpr std::pair<const char*, Precision> kPrecisions[] = {
    {"fp64", Precision::kFp64},    {"fp32", Precision::kFp32},     {"tf32", Precision::kTf32},
    {"bf16", Precision::kBf16},    {"fp16", Precision::kFp16},     {"float64", Precision::kFp64},
    {"float32", Precision::kFp32}, {"bfloat16", Precision::kBf16}, {"float16", Precision::kFp16}};
constexpr std::pair<const char*, AttentionKind> kAttention[] = {
    {"flash", AttentionKind::kFlash},      {"naive", AttentionKind::kNaive},
    {"softmax", AttentionKind::kNaive},    {"favor", AttentionKind::kFavor},
    {"favor-orth", AttentionKind::kFavor}, {"favor-hyp", AttentionKind::kFavor},
    {"optimal", AttentionKind::kFavor},    {"performer", AttentionKind::kFavor},
    {"dark", AttentionKind::kDark},        {"darkformer", AttentionKind::kDark}};
constexpr std::pair<const char*, MlpKind> kMlp[] = {{"gelu", MlpKind::kGelu},
                                                    {"mlp", MlpKind::kGelu},
                                                    {"swiglu", MlpKind::kSwiGlu},
                                                    {"silu", MlpKind::kSwiGlu},
                                                    {"glu", MlpKind::kSwiGlu}};
constexpr std::pair<const char*, NormKind> kNorm[] = {{"layernorm", NormKind::kLayerNorm},
                                                      {"ln", NormKind::kLayerNorm},
                                                      {"rmsnorm", NormKind::kRmsNorm},
                                                      {"rms", NormKind::kRmsNorm}};
constexpr std::pair<const char*, PositionKind> kPositions[] = {{"learned", PositionKind::kLearned},
                                                               {"absolute", PositionKind::kLearned},
                                                               {"rotary", PositionKind::kRotary},
                                                               {"rope", PositionKind::kRotary}};
constexpr std::pair<const char*, Optimizer> kOptimizers[] = {
    {"adamw", Optimizer::kAdamW}, {"adam", Optimizer::kAdamW}, {"sgd", Optimizer::kSgd}};
constexpr std::pair<const char*, BlockKind> kBlocks[] = {
    {"sequential", BlockKind::kSequential},
    {"parallel", BlockKind::kParallel},
    {"parallel-2norm", BlockKind::kParallelTwoNorms},
    {"parallel2", BlockKind::kParallelTwoNorms}};
constexpr std::pair<const char*, Checkpointing> kCheckpointing[] = {
    {"none", Checkpointing::kNone},  {"selective", Checkpointing::kSelective},
    {"full", Checkpointing::kFull},  {"true", Checkpointing::kFull},
    {"1", Checkpointing::kFull},     {"yes", Checkpointing::kFull},
    {"false", Checkpointing::kNone}, {"0", Checkpointing::kNone},
    {"no", Checkpointing::kNone},    {"uniform", Checkpointing::kFull},
    {"block", Checkpointing::kFull}};  // Megatron's --recompute-method names
constexpr std::pair<const char*, Sharding> kShardings[] = {
    {"none", Sharding::kNone},
    {"ddp", Sharding::kNone},
    {"zero1", Sharding::kZero1},
    {"zero2", Sharding::kZero2},
    {"zero3", Sharding::kZero3},
    {"fsdp", Sharding::kZero3},
    {"hybrid", Sharding::kHybrid},
    {"hsdp", Sharding::kHybrid},
    {"zero0", Sharding::kNone},
    // PyTorch FSDP's ShardingStrategy names and DeepSpeed's stage spellings
    {"no_shard", Sharding::kNone},
    {"shard_grad_op", Sharding::kZero2},
    {"full_shard", Sharding::kZero3},
    {"hybrid_shard", Sharding::kHybrid},
    {"zero-0", Sharding::kNone},
    {"zero-1", Sharding::kZero1},
    {"zero-2", Sharding::kZero2},
    {"zero-3", Sharding::kZero3}};

}  // namespace

std::string ToString(Checkpointing c) {
  static const char* names[] = {"none", "selective", "full"};
  return names[static_cast<int>(c)];
}
std::string ToString(Sharding s) {
  static const char* names[] = {"none", "zero1", "zero2", "zero3", "hybrid"};
  return names[static_cast<int>(s)];
}
bool Parse(std::string_view text, Checkpointing* out) { return Lookup(text, kCheckpointing, out); }
bool Parse(std::string_view text, Sharding* out) { return Lookup(text, kShardings, out); }

std::string ToString(Precision p) {
  static const char* names[] = {"fp64", "fp32", "tf32", "bf16", "fp16"};
  return names[static_cast<int>(p)];
}
std::string ToString(AttentionKind a) {
  static const char* names[] = {"flash", "naive", "favor", "dark"};
  return names[static_cast<int>(a)];
}
std::string ToString(MlpKind m) { return m == MlpKind::kGelu ? "gelu" : "swiglu"; }
std::string ToString(NormKind n) { return n == NormKind::kLayerNorm ? "layernorm" : "rmsnorm"; }
std::string ToString(PositionKind p) { return p == PositionKind::kLearned ? "learned" : "rotary"; }
std::string ToString(Optimizer o) { return o == Optimizer::kAdamW ? "adamw" : "sgd"; }
std::string ToString(BlockKind b) {
  static const char* names[] = {"sequential", "parallel", "parallel-2norm"};
  return names[static_cast<int>(b)];
}

bool Parse(std::string_view text, Precision* out) { return Lookup(text, kPrecisions, out); }
bool Parse(std::string_view text, AttentionKind* out) { return Lookup(text, kAttention, out); }
bool Parse(std::string_view text, MlpKind* out) { return Lookup(text, kMlp, out); }
bool Parse(std::string_view text, NormKind* out) { return Lookup(text, kNorm, out); }
bool Parse(std::string_view text, PositionKind* out) { return Lookup(text, kPositions, out); }
bool Parse(std::string_view text, Optimizer* out) { return Lookup(text, kOptimizers, out); }
bool Parse(std::string_view text, BlockKind* out) { return Lookup(text, kBlocks, out); }

std::vector<std::string> PrecisionNames() { return {"fp64", "fp32", "tf32", "bf16", "fp16"}; }
std::vector<std::string> AttentionNames() { return {"flash", "naive", "favor", "dark"}; }

}  // namespace chronoscale
