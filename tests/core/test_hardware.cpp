#include <catch2/catch.hpp>

#include <chronoscale/error.h>
#include <chronoscale/hardware.h>
#include <chronoscale/io.h>

using namespace chronoscale;

TEST_CASE("Every required preset loads and round-trips") {
  for (const char* name : {"h100-sxm", "h200", "a100-80gb", "a100-40gb", "rtx-4090", "mi300x",
                           "tpu-v5e", "h200-measured"}) {
    INFO(name);
    REQUIRE(IsHardwarePreset(name));
    const HardwareProfile h = LoadHardware(name);
    CHECK(h.name == name);
    CHECK(h.mem_bandwidth_bytes_per_s > 1e11);
    CHECK(h.MatmulRate(Precision::kBf16) > 1e13);
    CHECK(h.extra.contains("field_sources"));
    const HardwareProfile again = HardwareFromJson(HardwareToJson(h), "roundtrip");
    CHECK(again.matmul_flops_per_s == h.matmul_flops_per_s);
    CHECK(again.mem_bandwidth_bytes_per_s == h.mem_bandwidth_bytes_per_s);
  }
}

TEST_CASE("h200-measured carries the ceilings.csv figures") {
  const HardwareProfile h = LoadHardware("h200-measured");
  CHECK(h.MatmulRate(Precision::kBf16) == Approx(748.9e12).epsilon(1e-3));
  CHECK(h.MatmulRate(Precision::kTf32) == Approx(393.9e12).epsilon(1e-3));
  CHECK(h.MatmulRate(Precision::kFp32) == Approx(49.5e12).epsilon(1e-3));
  CHECK(h.mem_bandwidth_bytes_per_s == Approx(4.339e12).epsilon(1e-3));
}

TEST_CASE("Bad profiles are rejected with the key named") {
  CHECK_THROWS_WITH(HardwareFromJson(nlohmann::json::parse(R"({"name":"x"})"), "p.json"),
                    Catch::Contains("p.json") && Catch::Contains("mem_bandwidth_bytes_per_s"));
  CHECK_THROWS_WITH(
      HardwareFromJson(nlohmann::json::parse(
                           R"({"name":"x","mem_bandwidth_bytes_per_s":1e12,"launch_overhead_s":1e-6,
                               "matmul_flops_per_s":{"fp8":1e15}})"),
                       "p.json"),
      Catch::Contains("fp8"));
  CHECK_THROWS_WITH(
      HardwareFromJson(nlohmann::json::parse(
                           R"({"name":"x","mem_bandwidth_bytes_per_s":-1,"launch_overhead_s":1e-6,
                               "matmul_flops_per_s":{"bf16":1e15}})"),
                       "p.json"),
      Catch::Contains("mem_bandwidth_bytes_per_s"));
  CHECK_THROWS_WITH(LoadHardware("no-such-gpu"), Catch::Contains("h100-sxm"));
  CHECK_THROWS_AS(LoadHardware("/nonexistent/profile.json"), InputError);
}
