// Planner (SCIENCE.md section 3): for a wall-clock budget, sweep width x depth, predict each
// shape's step time, the tokens it sees in the budget, whether it fits in memory, and its loss;
// report the best shapes, the whole surface, and the FLOP-based answer beside them.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chronoscale/layout_search.h"
#include "chronoscale/loss_law.h"
#include "chronoscale/shape.h"
#include "chronoscale/step_time.h"

namespace chronoscale {

struct Range {
  int64_t min = 0, max = 0, step = 1;
  // Iterate on counts (i in [0, Count())), never on values: max + step may overflow.
  int64_t Count() const { return max < min || step <= 0 ? 0 : (max - min) / step + 1; }
  int64_t At(int64_t i) const { return min + i * step; }  // i < Count(): at most max
};
// Parses "A:B[:STEP]" for `flag` (messages name it); step defaults to `default_step`.
Range ParseRange(const std::string& text, const std::string& flag, int64_t default_step);

inline constexpr int kMaxTop = 100000;  // --top: the ranked list is kept in memory
// The most width x depth candidates one plan or sweep walks (50 million, about 10 s per core);
// CHRONOSCALE_MAX_GRID_SHAPES moves it.
inline constexpr int64_t kDefaultMaxGridShapes = 50'000'000;

struct PlanOptions {
  double hours = 0;  // wall-clock budget
  int devices = 1;   // GPUs in the job; every shape gets the fastest layout that fits on them
  int64_t gpus_per_node = 0;  // 0: the hardware profile's (an error if it has none and devices > 1)
  LayoutPins pins;            // parts of the layout the user fixed
  // Bytes per device kept free for the CUDA context, NCCL buffers and fragmentation; < 0: the
  // default (DefaultMemoryReserve: 1 GiB + 5% of the capacity).
  double memory_reserve_bytes = -1;
  double goodput = 1;  // fraction of wall clock spent in training steps
  // Utilisation of the FLOP-based answer. Unless mfu_override, the planner replaces it by the MFU
  // its own step-time model predicts for the Chinchilla-shaped answer (a fixed point: the MFU of
  // the shape built for the compute that MFU delivers), so the baseline is as fast as the model
  // says such a shape runs, not a free constant.
  double mfu = 0.4;
  bool mfu_override = false;
  // Unique tokens available (0: unlimited). A candidate that sees more repeats data, and its loss
  // uses the effective data of Muennighoff et al. 2023 (eq. 5): D' = U + U R* (1 - e^(-R/R*))
  // with R = D/U - 1 repetitions and R* = 15.4.
  double unique_tokens = 0;
  Range width{256, 16384, 64};
  Range depth{1, 128, 1};
  // Everything but d_model, n_layers, n_heads and d_ff comes from `base` (seq, global batch in
  // sequences per optimizer step, vocab, attention, variants). DefaultGlobalBatch gives the
  // batch to use when the user names none.
  ModelShape base;
  int64_t head_size = 0;  // 0: the reference rule (128 from 2048 where it divides, else 64)
  double mlp_ratio = 4;   // d_ff = round(mlp_ratio * d_model)
  EstimatorKind estimator = EstimatorKind::kRoofline;
  // Shapes whose d_model / n_layers lies outside [min_aspect, max_aspect] are left out: the loss
  // law knows N and D, not shape, and is trusted only where shape barely matters (Kaplan et al.
  // 2020, fig. 5: within a few percent for aspect ratios of roughly 10 to 200+). Without this
  // bound the law's count of embedding parameters makes one-layer giants look best.
  double min_aspect = 8;
  double max_aspect = 256;
  // The FLOP-based answer builds N_opt at d_model / n_layers near this (Chinchilla family ~100).
  double conventional_aspect = 100;
  int top = 10;
  // Threads over the grid (0: one per hardware thread); the result is the same for any count.
  int threads = 0;

  // Throws InputError naming the option.
  void Validate() const;
};

struct Candidate {
  ModelShape shape;       // batch: the global batch; checkpointing: the chosen one
  ParallelLayout layout;  // the fastest legal layout that fits (or the least memory if none)
  double params = 0;      // N as the law counts it
  double total_params = 0;
  double step_s = 0;            // one optimizer step, communication included
  double tokens = 0;            // tokens seen in the budget
  double effective_tokens = 0;  // what the law is given: tokens, or D' when data repeats
  double epochs = 0;            // tokens / unique tokens (0 when unlimited)
  double loss = 0;
  double memory_bytes = 0;  // per device
  bool fits = false;
  std::string why_not;  // empty when it fits
  // Uncertainty (PlanResult::draws > 0): the 95% interval of the loss over the law's bootstrap
  // draws and the time model's cross-validated step-time error, and how often this shape is the
  // best of the ranked list.
  double loss_lo = std::numeric_limits<double>::quiet_NaN();
  double loss_hi = std::numeric_limits<double>::quiet_NaN();
  double p_best = 0;
};

struct PlanResult {
  PlanOptions options;
  std::string hardware;
  double memory_capacity_bytes = 0;  // per device; 0: unknown (everything fits)
  std::string law;
  nlohmann::json law_coefficients;  // the law itself (its draws counted, not listed)
  nlohmann::json time_model;        // which time model priced the steps: hardware, estimator, fit
  double budget_s = 0;              // seconds of training steps (hours * 3600 * goodput)
  double usable_bytes = 0;          // per device: capacity - reserve
  int64_t gpus_per_node = 1;
  std::vector<std::string> warnings;  // capped by memory or by a search bound
  std::vector<Candidate> top;         // best first, fitting shapes only
  Candidate best;
  bool found = false;                // false when no shape fits
  Candidate flop_based;              // the conventional answer priced by the same model
  ComputeOptimal flop_alloc;         // Chinchilla's N_opt, D_opt for the delivered compute
  double flop_mfu = 0;               // the MFU behind flop_alloc
  bool flop_mfu_from_model = false;  // derived from the time model (false: options.mfu)
  double loss_saved = 0;             // flop_based.loss - best.loss
  // Uncertainty: draws paired over the law's bootstrap draws (law_draws) and a log-normal
  // step-time error of time_sigma per shape; 0 draws when there is neither.
  int draws = 0;
  bool law_draws = false;
  double time_sigma = 0;
  double loss_saved_lo = std::numeric_limits<double>::quiet_NaN();
  double loss_saved_hi = std::numeric_limits<double>::quiet_NaN();
  int64_t candidates = 0, fitting = 0;
  // A shape-blind law whose best shape sits on an --aspect bound: the bound, the bound twice as
  // far out, and the best shape there (how much of the answer rests on the bound).
  bool on_aspect_bound = false;
  double aspect_bound = 0, relaxed_aspect_bound = 0;
  Candidate at_relaxed_bound;
  // The surface, row-major [depth index][width index]; loss is NaN where a shape does not fit.
  std::vector<int64_t> widths, depths;
  std::vector<double> loss, step_s, params;
  std::vector<double> memory_bytes;  // per device, of the layout chosen (0: no legal layout)
  std::vector<unsigned char> fits;
};

// Calls `visit` for every candidate of the grid (widths outer, depths inner).
void SweepCandidates(const PlanOptions& options, const TimeModel& model, const LossLaw& law,
                     const std::function<void(const Candidate&)>& visit);
// The full plan. InputError on bad options.
PlanResult Plan(const PlanOptions& options, const TimeModel& model, const LossLaw& law,
                const std::string& law_name = "");
// The plan document (ARCHITECTURE.md): {"best": {shape fields, params, step_ms, tokens, loss,
// memory_gb, ...}, "top": [...], "flop_based": {...}, "loss_saved", "budget", ...}; the CLI's
// plan --format json and the desktop app's plan export.
nlohmann::json CandidateToJson(const Candidate& candidate);
nlohmann::json LayoutToJson(const ParallelLayout& layout);
nlohmann::json PlanToJson(const PlanResult& result);

// The spread (sigma of log step time) of a fitted estimator's cross-validated error, from the
// fit report the time model carries: median |relative error| / 0.6745 (a normal's median absolute
// deviation); 0 when the estimator was not fitted or the report has no cross-validation.
double TimeSpread(const TimeModel& model, EstimatorKind estimator);

// Muennighoff et al. 2023's effective data for `tokens` seen of `unique` unique tokens (<= 0:
// unlimited, returns tokens).
double EffectiveTokens(double tokens, double unique);

// The grid's shape at width d and depth n: the base shape with the heads of the head-size rule and
// d_ff = mlp_ratio x d; `why_not` gets the reason it is left out of the grid (heads, kv heads,
// aspect), empty when it is in.
ModelShape GridShape(const PlanOptions& options, int64_t d, int64_t n, std::string* why_not);

// Prices one shape (its width, depth and heads as given) under the plan's budget.
Candidate Evaluate(const PlanOptions& options, const TimeModel& model, const LossLaw& law,
                   const ModelShape& shape);

}  // namespace chronoscale
