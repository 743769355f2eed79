// CUDA microbenchmarks: device-to-device copy and triad bandwidth, cuBLAS GEMM (bf16, fp16,
// tf32, fp32) at large square sizes on random nonzero data, kernel launch latency, device
// memory. Timing with CUDA events after warm-up; every repetition kept, the caller takes the
// best and the median. Every CUDA call is checked; results are verified.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_cuda.h"

namespace chronoscale::internal {
namespace {

struct CudaFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct CancelledRun {};

void Check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw CudaFailure(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(status));
  }
}
void CheckBlas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw CudaFailure(std::string("cuBLAS error in ") + what + ": status " +
                      std::to_string(static_cast<int>(status)));
  }
}
void CheckLaunch(const char* what) { Check(cudaGetLastError(), what); }

struct DeviceBuffer {
  void* ptr = nullptr;
  explicit DeviceBuffer(std::size_t bytes) { Check(cudaMalloc(&ptr, bytes), "cudaMalloc"); }
  ~DeviceBuffer() {
    if (ptr) cudaFree(ptr);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

struct Events {
  cudaEvent_t start = nullptr, stop = nullptr;
  Events() {
    Check(cudaEventCreate(&start), "cudaEventCreate");
    Check(cudaEventCreate(&stop), "cudaEventCreate");
  }
  ~Events() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  double Seconds() {
    Check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    Check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    return ms * 1e-3;
  }
};

// Hash-based uniform values in [0.5, 1.5) with a random sign: never zero.
__device__ __forceinline__ float RandomValue(uint64_t i, uint32_t seed) {
  uint64_t x = i * 0x9E3779B97F4A7C15ULL + seed;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  const float u = static_cast<float>(x >> 40) * (1.0f / 16777216.0f);
  return (x & 1) ? 0.5f + u : -(0.5f + u);
}

template <typename T>
__global__ void FillRandom(T* out, std::size_t n, uint32_t seed, float scale) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    out[i] = static_cast<T>(scale * RandomValue(i, seed));
  }
}

__global__ void CopyKernel(float4* __restrict__ c, const float4* __restrict__ a, std::size_t n4) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n4;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    c[i] = a[i];
  }
}

__global__ void TriadKernel(float4* __restrict__ a, const float4* __restrict__ b,
                            const float4* __restrict__ c, float s, std::size_t n4) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n4;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const float4 x = b[i], y = c[i];
    a[i] = make_float4(x.x + s * y.x, x.y + s * y.y, x.z + s * y.z, x.w + s * y.w);
  }
}

// Counts elements where out != b + s * c (s = 0 checks a copy: out == b).
__global__ void CountMismatches(const float* out, const float* b, const float* c, float s,
                                std::size_t n, unsigned long long* bad) {
  unsigned long long local = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const float expect = s == 0.0f ? b[i] : b[i] + s * c[i];
    if (!(fabsf(out[i] - expect) <= 1e-6f * (fabsf(expect) + 1.0f))) ++local;
  }
  if (local) atomicAdd(bad, local);
}

__global__ void EmptyKernel() {}

struct Bench {
  bool quick;
  const CudaProgress& progress;
  CudaBenchResult* result;
  int sms = 0;
  double done = 0, total = 1;

  void Step(const std::string& message) {
    if (progress && !progress(std::min(1.0, done / total), message)) throw CancelledRun{};
  }
  int Blocks() const { return std::max(1, sms) * 8; }

  std::size_t CheckAgainst(const float* out, const float* b, const float* c, float s,
                           std::size_t n) {
    DeviceBuffer bad(sizeof(unsigned long long));
    Check(cudaMemset(bad.ptr, 0, sizeof(unsigned long long)), "cudaMemset");
    CountMismatches<<<Blocks(), 256>>>(out, b, c, s, n, bad.as<unsigned long long>());
    CheckLaunch("CountMismatches");
    unsigned long long host = 0;
    Check(cudaMemcpy(&host, bad.ptr, sizeof(host), cudaMemcpyDeviceToHost), "cudaMemcpy");
    return static_cast<std::size_t>(host);
  }

  void Bandwidth() {
    std::size_t free_bytes = 0, total_bytes = 0;
    Check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
    std::size_t bytes = quick ? (std::size_t{256} << 20) : (std::size_t{1} << 30);
    bytes = std::min(bytes, free_bytes / 8);
    bytes -= bytes % (std::size_t{1} << 20);
    const std::size_t n = bytes / sizeof(float);
    DeviceBuffer a(bytes), b(bytes), c(bytes);
    FillRandom<<<Blocks(), 256>>>(b.as<float>(), n, 1u, 1.0f);
    FillRandom<<<Blocks(), 256>>>(c.as<float>(), n, 2u, 1.0f);
    CheckLaunch("FillRandom");
    Check(cudaMemset(a.ptr, 0xff, bytes), "cudaMemset");  // poison: NaN everywhere
    const int reps = quick ? 20 : 50;
    const float s = 3.0f;
    Events ev;
    for (int kernel = 0; kernel < 2; ++kernel) {
      CudaRate rate;
      rate.name = kernel == 0 ? "copy" : "triad";
      rate.unit = "bytes/s";
      rate.work_per_rep = static_cast<double>(kernel == 0 ? 2 : 3) * bytes;
      rate.note = kernel == 0 ? "read + write counted" : "2 reads + 1 write counted";
      Step("cuda " + rate.name);
      for (int r = -3; r < reps; ++r) {  // three warm-up runs
        Check(cudaEventRecord(ev.start), "cudaEventRecord");
        if (kernel == 0) {
          CopyKernel<<<Blocks(), 256>>>(a.as<float4>(), b.as<float4>(), n / 4);
        } else {
          TriadKernel<<<Blocks(), 256>>>(a.as<float4>(), b.as<float4>(), c.as<float4>(), s, n / 4);
        }
        CheckLaunch(kernel == 0 ? "CopyKernel" : "TriadKernel");
        Check(cudaEventRecord(ev.stop), "cudaEventRecord");
        const double sec = ev.Seconds();
        if (r >= 0) rate.samples.push_back(rate.work_per_rep / sec);
      }
      const std::size_t bad =
          CheckAgainst(a.as<float>(), b.as<float>(), c.as<float>(), kernel == 0 ? 0.0f : s, n);
      if (bad) {
        throw CudaFailure("cuda " + rate.name + " verification failed: " + std::to_string(bad) +
                          " wrong elements");
      }
      rate.verified = true;
      result->rates.push_back(rate);
      done += 1;
      Check(cudaMemset(a.ptr, 0xff, bytes), "cudaMemset");
    }
  }

  void Gemm(cublasHandle_t handle, const char* precision) {
    const std::string p = precision;
    const int n = quick ? 4096 : 8192;
    const bool half = p == "bf16" || p == "fp16";
    const std::size_t elems = static_cast<std::size_t>(n) * n;
    const std::size_t in_bytes = elems * (half ? 2 : 4);
    DeviceBuffer a(in_bytes), b(in_bytes), c(elems * 4);
    const float scale_b = 1.0f / std::sqrt(static_cast<float>(n));
    cudaDataType_t in_type = CUDA_R_32F;
    if (p == "bf16") {
      in_type = CUDA_R_16BF;
      FillRandom<<<Blocks(), 256>>>(a.as<__nv_bfloat16>(), elems, 11u, 1.0f);
      FillRandom<<<Blocks(), 256>>>(b.as<__nv_bfloat16>(), elems, 12u, scale_b);
    } else if (p == "fp16") {
      in_type = CUDA_R_16F;
      FillRandom<<<Blocks(), 256>>>(a.as<__half>(), elems, 11u, 1.0f);
      FillRandom<<<Blocks(), 256>>>(b.as<__half>(), elems, 12u, scale_b);
    } else {
      FillRandom<<<Blocks(), 256>>>(a.as<float>(), elems, 11u, 1.0f);
      FillRandom<<<Blocks(), 256>>>(b.as<float>(), elems, 12u, scale_b);
    }
    CheckLaunch("FillRandom");
    const cublasComputeType_t compute =
        p == "tf32" ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    const float alpha = 1.0f, beta = 0.0f;
    CudaRate rate;
    rate.name = "gemm_" + p;
    rate.unit = "flop/s";
    rate.n = n;
    rate.work_per_rep = 2.0 * n * static_cast<double>(n) * n;
    rate.note = "cublasGemmEx, fp32 output and accumulation";
    Step("cuda GEMM " + p);
    const int reps = quick ? 10 : 30;
    Events ev;
    for (int r = -3; r < reps; ++r) {
      Check(cudaEventRecord(ev.start), "cudaEventRecord");
      CheckBlas(
          cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a.ptr, in_type, n, b.ptr,
                       in_type, n, &beta, c.ptr, CUDA_R_32F, n, compute, CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx");
      Check(cudaEventRecord(ev.stop), "cudaEventRecord");
      const double sec = ev.Seconds();
      if (r >= 0) rate.samples.push_back(rate.work_per_rep / sec);
    }
    // Verify a few entries of C (column-major) against a double-precision dot product over
    // A's row and B's column, copied back with one strided copy each.
    const std::size_t elem = half ? 2 : 4;
    auto fetch = [&](const void* base, std::size_t first, std::size_t stride) {
      std::vector<unsigned char> raw(static_cast<std::size_t>(n) * elem);
      Check(cudaMemcpy2D(raw.data(), elem, static_cast<const unsigned char*>(base) + first * elem,
                         stride * elem, elem, n, cudaMemcpyDeviceToHost),
            "cudaMemcpy2D");
      std::vector<double> out(n);
      for (int k = 0; k < n; ++k) {
        const unsigned char* x = raw.data() + static_cast<std::size_t>(k) * elem;
        if (p == "bf16") {
          out[k] = __bfloat162float(*reinterpret_cast<const __nv_bfloat16*>(x));
        } else if (p == "fp16") {
          out[k] = __half2float(*reinterpret_cast<const __half*>(x));
        } else {
          out[k] = *reinterpret_cast<const float*>(x);
        }
      }
      return out;
    };
    const double tol = half ? 2e-2 : (p == "tf32" ? 5e-3 : 1e-4);
    for (int probe = 0; probe < 2; ++probe) {
      const int i = probe == 0 ? 0 : n - 1, j = probe == 0 ? n / 2 : 7;
      const std::vector<double> row = fetch(a.ptr, static_cast<std::size_t>(i), n);      // A(i, :)
      const std::vector<double> col = fetch(b.ptr, static_cast<std::size_t>(j) * n, 1);  // B(:, j)
      double ref = 0, mag = 0;
      for (int k = 0; k < n; ++k) {
        ref += row[k] * col[k];
        mag += std::fabs(row[k] * col[k]);
      }
      float got = 0;
      Check(cudaMemcpy(&got, c.as<float>() + i + static_cast<std::size_t>(j) * n, sizeof(got),
                       cudaMemcpyDeviceToHost),
            "cudaMemcpy");
      if (!(std::fabs(got - ref) <= tol * mag)) throw CudaFumbled(p, got, ref);
    }
    rate.verified = true;
    result->rates.push_back(rate);
    done += 1;
  }

  static CudaFailure CudaFumbled(const std::string& p, double got, double ref) {
    return CudaFailure("cuda GEMM " + p + " verification failed: got " + std::to_string(got) +
                       ", expected " + std::to_string(ref));
  }

  void Launch() {
    Step("cuda launch latency");
    const int launches = 1000, reps = quick ? 10 : 30;
    Events ev;
    CudaRate rate;
    rate.name = "launch";
    rate.unit = "s";
    rate.work_per_rep = launches;
    rate.note = "back-to-back empty kernels on one stream, event-timed, per launch";
    for (int r = -2; r < reps; ++r) {
      Check(cudaEventRecord(ev.start), "cudaEventRecord");
      for (int k = 0; k < launches; ++k) EmptyKernel<<<1, 1>>>();
      CheckLaunch("EmptyKernel");
      Check(cudaEventRecord(ev.stop), "cudaEventRecord");
      const double sec = ev.Seconds();
      if (r >= 0) rate.samples.push_back(sec / launches);
    }
    rate.verified = true;
    result->rates.push_back(rate);
    done += 1;
  }
};

}  // namespace

CudaBenchResult RunCudaBench(bool quick, const CudaProgress& progress) {
  CudaBenchResult result;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  cudaDriverGetVersion(&result.driver_version);
  cudaRuntimeGetVersion(&result.runtime_version);
  if (status != cudaSuccess) {
    result.error = std::string("no usable CUDA device: ") + cudaGetErrorString(status);
    if (status == cudaErrorInsufficientDriver && result.driver_version == 0) {
      result.error += " (no NVIDIA driver found)";
    } else if (status == cudaErrorInsufficientDriver) {
      result.error += " (driver supports CUDA " + std::to_string(result.driver_version / 1000) +
                      "." + std::to_string(result.driver_version % 1000 / 10) +
                      ", this build needs " + std::to_string(result.runtime_version / 1000) + "." +
                      std::to_string(result.runtime_version % 1000 / 10) + ")";
    }
    return result;
  }
  if (count == 0) {
    result.error = "no usable CUDA device: no CUDA device found";
    return result;
  }
  cublasHandle_t handle = nullptr;
  try {
    Check(cudaSetDevice(0), "cudaSetDevice");
    cudaDeviceProp prop{};
    Check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    result.device_name = prop.name;
    result.arch = "sm_" + std::to_string(prop.major) + std::to_string(prop.minor);
    result.memory_bytes = static_cast<double>(prop.totalGlobalMem);
    if (count > 1) result.notes.push_back("measured device 0 of " + std::to_string(count));
    CheckBlas(cublasCreate(&handle), "cublasCreate");
    Bench bench{quick, progress, &result};
    bench.sms = prop.multiProcessorCount;
    bench.total = 2 + 4 + 1;
    bench.Bandwidth();
    for (const char* p : {"bf16", "fp16", "tf32", "fp32"}) bench.Gemm(handle, p);
    bench.Launch();
    Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    if (progress) progress(1.0, "cuda done");
  } catch (const CancelledRun&) {
    result.cancelled = true;
  } catch (const CudaFailure& e) {
    result.error = e.what();
  } catch (const std::bad_alloc&) {
    result.error = "out of host memory";
  }
  if (handle) cublasDestroy(handle);
  return result;
}

}  // namespace chronoscale::internal
