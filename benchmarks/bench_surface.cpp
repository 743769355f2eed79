// Recomputing a 128 x 128 width-by-depth surface and redrawing the heatmap (issue: < 100 ms).
//   BM_Plan128:            Plan over widths 256:8384:64 x depths 1:128 (16,384 shapes)
//   BM_SurfacePixels128:   the colour mapping of that surface
//   BM_PlanAndHeatmap128:  Plan + the heatmap chart drawn into an image offscreen (the GUI's
//                          whole redraw; 1100 x 720 at 2x)
//   BM_GuiRefreshDefault:  the desktop app's refresh after an input change on its default search
//                          (widths 256:16384:64 x depths 1:128, 32,384 shapes, h100-sxm, 24 h):
//                          Plan + the heatmap chart built and painted at the plan tab's size
//                          (840 x 560, drawn at 2x: more pixels than the window paints), with
//                          the hours moving as the slider does
#include <benchmark/benchmark.h>

#include <QImage>

#include <chronoscale/planner.h>
#include <chronoscale/plots/plots.h>

namespace cs = chronoscale;

namespace {

cs::PlanOptions Options128(double hours) {
  cs::PlanOptions o;
  o.hours = hours;
  o.width = {256, 256 + 127 * 64, 64};
  o.depth = {1, 128, 1};
  o.base = cs::ReferenceShape(1024, 8);
  return o;
}

void BM_Plan128(benchmark::State& state) {
  const cs::TimeModel model = cs::DefaultTimeModel(cs::LoadHardware("h100-sxm"));
  const cs::LossLaw law = cs::LossLawPreset("epoch");
  double hours = 24;
  for (auto _ : state) {
    hours = hours == 24 ? 25 : 24;  // a new input each time, as a slider move
    cs::PlanResult r = cs::Plan(Options128(hours), model, law, "epoch");
    benchmark::DoNotOptimize(r.best.loss);
  }
  state.counters["shapes"] = 128 * 128;
}
BENCHMARK(BM_Plan128)->Unit(benchmark::kMillisecond);

void BM_SurfacePixels128(benchmark::State& state) {
  const cs::PlanResult r =
      cs::Plan(Options128(24), cs::DefaultTimeModel(cs::LoadHardware("h100-sxm")),
               cs::LossLawPreset("epoch"), "epoch");
  for (auto _ : state) {
    auto px = cs::plots::SurfacePixels(r);
    benchmark::DoNotOptimize(px.argb.data());
  }
}
BENCHMARK(BM_SurfacePixels128)->Unit(benchmark::kMillisecond);

void BM_PlanAndHeatmap128(benchmark::State& state) {
  cs::plots::EnsureApplication();
  const cs::TimeModel model = cs::DefaultTimeModel(cs::LoadHardware("h100-sxm"));
  const cs::LossLaw law = cs::LossLawPreset("epoch");
  double hours = 24;
  for (auto _ : state) {
    hours = hours == 24 ? 25 : 24;
    const cs::PlanResult r = cs::Plan(Options128(hours), model, law, "epoch");
    const QImage image = cs::plots::ChartToImage(cs::plots::MakeLossHeatmapChart(r));
    benchmark::DoNotOptimize(image.constBits());
  }
}
BENCHMARK(BM_PlanAndHeatmap128)->Unit(benchmark::kMillisecond);

void BM_GuiRefreshDefault(benchmark::State& state) {
  cs::plots::EnsureApplication();
  const cs::TimeModel model = cs::DefaultTimeModel(cs::LoadHardware("h100-sxm"));
  const cs::LossLaw law = cs::LossLawPreset("epoch");
  cs::PlanOptions o;  // the app's default session (app/gui/session.h SessionInputs{})
  o.base = cs::ReferenceShape(1024, 8);
  o.base.batch = cs::DefaultGlobalBatch(1, 1024);
  double hours = 24;
  for (auto _ : state) {
    hours = hours == 24 ? 25 : 24;
    o.hours = hours;
    const cs::PlanResult r = cs::Plan(o, model, law, "epoch");
    const QImage image =
        cs::plots::ChartToImage(cs::plots::MakeLossHeatmapChart(r, &r.best), 840, 560);
    benchmark::DoNotOptimize(image.constBits());
  }
  state.counters["shapes"] = static_cast<double>(o.width.Count() * o.depth.Count());
}
BENCHMARK(BM_GuiRefreshDefault)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
