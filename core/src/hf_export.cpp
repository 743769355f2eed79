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

nlohmann::json HfConfigFromShape(const ModelShape& s) {
  s.Validate();
  const bool gated = s.mlp == MlpKind::kSwiGlu;
  const bool rms = s.norm == NormKind::kRmsNorm;
  const bool rotary = s.positions == PositionKind::kRotary;
  const bool sequential = s.block == BlockKind::kSequential;
  const bool qb = s.QkvBias(), ob = s.OutBias(), mb = s.MlpBias(), nb = s.NormHasBias();
  const bool mha = s.KvHeads() == s.n_heads;
  const bool plain_heads = s.head_dim == 0;
  const bool window = s.sliding_window > 0;
  std::string type;
  auto refuse = [&](const std::string& why) {
    const char* yn[] = {"no", "yes"};
    throw InputError(fmt::format(
        "cannot export a Hugging Face config: no transformers config class builds mlp {}, norm {}, "
        "positions {}, block {}, {} of {} kv heads, biases qkv/out/mlp/norm/head {}/{}/{}/{}/{}, "
        "window {}, {} ({}); change the variant or export another shape",
        ToString(s.mlp), ToString(s.norm), ToString(s.positions), ToString(s.block), s.KvHeads(),
        s.n_heads, yn[qb], yn[ob], yn[mb], yn[nb], yn[s.head_bias], s.sliding_window,
        s.Moe() ? fmt::format("{} experts (top {}, shared ff {}, dense layers {})", s.experts,
                              s.experts_per_token, s.shared_ff, s.dense_layers)
                : std::string("dense"),
        why));
  };
  if (s.Moe()) {
    if (s.dense_layers > 0) refuse("leading dense layers (DeepSeek-MoE needs remote code)");
    if (!(gated && rms && rotary && sequential) || s.head_bias || mb)
      refuse(
          "Mixtral and Qwen2-MoE are SwiGLU, RMSNorm, rotary and sequential, without MLP or "
          "head biases");
    if (s.shared_ff == 0 && !qb && !ob) {
      type = "mixtral";
    } else if (s.shared_ff > 0 && s.shared_gate && qb && !ob) {
      type = "qwen2_moe";
    } else {
      refuse(
          "Mixtral has no shared expert or biases; Qwen2-MoE has a gated shared expert and "
          "q/k/v biases only");
    }
  } else if (gated && rms && rotary && sequential && !s.head_bias) {
    if (!window && qb == ob) {
      type = "llama";
    } else if (qb && !ob && !mb) {
      type = "qwen2";
    } else if (window && !qb && !ob && !mb) {
      type = "mistral";
    } else {
      refuse("Llama ties the q/k/v and output biases; Qwen2 has q/k/v biases only; Mistral none");
    }
  } else if (!gated && !rms && !rotary && sequential && qb && ob && mb && nb && !s.head_bias &&
             !window && plain_heads) {
    if (mha) {
      type = "gpt2";
    } else if (s.KvHeads() == 1) {
      type = "gpt_bigcode";
    } else {
      refuse("GPT-2 has no grouped-query attention (GPTBigCode only multi-query)");
    }
  } else if (!gated && !rms && rotary && nb) {
    if (s.block == BlockKind::kParallel && s.head_bias && !qb && !ob && mb && mha && !window) {
      type = "gptj";
    } else if (s.block == BlockKind::kParallel && s.head_bias && qb && ob && mb && mha && !window) {
      type = "phi";
    } else if (s.block == BlockKind::kParallel && !s.head_bias && qb == ob && ob == mb &&
               plain_heads && !window && (mha || s.KvHeads() == 1)) {
      type = "falcon";
    } else if (!s.head_bias && qb == ob && mb && mha && plain_heads && !window &&
               s.block != BlockKind::kParallel) {
      type = "gpt_neox";
    } else if (sequential && !s.head_bias && qb == ob && ob == mb) {
      type = "starcoder2";
    } else {
      refuse("no GPT-NeoX, GPT-J, Phi, Falcon or StarCoder2 layout matches its biases and heads");
    }
  } else {
    refuse("its mix of MLP, norm, positions and block has no class");
  }

  json c;
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
  if (type == "gpt2" || type == "gpt_bigcode" || type == "gptj") {
    c["n_embd"] = s.d_model;
    c["n_layer"] = s.n_layers;
    c["n_head"] = s.n_heads;
    c["n_inner"] = s.d_ff;
    c["n_positions"] = rotary ? s.seq_len : s.PositionRows();
    c["activation_function"] = "gelu_new";
    c["layer_norm_epsilon"] = 1e-5;
    if (type == "gpt_bigcode") c["multi_query"] = true;
    if (type == "gptj") c["rotary_dim"] = s.HeadDim();
    return c;
  }
  c["max_position_embeddings"] = s.seq_len;
  if (type == "falcon") {
    c["multi_query"] = s.KvHeads() == 1;
    c["parallel_attn"] = true;
    c["new_decoder_architecture"] = false;
    c["bias"] = qb;
    c["alibi"] = false;
    c["ffn_hidden_size"] = s.d_ff;
    c["layer_norm_epsilon"] = 1e-5;
    return c;
  }
  c["intermediate_size"] = s.d_ff;
  if (type == "gpt_neox") {
    c["hidden_act"] = "gelu";
    c["rotary_pct"] = 1.0;
    c["use_parallel_residual"] = s.block == BlockKind::kParallelTwoNorms;
    c["attention_bias"] = qb;
    c["layer_norm_eps"] = 1e-5;
    return c;
  }
  if (type == "phi") {
    c["hidden_act"] = "gelu_new";
    c["partial_rotary_factor"] = 1.0;
    c["layer_norm_eps"] = 1e-5;
    return c;
  }
  c["num_key_value_heads"] = s.KvHeads();
  if (type == "starcoder2") {
    c["hidden_act"] = "gelu_pytorch_tanh";
    c["use_bias"] = qb;
    c["norm_epsilon"] = 1e-5;
    c["sliding_window"] = window ? json(s.sliding_window) : json(nullptr);
    return c;
  }
  // Llama family
  c["hidden_act"] = "silu";
  c["rms_norm_eps"] = 1e-5;
  c["head_dim"] = s.HeadDim();
  if (type == "llama") {
    c["attention_bias"] = qb;
    c["mlp_bias"] = mb;
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
  return c;
}

}  // namespace chronoscale
