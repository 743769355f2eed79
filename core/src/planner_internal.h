// The planner's pieces shared by its sources: planner.cpp (options, the answers, sweeps) and
// planner_grid.cpp (the grid walk). Not installed.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "chronoscale/planner.h"

namespace chronoscale::internal {

// One plan's inputs, resolved: the options, the models, the budget in step seconds and the
// layout search for the job.
struct Context {
  const PlanOptions& o;
  const TimeModel& model;
  const LossLaw& law;
  double budget_s;
  LayoutSearchOptions search;
};
// Validates the options and the law, resolves the layout search and the closed form.
Context MakeContext(const PlanOptions& o, const TimeModel& model, const LossLaw& law);

double Aspect(const ModelShape& s);  // d_model / n_layers
// Prices one shape: its fastest layout that fits, step time, tokens and loss. `closed_step_s`:
// the closed form's step time where the caller priced it in a batch (ClosedSteps), NaN otherwise.
Candidate Price(const Context& c, const ModelShape& s,
                double closed_step_s = std::numeric_limits<double>::quiet_NaN());
// The closed form's step times of `shapes` in one batch, where the plan has a closed form; NaN
// each where it has none.
void ClosedSteps(const Context& c, const std::vector<ModelShape>& shapes, std::vector<double>* out);

// A grid cell the plan leaves out, and why (GridCell: no text, so that the many cells left out
// for their aspect cost no formatting; ExcludedText formats one).
enum class Excluded { kNone, kHeads, kAspect, kKvHeads };
ModelShape GridCell(const PlanOptions& o, int64_t d, int64_t n, Excluded* why);
std::string ExcludedText(const PlanOptions& o, const ModelShape& s, Excluded why);

// Loss, then grid order: ties go to the earlier cell, whatever the blocks.
bool Worse(const Candidate& a, const Candidate& b);
// The plan's header: inputs, law, time model, budget and the empty grid.
PlanResult StartPlan(const Context& c, const std::string& law_name);
// Prices every cell of the grid (widths over threads) and ranks the shapes that fit; InputError
// when nothing can be built, trained for one step, or laid out.
void RankGrid(const Context& c, PlanResult* plan);
// The best shape that fits and trains for at least one step among the cells of `wide`'s grid
// whose aspect ratio lies outside `o`'s range (o and wide differ only in that range); none when
// no such cell fits.
std::optional<Candidate> BestBeyondAspect(const PlanOptions& o, const PlanOptions& wide,
                                          const TimeModel& model, const LossLaw& law);

}  // namespace chronoscale::internal
