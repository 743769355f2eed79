// Shape flags shared by estimate, plan and sweep, and the --hardware / --time-model resolution.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include <chronoscale/layout_search.h>
#include <chronoscale/plan_request.h>
#include <chronoscale/shape.h>
#include <chronoscale/step_time.h>

namespace chronoscale::cli {

// Everything but width and depth, which estimate takes as --d-model/--layers and plan as ranges.
struct ShapeFlags {
  int64_t heads = 0;      // 0: from --head-size or the reference rule
  int64_t head_size = 0;  // 0: reference rule (128 from d_model 2048 where it divides, else 64)
  int64_t kv_heads = 0;
  int64_t d_ff = 0;  // 0: mlp_ratio * d_model
  double mlp_ratio = 4;
  int64_t seq = 1024;
  int64_t batch = 8;
  int64_t vocab = 32768;
  std::string attention = "flash";
  int64_t features = 256;
  std::string mlp = "gelu";
  std::string norm = "layernorm";
  std::string positions = "learned";
  std::string precision = "bf16";
  std::string optimizer = "adamw";
  bool tied = false;
  bool no_bias = false;
  std::string checkpointing = "none";  // none, selective, full (the bare flag: full)
  bool non_causal = false;
  int64_t head_dim = 0;  // explicit head size independent of d_model / heads (estimate)
  std::string block = "sequential";
  int64_t sliding_window = 0;
  int64_t experts = 0;  // mixture of experts: experts per MoE layer (0: dense)
  int64_t experts_per_token = 0;
  int64_t shared_ff = 0;
};

// The cluster: devices, GPUs per node, layout pins and the memory reserve (estimate, plan, sweep).
struct ClusterFlags {
  int64_t devices = 1;
  int64_t gpus_per_node = 0;       // 0: the hardware profile's
  std::string layout;              // pins, e.g. "tp=8,pp=4,zero=1,micro=2"
  double memory_reserve_gib = -1;  // < 0: the default (1 GiB + 5% of the device)
};
void AddClusterFlags(CLI::App* sub, ClusterFlags* flags);
// The cluster the flags ask for (core validates it: ResolveCluster); --checkpointing given pins it.
ClusterRequest ToClusterRequest(const ClusterFlags& flags, const ShapeFlags& shape,
                                const CLI::App* sub);
// The layout search of the flags on the model's hardware; --checkpointing given pins it.
LayoutSearchOptions MakeSearch(const ClusterFlags& flags, const ShapeFlags& shape,
                               const CLI::App* sub, const TimeModel& model,
                               EstimatorKind estimator);
// The global batch: --batch when given, else DefaultGlobalBatch for the devices.
int64_t GlobalBatch(const ShapeFlags& shape, const ClusterFlags& cluster, const CLI::App* sub);

// Adds the shared flags. `with_heads` adds --heads and --d-ff (estimate); plan uses
// --head-size and --mlp-ratio only.
void AddShapeFlags(CLI::App* sub, ShapeFlags* flags, bool with_heads);

// Builds and validates a shape of width d and depth n from the flags. InputError naming the flag
// for bad values (heads not dividing d_model, unknown attention kind...).
ModelShape MakeShape(const ShapeFlags& flags, int64_t d_model, int64_t n_layers);

// Validates a shape built from flags; the InputError names the flag that sets the bad field.
void ValidateFromFlags(const ModelShape& shape);

// Applies the non-size flags (attention, precision, variants) to an existing shape (--hf-config).
void ApplyVariantFlags(const ShapeFlags& flags, const CLI::App* sub, ModelShape* shape);

// Resolves the time model: --time-model FILE (its hardware unless --hardware is given, to which
// its fitted multipliers are retargeted) or the default model of --hardware (default h100-sxm).
TimeModel ResolveTimeModel(const std::string& hardware_flag, const std::string& time_model_path,
                           double mfu = 0.4);

}  // namespace chronoscale::cli
