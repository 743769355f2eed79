// The bootstrap of the Approach 3 fit: resample the runs with replacement, refit each resample
// from the optimum and perturbed copies of it, and read percentile intervals off the refits.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <chronoscale/error.h>
#include <chronoscale/stats.h>

#include "loss_fit_internal.h"

namespace chronoscale::loss_fit_internal {

namespace {

// The refit inputs every resample shares.
struct ResampleInputs {
  const std::vector<Point>& points;
  const std::vector<LossRun>& runs;
  const Params& x_opt;
  const LossFitOptions& options;
  const ceres::Solver::Options& solver;
};

// Draws the runs with replacement into the worker's points; returns the runs drawn.
std::vector<LossRun> DrawResample(const ResampleInputs& in, std::mt19937_64& rng,
                                  std::vector<Point>& pts) {
  const std::size_t n = in.runs.size();
  std::vector<LossRun> sample;
  sample.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t j = static_cast<std::size_t>(rng() % n);
    pts[k] = in.points[j];
    sample.push_back(in.runs[j]);
  }
  return sample;
}

// Whether the resample has one size or one token count.
bool OneSizeOrTokenCount(const std::vector<LossRun>& sample) {
  const bool one_n = std::all_of(sample.begin(), sample.end(), [&](const LossRun& r) {
    return r.params == sample.front().params;
  });
  const bool one_d = std::all_of(sample.begin(), sample.end(), [&](const LossRun& r) {
    return r.tokens == sample.front().tokens;
  });
  return one_n || one_d;
}

// The optimum with its parameters perturbed.
Params PerturbedStart(Params start, std::mt19937_64& rng) {
  start[kA] += 0.5 * Normal(rng);
  start[kB] += 0.5 * Normal(rng);
  start[kE] += 0.05 * Normal(rng);
  start[kAlpha] *= std::exp(0.1 * Normal(rng));
  start[kBeta] *= std::exp(0.1 * Normal(rng));
  return start;
}

// Draws resample i and keeps in `result` the best of its refits from the optimum and perturbed
// copies of it.
void FitResample(const ResampleInputs& in, Worker& w, int i, StartResult& result) {
  std::mt19937_64 rng(SplitMix(in.options.seed ^ SplitMix(static_cast<uint64_t>(i) + 1)));
  const std::vector<LossRun> sample = DrawResample(in, rng, w.points());
  // A resample with one size or one token count cannot be fitted.
  if (OneSizeOrTokenCount(sample)) return;
  for (int s = 0; s <= in.options.bootstrap_perturbed_starts; ++s) {
    const Params start = s > 0 ? PerturbedStart(in.x_opt, rng) : in.x_opt;
    StartResult r = w.Solve(start, in.solver);
    if (r.status != StartStatus::kFailed && r.cost < result.cost) result = r;
  }
}

// Keeps the refits that make valid laws with a finite allocation: their laws in the summary, and
// per quantity (A, B, E, alpha, beta, a, b, G, N_opt, D_opt) a column of their values.
std::vector<std::vector<double>> CollectRefits(const std::vector<StartResult>& boot,
                                               const LossFitOptions& options,
                                               LossFitSummary* summary) {
  std::vector<std::vector<double>> columns(10);
  for (const auto& r : boot) {
    if (r.status == StartStatus::kFailed || !(r.x[kAlpha] > 0) || !(r.x[kBeta] > 0)) {
      ++summary->bootstrap_failed;
      continue;
    }
    const LossLaw l = LawFromParams(r.x);
    if (!l.IsValid(nullptr)) {
      ++summary->bootstrap_failed;
      continue;
    }
    const ComputeOptimal c = Allocate(l, options.budget_flops);
    const double values[10] = {l.A, l.B, l.E, l.alpha, l.beta, c.a, c.b, c.G, c.params, c.tokens};
    if (!std::all_of(std::begin(values), std::end(values),
                     [](double v) { return std::isfinite(v); })) {
      ++summary->bootstrap_failed;
      continue;
    }
    for (std::size_t k = 0; k < 10; ++k) columns[k].push_back(values[k]);
    summary->bootstrap_laws.push_back(l);
  }
  return columns;
}

// Reads the percentile intervals off the columns, or warns that too few resamples were fitted.
void ReportIntervals(const std::vector<std::vector<double>>& columns, int n_boot,
                     const LossFitOptions& options, LossFitSummary* summary) {
  if (summary->bootstrap_laws.size() < 2) {
    summary->warnings.push_back(
        fmt::format("bootstrap: only {} of {} resamples could be fitted; no intervals",
                    summary->bootstrap_laws.size(), n_boot));
    return;
  }
  const char* names[10] = {"A", "B", "E", "alpha", "beta", "a", "b", "G", "N_opt", "D_opt"};
  const double tail = (1 - options.confidence) / 2;
  for (std::size_t k = 0; k < 10; ++k) {
    summary->intervals.push_back(
        {names[k], {Percentile(columns[k], tail), Percentile(columns[k], 1 - tail)}});
  }
  if (summary->bootstrap_failed > 0) {
    summary->warnings.push_back(
        fmt::format("bootstrap: {} of {} resamples could not be fitted and "
                    "are left out of the intervals",
                    summary->bootstrap_failed, n_boot));
  }
}

}  // namespace

void Bootstrap(std::vector<std::unique_ptr<Worker>>& workers, const std::vector<Point>& points,
               const std::vector<LossRun>& runs, const Params& x_opt, const LossFitOptions& options,
               const ProgressCallback& progress, LossFitSummary* summary) {
  const auto tb = std::chrono::steady_clock::now();
  const int n_boot = options.bootstrap_resamples;
  std::vector<StartResult> boot(static_cast<std::size_t>(n_boot));
  const auto boot_options = SolverOptions(options, options.max_iterations_per_start);
  const ResampleInputs in{points, runs, x_opt, options, boot_options};
  const bool ok = ParallelFor(
      workers, n_boot,
      [&](Worker& w, int i) { FitResample(in, w, i, boot[static_cast<std::size_t>(i)]); }, progress,
      0.0, 1.0, "bootstrap resamples");
  if (!ok) throw Cancelled();

  summary->bootstrap_resamples = n_boot;
  const auto columns = CollectRefits(boot, options, summary);
  ReportIntervals(columns, n_boot, options, summary);
  summary->bootstrap_time_s = Seconds(tb);
}

}  // namespace chronoscale::loss_fit_internal
