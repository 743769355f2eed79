#include "chronoscale/hf_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <set>
#include <string_view>

#include "chronoscale/error.h"
#include "chronoscale/io.h"

namespace chronoscale {
namespace {

using nlohmann::json;

// ------------------------------------------------------------------ what a config is

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

// Per-model_type defaults of the transformers config class (and the block its modelling code
// builds). Keys in the config override them where the class reads a key.
struct TypeDefaults {
  const char* type;
  bool gated, rms, rotary, tied;
  int qkv_bias, out_bias, mlp_bias, norm_bias;  // -1: follow the type's `bias`
  bool bias;
  bool head_bias;
  BlockKind block;
  int64_t position_offset;  // extra learned position rows (OPT: 2)
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

// ------------------------------------------------------------------ reading keys

class Reader {
 public:
  Reader(const json& config, const std::string& where, HfImport* out)
      : c_(config), where_(where), out_(out) {}

  // A key or a dotted path into nested objects ("ffn_config.moe_top_k"); nullptr when absent
  // or null. The top-level key counts as read.
  const json* Get(std::string_view path) {
    const json* node = &c_;
    std::size_t start = 0;
    bool top = true;
    while (true) {
      const std::size_t dot = path.find('.', start);
      const std::string key(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
      if (top) read_.insert(key);
      top = false;
      if (!node->is_object() || !node->contains(key)) return nullptr;
      node = &node->at(key);
      if (node->is_null()) return nullptr;
      if (dot == std::string_view::npos) return node;
      start = dot + 1;
    }
  }

  // The first of `keys` present, as a whole number in [lo, hi].
  std::optional<int64_t> Int(std::initializer_list<std::string_view> keys, int64_t lo, int64_t hi,
                             std::string* used = nullptr) {
    for (std::string_view k : keys) read_.insert(std::string(k.substr(0, k.find('.'))));  // aliases
    for (std::string_view k : keys) {
      const json* v = Get(k);
      if (v == nullptr) continue;
      const double x = v->is_number() ? v->get<double>() : std::nan("");
      if (!v->is_number() || !std::isfinite(x) || x != std::floor(x) ||
          x < static_cast<double>(lo) || x > static_cast<double>(hi)) {
        throw InputError(fmt::format("{}: key '{}' is {}; expected a whole number in [{}, {}]",
                                     where_, k, v->dump(), lo, hi));
      }
      if (used != nullptr) *used = std::string(k);
      return static_cast<int64_t>(x);
    }
    return std::nullopt;
  }

  std::optional<double> Real(std::string_view key, double lo, double hi) {
    const json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    const double x = v->is_number() ? v->get<double>() : std::nan("");
    if (!std::isfinite(x) || x < lo || x > hi) {
      throw InputError(fmt::format("{}: key '{}' is {}; expected a number in [{}, {}]", where_, key,
                                   v->dump(), lo, hi));
    }
    return x;
  }

  // A JSON boolean. Strings ("false") and numbers are refused: Python reads "false" as true.
  std::optional<bool> Bool(std::string_view key) {
    const json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) {
      throw InputError(fmt::format("{}: key '{}' is {}; expected true or false (a JSON boolean)",
                                   where_, key, v->dump()));
    }
    return v->get<bool>();
  }

  std::string Text(std::string_view key) {
    const json* v = Get(key);
    if (v == nullptr) return {};
    if (!v->is_string()) {
      throw InputError(
          fmt::format("{}: key '{}' must be a string, found {}", where_, key, v->dump()));
    }
    return v->get<std::string>();
  }

  void Record(std::string field, std::string value, std::string source) {
    out_->fields.push_back({std::move(field), std::move(value), std::move(source)});
  }
  void Warn(std::string text) { out_->warnings.push_back(std::move(text)); }
  const std::set<std::string>& read() const { return read_; }
  const std::string& where() const { return where_; }

 private:
  const json& c_;
  const std::string& where_;
  HfImport* out_;
  std::set<std::string> read_;
};

std::string Key(const std::string& k) { return fmt::format("key '{}'", k); }
std::string YesNo(bool b) { return b ? "true" : "false"; }

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Refuses configs that are not a decoder-only causal LM.
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

}  // namespace

HfImport ImportHfConfig(const json& c, const std::string& where) {
  if (!c.is_object())
    throw InputError(fmt::format("{}: expected a JSON object (a Hugging Face config)", where));
  HfImport out;
  Reader r(c, where, &out);
  const std::string type = r.Text("model_type");
  out.model_type = type;
  RefuseNonDecoders(c, r, type.empty() ? "(none)" : type);

  const TypeDefaults* td = nullptr;
  for (const TypeDefaults& t : kTypes)
    if (type == t.type) td = &t;
  if (td == nullptr && !type.empty()) {
    r.Warn(
        fmt::format("model_type '{}' is not one chronoscale knows; read with generic keys and "
                    "inferred variants",
                    type));
  }
  ModelShape& s = out.shape;
  std::string k;
  auto required = [&](std::initializer_list<std::string_view> keys, const char* field, int64_t hi) {
    const auto v = r.Int(keys, 1, hi, &k);
    if (!v) {
      std::string names;
      for (std::string_view n : keys) names += (names.empty() ? "" : " or ") + std::string(n);
      throw InputError(fmt::format("{}: missing key {}", where, names));
    }
    r.Record(field, std::to_string(*v), Key(k));
    return *v;
  };

  // ---- sizes
  s.d_model = required({"hidden_size", "n_embd", "d_model", "dim"}, "d_model", int64_t{1} << 20);
  s.n_layers =
      required({"num_hidden_layers", "n_layer", "num_layers", "n_layers"}, "n_layers", 100000);
  s.n_heads = required({"num_attention_heads", "n_head", "num_heads", "n_heads"}, "n_heads",
                       int64_t{1} << 16);
  if (const auto hd = r.Int({"head_dim"}, 1, int64_t{1} << 16, &k)) {
    if (*hd * s.n_heads != s.d_model || s.d_model % s.n_heads != 0) s.head_dim = *hd;
    r.Record("head_dim", std::to_string(*hd), Key(k));
  }
  s.vocab = required({"vocab_size", "padded_vocab_size"}, "vocab", int64_t{1} << 27);

  // ---- key/value heads: GQA, MQA (multi_query), Falcon's and DBRX's spellings
  if (const auto kv = r.Int({"num_key_value_heads", "attn_config.kv_n_heads", "n_head_kv"}, 1,
                            int64_t{1} << 16, &k)) {
    s.n_kv_heads = *kv;
    r.Record("n_kv_heads", std::to_string(*kv), Key(k));
  }
  if (type == "falcon") {
    const bool new_arch = r.Bool("new_decoder_architecture").value_or(false);
    if (new_arch) {
      if (const auto kv = r.Int({"num_kv_heads"}, 1, int64_t{1} << 16, &k)) {
        s.n_kv_heads = *kv;
        r.Record("n_kv_heads", std::to_string(*kv), Key(k));
      }
      const int64_t lns = r.Int({"num_ln_in_parallel_attn"}, 1, 2).value_or(2);
      s.block = lns == 2 ? BlockKind::kParallelTwoNorms : BlockKind::kParallel;
    } else {
      s.block = BlockKind::kParallel;  // one input_layernorm feeds both branches
      r.Get("num_kv_heads");           // unused by the old architecture
      const bool mq = r.Bool("multi_query").value_or(true);
      if (mq) s.n_kv_heads = 1;
      r.Record("n_kv_heads", mq ? "1" : std::to_string(s.n_heads),
               mq ? "key 'multi_query' (FalconConfig default true)" : "key 'multi_query' false");
    }
  } else if (const auto mq = r.Bool("multi_query")) {
    if (*mq) s.n_kv_heads = 1;
    r.Record("n_kv_heads", *mq ? "1" : std::to_string(s.n_heads), "key 'multi_query'");
  } else if (type == "gpt_bigcode") {
    s.n_kv_heads = 1;
    r.Record("n_kv_heads", "1", "default: GPTBigCodeConfig multi_query true");
  }
  if (s.n_kv_heads == s.n_heads) s.n_kv_heads = 0;

  // ---- context limit, sequence, learned position table
  out.context_limit = r.Int({"max_position_embeddings", "n_positions", "n_ctx", "max_seq_len",
                             "seq_length", "max_sequence_length"},
                            1, int64_t{1} << 24, &k)
                          .value_or(0);
  const std::string limit_key = k;
  s.seq_len = out.context_limit > 0 ? std::min(kHfDefaultSeq, out.context_limit) : kHfDefaultSeq;
  r.Record("seq_len", std::to_string(s.seq_len),
           out.context_limit > 0
               ? fmt::format("default: {} or the context limit when shorter ({} {}); --seq sets "
                             "another",
                             kHfDefaultSeq, Key(limit_key), out.context_limit)
               : fmt::format("default: {} (the config gives no context limit); --seq sets another",
                             kHfDefaultSeq));

  // ---- variants from the type, then the keys that override them
  std::string act = r.Text("hidden_act");
  if (act.empty()) act = r.Text("activation_function");
  if (act.empty()) act = r.Text("hidden_activation");
  if (const json* fa = r.Get("ffn_config.ffn_act_fn.name"); fa != nullptr && fa->is_string())
    act = fa->get<std::string>();
  auto from_type = [&](const std::string& what) {
    return fmt::format("default: {} of model_type '{}'", what, type);
  };
  if (td != nullptr) {
    s.mlp = td->gated ? MlpKind::kSwiGlu : MlpKind::kGelu;
    s.norm = td->rms ? NormKind::kRmsNorm : NormKind::kLayerNorm;
    s.positions = td->rotary ? PositionKind::kRotary : PositionKind::kLearned;
    s.bias = td->bias;
    s.qkv_bias = td->qkv_bias;
    s.out_bias = td->out_bias;
    s.mlp_bias = td->mlp_bias;
    s.norm_bias = td->norm_bias;
    s.head_bias = td->head_bias;
    if (type != "falcon") s.block = td->block;
    r.Record("mlp", ToString(s.mlp),
             from_type(td->gated ? "gated MLP" : "plain MLP") +
                 (act.empty() ? "" : fmt::format(" ({})", act)));
    r.Record("norm", ToString(s.norm), from_type(td->rms ? "RMSNorm" : "LayerNorm"));
    r.Record("block", ToString(s.block), from_type("block layout"));
  } else {
    const bool gated = act == "silu" || act == "swiglu" || act == "swish";
    s.mlp = gated ? MlpKind::kSwiGlu : MlpKind::kGelu;
    r.Record("mlp", ToString(s.mlp),
             act.empty() ? "default: no hidden_act, a plain GELU MLP"
                         : fmt::format("key 'hidden_act' {}", act));
    const bool rms = r.Get("rms_norm_eps") != nullptr;
    s.norm = rms ? NormKind::kRmsNorm : NormKind::kLayerNorm;
    r.Record("norm", ToString(s.norm), rms ? "key 'rms_norm_eps'" : "default: no rms_norm_eps");
    const bool rotary = r.Get("rope_theta") != nullptr || r.Get("rotary_dim") != nullptr ||
                        r.Text("position_embedding_type") == "rotary";
    s.positions = rotary ? PositionKind::kRotary : PositionKind::kLearned;
    s.bias = !rotary;  // GPT-2-like configs have biases, rotary ones (Llama-like) do not
    r.Record("block", ToString(s.block), "default: sequential");
  }

  // positions: partial rotary is rotary; ALiBi has no position parameters
  if (r.Get("rotary_pct") || r.Get("partial_rotary_factor") || r.Get("rotary_dim")) {
    s.positions = PositionKind::kRotary;
  }
  if (const auto alibi = r.Bool("alibi"); alibi && *alibi) {
    s.positions = PositionKind::kRotary;
    r.Warn(
        "key 'alibi' is true: ALiBi is priced as rotary positions (no position parameters; "
        "its bias add is not modelled)");
  }
  if (type == "falcon" && !r.Bool("alibi").value_or(false)) s.positions = PositionKind::kRotary;
  r.Record("positions", ToString(s.positions),
           td != nullptr ? from_type(td->rotary ? "rotary" : "learned") : "default: inferred");
  if (s.positions == PositionKind::kLearned && out.context_limit > 0) {
    s.max_positions = out.context_limit + (td != nullptr ? td->position_offset : 0);
    r.Record("max_positions", std::to_string(s.max_positions),
             Key(limit_key) +
                 (td != nullptr && td->position_offset > 0
                      ? fmt::format(" + {} (model_type '{}' offset)", td->position_offset, type)
                      : ""));
  }

  // tying
  if (const auto tie = r.Bool("tie_word_embeddings")) {
    s.tied_embeddings = *tie;
    r.Record("tied", YesNo(*tie), "key 'tie_word_embeddings'");
  } else {
    s.tied_embeddings = td != nullptr ? td->tied : true;
    r.Record("tied", YesNo(s.tied_embeddings),
             td != nullptr ? from_type("tie_word_embeddings")
                           : "default: PretrainedConfig tie_word_embeddings true");
  }

  // biases: the keys each class reads
  if (const auto b = r.Bool("bias")) s.bias = *b;         // Falcon: every linear
  if (const auto b = r.Bool("use_bias")) s.bias = *b;     // StarCoder2
  if (const auto b = r.Bool("enable_bias")) s.bias = *b;  // OPT
  if (const auto b = r.Bool("attention_bias")) s.qkv_bias = s.out_bias = *b ? 1 : 0;
  if (const auto b = r.Bool("mlp_bias")) s.mlp_bias = *b ? 1 : 0;
  if (const auto b = r.Bool("use_qkv_bias")) s.qkv_bias = *b ? 1 : 0;  // StableLM
  if (const auto b = r.Bool("qkv_bias")) s.qkv_bias = *b ? 1 : 0;
  if (type == "dbrx") s.norm_bias = 0;
  r.Record("bias", YesNo(s.bias), "default or key 'bias'/'use_bias'/'enable_bias'");
  r.Record("qkv_bias", YesNo(s.QkvBias()), "per model_type, keys 'attention_bias'/'use_qkv_bias'");
  r.Record("out_bias", YesNo(s.OutBias()), "per model_type, key 'attention_bias'");
  r.Record("mlp_bias", YesNo(s.MlpBias()), "per model_type, key 'mlp_bias'");
  if (s.norm == NormKind::kLayerNorm)
    r.Record("norm_bias", YesNo(s.NormHasBias()), "per model_type");
  if (s.head_bias) r.Record("lm_head_bias", "true", from_type("LM head with a bias"));

  // block layout keys
  if (const auto p = r.Bool("use_parallel_residual")) {
    if (type == "stablelm") {
      s.block = *p ? BlockKind::kParallel : BlockKind::kSequential;
    } else {
      s.block = *p ? BlockKind::kParallelTwoNorms : BlockKind::kSequential;
    }
    r.Record("block", ToString(s.block), "key 'use_parallel_residual'");
  }
  if (type == "falcon") {
    if (const auto p = r.Bool("parallel_attn"); p && !*p) s.block = BlockKind::kSequential;
    r.Record("block", ToString(s.block), "keys 'parallel_attn', 'new_decoder_architecture'");
  }

  // sliding window: Mistral-style keys; Qwen2's only with use_sliding_window
  {
    const bool qwen = type.rfind("qwen", 0) == 0;
    const auto use = r.Bool("use_sliding_window");
    const auto window = r.Int({"sliding_window"}, 1, int64_t{1} << 24, &k);
    if (window && (!qwen || use.value_or(false))) {
      if (type == "gemma2" || type == "gemma3_text" || r.Get("layer_types") != nullptr) {
        r.Warn(
            "key 'sliding_window': the window applies to some layers only; priced without it "
            "(full attention on every layer)");
      } else {
        s.sliding_window = *window;
        r.Record("sliding_window", std::to_string(*window), Key(k));
        if (qwen && r.Int({"max_window_layers"}, 0, 100000).value_or(0) > 0) {
          r.Warn("key 'max_window_layers': the window is priced on every layer");
        }
      }
    }
  }

  // ---- MLP widths and mixture of experts
  const auto experts = r.Int({"num_local_experts", "num_experts", "n_routed_experts",
                              "ffn_config.moe_num_experts", "moe_num_experts"},
                             1, 4096, &k);
  const std::string experts_key = k;
  const auto dense_ff = r.Int(
      {"intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size", "ffn_config.ffn_hidden_size"},
      1, int64_t{1} << 22, &k);
  const std::string ff_key = k;
  const auto moe_ff = r.Int({"moe_intermediate_size"}, 1, int64_t{1} << 22, &k);
  const std::string moe_ff_key = k;
  if (experts && *experts > 1) {
    s.experts = *experts;
    r.Record("experts", std::to_string(s.experts), Key(experts_key));
    const auto topk =
        r.Int({"num_experts_per_tok", "ffn_config.moe_top_k", "moe_top_k", "num_experts_per_token"},
              1, *experts, &k);
    if (!topk) {
      throw InputError(fmt::format("{}: {} is {} but there is no num_experts_per_tok", where,
                                   Key(experts_key), *experts));
    }
    s.experts_per_token = *topk;
    r.Record("experts_per_token", std::to_string(*topk), Key(k));
    if (moe_ff) {
      s.d_ff = *moe_ff;
      r.Record("d_ff", std::to_string(*moe_ff), Key(moe_ff_key) + " (per expert)");
    } else if (dense_ff) {
      s.d_ff = *dense_ff;
      r.Record("d_ff", std::to_string(*dense_ff), Key(ff_key) + " (per expert)");
    } else {
      throw InputError(fmt::format("{}: an MoE config without intermediate_size", where));
    }
    // shared experts: Qwen-MoE's one gated shared MLP, DeepSeek's n_shared_experts of the
    // expert width
    if (const auto shared = r.Int({"shared_expert_intermediate_size"}, 0, int64_t{1} << 22, &k)) {
      s.shared_ff = *shared;
      s.shared_gate = *shared > 0;
      r.Record("shared_ff", std::to_string(*shared), Key(k) + " (with a sigmoid gate)");
    }
    if (const auto n = r.Int({"n_shared_experts"}, 0, 4096, &k); n && *n > 0) {
      s.shared_ff = *n * s.d_ff;
      r.Record("shared_ff", std::to_string(s.shared_ff),
               fmt::format("{} x moe_intermediate_size", Key(k)));
    }
    if (const auto dense = r.Int({"first_k_dense_replace"}, 0, s.n_layers - 1, &k);
        dense && *dense > 0) {
      s.dense_layers = *dense;
      s.dense_ff = dense_ff.value_or(4 * s.d_model);
      r.Record("dense_layers", std::to_string(*dense), Key(k));
      r.Record("dense_ff", std::to_string(s.dense_ff), Key(ff_key));
    }
    if (r.Int({"moe_layer_freq", "decoder_sparse_step"}, 1, 100000, &k).value_or(1) != 1) {
      r.Warn(
          fmt::format("{}: MoE on every {}-th layer only is not modelled; every layer after the "
                      "dense ones is priced as MoE",
                      Key(k), k));
    }
    if (const json* only = r.Get("mlp_only_layers"); only && only->is_array() && !only->empty()) {
      r.Warn(
          "key 'mlp_only_layers': dense layers between MoE layers are not modelled; they are "
          "priced as MoE");
    }
  } else {
    if (experts) r.Record("experts", "0", Key(experts_key) + " is 1 (a dense MLP)");
    s.d_ff = dense_ff.value_or(4 * s.d_model);
    r.Record("d_ff", std::to_string(s.d_ff),
             dense_ff ? Key(ff_key) : "default: 4 x d_model (the class's n_inner/ffn default)");
  }

  // ---- what else changes the architecture but is not modelled
  if (r.Get("q_lora_rank") || r.Get("kv_lora_rank")) {
    r.Warn(
        "keys 'q_lora_rank'/'kv_lora_rank': multi-head latent attention is not modelled; "
        "attention is priced as standard multi-head attention");
  }
  if (const auto post = r.Bool("apply_residual_connection_post_layernorm"); post && *post) {
    r.Warn(
        "key 'apply_residual_connection_post_layernorm' is true: the residual taken after the "
        "norm is priced as the usual pre-norm block (same ops)");
  }
  if (const auto qk = r.Bool("qk_layernorm"); qk && *qk)
    r.Warn("key 'qk_layernorm': the per-head q/k norms are not modelled");
  if (type == "qwen3" || type == "qwen3_moe")
    r.Warn("model_type '" + type + "': the per-head q/k RMSNorms are not modelled");
  if (type == "gemma2" || type == "gemma3_text") {
    s.post_norms = true;
    r.Record("post_norms", "true", from_type("post-attention and post-MLP norms"));
    const bool final_cap = r.Get("final_logit_softcapping") != nullptr;
    const bool attn_cap = r.Get("attn_logit_softcapping") != nullptr;
    if (final_cap || attn_cap)
      r.Warn(
          "keys '*_logit_softcapping': the tanh soft-capping of logits and scores is not "
          "priced");
  }
  if (type == "olmo")
    r.Warn("model_type 'olmo': its LayerNorms have no parameters; priced with a weight each");
  if (const json* p = r.Get("word_embed_proj_dim");
      p != nullptr && p->is_number() && p->get<double>() != static_cast<double>(s.d_model)) {
    r.Warn(
        "key 'word_embed_proj_dim' differs from the width: OPT's embedding projections are "
        "not modelled");
  }
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

  try {
    s.Validate();
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", where, e.what()));
  }
  return out;
}

HfImport LoadHfConfig(const std::string& path) { return ImportHfConfig(ReadJsonFile(path), path); }

}  // namespace chronoscale
