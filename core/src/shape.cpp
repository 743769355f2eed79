#include "chronoscale/shape.h"

#include <fmt/format.h>

#include "chronoscale/error.h"

namespace chronoscale {
namespace {

void CheckRange(const char* field, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    throw InputError(fmt::format("shape field '{}' is {}; expected a whole number in [{}, {}]",
                                 field, value, lo, hi));
  }
}

}  // namespace

void ModelShape::Validate() const {
  // Upper limits reject absurd sizes (a width of 1e12) before they overflow anything.
  CheckRange("d_model", d_model, 1, int64_t{1} << 20);
  CheckRange("n_layers", n_layers, 1, 100000);
  CheckRange("n_heads", n_heads, 1, d_model);
  if (d_model % n_heads != 0) {
    throw InputError(fmt::format(
        "shape: n_heads {} does not divide d_model {}; expected a divisor (head size d_model / "
        "n_heads must be whole)",
        n_heads, d_model));
  }
  if (n_kv_heads != 0) {
    CheckRange("n_kv_heads", n_kv_heads, 1, n_heads);
    if (n_heads % n_kv_heads != 0) {
      throw InputError(
          fmt::format("shape: n_kv_heads {} does not divide n_heads {}", n_kv_heads, n_heads));
    }
  }
  CheckRange("d_ff", d_ff, 1, int64_t{1} << 22);
  CheckRange("vocab", vocab, 1, int64_t{1} << 27);
  CheckRange("seq_len", seq_len, 1, int64_t{1} << 24);
  CheckRange("batch", batch, 1, int64_t{1} << 24);
  if (attention == AttentionKind::kFavor || attention == AttentionKind::kDark) {
    CheckRange("features", features, 1, int64_t{1} << 20);
  }
}

double ModelShape::LayerParams() const {
  const double d = static_cast<double>(d_model);
  const double f = static_cast<double>(d_ff);
  const double kv = static_cast<double>(KvHeads() * HeadDim());
  const double norm_params = norm == NormKind::kLayerNorm && bias ? 2 * d : d;  // weight (+ bias)
  const double attn_w = d * d + 2 * d * kv + d * d;                             // q, k, v, out
  const double attn_b = bias ? d + 2 * kv + d : 0;
  const double mlp_in = mlp == MlpKind::kSwiGlu ? 2 : 1;  // gate and up for SwiGLU
  const double mlp_w = mlp_in * d * f + f * d;
  const double mlp_b = bias ? mlp_in * f + d : 0;
  return 2 * norm_params + attn_w + attn_b + mlp_w + mlp_b;
}

double ModelShape::EmbeddingParams() const {
  const double d = static_cast<double>(d_model);
  const double v = static_cast<double>(vocab);
  double p = v * d;
  if (positions == PositionKind::kLearned) p += static_cast<double>(seq_len) * d;
  if (!tied_embeddings) p += v * d;  // LM head (no bias)
  return p;
}

double ModelShape::NonEmbeddingParams() const {
  const double d = static_cast<double>(d_model);
  const double final_norm = norm == NormKind::kLayerNorm && bias ? 2 * d : d;
  return static_cast<double>(n_layers) * LayerParams() + final_norm;
}

double ModelShape::Params() const { return NonEmbeddingParams() + EmbeddingParams(); }

int64_t DefaultHeads(int64_t d_model, int64_t head_size) {
  if (d_model <= 0) return 0;
  if (head_size > 0) return d_model % head_size == 0 ? d_model / head_size : 0;
  if (d_model >= 2048 && d_model % 128 == 0) return d_model / 128;
  if (d_model % 64 == 0) return d_model / 64;
  return 0;
}

ModelShape ReferenceShape(int64_t d_model, int64_t n_layers) {
  ModelShape s;
  s.d_model = d_model;
  s.n_layers = n_layers;
  s.n_heads = DefaultHeads(d_model);
  s.d_ff = 4 * d_model;
  return s;
}

std::string Describe(const ModelShape& s) {
  std::string text = fmt::format("d{} x {} layers, {} heads", s.d_model, s.n_layers, s.n_heads);
  if (s.n_kv_heads != 0 && s.n_kv_heads != s.n_heads) text += fmt::format(" ({} kv)", s.n_kv_heads);
  text += fmt::format(", ff {}{}, vocab {}, seq {} x batch {}, {}", s.d_ff,
                      s.mlp == MlpKind::kSwiGlu ? " swiglu" : "", s.vocab, s.seq_len, s.batch,
                      ToString(s.attention));
  if (s.attention == AttentionKind::kFavor || s.attention == AttentionKind::kDark) {
    text += fmt::format(" m={}", s.features);
  }
  return text;
}

}  // namespace chronoscale
