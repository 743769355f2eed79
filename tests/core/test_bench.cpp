// Quick-mode sanity of the CPU bench: one small bench for the whole file (shared by the test
// cases), then the profile, cancellation and the "local" cache.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include <chronoscale/bench.h>
#include <chronoscale/error.h>
#include <chronoscale/io.h>

#include "skip.h"

using namespace chronoscale;
namespace fs = std::filesystem;

namespace {

// Small and short: the numbers only have to be plausible here.
BenchOptions SmallOptions() {
  BenchOptions o;
  o.quick = true;
  o.stream_array_bytes = 32.0 * (1 << 20);
  o.stream_repetitions = 6;
  o.gemm_sizes = {64, 128};
  o.target_rep_s = 0.01;
  return o;
}

const BenchSummary& SharedSummary() {
  static const BenchSummary summary = [] {
    int calls = 0;
    double last = -1;
    bool monotone = true;
    BenchSummary s = RunBench(SmallOptions(), [&](double fraction, const std::string&) {
      ++calls;
      monotone = monotone && fraction >= last - 1e-12;
      last = fraction;
      return true;
    });
    REQUIRE(calls > 10);
    REQUIRE(monotone);
    REQUIRE(last == 1.0);
    return s;
  }();
  return summary;
}

void RequireStats(const RateStats& r, double lo, double hi) {
  CHECK(r.repetitions > 0);
  CHECK(r.best >= r.median);
  CHECK(r.median >= r.worst);
  CHECK(r.best > lo);
  CHECK(r.best < hi);
}

}  // namespace

TEST_CASE("Bench options are validated") {
  BenchOptions o;
  std::string error;
  CHECK(o.IsValid(&error));
  o.num_threads = -1;
  CHECK_FALSE(o.IsValid(&error));
  CHECK_THAT(error, Catch::Contains("threads"));
  CHECK_THROWS_AS(RunBench(o, nullptr), InputError);
  o = BenchOptions{};
  o.gemm_sizes = {4};
  CHECK_FALSE(o.IsValid(&error));
  BenchDevice d;
  CHECK(Parse("CUDA", &d));
  CHECK(d == BenchDevice::kCuda);
  CHECK(Parse("cpu", &d));
  CHECK(d == BenchDevice::kCpu);
  CHECK_FALSE(Parse("tpu", &d));
}

TEST_CASE("StatsFromRates orders best, median, worst") {
  const RateStats s = StatsFromRates({3, 1, 2, 4});
  CHECK(s.best == 4);
  CHECK(s.median == 2.5);
  CHECK(s.worst == 1);
  CHECK(s.repetitions == 4);
  CHECK(s.Spread() == Approx(0.375));
}

TEST_CASE("Quick CPU bench gives plausible, verified rates") {
  const BenchSummary& s = SharedSummary();
  CHECK(s.num_threads >= 1);
  CHECK(s.memory_bytes > 1e8);
  CHECK(s.llc_bytes > 0);
  REQUIRE(s.stream.size() == 4);
  for (const auto& k : s.stream) {
    INFO(k.name);
    CHECK(k.verified);
    CHECK(k.unit == "bytes/s");
    RequireStats(k.rate, 1e8, 1e13);  // 0.1 GB/s .. 10 TB/s
  }
  CHECK(s.TriadBandwidth() == s.stream[3].rate.best);
  RequireStats(s.fma_fp32.rate, 1e8, 1e14);
  RequireStats(s.fma_fp64.rate, 1e8, 1e14);
  CHECK(s.fma_fp32.verified);
  RequireStats(s.exp.rate, 1e6, 1e13);
  CHECK(s.exp_baseline_isa_per_s > 0);
  CHECK(s.launch_overhead_s.best > 1e-9);
  CHECK(s.launch_overhead_s.median < 1e-2);
  CHECK(s.BestGemm("fp32") > 1e8);
  CHECK(s.BestGemm("fp64") > 1e8);
  CHECK(s.BestGemm("bf16") == 0);  // emulated only: never the CPU's rate
  bool has_emulated_bf16 = false;
  for (const auto& g : s.gemm)
    has_emulated_bf16 = has_emulated_bf16 || (g.emulated && g.precision == "bf16");
  CHECK(has_emulated_bf16);
  REQUIRE(s.has_reference);
  RequireStats(s.reference_triad.rate, 1e8, 1e13);
  RequireStats(s.reference_fma_fp32.rate, 1e8, 1e14);
  RequireStats(s.reference_fma_fp64.rate, 1e8, 1e14);
  // How fast the kernels are against the reference loops is a timing, not a unit-test
  // assertion (it flakes on a loaded machine and under the sanitizers): `chronoscale bench`
  // prints the ratios and docs/bench.md records them.
  const auto ridges = s.RooflineRidges();
  REQUIRE(ridges.size() >= 4);
  for (const auto& r : ridges) CHECK(r.flops_per_byte > 0);
  CHECK_THAT(s.FullReport(),
             Catch::Contains("triad") && Catch::Contains("ridge") && Catch::Contains("reference"));
  CHECK_THAT(s.BriefReport(), Catch::Contains("GB/s"));
}

TEST_CASE("The profile round-trips through HardwareFromJson") {
  const BenchSummary& s = SharedSummary();
  const HardwareProfile h = s.ToHardwareProfile();
  CHECK_THAT(h.source, Catch::StartsWith("measured by chronoscale bench on "));
  CHECK(h.date.size() == 10);
  const nlohmann::json doc = HardwareToJson(h);
  for (const char* key :
       {"name", "source", "date", "memory_bytes", "mem_bandwidth_bytes_per_s", "matmul_flops_per_s",
        "vector_flops_per_s", "launch_overhead_s", "exp_per_s", "field_sources", "bench"}) {
    INFO(key);
    CHECK(doc.contains(key));
  }
  CHECK(doc["matmul_flops_per_s"].contains("fp32"));
  CHECK_FALSE(doc["matmul_flops_per_s"].contains("bf16"));
  CHECK(doc["matmul_emulated_flops_per_s"].contains("bf16"));
  CHECK(doc["vector_flops_per_s"].contains("fp64"));
  const HardwareProfile again = HardwareFromJson(nlohmann::json::parse(doc.dump()), "roundtrip");
  CHECK(again.name == h.name);
  CHECK(again.mem_bandwidth_bytes_per_s == h.mem_bandwidth_bytes_per_s);
  CHECK(again.matmul_flops_per_s == h.matmul_flops_per_s);
  CHECK(again.vector_flops_per_s == h.vector_flops_per_s);
  CHECK(again.launch_overhead_s == h.launch_overhead_s);
  CHECK(again.exp_per_s == h.exp_per_s);
  CHECK(again.extra["bench"]["reference"].contains("triad_vs_reference"));
  CHECK(again.MatmulRate(Precision::kBf16) == h.matmul_flops_per_s[1]);  // falls back to fp32
}

TEST_CASE("A progress callback that returns false cancels the bench") {
  int calls = 0;
  CHECK_THROWS_AS(RunBench(SmallOptions(), [&](double, const std::string&) { return ++calls < 3; }),
                  Cancelled);
  CHECK(calls == 3);
}

TEST_CASE("--device cuda without the backend says so", "[may-skip]") {
  if (HaveCudaBackend()) {
    CHRONOSCALE_SKIP("this build has the CUDA backend; the no-backend message is not reachable");
  }
  BenchOptions o;
  o.device = BenchDevice::kCuda;
  CHECK_THROWS_WITH(RunBench(o, nullptr), Catch::Contains("no CUDA backend"));
}

TEST_CASE("LoadHardwareOrLocal caches this machine's profile") {
  const fs::path dir =
      fs::temp_directory_path() / ("chronoscale_test_bench_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  ::setenv("XDG_CACHE_HOME", dir.c_str(), 1);
  const std::string path = LocalProfileCachePath();
  CHECK(path == (dir / "chronoscale" / "local.json").string());

  // Presets and files go to LoadHardware, without benching.
  auto refuse = [](double, const std::string&) { return false; };
  CHECK(LoadHardwareOrLocal("h100-sxm", refuse).name == "h100-sxm");
  CHECK_THROWS_AS(LoadHardwareOrLocal("no-such-preset", refuse), InputError);

  // No cache: it benches (here cancelled at once, so nothing is written).
  CHECK_THROWS_AS(LoadHardwareOrLocal("local", refuse), Cancelled);
  CHECK_FALSE(fs::exists(path));

  // A cached profile is returned as is, without benching.
  fs::create_directories(fs::path(path).parent_path());
  HardwareProfile measured = SharedSummary().ToHardwareProfile();
  WriteFileAtomic(path, HardwareToJson(measured).dump(2));
  const HardwareProfile local = LoadHardwareOrLocal("local", refuse);
  CHECK(local.name == "local");
  CHECK(local.mem_bandwidth_bytes_per_s == measured.mem_bandwidth_bytes_per_s);
  CHECK(local.matmul_flops_per_s == measured.matmul_flops_per_s);

  // A damaged cache is measured again (cancelled here).
  { std::ofstream(path) << "{ not json"; }
  CHECK_THROWS_AS(LoadHardwareOrLocal("local", refuse), Cancelled);
  fs::remove_all(dir);
  ::unsetenv("XDG_CACHE_HOME");
}
