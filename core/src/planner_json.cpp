// The plan document (PlanToJson) and its parts: what plan --format json and the desktop app's
// plan export write.
#include <fmt/format.h>

#include <cmath>

#include "chronoscale/planner.h"
#include "chronoscale/workload.h"

namespace chronoscale {

nlohmann::json LayoutToJson(const ParallelLayout& l) {
  return {{"devices", l.devices},
          {"gpus_per_node", l.gpus_per_node},
          {"dp", l.Dp()},
          {"tp", l.tp},
          {"pp", l.pp},
          {"ep", l.ep},
          {"sharding", ToString(l.sharding)},
          {"micro_batch", l.micro_batch},
          {"grad_accum", l.grad_accum}};
}

nlohmann::json CandidateToJson(const Candidate& c) {
  const ModelShape& s = c.shape;
  nlohmann::json j = ShapeToJson(s);
  j.update(nlohmann::json{
      {"layout", LayoutToJson(c.layout)},
      {"params", c.total_params},
      {"step_ms", c.step_s * 1e3},
      {"tokens", c.tokens},
      {"memory_gb", c.memory_bytes / kGiB},
      {"fits", c.fits},
      {"aspect_ratio", static_cast<double>(s.d_model) / static_cast<double>(s.n_layers)}});
  if (s.Moe()) j["active_params"] = s.ActiveParams();
  if (std::isfinite(c.loss)) j["loss"] = c.loss;
  if (std::isfinite(c.loss_lo)) {
    j["loss_interval"] = {c.loss_lo, c.loss_hi};
    j["p_best"] = c.p_best;
  }
  if (c.epochs > 0) {
    j["epochs"] = c.epochs;
    j["effective_tokens"] = c.effective_tokens;
  }
  if (c.params != c.total_params) j["law_params"] = c.params;
  if (!c.why_not.empty()) j["why_not"] = c.why_not;
  return j;
}

nlohmann::json PlanToJson(const PlanResult& r) {
  nlohmann::json doc;
  doc["hardware"] = r.hardware;
  doc["law"] = r.law;
  doc["law_coefficients"] = r.law_coefficients;
  doc["time_model"] = r.time_model;
  doc["estimator"] = ToString(r.options.estimator);
  doc["budget"] = {{"hours", r.options.hours},
                   {"devices", r.options.devices},
                   {"goodput", r.options.goodput},
                   {"step_seconds", r.budget_s}};
  doc["candidates"] = r.candidates;
  doc["fitting"] = r.fitting;
  doc["best"] = CandidateToJson(r.best);
  nlohmann::json top = nlohmann::json::array();
  for (const auto& c : r.top) top.push_back(CandidateToJson(c));
  doc["top"] = top;
  doc["flop_based"] = CandidateToJson(r.flop_based);
  doc["flop_based"]["compute_flops"] = r.flop_alloc.flops;
  doc["flop_based"]["n_opt"] = r.flop_alloc.params;
  doc["flop_based"]["d_opt"] = r.flop_alloc.tokens;
  doc["flop_based"]["mfu"] = r.flop_mfu;
  doc["flop_based"]["mfu_source"] = r.flop_mfu_from_model ? "time model" : "--mfu";
  if (r.options.unique_tokens > 0) doc["budget"]["unique_tokens"] = r.options.unique_tokens;
  doc["flop_based"]["aspect_rule"] =
      fmt::format("d_model / n_layers near {:g}", r.options.conventional_aspect);
  doc["loss_saved"] = r.loss_saved;
  if (std::isfinite(r.loss_saved_lo))
    doc["loss_saved_interval"] = {r.loss_saved_lo, r.loss_saved_hi};
  if (r.draws > 0) {
    nlohmann::json same = nlohmann::json::array();
    for (std::size_t i = 0; i < r.top.size(); ++i) {
      const Candidate& t = r.top[i];
      if (t.p_best <= 0) continue;
      same.push_back({{"rank", i + 1},
                      {"d_model", t.shape.d_model},
                      {"n_layers", t.shape.n_layers},
                      {"loss", t.loss},
                      {"loss_interval", {t.loss_lo, t.loss_hi}},
                      {"p_best", t.p_best}});
    }
    doc["indistinguishable"] = same;
    doc["uncertainty"] = {{"draws", r.draws},
                          {"law_bootstrap_draws", r.law_draws},
                          {"step_time_sigma", r.time_sigma},
                          {"among", "the top list (--top)"}};
  }
  doc["budget"]["gpus_per_node"] = r.gpus_per_node;
  doc["budget"]["usable_memory_gb"] = r.usable_bytes / kGiB;
  doc["budget"]["global_batch"] = r.options.base.batch;
  if (!r.options.pins.Empty()) doc["budget"]["layout_pins"] = Describe(r.options.pins);
  if (r.on_aspect_bound) {
    doc["aspect_bound"] = {{"shape_blind_law", true},
                           {"bound", r.aspect_bound},
                           {"relaxed_bound", r.relaxed_aspect_bound}};
    if (r.at_relaxed_bound.fits) {
      doc["aspect_bound"]["best_at_relaxed_bound"] = CandidateToJson(r.at_relaxed_bound);
      doc["aspect_bound"]["loss_lower_by"] = r.best.loss - r.at_relaxed_bound.loss;
    }
  }
  doc["warnings"] = r.warnings;
  return doc;
}

}  // namespace chronoscale
