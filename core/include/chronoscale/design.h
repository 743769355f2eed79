// Designed experiments: which shapes to measure on your own hardware so that the calibrated
// step-time model's parameters are pinned down. A greedy D-optimal design over the model's
// sensitivities (the derivatives of the log step and phase times with respect to its seven
// parameters), plus shapes spread over the width x depth region a plan searches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chronoscale/step_time.h"

namespace chronoscale {

struct DesignOptions {
  int count = 24;  // shapes to choose
  int64_t width_min = 64, width_max = 4096;
  int64_t depth_min = 1, depth_max = 32;
  std::vector<int64_t> seq = {256, 512, 1024, 2048, 4096};
  std::vector<int64_t> batch = {1, 2, 4, 8, 16, 32};
  std::vector<int64_t> vocab = {8192, 32768, 131072};
  double max_params = 0;    // 0: bounded by memory only
  double usable_bytes = 0;  // per device (0: the hardware's memory less the default reserve)
  double coverage = 0.25;   // share of the count spread over width x depth (maximin)
  unsigned seed = 1;
  int pool = 4000;  // candidate shapes drawn
};

struct DesignedShape {
  ModelShape shape;
  std::string role;        // "d-optimal" or "coverage"
  double predicted_s = 0;  // the model's step time (for planning the measuring run)
};

struct Design {
  std::vector<DesignedShape> shapes;
  int candidates = 0;  // candidates that fit and were scored
  // The parameters and how well the design pins each: the standard error of each (log
  // multipliers; c0 in ms; the sharpness) per 1% noise in every measured time.
  std::vector<std::string> parameters;
  std::vector<double> standard_error;
};

// Throws InputError for options that leave no candidate (naming the bound) or a count < 1.
Design DesignExperiments(const TimeModel& model, const DesignOptions& options);
// The shapes as a CSV the measurement harness reads (tools/measure_steps.py), one row each, for
// a data-parallel run on `devices` GPUs: each GPU gets the designed batch (the global batch is
// batch x devices).
std::string DesignCsv(const Design& design, int devices = 1);
// A Slurm batch script that measures `shapes_csv` with the harness under torchrun on `nodes`
// nodes of `gpus_per_node` GPUs each and writes `runs_csv`.
std::string SlurmScript(const std::string& harness, const std::string& shapes_csv,
                        const std::string& runs_csv, int nodes, int gpus_per_node,
                        const std::string& time_limit);

}  // namespace chronoscale
