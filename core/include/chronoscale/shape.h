// ModelShape: a decoder-only transformer and one training step's batch. Validated on request
// (Validate throws InputError naming the field); parameter counts match PyTorch's numel() for the
// reference GPT of SCIENCE.md section 1 and for the common Hugging Face variants.
#pragma once

#include <cstdint>
#include <string>

#include "chronoscale/types.h"

namespace chronoscale {

struct ModelShape {
  int64_t d_model = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;     // query heads; d_model % n_heads == 0
  int64_t n_kv_heads = 0;  // key/value heads (grouped-query attention); 0 means n_heads
  int64_t d_ff = 0;        // MLP hidden width (per branch for SwiGLU)
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
  bool bias = true;  // biases in every linear layer but the LM head
  Checkpointing checkpointing = Checkpointing::kNone;  // activation checkpointing
  Precision precision = Precision::kBf16;  // autocast compute precision; master weights fp32
  Optimizer optimizer = Optimizer::kAdamW;

  // Throws InputError naming the first bad field, its value and what is expected.
  void Validate() const;

  int64_t HeadDim() const { return d_model / n_heads; }
  int64_t KvHeads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
  double TokensPerStep() const { return static_cast<double>(seq_len) * static_cast<double>(batch); }

  // Parameter counts (as doubles: exact below 2^53).
  double LayerParams() const;         // one transformer block
  double EmbeddingParams() const;     // token (+ learned position) embeddings, + LM head if untied
  double NonEmbeddingParams() const;  // blocks + final norm (Kaplan's N)
  double Params() const;              // everything (Hoffmann's N; PyTorch's sum of numel)
};

// Head count for d_model under the reference rule: head size 128 where d_model >= 2048 and 128
// divides it, else 64 where 64 divides it; head_size > 0 forces a size. Returns 0 when no
// head size divides d_model.
int64_t DefaultHeads(int64_t d_model, int64_t head_size = 0);

// The reference training step of SCIENCE.md section 1 at a width and depth: default heads,
// d_ff = 4 d_model, vocab 32768, seq 1024, batch 8, flash attention, bf16 autocast, AdamW.
ModelShape ReferenceShape(int64_t d_model, int64_t n_layers);

// One line describing the shape, e.g. "d1024 x 8 layers, 16 heads, ff 4096, seq 1024 x 8".
std::string Describe(const ModelShape& shape);

}  // namespace chronoscale
