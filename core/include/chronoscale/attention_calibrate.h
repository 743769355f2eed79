// Calibration of the cost model on the attention kernels: time the kernels of attention.h over a
// grid of sequence lengths, head dimensions and feature counts on this machine, price the same
// calls with the step-time model's ops (AttentionKernelOps) and a hardware profile, fit
// non-negative coefficients on the resource times, and report the cross-validated error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chronoscale/attention.h"
#include "chronoscale/hardware.h"
#include "chronoscale/progress.h"
#include "chronoscale/types.h"
#include "chronoscale/workload.h"

namespace chronoscale {

// Resource times of a list of ops on a profile (seconds, each summed over ops x count).
struct ResourceTimes {
  double matmul_s = 0;    // flops / matmul rate (vector rate for non-matmul kinds)
  double exp_s = 0;       // exps / exp rate
  double memory_s = 0;    // bytes / bandwidth
  double launch_s = 0;    // launches x launch overhead
  double roofline_s = 0;  // sum over ops of max(flops, bytes, exps times) + launches x overhead
};
ResourceTimes PriceOps(const std::vector<Op>& ops, const HardwareProfile& hardware);
// The roofline prediction (PriceOps(...).roofline_s) of one kernel call.
double PredictAttentionSeconds(AttentionKernel kernel, int64_t batch, int64_t heads,
                               int64_t seq_len, int64_t d_head, int64_t features, bool causal,
                               Precision precision, const HardwareProfile& hardware);

struct CalibrateOptions {
  std::vector<AttentionKernel> kernels;  // empty: every kernel
  std::vector<int64_t> seq_lens = {256, 512, 1024, 2048, 4096};
  std::vector<int64_t> head_dims = {32, 64};
  std::vector<int64_t> features = {64, 256};  // random-feature kernels only
  int64_t batch = 1;
  int64_t heads = 2;
  bool causal = false;
  // Passes over the grid (after one warm-up run per point); each pass runs every point for
  // about 10 ms. A point's time is its best run (the least disturbed by other work).
  int repeats = 5;
  int folds = 5;    // k-fold cross-validation of the fitted model
  int threads = 0;  // 0: every hardware thread
  // Skip naive softmax points whose s x s scores would exceed this (bytes).
  double max_scores_bytes = 1.1e9;
  uint64_t seed = 0;

  // A smaller grid (seq 256..2048, head dim 64, repeats 3) for a fast check.
  void MakeQuick();
  bool IsValid(std::string* error) const;
};

struct CalibrationPoint {
  AttentionKernel kernel = AttentionKernel::kFlash;
  int64_t seq_len = 0, d_head = 0, features = 0;
  double measured_s = 0;    // best run over the passes
  double model_s = 0;       // roofline with the input profile (before calibration)
  double predicted_s = 0;   // calibrated model fitted without this point (k-fold)
  double fitted_s = 0;      // calibrated model fitted on every point
  ResourceTimes resources;  // with the input profile
};

// Fitted multipliers on the resource times (non-negative): time = matmul * matmul_s + exp *
// exp_s + memory * memory_s + fixed_s (per call). One set per kernel family (exact materialised,
// exact blocked, random features) and one global set, from which the calibrated profile's
// effective rates come (rate / multiplier).
struct CostCoefficients {
  double matmul = 0, exp = 0, memory = 0, fixed_s = 0;
};

struct CalibrateSummary {
  std::vector<CalibrationPoint> points;
  CostCoefficients global;
  std::vector<std::pair<std::string, CostCoefficients>> families;
  HardwareProfile calibrated;      // the input profile with the fitted effective rates
  double median_error_before = 0;  // |model - measured| / measured, input profile roofline
  double median_error_after = 0;   // cross-validated, per-family calibrated model
  double median_error_global = 0;  // cross-validated, global coefficients
  double max_error_after = 0;
  double total_s = 0;

  std::string BriefReport() const;
  std::string FullReport() const;  // a table of every point
};

// Runs the grid. Throws InputError on invalid options, Cancelled when progress says stop.
CalibrateSummary CalibrateAttention(const CalibrateOptions& options,
                                    const HardwareProfile& hardware,
                                    const ProgressCallback& progress = nullptr);

// Non-negative least squares min |A x - b|, x >= 0 (exact for the few columns used here:
// every subset of active columns is tried). Exposed for tests.
Eigen::VectorXd NonNegativeLeastSquares(const Eigen::MatrixXd& a, const Eigen::VectorXd& b);

}  // namespace chronoscale
