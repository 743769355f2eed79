// The planner's grid walk: every width x depth cell priced (widths over threads, merged in grid
// order so the answer is the same for any thread count), the best `top` kept, and the cells
// beyond an aspect bound for the relaxed answer.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "chronoscale/error.h"
#include "chronoscale/parallel_for.h"
#include "planner_internal.h"

namespace chronoscale::internal {
namespace {

// One width of the grid (a block of the parallel walk): its cells priced, its counts and its best
// `top` kept apart, to be merged in grid order.
struct GridBlock {
  int64_t legal = 0, buildable = 0, under_one_step = 0, candidates = 0, fitting = 0;
  std::string first_illegal, first_unbuildable;
  double fastest_step_s = std::numeric_limits<double>::infinity();
  std::vector<Candidate> heap;  // the block's best `top`, a bounded max-heap by loss
};

// Keeps `cand` among the best `top` of `heap`.
void Keep(std::vector<Candidate>* heap, const Candidate& cand, int top) {
  if (static_cast<int>(heap->size()) < top) {
    heap->push_back(cand);
    std::push_heap(heap->begin(), heap->end(), Worse);
  } else if (Worse(cand, heap->front())) {
    std::pop_heap(heap->begin(), heap->end(), Worse);
    heap->back() = cand;
    std::push_heap(heap->begin(), heap->end(), Worse);
  }
}

void PriceWidth(const Context& c, std::size_t i, PlanResult* plan, GridBlock* block) {
  const PlanOptions& o = c.o;
  PlanResult& r = *plan;
  GridBlock& k = *block;
  const std::size_t nw = r.widths.size(), nd = r.depths.size();
  // The column's buildable shapes, then their closed-form step times in one batch.
  std::vector<ModelShape> shapes;
  std::vector<std::size_t> rows;
  for (std::size_t j = 0; j < nd; ++j) {
    Excluded why = Excluded::kNone;
    ModelShape s = GridCell(o, r.widths[i], r.depths[j], &why);
    ++k.candidates;
    if (why != Excluded::kNone) {
      if (k.first_unbuildable.empty()) {
        k.first_unbuildable = fmt::format("d_model {} x {} layers: {}", s.d_model, s.n_layers,
                                          ExcludedText(o, s, why));
      }
      continue;
    }
    ++k.buildable;
    shapes.push_back(std::move(s));
    rows.push_back(j);
  }
  std::vector<double> steps;
  ClosedSteps(c, shapes, &steps);
  for (std::size_t n = 0; n < shapes.size(); ++n) {
    const ModelShape& s = shapes[n];
    const Candidate cand = Price(c, s, steps[n]);
    const std::size_t cell = rows[n] * nw + i;
    r.step_s[cell] = cand.step_s;
    r.params[cell] = cand.total_params;
    r.memory_bytes[cell] = cand.memory_bytes;
    if (std::isfinite(cand.step_s)) {
      ++k.legal;
    } else if (k.first_illegal.empty()) {
      k.first_illegal = cand.why_not;
    }
    if (!cand.fits) continue;
    if (cand.tokens < s.TokensPerStep()) {
      // Less than one optimizer step: no loss the law could stand behind.
      ++k.under_one_step;
      k.fastest_step_s = std::min(k.fastest_step_s, cand.step_s);
      continue;
    }
    r.loss[cell] = cand.loss;
    r.fits[cell] = 1;
    ++k.fitting;
    Keep(&k.heap, cand, o.top);
  }
}

}  // namespace

// The plan's header: inputs, law, time model, budget and the empty grid.
PlanResult StartPlan(const Context& c, const std::string& law_name) {
  const PlanOptions& o = c.o;
  const TimeModel& model = c.model;
  const LossLaw& law = c.law;
  PlanResult r;
  r.options = o;
  r.hardware = model.hardware.name;
  r.memory_capacity_bytes = model.hardware.memory_bytes;
  r.law = law_name;
  r.law_coefficients = LossLawToJson(law);
  if (!law.draws.empty()) r.law_coefficients["bootstrap_draws"] = law.draws.size();
  {
    const std::size_t e = static_cast<std::size_t>(o.estimator);
    r.time_model = {{"hardware", model.hardware.name},
                    {"device", model.hardware.device},
                    {"estimator", ToString(o.estimator)},
                    {"fitted", model.fitted[e]}};
    if (model.fitted[e] && model.fitted_on.Known()) {
      r.time_model["fitted_on"] = {{"runs", model.fitted_on.runs},
                                   {"hardware", model.fitted_on.hardware}};
    }
    const double sigma = TimeSpread(model, o.estimator);
    if (sigma > 0) r.time_model["cv_step_time_sigma"] = sigma;
  }
  r.budget_s = c.budget_s;
  r.usable_bytes = c.search.usable_bytes;
  r.gpus_per_node = c.search.gpus_per_node;
  if (o.base.Moe()) {
    r.warnings.push_back(fmt::format(
        "mixture of experts ({} experts, top {}): the loss law is given the active parameters "
        "(what a token passes through), not the total; a law fitted on dense runs does not know "
        "what the extra experts buy",
        o.base.experts, o.base.experts_per_token));
  }
  for (int64_t i = 0; i < o.width.Count(); ++i) r.widths.push_back(o.width.At(i));
  for (int64_t j = 0; j < o.depth.Count(); ++j) r.depths.push_back(o.depth.At(j));
  const std::size_t nw = r.widths.size(), nd = r.depths.size();
  r.loss.assign(nw * nd, std::numeric_limits<double>::quiet_NaN());
  r.step_s.assign(nw * nd, std::numeric_limits<double>::quiet_NaN());
  r.params.assign(nw * nd, 0);
  r.fits.assign(nw * nd, 0);
  r.memory_bytes.assign(nw * nd, 0);
  return r;
}

// Loss, then grid order: ties go to the earlier cell, whatever the blocks.
bool Worse(const Candidate& a, const Candidate& b) {
  if (a.loss != b.loss) return a.loss < b.loss;
  return std::make_pair(a.shape.d_model, a.shape.n_layers) <
         std::make_pair(b.shape.d_model, b.shape.n_layers);
}

// The best shape that fits and trains for at least one step among the cells of `wide`'s grid
// whose aspect ratio lies outside `o`'s range (o and wide differ only in that range), widths over
// threads; none when no such cell fits.
std::optional<Candidate> BestBeyondAspect(const PlanOptions& o, const PlanOptions& wide,
                                          const TimeModel& model, const LossLaw& law) {
  const Context c = MakeContext(wide, model, law);
  const int64_t nw = wide.width.Count(), nd = wide.depth.Count();
  std::vector<std::optional<Candidate>> best(static_cast<std::size_t>(nw));
  ParallelBlocks(nw, ThreadCount(wide.threads), [&](int64_t i) {
    const int64_t d = wide.width.At(i);
    std::vector<ModelShape> shapes;
    for (int64_t j = 0; j < nd; ++j) {
      const int64_t n = wide.depth.At(j);
      const double aspect = static_cast<double>(d) / static_cast<double>(n);
      if (aspect >= o.min_aspect && aspect <= o.max_aspect) continue;  // priced by the plan
      Excluded why = Excluded::kNone;
      ModelShape s = GridCell(wide, d, n, &why);
      if (why == Excluded::kNone) shapes.push_back(std::move(s));
    }
    std::vector<double> steps;
    ClosedSteps(c, shapes, &steps);
    std::optional<Candidate>& mine = best[static_cast<std::size_t>(i)];
    for (std::size_t k = 0; k < shapes.size(); ++k) {
      const Candidate cand = Price(c, shapes[k], steps[k]);
      if (!cand.fits || cand.tokens < shapes[k].TokensPerStep()) continue;
      if (!mine || Worse(cand, *mine)) mine = cand;
    }
  });
  std::optional<Candidate> out;
  for (const auto& b : best) {
    if (b && (!out || Worse(*b, *out))) out = b;
  }
  return out;
}

// Prices every cell of the grid (widths over threads) and ranks the shapes that fit; InputError
// when nothing can be built, trained for one step, or laid out.
void RankGrid(const Context& c, PlanResult* plan) {
  const PlanOptions& o = c.o;
  PlanResult& r = *plan;
  std::vector<GridBlock> blocks(r.widths.size());
  ParallelBlocks(static_cast<int64_t>(blocks.size()), ThreadCount(o.threads), [&](int64_t i) {
    PriceWidth(c, static_cast<std::size_t>(i), &r, &blocks[static_cast<std::size_t>(i)]);
  });
  int64_t legal = 0, buildable = 0, under_one_step = 0;
  std::string first_illegal, first_unbuildable;
  double fastest_step_s = std::numeric_limits<double>::infinity();
  std::vector<Candidate> heap;
  for (const GridBlock& k : blocks) {
    legal += k.legal;
    buildable += k.buildable;
    under_one_step += k.under_one_step;
    r.candidates += k.candidates;
    r.fitting += k.fitting;
    if (first_illegal.empty()) first_illegal = k.first_illegal;
    if (first_unbuildable.empty()) first_unbuildable = k.first_unbuildable;
    fastest_step_s = std::min(fastest_step_s, k.fastest_step_s);
    for (const Candidate& cand : k.heap) Keep(&heap, cand, o.top);
  }
  std::sort_heap(heap.begin(), heap.end(), Worse);
  if (buildable == 0 && !first_unbuildable.empty()) {
    // Nothing to price: the shape flags rule out every width and depth (kv heads, head size).
    throw InputError("no shape of the grid can be built; the first, " + first_unbuildable);
  }
  if (heap.empty() && under_one_step > 0) {
    throw InputError(
        "hours",
        fmt::format(
            ": a budget of {:.3g} s allows less than one optimizer step for every shape that "
            "fits (the fastest step takes {:.3g} s); raise --hours",
            c.budget_s, fastest_step_s));
  }
  if (heap.empty() && legal == 0 && !first_illegal.empty()) {
    // Not a memory limit: the devices, batch and pinned layout admit no layout at all.
    throw InputError(fmt::format(
        "no shape of the grid has a legal layout on {} device(s) with global batch {}{}: {}",
        o.devices, o.base.batch,
        o.pins.Empty() ? "" : fmt::format(" and layout pins {}", Describe(o.pins)), first_illegal));
  }
  r.top = heap;
  r.found = !r.top.empty();
  if (r.found) r.best = r.top.front();
}

}  // namespace chronoscale::internal
