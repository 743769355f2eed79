// A plan as a front end asks for it, and the one step that resolves it into the planner's
// options: the estimator (with what happens when the time model cannot price it), the cluster
// (devices, GPUs per node, pinned layout, memory reserve) and the defaults (the global batch).
// The CLI's plan and sweep and the desktop app's window each fill a PlanRequest from their own
// inputs and call ResolvePlan; estimate resolves its estimator and cluster with the same two
// functions. Errors are InputErrors with a field ("estimator", "devices", "layout"...) that each
// front end names in its own words (ARCHITECTURE.md, "Errors").
//
// Loading the hardware, the loss law and the time model stays with each front end: the command
// line reads them from names and files, the window holds fits it made itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "chronoscale/layout_search.h"
#include "chronoscale/planner.h"
#include "chronoscale/step_time.h"

namespace chronoscale {

// What becomes of an estimator the time model cannot price (calibrated, with no fit).
enum class EstimatorFallback {
  kRefuse,    // an InputError saying how to fit one (the command line)
  kRoofline,  // the roofline estimator, and a note saying so (the desktop app)
};

struct EstimatorChoice {
  EstimatorKind kind = EstimatorKind::kRoofline;
  std::string note;  // why the request fell back; empty when it did not
};

// The estimator of a request. `requested` as the user named it: "" takes the time model's best
// when it is fitted to measured runs (`fitted`), else roofline. An unknown name is an
// InputError with field "estimator".
EstimatorChoice ResolveEstimator(const std::string& requested, const TimeModel& model, bool fitted,
                                 EstimatorFallback fallback);

// The cluster as asked.
struct ClusterRequest {
  int64_t devices = 1;
  std::optional<int64_t> gpus_per_node;        // none: the hardware profile's
  std::string layout;                          // pinned parts, "tp=8,pp=4,zero=1,micro=2"
  std::optional<double> memory_reserve_gib;    // none: 1 GiB + 5% of the device
  std::optional<Checkpointing> checkpointing;  // named by the user: pinned
};

// Validates the cluster (InputError with field "devices", "gpus-per-node", "memory-reserve",
// "layout" or "checkpointing") and builds the layout search on `hardware` for `estimator`.
LayoutSearchOptions ResolveCluster(const ClusterRequest& cluster, const HardwareProfile& hardware,
                                   EstimatorKind estimator);

struct PlanRequest {
  // Budget, search space and the base shape (seq, vocab, attention, variants) as read. Its
  // devices, gpus_per_node, pins, memory reserve, batch and estimator are the resolve step's.
  PlanOptions plan;
  ClusterRequest cluster;
  std::optional<int64_t> batch;  // global, in sequences; none: DefaultGlobalBatch
  std::string estimator;         // as named ("": see ResolveEstimator)
  bool time_model_fitted = false;
  EstimatorFallback fallback = EstimatorFallback::kRefuse;
};

struct ResolvedPlan {
  PlanOptions options;  // ready for Plan (which validates the rest and names the field)
  std::string note;     // the estimator's fallback, if any
};

ResolvedPlan ResolvePlan(const PlanRequest& request, const TimeModel& model);

}  // namespace chronoscale
