// The bootstrap of the Approach 3 fit: resample the runs with replacement, refit each resample
// from the optimum and perturbed copies of it, and read percentile intervals off the refits.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <chronoscale/error.h>
#include <chronoscale/stats.h>

#include "loss_fit_internal.h"

namespace chronoscale::loss_fit_internal {

void Bootstrap(std::vector<std::unique_ptr<Worker>>& workers, const std::vector<Point>& points,
               const std::vector<LossRun>& runs, const Params& x_opt, const LossFitOptions& options,
               const ProgressCallback& progress, LossFitSummary* summary) {
  const auto tb = std::chrono::steady_clock::now();
  const int n_boot = options.bootstrap_resamples;
  const std::size_t n = runs.size();
  std::vector<StartResult> boot(static_cast<std::size_t>(n_boot));
  const auto boot_options = SolverOptions(options, options.max_iterations_per_start);
  const bool ok = ParallelFor(
      workers, n_boot,
      [&](Worker& w, int i) {
        std::mt19937_64 rng(SplitMix(options.seed ^ SplitMix(static_cast<uint64_t>(i) + 1)));
        auto& pts = w.points();
        std::vector<LossRun> sample;
        sample.reserve(n);
        for (std::size_t k = 0; k < n; ++k) {
          const std::size_t j = static_cast<std::size_t>(rng() % n);
          pts[k] = points[j];
          sample.push_back(runs[j]);
        }
        auto& result = boot[static_cast<std::size_t>(i)];
        // A resample with one size or one token count cannot be fitted.
        const bool one_n = std::all_of(sample.begin(), sample.end(), [&](const LossRun& r) {
          return r.params == sample.front().params;
        });
        const bool one_d = std::all_of(sample.begin(), sample.end(), [&](const LossRun& r) {
          return r.tokens == sample.front().tokens;
        });
        if (one_n || one_d) return;
        for (int s = 0; s <= options.bootstrap_perturbed_starts; ++s) {
          Params start = x_opt;
          if (s > 0) {
            start[kA] += 0.5 * Normal(rng);
            start[kB] += 0.5 * Normal(rng);
            start[kE] += 0.05 * Normal(rng);
            start[kAlpha] *= std::exp(0.1 * Normal(rng));
            start[kBeta] *= std::exp(0.1 * Normal(rng));
          }
          StartResult r = w.Solve(start, boot_options);
          if (r.status != StartStatus::kFailed && r.cost < result.cost) result = r;
        }
      },
      progress, 0.0, 1.0, "bootstrap resamples");
  if (!ok) throw Cancelled();

  summary->bootstrap_resamples = n_boot;
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
  if (summary->bootstrap_laws.size() < 2) {
    summary->warnings.push_back(
        fmt::format("bootstrap: only {} of {} resamples could be fitted; no intervals",
                    summary->bootstrap_laws.size(), n_boot));
  } else {
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
  summary->bootstrap_time_s = Seconds(tb);
}

}  // namespace chronoscale::loss_fit_internal
