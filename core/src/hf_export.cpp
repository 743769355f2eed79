// Hugging Face config export: the config of the transformers class that builds a shape
// (hf_config.h), or a refusal naming the variants no supported class builds.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>

#include "chronoscale/error.h"
#include "chronoscale/hf_config.h"

namespace chronoscale {

using nlohmann::json;

namespace {

// The variant flags that pick the transformers class.
struct Variant {
  const ModelShape& s;
  bool gated, rms, rotary, sequential, qb, ob, mb, nb, mha, plain_heads, window;
};

// Reads the flags off a validated shape.
Variant ReadVariant(const ModelShape& s) {
  return {s,
          s.mlp == MlpKind::kSwiGlu,
          s.norm == NormKind::kRmsNorm,
          s.positions == PositionKind::kRotary,
          s.block == BlockKind::kSequential,
          s.QkvBias(),
          s.OutBias(),
          s.MlpBias(),
          s.NormHasBias(),
          s.KvHeads() == s.n_heads,
          s.head_dim == 0,
          s.sliding_window > 0};
}

// Throws the refusal naming every variant of the shape and why no class builds it.
[[noreturn]] void Refuse(const Variant& v, const std::string& why) {
  const ModelShape& s = v.s;
  const char* yn[] = {"no", "yes"};
  throw InputError(fmt::format(
      "cannot export a Hugging Face config: no transformers config class builds mlp {}, norm {}, "
      "positions {}, block {}, {} of {} kv heads, biases qkv/out/mlp/norm/head {}/{}/{}/{}/{}, "
      "window {}, {} ({}); change the variant or export another shape",
      ToString(s.mlp), ToString(s.norm), ToString(s.positions), ToString(s.block), s.KvHeads(),
      s.n_heads, yn[v.qb], yn[v.ob], yn[v.mb], yn[v.nb], yn[s.head_bias], s.sliding_window,
      s.Moe() ? fmt::format("{} experts (top {}, shared ff {}, dense layers {})", s.experts,
                            s.experts_per_token, s.shared_ff, s.dense_layers)
              : std::string("dense"),
      why));
}

// Mixtral or Qwen2-MoE for a mixture-of-experts shape.
std::string ChooseMoeType(const Variant& v) {
  const ModelShape& s = v.s;
  if (s.dense_layers > 0) Refuse(v, "leading dense layers (DeepSeek-MoE needs remote code)");
  if (!(v.gated && v.rms && v.rotary && v.sequential) || s.head_bias || v.mb)
    Refuse(v,
           "Mixtral and Qwen2-MoE are SwiGLU, RMSNorm, rotary and sequential, without MLP or "
           "head biases");
  if (s.shared_ff == 0 && !v.qb && !v.ob) return "mixtral";
  if (s.shared_ff > 0 && s.shared_gate && v.qb && !v.ob) return "qwen2_moe";
  Refuse(v,
         "Mixtral has no shared expert or biases; Qwen2-MoE has a gated shared expert and "
         "q/k/v biases only");
}

// Llama, Qwen2 or Mistral for a dense SwiGLU, RMSNorm, rotary, sequential shape.
std::string ChooseLlamaType(const Variant& v) {
  if (!v.window && v.qb == v.ob) return "llama";
  if (v.qb && !v.ob && !v.mb) return "qwen2";
  if (v.window && !v.qb && !v.ob && !v.mb) return "mistral";
  Refuse(v, "Llama ties the q/k/v and output biases; Qwen2 has q/k/v biases only; Mistral none");
}

// GPT-2 or GPTBigCode for a GELU, LayerNorm, learned-position shape with every bias.
std::string ChooseGpt2Type(const Variant& v) {
  if (v.mha) return "gpt2";
  if (v.s.KvHeads() == 1) return "gpt_bigcode";
  Refuse(v, "GPT-2 has no grouped-query attention (GPTBigCode only multi-query)");
}

// GPT-J, Phi, Falcon, GPT-NeoX or StarCoder2 for a GELU, LayerNorm, rotary shape.
std::string ChooseNeoxType(const Variant& v) {
  const ModelShape& s = v.s;
  const bool qb = v.qb, ob = v.ob, mb = v.mb, mha = v.mha, window = v.window;
  if (s.block == BlockKind::kParallel && s.head_bias && !qb && !ob && mb && mha && !window)
    return "gptj";
  if (s.block == BlockKind::kParallel && s.head_bias && qb && ob && mb && mha && !window)
    return "phi";
  if (s.block == BlockKind::kParallel && !s.head_bias && qb == ob && ob == mb && v.plain_heads &&
      !window && (mha || s.KvHeads() == 1))
    return "falcon";
  if (!s.head_bias && qb == ob && mb && mha && v.plain_heads && !window &&
      s.block != BlockKind::kParallel)
    return "gpt_neox";
  if (v.sequential && !s.head_bias && qb == ob && ob == mb) return "starcoder2";
  Refuse(v, "no GPT-NeoX, GPT-J, Phi, Falcon or StarCoder2 layout matches its biases and heads");
}

// The model_type of the class that builds the shape, or the refusal.
std::string ChooseType(const Variant& v) {
  const ModelShape& s = v.s;
  if (s.Moe()) return ChooseMoeType(v);
  if (v.gated && v.rms && v.rotary && v.sequential && !s.head_bias) return ChooseLlamaType(v);
  if (!v.gated && !v.rms && !v.rotary && v.sequential && v.qb && v.ob && v.mb && v.nb &&
      !s.head_bias && !v.window && v.plain_heads)
    return ChooseGpt2Type(v);
  if (!v.gated && !v.rms && v.rotary && v.nb) return ChooseNeoxType(v);
  Refuse(v, "its mix of MLP, norm, positions and block has no class");
}

// The keys every class has: architecture, vocabulary, dtype, token ids and the generic sizes.
void WriteCommonKeys(const ModelShape& s, const std::string& type, json& c) {
  static const std::map<std::string, std::string> kArch = {{"llama", "LlamaForCausalLM"},
                                                           {"mistral", "MistralForCausalLM"},
                                                           {"qwen2", "Qwen2ForCausalLM"},
                                                           {"mixtral", "MixtralForCausalLM"},
                                                           {"qwen2_moe", "Qwen2MoeForCausalLM"},
                                                           {"gpt2", "GPT2LMHeadModel"},
                                                           {"gpt_bigcode", "GPTBigCodeForCausalLM"},
                                                           {"gpt_neox", "GPTNeoXForCausalLM"},
                                                           {"gptj", "GPTJForCausalLM"},
                                                           {"phi", "PhiForCausalLM"},
                                                           {"falcon", "FalconForCausalLM"},
                                                           {"starcoder2", "Starcoder2ForCausalLM"}};
  c["architectures"] = {kArch.at(type)};
  c["model_type"] = type;
  c["vocab_size"] = s.vocab;
  c["tie_word_embeddings"] = s.tied_embeddings;
  c["torch_dtype"] = s.precision == Precision::kFp16 ? "float16" : "bfloat16";
  // token ids inside the vocabulary
  const int64_t last = s.vocab - 1;
  const bool gpt = type == "gpt2" || type == "gpt_bigcode" || type == "gpt_neox" ||
                   type == "gptj" || type == "phi" || type == "starcoder2" || type == "falcon";
  c["bos_token_id"] = gpt ? last : std::min<int64_t>(1, last);
  c["eos_token_id"] = gpt ? last : std::min<int64_t>(2, last);

  // The generic names (which GPT-2-style classes map onto n_embd, n_layer, n_head) for readers
  // that know only them.
  c["hidden_size"] = s.d_model;
  c["num_hidden_layers"] = s.n_layers;
  c["num_attention_heads"] = s.n_heads;
}

// GPT-2, GPTBigCode and GPT-J: the n_* names.
void WriteGpt2Keys(const Variant& v, const std::string& type, json& c) {
  const ModelShape& s = v.s;
  c["n_embd"] = s.d_model;
  c["n_layer"] = s.n_layers;
  c["n_head"] = s.n_heads;
  c["n_inner"] = s.d_ff;
  c["n_positions"] = v.rotary ? s.seq_len : s.PositionRows();
  c["activation_function"] = "gelu_new";
  c["layer_norm_epsilon"] = 1e-5;
  if (type == "gpt_bigcode") c["multi_query"] = true;
  if (type == "gptj") c["rotary_dim"] = s.HeadDim();
}

// Falcon: multi-query or not, parallel attention, one bias flag.
void WriteFalconKeys(const Variant& v, json& c) {
  c["multi_query"] = v.s.KvHeads() == 1;
  c["parallel_attn"] = true;
  c["new_decoder_architecture"] = false;
  c["bias"] = v.qb;
  c["alibi"] = false;
  c["ffn_hidden_size"] = v.s.d_ff;
  c["layer_norm_epsilon"] = 1e-5;
}

// GPT-NeoX: GELU, full rotary, the parallel residual of two norms.
void WriteNeoxKeys(const Variant& v, json& c) {
  c["hidden_act"] = "gelu";
  c["rotary_pct"] = 1.0;
  c["use_parallel_residual"] = v.s.block == BlockKind::kParallelTwoNorms;
  c["attention_bias"] = v.qb;
  c["layer_norm_eps"] = 1e-5;
}

// Phi: GELU (new), full rotary.
void WritePhiKeys(json& c) {
  c["hidden_act"] = "gelu_new";
  c["partial_rotary_factor"] = 1.0;
  c["layer_norm_eps"] = 1e-5;
}

// StarCoder2: tanh GELU, one bias flag, the window or null.
void WriteStarcoder2Keys(const Variant& v, json& c) {
  c["hidden_act"] = "gelu_pytorch_tanh";
  c["use_bias"] = v.qb;
  c["norm_epsilon"] = 1e-5;
  c["sliding_window"] = v.window ? json(v.s.sliding_window) : json(nullptr);
}

// The Llama family (Llama, Mistral, Qwen2, Mixtral, Qwen2-MoE): SiLU, RMSNorm, windows, experts.
void WriteLlamaFamilyKeys(const Variant& v, const std::string& type, json& c) {
  const ModelShape& s = v.s;
  const bool window = v.window;
  c["hidden_act"] = "silu";
  c["rms_norm_eps"] = 1e-5;
  c["head_dim"] = s.HeadDim();
  if (type == "llama") {
    c["attention_bias"] = v.qb;
    c["mlp_bias"] = v.mb;
  }
  if (type == "mistral" || type == "mixtral")
    c["sliding_window"] = window ? json(s.sliding_window) : json(nullptr);
  if (type == "qwen2" || type == "qwen2_moe") {
    c["use_sliding_window"] = window;
    c["sliding_window"] = window ? s.sliding_window : s.seq_len;
    c["max_window_layers"] = 0;
  }
  if (type == "mixtral") {
    c["num_local_experts"] = s.experts;
    c["num_experts_per_tok"] = s.experts_per_token;
  }
  if (type == "qwen2_moe") {
    c["num_experts"] = s.experts;
    c["num_experts_per_tok"] = s.experts_per_token;
    c["moe_intermediate_size"] = s.d_ff;
    c["shared_expert_intermediate_size"] = s.shared_ff;
    c["decoder_sparse_step"] = 1;
    c["mlp_only_layers"] = json::array();
  }
}

}  // namespace

nlohmann::json HfConfigFromShape(const ModelShape& s) {
  s.Validate();
  const Variant v = ReadVariant(s);
  const std::string type = ChooseType(v);
  json c;
  WriteCommonKeys(s, type, c);
  if (type == "gpt2" || type == "gpt_bigcode" || type == "gptj") {
    WriteGpt2Keys(v, type, c);
    return c;
  }
  c["max_position_embeddings"] = s.seq_len;
  if (type == "falcon") {
    WriteFalconKeys(v, c);
    return c;
  }
  c["intermediate_size"] = s.d_ff;
  if (type == "gpt_neox") {
    WriteNeoxKeys(v, c);
    return c;
  }
  if (type == "phi") {
    WritePhiKeys(c);
    return c;
  }
  c["num_key_value_heads"] = s.KvHeads();
  if (type == "starcoder2") {
    WriteStarcoder2Keys(v, c);
    return c;
  }
  WriteLlamaFamilyKeys(v, type, c);
  return c;
}

}  // namespace chronoscale
