#include "chronoscale/hf_config.h"

#include <fmt/format.h>

#include <cmath>
#include <initializer_list>

#include "chronoscale/error.h"
#include "chronoscale/io.h"

namespace chronoscale {
namespace {

// The first of `keys` present (and not null); -1 when none is.
int64_t Field(const nlohmann::json& c, std::initializer_list<const char*> keys,
              const std::string& where, bool required, int64_t fallback = 0) {
  for (const char* k : keys) {
    if (!c.contains(k) || c.at(k).is_null()) continue;
    const auto& v = c.at(k);
    if (!v.is_number())
      throw InputError(fmt::format("{}: key '{}' must be a number, found {}", where, k, v.dump()));
    const double x = v.get<double>();
    if (!std::isfinite(x) || x != std::floor(x) || x < 1 || x > 1e12) {
      throw InputError(
          fmt::format("{}: key '{}' is {}; expected a positive whole number", where, k, v.dump()));
    }
    return static_cast<int64_t>(x);
  }
  if (required) {
    std::string names;
    for (const char* k : keys) names += (names.empty() ? "" : " or ") + std::string(k);
    throw InputError(fmt::format("{}: missing key {}", where, names));
  }
  return fallback;
}

bool Flag(const nlohmann::json& c, const char* key, bool fallback) {
  if (!c.contains(key) || c.at(key).is_null()) return fallback;
  return c.at(key).is_boolean() ? c.at(key).get<bool>() : fallback;
}

// A string key, or "" when absent or null; another type is an InputError naming the key.
std::string Text(const nlohmann::json& c, const char* key, const std::string& where) {
  if (!c.contains(key) || c.at(key).is_null()) return {};
  const auto& v = c.at(key);
  if (!v.is_string()) {
    throw InputError(fmt::format("{}: key '{}' must be a string, found {}", where, key, v.dump()));
  }
  return v.get<std::string>();
}

}  // namespace

ModelShape ShapeFromHfConfig(const nlohmann::json& c, const std::string& where) {
  if (!c.is_object())
    throw InputError(fmt::format("{}: expected a JSON object (a Hugging Face config)", where));
  ModelShape s;
  s.d_model = Field(c, {"hidden_size", "n_embd", "d_model"}, where, true);
  s.n_layers = Field(c, {"num_hidden_layers", "n_layer", "num_layers"}, where, true);
  s.n_heads = Field(c, {"num_attention_heads", "n_head", "num_heads"}, where, true);
  s.n_kv_heads = Field(c, {"num_key_value_heads"}, where, false, 0);
  if (s.n_kv_heads == s.n_heads) s.n_kv_heads = 0;
  s.d_ff = Field(c, {"intermediate_size", "n_inner", "ffn_dim"}, where, false, 4 * s.d_model);
  s.vocab = Field(c, {"vocab_size"}, where, true);
  s.seq_len = Field(c, {"max_position_embeddings", "n_positions", "n_ctx"}, where, false, 1024);
  const std::string type = Text(c, "model_type", where);
  std::string act = Text(c, "hidden_act", where);
  if (act.empty()) act = Text(c, "activation_function", where);
  if (act.empty()) act = "gelu";
  const bool llama_like = type == "llama" || type == "mistral" || type == "qwen2" ||
                          type == "qwen3" || type == "gemma" || type == "gemma2" ||
                          type == "olmo" || type == "mixtral";
  if (llama_like || act == "silu" || act == "swiglu") s.mlp = MlpKind::kSwiGlu;
  if (llama_like || c.contains("rms_norm_eps")) s.norm = NormKind::kRmsNorm;
  if (llama_like || c.contains("rope_theta") || c.contains("rotary_dim") ||
      Text(c, "position_embedding_type", where) == "rotary") {
    s.positions = PositionKind::kRotary;
  }
  s.tied_embeddings = Flag(c, "tie_word_embeddings", true);
  s.bias = llama_like ? Flag(c, "attention_bias", false) || Flag(c, "mlp_bias", false)
                      : Flag(c, "bias", true);
  try {
    s.Validate();
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", where, e.what()));
  }
  return s;
}

ModelShape LoadHfConfig(const std::string& path) {
  return ShapeFromHfConfig(ReadJsonFile(path), path);
}

nlohmann::json HfConfigFromShape(const ModelShape& s) {
  nlohmann::json c;
  const bool llama = s.mlp == MlpKind::kSwiGlu || s.norm == NormKind::kRmsNorm;
  c["architectures"] = {llama ? "LlamaForCausalLM" : "GPT2LMHeadModel"};
  c["model_type"] = llama ? "llama" : "gpt2";
  c["hidden_size"] = s.d_model;
  c["num_hidden_layers"] = s.n_layers;
  c["num_attention_heads"] = s.n_heads;
  c["num_key_value_heads"] = s.KvHeads();
  c["intermediate_size"] = s.d_ff;
  c["vocab_size"] = s.vocab;
  c["max_position_embeddings"] = s.seq_len;
  c["tie_word_embeddings"] = s.tied_embeddings;
  c["hidden_act"] = s.mlp == MlpKind::kSwiGlu ? "silu" : "gelu_new";
  if (llama) {
    c["rms_norm_eps"] = 1e-5;
    c["attention_bias"] = s.bias;
    c["mlp_bias"] = s.bias;
  } else {
    c["n_embd"] = s.d_model;
    c["n_layer"] = s.n_layers;
    c["n_head"] = s.n_heads;
    c["n_inner"] = s.d_ff;
    c["n_positions"] = s.seq_len;
    c["layer_norm_epsilon"] = 1e-5;
  }
  c["torch_dtype"] = s.precision == Precision::kFp16 ? "float16" : "bfloat16";
  return c;
}

}  // namespace chronoscale
