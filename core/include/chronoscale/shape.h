// ModelShape: a decoder-only transformer and one training step's batch. Validated on request
// (Validate throws InputError naming the field); parameter counts match PyTorch's numel() for the
// reference GPT of SCIENCE.md section 1 and for the common Hugging Face variants.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "chronoscale/types.h"

namespace chronoscale {

struct ModelShape {
  int64_t d_model = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;     // query heads; d_model % n_heads == 0 unless head_dim is set
  int64_t n_kv_heads = 0;  // key/value heads (grouped-query attention); 0 means n_heads
  int64_t head_dim = 0;    // per-head size; 0 means d_model / n_heads (Mistral-Nemo sets 128)
  int64_t d_ff = 0;        // MLP hidden width (per branch for SwiGLU; per expert under MoE)
  int64_t vocab = 32768;
  int64_t seq_len = 1024;
  int64_t batch = 8;  // sequences per optimizer step (global: split by the ParallelLayout)
  AttentionKind attention = AttentionKind::kFlash;
  int64_t features = 256;  // random features m, used by kFavor and kDark
  bool causal = true;
  MlpKind mlp = MlpKind::kGelu;
  NormKind norm = NormKind::kLayerNorm;
  PositionKind positions = PositionKind::kLearned;
  bool tied_embeddings = false;
  bool bias = true;  // biases in every linear layer but the LM head, and in LayerNorms
  // Per-part overrides of `bias`: -1 as `bias`, 0 none, 1 present. qkv (Qwen2: q, k, v only),
  // the attention output, the MLPs (GPT-J: MLP only) and the LayerNorms (Falcon: norms only).
  int qkv_bias = -1, out_bias = -1, mlp_bias = -1, norm_bias = -1;
  bool head_bias = false;      // a bias on the LM head (Phi, GPT-J)
  int64_t max_positions = 0;   // rows of the learned position table; 0: seq_len
  int64_t sliding_window = 0;  // keys each query attends to at most (Mistral); 0: all
  BlockKind block = BlockKind::kSequential;
  bool post_norms = false;  // a norm on each branch's output before the residual add (Gemma 2)
  // Mixture of experts (experts > 0): each MoE layer's router, Linear(d_model, experts) without
  // bias, sends every token to experts_per_token of `experts` MLPs of width d_ff; an always-on
  // shared MLP of width shared_ff (0: none) runs beside them, scaled by a sigmoid gate
  // Linear(d_model, 1) when shared_gate (Qwen-MoE). The first dense_layers layers are dense MLPs
  // of width dense_ff (DeepSeek-MoE's first_k_dense_replace).
  int64_t experts = 0;
  int64_t experts_per_token = 0;
  int64_t shared_ff = 0;
  bool shared_gate = false;
  int64_t dense_layers = 0;
  int64_t dense_ff = 0;
  Checkpointing checkpointing = Checkpointing::kNone;  // activation checkpointing
  Precision precision = Precision::kBf16;  // autocast compute precision; master weights fp32
  Optimizer optimizer = Optimizer::kAdamW;

  // Throws InputError naming the first bad field, its value and what is expected.
  void Validate() const;

  int64_t HeadDim() const { return head_dim > 0 ? head_dim : d_model / n_heads; }
  int64_t KvHeads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
  int64_t QueryWidth() const { return n_heads * HeadDim(); }  // q and attention output width
  int64_t PositionRows() const { return max_positions > 0 ? max_positions : seq_len; }
  bool Moe() const { return experts > 0; }
  int64_t MoeLayers() const { return experts > 0 ? n_layers - dense_layers : 0; }
  bool QkvBias() const { return qkv_bias < 0 ? bias : qkv_bias == 1; }
  bool OutBias() const { return out_bias < 0 ? bias : out_bias == 1; }
  bool MlpBias() const { return mlp_bias < 0 ? bias : mlp_bias == 1; }
  bool NormHasBias() const {
    return norm == NormKind::kLayerNorm && (norm_bias < 0 ? bias : norm_bias == 1);
  }
  int64_t NormsPerLayer() const { return block == BlockKind::kParallel ? 1 : 2; }
  double TokensPerStep() const { return static_cast<double>(seq_len) * static_cast<double>(batch); }

  // Parameter counts (as doubles: exact below 2^53). Under MoE every expert counts; the active
  // count is what one token passes through (experts_per_token of the experts).
  double LayerParams() const;  // one transformer block (the mean block where MoE leaves some dense)
  double EmbeddingParams() const;     // token (+ learned position) embeddings, + LM head if untied
  double NonEmbeddingParams() const;  // blocks + final norm (Kaplan's N)
  double Params() const;              // everything (Hoffmann's N; PyTorch's sum of numel)
  double ActiveParams() const;        // Params() with only experts_per_token experts per layer
  double ExpertParams() const;        // one expert's MLP (0 without MoE)
};

// Head count for d_model under the reference rule: head size 128 where d_model >= 2048 and 128
// divides it, else 64 where 64 divides it; head_size > 0 forces a size. Returns 0 when no
// head size divides d_model.
int64_t DefaultHeads(int64_t d_model, int64_t head_size = 0);

// The reference training step of SCIENCE.md section 1 at a width and depth: default heads,
// d_ff = 4 d_model, vocab 32768, seq 1024, batch 8, flash attention, bf16 autocast, AdamW.
ModelShape ReferenceShape(int64_t d_model, int64_t n_layers);

// One line describing the shape, e.g. "d1024 x 8 layers, 16 heads, ff 4096, seq 1024 x 8"; the
// variants that change the block (head_dim, window, parallel, MoE) are named.
std::string Describe(const ModelShape& shape);

// The shape as JSON: one key per field, named as the shapes-CSV columns (bias overrides as their
// effective booleans; "tied_embeddings" repeats "tied" for older readers of plan output).
nlohmann::json ShapeToJson(const ModelShape& shape);

}  // namespace chronoscale
