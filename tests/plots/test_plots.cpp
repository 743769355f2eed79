// chronoscale_plots: known answers of the data preparation, and every chart rendered to PNG and
// SVG (offscreen).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <QImage>

#include <chronoscale/attention_calibrate.h>
#include <chronoscale/error.h>
#include <chronoscale/planner.h>
#include <chronoscale/plots/plots.h>

#include "core/hand_count.h"
#include "core/test_models.h"

namespace fs = std::filesystem;
using namespace chronoscale;
using namespace chronoscale::plots;

namespace {

// A 3-wide, 2-deep surface with params = 10 * width * depth.
PlanResult TinyPlan() {
  PlanResult p;
  p.widths = {100, 200, 300};
  p.depths = {1, 2};
  for (int64_t d : p.depths) {
    for (int64_t w : p.widths) {
      p.params.push_back(10.0 * w * d);
      p.step_s.push_back(1.0);
    }
  }
  p.loss = {3.0, 2.0, NAN, 4.0, 1.0, 5.0};
  return p;
}

fs::path TempDir() {
  const fs::path dir = fs::temp_directory_path() / "chronoscale_test_plots";
  fs::create_directories(dir);
  return dir;
}

std::uintmax_t Size(const fs::path& p) { return fs::exists(p) ? fs::file_size(p) : 0; }

std::string Head(const fs::path& p, std::size_t n) {
  std::ifstream in(p, std::ios::binary);
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}

}  // namespace

TEST_CASE("viridis endpoints, midpoint and clamping") {
  CHECK(Viridis(0) == Rgb{68, 1, 84});
  CHECK(Viridis(1) == Rgb{253, 231, 37});
  CHECK(Viridis(0.5) == Rgb{33, 145, 140});
  CHECK(Viridis(-3) == Viridis(0));
  CHECK(Viridis(7) == Viridis(1));
  CHECK(Viridis(NAN) == Viridis(0));
  CHECK(ToArgb(Rgb{1, 2, 3}) == 0xFF010203u);
}

TEST_CASE("colour scale spans the lowest loss to a quantile") {
  const std::vector<double> loss = {3, 1, 2, NAN, 5};
  ColorScale s = SurfaceColorScale(loss, 1.0);
  CHECK(s.lo == 1);
  CHECK(s.hi == 5);
  s = SurfaceColorScale(loss, 0.5);  // sorted 1 2 3 5: index round(1.5) = 2
  CHECK(s.hi == 3);
  CHECK(LossColor(1, s) == ToArgb(Viridis(1)));   // best: yellow
  CHECK(LossColor(3, s) == ToArgb(Viridis(0)));   // the quantile: dark
  CHECK(LossColor(99, s) == ToArgb(Viridis(0)));  // beyond: clamped
  CHECK(LossColor(NAN, s) == kNoFitArgb);
  const ColorScale flat = SurfaceColorScale({2, 2}, 0.9);
  CHECK(flat.hi > flat.lo);
}

TEST_CASE("surface pixels put the deepest row on top") {
  PlanResult p = TinyPlan();
  p.step_s[2] = NAN;  // the NaN-loss cell was left out, not priced
  const SurfaceImage img = SurfacePixels(p, 1.0);
  REQUIRE(img.columns == 3);
  REQUIRE(img.rows == 2);
  // Top row is depth 2: losses 4, 1, 5.
  CHECK(img.argb[1] == ToArgb(Viridis(1)));  // loss 1, the best
  CHECK(img.argb[2] == ToArgb(Viridis(0)));  // loss 5, the worst
  // Bottom row is depth 1: 3, 2, NaN without a step time.
  CHECK(img.argb[5] == kLeftOutArgb);
  p.step_s[2] = 1.0;
  CHECK(SurfacePixels(p, 1.0).argb[5] == kNoFitArgb);
  // Priced and within the usable memory: the budget buys under one step, a colour of its own.
  p.usable_bytes = 10e9;
  p.memory_bytes.assign(p.loss.size(), 20e9);
  CHECK(SurfacePixels(p, 1.0).argb[5] == kNoFitArgb);
  p.memory_bytes[2] = 5e9;
  CHECK(SurfacePixels(p, 1.0).argb[5] == kUnderOneStepArgb);
}

TEST_CASE("exclusions are counted by reason") {
  PlanResult p = TinyPlan();
  p.options.min_aspect = 1e-9;
  p.options.max_aspect = 1e9;
  p.usable_bytes = 10e9;
  p.memory_bytes.assign(p.loss.size(), 5e9);
  // Cell 2 (the NaN loss) priced within memory: under one step.
  CHECK(CountExclusions(p).under_one_step == 1);
  p.memory_bytes[2] = 20e9;
  CHECK(CountExclusions(p).out_of_memory == 1);
  p.step_s[2] = NAN;  // left out, inside the aspect range: unbuildable (heads)
  CHECK(CountExclusions(p).unbuildable == 1);
  p.options.max_aspect = 1e-3;  // now every aspect is out of range
  const SurfaceExclusions e = CountExclusions(p);
  CHECK(e.aspect == 1);
  CHECK(e.unbuildable == 0);
  CHECK(e.out_of_memory + e.under_one_step == 0);
}

TEST_CASE("iso-parameter curves interpolate along each row") {
  const PlanResult p = TinyPlan();  // rows: 1000 2000 3000 / 2000 4000 6000
  auto c = IsoParamCurve(p, 1500);
  REQUIRE(c.size() == 1);
  CHECK(c[0].x == Approx(150));
  CHECK(c[0].y == 1);
  c = IsoParamCurve(p, 2500);
  REQUIRE(c.size() == 2);
  CHECK(c[0].x == Approx(250));
  CHECK(c[1].x == Approx(125));
  CHECK(c[1].y == 2);
  CHECK(IsoParamCurve(p, 1e9).empty());
  const auto levels = IsoParamLevels(p);
  REQUIRE(levels.size() == 2);
  CHECK(levels[0] == Approx(2000));
  CHECK(levels[1] == Approx(5000));
  CHECK(IsoParamLevels(p, 1).size() == 1);
}

TEST_CASE("iso-parameter curves skip left-out cells") {
  PlanResult p = TinyPlan();
  p.params[0] = 0;  // width 100, depth 1 left out
  const auto c = IsoParamCurve(p, 1500);
  CHECK(c.empty());
}

TEST_CASE("counts are formatted with a suffix") {
  CHECK(FormatCount(1.3e9) == "1.3B");
  CHECK(FormatCount(350e6) == "350M");
  CHECK(FormatCount(727.4e6) == "727M");
  CHECK(FormatCount(20000) == "20K");
  CHECK(FormatCount(12) == "12");
  CHECK(FormatCount(2e12) == "2T");
}

TEST_CASE("roofline ceilings and attainable rate") {
  CHECK(RooflineAttainable(10, 100, 5) == 50);
  CHECK(RooflineAttainable(100, 100, 5) == 100);
  HardwareProfile hw;
  hw.name = "test";
  hw.mem_bandwidth_bytes_per_s = 1e12;
  hw.matmul_flops_per_s[static_cast<std::size_t>(Precision::kBf16)] = 1e15;
  hw.matmul_flops_per_s[static_cast<std::size_t>(Precision::kFp32)] = 1e14;
  hw.vector_flops_per_s[static_cast<std::size_t>(Precision::kFp32)] = 5e13;
  hw.launch_overhead_s = 1e-6;
  const auto c = RooflineCeilings(hw);
  REQUIRE(c.size() == 3);
  CHECK(c[0].label == "matmul bf16");
  CHECK(c[0].flops_per_s == 1e15);
  CHECK(c[1].flops_per_s == 1e14);
  CHECK(c[2].label == "vector fp32");
  hw.vector_flops_per_s[static_cast<std::size_t>(Precision::kFp32)] = 1e14;  // same as matmul
  CHECK(RooflineCeilings(hw).size() == 2);
}

TEST_CASE("roofline points lie under the roof") {
  const HardwareProfile hw = LoadHardware("h100-sxm");
  const ModelShape shape = ReferenceShape(1024, 4);
  const auto pts = RooflinePoints(shape, hw);
  REQUIRE(!pts.empty());
  double peak = 0;
  for (const auto& c : RooflineCeilings(hw)) peak = std::max(peak, c.flops_per_s);
  bool has_matmul = false;
  for (const auto& p : pts) {
    CHECK(p.intensity > 0);
    CHECK(p.seconds > 0);
    CHECK(p.flops_per_s <= peak * 1.000001);
    CHECK(p.flops_per_s <= p.intensity * hw.mem_bandwidth_bytes_per_s * 1.000001);
    has_matmul = has_matmul || p.kind == OpKind::kMatmul;
  }
  CHECK(has_matmul);
}

TEST_CASE("breakdown: total, optimizer and matmul cells by hand") {
  // Independent of ExplainOpSeconds: the roofline by hand (tests/core/hand_count.h) for the
  // step, AdamW's memory-bound 28 bytes per parameter plus one launch per tensor for the
  // optimizer cell, and the GEMMs' FLOPs at the bf16 rate plus their launches (per layer 4
  // forward, 8 backward; the head 1 + 2) for the matmul row. 1e-9: the same sums in another order.
  const HardwareProfile hw = LoadHardware("h100-sxm");
  const TimeModel model = DefaultTimeModel(hw);
  const ModelShape shape = ReferenceShape(1024, 8);
  const Breakdown b = StepBreakdown(model, shape, EstimatorKind::kRoofline);
  const auto k = chronoscale::test::HandCount(1024, 8, 32768, 1024, 8);
  CHECK(b.total_s == Approx(chronoscale::test::HandRoofline(k, 8, hw)).epsilon(1e-9));
  const double lo = hw.launch_overhead_s;
  const double mm = hw.matmul_flops_per_s[static_cast<std::size_t>(Precision::kBf16)];
  CHECK(b.seconds[static_cast<std::size_t>(OpKind::kOptimizer)]
                 [static_cast<std::size_t>(Phase::kOptimizer)] ==
        Approx(k.optimizer_bytes / hw.mem_bandwidth_bytes_per_s + k.optimizer_launches * lo)
            .epsilon(1e-9));
  double matmul = 0;
  for (double s : b.seconds[static_cast<std::size_t>(OpKind::kMatmul)]) matmul += s;
  CHECK(matmul == Approx(k.matmul_flops / mm + (12 * 8 + 3) * lo).epsilon(1e-9));
}

TEST_CASE("loss-fit groups: one per size, curves follow the law") {
  const LossLaw law = LossLawPreset("epoch");
  std::vector<LossRun> runs = {
      {1e8, 1e9, 3.0, 0}, {1e8, 2e9, 2.9, 0}, {1e9, 1e10, 2.5, 0}, {1.01e9, 2e10, 2.4, 0}};
  const auto groups = LossFitGroups(runs, law, 8, 10);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].params == Approx(1e8));
  CHECK(groups[1].params == Approx(std::sqrt(1e9 * 1.01e9)));
  CHECK(groups[1].runs.size() == 2);
  REQUIRE(groups[0].curve.size() == 10);
  CHECK(groups[0].curve.front().x == Approx(1e9 / 1.5));
  CHECK(groups[0].curve.back().x == Approx(2e10 * 1.5));
  CHECK(groups[0].curve[3].y == Approx(law.Loss(1e8, groups[0].curve[3].x)));
  // Many sizes are binned.
  std::vector<LossRun> many;
  for (int i = 0; i < 20; ++i) many.push_back({1e7 * std::pow(1.5, i), 1e10, 3.0, 0});
  const auto binned = LossFitGroups(many, law, 4);
  CHECK(binned.size() <= 4);
  std::size_t total = 0;
  for (const auto& g : binned) total += g.runs.size();
  CHECK(total == 20);
}

TEST_CASE("loss-fit bands: the 95% range of the law's bootstrap draws around each curve") {
  LossLaw law = LossLawPreset("epoch");
  CHECK(LawCurves(law, {1e9}, 1e9, 1e11, 5)[0].band_lo.empty());  // no draws, no band
  // Draws with E from 1.80 to 1.84: the band at every point spans their 2.5-97.5 percentiles.
  for (int j = 0; j <= 40; ++j)
    law.draws.push_back({1.80 + 0.001 * j, law.A, law.B, law.alpha, law.beta});
  const auto g = LawCurves(law, {1e9}, 1e9, 1e11, 5)[0];
  REQUIRE(g.band_lo.size() == g.curve.size());
  for (std::size_t i = 0; i < g.curve.size(); ++i) {
    const double base = g.curve[i].y - law.E;
    CHECK(g.band_lo[i].y == Approx(base + 1.801));
    CHECK(g.band_hi[i].y == Approx(base + 1.839));
    CHECK(g.band_lo[i].y <= g.curve[i].y);
    CHECK(g.curve[i].y <= g.band_hi[i].y);
  }
}

TEST_CASE("predicted vs measured pairs the cross-validated predictions") {
  std::vector<StepRun> runs(3);
  runs[0].step_s = 0.01, runs[1].step_s = 0.02, runs[2].step_s = 0.03;
  TimeFitSummary fit;
  EstimatorReport a;
  a.kind = EstimatorKind::kRoofline;
  a.available = true;
  a.cv_median = 0.1;
  a.cv_predicted_s = {0.011, 0.019, NAN};
  EstimatorReport b;
  b.kind = EstimatorKind::kCalibrated;
  b.available = false;
  fit.reports = {a, b};
  const auto s = PredictedVsMeasured(runs, fit);
  REQUIRE(s.size() == 1);
  CHECK(s[0].name == "roofline");
  REQUIRE(s[0].points.size() == 2);
  CHECK(s[0].points[1].x == 0.02);
  CHECK(s[0].points[1].y == 0.019);
}

TEST_CASE("attention rows are grouped and sorted") {
  const auto c = GroupAttentionRows({"a", "b", "a"}, {2048, 1024, 1024}, {2, 5, 1}, {});
  REQUIRE(c.size() == 2);
  CHECK(c[0].label == "a");
  CHECK(c[0].seq_len == std::vector<double>{1024, 2048});
  CHECK(c[0].measured_s == std::vector<double>{1, 2});
  CHECK(c[0].predicted_s.empty());
}

TEST_CASE("attention CSV: measured timing layout") {
  const auto rows = ReadAttentionCsv(std::string(CHRONOSCALE_TEST_DATA) + "/attention.csv");
  REQUIRE(rows.size() == 26);
  CHECK(rows[0].kernel == "sdpa_flash");
  CHECK(rows[0].seq_len == 1024);
  CHECK(rows[0].heads == 16);
  CHECK(rows[0].measured_s == Approx(0.0447e-3));
  CHECK(rows[0].predicted_s < 0);
  CHECK(rows[0].line == 2);
  const auto curves = AttentionCurvesFromRows(rows);
  REQUIRE(curves.size() == 4);
  CHECK(curves[2].label == "favor_plus m=64");
  CHECK(curves[2].seq_len.size() == 7);
}

TEST_CASE("attention CSV: calibrate layout and errors name the place") {
  const fs::path dir = TempDir();
  const fs::path good = dir / "cal.csv";
  std::ofstream(good) << "kernel,seq_len,d_head,features,measured_s,predicted_s,roofline_s\n"
                         "flash,256,64,0,1e-4,1.1e-4,0.9e-4\nflash,512,64,0,3e-4,2.9e-4,2e-4\n";
  const auto rows = ReadAttentionCsv(good.string());
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].predicted_s == Approx(2.9e-4));
  const fs::path bad = dir / "bad.csv";
  std::ofstream(bad) << "kernel,seq_len,d_head,features,measured_s\nflash,256,64,0,abc\n";
  try {
    ReadAttentionCsv(bad.string());
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("bad.csv:2"));
  }
  const fs::path other = dir / "other.csv";
  std::ofstream(other) << "x,y\n1,2\n";
  CHECK_THROWS_AS(ReadAttentionCsv(other.string()), InputError);
}

TEST_CASE("log axis ranges snap to decades") {
  auto r = LogAxisRange({0.003, 0.5, -1, NAN});
  CHECK(r.first == Approx(0.001));
  CHECK(r.second == Approx(1));
  r = LogAxisRange({});
  CHECK(r.first == 1);
  CHECK(r.second == 10);
}

TEST_CASE("every chart renders to PNG and SVG") {
  const fs::path dir = TempDir();
  const HardwareProfile hw = LoadHardware("h100-sxm");
  const TimeModel model = DefaultTimeModel(hw);
  PlanOptions o;
  o.hours = 2;
  o.width = {256, 4096, 128};
  o.depth = {1, 48, 1};
  o.base = ReferenceShape(1024, 8);
  const PlanResult plan = Plan(o, model, LossLawPreset("epoch"), "epoch");
  REQUIRE(plan.found);
  const ModelShape shape = plan.best.shape;

  std::vector<LossRun> loss_runs;
  const LossLaw law = LossLawPreset("chinchilla");
  for (double n : {1e8, 4e8, 1.6e9}) {
    for (double d : {2e9, 8e9, 3.2e10}) loss_runs.push_back({n, d, law.Loss(n, d) * 1.01, 0});
  }
  const RunsFile steps = ReadStepRuns(std::string(CHRONOSCALE_TEST_DATA) + "/steps.csv");
  TimeFitSummary fit;
  fit.model = model;
  EstimatorReport rep;
  rep.kind = EstimatorKind::kRoofline;
  rep.available = true;
  for (const auto& r : steps.runs)
    rep.cv_predicted_s.push_back(PredictStepSeconds(model, r.shape, EstimatorKind::kRoofline));
  fit.reports = {rep};
  const std::vector<AttentionCurve> curves =
      GroupAttentionRows({"flash", "flash", "favor m=64", "favor m=64"}, {1024, 2048, 1024, 2048},
                         {1e-4, 3e-4, 2e-4, 2.5e-4}, {1.2e-4, 2.8e-4, NAN, 2e-4});

  for (const char* ext : {".png", ".svg"}) {
    const std::string e = ext;
    RenderLossHeatmap(plan, (dir / ("heatmap" + e)).string());
    RenderLossFit(loss_runs, law, (dir / ("loss_fit" + e)).string());
    RenderTimeFit(steps.runs, fit, (dir / ("time_fit" + e)).string());
    RenderBreakdown(model, shape, EstimatorKind::kRoofline, (dir / ("breakdown" + e)).string());
    RenderRoofline(hw, &shape, (dir / ("roofline" + e)).string());
    RenderAttention(curves, (dir / ("attention" + e)).string());
    SaveChart(MakeLawCurvesChart(law, {1e8, 1e9}), (dir / ("law" + e)).string());
    for (const char* name :
         {"heatmap", "loss_fit", "time_fit", "breakdown", "roofline", "attention", "law"}) {
      const fs::path p = dir / (std::string(name) + e);
      INFO(p.string());
      CHECK(Size(p) > 1000);
      if (e == ".png") {
        CHECK(Head(p, 4) == "\x89PNG");
      } else {
        CHECK(Head(p, 200).find("<svg") != std::string::npos);
      }
    }
  }
  // The heatmap image is the expected size and not blank.
  const QImage img = ChartToImage(MakeLossHeatmapChart(plan), 800, 600);
  CHECK(img.width() == 1600);
  CHECK(img.pixel(800, 600) != img.pixel(2, 2));
}

TEST_CASE("render errors: extension and unwritable path") {
  const PlanResult plan = TinyPlan();
  CHECK_THROWS_AS(RenderLossHeatmap(plan, (TempDir() / "x.jpg").string()), InputError);
  CHECK_THROWS_AS(RenderLossHeatmap(plan, "/nonexistent-dir/sub/x.png"), RuntimeError);
}

TEST_CASE("breakdown: the bars, the fixed cost and exposed communication add up to the estimate") {
  // A calibrated model with a constant per step: the bars carry the ops' shares, the constant is
  // shown apart, and the three add up to what `estimate` prints (the GUI's breakdown used to sum
  // the bars alone and disagree with it by c0).
  const TimeModel model = chronoscale::test::CalibratedTestModel(CalibratedForm::kSegments, 3e-3);
  const ModelShape shape = ReferenceShape(2048, 8);
  const Breakdown b = StepBreakdown(model, shape, EstimatorKind::kCalibrated);
  const double estimate = PredictStepSeconds(model, shape, EstimatorKind::kCalibrated);
  CHECK(b.fixed_s == 3e-3);
  CHECK(b.exposed_comm_s == 0);
  CHECK(b.step_s == Approx(estimate).epsilon(1e-12));
  CHECK(b.total_s + b.fixed_s + b.exposed_comm_s == Approx(estimate).epsilon(1e-9));
}

TEST_CASE("surface view: the extent follows the shapes with a loss, log axes over wide spans") {
  PlanOptions o;
  o.hours = 24;
  o.width = {256, 16384, 64};
  o.depth = {1, 128, 1};
  o.base = ReferenceShape(1024, 8);
  o.base.batch = 8;
  const PlanResult plan =
      Plan(o, DefaultTimeModel(LoadHardware("h100-sxm")), LossLawPreset("epoch"));
  REQUIRE(plan.found);
  const SurfaceView view = SurfaceViewOf(plan);
  // The default search spans 64x in width and 128x in depth: both axes logarithmic.
  CHECK(view.log_x);
  CHECK(view.log_y);
  // Every cell with a loss, and the marked shapes, lie inside the extent.
  const std::size_t nw = plan.widths.size();
  for (std::size_t i = 0; i < plan.loss.size(); ++i) {
    if (!std::isfinite(plan.loss[i])) continue;
    const double w = static_cast<double>(plan.widths[i % nw]);
    const double d = static_cast<double>(plan.depths[i / nw]);
    REQUIRE(w > view.x_min);
    REQUIRE(w < view.x_max);
    REQUIRE(d > view.y_min);
    REQUIRE(d < view.y_max);
  }
  CHECK(static_cast<double>(plan.flop_based.shape.d_model) < view.x_max);
  // The pixels: each the colour of its nearest cell, placed on the log axes; and far less of the
  // picture spent on cells the plan left out than in the one-pixel-per-cell image of the grid.
  const SurfaceImage px = SurfacePixels(plan, view, 512, 256);
  REQUIRE(px.argb.size() == 512u * 256u);
  const auto best_col = static_cast<int>(std::floor(
      512 * std::log(plan.best.shape.d_model / view.x_min) / std::log(view.x_max / view.x_min)));
  const auto best_row =
      static_cast<int>(std::floor(256 * (1 - std::log(plan.best.shape.n_layers / view.y_min) /
                                                 std::log(view.y_max / view.y_min))));
  const std::size_t best_cell = static_cast<std::size_t>(plan.best.shape.n_layers - 1) * nw +
                                static_cast<std::size_t>((plan.best.shape.d_model - 256) / 64);
  CHECK(px.argb[static_cast<std::size_t>(best_row) * 512 + best_col] ==
        LossColor(plan.loss[best_cell], px.scale));
  auto coloured_share = [](const SurfaceImage& img) {
    const auto grey = [](uint32_t c) {
      return c == kLeftOutArgb || c == kNoFitArgb || c == kUnderOneStepArgb;
    };
    return static_cast<double>(std::count_if(img.argb.begin(), img.argb.end(),
                                             [&](uint32_t c) { return !grey(c); })) /
           static_cast<double>(img.argb.size());
  };
  // Measured: 12% of the whole grid's linear picture has a loss, 53% of the view's.
  const double grid_share = coloured_share(SurfacePixels(plan));
  const double view_share = coloured_share(px);
  INFO("with a loss: " << grid_share << " of the grid's image, " << view_share << " of the view's");
  CHECK(grid_share < 0.2);
  CHECK(view_share > 3 * grid_share);
}

TEST_CASE("surface view: a narrow search stays linear, a pixel per cell") {
  PlanResult p = TinyPlan();
  const SurfaceView view = SurfaceViewOf(p);
  CHECK_FALSE(view.log_x);
  CHECK_FALSE(view.log_y);
  CHECK(view.x_min == Approx(50));
  CHECK(view.x_max == Approx(350));
  CHECK(view.y_min == Approx(0.5));
  CHECK(view.y_max == Approx(2.5));
  const SurfaceImage px = SurfacePixels(p, view, 3, 2, 1.0);
  const SurfaceImage cells = SurfacePixels(p, 1.0);
  CHECK(px.argb == cells.argb);
}

TEST_CASE("attention rows: PyTorch's kernel names map to ours, and only missing predictions fill") {
  AttentionKernel k;
  CHECK(AttentionKernelOfCsvName("sdpa_flash", &k));
  CHECK(k == AttentionKernel::kFlash);
  CHECK(AttentionKernelOfCsvName("favor_plus", &k));
  CHECK(k == AttentionKernel::kFavor);
  CHECK(AttentionKernelOfCsvName("naive_softmax", &k));
  CHECK_FALSE(AttentionKernelOfCsvName("mystery", &k));
  const HardwareProfile hw = LoadHardware("h200");
  std::vector<AttentionRow> rows(3);
  rows[0].kernel = "sdpa_flash";
  rows[1].kernel = "mystery";
  rows[2].kernel = "favor";
  rows[2].predicted_s = 0.5;  // the file's own prediction stays
  for (AttentionRow& r : rows) {
    r.batch = 2, r.heads = 4, r.seq_len = 1024, r.d_head = 64, r.features = 128;
    r.measured_s = 1e-3;
  }
  CHECK(PredictMissingAttention(&rows, hw) == 1);
  CHECK(rows[0].predicted_s == PredictAttentionSeconds(AttentionKernel::kFlash, 2, 4, 1024, 64, 128,
                                                       false, Precision::kBf16, hw));
  CHECK(rows[1].predicted_s == -1);
  CHECK(rows[2].predicted_s == 0.5);
}
