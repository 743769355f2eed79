// The bench command's options and run, shared by `chronoscale bench` and the lean
// `chronoscale-bench` binary (which adds them to its root app).
#pragma once

#include <CLI/CLI.hpp>

namespace chronoscale::cli {

// Adds --quick, --device, --threads, --out, --format to `app` and a callback that runs the
// bench and prints the report (table) or the profile document (json).
void AddBenchOptions(CLI::App* app);

}  // namespace chronoscale::cli
