#include "session.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include <chronoscale/error.h>
#include <chronoscale/io.h>
#include <chronoscale/layout.h>
#include <chronoscale/version.h>

namespace chronoscale::gui {
namespace {

nlohmann::json RangeJson(const Range& r) { return {r.min, r.max, r.step}; }

Range RangeFrom(const nlohmann::json& obj, const std::string& key, const std::string& where,
                Range fallback) {
  if (!obj.contains(key)) return fallback;
  const auto& v = obj.at(key);
  if (!v.is_array() || v.size() != 3 || !v[0].is_number_integer() || !v[1].is_number_integer() ||
      !v[2].is_number_integer()) {
    throw InputError(fmt::format("{}: key '{}': expected [min, max, step] integers, found {}",
                                 where, key, v.dump()));
  }
  return {v[0].get<int64_t>(), v[1].get<int64_t>(), v[2].get<int64_t>()};
}

std::string StringOr(const nlohmann::json& obj, const std::string& key, const std::string& where,
                     const std::string& fallback) {
  if (!obj.contains(key)) return fallback;
  return JsonString(obj, key, where);
}

int64_t IntOr(const nlohmann::json& obj, const std::string& key, const std::string& where,
              double lo, double hi, int64_t fallback) {
  const double v = JsonNumberOr(obj, key, where, lo, hi, static_cast<double>(fallback));
  if (v != std::floor(v)) {
    throw InputError(fmt::format("{}: key '{}': expected an integer, found {}", where, key, v));
  }
  return static_cast<int64_t>(v);
}

}  // namespace

namespace {

template <typename Enum>
Enum ParseKey(const std::string& text, const char* key, const char* expected) {
  Enum e{};
  if (!Parse(text, &e)) {
    throw InputError(key, fmt::format(" '{}' is not one of {}", text, expected));
  }
  return e;
}

// The architecture inputs on the plan's base shape (InputError naming the key for an unknown
// value).
void ApplyArchitecture(const SessionInputs::Architecture& a, PlanRequest* r) {
  ModelShape& b = r->plan.base;
  b.mlp = ParseKey<MlpKind>(a.mlp, "mlp", "gelu, swiglu");
  b.norm = ParseKey<NormKind>(a.norm, "norm", "layernorm, rmsnorm");
  b.positions = ParseKey<PositionKind>(a.positions, "positions", "learned, rotary");
  b.precision = ParseKey<Precision>(a.precision, "precision", "bf16, fp16, tf32, fp32, fp64");
  b.optimizer = ParseKey<Optimizer>(a.optimizer, "optimizer", "adamw, sgd");
  b.block = ParseKey<BlockKind>(a.block, "block", "sequential, parallel, parallel-2norm");
  b.n_kv_heads = a.kv_heads;
  b.tied_embeddings = a.tied;
  b.bias = a.bias;
  b.causal = a.causal;
  b.sliding_window = a.sliding_window;
  b.experts = a.experts;
  // As plan --experts: two routed experts per token unless given (at most all of them).
  b.experts_per_token = a.experts > 0 && a.experts_per_token == 0 ? std::min<int64_t>(2, a.experts)
                                                                  : a.experts_per_token;
  b.shared_ff = a.shared_ff;
  b.shared_gate = a.shared_gate;
  for (const auto& [value, key] : {std::pair{a.qkv_bias, "qkv_bias"},
                                   {a.out_bias, "out_bias"},
                                   {a.mlp_bias, "mlp_bias"},
                                   {a.norm_bias, "norm_bias"}}) {
    if (value < -1 || value > 1)
      throw InputError(fmt::format("{}: {} is not -1 (as bias), 0 or 1", key, value));
  }
  b.qkv_bias = a.qkv_bias;
  b.out_bias = a.out_bias;
  b.mlp_bias = a.mlp_bias;
  b.norm_bias = a.norm_bias;
  b.head_bias = a.head_bias;
  b.post_norms = a.post_norms;
  if (!a.checkpointing.empty()) {
    b.checkpointing =
        ParseKey<Checkpointing>(a.checkpointing, "checkpointing", "none, selective, full");
    r->cluster.checkpointing = b.checkpointing;  // as plan --checkpointing: the one to use
  }
}

}  // namespace

PlanRequest ToPlanRequest(const SessionInputs& in) {
  PlanRequest r;
  PlanOptions& o = r.plan;
  o.hours = in.hours;
  o.goodput = in.goodput;
  o.mfu = in.mfu;
  o.width = in.width;
  o.depth = in.depth;
  o.min_aspect = in.min_aspect;
  o.max_aspect = in.max_aspect;
  o.unique_tokens = in.unique_tokens;
  o.head_size = in.head_size;
  o.mlp_ratio = in.mlp_ratio;
  o.top = in.top;
  o.base = ReferenceShape(1024, 8);
  o.base.seq_len = in.seq_len;
  o.base.vocab = in.vocab;
  o.base.features = in.features;
  AttentionKind kind;
  if (!Parse(in.attention, &kind)) {
    throw InputError("attention",
                     " '" + in.attention + "' is not one of flash, naive, favor, dark");
  }
  o.base.attention = kind;
  // 0: the default global batch for the devices (8 sequences per GPU, at most 4M tokens)
  if (in.batch > 0) r.batch = in.batch;
  r.cluster.devices = in.devices;
  if (in.gpus_per_node != 0) r.cluster.gpus_per_node = in.gpus_per_node;
  r.cluster.layout = in.layout;
  if (in.memory_reserve_gib >= 0) r.cluster.memory_reserve_gib = in.memory_reserve_gib;
  ApplyArchitecture(in.arch, &r);
  r.estimator = in.estimator;
  r.fallback = EstimatorFallback::kRoofline;
  return r;
}

SessionInputs::Architecture ArchitectureOf(const ModelShape& s) {
  SessionInputs::Architecture a;
  a.mlp = ToString(s.mlp);
  a.norm = ToString(s.norm);
  a.positions = ToString(s.positions);
  a.precision = ToString(s.precision);
  a.optimizer = ToString(s.optimizer);
  a.block = ToString(s.block);
  a.kv_heads = s.n_kv_heads;
  a.tied = s.tied_embeddings;
  a.bias = s.bias;
  a.causal = s.causal;
  a.sliding_window = s.sliding_window;
  a.experts = s.experts;
  a.experts_per_token = s.experts_per_token;
  a.shared_ff = s.shared_ff;
  a.shared_gate = s.shared_gate;
  a.qkv_bias = s.qkv_bias;
  a.out_bias = s.out_bias;
  a.mlp_bias = s.mlp_bias;
  a.norm_bias = s.norm_bias;
  a.head_bias = s.head_bias;
  a.post_norms = s.post_norms;
  return a;
}

LossRunsOptions ToLossRunsOptions(const SessionInputs::LossRunsInputs& in) {
  LossRunsOptions o;
  o.params_column = in.params_col;
  o.tokens_column = in.tokens_col;
  o.flops_column = in.flops_col;
  o.loss_column = in.loss_col;
  o.drop_highest = in.drop_highest;
  if (!StringToParamCount(in.param_count, &o.params_counted)) {
    throw InputError("param_count: expected all or non-embedding, not '" + in.param_count + "'");
  }
  return o;
}

nlohmann::json SessionToJson(const SessionInputs& in) {
  nlohmann::json inputs{{"hardware", in.hardware},
                        {"hours", in.hours},
                        {"devices", in.devices},
                        {"law", in.law},
                        {"loss_runs", in.loss_runs},
                        {"loss_runs_options",
                         {{"params_col", in.loss.params_col},
                          {"tokens_col", in.loss.tokens_col},
                          {"flops_col", in.loss.flops_col},
                          {"loss_col", in.loss.loss_col},
                          {"drop_highest", in.loss.drop_highest},
                          {"bootstrap", in.loss.bootstrap},
                          {"param_count", in.loss.param_count}}},
                        {"estimator", in.estimator},
                        {"step_runs", in.step_runs},
                        {"width", RangeJson(in.width)},
                        {"depth", RangeJson(in.depth)},
                        {"aspect", {in.min_aspect, in.max_aspect}},
                        {"unique_tokens", in.unique_tokens},
                        {"head_size", in.head_size},
                        {"mlp_ratio", in.mlp_ratio},
                        {"seq_len", in.seq_len},
                        {"batch", in.batch},
                        {"vocab", in.vocab},
                        {"attention", in.attention},
                        {"features", in.features},
                        {"gpus_per_node", in.gpus_per_node},
                        {"layout", in.layout},
                        {"memory_reserve_gib", in.memory_reserve_gib},
                        {"goodput", in.goodput},
                        {"mfu", in.mfu},
                        {"top", in.top},
                        {"attention_csv", in.attention_csv},
                        {"architecture",
                         {{"mlp", in.arch.mlp},
                          {"norm", in.arch.norm},
                          {"positions", in.arch.positions},
                          {"precision", in.arch.precision},
                          {"checkpointing", in.arch.checkpointing},
                          {"optimizer", in.arch.optimizer},
                          {"block", in.arch.block},
                          {"kv_heads", in.arch.kv_heads},
                          {"tied_embeddings", in.arch.tied},
                          {"bias", in.arch.bias},
                          {"causal", in.arch.causal},
                          {"sliding_window", in.arch.sliding_window},
                          {"experts", in.arch.experts},
                          {"experts_per_token", in.arch.experts_per_token},
                          {"shared_ff", in.arch.shared_ff},
                          {"shared_gate", in.arch.shared_gate},
                          {"qkv_bias", in.arch.qkv_bias},
                          {"out_bias", in.arch.out_bias},
                          {"mlp_bias", in.arch.mlp_bias},
                          {"norm_bias", in.arch.norm_bias},
                          {"head_bias", in.arch.head_bias},
                          {"post_norms", in.arch.post_norms}}}};
  return {{"schema_version", kSchemaVersion},
          {"tool", "chronoscale-gui"},
          {"version", Version()},
          {"kind", "planning_session"},
          {"inputs", inputs}};
}

namespace {

// "loss_runs_options": how the loss runs are read and fitted.
void ReadLossRunsOptions(const nlohmann::json& j, const std::string& w,
                         SessionInputs::LossRunsInputs* loss) {
  const nlohmann::json& l = j.at("loss_runs_options");
  const std::string lw = w + " (loss_runs_options)";
  if (!l.is_object()) throw InputError(lw + ": expected an object");
  loss->params_col = StringOr(l, "params_col", lw, loss->params_col);
  loss->tokens_col = StringOr(l, "tokens_col", lw, loss->tokens_col);
  loss->flops_col = StringOr(l, "flops_col", lw, loss->flops_col);
  loss->loss_col = StringOr(l, "loss_col", lw, loss->loss_col);
  loss->drop_highest = static_cast<int>(IntOr(l, "drop_highest", lw, 0, 1e6, 0));
  loss->bootstrap = static_cast<int>(IntOr(l, "bootstrap", lw, 0, 100000, 0));
  loss->param_count = StringOr(l, "param_count", lw, loss->param_count);
  try {
    ToLossRunsOptions(*loss);
  } catch (const InputError& e) {
    throw InputError(lw + ": key " + e.what());
  }
}

// "aspect": [min, max] with 0 < min <= max.
void ReadAspect(const nlohmann::json& j, const std::string& w, SessionInputs* in) {
  const auto& a = j.at("aspect");
  if (!a.is_array() || a.size() != 2 || !a[0].is_number() || !a[1].is_number() ||
      !(a[0].get<double>() > 0) || !(a[1].get<double>() >= a[0].get<double>()) ||
      !std::isfinite(a[1].get<double>())) {
    throw InputError(
        fmt::format("{}: key 'aspect': expected [min, max] with 0 < min <= max, "
                    "found {}",
                    w, a.dump()));
  }
  in->min_aspect = a[0].get<double>();
  in->max_aspect = a[1].get<double>();
}

// "architecture": the variants, each checked as the plan will read it.
void ReadArchitecture(const nlohmann::json& j, const std::string& w,
                      SessionInputs::Architecture* arch) {
  const nlohmann::json& a = j.at("architecture");
  const std::string aw = w + " (architecture)";
  if (!a.is_object()) throw InputError(aw + ": expected an object");
  auto flag = [&](const char* key, bool fallback) {
    if (!a.contains(key)) return fallback;
    if (!a.at(key).is_boolean()) throw InputError(aw + ": key '" + key + "': expected true/false");
    return a.at(key).get<bool>();
  };
  arch->mlp = StringOr(a, "mlp", aw, arch->mlp);
  arch->norm = StringOr(a, "norm", aw, arch->norm);
  arch->positions = StringOr(a, "positions", aw, arch->positions);
  arch->precision = StringOr(a, "precision", aw, arch->precision);
  arch->checkpointing = StringOr(a, "checkpointing", aw, arch->checkpointing);
  arch->optimizer = StringOr(a, "optimizer", aw, arch->optimizer);
  arch->block = StringOr(a, "block", aw, arch->block);
  arch->kv_heads = IntOr(a, "kv_heads", aw, 0, 1e6, arch->kv_heads);
  arch->tied = flag("tied_embeddings", arch->tied);
  arch->bias = flag("bias", arch->bias);
  arch->causal = flag("causal", arch->causal);
  arch->sliding_window = IntOr(a, "sliding_window", aw, 0, 1e9, arch->sliding_window);
  arch->experts = IntOr(a, "experts", aw, 0, 1e6, arch->experts);
  arch->experts_per_token = IntOr(a, "experts_per_token", aw, 0, 1e6, arch->experts_per_token);
  arch->shared_ff = IntOr(a, "shared_ff", aw, 0, 1e9, arch->shared_ff);
  arch->shared_gate = flag("shared_gate", arch->shared_gate);
  arch->qkv_bias = static_cast<int>(IntOr(a, "qkv_bias", aw, -1, 1, arch->qkv_bias));
  arch->out_bias = static_cast<int>(IntOr(a, "out_bias", aw, -1, 1, arch->out_bias));
  arch->mlp_bias = static_cast<int>(IntOr(a, "mlp_bias", aw, -1, 1, arch->mlp_bias));
  arch->norm_bias = static_cast<int>(IntOr(a, "norm_bias", aw, -1, 1, arch->norm_bias));
  arch->head_bias = flag("head_bias", arch->head_bias);
  arch->post_norms = flag("post_norms", arch->post_norms);
  PlanRequest probe;
  try {
    ApplyArchitecture(*arch, &probe);
  } catch (const InputError& e) {
    throw InputError(aw + ": key " +
                     (e.field().empty() ? e.what() : "'" + e.field() + "':" + e.detail()));
  }
}

// The document's header: an object of a schema this tool reads, with an object "inputs".
const nlohmann::json& InputsOf(const nlohmann::json& doc, const std::string& where) {
  if (!doc.is_object()) throw InputError(where + ": expected a JSON object");
  const int schema = static_cast<int>(JsonNumber(doc, "schema_version", where, 1, 1000));
  if (schema > kSchemaVersion) {
    throw InputError(fmt::format("{}: schema_version {} is newer than this tool's {}", where,
                                 schema, kSchemaVersion));
  }
  if (!doc.contains("inputs") || !doc.at("inputs").is_object()) {
    throw InputError(where + ": expected an object \"inputs\"");
  }
  return doc.at("inputs");
}

}  // namespace

SessionInputs SessionFromJson(const nlohmann::json& doc, const std::string& where) {
  const nlohmann::json& j = InputsOf(doc, where);
  const std::string w = where + " (inputs)";
  SessionInputs in;
  in.hardware = StringOr(j, "hardware", w, in.hardware);
  in.hours = JsonNumberOr(j, "hours", w, 1e-6, 1e9, in.hours);
  in.devices = static_cast<int>(IntOr(j, "devices", w, 1, 1e7, in.devices));
  in.law = StringOr(j, "law", w, in.law);
  in.loss_runs = StringOr(j, "loss_runs", w, in.loss_runs);
  if (j.contains("loss_runs_options")) ReadLossRunsOptions(j, w, &in.loss);
  in.estimator = StringOr(j, "estimator", w, in.estimator);
  in.step_runs = StringOr(j, "step_runs", w, in.step_runs);
  in.width = RangeFrom(j, "width", w, in.width);
  in.depth = RangeFrom(j, "depth", w, in.depth);
  if (j.contains("aspect")) ReadAspect(j, w, &in);
  in.unique_tokens = JsonNumberOr(j, "unique_tokens", w, 0, 1e18, in.unique_tokens);
  in.head_size = IntOr(j, "head_size", w, 0, 1e6, in.head_size);
  in.mlp_ratio = JsonNumberOr(j, "mlp_ratio", w, 1e-3, 1e3, in.mlp_ratio);
  in.seq_len = IntOr(j, "seq_len", w, 1, 1e9, in.seq_len);
  in.batch = IntOr(j, "batch", w, 0, 1e9, in.batch);
  in.vocab = IntOr(j, "vocab", w, 1, 1e9, in.vocab);
  in.attention = StringOr(j, "attention", w, in.attention);
  in.features = IntOr(j, "features", w, 1, 1e9, in.features);
  in.gpus_per_node = IntOr(j, "gpus_per_node", w, 0, 1048576, in.gpus_per_node);
  in.layout = StringOr(j, "layout", w, in.layout);
  if (!in.layout.empty()) ParseLayoutPins(in.layout, w + ": key 'layout'");
  in.memory_reserve_gib = JsonNumberOr(j, "memory_reserve_gib", w, -1, 1e6, in.memory_reserve_gib);
  in.goodput = JsonNumberOr(j, "goodput", w, 1e-6, 1, in.goodput);
  in.mfu = JsonNumberOr(j, "mfu", w, 1e-6, 1, in.mfu);
  in.top = static_cast<int>(IntOr(j, "top", w, 1, 1e6, in.top));
  in.attention_csv = StringOr(j, "attention_csv", w, in.attention_csv);
  if (j.contains("architecture")) ReadArchitecture(j, w, &in.arch);
  AttentionKind kind;
  if (!Parse(in.attention, &kind)) {
    throw InputError(w + ": key 'attention': unknown kind '" + in.attention + "'");
  }
  EstimatorKind e;
  if (!Parse(in.estimator, &e)) {
    throw InputError(w + ": key 'estimator': unknown estimator '" + in.estimator + "'");
  }
  return in;
}

bool SameInputs(const SessionInputs& a, const SessionInputs& b) {
  return SessionToJson(a).at("inputs") == SessionToJson(b).at("inputs");
}

SessionInputs LoadSession(const std::string& path) {
  return SessionFromJson(ReadJsonFile(path), path);
}

void SaveSession(const SessionInputs& in, const std::string& path) {
  WriteFileAtomic(path, SessionToJson(in).dump(2) + "\n");
}

std::string SurfaceCsv(const PlanResult& plan) {
  std::string out = "d_model,n_layers,params,step_ms,loss,fits\n";
  const std::size_t nw = plan.widths.size();
  for (std::size_t r = 0; r < plan.depths.size(); ++r) {
    for (std::size_t c = 0; c < nw; ++c) {
      const std::size_t i = r * nw + c;
      const double step = plan.step_s[i];
      out += fmt::format(
          "{},{},{},{},{},{}\n", plan.widths[c], plan.depths[r], plan.params[i],
          std::isfinite(step) ? fmt::format("{:.6g}", step * 1e3) : std::string(),
          std::isfinite(plan.loss[i]) ? fmt::format("{:.6f}", plan.loss[i]) : std::string(),
          static_cast<int>(plan.fits[i]));
    }
  }
  return out;
}

nlohmann::json PlanJson(const PlanResult& plan, const SessionInputs& in) {
  nlohmann::json doc = SessionToJson(in);
  doc.update(PlanToJson(plan));
  doc["kind"] = "plan";
  doc["found"] = plan.found;
  return doc;
}

}  // namespace chronoscale::gui
