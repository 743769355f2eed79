// The CUDA microbenchmark backend (built when CMake finds a CUDA toolkit). Plain types only, so
// that nvcc compiles bench_cuda.cu without the core's headers; bench.cpp turns the result into
// a BenchSummary.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace chronoscale::internal {

struct CudaRate {
  std::string name;  // "copy", "triad", "gemm_bf16", "launch"
  std::string unit;  // "bytes/s", "flop/s", "s"
  int n = 0;         // GEMM size (square)
  double work_per_rep = 0;
  std::vector<double> samples;  // per repetition: rate (bytes/s, flop/s) or seconds (launch)
  bool verified = false;
  std::string note;
};

struct CudaBenchResult {
  // Non-empty when the bench could not run: "no usable CUDA device: <reason>" or a CUDA error.
  std::string error;
  bool cancelled = false;
  std::string device_name;
  std::string arch;  // "sm_90"
  double memory_bytes = 0;
  int driver_version = 0, runtime_version = 0;
  std::vector<CudaRate> rates;
  std::vector<std::string> notes;
};

using CudaProgress = std::function<bool(double fraction, const std::string& message)>;

CudaBenchResult RunCudaBench(bool quick, const CudaProgress& progress);

}  // namespace chronoscale::internal
