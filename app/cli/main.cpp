// chronoscale: parse, dispatch, map errors to exit codes (0 ok, 1 runtime failure, 2 bad input).
#include <CLI/CLI.hpp>
#include <iostream>

#include <chronoscale/error.h>
#include <chronoscale/version.h>

#include "cli_common.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace chronoscale;
  CLI::App app{"chronoscale: which transformer to train for a wall-clock budget on given hardware"};
  app.set_version_flag("--version", std::string("chronoscale ") + Version());
  app.require_subcommand(1);
  cli::SetupHardware(app);
  cli::SetupAttention(app);
  cli::SetupCalibrate(app);
  cli::SetupBench(app);
  cli::SetupEstimate(app);
  cli::SetupFitTime(app);
  cli::SetupPlan(app);
  cli::SetupFitLoss(app);
  cli::SetupDesign(app);
  return cli::ParseAndRun(app, argc, argv);
}
