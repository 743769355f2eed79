// Helpers shared by the subcommands: output formats, writing results to stdout or --out, the
// terminal progress bar, hardware lookup.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include <chronoscale/format.h>
#include <chronoscale/hardware.h>
#include <chronoscale/progress.h>

namespace chronoscale::cli {

enum class Format { kTable, kJson, kCsv };

// Adds --format with the given choices (a subset of table, json, csv); default table.
CLI::Option* AddFormatOption(CLI::App* sub, Format* format, bool allow_csv);

// Writes `text` to --out (atomically) when `out_path` is set, else to stdout, control characters
// escaped (newlines and tabs kept). Refuses to write over any path in `inputs` (InputError).
void Emit(const std::string& text, const std::string& out_path,
          const std::vector<std::string>& inputs = {});

// One line of diagnostics ("error: ...", "warning: ...", "wrote FILE") to stderr, its control
// characters escaped (user text never reaches the terminal raw).
void Diag(std::string_view line);

// Header fields every JSON document carries: schema_version, tool, version, inputs.
nlohmann::json Provenance(const std::vector<std::string>& input_paths);

// A progress callback drawing a bar on stderr when it is a terminal (nothing otherwise).
ProgressCallback TerminalProgress(const std::string& label);
// A --hardware value: "local" (this machine's measured profile: cached, or measured now with a
// progress line), a preset, an alias of one, or a profile JSON file.
HardwareProfile ResolveHardware(const std::string& name);
// An output path that can be written: not a folder, in an existing folder, not write-protected
// (InputError for a folder, RuntimeError otherwise). ParseAndRun checks every --out, --plot,
// --export-hf, --script and --out-profile this way before any work, and refuses two that name
// the same file.
void CheckOutputPath(const std::string& path, const std::string& flag);

// Refuses an output path that names an input file (InputError naming both).
void CheckNotInput(const std::string& out_path, const std::vector<std::string>& inputs,
                   const std::string& flag);

// Parses and runs `app`, mapping errors to the exit codes of ARCHITECTURE.md: 0 ok; 2 bad usage
// or bad input (CLI11's parse errors, InputError); 1 runtime failure (RuntimeError, Cancelled,
// out of memory, anything else). Help and --version exit 0.
int ParseAndRun(CLI::App& app, int argc, char** argv);
// With `abort` set, an exception that is none of the tool's error types (a bug: an
// std::out_of_range from a library, say) aborts after its message instead of exiting 1; for the
// argv fuzz target.
void SetAbortOnUnexpectedError(bool abort);

// A --plot path must end in .png or .svg (InputError otherwise).
void CheckPlotPath(const std::string& path);

}  // namespace chronoscale::cli
