#include "chronoscale/layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "chronoscale/error.h"

namespace chronoscale {

int64_t ParallelLayout::DpPerNode() const {
  const int64_t dp = Dp();
  if (devices <= gpus_per_node) return dp;
  // Ranks are tp-innermost: a node holds gpus_per_node / tp consecutive data-parallel ranks of
  // one stage (or all of them when the stage is smaller than a node).
  const int64_t slots = std::max<int64_t>(1, gpus_per_node / tp);
  return std::gcd(dp, slots);
}

int64_t ParallelLayout::ShardGroup() const {
  return sharding == Sharding::kHybrid ? DpPerNode() : Dp();
}

std::string Describe(const ParallelLayout& l) {
  return fmt::format("dp {} x tp {} x pp {}{}, {}, micro-batch {} x {} micro-steps", l.Dp(), l.tp,
                     l.pp, l.ep > 1 ? fmt::format(" (ep {})", l.ep) : "", ToString(l.sharding),
                     l.micro_batch, l.grad_accum);
}

std::string ShortDescribe(const ParallelLayout& l, Checkpointing checkpointing) {
  std::string s = fmt::format("dp{} tp{} pp{}", l.Dp(), l.tp, l.pp);
  if (l.ep > 1) s += fmt::format(" ep{}", l.ep);
  if (l.sharding != Sharding::kNone) s += " " + ToString(l.sharding);
  s += fmt::format(" mb{}x{}", l.micro_batch, l.grad_accum);
  if (checkpointing != Checkpointing::kNone) s += " ckpt-" + ToString(checkpointing);
  return s;
}

ParallelLayout SingleDevice(const ModelShape& shape) {
  ParallelLayout l;
  l.micro_batch = shape.batch;
  return l;
}

ParallelLayout Resolve(const ParallelLayout& layout, const ModelShape& shape) {
  ParallelLayout l = layout;
  if (l.micro_batch <= 0) {
    const int64_t parts = std::max<int64_t>(1, l.Dp()) * std::max<int64_t>(1, l.grad_accum);
    l.micro_batch = std::max<int64_t>(1, shape.batch / parts);
  }
  return l;
}

bool LayoutPins::Empty() const {
  return tp == 0 && pp == 0 && dp == 0 && ep == 0 && micro_batch == 0 && grad_accum == 0 &&
         !has_sharding && !has_checkpointing;
}

LayoutPins ParseLayoutPins(std::string_view text, const std::string& flag) {
  LayoutPins pins;
  auto bad = [&](const std::string& why) {
    const std::string detail = fmt::format(
        " '{}': {}; expected comma-separated key=value with keys tp, pp, dp, ep, micro, accum "
        "(whole numbers >= 1), zero (0-3), sharding (none|zero1|zero2|zero3|fsdp|hybrid), "
        "ckpt (none|selective|full)",
        text, why);
    // A flag names the input (its field: the flag without the dashes); anything else, a place.
    return flag.rfind("--", 0) == 0 ? InputError(flag.substr(2), detail)
                                    : InputError(flag + detail);
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, end - start);
    start = end + 1;
    if (item.empty()) {
      if (end >= text.size() && text.empty()) break;
      throw bad("empty item");
    }
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) throw bad(fmt::format("'{}' has no '='", item));
    const std::string key(item.substr(0, eq));
    const std::string_view value = item.substr(eq + 1);
    auto whole = [&](int64_t lo, int64_t hi) {
      int64_t v = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size() || value.empty() || v < lo ||
          v > hi) {
        throw bad(
            fmt::format("{} must be a whole number in [{}, {}], found '{}'", key, lo, hi, value));
      }
      return v;
    };
    constexpr int64_t kMax = int64_t{1} << 24;
    if (key == "tp") {
      pins.tp = whole(1, kMax);
    } else if (key == "pp") {
      pins.pp = whole(1, kMax);
    } else if (key == "dp") {
      pins.dp = whole(1, kMax);
    } else if (key == "ep") {
      pins.ep = whole(1, kMax);
    } else if (key == "micro" || key == "micro_batch") {
      pins.micro_batch = whole(1, kMax);
    } else if (key == "accum" || key == "grad_accum") {
      pins.grad_accum = whole(1, kMax);
    } else if (key == "zero") {
      const int64_t z = whole(0, 3);
      pins.has_sharding = true;
      pins.sharding = static_cast<Sharding>(z);
    } else if (key == "sharding") {
      pins.has_sharding = true;
      if (!Parse(value, &pins.sharding)) throw bad(fmt::format("unknown sharding '{}'", value));
    } else if (key == "ckpt" || key == "checkpointing") {
      pins.has_checkpointing = true;
      if (!Parse(value, &pins.checkpointing))
        throw bad(fmt::format("unknown checkpointing '{}'", value));
    } else {
      throw bad(fmt::format("unknown key '{}'", key));
    }
    if (end >= text.size()) break;
  }
  return pins;
}

std::string Describe(const LayoutPins& p) {
  std::string s;
  auto add = [&](const std::string& item) { s += (s.empty() ? "" : ",") + item; };
  if (p.tp) add(fmt::format("tp={}", p.tp));
  if (p.pp) add(fmt::format("pp={}", p.pp));
  if (p.dp) add(fmt::format("dp={}", p.dp));
  if (p.ep) add(fmt::format("ep={}", p.ep));
  if (p.micro_batch) add(fmt::format("micro={}", p.micro_batch));
  if (p.grad_accum) add(fmt::format("accum={}", p.grad_accum));
  if (p.has_sharding) add("sharding=" + ToString(p.sharding));
  if (p.has_checkpointing) add("ckpt=" + ToString(p.checkpointing));
  return s;
}

void ValidateLayout(const ModelShape& s, const ParallelLayout& l, const std::string& what) {
  auto fail = [&](const std::string& why) {
    return InputError(fmt::format("{}: illegal layout ({}): {}", what, Describe(l), why));
  };
  if (l.devices < 1 || l.gpus_per_node < 1 || l.tp < 1 || l.pp < 1 || l.ep < 1 ||
      l.micro_batch < 1 || l.grad_accum < 1) {
    throw InputError(fmt::format(
        "{}: devices, gpus_per_node, tp, pp, ep, micro_batch and grad_accum must be >= 1", what));
  }
  if (l.devices % (l.tp * l.pp) != 0) {
    throw fail(fmt::format("devices {} is not a multiple of tp x pp = {}", l.devices, l.tp * l.pp));
  }
  if (l.devices > l.gpus_per_node && l.devices % l.gpus_per_node != 0) {
    throw fail(
        fmt::format("{} devices are not whole nodes of {} GPUs", l.devices, l.gpus_per_node));
  }
  if (l.tp > l.gpus_per_node || l.gpus_per_node % l.tp != 0) {
    throw fail(fmt::format("tensor parallelism {} must divide the {} GPUs of a node", l.tp,
                           l.gpus_per_node));
  }
  if (s.n_heads % l.tp != 0 || s.KvHeads() % l.tp != 0) {
    throw fail(fmt::format("tp {} must divide the {} heads and {} kv heads", l.tp, s.n_heads,
                           s.KvHeads()));
  }
  if (s.d_ff % l.tp != 0) throw fail(fmt::format("tp {} must divide d_ff {}", l.tp, s.d_ff));
  if (s.shared_ff % l.tp != 0 || s.dense_ff % l.tp != 0) {
    throw fail(
        fmt::format("tp {} must divide the shared expert's width {} and the dense layers' {}", l.tp,
                    s.shared_ff, s.dense_ff));
  }
  if (l.ep > 1) {
    if (!s.Moe()) throw fail(fmt::format("ep {} needs a mixture-of-experts shape", l.ep));
    if (s.experts % l.ep != 0 || (l.devices / (l.tp * l.pp)) % l.ep != 0) {
      throw fail(fmt::format("ep {} must divide the {} experts and dp {}", l.ep, s.experts,
                             l.devices / (l.tp * l.pp)));
    }
  }
  if (l.pp > s.n_layers) {
    throw fail(fmt::format("pp {} is more stages than the {} layers", l.pp, s.n_layers));
  }
  const int64_t per_step = l.micro_batch * l.grad_accum * l.Dp();
  if (per_step != s.batch) {
    throw fail(fmt::format(
        "micro_batch {} x grad_accum {} x dp {} = {} sequences, but the global batch is {}",
        l.micro_batch, l.grad_accum, l.Dp(), per_step, s.batch));
  }
}

int64_t DefaultGlobalBatch(int64_t devices, int64_t seq_len) {
  if (devices <= 1) return 8;
  const int64_t cap = std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(1, seq_len));
  const int64_t target = std::min(8 * devices, cap);
  return (target + devices - 1) / devices * devices;
}

// --------------------------------------------------------------------------- collectives

double CollectiveSeconds(Collective c, double bytes, int64_t group, int64_t per_node,
                         const HardwareProfile& hw) {
  if (group <= 1 || bytes <= 0) return 0;
  const int64_t k = std::clamp<int64_t>(per_node, 1, group);
  const double nodes = static_cast<double>(group) / static_cast<double>(k);
  auto need = [&](double bw, const char* key) {
    if (bw <= 0) {
      throw InputError(fmt::format(
          "hardware '{}' has no {} to price a {} over {} devices ({} per node); add it to the "
          "profile",
          hw.name, key, ToString(c), group, k));
    }
    return bw;
  };
  if (c == Collective::kSendRecv) {
    if (k >= 2) {
      return bytes /
                 need(hw.interconnect_bandwidth_bytes_per_s, "intra_node_bandwidth_bytes_per_s") +
             hw.intra_node_latency_s;
    }
    return bytes / need(hw.inter_node_bandwidth_bytes_per_s, "inter_node_bandwidth_bytes_per_s") +
           hw.inter_node_latency_s;
  }
  if (c == Collective::kAllToAll) {
    // Each device keeps 1/g of its message and sends (k-1)/g to the others in its node and
    // (g-k)/g across nodes on its NIC (both priced in turn: conservative where they overlap),
    // with one latency per peer.
    const double g = static_cast<double>(group);
    const double kd = static_cast<double>(k);
    double t = 0;
    if (k > 1) {
      t += bytes * (kd - 1) / g /
               need(hw.interconnect_bandwidth_bytes_per_s, "intra_node_bandwidth_bytes_per_s") +
           (kd - 1) * hw.intra_node_latency_s;
    }
    if (nodes > 1) {
      t += bytes * (g - kd) / g /
               need(hw.inter_node_bandwidth_bytes_per_s, "inter_node_bandwidth_bytes_per_s") +
           (nodes - 1) * hw.inter_node_latency_s;
    }
    return t;
  }
  const double f = c == Collective::kAllReduce ? 2.0 : 1.0;  // all-reduce = RS + AG
  double t = 0;
  if (k > 1) {
    const double kd = static_cast<double>(k);
    t += f * (kd - 1) / kd * bytes /
             need(hw.interconnect_bandwidth_bytes_per_s, "intra_node_bandwidth_bytes_per_s") +
         f * (kd - 1) * hw.intra_node_latency_s;
  }
  if (nodes > 1) {
    const double share = bytes / static_cast<double>(k);
    const double steps = hw.tree_collectives ? std::ceil(std::log2(nodes)) : nodes - 1;
    t += f * (nodes - 1) / nodes * share /
             need(hw.inter_node_bandwidth_bytes_per_s, "inter_node_bandwidth_bytes_per_s") +
         f * steps * hw.inter_node_latency_s;
  }
  return t;
}

// --------------------------------------------------------------------------- memory

namespace {

// ActivationBytesPerLayer on the shape's dimensions `k` (any expert split: it reads none of it).
double ActivationBytes(const internal::StepDims& k, const ModelShape& shape, int64_t tp,
                       Checkpointing checkpointing, ActivationConventions conventions) {
  const double T = k.T, d = k.d, f = k.f, a = k.a, r = k.r;
  const double split = static_cast<double>(tp);
  if (checkpointing == Checkpointing::kFull) {
    // Only the layer's input (the residual stream) is kept.
    const double input = conventions == ActivationConventions::kMegatron ? T * d * a : T * d * r;
    return tp > 1 ? input / split : input;
  }
  const double scores = k.b * k.h * k.s * k.s;
  const bool materialised = shape.attention == AttentionKind::kNaive;
  const bool keep_scores = materialised && checkpointing == Checkpointing::kNone;
  // The MLP's saved tensors per layer (mean over layers): each MLP keeps its input copies (the
  // up GEMMs' outputs) and the activation's output, over the tokens it sees. An MoE layer also
  // keeps the dispatched token copies and the router's fp32 probabilities.
  auto mlp = [&](double tokens, double width) { return (k.mlp_in + 1) * tokens * width * a; };
  double mlp_bytes = k.L_dense * mlp(T, k.f_dense);
  if (k.L_moe > 0) {
    mlp_bytes += k.L_moe * (mlp(T * k.topk, f) + (k.f_shared > 0 ? mlp(T, k.f_shared) : 0) +
                            T * k.topk * d * a + T * k.E * 4);
  }
  mlp_bytes /= k.L;
  double bytes = 0;
  if (conventions == ActivationConventions::kPyTorch) {
    // Norm inputs (fp32 residual stream under autocast) and outputs cast for the matmuls, the
    // attention output and its merged-heads copy, Q K V, flash's fp32 log-sum-exp, the MLP's.
    bytes = T * d * k.norms * (r + a) + 2 * T * k.q * a + T * (k.q + 2 * k.kv) * a + T * k.h * 4 +
            mlp_bytes;
    if (keep_scores) {
      bytes += scores * (4 + a);  // fp32 probabilities and their cast
    } else if (shape.attention == AttentionKind::kFavor ||
               shape.attention == AttentionKind::kDark) {
      bytes += 2 * k.b * k.h * k.s * k.m * a;  // the feature maps phi(Q), phi(K)
    }
  } else {
    // Korthikanti et al. 2022, section 4.1: norm inputs and outputs, Q K V, the attention
    // output, two dropout masks (1 byte), the MLP's GeLU input and output; with materialised
    // attention the softmax output, its dropout mask and the dropout output.
    bytes = T * d * (5 * a + 2) + T * (k.q + 2 * k.kv) * a + mlp_bytes;
    if (keep_scores) bytes += scores * (2 * a + 1);
    if (shape.attention == AttentionKind::kFlash) bytes += T * k.h * 4;
  }
  return tp > 1 ? bytes / split : bytes;
}

}  // namespace

double ActivationBytesPerLayer(const ModelShape& shape, int64_t tp, Checkpointing checkpointing,
                               ActivationConventions conventions) {
  return ActivationBytes(internal::MakeDims(shape), shape, tp, checkpointing, conventions);
}

ModelStateBytes ShardedModelStates(double params, double weight_bytes, double grad_bytes,
                                   double optimizer_bytes, Sharding sharding, int64_t shard_group) {
  const double g = static_cast<double>(std::max<int64_t>(1, shard_group));
  const int stage = sharding == Sharding::kHybrid ? 3 : static_cast<int>(sharding);
  ModelStateBytes m;
  m.weights = weight_bytes * params;
  m.grads = grad_bytes * params;
  m.optimizer = optimizer_bytes * params;
  if (stage >= 1) m.optimizer /= g;
  if (stage >= 2) m.grads /= g;
  if (stage >= 3) m.weights /= g;
  return m;
}

double StageParams(const ModelShape& s, int64_t pp, int64_t ep) {
  // experts held elsewhere under expert parallelism, per layer (mean over layers)
  const double away = ep > 1 && s.Moe()
                          ? static_cast<double>(s.MoeLayers()) / static_cast<double>(s.n_layers) *
                                (static_cast<double>(s.experts) -
                                 static_cast<double>(s.experts) / static_cast<double>(ep)) *
                                s.ExpertParams()
                          : 0;
  if (pp <= 1) return s.Params() - static_cast<double>(s.n_layers) * away;
  const double d = static_cast<double>(s.d_model);
  const double v = static_cast<double>(s.vocab);
  const double first =
      v * d +
      (s.positions == PositionKind::kLearned ? static_cast<double>(s.PositionRows()) * d : 0);
  const double final_norm = s.NormHasBias() ? 2 * d : d;
  const double last = v * d + (s.head_bias ? v : 0) +
                      final_norm;  // the LM head (a copy of the embedding when tied)
  const double layers = static_cast<double>((s.n_layers + pp - 1) / pp);
  return layers * (s.LayerParams() - away) + std::max(first, last);
}

MemoryEstimate EstimateMemory(const ModelShape& shape, const ParallelLayout& given) {
  shape.Validate();
  return EstimateMemoryOfValid(shape, given);
}

MemoryEstimate EstimateMemoryOfValid(const ModelShape& shape, const ParallelLayout& given) {
  const ParallelLayout layout = Resolve(given, shape);
  ModelShape micro = shape;
  micro.batch = layout.micro_batch;
  return EstimateMemoryOfValid(shape, layout, internal::MakeDims(micro, layout.ep));
}

MemoryEstimate EstimateMemoryOfValid(const ModelShape& shape, const ParallelLayout& given,
                                     const internal::StepDims& k) {
  const ParallelLayout layout = Resolve(given, shape);
  ModelShape micro = shape;
  micro.batch = layout.micro_batch;
  const double split = static_cast<double>(layout.tp);
  const double layers = static_cast<double>(LayersPerStage(shape, layout));
  const double T = k.T, d = k.d, r = k.r, a = k.a;

  constexpr auto kConventions = ActivationConventions::kPyTorch;
  double activations =
      layers * ActivationBytes(k, micro, layout.tp, shape.checkpointing, kConventions);
  if (shape.checkpointing == Checkpointing::kFull) {
    // the layer being recomputed holds its full activations
    activations += ActivationBytes(k, micro, layout.tp, Checkpointing::kNone, kConventions);
  }
  // Logits at the loss: bf16 logits, their fp32 copy, log-probabilities and their gradient:
  // ~12 bytes per element at the peak (3 fp32 buffers live at once).
  double logits = T * k.V * 12;
  if (layout.tp > 1) logits /= split;
  if (layout.pp > 1) {
    // 1F1B: the first stage holds min(pp, micro-steps) micro-batches in flight, the last one
    // micro-batch and the logits; keep the fuller.
    const double in_flight = static_cast<double>(std::min<int64_t>(layout.pp, layout.grad_accum));
    if (activations * in_flight > activations + logits) {
      activations *= in_flight;
      logits = 0;
    }
  }

  const double p_dev = StageParams(shape, layout.pp, layout.ep) / split;
  const double opt_bytes = shape.optimizer == Optimizer::kAdamW ? 2 * k.w : k.w;
  const int64_t shard = layout.sharding == Sharding::kNone ? 1 : layout.ShardGroup();
  const ModelStateBytes states =
      ShardedModelStates(p_dev, k.w, k.w, opt_bytes, layout.sharding, shard);
  // bf16 copies of the weights made by autocast, held by the graph until the backward; under
  // FSDP the gathered weights of the current and the prefetched layer.
  double casts = 0;
  if (k.autocast) {
    const bool gathered =
        layout.sharding == Sharding::kZero3 || layout.sharding == Sharding::kHybrid;
    const double held = gathered ? std::min(2.0, layers) : layers;
    casts = (held * (k.w_layer + k.b_layer) + k.V * d) * a;
    if (layout.tp > 1) casts /= split;
  }

  // Peak A: at the loss, every activation saved; parameter gradients exist only from the second
  // micro-step on (set_to_none), or always when accumulating into sharded gradients.
  MemoryEstimate at_loss;
  at_loss.weights = states.weights + casts;
  at_loss.optimizer = states.optimizer;
  at_loss.activations = activations;
  at_loss.logits = logits;
  if (layout.grad_accum > 1) at_loss.grads = states.grads;
  // Peak B: end of the backward: every gradient live, activations freed.
  MemoryEstimate at_end;
  at_end.weights = states.weights + casts;
  at_end.optimizer = states.optimizer;
  at_end.grads = states.grads;
  at_end.workspace = T * d * r * 4;
  if (layout.tp > 1) at_end.workspace /= split;
  at_end.peak = "end of backward";
  return at_loss.Total() >= at_end.Total() ? at_loss : at_end;
}

MemoryEstimate EstimateMemory(const ModelShape& shape) {
  return EstimateMemory(shape, SingleDevice(shape));
}

}  // namespace chronoscale
