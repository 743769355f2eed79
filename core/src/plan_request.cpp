#include "chronoscale/plan_request.h"

#include <fmt/format.h>

#include <cmath>

#include "chronoscale/error.h"
#include "chronoscale/layout.h"
#include "chronoscale/shape.h"
#include "chronoscale/types.h"

namespace chronoscale {
namespace {

// The reserve asked for in bytes; -1: the default (DefaultMemoryReserve).
double ReserveBytes(const ClusterRequest& c) {
  const double gib = c.memory_reserve_gib.value_or(-1);
  return gib >= 0 ? gib * kGiB : -1;
}

}  // namespace

EstimatorChoice ResolveEstimator(const std::string& requested, const TimeModel& model, bool fitted,
                                 EstimatorFallback fallback) {
  EstimatorChoice choice;
  if (requested.empty()) {
    choice.kind = fitted ? model.best : EstimatorKind::kRoofline;
  } else if (!Parse(requested, &choice.kind)) {
    throw InputError(
        "estimator",
        fmt::format(" '{}': expected flops, memcopy, roofline or calibrated", requested));
  }
  if (model.Has(choice.kind)) return choice;
  if (fallback == EstimatorFallback::kRefuse) {
    // The explanation (how to fit a time model) is the step-time model's own.
    PredictStepSeconds(model, ReferenceShape(1024, 1), choice.kind);
  }
  choice.note = fmt::format("The {} estimator needs a fit to measured runs; using roofline.",
                            ToString(choice.kind));
  choice.kind = EstimatorKind::kRoofline;
  return choice;
}

LayoutSearchOptions ResolveCluster(const ClusterRequest& c, const HardwareProfile& hardware,
                                   EstimatorKind estimator) {
  if (c.devices < 1 || c.devices > 1000000)
    throw InputError("devices", fmt::format(" {}: expected a positive count", c.devices));
  const int64_t per_node = c.gpus_per_node.value_or(0);
  if ((c.gpus_per_node && per_node < 1) || per_node > 1048576)
    throw InputError("gpus-per-node", fmt::format(" {}: expected a positive count", per_node));
  const double reserve_gib = c.memory_reserve_gib.value_or(-1);
  if (c.memory_reserve_gib && !(reserve_gib >= 0 && reserve_gib <= 1e6))
    throw InputError("memory-reserve", fmt::format(" {}: expected GiB >= 0", reserve_gib));
  LayoutPins pins;
  if (!c.layout.empty()) pins = ParseLayoutPins(c.layout, "--layout");
  if (c.checkpointing) {
    // A checkpointing the user named is the one to use; without one the search may add
    // checkpointing where nothing else fits.
    if (pins.has_checkpointing && pins.checkpointing != *c.checkpointing)
      throw InputError("checkpointing", " and --layout ckpt= disagree; give one");
    pins.has_checkpointing = true;
    pins.checkpointing = *c.checkpointing;
  }
  return MakeLayoutSearch(hardware, c.devices, per_node, pins, ReserveBytes(c), estimator);
}

ResolvedPlan ResolvePlan(const PlanRequest& request, const TimeModel& model) {
  ResolvedPlan r;
  PlanOptions& o = r.options;
  o = request.plan;
  o.base.batch =
      request.batch ? *request.batch : DefaultGlobalBatch(request.cluster.devices, o.base.seq_len);
  const EstimatorChoice e =
      ResolveEstimator(request.estimator, model, request.time_model_fitted, request.fallback);
  o.estimator = e.kind;
  r.note = e.note;
  const LayoutSearchOptions search = ResolveCluster(request.cluster, model.hardware, o.estimator);
  o.devices = static_cast<int>(request.cluster.devices);
  o.gpus_per_node = search.gpus_per_node;
  o.pins = search.pins;
  o.memory_reserve_bytes = ReserveBytes(request.cluster);
  return r;
}

}  // namespace chronoscale
