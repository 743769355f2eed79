// One setup function per subcommand (CLI11's subcom_in_files pattern). Each adds its subcommand
// to `app` and sets a callback that runs it; the callback throws InputError (exit 2),
// RuntimeError (exit 1) or returns normally (exit 0).
#pragma once

#include <CLI/CLI.hpp>

namespace chronoscale::cli {

void SetupHardware(CLI::App& app);
void SetupEstimate(CLI::App& app);
void SetupFitTime(CLI::App& app);
void SetupFitLoss(CLI::App& app);
void SetupPlan(CLI::App& app);
void SetupBench(CLI::App& app);
void SetupAttention(CLI::App& app);
void SetupCalibrate(CLI::App& app);
void SetupDesign(CLI::App& app);

}  // namespace chronoscale::cli
