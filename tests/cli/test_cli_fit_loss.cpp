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
