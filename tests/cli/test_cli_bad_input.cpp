// Black-box tests of how every command meets bad input (issue 7): the exit code (2 bad input,
// 1 runtime failure, 0 for inputs that are unusual but fine: a BOM, CRLF, quoted fields) and a
// message on stderr that names the file and the line/column/key or the flag. Each case writes its
// inputs into a fresh temporary folder and runs the built binary there, so messages name short
// relative paths. docs/bad_inputs.md lists the same table with the real messages.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "cli_run.h"

using chronoscale::test::CliResult;
using chronoscale::test::RunCliIn;
using chronoscale::test::TempDir;
namespace fs = std::filesystem;

namespace {

// --------------------------------------------------------------------------- inputs

const std::string kShapeHeader = "d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab";
const std::string kRunsHeader = kShapeHeader + ",step_ms";

std::string Shapes(const std::string& row) { return kShapeHeader + "\n" + row + "\n"; }

// Twelve varied runs (enough for every estimator), from a smooth made-up step time.
std::string GoodRuns() {
  std::string text = kRunsHeader + "\n";
  for (int d : {256, 512, 768, 1024}) {
    for (int n : {2, 4, 8}) {
      const double ms = 1e-9 * 12.0 * n * d * d * 8 * 1024 / 1e3 * 6 + 2.0 + 0.01 * n;
      text += std::to_string(d) + "," + std::to_string(n) + "," + std::to_string(d / 64) + "," +
              std::to_string(4 * d) + ",1024,8,32768," + std::to_string(ms) + "\n";
    }
  }
  return text;
}

// Loss runs from the Epoch law on a grid (exact: no noise needed for a fit to converge).
std::string GoodLossRuns() {
  std::string text = "params,tokens,loss\n";
  for (double n : {3e7, 1e8, 3e8, 1e9, 3e9}) {
    for (double ratio : {5.0, 20.0, 80.0}) {
      const double d = ratio * n;
      const double loss = 1.8169 + 482.01 / std::pow(n, 0.3478) + 2085.43 / std::pow(d, 0.3658);
      char line[128];
      std::snprintf(line, sizeof line, "%.6g,%.6g,%.6f\n", n, d, loss);
      text += line;
    }
  }
  return text;
}

const std::string kHardware = R"({"name": "test-gpu", "mem_bandwidth_bytes_per_s": 2e12,
  "matmul_flops_per_s": {"bf16": 5e14, "fp32": 5e13}, "launch_overhead_s": 5e-6,
  "memory_bytes": 8e10})";

const std::string kLaw = R"({"form": "chinchilla", "E": 1.8169, "A": 482.01, "B": 2085.43,
  "alpha": 0.3478, "beta": 0.3658})";

const std::string kTimeModelBody = R"("hardware": )" + kHardware + R"(,
  "estimators": {"flops": {"fitted": true, "c0_s": 0.001, "s_per_flop": 2.5e-15}})";

std::string Matrix(int rows, int cols) {
  std::string text;
  for (int c = 0; c < cols; ++c) text += (c ? ",d" : "d") + std::to_string(c);
  text += "\n";
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c)
      text += (c ? "," : "") + std::to_string(0.1 * ((r * 7 + c * 3) % 11) - 0.5);
    text += "\n";
  }
  return text;
}

// Small search spaces keep plan and sweep fast (also under the sanitizers).
const std::string kSmallPlan = "--hours 1 --width 256:1024:128 --depth 2:8:2";

struct Case {
  const char* name;
  std::map<std::string, std::string> files;  // written into the run's folder first
  std::string args;
  int rc;
  std::vector<std::string> err_has;  // every one of these appears on stderr
  std::vector<std::string> out_has = {};
};

std::vector<Case> Cases() {
  const std::string long_note(200000, 'x');
  std::string garbage;
  for (int i = 0; i < 512; ++i) garbage += static_cast<char>((i * 131 + 7) % 256);
  // One case to a line or two, wider than the column limit.
  // clang-format off
  return {
      // ------------------------------------------------------------- estimate --shapes (CSV)
      {"empty CSV", {{"s.csv", ""}}, "estimate --shapes s.csv", 2, {"s.csv", "empty"}},
      {"header only", {{"s.csv", kShapeHeader + "\n"}}, "estimate --shapes s.csv", 2, {"s.csv", "no data rows"}},
      {"missing column",
       {{"s.csv", "d_model,n_layers,d_ff,seq_len,batch,vocab\n512,4,2048,1024,8,32768\n"}},
       "estimate --shapes s.csv", 2, {"s.csv:1", "missing column 'n_heads'"}},
      {"duplicated column", {{"s.csv", kShapeHeader + ",batch\n512,4,8,2048,1024,8,32768,8\n"}},
       "estimate --shapes s.csv", 2, {"s.csv:1:8", "'batch' appears twice"}},
      {"text in a number", {{"s.csv", Shapes("512,four,8,2048,1024,8,32768")}}, "estimate --shapes s.csv", 2,
       {"s.csv:2:2", "n_layers", "expected a number", "'four'"}},
      {"NaN", {{"s.csv", Shapes("512,4,8,NaN,1024,8,32768")}}, "estimate --shapes s.csv", 2,
       {"s.csv:2:4", "d_ff", "finite"}},
      {"infinity", {{"s.csv", Shapes("512,4,8,2048,inf,8,32768")}}, "estimate --shapes s.csv", 2,
       {"s.csv:2:5", "seq_len", "finite"}},
      {"negative size", {{"s.csv", Shapes("512,4,8,2048,1024,-8,32768")}}, "estimate --shapes s.csv", 2,
       {"s.csv:2:6", "batch", "out of range"}},
      {"zero size", {{"s.csv", Shapes("512,0,8,2048,1024,8,32768")}}, "estimate --shapes s.csv", 2,
       {"s.csv:2:2", "n_layers", "out of range"}},
      {"absurd width", {{"s.csv", Shapes("1e12,4,8,2048,1024,8,32768")}}, "estimate --shapes s.csv", 2,
       {"s.csv:2:1", "d_model", "1e12", "out of range"}},
      {"fractional size", {{"s.csv", Shapes("512.5,4,8,2048,1024,8,32768")}}, "estimate --shapes s.csv", 2,
       {"s.csv:2:1", "whole number"}},
      {"huge digits", {{"s.csv", Shapes("1" + std::string(400, '0') + ",4,8,2048,1024,8,32768")}},
       "estimate --shapes s.csv", 2, {"s.csv:2:1", "out of range"}},
      {"heads do not divide d_model", {{"s.csv", Shapes("512,4,7,2048,1024,8,32768")}},
       "estimate --shapes s.csv", 2, {"s.csv:2", "n_heads 7 does not divide d_model 512"}},
      {"unknown attention", {{"s.csv", kShapeHeader + ",attention\n512,4,8,2048,1024,8,32768,sparse\n"}},
       "estimate --shapes s.csv", 2, {"s.csv:2:8", "attention", "'sparse'"}},
      {"trailing comma in a row", {{"s.csv", Shapes("512,4,8,2048,1024,8,32768,")}}, "estimate --shapes s.csv",
       2, {"s.csv:2", "trailing comma"}},
      {"trailing comma in the header", {{"s.csv", kShapeHeader + ",\n512,4,8,2048,1024,8,32768,\n"}},
       "estimate --shapes s.csv", 2, {"s.csv:1:8", "empty column name", "trailing comma"}},
      {"too few cells", {{"s.csv", Shapes("512,4,8")}}, "estimate --shapes s.csv", 2,
       {"s.csv:2", "3 cells", "7 columns"}},
      {"unclosed quote", {{"s.csv", Shapes("512,4,8,2048,1024,8,\"32768")}}, "estimate --shapes s.csv", 2,
       {"s.csv:2", "never closed"}},
      {"binary garbage", {{"s.csv", garbage}}, "estimate --shapes s.csv", 2, {"s.csv:", "binary"}},
      {"BOM and CRLF are read", {{"s.csv", "\xEF\xBB\xBF" + kShapeHeader + "\r\n512,4,8,2048,1024,8,32768\r\n"}},
       "estimate --shapes s.csv --format csv", 0, {}, {"d_model,n_layers", "512,4,8,2048,1024,8,32768,"}},
      {"quoted fields are read",
       {{"s.csv", kShapeHeader + ",note\n\"512\",4,\"8\",2048,1024,8,32768,\"a, \"\"quoted\"\"\nnote\"\n"}},
       "estimate --shapes s.csv --format csv", 0, {}, {"512,4,8,2048,1024,8,32768,\"a, \"\"quoted\"\"\nnote\""}},
      {"very long line is read", {{"s.csv", kShapeHeader + ",note\n512,4,8,2048,1024,8,32768," + long_note + "\n"}},
       "estimate --shapes s.csv --format json", 0, {}, {"\"pred_step_ms\""}},
      {"missing file", {}, "estimate --shapes nope.csv", 2, {"nope.csv", "cannot open"}},
      {"a folder as the file", {{"adir/.keep", ""}}, "estimate --shapes adir", 2, {"adir", "folder"}},
      // ------------------------------------------------------------- estimate flags
      {"absurd --d-model", {}, "estimate --d-model 1000000000000 --layers 4", 2, {"--d-model", "d_model"}},
      {"--heads not dividing", {}, "estimate --d-model 1000 --layers 4 --heads 7", 2, {"--heads", "does not divide"}},
      {"text in --layers", {}, "estimate --d-model 1024 --layers four", 2, {"--layers", "four"}},
      {"zero --seq", {}, "estimate --d-model 1024 --layers 4 --seq 0", 2, {"--seq", "seq_len"}},
      {"negative --batch", {}, "estimate --d-model 1024 --layers 4 --batch -8", 2, {"--batch"}},
      {"NaN --mlp-ratio", {}, "estimate --d-model 1024 --layers 4 --mlp-ratio nan", 2, {"--mlp-ratio"}},
      {"inf --mlp-ratio", {}, "estimate --d-model 1024 --layers 4 --mlp-ratio inf", 2, {"--mlp-ratio"}},
      {"unknown --attention", {}, "estimate --d-model 1024 --layers 4 --attention sparse", 2, {"--attention", "sparse"}},
      {"--kv-heads not dividing", {}, "estimate --d-model 1024 --layers 4 --kv-heads 3", 2, {"--kv-heads"}},
      {"unknown --estimator", {}, "estimate --d-model 1024 --layers 4 --estimator magic", 2, {"--estimator", "magic"}},
      // ------------------------------------------------------------- estimate --hf-config (JSON)
      {"CSV: more columns than the limit",
       {{"wide.csv", [] {
          std::string h;
          for (int i = 0; i <= 10000; ++i) h += (i ? ",c" : "c") + std::to_string(i);
          return h + "\n";
        }()}},
       "estimate --shapes wide.csv", 2, {"wide.csv:1", "more than 10000 columns", "CHRONOSCALE_MAX_CSV_COLUMNS"}},
      {"HF config: malformed JSON", {{"config.json", "{\"hidden_size\": 768,\n \"n_layer\": }"}},
       "estimate --hf-config config.json", 2, {"config.json:2:", "invalid JSON"}},
      {"HF config: missing key", {{"config.json", R"({"hidden_size": 768, "num_attention_heads": 12, "vocab_size": 50257})"}},
       "estimate --hf-config config.json", 2, {"config.json", "num_hidden_layers"}},
      {"HF config: heads do not divide",
       {{"config.json", R"({"hidden_size": 768, "num_hidden_layers": 2, "num_attention_heads": 7, "vocab_size": 50257})"}},
       "estimate --hf-config config.json", 2, {"config.json", "does not divide"}},
      {"HF config: wrong type",
       {{"config.json", R"({"model_type": 7, "hidden_size": 768, "num_hidden_layers": 2, "num_attention_heads": 12, "vocab_size": 50257})"}},
       "estimate --hf-config config.json", 2, {"config.json", "'model_type'", "string"}},
      {"HF config: absurd size",
       {{"config.json", R"({"hidden_size": 1e12, "num_hidden_layers": 2, "num_attention_heads": 12, "vocab_size": 50257})"}},
       "estimate --hf-config config.json", 2, {"config.json", "hidden_size", "1048576"}},
      {"HF config: fractional",
       {{"config.json", R"({"hidden_size": 768.5, "num_hidden_layers": 2, "num_attention_heads": 12, "vocab_size": 50257})"}},
       "estimate --hf-config config.json", 2, {"config.json", "'hidden_size'", "whole number"}},
      {"HF config: empty file", {{"config.json", ""}}, "estimate --hf-config config.json", 2, {"config.json:1:1", "invalid JSON"}},
      {"HF config: encoder-decoder (T5)",
       {{"config.json", R"({"model_type": "t5", "d_model": 512, "num_layers": 6, "num_heads": 8, "vocab_size": 32128, "is_encoder_decoder": true})"}},
       "estimate --hf-config config.json", 2, {"config.json", "'t5'", "encoder-decoder", "is_encoder_decoder"}},
      {"HF config: encoder-only (BERT)",
       {{"config.json", R"({"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "vocab_size": 30522})"}},
       "estimate --hf-config config.json", 2, {"config.json", "'bert'", "encoder-only", "'model_type'"}},
      {"HF config: no causal LM class",
       {{"config.json", R"({"architectures": ["MyModelForSequenceClassification"], "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "vocab_size": 30522})"}},
       "estimate --hf-config config.json", 2, {"config.json", "'architectures'", "MyModelForSequenceClassification"}},
      {"HF config: a string for a boolean",
       {{"config.json", R"({"model_type": "llama", "hidden_size": 768, "num_hidden_layers": 2, "num_attention_heads": 12, "vocab_size": 32000, "tie_word_embeddings": "false"})"}},
       "estimate --hf-config config.json", 2, {"config.json", "'tie_word_embeddings'", "JSON boolean"}},
      {"HF config: experts without experts per token",
       {{"config.json", R"({"model_type": "mixtral", "hidden_size": 1024, "num_hidden_layers": 2, "num_attention_heads": 16, "vocab_size": 32000, "num_local_experts": 8})"}},
       "estimate --hf-config config.json", 2, {"config.json", "num_local_experts", "num_experts_per_tok"}},
      {"HF config: more experts per token than experts",
       {{"config.json", R"({"model_type": "mixtral", "hidden_size": 1024, "num_hidden_layers": 2, "num_attention_heads": 16, "vocab_size": 32000, "num_local_experts": 4, "num_experts_per_tok": 6})"}},
       "estimate --hf-config config.json", 2, {"config.json", "num_experts_per_tok", "[1, 4]"}},
      {"estimate: --experts-per-token beyond --experts", {},
       "estimate --d-model 1024 --layers 2 --experts 4 --experts-per-token 8", 2, {"experts_per_token", "--experts-per-token"}},
      {"estimate: --shared-ff without --experts", {},
       "estimate --d-model 1024 --layers 2 --shared-ff 512", 2, {"shared_ff", "experts is 0"}},
      {"estimate: --head-dim without --heads", {}, "estimate --d-model 1024 --layers 2 --head-dim 96", 2, {"--head-dim needs --heads"}},
      {"estimate: unknown --block", {}, "estimate --d-model 1024 --layers 2 --block diagonal", 2,
       {"--block 'diagonal'", "sequential, parallel or parallel-2norm"}},
      {"attention: tensors no machine holds, before allocating", {},
       "attention --kernel favor --seq 100000000 --dim 64 --features 32 --batch 1000", 2,
       {"--batch x --heads x --seq x --dim elements per tensor", "is more than 8589934592"}},
      {"plan: --export-hf of a variant no class builds, before the search", {},
       "plan --hours 1 --experts 8 --export-hf moe.json", 2, {"cannot export", "Mixtral"}},
      // ------------------------------------------------------------- hardware profiles
      {"profile: malformed JSON", {{"hw.json", "{\"name\": \"x\",\n"}}, "hardware show hw.json", 2, {"hw.json:2:", "invalid JSON"}},
      {"profile: missing key", {{"hw.json", R"({"name": "x", "matmul_flops_per_s": {"bf16": 1e14}, "launch_overhead_s": 0})"}},
       "hardware show hw.json", 2, {"hw.json", "mem_bandwidth_bytes_per_s"}},
      {"profile: negative bandwidth",
       {{"hw.json", R"({"name": "x", "mem_bandwidth_bytes_per_s": -1, "matmul_flops_per_s": {"bf16": 1e14}, "launch_overhead_s": 0})"}},
       "hardware show hw.json", 2, {"hw.json", "mem_bandwidth_bytes_per_s", "-1"}},
      {"profile: text for a number",
       {{"hw.json", R"({"name": "x", "mem_bandwidth_bytes_per_s": "fast", "matmul_flops_per_s": {"bf16": 1e14}, "launch_overhead_s": 0})"}},
       "hardware show hw.json", 2, {"hw.json", "mem_bandwidth_bytes_per_s", "must be a number"}},
      {"profile: unknown precision",
       {{"hw.json", R"({"name": "x", "mem_bandwidth_bytes_per_s": 1e12, "matmul_flops_per_s": {"fp8": 1e14}, "launch_overhead_s": 0})"}},
       "hardware show hw.json", 2, {"hw.json", "matmul_flops_per_s.fp8", "unknown precision"}},
      {"profile: not an object", {{"hw.json", "[1, 2, 3]"}}, "hardware show hw.json", 2, {"hw.json", "expected a JSON object"}},
      {"profile: BOM and CRLF are read", {{"hw.json", "\xEF\xBB\xBF" + std::regex_replace(kHardware, std::regex("\n"), "\r\n")}},
       "hardware show hw.json", 0, {}, {"test-gpu"}},
      {"unknown preset", {}, "hardware show h900", 2, {"h900", "h100-sxm"}},
      {"profile: missing file", {}, "estimate --d-model 1024 --layers 4 --hardware gone.json", 2, {"gone.json", "cannot open"}},
      // ------------------------------------------------------------- time models
      {"time model: not a time model", {{"tm.json", kHardware}}, "estimate --d-model 1024 --layers 4 --time-model tm.json", 2,
       {"tm.json", "not a time model"}},
      {"time model: wrong type", {{"tm.json", "{" + kTimeModelBody + R"(, "best": 3})"}},
       "estimate --d-model 1024 --layers 4 --time-model tm.json", 2, {"tm.json", "'best'", "string"}},
      {"time model: 'fitted' not a bool",
       {{"tm.json", std::regex_replace("{" + kTimeModelBody + "}", std::regex("\"fitted\": true"), "\"fitted\": \"yes\"")}},
       "estimate --d-model 1024 --layers 4 --time-model tm.json", 2, {"tm.json", "'fitted'", "true or false"}},
      {"time model: coefficient out of range",
       {{"tm.json", std::regex_replace("{" + kTimeModelBody + "}", std::regex("2.5e-15"), "-2.5e-15")}},
       "estimate --d-model 1024 --layers 4 --time-model tm.json", 2, {"tm.json", "s_per_flop"}},
      {"time model: malformed JSON", {{"tm.json", "{" + kTimeModelBody}}, "estimate --d-model 1024 --layers 4 --time-model tm.json",
       2, {"tm.json:", "invalid JSON"}},
      // ------------------------------------------------------------- --out
      {"--out into a missing folder", {}, "estimate --d-model 1024 --layers 4 --out missing/r.json", 1,
       {"missing/r.json", "does not exist"}},
      {"--out onto the input file", {{"s.csv", Shapes("512,4,8,2048,1024,8,32768")}},
       "estimate --shapes s.csv --out s.csv", 2, {"--out s.csv", "input"}},
      {"--out onto the --hardware profile", {{"hw.json", kHardware}},
       "estimate --d-model 1024 --layers 4 --hardware hw.json --format json --out hw.json", 2, {"--out hw.json", "input"}},
      {"--out under a file", {{"plain", "x"}}, "estimate --d-model 1024 --layers 4 --out plain/r.json", 1,
       {"plain/r.json", "not a folder"}},
      {"--out onto a folder", {{"adir/.keep", ""}}, "estimate --d-model 1024 --layers 4 --out adir", 1, {"adir", "folder"}},
      {"--out in a read-only place", {}, "estimate --d-model 1024 --layers 4 --out /proc/chronoscale-test.json", 1,
       {"cannot write /proc/chronoscale-test.json"}},
      // ------------------------------------------------------------- fit-time
      {"fit-time: missing step_ms", {{"runs.csv", Shapes("512,4,8,2048,1024,8,32768")}}, "fit-time --runs runs.csv", 2,
       {"runs.csv:1", "missing column 'step_ms'"}},
      {"fit-time: NaN step", {{"runs.csv", kRunsHeader + "\n512,4,8,2048,1024,8,32768,nan\n"}}, "fit-time --runs runs.csv", 2,
       {"runs.csv:2:8", "step_ms", "finite"}},
      {"fit-time: negative step", {{"runs.csv", kRunsHeader + "\n512,4,8,2048,1024,8,32768,-3\n"}}, "fit-time --runs runs.csv",
       2, {"runs.csv:2:8", "step_ms", "positive"}},
      {"fit-time: too few runs", {{"runs.csv", kRunsHeader + "\n512,4,8,2048,1024,8,32768,12\n"}}, "fit-time --runs runs.csv", 2,
       {"too few"}},
      {"fit-time: all at one size", {{"runs.csv", kRunsHeader + "\n" + [] {
         std::string rows;
         for (int i = 0; i < 12; ++i) rows += "512,4,8,2048,1024,8,32768," + std::to_string(12 + 0.1 * (i % 3)) + "\n";
         return rows;
       }()}}, "fit-time --runs runs.csv", 2, {"12 run(s) of 1 distinct configuration", "too few"}},
      {"fit-time: every row skipped", {{"runs.csv", kRunsHeader + ",status\n512,4,8,2048,1024,8,32768,12,oom\n"}},
       "fit-time --runs runs.csv", 2, {"runs.csv", "no usable runs"}},
      {"fit-time: missing file", {}, "fit-time --runs gone.csv", 2, {"gone.csv"}},
      {"fit-time: --out into a missing folder", {{"runs.csv", GoodRuns()}}, "fit-time --runs runs.csv --out missing/tm.json", 1,
       {"missing/tm.json", "does not exist"}},
      {"fit-time: --out onto the input", {{"runs.csv", GoodRuns()}}, "fit-time --runs runs.csv --out runs.csv", 2,
       {"--out runs.csv", "input"}},
      // ------------------------------------------------------------- fit-loss
      {"fit-loss: empty", {{"loss.csv", ""}}, "fit-loss --runs loss.csv", 2, {"loss.csv", "empty"}},
      {"fit-loss: missing loss column", {{"loss.csv", "params,tokens\n1e8,2e9\n"}}, "fit-loss --runs loss.csv", 2,
       {"loss.csv:1", "missing column 'loss'"}},
      {"fit-loss: NaN loss", {{"loss.csv", "params,tokens,loss\n1e8,2e9,NaN\n"}}, "fit-loss --runs loss.csv", 2,
       {"loss.csv:2:3", "loss", "finite"}},
      {"fit-loss: negative params", {{"loss.csv", "params,tokens,loss\n-1e8,2e9,3\n"}}, "fit-loss --runs loss.csv", 2,
       {"loss.csv:2:1", "params", "out of range"}},
      {"fit-loss: text tokens", {{"loss.csv", "params,tokens,loss\n1e8,lots,3\n"}}, "fit-loss --runs loss.csv", 2,
       {"loss.csv:2:2", "tokens", "'lots'"}},
      {"fit-loss: too few runs", {{"loss.csv", "params,tokens,loss\n1e8,2e9,3.1\n2e8,4e9,3.0\n"}}, "fit-loss --runs loss.csv", 2,
       {"2 runs", "at least 5"}},
      {"fit-loss: all at one size", {{"loss.csv", "params,tokens,loss\n1e8,2e9,3.1\n1e8,4e9,3.0\n1e8,8e9,2.95\n1e8,1.6e10,2.9\n1e8,3.2e10,2.88\n"}},
       "fit-loss --runs loss.csv", 2, {"same model size"}},
      {"fit-loss: unknown column flag", {{"loss.csv", GoodLossRuns()}}, "fit-loss --runs loss.csv --loss-col final_loss", 2,
       {"loss.csv:1", "'final_loss'"}},
      {"fit-loss: --out into a missing folder", {{"loss.csv", GoodLossRuns()}}, "fit-loss --runs loss.csv --out missing/law.json", 1,
       {"missing/law.json", "does not exist"}},
      {"fit-loss: --out onto the input", {{"loss.csv", GoodLossRuns()}}, "fit-loss --runs loss.csv --out loss.csv", 2,
       {"--out loss.csv", "input"}},
      // ------------------------------------------------------------- plan and sweep
      {"plan: malformed law", {{"law.json", "{\"E\": 1.8,,}"}}, "plan " + kSmallPlan + " --law law.json", 2,
       {"law.json:1:", "invalid JSON"}},
      {"plan: law missing key", {{"law.json", R"({"E": 1.8, "A": 482, "B": 2085, "alpha": 0.35})"}},
       "plan " + kSmallPlan + " --law law.json", 2, {"law.json", "missing key 'beta'"}},
      {"plan: law with a negative exponent", {{"law.json", R"({"E": 1.8, "A": 482, "B": 2085, "alpha": -0.35, "beta": 0.37})"}},
       "plan " + kSmallPlan + " --law law.json", 2, {"law.json", "'alpha'"}},
      {"plan: law that overflows", {{"law.json", R"({"E": 1.8, "A": 1e308, "B": 1e308, "alpha": 1e-300, "beta": 1e-300})"}},
       "plan " + kSmallPlan + " --law law.json", 2, {"law.json", "finite"}},
      {"plan: unknown law", {}, "plan " + kSmallPlan + " --law nolaw.json", 2, {"nolaw.json"}},
      {"plan: zero hours", {}, "plan --hours 0 --width 256:1024:128 --depth 2:8:2", 2, {"--hours"}},
      {"plan: NaN hours", {}, "plan --hours nan --width 256:1024:128 --depth 2:8:2", 2, {"--hours"}},
      {"plan: text in --width", {}, "plan --hours 1 --width wide --depth 2:8:2", 2, {"--width", "wide"}},
      {"plan: reversed --width", {}, "plan --hours 1 --width 1024:256 --depth 2:8:2", 2, {"--width"}},
      {"plan: absurd --width", {}, "plan --hours 1 --width 256:1000000000000 --depth 2:8:2", 2, {"--width"}},
      {"plan: zero --depth", {}, "plan --hours 1 --width 256:1024:128 --depth 0:8", 2, {"--depth"}},
      {"plan: zero devices", {}, "plan " + kSmallPlan + " --devices 0", 2, {"--devices"}},
      {"plan: bad --aspect", {}, "plan " + kSmallPlan + " --aspect 8", 2, {"--aspect"}},
      {"plan: --time-model missing", {}, "plan " + kSmallPlan + " --time-model tm.json", 2, {"tm.json"}},
      {"plan: --out onto the law", {{"law.json", kLaw}}, "plan " + kSmallPlan + " --law law.json --out law.json", 2,
       {"--out law.json", "input"}},
      {"plan: --export-hf into a missing folder", {}, "plan " + kSmallPlan + " --export-hf missing/config.json", 1,
       {"missing/config.json", "does not exist"}},
      {"sweep: --out into a missing folder", {}, "sweep " + kSmallPlan + " --out missing/sweep.csv", 1,
       {"missing/sweep.csv", "does not exist"}},
      {"sweep: malformed --hardware", {{"hw.json", "{\"name\": "}}, "sweep " + kSmallPlan + " --hardware hw.json", 2,
       {"hw.json:1:", "invalid JSON"}},
      // ------------------------------------------------------------- attention --queries/--keys
      {"attention: only --queries", {{"q.csv", Matrix(8, 4)}},
       "attention --kernel softmax --queries q.csv --hardware h100-sxm", 2, {"--queries", "--keys"}},
      {"attention: empty queries", {{"q.csv", ""}, {"k.csv", Matrix(8, 4)}},
       "attention --kernel softmax --queries q.csv --keys k.csv --hardware h100-sxm", 2, {"q.csv", "empty"}},
      {"attention: text in keys", {{"q.csv", Matrix(8, 4)}, {"k.csv", "d0,d1\n0.1,x\n"}},
       "attention --kernel softmax --queries q.csv --keys k.csv --hardware h100-sxm", 2, {"k.csv:2:2", "'x'"}},
      {"attention: NaN in queries", {{"q.csv", "d0,d1\n0.1,nan\n"}, {"k.csv", Matrix(8, 2)}},
       "attention --kernel softmax --queries q.csv --keys k.csv --hardware h100-sxm", 2, {"q.csv:2:2", "finite"}},
      {"attention: dimensions differ", {{"q.csv", Matrix(8, 4)}, {"k.csv", Matrix(8, 3)}},
       "attention --kernel softmax --queries q.csv --keys k.csv --hardware h100-sxm", 2, {"q.csv", "k.csv", "4", "3"}},
      {"attention: binary keys", {{"q.csv", Matrix(8, 4)}, {"k.csv", garbage}},
       "attention --kernel softmax --queries q.csv --keys k.csv --hardware h100-sxm", 2, {"k.csv", "binary"}},
      {"aspect with trailing text", {}, "plan " + kSmallPlan + " --aspect 8abc:256xyz", 2, {"--aspect '8abc:256xyz'"}},
      {"sweep as JSON (refused before the sweep)", {}, "sweep " + kSmallPlan + " --format json", 2, {"sweep writes CSV"}},
      // ------------------------------------------------------------- cluster (issue 12)
      {"devices zero", {}, "plan " + kSmallPlan + " --devices 0", 2, {"--devices 0", "positive"}},
      {"devices not whole nodes", {}, "plan " + kSmallPlan + " --devices 12 --hardware h100-sxm", 2,
       {"--devices 12", "whole nodes of 8"}},
      {"gpus per node zero", {}, "plan " + kSmallPlan + " --devices 16 --gpus-per-node 0", 2, {"--gpus-per-node 0"}},
      {"negative memory reserve", {}, "plan " + kSmallPlan + " --memory-reserve -5", 2, {"--memory-reserve -5"}},
      {"memory reserve above the device", {}, "plan " + kSmallPlan + " --hardware h100-sxm --memory-reserve 100", 2,
       {"--memory-reserve 100", "80.0 GiB"}},
      {"layout without '='", {}, "plan " + kSmallPlan + " --layout tp8", 2, {"--layout 'tp8'", "no '='"}},
      {"layout unknown key", {}, "plan " + kSmallPlan + " --layout tq=2", 2, {"--layout", "unknown key 'tq'"}},
      {"layout zero degree", {}, "plan " + kSmallPlan + " --layout pp=0", 2, {"--layout", "pp must be a whole number"}},
      {"layout pin no shape can take", {}, "plan " + kSmallPlan + " --devices 4 --layout micro=3", 2,
       {"no shape of the grid has a legal layout", "micro=3", "does not divide"}},
      {"estimate: illegal tensor parallelism", {}, "estimate --d-model 1024 --layers 8 --devices 4 --layout tp=3", 2,
       {"no legal layout on 4 devices", "tp 3"}},
      {"devices without gpus_per_node", {{"hw.json", kHardware}},
       "estimate --d-model 1024 --layers 8 --devices 16 --hardware hw.json", 2, {"gpus_per_node", "--gpus-per-node"}},
      {"runs: batch does not split", {{"r.csv", kRunsHeader + ",devices,micro_batch,grad_accum\n1024,8,16,4096,1024,64,32768,100,8,2,2\n"}},
       "fit-time --runs r.csv --hardware h100-sxm", 2, {"r.csv:2", "global batch is 64"}},
      {"runs: unknown sharding", {{"r.csv", kRunsHeader + ",devices,sharding\n1024,8,16,4096,1024,64,32768,100,8,zero4\n"}},
       "fit-time --runs r.csv --hardware h100-sxm", 2, {"r.csv:2", "'zero4'"}},
      {"runs: unknown checkpointing", {{"r.csv", kRunsHeader + ",checkpointing\n1024,8,16,4096,1024,64,32768,100,some\n"}},
       "fit-time --runs r.csv --hardware h100-sxm", 2, {"r.csv:2", "'some'"}},
      {"runs: unknown hardware in a row", {{"r.csv", kRunsHeader + ",hardware\n1024,8,16,4096,1024,64,32768,100,h900\n"}},
       "fit-time --runs r.csv --hardware h100-sxm", 2, {"r.csv:2", "measured on 'h900'", "--force"}},
      {"runs: every run from another device", {{"r.csv", kRunsHeader + ",hardware\n1024,8,16,4096,1024,64,32768,100,a100-40gb\n"}},
       "fit-time --runs r.csv --hardware h100-sxm", 2, {"r.csv:2", "every run was measured on other hardware", "a100-40gb"}},
      {"runs: a device that is not the hardware's", {{"r.csv", kRunsHeader + ",device\n1024,8,16,4096,1024,64,32768,100,Some CPU\n"}},
       "fit-time --runs r.csv --hardware h100-sxm", 2, {"r.csv:2", "device 'Some CPU'"}},
      {"fit-time: unknown --form", {{"r.csv", GoodRuns()}}, "fit-time --runs r.csv --form cubic", 2, {"--form 'cubic'"}},
      {"JSON nested 100k levels deep (a law)", {{"law.json", std::string(100000, '[') + std::string(100000, ']')}},
       "plan --hours 1 --law law.json", 2, {"law.json:1:257", "nested deeper than 256"}},
      {"JSON nested 100k levels deep (a profile)", {{"hw.json", "{\"a\":" + std::string(100000, '[') + "1" + std::string(100000, ']') + "}"}},
       "estimate --d-model 1024 --layers 8 --hardware hw.json", 2, {"hw.json", "nested deeper than 256"}},
      {"/dev/zero as a shapes CSV", {}, "estimate --shapes /dev/zero", 2, {"/dev/zero", "binary data"}},
      {"empty --hardware", {}, "estimate --d-model 1024 --layers 8 --hardware ''", 2, {"--hardware: the value is empty"}},
      {"empty --out=", {}, "estimate --d-model 1024 --layers 8 --out=", 2, {"--out: the value is empty"}},
      {"fit-time: twelve runs of three configurations", {{"r.csv", kRunsHeader + "\n" + std::string("1024,8,16,4096,1024,64,32768,100\n1024,4,16,4096,1024,64,32768,60\n512,8,8,2048,1024,64,32768,40\n") + "1024,8,16,4096,1024,64,32768,101\n1024,4,16,4096,1024,64,32768,61\n512,8,8,2048,1024,64,32768,41\n" + "1024,8,16,4096,1024,64,32768,99\n1024,4,16,4096,1024,64,32768,59\n512,8,8,2048,1024,64,32768,39\n"}},
       "fit-time --runs r.csv --hardware h100-sxm", 2, {"9 run(s) of 3 distinct configurations", "too few"}},
      {"fit-time: constant step times", {{"r.csv", kRunsHeader + "\n1024,8,16,4096,1024,64,32768,100\n1024,4,16,4096,1024,64,32768,100\n512,8,8,2048,1024,64,32768,100\n256,8,4,1024,1024,64,32768,100\n512,2,8,2048,1024,64,32768,100\n"}},
       "fit-time --runs r.csv --hardware h100-sxm", 2, {"same step time", "5 configurations"}},
      {"fit-loss: three points listed twice", {{"loss.csv", "params,tokens,loss\n1e8,2e9,3.1\n2e8,4e9,3.0\n4e8,8e9,2.9\n1e8,2e9,3.1\n2e8,4e9,3.0\n4e8,8e9,2.9\n"}},
       "fit-loss --runs loss.csv", 2, {"6 runs at 3 distinct (N, D)", "distinct"}},
      {"estimate: --heads beside --shapes", {{"s.csv", Shapes("1024,8,16,4096,1024,8,32768")}},
       "estimate --shapes s.csv --heads 7", 2, {"--heads: does not apply with --shapes", "s.csv"}},
      {"bench: --threads far beyond the CPUs", {}, "bench --quick --threads 4096", 2, {"--threads 4096", "at most 4 x"}},
      {"plan: --out and --export-hf the same file", {}, "plan --hours 1 --out best.json --export-hf best.json", 2,
       {"--out and --export-hf name the same file"}},
      {"sweep: --out into a missing folder, before the sweep", {}, "sweep --hours 1 --out nowhere/s.csv", 1,
       {"--out: cannot write nowhere/s.csv", "does not exist"}},
      {"hardware: a terminal escape in the name", {{"hw.json", "{\"name\": \"x\\u001b[31mred\", \"mem_bandwidth_bytes_per_s\": 1e12, \"matmul_flops_per_s\": {\"bf16\": 1e14}, \"launch_overhead_s\": 1e-6}"}},
       "estimate --d-model 1024 --layers 8 --hardware hw.json", 2, {"hw.json", "\\x1b[31mred", "control characters"}},
      {"runs: a terminal escape in the hardware column", {{"r.csv", kRunsHeader + ",hardware\n1024,8,16,4096,1024,64,32768,100,\"a\x1b[2Jb\"\n"}},
       "fit-time --runs r.csv --hardware h100-sxm", 2, {"r.csv:2", "byte 0x1b"}},
      {"plan: --top beyond the limit", {}, "plan --hours 1 --top 2000000000", 2, {"--top 2000000000", "sweep"}},
      {"plan: --kv-heads that divide no width's heads", {}, "plan " + kSmallPlan + " --kv-heads 1000", 2,
       {"no shape of the grid can be built", "1000 kv heads do not divide"}},
      {"plan: a budget shorter than one step", {}, "plan --hours 1e-9 --width 256:1024:128 --depth 2:8:2", 2,
       {"--hours", "less than one optimizer step", "raise --hours"}},
      {"plan: a grid over the shape limit", {}, "plan --hours 1 --width 64:1048576:1 --depth 1:100", 2,
       {"--width x --depth candidates", "is more than 50000000"}},
      {"design: no candidate fits", {}, "design --hardware h100-sxm --max-params 10 --out d.csv", 2, {"no candidate shape fits"}},
      {"design: bad --width", {}, "design --hardware h100-sxm --width 64:abc --out d.csv", 2, {"--width '64:abc'"}},
      {"design: bad --emit", {}, "design --hardware h100-sxm --emit yaml --out d.csv", 2, {"--emit 'yaml'"}},
      {"runs: negative phase time", {{"r.csv", "d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,step_ms,fwd_ms,bwd_ms,opt_ms\n1024,8,16,4096,1024,64,32768,100,40,-50,10\n"}},
       "fit-time --runs r.csv", 2, {"r.csv:2", "bwd_ms", "positive"}},
      {"holdout without multi-node runs", {{"r.csv", GoodRuns()}}, "fit-time --runs r.csv --holdout multi-node", 2,
       {"--holdout multi-node", "no run on more than one node"}},
      {"hardware: fractional gpus_per_node", {{"hw.json", R"({"name": "x", "mem_bandwidth_bytes_per_s": 1e12,
  "matmul_flops_per_s": {"bf16": 1e14}, "launch_overhead_s": 1e-6, "gpus_per_node": 2.5})"}},
       "estimate --d-model 1024 --layers 8 --hardware hw.json", 2, {"hw.json", "gpus_per_node", "whole number"}},
      {"attention: missing keys file", {{"q.csv", Matrix(8, 4)}},
       "attention --kernel softmax --queries q.csv --keys gone.csv --hardware h100-sxm", 2, {"gone.csv"}},
      {"attention: BOM and CRLF are read",
       {{"q.csv", "\xEF\xBB\xBF" + std::regex_replace(Matrix(16, 4), std::regex("\n"), "\r\n")}, {"k.csv", Matrix(16, 4)}},
       "attention --kernel favor --features 32 --queries q.csv --keys k.csv --hardware h100-sxm --repeats 1 --format json", 0,
       {}, {"\"kernel\""}},
  };
  // clang-format on
}

// A number printed as NaN or infinity, as a word of its own (not inside "info", "inputs").
bool HasNonFinite(const std::string& text) {
  static const std::regex re(R"((^|[^A-Za-z_])-?(nan|inf|infinity)([^A-Za-z_]|$))",
                             std::regex::icase);
  return std::regex_search(text, re);
}

}  // namespace

// With CHRONOSCALE_BAD_INPUT_TABLE=FILE set, the table test also writes its cases and the real
// messages as Markdown rows to FILE (how docs/bad_inputs.md was made).
// Each line of `text` as a code span, lines joined by <br>; '|' escaped for the table.
std::string MarkdownCell(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty()) return "(none)";
  if (text.size() > 400) text = text.substr(0, 400) + "...";
  std::string out = "`";
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += "`<br>`";
    } else {
      out += c;
    }
  }
  return out + "`";
}

TEST_CASE("bad inputs give exit code 2 or 1 and a message naming the place", "[cli][bad-input]") {
  std::ofstream table;
  if (const char* path = std::getenv("CHRONOSCALE_BAD_INPUT_TABLE")) {
    table.open(path, std::ios::trunc);
    table << "| bad input | command | exit | message (stderr) |\n|---|---|---|---|\n";
  }
  for (const Case& c : Cases()) {
    TempDir dir;
    for (const auto& [name, text] : c.files) dir.Write(name, text);
    const CliResult r = RunCliIn(c.args, dir);
    INFO("case: " << c.name << "\n  chronoscale " << c.args << "\n  exit " << r.code
                  << "\n  stderr: " << r.err << "\n  stdout: " << r.out.substr(0, 400));
    if (table.is_open()) {
      std::string args = c.args;
      if (args.size() > 120) args = args.substr(0, 120) + "...";
      table << "| " << c.name << " | " << MarkdownCell("chronoscale " + args) << " | " << r.code
            << " | " << MarkdownCell(r.err) << " |\n";
    }
    CHECK(r.code == c.rc);
    for (const auto& s : c.err_has) CHECK(r.err.find(s) != std::string::npos);
    for (const auto& s : c.out_has) CHECK(r.out.find(s) != std::string::npos);
    if (c.rc != 0) {
      // Ours start "error:"; CLI11's own parse errors end with its "Run with --help" hint.
      CHECK(
          (r.err.find("error") != std::string::npos || r.err.find("--help") != std::string::npos));
      CHECK(r.out.empty());                                      // no partial result on stdout
      CHECK(r.err.find("json.exception") == std::string::npos);  // no library internals
    }
  }
}

TEST_CASE("a failed --out leaves no file and no temporary behind", "[cli][bad-input]") {
  TempDir dir;
  fs::create_directories(dir.path() / "sub");
  const CliResult r = RunCliIn("estimate --d-model 1024 --layers 4 --out sub/missing/r.json", dir);
  CHECK(r.code == 1);
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    if (e.path().filename() != ".stderr") left.push_back(e.path().filename().string());
  }
  CHECK(left == std::vector<std::string>{"sub"});
}

TEST_CASE("user text never reaches the terminal raw", "[cli][bad-input]") {
  // A flag value with a terminal escape: echoed by the tool's message and by CLI11's, escaped.
  TempDir dir;
  for (const std::string args :
       {"plan --hours 1 --hardware 'x\x1b[31mred'", "plan --hours 1 --estimator 'x\x1b[2J'",
        "plan --hours 1 --out 'a\x1b[31m/b.json'"}) {
    const CliResult r = RunCliIn(args, dir);
    INFO(args << "\n  stderr: " << r.err);
    CHECK(r.code != 0);
    CHECK(r.err.find("\\x1b") != std::string::npos);
    CHECK(r.err.find('\x1b') == std::string::npos);
  }
}

TEST_CASE("no command prints NaN or infinity as a result", "[cli][bad-input]") {
  TempDir dir;
  dir.Write("runs.csv", GoodRuns());
  dir.Write("loss.csv", GoodLossRuns());
  dir.Write("hw.json", kHardware);
  // A shapes file with a row whose measured step is 0 (no relative error can be formed) and one
  // with an empty step_ms.
  dir.Write("shapes.csv", kRunsHeader +
                              "\n512,4,8,2048,1024,8,32768,0\n1024,8,16,4096,1024,8,32768,\n"
                              "768,6,12,3072,1024,8,32768,30\n");
  dir.Write("q.csv", Matrix(16, 4));
  dir.Write("k.csv", Matrix(16, 4));
  // Extreme but valid numbers: the smallest shape and a huge one on a slow profile.
  dir.Write("slow.json", R"({"name": "slow", "mem_bandwidth_bytes_per_s": 1e6,
    "matmul_flops_per_s": {"fp32": 1e3}, "launch_overhead_s": 1, "memory_bytes": 1e6})");
  REQUIRE(RunCliIn("fit-time --runs runs.csv --out tm.json", dir).code == 0);
  REQUIRE(RunCliIn("fit-loss --runs loss.csv --out law.json", dir).code == 0);
  const std::vector<std::string> commands = {
      "estimate --d-model 1024 --layers 8 --format json",
      "estimate --d-model 1024 --layers 8 --format json --explain",
      "estimate --d-model 1 --layers 1 --heads 1 --d-ff 1 --seq 1 --batch 1 --vocab 1 --format "
      "json --explain",
      "estimate --d-model 1048576 --layers 100000 --heads 1 --seq 16777216 --batch 16777216 "
      "--hardware slow.json --format json --explain",
      "estimate --d-model 1024 --layers 8 --format csv",
      "estimate --shapes shapes.csv --format json",
      "estimate --shapes shapes.csv --format csv",
      "estimate --shapes shapes.csv --time-model tm.json --format json",
      "estimate --d-model 1024 --layers 8 --time-model tm.json --estimator flops --format json",
      "fit-time --runs runs.csv",
      "fit-loss --runs loss.csv --format json",
      "fit-loss --runs loss.csv --format json --bootstrap 20 --seed 3",
      "plan " + kSmallPlan + " --format json",
      "plan " + kSmallPlan + " --law law.json --time-model tm.json --format json",
      "plan --hours 0.0001 --width 64:128:64 --depth 1:2 --aspect 1:1000 --format json",
      "sweep " + kSmallPlan,
      "sweep " + kSmallPlan + " --hardware slow.json",
      "hardware show h100-sxm",
      "hardware show hw.json",
      "attention --kernel favor --features 32 --queries q.csv --keys k.csv --hardware h100-sxm "
      "--repeats 1 --format json",
      "attention --kernel softmax --seq 64 --dim 16 --hardware h100-sxm --repeats 1 --format json",
  };
  for (const auto& args : commands) {
    const CliResult r = RunCliIn(args, dir);
    INFO("chronoscale " << args << "\n  exit " << r.code << "\n  stderr: " << r.err);
    CHECK(r.code == 0);
    CHECK(!r.out.empty());
    CHECK_FALSE(HasNonFinite(r.out));
  }
}
