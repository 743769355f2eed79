// The Approach 3 fit's pieces shared by its sources: loss_fit.cpp (the grid of starts, the
// optimum and its checks) and loss_fit_bootstrap.cpp (the bootstrap). Not installed.
#pragma once

#include <ceres/ceres.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <chronoscale/loss_law.h>

namespace chronoscale::loss_fit_internal {

using Params = std::array<double, 5>;  // a, b, e, alpha, beta
constexpr int kA = 0, kB = 1, kE = 2, kAlpha = 3, kBeta = 4;

struct Point {
  double log_n = 0.0;
  double log_d = 0.0;
  double log_l = 0.0;
};

enum class StartStatus { kConverged, kNotConverged, kFailed };

struct StartResult {
  Params x{};
  double cost = std::numeric_limits<double>::infinity();
  int iterations = 0;
  StartStatus status = StartStatus::kFailed;
};

// One Ceres Problem over a fixed number of points, reused for every solve a worker does.
class Worker {
 public:
  Worker(const std::vector<Point>& points, double huber_delta);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // For the bootstrap: replaces the data (same count) without rebuilding the Problem.
  std::vector<Point>& points() { return points_; }

  StartResult Solve(const Params& start, const ceres::Solver::Options& options);

 private:
  std::vector<Point> points_;
  Params x_{};
  ceres::Problem problem_;
};

ceres::Solver::Options SolverOptions(const LossFitOptions& options, int max_iterations);

// Runs `task(worker, i)` for i in [0, count) on `workers` (the calling thread is worker 0 and
// reports progress). Returns false when progress asked to cancel.
template <typename Task>
bool ParallelFor(std::vector<std::unique_ptr<Worker>>& workers, int count, const Task& task,
                 const ProgressCallback& progress, double progress_from, double progress_to,
                 const std::string& message) {
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::atomic<bool> cancel{false};
  std::mutex error_mutex;
  std::exception_ptr error;
  auto loop = [&](std::size_t w, bool reporter) {
    try {
      for (int i = next++; i < count && !cancel; i = next++) {
        task(*workers[w], i);
        ++done;
        if (reporter && !ReportProgress(progress,
                                        progress_from + (progress_to - progress_from) *
                                                            static_cast<double>(done) / count,
                                        message)) {
          cancel = true;
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      cancel = true;
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t w = 1; w < workers.size(); ++w) threads.emplace_back(loop, w, false);
  loop(0, true);
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  if (cancel) return false;
  ReportProgress(progress, progress_to, message);
  return true;
}

LossLaw LawFromParams(const Params& x);

// splitmix64: decorrelated per-resample seeds, so resample i is the same whatever thread draws it.
uint64_t SplitMix(uint64_t x);
// Standard normal from a 64-bit generator, defined here so that results do not depend on the
// standard library's distributions.
double Normal(std::mt19937_64& rng);
double Seconds(std::chrono::steady_clock::time_point since);

// Resamples the runs with replacement options.bootstrap_resamples times, refits each from the
// optimum `x_opt` and perturbed copies of it, and fills the summary's bootstrap laws, intervals
// and warnings. Cancelled when progress asks.
void Bootstrap(std::vector<std::unique_ptr<Worker>>& workers, const std::vector<Point>& points,
               const std::vector<LossRun>& runs, const Params& x_opt, const LossFitOptions& options,
               const ProgressCallback& progress, LossFitSummary* summary);

}  // namespace chronoscale::loss_fit_internal
