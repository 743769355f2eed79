#include "chronoscale/planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <random>

#include "chronoscale/checked.h"
#include "chronoscale/error.h"
#include "chronoscale/io.h"
#include "chronoscale/parallel_for.h"
#include "chronoscale/stats.h"
#include "chronoscale/workload.h"
#include "planner_internal.h"

namespace chronoscale {
namespace {

int64_t ParseInt(std::string_view s, const std::string& flag, const std::string& text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    throw InputError(fmt::format("{} '{}': expected A:B[:STEP] with whole numbers", flag, text));
  }
  return v;
}

}  // namespace

namespace internal {

double Aspect(const ModelShape& s) {
  return static_cast<double>(s.d_model) / static_cast<double>(s.n_layers);
}

// The N the law sees: all or non-embedding parameters; under MoE only those a token passes
// through (the active ones), since the law was fitted on dense models' compute per token.
double LawParams(const LossLaw& law, const ModelShape& s) {
  const double all = s.Moe() ? s.ActiveParams() : s.Params();
  return law.params_counted == ParamCount::kNonEmbedding ? all - s.EmbeddingParams() : all;
}

// `closed_step_s`: the closed form's step time of `s` where the caller priced it in a batch
// (ClosedSteps), NaN otherwise.
Candidate Price(const Context& c, const ModelShape& s, double closed_step_s) {
  Candidate cand;
  cand.shape = s;
  cand.total_params = s.Params();
  cand.params = LawParams(c.law, s);
  // The fastest legal layout on the job's devices that fits (one device: the whole batch in one
  // micro-step when it fits, else accumulation or checkpointing).
  const LayoutChoice choice = ChooseLayout(s, c.search, c.model, closed_step_s);
  cand.shape = choice.shape;
  cand.layout = choice.layout;
  cand.memory_bytes = choice.legal ? choice.memory.Total() : 0;
  cand.fits = choice.fits;
  cand.why_not = choice.why_not;
  cand.step_s = choice.legal ? choice.step_s : std::numeric_limits<double>::quiet_NaN();
  const double tokens_per_step = s.TokensPerStep();
  cand.tokens = choice.legal && cand.step_s > 0 ? c.budget_s / cand.step_s * tokens_per_step : 0;
  cand.effective_tokens = EffectiveTokens(cand.tokens, c.o.unique_tokens);
  cand.epochs = c.o.unique_tokens > 0 ? cand.tokens / c.o.unique_tokens : 0;
  cand.loss = cand.tokens > 0 ? c.law.Loss(cand.params, cand.effective_tokens, Aspect(s))
                              : std::numeric_limits<double>::infinity();
  return cand;
}

// The grid's closed-form totals, where they serve (one device, an estimator other than the
// roofline, a grid large enough to repay the fit), checked on 256 cells of the grid besides the
// family's own members; null where they do not reproduce the op walk.
std::shared_ptr<const StepPolynomial> ClosedForm(const PlanOptions& o, const TimeModel& model) {
  const int64_t cells = o.width.Count() * o.depth.Count();
  if (o.devices != 1 || o.estimator == EstimatorKind::kRoofline || cells < 4096) return nullptr;
  std::vector<ModelShape> checks;
  std::mt19937_64 rng(7);
  for (int k = 0; k < 256; ++k) {
    const int64_t cell = std::uniform_int_distribution<int64_t>(0, cells - 1)(rng);
    Excluded why = Excluded::kNone;
    ModelShape s =
        GridCell(o, o.width.At(cell / o.depth.Count()), o.depth.At(cell % o.depth.Count()), &why);
    if (why == Excluded::kNone) checks.push_back(std::move(s));
  }
  if (checks.empty()) return nullptr;
  try {
    auto poly = std::make_shared<StepPolynomial>(
        StepPolynomial::ForFamily(checks.front(), model.hardware, checks));
    return poly->usable() ? poly : nullptr;
  } catch (const InputError&) {
    return nullptr;  // no family to fit: every shape walks its ops
  }
}

Context MakeContext(const PlanOptions& o, const TimeModel& model, const LossLaw& law) {
  o.Validate();
  if (!model.Has(o.estimator)) {
    PredictStepSeconds(model, ReferenceShape(1024, 1), o.estimator);  // throws the explanation
  }
  std::string err;
  if (!law.IsValid(&err)) throw InputError("loss law: " + err);
  LayoutSearchOptions search = MakeLayoutSearch(model.hardware, o.devices, o.gpus_per_node, o.pins,
                                                o.memory_reserve_bytes, o.estimator);
  search.closed_form = ClosedForm(o, model);
  return Context{o, model, law, o.hours * 3600.0 * o.goodput, search};
}

// The closed form's step times of `shapes` in one batch (StepPolynomial::PredictMany), where the
// plan has a closed form; NaN each (Price prices them one by one) where it has none.
void ClosedSteps(const Context& c, const std::vector<ModelShape>& shapes,
                 std::vector<double>* out) {
  out->assign(shapes.size(), std::numeric_limits<double>::quiet_NaN());
  if (c.search.closed_form && !shapes.empty()) {
    c.search.closed_form->PredictMany(c.model, c.o.estimator, shapes, *out);
  }
}

}  // namespace internal

// The helpers of planner_internal.h, shared with planner_grid.cpp.
using namespace internal;

namespace {
// Whether the best shape is held back by memory or by the edge of the search.
void AddBoundWarnings(const Context& c, PlanResult* r) {
  const PlanOptions& o = c.o;
  const ModelShape& b = r->best.shape;
  // The next shape up in each direction, where the grid has one (no sum that could overflow).
  const bool wider = o.width.step <= o.width.max - b.d_model;
  const bool deeper = o.depth.step <= o.depth.max - b.n_layers;
  const int64_t neighbours[2][2] = {{wider ? b.d_model + o.width.step : 0, b.n_layers},
                                    {b.d_model, deeper ? b.n_layers + o.depth.step : 0}};
  for (const auto& nd : neighbours) {
    if (nd[0] == 0 || nd[1] == 0) continue;
    std::string why;
    const ModelShape s = GridShape(o, nd[0], nd[1], &why);
    if (!why.empty()) continue;
    const Candidate next = Price(c, s);
    if (!next.fits) {
      r->warnings.push_back(fmt::format(
          "the best shape is capped by memory: the next larger shape, d_model {} x {} layers, "
          "does not fit ({})",
          nd[0], nd[1], next.why_not));
      break;
    }
  }
  const int64_t last_width = o.width.min + (o.width.Count() - 1) * o.width.step;
  const int64_t last_depth = o.depth.min + (o.depth.Count() - 1) * o.depth.step;
  if (b.d_model == last_width) {
    r->warnings.push_back(
        fmt::format("the best shape sits at the largest width searched ({}): widen the width range",
                    last_width));
  }
  if (b.n_layers == last_depth) {
    r->warnings.push_back(
        fmt::format("the best shape sits at the largest depth searched ({}): widen the depth range",
                    last_depth));
  }
}

// Where the best shape lies outside what the law and the time model were fitted on.
void AddExtrapolationWarnings(const Context& c, PlanResult* r) {
  const auto law = OutsideLawRange(c.law, r->best.params, r->best.tokens);
  if (!law.empty()) {
    std::string list;
    for (const auto& x : law) list += (list.empty() ? "" : "; ") + x;
    r->warnings.push_back(
        fmt::format("the loss law is used outside the runs it was fitted on: {}", list));
  }
  const auto time = OutsideFitDomain(c.model.fitted_on, r->best.shape);
  if (!time.empty() && r->options.estimator != EstimatorKind::kRoofline) {
    std::string list;
    for (const auto& x : time) list += (list.empty() ? "" : "; ") + x;
    r->warnings.push_back(fmt::format(
        "the best shape's step time extrapolates beyond the runs the time model was fitted on: "
        "{}",
        list));
  }
}

}  // namespace

namespace internal {

ModelShape GridCell(const PlanOptions& o, int64_t d, int64_t n, Excluded* why) {
  ModelShape s = o.base;
  s.d_model = d;
  s.n_layers = n;
  s.n_heads = DefaultHeads(d, o.head_size);
  s.d_ff = std::max<int64_t>(1, std::llround(o.mlp_ratio * static_cast<double>(d)));
  const double aspect = static_cast<double>(d) / static_cast<double>(n);
  *why = s.n_heads == 0                                      ? Excluded::kHeads
         : aspect < o.min_aspect || aspect > o.max_aspect    ? Excluded::kAspect
         : s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads != 0 ? Excluded::kKvHeads
                                                             : Excluded::kNone;
  return s;
}

std::string ExcludedText(const PlanOptions& o, const ModelShape& s, Excluded why) {
  switch (why) {
    case Excluded::kNone:
      return {};
    case Excluded::kHeads:
      return o.head_size > 0 ? fmt::format("head size {} does not divide d_model", o.head_size)
                             : "no head size of 64 or 128 divides d_model";
    case Excluded::kAspect:
      return fmt::format("aspect d_model/n_layers {:.3g} outside [{:g}, {:g}]", Aspect(s),
                         o.min_aspect, o.max_aspect);
    case Excluded::kKvHeads:
      return fmt::format("{} kv heads do not divide {} heads", s.n_kv_heads, s.n_heads);
  }
  return {};
}
}  // namespace internal

ModelShape GridShape(const PlanOptions& o, int64_t d, int64_t n, std::string* why_not) {
  Excluded why = Excluded::kNone;
  ModelShape s = GridCell(o, d, n, &why);
  *why_not = ExcludedText(o, s, why);
  return s;
}

Range ParseRange(const std::string& text, const std::string& flag, int64_t default_step) {
  Range r;
  const auto a = text.find(':');
  if (a == std::string::npos)
    throw InputError(fmt::format("{} '{}': expected A:B[:STEP]", flag, text));
  const auto b = text.find(':', a + 1);
  r.min = ParseInt(std::string_view(text).substr(0, a), flag, text);
  r.max = ParseInt(
      std::string_view(text).substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1),
      flag, text);
  r.step = b == std::string::npos ? default_step
                                  : ParseInt(std::string_view(text).substr(b + 1), flag, text);
  if (r.min <= 0 || r.max < r.min || r.step <= 0) {
    throw InputError(fmt::format("{} '{}': expected 0 < A <= B and STEP > 0", flag, text));
  }
  return r;
}

double TimeSpread(const TimeModel& model, EstimatorKind e) {
  if (!model.fitted[static_cast<std::size_t>(e)]) return 0;
  const auto& r = model.report;
  if (!r.is_object() || !r.contains("estimators") || !r["estimators"].is_array()) return 0;
  for (const auto& est : r["estimators"]) {
    if (!est.is_object() || est.value("estimator", "") != ToString(e)) continue;
    if (!est.contains("cross_validated") || !est["cross_validated"].is_object()) return 0;
    const auto& cv = est["cross_validated"];
    if (!cv.contains("median") || !cv["median"].is_number()) return 0;
    const double median = cv["median"].get<double>();
    return std::isfinite(median) && median > 0 ? median / 0.6745 : 0;
  }
  return 0;
}

namespace {

// Loss intervals, the probability of being best among the ranked list, and the interval of the
// loss saved: B draws, each a law (a bootstrap draw, or the law itself) and, per shape, a
// log-normal step-time error (the tokens seen scale by its inverse). Seeded: reproducible.
void AddUncertainty(const Context& c, const LossLaw& law, PlanResult* r) {
  const double sigma = TimeSpread(c.model, c.o.estimator);
  const bool have_law = !law.draws.empty();
  const int draws = have_law ? static_cast<int>(law.draws.size()) : (sigma > 0 ? 200 : 0);
  r->time_sigma = sigma;
  r->law_draws = have_law;
  r->draws = draws;
  if (draws == 0 || r->top.empty()) return;
  std::vector<Candidate*> shapes;
  for (Candidate& t : r->top) shapes.push_back(&t);
  const bool flop = r->flop_based.fits && r->flop_based.tokens > 0;
  if (flop) shapes.push_back(&r->flop_based);
  std::mt19937_64 rng(20240601);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<std::vector<double>> losses(shapes.size(), std::vector<double>(draws));
  std::vector<double> saved(draws);
  std::vector<int> wins(r->top.size(), 0);
  for (int j = 0; j < draws; ++j) {
    const LossLaw lj = have_law ? law.Draw(static_cast<std::size_t>(j)) : law;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const Candidate& s = *shapes[i];
      const double tokens = s.tokens * std::exp(-sigma * normal(rng));
      losses[i][j] = lj.Loss(s.params, EffectiveTokens(tokens, c.o.unique_tokens), Aspect(s.shape));
    }
    std::size_t win = 0;
    for (std::size_t i = 1; i < r->top.size(); ++i)
      if (losses[i][j] < losses[win][j]) win = i;
    ++wins[win];
    if (flop) saved[j] = losses.back()[j] - losses[0][j];
  }
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    shapes[i]->loss_lo = Percentile(losses[i], 0.025);
    shapes[i]->loss_hi = Percentile(losses[i], 0.975);
  }
  for (std::size_t i = 0; i < r->top.size(); ++i)
    r->top[i].p_best = static_cast<double>(wins[i]) / draws;
  r->best = r->top.front();
  if (flop) {
    r->loss_saved_lo = Percentile(saved, 0.025);
    r->loss_saved_hi = Percentile(saved, 0.975);
  }
}

}  // namespace

double EffectiveTokens(double tokens, double unique) {
  if (!(unique > 0) || tokens <= unique) return tokens;
  constexpr double kRStar = 15.4;  // Muennighoff et al. 2023, fitted R*_D
  const double repeats = tokens / unique - 1;
  return unique + unique * kRStar * (1 - std::exp(-repeats / kRStar));
}

void PlanOptions::Validate() const {
  if (!(hours > 0) || !std::isfinite(hours) || hours > 1e7) {
    throw InputError("hours", fmt::format(" {}: expected a positive number of hours", hours));
  }
  if (devices < 1 || devices > 1000000)
    throw InputError("devices", fmt::format(" {}: expected a positive count", devices));
  if (!(goodput > 0 && goodput <= 1))
    throw InputError("goodput", fmt::format(" {}: expected a fraction in (0, 1]", goodput));
  if (!(mfu > 0 && mfu <= 1))
    throw InputError("mfu", fmt::format(" {}: expected a fraction in (0, 1]", mfu));
  if (!(unique_tokens >= 0) || !std::isfinite(unique_tokens)) {
    throw InputError("unique-tokens",
                     fmt::format(" {}: expected a positive number of tokens", unique_tokens));
  }
  if (!(mlp_ratio > 0) || !std::isfinite(mlp_ratio) || mlp_ratio > 1000) {
    throw InputError("mlp-ratio", fmt::format(" {}: expected a positive number", mlp_ratio));
  }
  if (head_size < 0)
    throw InputError("head-size", fmt::format(" {}: expected a positive size", head_size));
  if (width.min <= 0 || width.max < width.min || width.step <= 0 ||
      width.max > (int64_t{1} << 20)) {
    throw InputError("width", ": expected 0 < A <= B <= 1048576 and STEP > 0");
  }
  if (depth.min <= 0 || depth.max < depth.min || depth.step <= 0 || depth.max > 100000) {
    throw InputError("depth", ": expected 0 < A <= B <= 100000 and STEP > 0");
  }
  CheckedProduct({width.Count(), depth.Count()}, "--width x --depth candidates",
                 LimitFromEnv("CHRONOSCALE_MAX_GRID_SHAPES", kDefaultMaxGridShapes));
  if (memory_reserve_bytes > 1e15 || std::isnan(memory_reserve_bytes)) {
    throw InputError("memory-reserve", fmt::format(" {}: expected GiB >= 0", memory_reserve_bytes));
  }
  if (!(min_aspect > 0) || !(max_aspect >= min_aspect) || !std::isfinite(max_aspect)) {
    throw InputError("aspect",
                     fmt::format(" {:g}:{:g}: expected 0 < A <= B", min_aspect, max_aspect));
  }
  if (threads < 0 || threads > 4096) {
    throw InputError("threads", fmt::format(" {}: expected 0 (every core) to 4096", threads));
  }
  if (top < 1 || top > kMaxTop) {
    throw InputError(
        "top",
        fmt::format(" {}: expected 1 to {} (sweep writes every shape, row by row)", top, kMaxTop));
  }
  ModelShape probe = base;
  probe.d_model = 64;
  probe.n_heads = 1;
  probe.n_layers = 1;
  probe.d_ff = 1;
  probe.n_kv_heads = 0;
  probe.Validate();  // seq, batch, vocab, features
}

Candidate Evaluate(const PlanOptions& options, const TimeModel& model, const LossLaw& law,
                   const ModelShape& shape) {
  const Context c = MakeContext(options, model, law);
  shape.Validate();
  return Price(c, shape);
}

void SweepCandidates(const PlanOptions& o, const TimeModel& model, const LossLaw& law,
                     const std::function<void(const Candidate&)>& visit) {
  const Context c = MakeContext(o, model, law);
  const int64_t nd = o.depth.Count();
  const int64_t cells = o.width.Count() * nd;  // bounded by Validate
  // Batches of cells priced in parallel, then visited in grid order (widths outer) from this
  // thread: the same sequence for any thread count, one batch in memory.
  constexpr int64_t kBatch = 8192;
  std::vector<Candidate> batch;
  const int threads = ThreadCount(o.threads);
  for (int64_t first = 0; first < cells; first += kBatch) {
    const int64_t count = std::min(kBatch, cells - first);
    batch.assign(static_cast<std::size_t>(count), Candidate{});
    ParallelFor(count, threads, [&](int64_t begin, int64_t end, int) {
      // The range's buildable shapes, then their closed-form step times in one batch.
      std::vector<ModelShape> shapes;
      std::vector<int64_t> where;
      for (int64_t k = begin; k < end; ++k) {
        const int64_t cell = first + k;
        std::string why;
        const ModelShape s = GridShape(o, o.width.At(cell / nd), o.depth.At(cell % nd), &why);
        if (!why.empty()) {
          Candidate& cand = batch[static_cast<std::size_t>(k)];
          cand.shape = s;
          cand.why_not = why;
          cand.loss = std::numeric_limits<double>::quiet_NaN();
        } else {
          shapes.push_back(s);
          where.push_back(k);
        }
      }
      std::vector<double> steps;
      ClosedSteps(c, shapes, &steps);
      for (std::size_t i = 0; i < shapes.size(); ++i) {
        batch[static_cast<std::size_t>(where[i])] = Price(c, shapes[i], steps[i]);
      }
    });
    for (const Candidate& cand : batch) visit(cand);
  }
}

namespace {
// The plan over the grid of `o` alone (Plan adds the relaxed-bound answer); without `answers`
// only the ranked shapes (no FLOP-based answer, intervals or warnings).
PlanResult PlanGrid(const PlanOptions& o, const TimeModel& model, const LossLaw& law,
                    const std::string& law_name, bool answers = true);
}  // namespace

PlanResult Plan(const PlanOptions& o, const TimeModel& model, const LossLaw& law,
                const std::string& law_name) {
  PlanResult r = PlanGrid(o, model, law, law_name);
  // A shape-blind law with its best shape on an --aspect bound: the answer rests on the bound.
  // Plan again with the bound twice as far out, so the user sees how much.
  if (r.found && !law.ShapeAware()) {
    const double aspect = Aspect(r.best.shape);
    const bool upper = aspect * 1.1 >= o.max_aspect;
    const bool lower = aspect <= o.min_aspect * 1.1;
    if (upper || lower) {
      PlanOptions wide = o;
      if (upper) {
        wide.max_aspect = 2 * o.max_aspect;
      } else {
        wide.min_aspect = o.min_aspect / 2;
      }
      wide.top = 1;
      // The wide grid's shapes inside the bound were priced above: only those beyond it are
      // new, and the best of the wide grid is the better of theirs and ours.
      const std::optional<Candidate> beyond = BestBeyondAspect(o, wide, model, law);
      r.on_aspect_bound = true;
      r.aspect_bound = upper ? o.max_aspect : o.min_aspect;
      r.relaxed_aspect_bound = upper ? wide.max_aspect : wide.min_aspect;
      r.at_relaxed_bound = beyond && Worse(*beyond, r.best) ? *beyond : r.best;
    }
  }
  return r;
}

namespace {
// The FLOP-based answer beside the time-optimal one, the loss it gives up, the intervals and the
// warnings about bounds and extrapolation.
void AddFlopBaseline(const Context& c, PlanResult* plan) {
  const PlanOptions& o = c.o;
  const TimeModel& model = c.model;
  const LossLaw& law = c.law;
  PlanResult& r = *plan;
  // The FLOP-based answer: the compute the hardware delivers in the budget at an MFU, Chinchilla's
  // N_opt for it, built at d_model / n_layers near the conventional aspect ratio on the same grid,
  // then priced by the same step-time model.
  const double peak = model.hardware.MatmulRate(o.base.precision);
  PlanOptions open_aspect = o;
  open_aspect.min_aspect = 0;
  open_aspect.max_aspect = std::numeric_limits<double>::infinity();
  // The shape nearest N_opt for `mfu`, among those that fit; false when none does.
  auto conventional = [&](double mfu, ComputeOptimal* alloc, Candidate* out) {
    *alloc = Allocate(law, peak * mfu * o.devices * c.budget_s);
    double best_gap = std::numeric_limits<double>::infinity();
    bool found = false;
    for (int64_t j = 0; j < o.depth.Count(); ++j) {
      const int64_t n = o.depth.At(j);
      // The width nearest aspect * n on the width grid.
      const double ideal = o.conventional_aspect * static_cast<double>(n);
      int64_t d = o.width.min + std::llround((ideal - static_cast<double>(o.width.min)) /
                                             static_cast<double>(o.width.step)) *
                                    o.width.step;
      d = std::clamp<int64_t>(d, o.width.min, o.width.min + (o.width.Count() - 1) * o.width.step);
      std::string why;
      const ModelShape s = GridShape(open_aspect, d, n, &why);
      if (!why.empty()) continue;
      const double gap = std::fabs(std::log(LawParams(law, s) / alloc->params));
      if (gap < best_gap) {
        // Built only from shapes that fit, with the same layout search.
        const Candidate priced = Price(c, s);
        if (!priced.fits) continue;
        best_gap = gap;
        *out = priced;
        found = true;
      }
    }
    return found;
  };
  // The MFU a priced candidate achieves: 6 N D of the law's N over the peak of the devices.
  auto achieved = [&](const Candidate& f) {
    return 6 * f.params * f.shape.TokensPerStep() / (f.step_s * peak * o.devices);
  };
  // Without --mfu the iteration starts from 0.4 whatever o.mfu holds: the answer is the model's.
  double mfu = o.mfu_override ? o.mfu : 0.4;
  bool have = conventional(mfu, &r.flop_alloc, &r.flop_based);
  if (!o.mfu_override && have) {
    // Fixed point: the MFU the model predicts for the shape built at that MFU (a few rounds; on
    // the discrete grid it settles or alternates between neighbours, and the last is kept).
    for (int round = 0; round < 8; ++round) {
      const double next = achieved(r.flop_based);
      if (!(next > 0) || !std::isfinite(next)) break;
      const bool settled = std::fabs(next - mfu) <= 0.002 * mfu;
      mfu = std::min(next, 1.0);
      ComputeOptimal alloc;
      Candidate f;
      if (!conventional(mfu, &alloc, &f)) break;
      r.flop_alloc = alloc;
      r.flop_based = f;
      if (settled) break;
    }
    r.flop_mfu_from_model = true;
  }
  r.flop_mfu = mfu;
  if (have && r.found) r.loss_saved = r.flop_based.loss - r.best.loss;
  if (r.found) AddUncertainty(c, law, &r);
  if (!have && r.found) {
    r.warnings.push_back(
        "no shape near the FLOP-based size fits on these devices; the FLOP-based answer is "
        "left out");
  }
  if (r.found) {
    AddBoundWarnings(c, &r);
    AddExtrapolationWarnings(c, &r);
  }
}

PlanResult PlanGrid(const PlanOptions& o, const TimeModel& model, const LossLaw& law,
                    const std::string& law_name, bool answers) {
  const Context c = MakeContext(o, model, law);
  PlanResult r = StartPlan(c, law_name);
  RankGrid(c, &r);
  if (answers) AddFlopBaseline(c, &r);
  return r;
}
}  // namespace

}  // namespace chronoscale
