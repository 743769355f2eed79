#include "cli_common.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <chronoscale/bench.h>
#include <chronoscale/error.h>
#include <chronoscale/io.h>
#include <chronoscale/version.h>

namespace chronoscale::cli {

CLI::Option* AddFormatOption(CLI::App* sub, Format* format, bool allow_csv) {
  std::map<std::string, Format> names{{"table", Format::kTable}, {"json", Format::kJson}};
  if (allow_csv) names["csv"] = Format::kCsv;
  return sub->add_option("--format", *format, "output format")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case));
}

void CheckNotInput(const std::string& out_path, const std::vector<std::string>& inputs,
                   const std::string& flag) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& in : inputs) {
    if (in.empty()) continue;
    if (fs::exists(out_path, ec) && fs::exists(in, ec) && fs::equivalent(out_path, in, ec)) {
      throw InputError(
          fmt::format("{} {} names the input file {}; choose another path (inputs are "
                      "never overwritten)",
                      flag, out_path, in));
    }
  }
}

void Emit(const std::string& text, const std::string& out_path,
          const std::vector<std::string>& inputs) {
  // Control characters from user text (a file name, a label) are escaped; JSON has none raw.
  std::string body = Printable(text, true);
  if (!body.empty() && body.back() != '\n') body += '\n';
  if (out_path.empty()) {
    std::cout << body;
    std::cout.flush();
    return;
  }
  CheckNotInput(out_path, inputs, "--out");
  WriteFileAtomic(out_path, body);
  Diag("wrote " + out_path);
}

void Diag(std::string_view line) {
  std::cerr << Printable(line, true) << "\n";
  std::cerr.flush();
}

nlohmann::json Provenance(const std::vector<std::string>& input_paths) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& p : input_paths) {
    if (!p.empty()) inputs.push_back(InputProvenance(p));
  }
  return {{"schema_version", kSchemaVersion},
          {"tool", "chronoscale"},
          {"version", Version()},
          {"inputs", inputs}};
}

ProgressCallback TerminalProgress(const std::string& label) {
  if (!::isatty(STDERR_FILENO)) return nullptr;
  return [label, last = -1](double fraction, const std::string& message) mutable {
    const int pct = static_cast<int>(std::lround(100 * std::clamp(fraction, 0.0, 1.0)));
    if (pct == last && fraction < 1.0) return true;
    last = pct;
    const int width = 30;
    const int filled = pct * width / 100;
    std::fprintf(stderr, "\r%s [%s%s] %3d%% %-40.40s", label.c_str(),
                 std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), pct,
                 message.c_str());
    if (fraction >= 1.0) std::fputc('\n', stderr);
    std::fflush(stderr);
    return true;
  };
}

namespace {
bool g_abort_on_unexpected = false;
}  // namespace

void SetAbortOnUnexpectedError(bool abort) { g_abort_on_unexpected = abort; }

namespace {

// An empty value is not "not given": --hardware '' or --out= is refused, never defaulted. The
// exit code (2) when one is found, else 0.
int RefuseEmptyValues(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool empty_after_equals = arg.starts_with("--") && arg.ends_with("=");
    if (arg.empty() || empty_after_equals) {
      const std::string flag = empty_after_equals ? std::string(arg.substr(0, arg.size() - 1))
                               : i > 1 && std::string_view(argv[i - 1]).starts_with("-")
                                   ? std::string(argv[i - 1])
                                   : "";
      Diag("error: " + (flag.empty() ? "argument " + std::to_string(i) : flag) +
           ": the value is empty; give a value or leave the flag out");
      return 2;
    }
  }
  return 0;
}

// Every output is checked before any work starts, and two outputs may not be one file.
void CheckOutputs(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> outputs;  // flag, path
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    for (const char* flag : {"--out", "--plot", "--export-hf", "--script", "--out-profile"}) {
      const std::string_view f = flag;
      if (arg == f && i + 1 < argc) {
        outputs.emplace_back(flag, argv[i + 1]);
      } else if (arg.starts_with(f) && arg.size() > f.size() && arg[f.size()] == '=') {
        outputs.emplace_back(flag, std::string(arg.substr(f.size() + 1)));
      }
    }
  }
  for (std::size_t a = 0; a < outputs.size(); ++a) {
    CheckOutputPath(outputs[a].second, outputs[a].first);
    for (std::size_t b = 0; b < a; ++b) {
      std::error_code ec;
      if (outputs[a].second == outputs[b].second ||
          std::filesystem::equivalent(outputs[a].second, outputs[b].second, ec)) {
        throw InputError(
            fmt::format("{} and {} name the same file ({}); one would overwrite "
                        "the other",
                        outputs[b].first, outputs[a].first, outputs[a].second));
      }
    }
  }
}

// Parses and runs the subcommand, each error mapped to its exit code.
int ParseAndDispatch(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 quotes the offending argument: escaped like every other message.
    std::ostringstream out, err;
    app.exit(e, out, err);
    std::cout << Printable(out.str(), true);
    std::cerr << Printable(err.str(), true);
    return 2;
  } catch (const InputError& e) {
    Diag(std::string("error: ") + e.what());
    return 2;
  } catch (const Cancelled&) {
    Diag("error: cancelled");
    return 1;
  } catch (const RuntimeError& e) {
    Diag(std::string("error: ") + e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    Diag("error: out of memory");
    return 1;
  } catch (const std::exception& e) {
    Diag(std::string("error: ") + e.what());
    if (g_abort_on_unexpected) std::abort();
    return 1;
  }
  return 0;
}

}  // namespace

int ParseAndRun(CLI::App& app, int argc, char** argv) {
  if (const int code = RefuseEmptyValues(argc, argv); code != 0) return code;
  try {
    CheckOutputs(argc, argv);
  } catch (const InputError& e) {
    Diag(std::string("error: ") + e.what());
    return 2;
  } catch (const RuntimeError& e) {
    Diag(std::string("error: ") + e.what());
    return 1;
  }
  return ParseAndDispatch(app, argc, argv);
}

void CheckPlotPath(const std::string& path) {
  if (!(path.ends_with(".png") || path.ends_with(".svg") || path.ends_with(".PNG") ||
        path.ends_with(".SVG"))) {
    throw InputError(fmt::format("--plot {}: expected a file name ending in .png or .svg", path));
  }
}

HardwareProfile ResolveHardware(const std::string& name) {
  return LoadHardwareOrLocal(name, TerminalProgress("measuring this machine"));
}

void CheckOutputPath(const std::string& path, const std::string& flag) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw RuntimeError(fmt::format("{}: cannot write {}: it is a folder", flag, path));
  }
  const fs::path target = fs::weakly_canonical(path, ec);
  fs::path dir = (ec ? fs::path(path) : target).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) {
    const bool there = fs::exists(dir, ec);
    throw RuntimeError(fmt::format("{}: cannot write {}: {} '{}' {}", flag, path,
                                   there ? "path" : "folder", dir.string(),
                                   there ? "is not a folder" : "does not exist"));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISREG(st.st_mode) && (st.st_mode & 0222) == 0) {
      throw RuntimeError(fmt::format("{}: cannot write {}: it is write-protected (mode {:04o})",
                                     flag, path, st.st_mode & 07777));
    }
    if (::access(path.c_str(), W_OK) != 0) {
      throw RuntimeError(fmt::format("{}: cannot write {}: {}", flag, path, std::strerror(errno)));
    }
  } else if (::access(dir.c_str(), W_OK) != 0) {
    throw RuntimeError(fmt::format("{}: cannot write {}: {}", flag, path, std::strerror(errno)));
  }
}

}  // namespace chronoscale::cli
