// RunCli: parse, dispatch, map errors to exit codes (0 ok, 1 runtime failure, 2 bad input).
#include <CLI/CLI.hpp>
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

}  // namespace chronoscale::cli
