// The layout search: for one shape and a device count, the fastest legal parallel layout that
// fits in memory (SCIENCE.md, cluster step time). The planner runs it for every shape; estimate
// for one.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "chronoscale/layout.h"
#include "chronoscale/step_polynomial.h"
#include "chronoscale/step_time.h"

namespace chronoscale {

struct LayoutSearchOptions {
  int64_t devices = 1;
  int64_t gpus_per_node = 1;  // resolved (the profile's or the user's)
  LayoutPins pins;            // parts the user fixed
  // Bytes per device the job may use (capacity - reserve); <= 0: unknown, everything fits.
  double usable_bytes = 0;
  EstimatorKind estimator = EstimatorKind::kRoofline;
  // The closed-form totals of the shapes' family (the planner's grid), used for the one-device,
  // whole-batch layout instead of walking the op list; null: always walk.
  std::shared_ptr<const StepPolynomial> closed_form;
  // Skip what cannot change the answer once some layout fits: layouts whose step without its
  // optimizer and communication (a lower bound) is no faster than the best so far, and
  // micro-batches that do not fit even under ZeRO-3 (the least memory of every sharding). False
  // prices and sizes every layout the search visits; the answer is the same (test_cluster).
  bool prune = true;
};

struct LayoutChoice {
  bool legal = false;  // some layout satisfies every divisibility rule
  bool fits = false;   // and fits in memory
  ModelShape shape;    // the input with the chosen checkpointing
  ParallelLayout layout;
  StepCounts counts;
  double step_s = 0;
  MemoryEstimate memory;
  std::string why_not;  // empty when it fits
  int evaluated = 0;    // layouts priced
};

// The fastest fitting layout. Tried: tp in powers of two inside a node dividing heads, kv heads
// and d_ff; pp dividing the layers; every sharding (hybrid where data parallelism spans nodes);
// micro-batches dividing the replica's batch (largest first: without a pipeline a smaller one is
// only slower, so the search stops at the first that fits); checkpointing none, then selective
// (where it saves memory), then full, each only when the lighter one fits nowhere. When nothing
// fits, the legal layout with the least memory, with why_not saying so. `closed_step_s`, where
// the caller has it, is the closed form's step time of `shape` as given (the planner prices a
// grid's column at once with StepPolynomial::PredictMany): the one-device, whole-batch layout
// takes it instead of pricing the shape again. NaN: priced here.
LayoutChoice ChooseLayout(const ModelShape& shape, const LayoutSearchOptions& options,
                          const TimeModel& model,
                          double closed_step_s = std::numeric_limits<double>::quiet_NaN());

// The search options for a job: `gpus_per_node` 0 takes the profile's (an InputError when it has
// none and devices > 1); devices beyond one node must be whole nodes; `reserve_bytes` < 0 takes
// DefaultMemoryReserve, and a reserve that leaves nothing of the device is an InputError.
LayoutSearchOptions MakeLayoutSearch(const HardwareProfile& hw, int64_t devices,
                                     int64_t gpus_per_node, const LayoutPins& pins,
                                     double reserve_bytes, EstimatorKind estimator);

// Default reserve per device for the CUDA context, NCCL buffers and allocator fragmentation:
// 1 GiB + 5% of the capacity, at most half of it (see README: memory reserve).
double DefaultMemoryReserve(double capacity_bytes);

}  // namespace chronoscale
