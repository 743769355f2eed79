// Time of the Approach 3 loss fit: the full 4,500-start grid and the bootstrap, on Hoffmann's
// digitised runs (../shared/data/chinchilla_svg_extracted.csv, Epoch's setup: 5 highest-loss
// points dropped, D = C / (6 N)) when present, else on 240 synthetic runs from the Epoch law.
//   bench_loss_fit --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <chronoscale/loss_law.h>

namespace {

using chronoscale::LossFitOptions;
using chronoscale::LossRun;

std::vector<LossRun> Runs(std::string* source) {
  const std::string path =
      std::string(CHRONOSCALE_SHARED_DIR) + "/data/chinchilla_svg_extracted.csv";
  if (std::filesystem::exists(path)) {
    chronoscale::LossRunsOptions o;
    o.params_column = "Model Size";
    o.flops_column = "Training FLOP";
    o.loss_column = "loss";
    o.drop_highest = 5;
    *source = path;
    return chronoscale::LoadLossRuns(path, o).runs;
  }
  *source = "synthetic (Epoch law, 240 runs, 1% noise)";
  const auto law = chronoscale::LossLawPreset("epoch");
  std::mt19937_64 rng(1);
  std::normal_distribution<double> noise(0.0, 0.01);
  std::vector<LossRun> runs;
  for (int i = 0; i < 24; ++i) {
    for (int j = 0; j < 10; ++j) {
      LossRun r;
      r.params = 4e7 * std::pow(16e9 / 4e7, i / 23.0);
      r.tokens = r.params * 2 * std::pow(100.0, j / 9.0);
      r.loss = law.Loss(r.params, r.tokens) * std::exp(noise(rng));
      runs.push_back(r);
    }
  }
  return runs;
}

void Report(benchmark::State& state, const chronoscale::LossFitSummary& s,
            const std::string& source) {
  state.counters["objective"] = s.objective;
  state.counters["A"] = s.law.A;
  state.counters["B"] = s.law.B;
  state.counters["E"] = s.law.E;
  state.counters["alpha"] = s.law.alpha;
  state.counters["beta"] = s.law.beta;
  state.counters["iterations"] = s.iterations;
  state.SetLabel(source);
}

// The full grid fit; arg 0 = threads, arg 1 = early exit on (1) or off (0).
void BM_FitGrid(benchmark::State& state) {
  std::string source;
  const auto runs = Runs(&source);
  LossFitOptions options;
  options.num_threads = static_cast<int>(state.range(0));
  if (state.range(1) == 0) options.early_exit_iterations = 0;
  chronoscale::LossFitSummary s;
  for (auto _ : state) {
    s = chronoscale::FitLossLaw(runs, options);
    benchmark::DoNotOptimize(s.objective);
  }
  Report(state, s, source);
}
BENCHMARK(BM_FitGrid)
    ->Args({2, 1})
    ->Args({1, 1})
    ->Args({2, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

// The grid fit plus 200 bootstrap resamples, 2 threads.
void BM_FitBootstrap200(benchmark::State& state) {
  std::string source;
  const auto runs = Runs(&source);
  LossFitOptions options;
  options.num_threads = 2;
  options.bootstrap_resamples = 200;
  options.seed = 1;
  chronoscale::LossFitSummary s;
  for (auto _ : state) {
    s = chronoscale::FitLossLaw(runs, options);
    benchmark::DoNotOptimize(s.objective);
  }
  Report(state, s, source);
  state.counters["bootstrap_s"] = s.bootstrap_time_s;
}
BENCHMARK(BM_FitBootstrap200)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
