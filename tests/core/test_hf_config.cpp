// Hugging Face configs: the published config.json of real models (tests/data/hf_configs, with
// their sources in manifest.csv and README.md) read to their published parameter counts, non-
// decoders refused, and every variant combination exported and read back to the same shape.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include <chronoscale/error.h>
#include <chronoscale/hardware.h>
#include <chronoscale/hf_config.h>
#include <chronoscale/io.h>
#include <chronoscale/step_time.h>

using namespace chronoscale;

namespace {

const std::string kDir = std::string(CHRONOSCALE_TEST_DATA) + "/hf_configs/";

HfImport Import(const std::string& file) { return LoadHfConfig(kDir + file); }

// A published count is exact (all digits) or rounded ("46.7e9": 3 significant digits); a rounded
// one matches when our count rounds to it.
bool MatchesPublished(double ours, const std::string& published) {
  const auto e = published.find_first_of("eE");
  if (e == std::string::npos) return ours == std::stod(published);
  const std::string mantissa = published.substr(0, e);
  int digits = 0;
  for (char ch : mantissa) digits += std::isdigit(static_cast<unsigned char>(ch)) ? 1 : 0;
  const double value = std::stod(published);
  const double unit = std::pow(10.0, std::floor(std::log10(value)) - (digits - 1));
  return std::fabs(ours - value) <= 0.5 * unit;
}

double StepSeconds(const ModelShape& s) {
  static const TimeModel model = DefaultTimeModel(LoadHardware("h100-sxm"));
  return PredictStepSeconds(model, s, EstimatorKind::kRoofline);
}

}  // namespace

TEST_CASE("published configs read to their published parameter counts") {
  const CsvTable t = ReadCsv(kDir + "manifest.csv");
  const int file = t.RequireColumn("file"), expect = t.RequireColumn("expect"),
            params = t.RequireColumn("params"), active = t.RequireColumn("active_params");
  int decoders = 0, refused = 0, exact = 0;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const std::string name = t.Text(r, file);
    INFO(name);
    if (t.Text(r, expect) == "refuse") {
      CHECK_THROWS_AS(Import(name), InputError);
      try {
        Import(name);
      } catch (const InputError& e) {
        // the message names the model_type and what it is
        const nlohmann::json c = ReadJsonFile(kDir + name);
        CHECK_THAT(e.what(), Catch::Contains(c["model_type"].get<std::string>()));
        CHECK_THAT(e.what(), Catch::Contains("encoder"));
      }
      ++refused;
      continue;
    }
    const HfImport hf = Import(name);
    const ModelShape& s = hf.shape;
    INFO(Describe(s) << " params " << fmt::format("{:.0f}", s.Params()) << " active "
                     << fmt::format("{:.0f}", s.ActiveParams()));
    CHECK(MatchesPublished(s.Params(), t.Text(r, params)));
    exact += t.Text(r, params).find('e') == std::string::npos ? 1 : 0;
    if (!t.Text(r, active).empty()) CHECK(MatchesPublished(s.ActiveParams(), t.Text(r, active)));
    if (!s.Moe()) CHECK(s.ActiveParams() == s.Params());
    // never the context limit as the training length
    CHECK(s.seq_len ==
          (hf.context_limit > 0 ? std::min(kHfDefaultSeq, hf.context_limit) : kHfDefaultSeq));
    ++decoders;
  }
  CHECK(decoders >= 20);
  CHECK(exact >= 18);
  CHECK(refused >= 4);
}

TEST_CASE("each attention and block variant is read from its keys") {
  // Mixtral: 8 experts, top 2, 46.7B total, ~12.9B active; not Mistral-7B's step.
  const ModelShape mixtral = Import("Mixtral-8x7B-v0.1.json").shape;
  CHECK(mixtral.experts == 8);
  CHECK(mixtral.experts_per_token == 2);
  CHECK(mixtral.Params() == 46702792704.0);
  CHECK(mixtral.ActiveParams() == Approx(12.9e9).epsilon(0.005));
  ModelShape mistral = Import("Mistral-7B-v0.1.json").shape;
  CHECK(mistral.sliding_window == 4096);
  CHECK(mistral.KvHeads() == 8);
  CHECK(StepSeconds(mixtral) > 1.3 * StepSeconds(mistral));

  // Sliding window: at 32k tokens Mistral's attention sees 4096 keys, so the step is far cheaper
  // than the same model with full attention.
  mistral.seq_len = 32768;
  mistral.batch = 1;
  ModelShape full = mistral;
  full.sliding_window = 0;
  CHECK(StepSeconds(mistral) < 0.75 * StepSeconds(full));

  const ModelShape falcon = Import("falcon-7b-instruct.json").shape;
  CHECK(falcon.KvHeads() == 1);  // multi_query
  CHECK(falcon.block == BlockKind::kParallel);
  CHECK(falcon.NormHasBias());
  CHECK(!falcon.bias);
  CHECK(falcon.tied_embeddings);  // FalconConfig's default
  CHECK(falcon.Params() == 6921720704.0);

  const ModelShape nemo = Import("Mistral-Nemo-Base-2407.json").shape;
  CHECK(nemo.HeadDim() == 128);
  CHECK(nemo.QueryWidth() == 4096);  // not hidden_size 5120

  const HfImport pythia = Import("pythia-160m.json");
  CHECK(pythia.shape.positions == PositionKind::kRotary);  // rotary_pct 0.25
  CHECK(pythia.shape.block == BlockKind::kParallelTwoNorms);
  CHECK(!pythia.shape.tied_embeddings);

  const ModelShape qwen = Import("Qwen2-0.5B.json").shape;
  CHECK(qwen.QkvBias());
  CHECK(!qwen.OutBias());
  CHECK(qwen.tied_embeddings);

  const HfImport qwen_moe = Import("Qwen1.5-MoE-A2.7B.json");
  CHECK(qwen_moe.shape.shared_ff == 5632);
  CHECK(qwen_moe.shape.shared_gate);
  const ModelShape deepseek = Import("deepseek-moe-16b-base.json").shape;
  CHECK(deepseek.dense_layers == 1);
  CHECK(deepseek.shared_ff == 2 * 1408);

  const ModelShape phi = Import("phi-2.json").shape;
  CHECK(phi.head_bias);
  CHECK(phi.block == BlockKind::kParallel);

  // Well-formed configs of known types raise no warnings.
  for (const char* f : {"Llama-2-7b-hf.json", "gpt2.json", "Mistral-7B-v0.1.json",
                        "Mixtral-8x7B-v0.1.json", "pythia-160m.json"}) {
    INFO(f);
    const HfImport hf = Import(f);
    CHECK(hf.warnings.empty());
    // every value is listed with its source
    bool seq = false;
    for (const HfField& field : hf.fields) seq = seq || field.field == "seq_len";
    CHECK(seq);
  }
}

TEST_CASE("defaults follow the config class; bad values and unknown architecture keys") {
  nlohmann::json c = ReadJsonFile(kDir + "pythia-160m.json");
  c.erase("tie_word_embeddings");
  CHECK(!ImportHfConfig(c, "x").shape.tied_embeddings);  // GPTNeoXConfig: untied
  c = ReadJsonFile(kDir + "gpt2.json");
  CHECK(ImportHfConfig(c, "x").shape.tied_embeddings);  // PretrainedConfig: tied
  c["tie_word_embeddings"] = "false";
  CHECK_THROWS_WITH(ImportHfConfig(c, "x"),
                    Catch::Contains("tie_word_embeddings") && Catch::Contains("JSON boolean"));
  c = ReadJsonFile(kDir + "Llama-2-7b-hf.json");
  c["num_experts_in_parallel"] = 4;
  const HfImport warned = ImportHfConfig(c, "x");
  REQUIRE(warned.warnings.size() == 1);
  CHECK_THAT(warned.warnings[0], Catch::Contains("num_experts_in_parallel"));
  c = ReadJsonFile(kDir + "Llama-2-7b-hf.json");
  c["some_logging_option"] = true;  // harmless: quiet
  CHECK(ImportHfConfig(c, "x").warnings.empty());
  c["architectures"] = {"LlamaForSequenceClassification"};
  CHECK_THROWS_WITH(ImportHfConfig(c, "x"), Catch::Contains("architectures"));
  c = ReadJsonFile(kDir + "Mixtral-8x7B-v0.1.json");
  c.erase("num_experts_per_tok");
  CHECK_THROWS_WITH(ImportHfConfig(c, "x"), Catch::Contains("num_experts_per_tok"));
  c = ReadJsonFile(kDir + "gpt2.json");
  c["is_encoder_decoder"] = true;
  CHECK_THROWS_WITH(ImportHfConfig(c, "x"), Catch::Contains("is_encoder_decoder"));
}

TEST_CASE("every variant combination exports to a class that builds it, or is refused") {
  int exported = 0, refused = 0;
  for (int norm = 0; norm < 2; ++norm)
    for (int mlp = 0; mlp < 2; ++mlp)
      for (int pos = 0; pos < 2; ++pos)
        for (int kv : {0, 4, 1})
          for (int tied = 0; tied < 2; ++tied)
            for (int bias = 0; bias < 2; ++bias)
              for (int moe = 0; moe < 3; ++moe)
                for (int block = 0; block < 3; ++block)
                  for (int window = 0; window < 2; ++window) {
                    ModelShape s = ReferenceShape(512, 4);
                    s.norm = static_cast<NormKind>(norm);
                    s.mlp = static_cast<MlpKind>(mlp);
                    s.positions = static_cast<PositionKind>(pos);
                    s.n_kv_heads = kv;
                    s.tied_embeddings = tied == 1;
                    s.bias = bias == 1;
                    s.block = static_cast<BlockKind>(block);
                    s.sliding_window = window == 1 ? 256 : 0;
                    s.vocab = 32768;
                    if (moe > 0) {
                      s.experts = 8;
                      s.experts_per_token = 2;
                      s.d_ff = 1024;
                    }
                    if (moe == 2) {  // Qwen-MoE: gated shared expert, q/k/v biases only
                      s.shared_ff = 2048;
                      s.shared_gate = true;
                      s.qkv_bias = 1;
                      s.out_bias = s.mlp_bias = 0;
                    }
                    INFO(Describe(s));
                    nlohmann::json config;
                    try {
                      config = HfConfigFromShape(s);
                    } catch (const InputError& e) {
                      CHECK_THAT(e.what(), Catch::Contains("cannot export"));
                      ++refused;
                      continue;
                    }
                    INFO(config.dump());
                    const HfImport back = ImportHfConfig(config, "exported");
                    CHECK(back.warnings.empty());
                    CHECK(back.shape.Params() == s.Params());
                    // the same model: every effective field ("bias" alone is only the default
                    // the per-part bias fields override)
                    nlohmann::json a = ShapeToJson(back.shape), b = ShapeToJson(s);
                    a.erase("bias");
                    b.erase("bias");
                    CHECK(a == b);
                    CHECK(StepSeconds(back.shape) == StepSeconds(s));
                    // token ids inside the vocabulary
                    CHECK(config["bos_token_id"].get<int64_t>() < s.vocab);
                    CHECK(config["eos_token_id"].get<int64_t>() < s.vocab);
                    ++exported;
                  }
  // Each family's natural variant exports: GPT-2, GPT-NeoX, GPT-J, Phi, Falcon, StarCoder2,
  // Llama, Mistral, Qwen2, Mixtral and Qwen2-MoE.
  WARN(exported << " of " << exported + refused << " combinations exported and read back");
  CHECK(exported >= 40);
  CHECK(refused > 0);
}
