#include "chronoscale/shape.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <utility>

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
  CheckRange("head_dim", head_dim, 0, int64_t{1} << 16);
  CheckRange("n_heads", n_heads, 1, head_dim > 0 ? int64_t{1} << 16 : d_model);
  if (head_dim == 0 && d_model % n_heads != 0) {
    throw InputError(fmt::format(
        "shape: n_heads {} does not divide d_model {}; expected a divisor (head size d_model / "
        "n_heads must be whole) or an explicit head_dim",
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
  CheckRange("sliding_window", sliding_window, 0, int64_t{1} << 24);
  CheckRange("max_positions", max_positions, 0, int64_t{1} << 24);
  if (positions == PositionKind::kLearned && max_positions > 0 && seq_len > max_positions) {
    throw InputError(fmt::format(
        "shape: seq_len {} is longer than the learned position table (max_positions {})", seq_len,
        max_positions));
  }
  for (const auto& [name, value] : {std::pair<const char*, int>{"qkv_bias", qkv_bias},
                                    {"out_bias", out_bias},
                                    {"mlp_bias", mlp_bias},
                                    {"norm_bias", norm_bias}}) {
    if (value < -1 || value > 1) {
      throw InputError(fmt::format(
          "shape field '{}' is {}; expected -1 (as bias), 0 (none) or 1 (present)", name, value));
    }
  }
  if (attention == AttentionKind::kFavor || attention == AttentionKind::kDark) {
    CheckRange("features", features, 1, int64_t{1} << 20);
  }
  CheckRange("experts", experts, 0, 4096);
  if (experts == 0) {
    const char* moe_only = experts_per_token != 0 ? "experts_per_token"
                           : shared_ff != 0       ? "shared_ff"
                           : shared_gate          ? "shared_gate"
                           : dense_layers != 0    ? "dense_layers"
                           : dense_ff != 0        ? "dense_ff"
                                                  : nullptr;
    if (moe_only != nullptr) {
      throw InputError(fmt::format(
          "shape: '{}' is set but experts is 0; it applies to mixture-of-experts shapes only",
          moe_only));
    }
    return;
  }
  CheckRange("experts_per_token", experts_per_token, 1, experts);
  CheckRange("shared_ff", shared_ff, 0, int64_t{1} << 22);
  if (shared_gate && shared_ff == 0)
    throw InputError("shape: 'shared_gate' is set but shared_ff is 0 (no shared expert to gate)");
  CheckRange("dense_layers", dense_layers, 0, n_layers - 1);
  if (dense_layers > 0) {
    CheckRange("dense_ff", dense_ff, 1, int64_t{1} << 22);
  } else if (dense_ff != 0) {
    throw InputError("shape: 'dense_ff' is set but dense_layers is 0");
  }
}

namespace {

// Weights (and biases) of one MLP of width f: up (+ gate for SwiGLU) and down.
double MlpParams(const ModelShape& s, double f) {
  const double d = static_cast<double>(s.d_model);
  const double mlp_in = s.mlp == MlpKind::kSwiGlu ? 2 : 1;
  return mlp_in * d * f + f * d + (s.MlpBias() ? mlp_in * f + d : 0);
}

double NormParams(const ModelShape& s) {
  const double d = static_cast<double>(s.d_model);
  return s.NormHasBias() ? 2 * d : d;  // weight (+ bias)
}

// Every block's parameters with `routed` experts counted per MoE layer.
double BlockParams(const ModelShape& s, double routed) {
  const double d = static_cast<double>(s.d_model);
  const double q = static_cast<double>(s.QueryWidth());
  const double kv = static_cast<double>(s.KvHeads() * s.HeadDim());
  const double attn = d * q + 2 * d * kv + q * d + (s.QkvBias() ? q + 2 * kv : 0) +
                      (s.OutBias() ? d : 0);  // q, k, v, out
  const double norms = static_cast<double>(s.NormsPerLayer() + (s.post_norms ? 2 : 0));
  const double common = norms * NormParams(s) + attn;
  const double layers = static_cast<double>(s.n_layers);
  if (!s.Moe()) return layers * (common + MlpParams(s, static_cast<double>(s.d_ff)));
  const double e = static_cast<double>(s.experts);
  double moe = d * e + routed * MlpParams(s, static_cast<double>(s.d_ff));  // router, experts
  if (s.shared_ff > 0) moe += MlpParams(s, static_cast<double>(s.shared_ff));
  if (s.shared_gate) moe += d;
  const double dense = static_cast<double>(s.dense_layers);
  return layers * common + (layers - dense) * moe +
         dense * (s.dense_layers > 0 ? MlpParams(s, static_cast<double>(s.dense_ff)) : 0);
}

}  // namespace

double ModelShape::LayerParams() const {
  return BlockParams(*this, static_cast<double>(experts)) / static_cast<double>(n_layers);
}

double ModelShape::EmbeddingParams() const {
  const double d = static_cast<double>(d_model);
  const double v = static_cast<double>(vocab);
  double p = v * d;
  if (positions == PositionKind::kLearned) p += static_cast<double>(PositionRows()) * d;
  if (!tied_embeddings) p += v * d;  // LM head
  if (head_bias) p += v;
  return p;
}

double ModelShape::NonEmbeddingParams() const {
  return BlockParams(*this, static_cast<double>(experts)) + NormParams(*this);
}

double ModelShape::Params() const { return NonEmbeddingParams() + EmbeddingParams(); }

double ModelShape::ExpertParams() const {
  return Moe() ? MlpParams(*this, static_cast<double>(d_ff)) : 0;
}

double ModelShape::ActiveParams() const {
  return BlockParams(*this, static_cast<double>(experts_per_token)) + NormParams(*this) +
         EmbeddingParams();
}

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
  if (s.head_dim != 0) text += fmt::format(" of {}", s.head_dim);
  if (s.Moe()) {
    text += fmt::format(", {} experts (top {}) of ff {}{}", s.experts, s.experts_per_token, s.d_ff,
                        s.mlp == MlpKind::kSwiGlu ? " swiglu" : "");
    if (s.shared_ff > 0) text += fmt::format(" + shared ff {}", s.shared_ff);
    if (s.dense_layers > 0)
      text += fmt::format(", first {} dense (ff {})", s.dense_layers, s.dense_ff);
  } else {
    text += fmt::format(", ff {}{}", s.d_ff, s.mlp == MlpKind::kSwiGlu ? " swiglu" : "");
  }
  if (s.block != BlockKind::kSequential) text += ", " + ToString(s.block) + " block";
  if (s.post_norms) text += ", post-norms";
  text += fmt::format(", vocab {}, seq {} x batch {}, {}", s.vocab, s.seq_len, s.batch,
                      ToString(s.attention));
  if (s.attention == AttentionKind::kFavor || s.attention == AttentionKind::kDark) {
    text += fmt::format(" m={}", s.features);
  }
  if (s.sliding_window > 0 && s.sliding_window < s.seq_len)
    text += fmt::format(" (window {})", s.sliding_window);
  return text;
}

nlohmann::json ShapeToJson(const ModelShape& s) {
  nlohmann::json j{{"d_model", s.d_model},
                   {"n_layers", s.n_layers},
                   {"n_heads", s.n_heads},
                   {"n_kv_heads", s.KvHeads()},
                   {"head_dim", s.HeadDim()},
                   {"d_ff", s.d_ff},
                   {"seq_len", s.seq_len},
                   {"batch", s.batch},
                   {"vocab", s.vocab},
                   {"attention", ToString(s.attention)},
                   {"features", s.features},
                   {"causal", s.causal},
                   {"sliding_window", s.sliding_window},
                   {"mlp", ToString(s.mlp)},
                   {"norm", ToString(s.norm)},
                   {"positions", ToString(s.positions)},
                   {"block", ToString(s.block)},
                   {"post_norms", s.post_norms},
                   {"tied", s.tied_embeddings},
                   {"tied_embeddings", s.tied_embeddings},
                   {"bias", s.bias},
                   {"qkv_bias", s.QkvBias()},
                   {"out_bias", s.OutBias()},
                   {"mlp_bias", s.MlpBias()},
                   {"norm_bias", s.NormHasBias()},
                   {"lm_head_bias", s.head_bias},
                   {"experts", s.experts},
                   {"experts_per_token", s.experts_per_token},
                   {"checkpointing", ToString(s.checkpointing)},
                   {"precision", ToString(s.precision)},
                   {"optimizer", ToString(s.optimizer)}};
  if (s.positions == PositionKind::kLearned) j["max_positions"] = s.PositionRows();
  if (s.Moe()) {
    j["shared_ff"] = s.shared_ff;
    j["shared_gate"] = s.shared_gate;
    j["dense_layers"] = s.dense_layers;
    j["dense_ff"] = s.dense_ff;
  }
  return j;
}

}  // namespace chronoscale
