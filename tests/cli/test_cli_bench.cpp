// Black-box tests of `chronoscale bench` through the built binary (CHRONOSCALE_CLI). One quick
// bench for the whole file.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.h"
#include "skip.h"

using chronoscale::test::CliResult;
using chronoscale::test::RunCli;

TEST_CASE("bench --quick --format json prints a hardware profile") {
  const CliResult r = RunCli("bench --quick --format json");
  INFO(r.err);
  REQUIRE(r.code == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  for (const char* key :
       {"name", "source", "date", "memory_bytes", "mem_bandwidth_bytes_per_s", "matmul_flops_per_s",
        "vector_flops_per_s", "launch_overhead_s", "exp_per_s", "field_sources", "bench",
        "schema_version", "tool", "version"}) {
    INFO(key);
    CHECK(doc.contains(key));
  }
  CHECK(doc["mem_bandwidth_bytes_per_s"].get<double>() > 1e8);
  CHECK(doc["matmul_flops_per_s"]["fp32"].get<double>() > 1e8);
  CHECK(doc["vector_flops_per_s"]["fp32"].get<double>() > 1e8);
  CHECK(doc["vector_flops_per_s"]["fp64"].get<double>() > 1e8);
  CHECK(doc["bench"]["mode"] == "quick");
  CHECK(doc["bench"]["reference"].contains("triad_vs_reference"));
  CHECK(doc["source"].get<std::string>().rfind("measured by chronoscale bench on ", 0) == 0);
  CHECK(doc["bench"]["wall_s"].get<double>() > 0);
}

TEST_CASE("bench --device cuda on a machine without a GPU exits 1 and says why", "[may-skip]") {
  if (std::filesystem::exists("/dev/nvidia0")) {
    CHRONOSCALE_SKIP("a GPU is present (/dev/nvidia0); the no-GPU message is not reachable");
  }
  const CliResult r = RunCli("bench --device cuda --quick");
  CHECK(r.code == 1);
  const bool explained = r.err.find("no usable CUDA device") != std::string::npos ||
                         r.err.find("no CUDA backend") != std::string::npos;
  INFO(r.err);
  CHECK(explained);
  CHECK(r.out.empty());
}

TEST_CASE("bench rejects bad flags with exit 2") {
  CHECK(RunCli("bench --device tpu").code == 2);
  CHECK(RunCli("bench --threads 0").code == 2);
  CHECK(RunCli("bench --format csv").code == 2);
}
