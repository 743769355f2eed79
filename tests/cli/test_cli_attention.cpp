// Black-box tests of `chronoscale attention` and `chronoscale calibrate` through the binary.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.h"

using chronoscale::test::CliResult;
using chronoscale::test::RunCli;
using chronoscale::test::TempDir;

TEST_CASE("attention --format json prints every key at the top level") {
  for (const char* kernel :
       {"softmax", "flash", "favor", "favor-orth", "favor-hyp", "optimal", "dark"}) {
    INFO(kernel);
    const CliResult r = RunCli(std::string("attention --kernel ") + kernel +
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
  const CliResult r = RunCli(
      "attention --kernel favor --seq 1024 --dim 64 --features 256 --tau 0.125 --repeats 1 "
      "--hardware h100-sxm --format json --causal");
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["kernel_rel_mse"].get<double>() == Approx(0.027).epsilon(0.2));
  CHECK(doc["kernel_mse"].get<double>() ==
        Approx(doc["kernel_mse_theory"].get<double>()).epsilon(0.25));
  CHECK(doc["output_rel_error"].get<double>() > 0);
}

TEST_CASE("attention reads queries, keys and sigma from CSV files") {
  const TempDir dir;
  const std::string q = dir.Write("cs_att_q.csv", "a,b\n0.1,0.2\n-0.3,0.4\n0.5,-0.1\n");
  const std::string k = dir.Write("cs_att_k.csv", "a,b\n0.2,0.1\n0.0,-0.4\n0.3,0.3\n");
  const std::string s = dir.Write("cs_att_s.csv", "a,b\n2,0.5\n0.5,1\n");
  CliResult r = RunCli("attention --kernel dark --features 64 --queries " + q + " --keys " + k +
                       " --sigma " + s + " --hardware h100-sxm --format json --repeats 1");
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["seq_len"] == 3);
  CHECK(doc["d_head"] == 2);
  CHECK(doc["kernel_mse_theory"].is_null());
  CHECK(doc["inputs"].size() == 3);

  const std::string bad = dir.Write("cs_att_bad.csv", "a,b\n0.1,0.2\n0.3,oops\n");
  r = RunCli("attention --kernel favor --queries " + bad + " --keys " + k + " --hardware h100-sxm");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("cs_att_bad.csv:3:"));
  r = RunCli("attention --kernel favor --queries /nonexistent/q.csv --keys " + k +
             " --hardware h100-sxm");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("/nonexistent/q.csv"));
  const std::string asym = dir.Write("cs_att_asym.csv", "a,b\n1,0.5\n0,1\n");
  r = RunCli("attention --kernel dark --queries " + q + " --keys " + k + " --sigma " + asym +
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
    const CliResult r = RunCli(base + c.args);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(c.flag));
  }
}

TEST_CASE("calibrate writes the table and the profile, never over its input") {
  const TempDir dir;
  const std::string csv = dir.File("cs_cal.csv");
  const std::string profile = dir.File("cs_cal_profile.json");
  CliResult r =
      RunCli("calibrate --hardware h100-sxm --kernels favor,flash --quick --repeats 1 --out " +
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
  r = RunCli(
      "attention --kernel favor --seq 64 --dim 16 --features 16 --repeats 1 --format json "
      "--hardware " +
      profile);
  CHECK(r.code == 0);
  r = RunCli("calibrate --hardware " + profile + " --quick --out-profile " + profile);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--out-profile"));
  r = RunCli("calibrate --hardware h100-sxm --kernels favor,bogus");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--kernels"));
}
