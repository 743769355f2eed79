// chronoscale-bench: the lean microbenchmark binary for GPU and cluster nodes. Same flags as
// `chronoscale bench`; links the bench library alone (no Ceres, no Qt).
#include <CLI/CLI.hpp>
#include <iostream>

#include <chronoscale/bench.h>
#include <chronoscale/error.h>
#include <chronoscale/hardware.h>
#include <chronoscale/version.h>

#include "bench_command.h"
#include "cli_common.h"

namespace chronoscale::cli {
// The lean binary links no Qt: --plot is the full CLI's (plot the saved profile there).
void RenderBenchPlot(const HardwareProfile&, const std::string& path) {
  throw RuntimeError("cannot write " + path +
                     ": chronoscale-bench has no plots; save the profile with --out and run "
                     "`chronoscale bench`-style plots with the full chronoscale build");
}
}  // namespace chronoscale::cli

int main(int argc, char** argv) {
  using namespace chronoscale;
  CLI::App app{
      "chronoscale-bench: measure this machine (or its CUDA device) and write a hardware profile "
      "for chronoscale --hardware"};
  app.set_version_flag("--version", std::string("chronoscale-bench ") + Version() +
                                        (HaveCudaBackend() ? " (CUDA backend)" : " (CPU only)"));
  cli::AddBenchOptions(&app);
  return cli::ParseAndRun(app, argc, argv);
}
