// The command line run in-process through RunCli (the library main() calls): exit codes, what
// reaches stdout and stderr, and that a streamed sweep gives the same rows as the plan's grid.
#include <catch2/catch.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"

namespace {

struct Captured {
  int code = -1;
  std::string out, err;
};

// Runs `args` (split on spaces) with its output and diagnostics captured.
Captured Run(const std::string& args) {
  std::vector<std::string> words{"chronoscale"};
  std::istringstream in(args);
  for (std::string w; in >> w;) words.push_back(w);
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  Captured c;
  c.code = chronoscale::cli::RunCli(static_cast<int>(words.size()), argv.data(), {out, err});
  c.out = out.str();
  c.err = err.str();
  return c;
}

}  // namespace

TEST_CASE("RunCli: an estimate in-process, as JSON on stdout", "[cli]") {
  const Captured c = Run("estimate --d-model 1024 --layers 8 --format json");
  INFO(c.err);
  REQUIRE(c.code == 0);
  const nlohmann::json doc = nlohmann::json::parse(c.out);
  const auto& r = doc.at("results").at(0);
  CHECK(r.at("d_model") == 1024);
  CHECK(r.at("n_layers") == 8);
  CHECK(r.at("pred_step_ms").get<double>() > 0);
}

TEST_CASE("RunCli: bad input is exit 2 with the flag named, before any work", "[cli]") {
  const Captured heads = Run("estimate --d-model 1000 --layers 8 --heads 7");
  CHECK(heads.code == 2);
  CHECK_THAT(heads.err, Catch::Contains("--heads"));
  const Captured unknown = Run("plan --hours 1 --no-such-flag");
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("--no-such-flag"));
  const Captured none = Run("");
  CHECK(none.code == 2);
}

TEST_CASE("RunCli: a console gets the run's output, and the process's streams come back", "[cli]") {
  std::streambuf* before = std::cout.rdbuf();
  const Captured table = Run("estimate --d-model 1024 --layers 8");
  CHECK(table.code == 0);
  CHECK_THAT(table.out, Catch::StartsWith("shape      d1024 x 8"));
  CHECK(table.err.empty());
  const Captured help = Run("plan --help");
  CHECK(help.code == 0);
  CHECK_THAT(help.out, Catch::Contains("--hours"));
  const Captured bad = Run("plan --hours -1");
  CHECK(bad.code == 2);
  CHECK(bad.out.empty());
  CHECK_THAT(bad.err, Catch::StartsWith("error: --hours"));
  CHECK(std::cout.rdbuf() == before);
}

TEST_CASE("RunCli: the streamed sweep has one row per grid cell", "[cli]") {
  const Captured c = Run("sweep --hours 1 --width 256:1024:128 --depth 2:8:2");
  INFO(c.err);
  REQUIRE(c.code == 0);
  std::istringstream lines(c.out);
  std::string header, line;
  std::getline(lines, header);
  CHECK_THAT(header, Catch::StartsWith("d_model,n_layers"));
  int rows = 0;
  while (std::getline(lines, line)) rows += !line.empty();
  CHECK(rows == 7 * 4);  // widths 256..1024 step 128, depths 2..8 step 2
}
