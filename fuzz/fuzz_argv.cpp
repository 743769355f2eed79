// Fuzzes the command line (issue 16): argument vectors through the same RunCli as the binary,
// in-process. The first byte picks a subcommand; the rest is split on newlines into arguments
// (flags, values and the names of the small input files the target writes into its own working
// folder). Every run must end with exit code 0, 1 or 2; an exception that is not one of the
// tool's error types, a crash or a sanitizer report is a finding.
//
// Left out, so that one input costs milliseconds and touches nothing outside the working folder:
// the measuring subcommands (bench, attention, calibrate) and "--hardware local" (they run the
// machine's microbenchmarks), absolute paths and "..", and more than 24 arguments. Plan grids
// are capped at 20,000 shapes through CHRONOSCALE_MAX_GRID_SHAPES.
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "fuzz_common.h"

namespace {

// Small, valid inputs the arguments can name, rewritten before every run (a run may have
// written over one with --out).
const std::array<std::pair<const char*, const char*>, 5> kFiles = {{
    {"runs.csv",
     "d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,step_ms,status,hardware\n"
     "256,1,4,1024,1024,8,32768,5.8186,ok,h100-sxm\n"
     "256,4,4,1024,1024,8,32768,10.5845,ok,h100-sxm\n"
     "512,2,8,2048,1024,8,32768,9.1,ok,h100-sxm\n"
     "512,8,8,2048,1024,8,32768,27.3,ok,h100-sxm\n"
     "1024,4,16,4096,1024,8,32768,30.2,ok,h100-sxm\n"
     "1024,8,16,4096,1024,8,32768,55.9,ok,h100-sxm\n"},
    {"loss.csv",
     "params,tokens,loss\n"
     "1e8,2e9,3.42\n2e8,4e9,3.12\n4e8,8e9,2.91\n8e8,1.6e10,2.74\n1.6e9,3.2e10,2.61\n"
     "1e8,8e9,3.21\n4e8,2e9,3.08\n1.6e9,8e9,2.72\n"},
    {"law.json", R"({"form": "chinchilla", "params": "all", "E": 1.82, "A": 482.0, "B": 2085.0,)"
                 R"( "alpha": 0.3478, "beta": 0.3658})"},
    {"hw.json",
     R"({"name": "fuzz-gpu", "memory_bytes": 8.0e10, "mem_bandwidth_bytes_per_s": 3.0e12,)"
     R"( "matmul_flops_per_s": {"bf16": 9.0e14, "fp32": 6.0e13}, "vector_flops_per_s":)"
     R"( {"fp32": 6.0e13}, "launch_overhead_s": 5e-6, "gpus_per_node": 8,)"
     R"( "interconnect_bandwidth_bytes_per_s": 4.5e11})"},
    {"config.json",
     R"({"model_type": "llama", "hidden_size": 1024, "num_hidden_layers": 4,)"
     R"( "num_attention_heads": 16, "num_key_value_heads": 4, "intermediate_size": 2816,)"
     R"( "vocab_size": 32000, "max_position_embeddings": 4096, "tie_word_embeddings": false})"},
}};

const std::array<const char*, 7> kSubcommands = {"estimate", "plan",     "sweep", "fit-loss",
                                                 "fit-time", "hardware", "design"};

void WriteInputs() {
  for (const auto& [name, text] : kFiles) {
    std::ofstream(name, std::ios::trunc) << text;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("chronoscale-fuzz-argv-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::current_path(dir);
  static const fs::path kDir = dir;
  std::atexit([] {
    std::error_code ec;
    fs::current_path(fs::temp_directory_path(), ec);
    fs::remove_all(kDir, ec);
  });
  ::setenv("CHRONOSCALE_MAX_GRID_SHAPES", "20000", 1);
  ::setenv("XDG_CACHE_HOME", dir.c_str(), 1);
  chronoscale::cli::SetAbortOnUnexpectedError(true);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<std::string> args{"chronoscale", kSubcommands[data[0] % kSubcommands.size()]};
  std::string current;
  for (size_t i = 1; i <= size; ++i) {
    if (i == size || data[i] == '\n') {
      args.push_back(current);
      current.clear();
    } else {
      current += static_cast<char>(data[i]);
    }
  }
  if (args.size() > 26) return 0;
  for (const std::string& a : args) {
    const bool outside = a.find('/') != std::string::npos || a.find("..") != std::string::npos;
    if (outside || a.find("local") != std::string::npos || a.find('\0') != std::string::npos) {
      return 0;
    }
  }
  if (args.back().empty()) args.pop_back();  // a trailing newline ends the last argument
  WriteInputs();
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = chronoscale::cli::RunCli(static_cast<int>(args.size()), argv.data());
  CHECK(rc == 0 || rc == 1 || rc == 2);
  return 0;
}
