// RunCli: parse, dispatch, map errors to exit codes (0 ok, 1 runtime failure, 2 bad input).
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include <chronoscale/version.h>

#include "cli_common.h"
#include "commands.h"

namespace chronoscale::cli {

int RunCli(int argc, char** argv) {
  CLI::App app{"chronoscale: which transformer to train for a wall-clock budget on given hardware"};
  app.set_version_flag("--version", std::string("chronoscale ") + Version());
  app.require_subcommand(1);
  SetupHardware(app);
  SetupAttention(app);
  SetupCalibrate(app);
  SetupBench(app);
  SetupEstimate(app);
  SetupFitTime(app);
  SetupPlan(app);
  SetupFitLoss(app);
  SetupDesign(app);
  return ParseAndRun(app, argc, argv);
}

namespace {

// Points a stream at another's buffer until it goes out of scope.
class Redirect {
 public:
  Redirect(std::ostream& from, std::ostream& to) : m_from(from), m_old(from.rdbuf(to.rdbuf())) {}
  ~Redirect() {
    m_from.flush();
    m_from.rdbuf(m_old);
  }
  Redirect(const Redirect&) = delete;
  Redirect& operator=(const Redirect&) = delete;

 private:
  std::ostream& m_from;
  std::streambuf* m_old;
};

}  // namespace

int RunCli(int argc, char** argv, const Console& console) {
  const Redirect out(std::cout, console.out);
  const Redirect err(std::cerr, console.err);
  return RunCli(argc, argv);
}

}  // namespace chronoscale::cli
