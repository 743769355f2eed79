// Calibrating on your own hardware (issue 17): runs tied to their device, what a time model and
// a law were fitted on, and the designed experiments.
#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include <chronoscale/design.h>
#include <chronoscale/error.h>
#include <chronoscale/loss_law.h>
#include <chronoscale/time_fit.h>

using namespace chronoscale;

namespace {

StepRun Run(const std::string& hardware, const std::string& device, int line) {
  StepRun r;
  r.shape = ReferenceShape(512, 4);
  r.hardware = hardware;
  r.device = device;
  r.step_s = 0.01;
  r.line = line;
  return r;
}

}  // namespace

TEST_CASE("Runs are tied to the device they were measured on") {
  const HardwareProfile h200 = LoadHardware("h200-measured");
  REQUIRE(h200.device == "NVIDIA H200");
  SECTION("the same device under another profile name, by preset or by device name") {
    std::vector<StepRun> runs = {Run("h200", "", 2), Run("nvidia-h200-measured", "NVIDIA H200", 3),
                                 Run("h200-sxm", "", 4)};
    const RunsHardware tie = AssignRunsHardware(&runs, "r.csv", h200, "", false);
    CHECK_FALSE(tie.forced);
    for (const auto& r : runs) CHECK(r.hardware.empty());  // priced on h200-measured itself
  }
  SECTION("every run from another preset: refused, or carried with --force") {
    std::vector<StepRun> runs = {Run("a100-40gb", "", 2), Run("a100-40gb", "", 3)};
    auto copy = runs;
    CHECK_THROWS_WITH(AssignRunsHardware(&copy, "r.csv", h200, "", false),
                      Catch::Contains("r.csv:2") && Catch::Contains("a100-40gb"));
    const RunsHardware tie = AssignRunsHardware(&runs, "r.csv", h200, "", true);
    CHECK(tie.forced);
    CHECK(runs[0].hardware == "a100-40gb");  // priced on its own device, then retargeted
  }
  SECTION("a machine that is no preset: refused naming it, fitted as the target with --force") {
    std::vector<StepRun> runs = {Run("myhost-cpu", "Some CPU 9000", 7)};
    auto copy = runs;
    CHECK_THROWS_WITH(AssignRunsHardware(&copy, "r.csv", h200, "", false),
                      Catch::Contains("r.csv:7") && Catch::Contains("Some CPU 9000"));
    const RunsHardware tie = AssignRunsHardware(&runs, "r.csv", h200, "", true);
    CHECK(tie.forced);
    CHECK(runs[0].hardware.empty());
  }
  SECTION("a local profile matches runs by its CPU model, whatever the host is called") {
    HardwareProfile local = h200;
    local.name = "local";
    local.device = "Some CPU 9000";
    std::vector<StepRun> runs = {Run("otherhost-cpu", "Some CPU 9000", 2)};
    AssignRunsHardware(&runs, "r.csv", local, "", false);
    CHECK(runs[0].hardware.empty());
  }
  SECTION("unlabelled runs are the target's, with a note; --runs-hardware labels them") {
    std::vector<StepRun> runs = {Run("", "", 2)};
    auto copy = runs;
    const RunsHardware tie = AssignRunsHardware(&copy, "r.csv", h200, "", false);
    REQUIRE(tie.notes.size() == 1);
    CHECK_THAT(tie.notes[0], Catch::Contains("name no hardware"));
    CHECK_THROWS_AS(AssignRunsHardware(&runs, "r.csv", h200, "a100-40gb", false), InputError);
  }
}

TEST_CASE("A time model records what it was fitted on, and says when a shape is outside") {
  std::vector<StepRun> runs;
  for (int64_t d : {256, 512, 1024}) {
    for (int64_t n : {2, 4, 8, 16}) {
      StepRun r;
      r.shape = ReferenceShape(d, n);
      r.step_s = 1e-3 * static_cast<double>(d * n) / 256.0 + 2e-3;
      runs.push_back(r);
    }
  }
  const TimeFitSummary fit = FitTimeModel(runs, LoadHardware("h100-sxm"));
  const FitDomain& dom = fit.model.fitted_on;
  CHECK(dom.runs == 12);
  CHECK(dom.params_min == Approx(ReferenceShape(256, 2).Params()));
  CHECK(dom.params_max == Approx(ReferenceShape(1024, 16).Params()));
  CHECK(dom.hardware == std::vector<std::string>{"h100-sxm"});
  CHECK(OutsideFitDomain(dom, ReferenceShape(512, 8)).empty());
  const auto far = OutsideFitDomain(dom, ReferenceShape(4096, 32));
  REQUIRE(far.size() == 1);
  CHECK_THAT(far[0], Catch::Contains("parameters"));
  ModelShape long_seq = ReferenceShape(512, 8);
  long_seq.seq_len = 8192;
  CHECK(OutsideFitDomain(dom, long_seq).size() == 2);  // sequence and tokens per step
  // Kept through JSON with the calibrated form.
  const TimeModel back = TimeModelFromJson(TimeModelToJson(fit.model), "m.json");
  CHECK(back.fitted_on.runs == 12);
  CHECK(back.fitted_on.params_max == dom.params_max);
  CHECK(back.calibrated.form == CalibratedForm::kSegments);
  // A model written before the form existed is read as the whole-step form.
  auto doc = TimeModelToJson(fit.model);
  doc["estimators"]["calibrated"].erase("form");
  CHECK(TimeModelFromJson(doc, "old.json").calibrated.form == CalibratedForm::kWholeStep);
}

TEST_CASE("A loss law knows the range it was fitted on") {
  const LossLaw epoch = LossLawPreset("epoch");
  REQUIRE(epoch.fitted.Known());
  CHECK(OutsideLawRange(epoch, 1e9, 2e10).empty());
  const auto far = OutsideLawRange(epoch, 7.8e9, 2.49e13);  // the 720 h plan of issue 14
  REQUIRE(far.size() == 1);
  CHECK_THAT(far[0], Catch::Contains("78.3x the largest fitted"));
  CHECK(OutsideLawRange(epoch, 1e9, 6).size() == 1);  // 6 tokens
  const LossLaw back = LossLawFromJson(LossLawToJson(epoch), "law.json");
  CHECK(back.fitted.tokens_max == epoch.fitted.tokens_max);
  CHECK_THROWS_AS(LossLawFromJson(nlohmann::json::parse(R"({"E": 1.8, "A": 400, "B": 400,
      "alpha": 0.3, "beta": 0.3, "fitted_range": {"params": [5, 1], "tokens": [1, 2]}})"),
                                  "law.json"),
                  InputError);
}

TEST_CASE("The design pins the calibrated model's parameters better than a random choice") {
  const TimeModel model = DefaultTimeModel(LoadHardware("h100-sxm"));
  DesignOptions o;
  o.count = 16;
  const Design d = DesignExperiments(model, o);
  REQUIRE(d.shapes.size() == 16);
  REQUIRE(d.standard_error.size() == 7);
  std::set<std::string> roles;
  for (const auto& s : d.shapes) {
    roles.insert(s.role);
    CHECK(s.shape.d_model >= o.width_min);
    CHECK(s.shape.d_model <= o.width_max);
    CHECK(s.predicted_s > 0);
    CHECK_NOTHROW(s.shape.Validate());
  }
  CHECK(roles == std::set<std::string>{"d-optimal", "coverage"});
  // Same seed, same design.
  const Design again = DesignExperiments(model, o);
  CHECK(DesignCsv(again) == DesignCsv(d));
  // Every parameter is identified: no standard error per 1% noise above 0.5 (in log units,
  // ms for c0). A design of one sequence length cannot separate attention from the rest.
  for (double se : d.standard_error) CHECK(se < 0.5);
  DesignOptions narrow = o;
  narrow.seq = {1024};
  narrow.batch = {8};
  narrow.vocab = {32768};
  narrow.coverage = 0;
  const Design flat = DesignExperiments(model, narrow);
  CHECK(flat.standard_error[2] > 3 * d.standard_error[2]);  // attention
  // Bad options are input errors.
  DesignOptions bad = o;
  bad.count = 0;
  CHECK_THROWS_AS(DesignExperiments(model, bad), InputError);
  bad = o;
  bad.max_params = 10;
  CHECK_THROWS_WITH(DesignExperiments(model, bad), Catch::Contains("no candidate shape fits"));
  // The Slurm script quotes paths and runs the harness under torchrun.
  const std::string script =
      SlurmScript("tools/measure_steps.py", "my shapes.csv", "runs.csv", 2, 8, "01:00:00");
  CHECK_THAT(script, Catch::Contains("#SBATCH --nodes=2") &&
                         Catch::Contains("--nproc_per_node 8") &&
                         Catch::Contains("'my shapes.csv'"));
}
