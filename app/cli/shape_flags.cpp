#include "shape_flags.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <chronoscale/error.h>
#include <chronoscale/hardware.h>

#include "cli_common.h"

namespace chronoscale::cli {

void AddShapeFlags(CLI::App* sub, ShapeFlags* f, bool with_heads) {
  if (with_heads) {
    sub->add_option(
        "--heads", f->heads,
        "attention heads (default: head size 128 from d_model 2048 where it divides, else 64)");
    sub->add_option("--d-ff", f->d_ff,
                    "MLP width, per expert under --experts (default: --mlp-ratio x d_model)");
    sub->add_option("--head-dim", f->head_dim,
                    "head size independent of d_model / heads (query width heads x head-dim)");
  }
  sub->add_option("--head-size", f->head_size, "head size (overrides the reference rule)");
  sub->add_option("--kv-heads", f->kv_heads,
                  "key/value heads for grouped-query attention (default: = heads)");
  sub->add_option("--mlp-ratio", f->mlp_ratio, "d_ff / d_model (default 4)");
  sub->add_option("--seq", f->seq, "sequence length (default 1024)");
  sub->add_option("--batch", f->batch,
                  "global batch: sequences per optimizer step (default 8 per GPU, at most 4M "
                  "tokens, a multiple of --devices)");
  sub->add_option("--vocab", f->vocab, "vocabulary size (default 32768)");
  sub->add_option("--attention", f->attention, "flash, naive, favor or dark (default flash)");
  sub->add_option("--features", f->features,
                  "random features m for favor/dark attention (default 256)");
  sub->add_option("--mlp", f->mlp, "gelu or swiglu (default gelu)");
  sub->add_option("--norm", f->norm, "layernorm or rmsnorm (default layernorm)");
  sub->add_option("--positions", f->positions, "learned or rotary (default learned)");
  sub->add_option("--precision", f->precision,
                  "autocast precision: bf16, fp16, tf32, fp32 (default bf16)");
  sub->add_option("--optimizer", f->optimizer, "adamw or sgd (default adamw)");
  sub->add_flag("--tied", f->tied, "tie the LM head to the token embedding");
  sub->add_flag("--no-bias", f->no_bias, "no biases in linear layers or norms");
  sub->add_flag("--checkpointing{full}", f->checkpointing,
                "activation checkpointing: none, selective or full (the bare flag: full; "
                "default: none, heavier only where nothing else fits)");
  sub->add_flag("--non-causal", f->non_causal, "bidirectional attention");
  sub->add_option("--block", f->block,
                  "sequential, parallel (attention and MLP on one norm: GPT-J, Falcon, Phi) or "
                  "parallel-2norm (a norm each: GPT-NeoX) (default sequential)");
  sub->add_option("--sliding-window", f->sliding_window,
                  "keys each query attends to (sliding-window attention; default: all)");
  sub->add_option("--experts", f->experts,
                  "mixture of experts: expert MLPs per layer, each of width d_ff (default: dense)");
  sub->add_option("--experts-per-token", f->experts_per_token,
                  "experts each token is routed to (with --experts; default 2)");
  sub->add_option(
      "--shared-ff", f->shared_ff,
      "width of an always-on shared expert MLP beside the routed ones (with --experts)");
}

namespace {

template <typename E>
E ParseFlag(const std::string& text, const char* flag, const char* expected) {
  E e;
  if (!Parse(text, &e)) throw InputError(fmt::format("{} '{}': expected {}", flag, text, expected));
  return e;
}

}  // namespace

void ApplyVariantFlags(const ShapeFlags& f, const CLI::App* sub, ModelShape* s) {
  auto given = [&](const char* name) {
    return sub == nullptr || (sub->get_option_no_throw(name) != nullptr && sub->count(name) > 0);
  };
  if (given("--attention"))
    s->attention =
        ParseFlag<AttentionKind>(f.attention, "--attention", "flash, naive, favor or dark");
  if (given("--features")) s->features = f.features;
  if (given("--mlp")) s->mlp = ParseFlag<MlpKind>(f.mlp, "--mlp", "gelu or swiglu");
  if (given("--norm")) s->norm = ParseFlag<NormKind>(f.norm, "--norm", "layernorm or rmsnorm");
  if (given("--positions"))
    s->positions = ParseFlag<PositionKind>(f.positions, "--positions", "learned or rotary");
  if (given("--precision"))
    s->precision =
        ParseFlag<Precision>(f.precision, "--precision", "bf16, fp16, tf32, fp32 or fp64");
  if (given("--optimizer"))
    s->optimizer = ParseFlag<Optimizer>(f.optimizer, "--optimizer", "adamw or sgd");
  if (given("--tied")) s->tied_embeddings = f.tied;
  if (given("--no-bias")) s->bias = !f.no_bias;
  if (given("--checkpointing")) {
    s->checkpointing =
        ParseFlag<Checkpointing>(f.checkpointing, "--checkpointing", "none, selective or full");
  }
  if (given("--non-causal")) s->causal = !f.non_causal;
  if (given("--seq") && sub != nullptr) s->seq_len = f.seq;
  if (given("--batch") && sub != nullptr) s->batch = f.batch;
  if (given("--vocab") && sub != nullptr) s->vocab = f.vocab;
  if (given("--kv-heads") && sub != nullptr) s->n_kv_heads = f.kv_heads;
  if (given("--head-dim") && sub != nullptr) s->head_dim = f.head_dim;
  if (given("--block")) {
    s->block = ParseFlag<BlockKind>(f.block, "--block", "sequential, parallel or parallel-2norm");
  }
  if (given("--sliding-window")) s->sliding_window = f.sliding_window;
  if (given("--experts")) s->experts = f.experts;
  if (given("--experts-per-token") && (sub != nullptr || f.experts_per_token != 0))
    s->experts_per_token = f.experts_per_token;
  if (s->experts > 0 && s->experts_per_token == 0)
    s->experts_per_token = std::min<int64_t>(2, s->experts);
  if (given("--shared-ff")) s->shared_ff = f.shared_ff;
}

ModelShape MakeShape(const ShapeFlags& f, int64_t d_model, int64_t n_layers) {
  if (d_model <= 0)
    throw InputError(fmt::format("--d-model {}: expected a positive width", d_model));
  if (n_layers <= 0)
    throw InputError(fmt::format("--layers {}: expected a positive depth", n_layers));
  ModelShape s;
  s.d_model = d_model;
  s.n_layers = n_layers;
  if (f.heads > 0) {
    s.n_heads = f.heads;
  } else {
    if (f.head_size < 0)
      throw InputError(fmt::format("--head-size {}: expected a positive size", f.head_size));
    s.n_heads = DefaultHeads(d_model, f.head_size);
    if (s.n_heads == 0) {
      throw InputError(
          f.head_size > 0
              ? fmt::format("--head-size {} does not divide d_model {}", f.head_size, d_model)
              : fmt::format("d_model {}: no head size of 64 or 128 divides it; give --heads or "
                            "--head-size",
                            d_model));
    }
  }
  if (f.d_ff > 0) {
    s.d_ff = f.d_ff;
  } else {
    if (!(f.mlp_ratio > 0) || !std::isfinite(f.mlp_ratio)) {
      throw InputError(fmt::format("--mlp-ratio {}: expected a positive number", f.mlp_ratio));
    }
    s.d_ff = static_cast<int64_t>(std::llround(f.mlp_ratio * static_cast<double>(d_model)));
  }
  s.n_kv_heads = f.kv_heads;
  if (f.head_dim != 0) {
    if (f.heads <= 0)
      throw InputError("--head-dim needs --heads (the query width is their product)");
    s.head_dim = f.head_dim;
  }
  s.seq_len = f.seq;
  s.batch = f.batch;
  s.vocab = f.vocab;
  ApplyVariantFlags(f, nullptr, &s);
  ValidateFromFlags(s);
  return s;
}

void ValidateFromFlags(const ModelShape& s) {
  try {
    s.Validate();
  } catch (const InputError& e) {
    // Name the flag that sets the field the message is about.
    static const std::pair<const char*, const char*> kFlags[] = {
        {"'n_kv_heads'", "--kv-heads"},
        {"n_kv_heads ", "--kv-heads"},
        {"'d_model'", "--d-model"},
        {"'n_layers'", "--layers"},
        {"'n_heads'", "--heads"},
        {"n_heads ", "--heads"},
        {"'d_ff'", "--d-ff"},
        {"'vocab'", "--vocab"},
        {"'seq_len'", "--seq"},
        {"'batch'", "--batch"},
        {"'features'", "--features"},
        {"'head_dim'", "--head-dim"},
        {"'sliding_window'", "--sliding-window"},
        {"'experts'", "--experts"},
        {"'experts_per_token'", "--experts-per-token"},
        {"'shared_ff'", "--shared-ff"}};
    const std::string what = e.what();
    for (const auto& [field, flag] : kFlags) {
      if (what.find(field) != std::string::npos) {
        throw InputError(fmt::format("{} (set by {})", what, flag));
      }
    }
    throw;
  }
}

void AddClusterFlags(CLI::App* sub, ClusterFlags* f) {
  sub->add_option("--devices", f->devices, "GPUs in the job (default 1)");
  sub->add_option("--gpus-per-node", f->gpus_per_node,
                  "GPUs per node (default: the hardware profile's gpus_per_node)");
  sub->add_option("--layout", f->layout,
                  "pin parts of the parallel layout, e.g. tp=8,pp=4,zero=1,micro=2 (keys tp, pp, "
                  "dp, ep (expert parallel, MoE), micro, accum, zero 0-3 or sharding, ckpt); the "
                  "rest is searched");
  sub->add_option("--memory-reserve", f->memory_reserve_gib,
                  "GiB per device kept free for the CUDA context, NCCL buffers and "
                  "fragmentation (default 1 GiB + 5% of the device)");
}

ClusterRequest ToClusterRequest(const ClusterFlags& f, const ShapeFlags& shape,
                                const CLI::App* sub) {
  ClusterRequest c;
  c.devices = f.devices;
  auto given = [&](const char* flag) { return sub != nullptr && sub->count(flag) > 0; };
  if (given("--gpus-per-node") || f.gpus_per_node != 0) c.gpus_per_node = f.gpus_per_node;
  if (given("--memory-reserve") || !(f.memory_reserve_gib < 0)) {
    c.memory_reserve_gib = f.memory_reserve_gib;
  }
  c.layout = f.layout;
  if (given("--checkpointing")) {
    c.checkpointing =
        ParseFlag<Checkpointing>(shape.checkpointing, "--checkpointing", "none, selective or full");
  }
  return c;
}

LayoutSearchOptions MakeSearch(const ClusterFlags& f, const ShapeFlags& shape, const CLI::App* sub,
                               const TimeModel& model, EstimatorKind estimator) {
  return ResolveCluster(ToClusterRequest(f, shape, sub), model.hardware, estimator);
}

int64_t GlobalBatch(const ShapeFlags& shape, const ClusterFlags& cluster, const CLI::App* sub) {
  if (sub != nullptr && sub->count("--batch") > 0) return shape.batch;
  return DefaultGlobalBatch(cluster.devices, shape.seq);
}

TimeModel ResolveTimeModel(const std::string& hardware_flag, const std::string& time_model_path,
                           double mfu) {
  if (!time_model_path.empty()) {
    TimeModel m = LoadTimeModel(time_model_path);
    if (!hardware_flag.empty()) {
      // The fitted multipliers carry over; per-FLOP and per-byte times follow the named
      // hardware's rates (Retarget), fixed and per-launch times stay as fitted.
      const std::string fitted_on = m.hardware.name;
      HardwareProfile target = ResolveHardware(hardware_flag);
      if (target.name != fitted_on && (m.fitted[0] || m.fitted[1] || m.fitted[3])) {
        fmt::print(stderr,
                   "note: {} was fitted on '{}'; its multipliers are carried to '{}' (FLOP and "
                   "byte times scale with the two devices' rates; fixed and launch times stay)\n",
                   time_model_path, fitted_on, target.name);
      }
      m = Retarget(m, target);
    }
    return m;
  }
  return DefaultTimeModel(ResolveHardware(hardware_flag.empty() ? "h100-sxm" : hardware_flag), mfu);
}

}  // namespace chronoscale::cli
