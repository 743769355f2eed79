// One setup function per subcommand (CLI11's subcom_in_files pattern). Each adds its subcommand
// to `app` and sets a callback that runs it; the callback throws InputError (exit 2),
// RuntimeError (exit 1) or returns normally (exit 0).
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>

namespace chronoscale::cli {

// Where one run of the command line writes: its result (a table, JSON, CSV; help) to `out`, its
// diagnostics (errors, notes, warnings, "wrote FILE") to `err`.
struct Console {
  std::ostream& out;
  std::ostream& err;
};

// The whole command line: builds the app with every subcommand, parses argv and runs it.
// Returns the exit code (0 ok, 1 runtime failure, 2 bad input); main() returns it. Tests and the
// argv fuzz target call it in-process.
int RunCli(int argc, char** argv);
// The same, writing to `console`: for the run, std::cout and std::cerr write into its streams,
// so every writer (the commands, CLI11's help and errors, core's OutputFile) follows, and both
// are restored when it returns. Files named by --out and the terminal progress bar are not
// redirected.
int RunCli(int argc, char** argv, const Console& console);

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
