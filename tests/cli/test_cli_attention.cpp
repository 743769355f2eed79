// Black-box tests of `chronoscale attention` and `chronoscale calibrate` through the binary.
#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

Result Run(const std::string& args) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string err_path = (dir / "chronoscale_attention_test_stderr.txt").string();
  const std::string cmd = std::string(CHRONOSCALE_CLI) + " " + args + " 2>" + err_path;
  Result r;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_path);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

}  // namespace

TEST_CASE("attention --format json prints every key at the top level") {
  for (const char* kernel :
       {"softmax", "flash", "favor", "favor-orth", "favor-hyp", "optimal", "dark"}) {
    INFO(kernel);
    const Result r = Run(std::string("attention --kernel ") + kernel +
                         " --seq 128 --dim 16 --features 32 --heads 2 --repeats 2 --hardware "
                         "h100-sxm --format json");
    REQUIRE(r.code == 0);
    const auto doc = nlohmann::json::parse(r.out);
    for (const char* key : {"kernel_rel_mse", "kernel_mse", "kernel_mse_theory", "output_rel_error",
                            "time_s", "predicted_time_s", "schema_version", "version", "inputs"}) {
      INFO(key);
      CHECK(doc.contains(key));
    }
    CHECK(doc["kernel"] == kernel);
    CHECK(doc["time_s"].get<double>() > 0);
    CHECK(doc["predicted_time_s"].get<double>() > 0);
  }
}

TEST_CASE("attention: theory and measurement agree for favor at tau 0.125") {
  const Result r =
      Run("attention --kernel favor --seq 1024 --dim 64 --features 256 --tau 0.125 --repeats 1 "
          "--hardware h100-sxm --format json --causal");
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["kernel_rel_mse"].get<double>() == Approx(0.027).epsilon(0.2));
  CHECK(doc["kernel_mse"].get<double>() ==
        Approx(doc["kernel_mse_theory"].get<double>()).epsilon(0.25));
  CHECK(doc["output_rel_error"].get<double>() > 0);
}

TEST_CASE("attention reads queries, keys and sigma from CSV files") {
  const std::string q = WriteTemp("cs_att_q.csv", "a,b\n0.1,0.2\n-0.3,0.4\n0.5,-0.1\n");
  const std::string k = WriteTemp("cs_att_k.csv", "a,b\n0.2,0.1\n0.0,-0.4\n0.3,0.3\n");
  const std::string s = WriteTemp("cs_att_s.csv", "a,b\n2,0.5\n0.5,1\n");
  Result r = Run("attention --kernel dark --features 64 --queries " + q + " --keys " + k +
                 " --sigma " + s + " --hardware h100-sxm --format json --repeats 1");
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["seq_len"] == 3);
  CHECK(doc["d_head"] == 2);
  CHECK(doc["kernel_mse_theory"].is_null());
  CHECK(doc["inputs"].size() == 3);

  const std::string bad = WriteTemp("cs_att_bad.csv", "a,b\n0.1,0.2\n0.3,oops\n");
  r = Run("attention --kernel favor --queries " + bad + " --keys " + k + " --hardware h100-sxm");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("cs_att_bad.csv:3:"));
  r = Run("attention --kernel favor --queries /nonexistent/q.csv --keys " + k +
          " --hardware h100-sxm");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("/nonexistent/q.csv"));
  const std::string asym = WriteTemp("cs_att_asym.csv", "a,b\n1,0.5\n0,1\n");
  r = Run("attention --kernel dark --queries " + q + " --keys " + k + " --sigma " + asym +
          " --hardware h100-sxm");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--sigma") && Catch::Contains("symmetric"));
}

TEST_CASE("attention: bad flags exit 2 and name the flag") {
  const std::string base = "attention --hardware h100-sxm ";
  struct Case {
    std::string args, flag;
  };
  for (const Case& c : {Case{"--kernel favor --seq -5 --dim 16", "--seq"},
                        Case{"--kernel favor --seq 64 --dim 16 --features 0", "--features"},
                        Case{"--kernel favor --seq 64 --dim 0", "--dim"},
                        Case{"--kernel favor --seq 64 --dim 16 --spectrum decay:abc", "--spectrum"},
                        Case{"--kernel favor --seq 64 --dim 16 --spectrum cubic", "--spectrum"},
                        Case{"--kernel nope --seq 64 --dim 16", "--kernel"},
                        Case{"--kernel favor --seq abc --dim 16", "--seq"},
                        Case{"--kernel favor --dim 16", "--seq"},
                        Case{"--kernel favor-hyp --seq 64 --dim 16 --features 7", "--features"},
                        Case{"--kernel favor --seq 64 --dim 16 --tau -1", "--tau"}}) {
    INFO(c.args);
    const Result r = Run(base + c.args);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(c.flag));
  }
}

TEST_CASE("calibrate writes the table and the profile, never over its input") {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string csv = (dir / "cs_cal.csv").string();
  const std::string profile = (dir / "cs_cal_profile.json").string();
  Result r = Run("calibrate --hardware h100-sxm --kernels favor,flash --quick --repeats 1 --out " +
                 csv + " --out-profile " + profile);
  REQUIRE(r.code == 0);
  std::ifstream in(csv);
  std::string header;
  std::getline(in, header);
  CHECK(header.rfind("kernel,seq_len,d_head,features,measured_s,predicted_s", 0) == 0);
  const auto doc = nlohmann::json::parse(std::ifstream(profile));
  CHECK(doc.contains("mem_bandwidth_bytes_per_s"));
  CHECK(doc.contains("attention_calibration"));
  // The calibrated profile is a valid --hardware input.
  r =
      Run("attention --kernel favor --seq 64 --dim 16 --features 16 --repeats 1 --format json "
          "--hardware " +
          profile);
  CHECK(r.code == 0);
  r = Run("calibrate --hardware " + profile + " --quick --out-profile " + profile);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--out-profile"));
  r = Run("calibrate --hardware h100-sxm --kernels favor,bogus");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--kernels"));
}
