// Black-box tests of hardware, estimate, fit-time, plan and sweep.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_run.h"

using Catch::Contains;
using chronoscale::test::RunCli;
using chronoscale::test::Slurp;
using chronoscale::test::TempDir;

namespace {
const std::string kSteps = std::string(CHRONOSCALE_TEST_DATA) + "/steps.csv";
}

TEST_CASE("version and hardware") {
  TempDir dir;
  auto r = RunCli("--version", dir);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("chronoscale"));
  r = RunCli("hardware list", dir);
  CHECK(r.code == 0);
  for (const char* name : {"h100-sxm", "h200-measured", "mi300x", "tpu-v5e"})
    CHECK_THAT(r.out, Contains(name));
  r = RunCli("hardware show h200-measured", dir);
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["matmul_flops_per_s"]["bf16"].get<double>() > 7e14);
  r = RunCli("hardware show nosuch", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("nosuch") && Contains("h100-sxm"));
}

TEST_CASE("estimate one shape: table, json, explain") {
  TempDir dir;
  auto r = RunCli(
      "estimate --d-model 1024 --layers 8 --hardware h200-measured --format json --explain", dir);
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema_version"] == 1);
  CHECK(doc["estimator"] == "roofline");
  const auto& res = doc["results"][0];
  CHECK(res["params"].get<double>() == 168929280.0);  // PyTorch's count for this shape
  CHECK(res["pred_step_ms"].get<double>() > 5);
  CHECK(res["fits"] == true);
  // One op's time by hand, independently of how --explain shares the step out: under the
  // roofline on the H100 datasheet (3.35 TB/s, 5 us per launch) fused AdamW is memory-bound,
  // 28 bytes per parameter, plus one launch per parameter tensor (12 per layer + 5).
  r = RunCli("estimate --d-model 1024 --layers 8 --hardware h100-sxm --format json --explain", dir);
  REQUIRE(r.code == 0);
  const auto h100 = nlohmann::json::parse(r.out);
  bool found = false;
  for (const auto& op : h100["ops"]) {
    if (op["name"] != "adamw") continue;
    found = true;
    CHECK(op["pred_ms"].get<double>() ==
          Approx(1e3 * (28 * 168929280.0 / 3.35e12 + (12 * 8 + 5) * 5e-6)).epsilon(1e-9));
  }
  CHECK(found);
  r = RunCli("estimate --d-model 1024 --layers 8 --explain", dir);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("lm_head") && Contains("by phase") && Contains("adamw"));
}

TEST_CASE("estimate --shapes writes the input columns plus predictions") {
  TempDir dir;
  auto r = RunCli("estimate --shapes '" + kSteps + "' --hardware h200-measured --format csv", dir);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,params,fwd_ms"));
  CHECK_THAT(r.out, Contains("pred_step_ms,pred_memory_gb,fits,rel_error"));
  int lines = 0;
  for (char c : r.out) lines += c == '\n';
  CHECK(lines == 58);
}

TEST_CASE("fit-time then estimate --time-model uses the calibrated estimator") {
  TempDir dir;
  const std::string model = dir.File("tm.json");
  auto r = RunCli("fit-time --runs '" + kSteps + "' --hardware h200-measured --out '" + model + "'",
                  dir);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("calibrated") && Contains("cv-med"));
  r = RunCli("estimate --shapes '" + kSteps + "' --time-model '" + model + "' --format json", dir);
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["estimator"] == "calibrated");
  CHECK(doc["hardware"] == "h200-measured");
  CHECK(doc["error"]["median"].get<double>() < 0.03);
  r = RunCli("estimate --d-model 512 --layers 4 --time-model '" + model + "' --estimator flops",
             dir);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("flops"));
}

TEST_CASE("bad input exits 2 naming file, line and column") {
  TempDir dir;
  const std::string header = "d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,step_ms\n";
  auto bad = dir.Write(
      "text.csv", header + "1024,8,16,4096,1024,8,32768,12.5\n1024,eight,16,4096,1024,8,32768,3\n");
  auto r = RunCli("fit-time --runs '" + bad + "'", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("text.csv:3:2") && Contains("n_layers") && Contains("'eight'"));
  bad = dir.Write("missing.csv",
                  "d_model,n_layers,n_heads,d_ff,seq_len,batch,step_ms\n1024,8,16,4096,1024,8,3\n");
  r = RunCli("fit-time --runs '" + bad + "'", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("missing column 'vocab'"));
  bad = dir.Write("empty.csv", "");
  r = RunCli("estimate --shapes '" + bad + "'", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("empty.csv") && Contains("empty"));
  bad = dir.Write("heads.csv", header + "1000,8,16,4000,1024,8,32768,5\n");
  r = RunCli("estimate --shapes '" + bad + "'", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("heads.csv:2") && Contains("does not divide"));
  r = RunCli("estimate --d-model 1000 --layers 2 --heads 16", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("n_heads 16 does not divide d_model 1000"));
  r = RunCli("estimate --d-model -64 --layers 2", dir);
  CHECK(r.code == 2);
  r = RunCli("fit-time --runs '" + dir.File("nope.csv") + "'", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("nope.csv"));
  r = RunCli("estimate --d-model 64 --layers 2 --estimator calibrated", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("fit-time"));
}

TEST_CASE("plan: json fields, export-hf, failures") {
  TempDir dir;
  const std::string hf = dir.File("config.json");
  auto r = RunCli(
      "plan --hours 24 --hardware h100-sxm --top 3 --format json --export-hf '" + hf + "'", dir);
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  for (const char* key : {"best", "top", "flop_based", "loss_saved"}) CHECK(doc.contains(key));
  CHECK(doc["top"].size() == 3);
  for (const char* key :
       {"d_model", "n_layers", "params", "step_ms", "tokens", "loss", "memory_gb"}) {
    CHECK(doc["best"].contains(key));
    CHECK(doc["flop_based"].contains(key));
  }
  CHECK(doc["loss_saved"].get<double>() >= 0);
  const auto config = nlohmann::json::parse(Slurp(hf));
  CHECK(config["hidden_size"] == doc["best"]["d_model"]);
  CHECK(config["num_hidden_layers"] == doc["best"]["n_layers"]);
  // The exported config reads back as the same shape.
  r = RunCli("estimate --hf-config '" + hf + "' --seq 1024 --format json", dir);
  REQUIRE(r.code == 0);
  CHECK(nlohmann::json::parse(r.out)["results"][0]["params"] == doc["best"]["params"]);

  r = RunCli("plan --hours 0", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--hours"));
  r = RunCli("plan --hours 1 --width 64:abc", dir);
  CHECK(r.code == 2);
  r = RunCli("plan --hours 1 --law '" + dir.File("law.json") + "'", dir);
  CHECK(r.code == 2);
  r = RunCli("plan --hours 1 --hardware rtx-4090 --width 16384:16384 --depth 64:64 --aspect 1:1000",
             dir);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("no shape"));
  r = RunCli("plan --hours 1 --out '" + dir.File("no/such/dir/plan.txt") + "'", dir);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("does not exist"));
}

TEST_CASE("sweep writes every candidate with fits and why_not") {
  TempDir dir;
  const std::string out = dir.File("sweep.csv");
  auto r = RunCli(
      "sweep --hours 2 --hardware rtx-4090 --width 256:4096:256 --depth 1:32 --out '" + out + "'",
      dir);
  REQUIRE(r.code == 0);
  const std::string csv = Slurp(out);
  CHECK(csv.rfind("d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,params,step_ms,tokens,loss,"
                  "memory_gb,fits,why_not,devices,gpus_per_node,dp,tp,pp,sharding,micro_batch,"
                  "grad_accum,checkpointing\n",
                  0) == 0);
  int lines = 0;
  for (char c : csv) lines += c == '\n';
  CHECK(lines == 1 + 16 * 32);
  CHECK_THAT(csv, Contains("memory") && Contains("aspect"));
  // never over an input
  const std::string law =
      dir.Write("law.json", R"({"E":1.8,"A":400,"B":2000,"alpha":0.34,"beta":0.36})");
  r = RunCli("sweep --hours 2 --law '" + law + "' --width 256:512 --depth 1:4 --out '" + law + "'",
             dir);
  CHECK(r.code == 2);
  CHECK(Slurp(law).find("\"E\"") != std::string::npos);
}

TEST_CASE("estimate --hf-config: Mixtral is an MoE, not Mistral-7B; t5 is refused") {
  TempDir dir;
  const std::string configs = std::string(CHRONOSCALE_TEST_DATA) + "/hf_configs/";
  auto r =
      RunCli("estimate --hf-config '" + configs + "Mixtral-8x7B-v0.1.json' --format json", dir);
  REQUIRE(r.code == 0);
  const auto mixtral = nlohmann::json::parse(r.out)["results"][0];
  CHECK(mixtral["params"].get<double>() == 46702792704.0);
  CHECK(mixtral["active_params"].get<double>() == Approx(12.9e9).epsilon(0.005));
  CHECK(mixtral["experts"] == 8);
  CHECK(mixtral["experts_per_token"] == 2);
  CHECK(mixtral["seq_len"] == 1024);  // not max_position_embeddings (32768)
  CHECK(mixtral["hf_config"]["context_limit"] == 32768);
  r = RunCli("estimate --hf-config '" + configs + "Mistral-7B-v0.1.json' --format json", dir);
  REQUIRE(r.code == 0);
  const auto mistral = nlohmann::json::parse(r.out)["results"][0];
  CHECK(mixtral["pred_step_ms"].get<double>() > 1.3 * mistral["pred_step_ms"].get<double>());
  CHECK(mistral["sliding_window"] == 4096);

  r = RunCli("estimate --hf-config '" + configs + "Mixtral-8x7B-v0.1.json' --explain", dir);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("46.7G") && Contains("12.9G active per token"));
  CHECK_THAT(r.out, Contains("key 'num_local_experts'") && Contains("expert_up"));
  CHECK_THAT(r.err, Contains("context limit is 32768"));

  r = RunCli("estimate --hf-config '" + configs + "t5-small.json'", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("'t5'") && Contains("encoder-decoder"));

  // A plan over MoE shapes, exported as a Mixtral config that reads back to the same model.
  const std::string hf = dir.File("moe.json");
  r = RunCli(
      "plan --hours 24 --hardware h100-sxm --experts 8 --experts-per-token 2 --mlp swiglu "
      "--norm rmsnorm --positions rotary --no-bias --top 1 --format json --export-hf '" +
          hf + "'",
      dir);
  REQUIRE(r.code == 0);
  const auto plan = nlohmann::json::parse(r.out);
  CHECK(plan["best"]["experts"] == 8);
  CHECK(plan["best"]["active_params"].get<double>() < plan["best"]["params"].get<double>());
  CHECK_THAT(r.err + r.out, Contains("active parameters"));
  const auto config = nlohmann::json::parse(Slurp(hf));
  CHECK(config["model_type"] == "mixtral");
  r = RunCli("estimate --hf-config '" + hf + "' --seq 1024 --format json", dir);
  REQUIRE(r.code == 0);
  CHECK(nlohmann::json::parse(r.out)["results"][0]["params"] == plan["best"]["params"]);
  // A variant no Hugging Face class builds is refused before the search.
  r = RunCli("plan --hours 24 --experts 8 --export-hf '" + dir.File("gelu_moe.json") + "'", dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("cannot export"));
}
