// Black-box tests of `chronoscale fit-loss`: runs the built binary, checks exit codes (0 ok,
// 2 bad input, 1 runtime failure), the JSON document and the error messages.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include <chronoscale/loss_law.h>

#include "cli_run.h"
#include "skip.h"

using namespace chronoscale;
using chronoscale::test::CliResult;
using chronoscale::test::Quote;
using chronoscale::test::RunCli;
using chronoscale::test::Slurp;
using chronoscale::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Runs from the Epoch law on a grid of sizes and ratios, with small deterministic noise.
std::string WriteRuns(const TempDir& dir, const std::string& name) {
  const LossLaw law = LossLawPreset("epoch");
  std::string text = "params,tokens,loss,note\n";
  int k = 0;
  for (double n : {3e7, 1e8, 3e8, 1e9, 3e9}) {
    for (double ratio : {5.0, 15.0, 40.0, 120.0}) {
      const double noise = 0.004 * std::sin(1.7 * ++k);
      text += fmt::format("{:g},{:g},{:.6f},run{}\n", n, ratio * n,
                          law.Loss(n, ratio * n) * std::exp(noise), k);
    }
  }
  return dir.Write(name, text);
}

}  // namespace

TEST_CASE("fit-loss --format json prints law, ci and fit") {
  TempDir dir;
  const std::string runs = WriteRuns(dir, "runs.csv");
  const CliResult r = RunCli("fit-loss --runs " + Quote(runs) + " --format json", dir);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  for (const char* key : {"schema_version", "tool", "version", "inputs", "law", "ci", "fit"}) {
    CHECK(doc.contains(key));
  }
  for (const char* key : {"form", "E", "A", "B", "alpha", "beta"}) CHECK(doc["law"].contains(key));
  CHECK(doc["law"]["form"] == "chinchilla");
  CHECK(doc["law"]["alpha"].get<double>() == Approx(0.3478).margin(0.03));
  for (const char* key : {"objective", "starts", "starts_converged", "iterations", "time_s",
                          "n_runs", "dropped", "warnings", "residual_summary", "residuals"}) {
    CHECK(doc["fit"].contains(key));
  }
  CHECK(doc["fit"]["starts"] == 4500);
  CHECK(doc["fit"]["n_runs"] == 20);
  CHECK(doc["fit"]["converged"] == true);
  CHECK(doc["ci"].empty());  // no --bootstrap: no resampling
  CHECK(r.out.find("NaN") == std::string::npos);
  CHECK(r.out.find("nan") == std::string::npos);
}

TEST_CASE("fit-loss --bootstrap gives intervals, the same for the same --seed") {
  TempDir dir;
  const std::string runs = WriteRuns(dir, "runs.csv");
  const std::string args = "fit-loss --runs " + Quote(runs) + " --bootstrap 30 --format json";
  const CliResult a = RunCli(args + " --seed 3", dir);
  const CliResult b = RunCli(args + " --seed 3", dir);
  INFO(a.err);
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  const auto ja = nlohmann::json::parse(a.out);
  const auto jb = nlohmann::json::parse(b.out);
  for (const char* key : {"A", "B", "E", "alpha", "beta", "a", "b", "G", "N_opt"}) {
    REQUIRE(ja["ci"].contains(key));
    CHECK(ja["ci"][key].size() == 2);
    CHECK(ja["ci"][key][0].get<double>() <= ja["ci"][key][1].get<double>());
    CHECK(ja["ci"][key] == jb["ci"][key]);
  }
}

TEST_CASE("fit-loss table output and --out law.json that plan-style loaders accept") {
  TempDir dir;
  const std::string runs = WriteRuns(dir, "runs.csv");
  const CliResult t = RunCli("fit-loss --runs " + Quote(runs), dir);
  REQUIRE(t.code == 0);
  CHECK_THAT(t.out, Catch::Contains("alpha") && Catch::Contains("objective") &&
                        Catch::Contains("residuals"));
  const std::string law = dir.File("law.json");
  const CliResult o = RunCli("fit-loss --runs " + Quote(runs) + " --out " + Quote(law), dir);
  INFO(o.err);
  REQUIRE(o.code == 0);
  CHECK(o.out.empty());
  const LossLaw loaded = LoadLaw(law);
  CHECK(loaded.alpha == Approx(0.3478).margin(0.03));
}

TEST_CASE("fit-loss refuses to write over its input") {
  TempDir dir;
  const std::string runs = WriteRuns(dir, "runs.csv");
  const std::string before = Slurp(runs);
  const CliResult r = RunCli("fit-loss --runs " + Quote(runs) + " --out " + Quote(runs), dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("input"));
  CHECK(Slurp(runs) == before);
}

TEST_CASE("fit-loss bad input exits 2 naming file:line:col, flag or column") {
  TempDir dir;
  const std::string bad = dir.Write("bad.csv", "params,tokens,loss\n1e8,2e9,3.1\n2e8,4e9,x\n");
  CliResult r = RunCli("fit-loss --runs " + Quote(bad), dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains(bad + ":3:3"));

  r = RunCli("fit-loss --runs " + Quote(dir.File("missing.csv")), dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("missing.csv"));

  const std::string runs = WriteRuns(dir, "runs.csv");
  r = RunCli("fit-loss --runs " + Quote(runs) + " --loss-col final", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("'final'"));

  r = RunCli("fit-loss --runs " + Quote(runs) + " --tokens-col tokens --flops-col tokens", dir);
  CHECK(r.code == 2);

  r = RunCli("fit-loss --runs " + Quote(runs) + " --bootstrap -3", dir);
  CHECK(r.code == 2);

  r = RunCli("fit-loss", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--runs"));

  const std::string few =
      dir.Write("few.csv", "params,tokens,loss\n1e8,2e9,3.1\n2e8,4e9,3.0\n1e9,2e10,2.5\n");
  r = RunCli("fit-loss --runs " + Quote(few), dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("at least 5"));
}

TEST_CASE("fit-loss reproduces Epoch's fit on the digitised Chinchilla data", "[may-skip]") {
  const std::string data = CHRONOSCALE_CHINCHILLA_CSV;
  if (!fs::exists(data)) {
    CHRONOSCALE_SKIP(data << " is absent: it is data/svg_extracted_data.csv of "
                             "github.com/epoch-research/analyzing-chinchilla (set "
                             "CHRONOSCALE_CHINCHILLA_CSV when configuring)");
  }
  TempDir dir;
  const CliResult r = RunCli("fit-loss --runs " + Quote(data) +
                                 " --params-col 'Model Size' --flops-col 'Training FLOP'"
                                 " --drop-highest 5 --format json",
                             dir);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["law"]["A"].get<double>() == Approx(477.8).margin(5));
  CHECK(doc["law"]["B"].get<double>() == Approx(2143).margin(80));
  CHECK(doc["law"]["E"].get<double>() == Approx(1.8172).margin(0.002));
  CHECK(doc["fit"]["n_runs"] == 240);
  CHECK(doc["fit"]["dropped"] == 5);
}

namespace {

// plan --format json with the law's draws and a fitted time model: every ranked shape and both
// answers carry a 95% loss interval around their loss; the shapes indistinguishable from the best
// carry their chance of being best (summing to at most 1); the loss saved has an interval.
void CheckPlanIntervals(const TempDir& dir, const std::string& law_path, int draws) {
  const std::string steps = std::string(CHRONOSCALE_TEST_DATA) + "/steps.csv";
  const std::string tm = dir.File("tm.json");
  CliResult r = RunCli(
      "fit-time --runs " + Quote(steps) + " --hardware h200-measured --out " + Quote(tm), dir);
  REQUIRE(r.code == 0);
  r = RunCli("plan --hours 24 --hardware h200-measured --time-model " + Quote(tm) + " --law " +
                 Quote(law_path) + " --top 8 --format json",
             dir);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto plan = nlohmann::json::parse(r.out);
  CHECK(plan["uncertainty"]["draws"] == draws);
  CHECK(plan["uncertainty"]["law_bootstrap_draws"] == true);
  CHECK(plan["uncertainty"]["step_time_sigma"].get<double>() > 0.005);
  CHECK(plan["law_coefficients"]["bootstrap_draws"] == draws);
  CHECK(plan["time_model"]["fitted_on"]["runs"] == 57);
  std::vector<nlohmann::json> shapes(plan["top"].begin(), plan["top"].end());
  shapes.push_back(plan["best"]);
  shapes.push_back(plan["flop_based"]);
  for (const auto& c : shapes) {
    REQUIRE(c.contains("loss_interval"));
    const double lo = c["loss_interval"][0], hi = c["loss_interval"][1], loss = c["loss"];
    CHECK(lo < loss);
    CHECK(loss < hi);
    CHECK(hi - lo < 0.2);
  }
  double sum = 0;
  REQUIRE(!plan["indistinguishable"].empty());
  for (const auto& s : plan["indistinguishable"]) {
    CHECK(s["p_best"].get<double>() > 0);
    sum += s["p_best"].get<double>();
  }
  CHECK(sum <= 1 + 1e-9);
  const double saved = plan["loss_saved"];
  const double s_lo = plan["loss_saved_interval"][0], s_hi = plan["loss_saved_interval"][1];
  CHECK(s_lo <= saved);
  CHECK(saved <= s_hi);
  // Without draws or a fitted time model there is no uncertainty to report.
  r = RunCli("plan --hours 24 --hardware h200-measured --top 3 --format json", dir);
  REQUIRE(r.code == 0);
  const auto bare = nlohmann::json::parse(r.out);
  CHECK_FALSE(bare.contains("indistinguishable"));
  CHECK_FALSE(bare["best"].contains("loss_interval"));
}

}  // namespace

TEST_CASE("fit-loss --bootstrap stores its draws; plan turns them into loss intervals") {
  TempDir dir;
  const std::string runs = WriteRuns(dir, "runs.csv");
  const std::string law = dir.File("law.json");
  const CliResult r =
      RunCli("fit-loss --runs " + Quote(runs) + " --bootstrap 40 --out " + Quote(law), dir);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const LossLaw read = LoadLaw(law);
  REQUIRE(read.draws.size() == 40);
  // A draw is a law near the fit.
  CHECK(read.Draw(0).alpha == Approx(read.alpha).epsilon(0.5));
  CheckPlanIntervals(dir, law, 40);
  // A malformed draw is refused with its index.
  auto doc = nlohmann::json::parse(Slurp(law));
  doc["law"]["bootstrap_draws"][3] = {1.0, -2.0, 3.0, 0.3, 0.3};
  const std::string bad = dir.Write("bad.json", doc.dump());
  const CliResult b = RunCli("plan --hours 1 --law " + Quote(bad), dir);
  CHECK(b.code == 2);
  CHECK_THAT(b.err, Catch::Contains("bootstrap_draws[3]"));
}

TEST_CASE("Epoch's fit with 200 bootstrap draws gives the plan intervals", "[may-skip]") {
  const std::string data = CHRONOSCALE_CHINCHILLA_CSV;
  if (!fs::exists(data)) CHRONOSCALE_SKIP(data << " is absent");
  TempDir dir;
  const std::string law = dir.File("law.json");
  const CliResult r = RunCli("fit-loss --runs " + Quote(data) +
                                 " --params-col 'Model Size' --flops-col 'Training FLOP'"
                                 " --drop-highest 5 --bootstrap 200 --out " +
                                 Quote(law),
                             dir);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CheckPlanIntervals(dir, law, 200);
}

TEST_CASE("fit-loss --shape-term reads d_model and n_layers; --param-count is recorded") {
  TempDir dir;
  LossLaw truth = LossLawPreset("epoch");
  truth.shape_C = 0.03;
  truth.shape_aspect = 64;
  std::string text = "params,tokens,loss,d_model,n_layers\n";
  int k = 0;
  for (double n : {5e7, 2e8, 8e8, 3e9}) {
    for (double ratio : {10.0, 30.0}) {
      for (int layers : {4, 8, 16, 32, 64}) {
        const double aspect = 1024.0 / layers;
        const double loss = truth.Loss(n, ratio * n, aspect) * std::exp(0.001 * std::sin(++k));
        text += fmt::format("{:g},{:g},{:.6f},1024,{}\n", n, ratio * n, loss, layers);
      }
    }
  }
  const std::string runs = dir.Write("runs.csv", text);
  CliResult r = RunCli("fit-loss --runs " + Quote(runs) + " --shape-term --format json", dir);
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["law"]["shape_term"]["C"].get<double>() == Approx(0.03).epsilon(0.15));
  CHECK(doc["law"]["shape_term"]["aspect"].get<double>() == Approx(64).epsilon(0.2));
  r = RunCli("fit-loss --runs " + Quote(runs) + " --shape-term", dir);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("shape term"));
  r = RunCli("fit-loss --runs " + Quote(runs) + " --param-count non-embedding --format json", dir);
  REQUIRE(r.code == 0);
  CHECK(nlohmann::json::parse(r.out)["law"]["params"] == "non_embedding");
  r = RunCli("fit-loss --runs " + Quote(runs) + " --param-count some", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--param-count"));
  r = RunCli("fit-loss --runs " + Quote(runs) + " --shape-term --width-col width", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("width"));
}
