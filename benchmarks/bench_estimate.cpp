// Throughput of the step-time estimators and the planner (issue: shapes per second on one core;
// plan over the default grid; sweep of 65,536 shapes). Ratios against the FLOPs estimator in the
// same run are what to compare across machines.
#include <benchmark/benchmark.h>

#include <chronoscale/loss_law.h>
#include <chronoscale/parallel_for.h>
#include <chronoscale/planner.h>
#include <chronoscale/step_polynomial.h>
#include <chronoscale/time_fit.h>

using namespace chronoscale;

namespace {

const TimeModel& Fitted() {
  static const TimeModel model = [] {
    const auto runs = ReadStepRuns(CHRONOSCALE_TEST_DATA "/steps.csv").runs;
    return FitTimeModel(runs, LoadHardware("h200-measured")).model;
  }();
  return model;
}

// Shape i of 8,192 of a grid (d_model 256-8384, 1-64 layers), round and round.
void GridShape(int64_t i, ModelShape* s) {
  s->d_model = 256 + 64 * (i % 128);
  s->n_heads = DefaultHeads(s->d_model);
  s->d_ff = 4 * s->d_model;
  s->n_layers = 1 + (i / 128) % 64;
}

// predict(shape) over the grid's shapes, one at a time.
template <typename Predict>
void EstimateShapes(benchmark::State& state, const Predict& predict) {
  ModelShape s = ReferenceShape(1024, 8);
  int64_t i = 0;
  double sink = 0;
  for (auto _ : state) {
    GridShape(i, &s);
    sink += predict(s);
    ++i;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
  state.counters["shapes_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void Estimate(benchmark::State& state, EstimatorKind kind) {
  const TimeModel& model = Fitted();
  EstimateShapes(state, [&](const ModelShape& s) { return PredictStepSeconds(model, s, kind); });
}

void BM_EstimateFlops(benchmark::State& state) { Estimate(state, EstimatorKind::kFlops); }
void BM_EstimateRoofline(benchmark::State& state) { Estimate(state, EstimatorKind::kRoofline); }
void BM_EstimateCalibrated(benchmark::State& state) { Estimate(state, EstimatorKind::kCalibrated); }
BENCHMARK(BM_EstimateFlops);
BENCHMARK(BM_EstimateRoofline);
BENCHMARK(BM_EstimateCalibrated);

// Issue 15: the calibrated estimator from the closed-form totals of the shapes' family (what the
// planner uses on one device), on the same shapes as BM_EstimateCalibrated.
void BM_EstimateCalibratedClosedForm(benchmark::State& state) {
  const TimeModel& model = Fitted();
  ModelShape s = ReferenceShape(1024, 8);
  const StepPolynomial poly = StepPolynomial::ForFamily(s, model.hardware, {});
  if (!poly.usable()) {
    state.SkipWithError(poly.why_not().c_str());
    return;
  }
  EstimateShapes(state, [&](const ModelShape& shape) {
    return poly.Predict(model, shape, EstimatorKind::kCalibrated);
  });
  state.counters["terms"] = poly.terms();
}
BENCHMARK(BM_EstimateCalibratedClosedForm);

// The same 8,192 shapes through PredictMany (the planner's batches), at each SIMD level the CPU
// has (0 sse2, 1 avx2, 2 avx512; a level it lacks runs the best it has, see the label).
void BM_EstimateCalibratedBatch(benchmark::State& state) {
  const TimeModel& model = Fitted();
  const StepPolynomial poly =
      StepPolynomial::ForFamily(ReferenceShape(1024, 8), model.hardware, {});
  if (!poly.usable()) {
    state.SkipWithError(poly.why_not().c_str());
    return;
  }
  std::vector<ModelShape> shapes(8192, ReferenceShape(1024, 8));
  for (int64_t k = 0; k < 8192; ++k) GridShape(k, &shapes[static_cast<std::size_t>(k)]);
  int64_t i = 0;
  static const char* const kIsa[] = {"sse2", "avx2", "avx512"};
  const char* isa = kIsa[state.range(0)];
  std::vector<double> out(shapes.size());
  for (auto _ : state) {
    poly.PredictMany(model, EstimatorKind::kCalibrated, shapes, out, isa);
    benchmark::DoNotOptimize(out.data());
    ++i;
  }
  const double n = static_cast<double>(i) * static_cast<double>(shapes.size());
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["shapes_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.SetLabel(isa);
}
BENCHMARK(BM_EstimateCalibratedBatch)->Arg(0)->Arg(1)->Arg(2);

void BM_Plan24h(benchmark::State& state) {
  PlanOptions o;
  o.hours = 24;
  o.base = ReferenceShape(1024, 1);
  const TimeModel model = DefaultTimeModel(LoadHardware("h100-sxm"));
  const LossLaw law = LossLawPreset("epoch");
  for (auto _ : state) benchmark::DoNotOptimize(Plan(o, model, law).best.loss);
  state.counters["shapes"] = static_cast<double>(o.width.Count() * o.depth.Count());
}
BENCHMARK(BM_Plan24h)->Unit(benchmark::kMillisecond);

void BM_Sweep65536(benchmark::State& state) {
  PlanOptions o;
  o.hours = 24;
  o.base = ReferenceShape(1024, 1);
  o.width = {64, 16384, 64};
  o.depth = {1, 256, 1};
  o.min_aspect = 1e-9;
  o.max_aspect = 1e9;
  const TimeModel& model = Fitted();
  o.estimator = EstimatorKind::kCalibrated;
  const LossLaw law = LossLawPreset("epoch");
  for (auto _ : state) {
    int64_t n = 0;
    SweepCandidates(o, model, law, [&](const Candidate& c) { n += c.fits; });
    benchmark::DoNotOptimize(n);
  }
  state.counters["shapes"] = static_cast<double>(o.width.Count() * o.depth.Count());
}
BENCHMARK(BM_Sweep65536)->Unit(benchmark::kMillisecond);

// Issue 12: the default 32k-shape grid with the layout search on a cluster (every admissible
// shape gets the fastest legal DP/TP/PP/ZeRO/micro-batch/checkpointing layout that fits).
void BM_PlanCluster(benchmark::State& state) {
  PlanOptions o;
  o.hours = 168;
  o.devices = static_cast<int>(state.range(0));
  o.gpus_per_node = 8;
  o.base = ReferenceShape(1024, 1);
  o.base.batch = DefaultGlobalBatch(o.devices, o.base.seq_len);
  const TimeModel model = DefaultTimeModel(LoadHardware("h100-sxm"));
  const LossLaw law = LossLawPreset("epoch");
  for (auto _ : state) benchmark::DoNotOptimize(Plan(o, model, law).best.loss);
}
BENCHMARK(BM_PlanCluster)->Arg(1)->Arg(8)->Arg(64)->Arg(1024)->Unit(benchmark::kMillisecond);

// Issue 15: the 64-GPU plan on 1 thread and on every core (the planner splits the grid's widths
// over threads; the answer is the same). UseRealTime: CPU time would count one thread only.
void BM_PlanClusterThreads(benchmark::State& state) {
  PlanOptions o;
  o.hours = 168;
  o.devices = 64;
  o.gpus_per_node = 8;
  o.threads = static_cast<int>(state.range(0));
  o.base = ReferenceShape(1024, 1);
  o.base.batch = DefaultGlobalBatch(o.devices, o.base.seq_len);
  const TimeModel model = DefaultTimeModel(LoadHardware("h100-sxm"));
  const LossLaw law = LossLawPreset("epoch");
  for (auto _ : state) benchmark::DoNotOptimize(Plan(o, model, law).best.loss);
  state.counters["threads"] = ThreadCount(o.threads);
}
BENCHMARK(BM_PlanClusterThreads)->Arg(1)->Arg(0)->UseRealTime()->Unit(benchmark::kMillisecond);

// The 24-hour one-device plan with the calibrated estimator: the closed-form totals against the
// op walk would show here (the planner fits the closed form for grids of 4,096+ shapes).
void BM_Plan24hCalibrated(benchmark::State& state) {
  PlanOptions o;
  o.hours = 24;
  o.threads = 1;
  o.base = ReferenceShape(1024, 1);
  o.estimator = EstimatorKind::kCalibrated;
  const LossLaw law = LossLawPreset("epoch");
  for (auto _ : state) benchmark::DoNotOptimize(Plan(o, Fitted(), law).best.loss);
  state.counters["shapes"] = static_cast<double>(o.width.Count() * o.depth.Count());
}
BENCHMARK(BM_Plan24hCalibrated)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

namespace {
// The closed form's fit for one family (what a plan of 4,096+ shapes pays once per call).
void BM_ClosedFormFit(benchmark::State& state) {
  const TimeModel& model = Fitted();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        StepPolynomial::ForFamily(ReferenceShape(1024, 8), model.hardware, {}).usable());
  }
}
BENCHMARK(BM_ClosedFormFit)->Unit(benchmark::kMillisecond);
}  // namespace
