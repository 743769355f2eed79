// The README's worked example is pinned: every `$ chronoscale ...` line in a fenced block of
// README.md is run as written (in a scratch folder holding tests/data/steps.csv, so relative
// paths resolve as from a clone) and its standard output must equal the lines the README shows
// under it, line for line (trailing spaces aside: Markdown drops them). A change of the fit, the
// planner or a report's format then fails here until the README is updated with the new output.
// Commands the README shows without output (e.g. `--explain`) must still succeed.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.h"

using chronoscale::test::CliResult;
using chronoscale::test::RunCliIn;
using chronoscale::test::Slurp;
using chronoscale::test::TempDir;

namespace {

// `text` with the spaces at the end of each line removed.
std::string TrimLineEnds(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

struct Example {
  std::string args;      // after "chronoscale "
  std::string expected;  // the lines under it, each ending in '\n'
  int line = 0;          // of README.md
};

std::vector<Example> ReadmeExamples(const std::string& path) {
  std::ifstream in(path);
  std::vector<Example> out;
  std::string line;
  bool fenced = false;
  Example* current = nullptr;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.rfind("```", 0) == 0) {
      fenced = !fenced;
      current = nullptr;
      continue;
    }
    if (!fenced) continue;
    if (line.rfind("$ ", 0) == 0) {
      current = nullptr;
      const std::string prefix = "$ chronoscale ";
      if (line.rfind(prefix, 0) != 0) continue;
      std::string args = line.substr(prefix.size());
      const auto comment = args.find("   #");  // a trailing remark, as in the --explain line
      if (comment != std::string::npos) args.erase(comment);
      while (!args.empty() && args.back() == ' ') args.pop_back();
      out.push_back({args, "", n});
      current = &out.back();
    } else if (current != nullptr) {
      current->expected += line + "\n";  // README lines carry no trailing spaces
    }
  }
  return out;
}

}  // namespace

TEST_CASE("README worked example: each command prints what the README shows") {
  const auto examples = ReadmeExamples(std::string(CHRONOSCALE_SOURCE_DIR) + "/README.md");
  // fit-time, plan, estimate and estimate --explain: a README that lost them fails here too.
  REQUIRE(examples.size() >= 4);
  TempDir dir;
  dir.Write("tests/data/steps.csv", Slurp(std::string(CHRONOSCALE_TEST_DATA) + "/steps.csv"));
  dir.Write("tests/data/cluster_runs.csv",
            Slurp(std::string(CHRONOSCALE_TEST_DATA) + "/cluster_runs.csv"));
  dir.Write("resources/configs/llama-2-70b.json",
            Slurp(std::string(CHRONOSCALE_SOURCE_DIR) + "/resources/configs/llama-2-70b.json"));
  dir.Write("resources/configs/mixtral-8x7b.json",
            Slurp(std::string(CHRONOSCALE_SOURCE_DIR) + "/resources/configs/mixtral-8x7b.json"));
  int compared = 0;
  for (const auto& e : examples) {
    INFO("README.md:" << e.line << ": chronoscale " << e.args);
    const CliResult r = RunCliIn(e.args, dir);
    INFO(r.err);
    REQUIRE(r.code == 0);
    if (e.expected.empty()) {
      CHECK_FALSE(r.out.empty());
      continue;
    }
    CHECK(TrimLineEnds(r.out) == TrimLineEnds(e.expected));
    ++compared;
  }
  CHECK(compared >= 3);
}
