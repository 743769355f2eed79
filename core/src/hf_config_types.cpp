// What the import knows of model_types and keys: the transformers config classes' defaults, the
// configs that are not decoder-only causal LMs, and the keys known to be harmless or suspect.
#include <algorithm>
#include <iterator>

#include "hf_config_internal.h"

namespace chronoscale::hf_internal {
namespace {

// model_types that are not decoder-only causal LMs, and what they are.
struct Refused {
  const char* type;
  const char* what;
};
constexpr Refused kNotDecoders[] = {
    {"t5", "an encoder-decoder"},
    {"mt5", "an encoder-decoder"},
    {"umt5", "an encoder-decoder"},
    {"longt5", "an encoder-decoder"},
    {"switch_transformers", "an encoder-decoder"},
    {"bart", "an encoder-decoder"},
    {"mbart", "an encoder-decoder"},
    {"plbart", "an encoder-decoder"},
    {"pegasus", "an encoder-decoder"},
    {"pegasus_x", "an encoder-decoder"},
    {"bigbird_pegasus", "an encoder-decoder"},
    {"marian", "an encoder-decoder"},
    {"blenderbot", "an encoder-decoder"},
    {"blenderbot-small", "an encoder-decoder"},
    {"led", "an encoder-decoder"},
    {"m2m_100", "an encoder-decoder"},
    {"nllb-moe", "an encoder-decoder"},
    {"fsmt", "an encoder-decoder"},
    {"prophetnet", "an encoder-decoder"},
    {"encoder-decoder", "an encoder-decoder"},
    {"whisper", "an audio encoder-decoder"},
    {"speech_to_text", "an audio encoder-decoder"},
    {"seamless_m4t", "an audio encoder-decoder"},
    {"bert", "an encoder-only (masked LM)"},
    {"roberta", "an encoder-only (masked LM)"},
    {"xlm-roberta", "an encoder-only (masked LM)"},
    {"xlm-roberta-xl", "an encoder-only (masked LM)"},
    {"distilbert", "an encoder-only (masked LM)"},
    {"albert", "an encoder-only (masked LM)"},
    {"electra", "an encoder-only (masked LM)"},
    {"deberta", "an encoder-only (masked LM)"},
    {"deberta-v2", "an encoder-only (masked LM)"},
    {"camembert", "an encoder-only (masked LM)"},
    {"mpnet", "an encoder-only (masked LM)"},
    {"ernie", "an encoder-only (masked LM)"},
    {"funnel", "an encoder-only (masked LM)"},
    {"longformer", "an encoder-only (masked LM)"},
    {"big_bird", "an encoder-only (masked LM)"},
    {"modernbert", "an encoder-only (masked LM)"},
    {"nomic_bert", "an encoder-only (masked LM)"},
    {"megatron-bert", "an encoder-only (masked LM)"},
    {"mobilebert", "an encoder-only (masked LM)"},
    {"convbert", "an encoder-only (masked LM)"},
    {"roformer", "an encoder-only (masked LM)"},
    {"esm", "an encoder-only (masked LM)"},
    {"xlm", "an encoder-only (masked LM)"},
    {"flaubert", "an encoder-only (masked LM)"},
    {"vit", "a vision encoder"},
    {"deit", "a vision encoder"},
    {"beit", "a vision encoder"},
    {"swin", "a vision encoder"},
    {"swinv2", "a vision encoder"},
    {"convnext", "a vision encoder"},
    {"dinov2", "a vision encoder"},
    {"clip", "a vision-text dual encoder"},
    {"clip_vision_model", "a vision encoder"},
    {"siglip", "a vision-text dual encoder"},
    {"siglip_vision_model", "a vision encoder"},
    {"detr", "a vision detector"},
    {"sam", "a vision segmenter"},
    {"wav2vec2", "an audio encoder"},
    {"hubert", "an audio encoder"},
    {"wavlm", "an audio encoder"},
    {"audio-spectrogram-transformer", "an audio encoder"},
    {"llava", "a vision-language model (use its text_config)"},
    {"paligemma", "a vision-language model (use its text_config)"},
    {"idefics2", "a vision-language model (use its text_config)"},
    {"blip-2", "a vision-language model (use its text_config)"},
};

constexpr BlockKind kSeq = BlockKind::kSequential, kPar = BlockKind::kParallel,
                    kPar2 = BlockKind::kParallelTwoNorms;
// clang-format off
constexpr TypeDefaults kTypes[] = {
    // type          gated  rms    rotary tied   qkv out mlp norm bias   head   block  offset
    {"gpt2",         false, false, false, true,  -1, -1, -1, -1, true,  false, kSeq,  0},
    {"gpt_bigcode",  false, false, false, true,  -1, -1, -1, -1, true,  false, kSeq,  0},
    {"opt",          false, false, false, true,  -1, -1, -1, -1, true,  false, kSeq,  2},
    {"gpt_neox",     false, false, true,  false, -1, -1,  1,  1, true,  false, kPar2, 0},
    {"gptj",         false, false, true,  false,  0,  0,  1,  1, false, true,  kPar,  0},
    {"falcon",       false, false, true,  true,  -1, -1, -1,  1, false, false, kPar,  0},
    {"phi",          false, false, true,  false, -1, -1, -1, -1, true,  true,  kPar,  0},
    {"phi3",         true,  true,  true,  false, -1, -1, -1, -1, false, false, kSeq,  0},
    {"stablelm",     true,  false, true,  false, -1,  0,  0,  1, false, false, kSeq,  0},
    {"starcoder2",   false, false, true,  true,  -1, -1, -1,  1, true,  false, kSeq,  0},
    {"llama",        true,  true,  true,  false, -1, -1, -1, -1, false, false, kSeq,  0},
    {"mistral",      true,  true,  true,  false, -1, -1, -1, -1, false, false, kSeq,  0},
    {"mixtral",      true,  true,  true,  false, -1, -1, -1, -1, false, false, kSeq,  0},
    {"qwen2",        true,  true,  true,  false,  1,  0,  0, -1, false, false, kSeq,  0},
    {"qwen2_moe",    true,  true,  true,  false,  1,  0,  0, -1, false, false, kSeq,  0},
    {"qwen3",        true,  true,  true,  false, -1, -1, -1, -1, false, false, kSeq,  0},
    {"qwen3_moe",    true,  true,  true,  false, -1, -1, -1, -1, false, false, kSeq,  0},
    {"gemma",        true,  true,  true,  true,  -1, -1, -1, -1, false, false, kSeq,  0},
    {"gemma2",       true,  true,  true,  true,  -1, -1, -1, -1, false, false, kSeq,  0},
    {"olmo",         true,  false, true,  false, -1, -1, -1,  0, false, false, kSeq,  0},
    {"deepseek",     true,  true,  true,  false, -1, -1, -1, -1, false, false, kSeq,  0},
    {"deepseek_v2",  true,  true,  true,  false, -1, -1, -1, -1, false, false, kSeq,  0},
    {"dbrx",         true,  false, true,  false, -1, -1, -1,  0, false, false, kSeq,  0},
    {"cohere",       true,  false, true,  true,  -1, -1, -1,  0, false, false, kPar,  0},
    {"internlm2",    true,  true,  true,  false, -1, -1, -1, -1, false, false, kSeq,  0},
};
// clang-format on

// Keys read or known to leave the step's cost and the parameter count alone.
constexpr std::string_view kHarmless[] = {"_name_or_path",
                                          "architectures",
                                          "auto_map",
                                          "bos_token_id",
                                          "eos_token_id",
                                          "pad_token_id",
                                          "sep_token_id",
                                          "unk_token_id",
                                          "decoder_start_token_id",
                                          "torch_dtype",
                                          "transformers_version",
                                          "use_cache",
                                          "initializer_range",
                                          "initializer_factor",
                                          "init_std",
                                          "rms_norm_eps",
                                          "layer_norm_eps",
                                          "layer_norm_epsilon",
                                          "norm_epsilon",
                                          "rope_theta",
                                          "rope_scaling",
                                          "rotary_emb_base",
                                          "rope_type",
                                          "attention_dropout",
                                          "hidden_dropout",
                                          "resid_pdrop",
                                          "embd_pdrop",
                                          "attn_pdrop",
                                          "summary_type",
                                          "summary_use_proj",
                                          "summary_activation",
                                          "summary_proj_to_labels",
                                          "summary_first_dropout",
                                          "scale_attn_weights",
                                          "task_specific_params",
                                          "pretraining_tp",
                                          "router_aux_loss_coef",
                                          "router_jitter_noise",
                                          "output_router_logits",
                                          "norm_topk_prob",
                                          "scoring_func",
                                          "aux_loss_alpha",
                                          "seq_aux",
                                          "topk_method",
                                          "routed_scaling_factor",
                                          "max_window_layers",
                                          "attention_probs_dropout_prob",
                                          "hidden_dropout_prob",
                                          "dropout",
                                          "ffn_dropout",
                                          "activation_dropout",
                                          "layerdrop",
                                          "reorder_and_upcast_attn",
                                          "scale_attn_by_inverse_layer_idx",
                                          "tokenizer_class",
                                          "prefix",
                                          "output_attentions",
                                          "output_hidden_states",
                                          "return_dict",
                                          "id2label",
                                          "label2id",
                                          "problem_type",
                                          "gradient_checkpointing",
                                          "classifier_dropout",
                                          "qk_layernorm",
                                          "attention_softmax_in_fp32",
                                          "scale_attention_softmax_in_fp32",
                                          "alibi",
                                          "clip_qkv",
                                          "residual_in_fp32",
                                          "emb_pdrop",
                                          "rope_pct",
                                          "lm_head_bias",
                                          "rotary",
                                          "do_layer_norm_before",
                                          "query_pre_attn_scalar",
                                          "cache_implementation"};

// Unknown keys whose names suggest they change the block (a warning names them).
constexpr std::string_view kArchitectural[] = {
    "expert", "moe",     "router",   "window", "parallel",     "shared",      "dense",   "head_dim",
    "kv",     "alibi",   "sparse",   "local",  "global",       "layer_types", "qk_norm", "softcap",
    "cross",  "encoder", "inner",    "ffn",    "intermediate", "rotary",      "lora",    "norm",
    "bias",   "tie",     "position", "layers", "heads",        "experts",     "embed"};

}  // namespace

const TypeDefaults* TypeDefaultsOf(const std::string& type) {
  for (const TypeDefaults& t : kTypes) {
    if (type == t.type) return &t;
  }
  return nullptr;
}

void RefuseNonDecoders(const json& c, Reader& r, const std::string& type) {
  const std::string& where = r.where();
  if (const auto v = r.Bool("is_encoder_decoder"); v && *v) {
    throw InputError(fmt::format(
        "{}: model_type '{}' is an encoder-decoder (key 'is_encoder_decoder' is true); chronoscale "
        "prices decoder-only causal LMs",
        where, type));
  }
  for (const Refused& n : kNotDecoders) {
    if (type == n.type) {
      throw InputError(fmt::format(
          "{}: model_type '{}' is {} (key 'model_type'); chronoscale prices decoder-only causal "
          "LMs",
          where, type, n.what));
    }
  }
  for (const char* tower : {"vision_config", "audio_config", "text_config", "encoder"}) {
    if (c.contains(tower)) {
      throw InputError(fmt::format(
          "{}: model_type '{}' has a '{}' (a multimodal or encoder-decoder config); give the "
          "config of its text decoder alone",
          where, type, tower));
    }
  }
  const json* arch = r.Get("architectures");
  if (arch != nullptr) {
    if (!arch->is_array()) {
      throw InputError(fmt::format(
          "{}: key 'architectures' must be a list of class names, found {}", where, arch->dump()));
    }
    bool causal = arch->empty();
    std::string names;
    for (const json& a : *arch) {
      if (!a.is_string()) continue;
      const std::string n = a.get<std::string>();
      names += (names.empty() ? "" : ", ") + n;
      causal = causal || Contains(n, "ForCausalLM") || Contains(n, "LMHeadModel") ||
               Contains(n, "CausalLM");
    }
    if (!causal) {
      throw InputError(
          fmt::format("{}: key 'architectures' ({}) names no causal LM class (...ForCausalLM or "
                      "...LMHeadModel); "
                      "chronoscale prices decoder-only causal LMs",
                      where, names));
    }
  }
}

void WarnUnmodelledKeys(const json& c, Reader& r) {
  for (const auto& [key, value] : c.items()) {
    if (r.read().count(key) != 0) continue;
    if (std::find(std::begin(kHarmless), std::end(kHarmless), key) != std::end(kHarmless)) continue;
    for (std::string_view pattern : kArchitectural) {
      if (Contains(key, pattern)) {
        r.Warn(fmt::format("key '{}' ({}) may change the architecture and is not modelled", key,
                           value.dump().substr(0, 60)));
        break;
      }
    }
  }
}

}  // namespace chronoscale::hf_internal
