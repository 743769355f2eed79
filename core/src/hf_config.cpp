#include "chronoscale/hf_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "chronoscale/error.h"
#include "chronoscale/io.h"
#include "hf_config_internal.h"

namespace chronoscale {
namespace {

using namespace hf_internal;

// One import, step by step: each step reads the keys of one part of the architecture into the
// shape and records where every value came from. The steps run in order (later keys override
// what the type's defaults set).
class Importer {
 public:
  Importer(const json& config, const std::string& place, HfImport* result)
      : c(config), where(place), out(*result), r(config, place, result), s(result->shape) {}
  HfImport Run();

 private:
  void Sizes();
  void KvHeads();
  void Context();
  void Variants();
  void Positions();
  void Tying();
  void Biases();
  void Block();
  void Window();
  void Mlp();
  void Unmodelled();
  // A required size: the first of `keys` present, recorded as `field`; InputError naming the
  // keys when none is.
  int64_t Required(std::initializer_list<std::string_view> keys, const char* field, int64_t hi);
  std::string FromType(const std::string& what) const {
    return fmt::format("default: {} of model_type '{}'", what, type);
  }

  const json& c;
  const std::string& where;
  HfImport& out;
  Reader r;
  ModelShape& s;
  std::string type;
  const TypeDefaults* td = nullptr;
  std::string k;          // the key the last read used
  std::string limit_key;  // the key of the context limit
};

HfImport Importer::Run() {
  type = r.Text("model_type");
  out.model_type = type;
  RefuseNonDecoders(c, r, type.empty() ? "(none)" : type);
  td = TypeDefaultsOf(type);
  if (td == nullptr && !type.empty()) {
    r.Warn(
        fmt::format("model_type '{}' is not one chronoscale knows; read with generic keys and "
                    "inferred variants",
                    type));
  }
  Sizes();
  KvHeads();
  Context();
  Variants();
  Positions();
  Tying();
  Biases();
  Block();
  Window();
  Mlp();
  Unmodelled();
  WarnUnmodelledKeys(c, r);
  try {
    s.Validate();
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", where, e.what()));
  }
  return out;
}

int64_t Importer::Required(std::initializer_list<std::string_view> keys, const char* field,
                           int64_t hi) {
  const auto v = r.Int(keys, 1, hi, &k);
  if (!v) {
    std::string names;
    for (std::string_view n : keys) names += (names.empty() ? "" : " or ") + std::string(n);
    throw InputError(fmt::format("{}: missing key {}", where, names));
  }
  r.Record(field, std::to_string(*v), Key(k));
  return *v;
}

// Width, depth, heads, head size and vocabulary.
void Importer::Sizes() {
  s.d_model = Required({"hidden_size", "n_embd", "d_model", "dim"}, "d_model", int64_t{1} << 20);
  s.n_layers =
      Required({"num_hidden_layers", "n_layer", "num_layers", "n_layers"}, "n_layers", 100000);
  s.n_heads = Required({"num_attention_heads", "n_head", "num_heads", "n_heads"}, "n_heads",
                       int64_t{1} << 16);
  if (const auto hd = r.Int({"head_dim"}, 1, int64_t{1} << 16, &k)) {
    if (*hd * s.n_heads != s.d_model || s.d_model % s.n_heads != 0) s.head_dim = *hd;
    r.Record("head_dim", std::to_string(*hd), Key(k));
  }
  s.vocab = Required({"vocab_size", "padded_vocab_size"}, "vocab", int64_t{1} << 27);
}

// Key/value heads: GQA, MQA (multi_query), Falcon's and DBRX's spellings.
void Importer::KvHeads() {
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
}

// The context limit, the sequence priced, the learned position table.
void Importer::Context() {
  out.context_limit = r.Int({"max_position_embeddings", "n_positions", "n_ctx", "max_seq_len",
                             "seq_length", "max_sequence_length"},
                            1, int64_t{1} << 24, &k)
                          .value_or(0);
  limit_key = k;
  s.seq_len = out.context_limit > 0 ? std::min(kHfDefaultSeq, out.context_limit) : kHfDefaultSeq;
  r.Record("seq_len", std::to_string(s.seq_len),
           out.context_limit > 0
               ? fmt::format("default: {} or the context limit when shorter ({} {}); --seq sets "
                             "another",
                             kHfDefaultSeq, Key(limit_key), out.context_limit)
               : fmt::format("default: {} (the config gives no context limit); --seq sets another",
                             kHfDefaultSeq));
}

// MLP, norm, positions and block from the type's defaults, or inferred from the keys.
void Importer::Variants() {
  std::string act = r.Text("hidden_act");
  if (act.empty()) act = r.Text("activation_function");
  if (act.empty()) act = r.Text("hidden_activation");
  if (const json* fa = r.Get("ffn_config.ffn_act_fn.name"); fa != nullptr && fa->is_string())
    act = fa->get<std::string>();
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
             FromType(td->gated ? "gated MLP" : "plain MLP") +
                 (act.empty() ? "" : fmt::format(" ({})", act)));
    r.Record("norm", ToString(s.norm), FromType(td->rms ? "RMSNorm" : "LayerNorm"));
    r.Record("block", ToString(s.block), FromType("block layout"));
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
}

// Partial rotary is rotary; ALiBi has no position parameters; a learned table has the context's
// rows.
void Importer::Positions() {
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
           td != nullptr ? FromType(td->rotary ? "rotary" : "learned") : "default: inferred");
  if (s.positions == PositionKind::kLearned && out.context_limit > 0) {
    s.max_positions = out.context_limit + (td != nullptr ? td->position_offset : 0);
    r.Record("max_positions", std::to_string(s.max_positions),
             Key(limit_key) +
                 (td != nullptr && td->position_offset > 0
                      ? fmt::format(" + {} (model_type '{}' offset)", td->position_offset, type)
                      : ""));
  }
}

// Tied input and output embeddings.
void Importer::Tying() {
  // tying
  if (const auto tie = r.Bool("tie_word_embeddings")) {
    s.tied_embeddings = *tie;
    r.Record("tied", YesNo(*tie), "key 'tie_word_embeddings'");
  } else {
    s.tied_embeddings = td != nullptr ? td->tied : true;
    r.Record("tied", YesNo(s.tied_embeddings),
             td != nullptr ? FromType("tie_word_embeddings")
                           : "default: PretrainedConfig tie_word_embeddings true");
  }
}

// The bias keys each class reads, over its defaults.
void Importer::Biases() {
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
  if (s.head_bias) r.Record("lm_head_bias", "true", FromType("LM head with a bias"));
}

// The block layout keys (parallel residuals).
void Importer::Block() {
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
}

// The sliding window: Mistral-style keys; Qwen2's only with use_sliding_window.
void Importer::Window() {
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
}

// MLP widths and the mixture of experts.
void Importer::Mlp() {
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
}

// What else changes the architecture but is not modelled: warnings, and Gemma 2's post-norms.
void Importer::Unmodelled() {
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
    r.Record("post_norms", "true", FromType("post-attention and post-MLP norms"));
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
}

}  // namespace

HfImport ImportHfConfig(const json& c, const std::string& where) {
  if (!c.is_object())
    throw InputError(fmt::format("{}: expected a JSON object (a Hugging Face config)", where));
  HfImport out;
  return Importer(c, where, &out).Run();
}

HfImport LoadHfConfig(const std::string& path) { return ImportHfConfig(ReadJsonFile(path), path); }

}  // namespace chronoscale
