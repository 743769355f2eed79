// Fitting the step-time estimators to measured runs (Ceres, robust loss on relative error,
// non-negative coefficients) and the side-by-side error report with k-fold cross-validation.
#pragma once

#include <string>
#include <vector>

#include "chronoscale/io.h"
#include "chronoscale/progress.h"
#include "chronoscale/step_time.h"

namespace chronoscale {

struct StepRun {
  ModelShape shape;  // batch: the global batch (sequences per optimizer step)
  ParallelLayout layout;
  std::string hardware;  // the row's hardware (preset or profile); empty: the fit's
  std::string device;    // the row's device as the driver names it (column device), if given
  double step_s = 0;
  double fwd_s = 0, bwd_s = 0, opt_s = 0;  // measured phases (fwd_ms, bwd_ms, opt_ms); 0: none
  int line = 0;                            // line in the runs file (for messages)
};

struct RunsFile {
  std::vector<StepRun> runs;
  int skipped = 0;  // rows whose status column is not "ok"
  std::vector<std::string> notes;
};

// Reads a runs CSV (columns d_model, n_layers, n_heads, d_ff, seq_len, batch, vocab, step_ms;
// optional attention, features, n_kv_heads, mlp, norm, positions, tied, bias, checkpointing
// (none|selective|full, or true/false), precision, status, and the layout columns of
// LayoutFromRow, and hardware: a preset or profile per row, for runs from several kinds of
// GPU). step_ms is one optimizer step. Errors name file:line:column.
// `gpus_per_node` is the hardware's (0: unknown), used where the file has no such column.
RunsFile ReadStepRuns(const std::string& path, int64_t gpus_per_node = 0);
// Ties runs to the hardware they were measured on, before a fit for `target`. A run's label is
// its hardware column, or `runs_hardware` where the file has none. A run whose label or device
// names the target's device is priced on the target (its hardware is cleared); one that names
// another preset or profile file keeps it (priced on its own device, the fitted multipliers
// retargeted). Refused (InputError naming the row) unless `force`: a label that is neither the
// target nor a loadable profile, and a file none of whose runs is from the target. With
// `force` unknown labels are priced as the target and `forced` is set. Runs with no label at all
// are taken as the target's, with a note.
struct RunsHardware {
  bool forced = false;
  std::vector<std::string> notes;
};
RunsHardware AssignRunsHardware(std::vector<StepRun>* runs, const std::string& path,
                                const HardwareProfile& target, const std::string& runs_hardware,
                                bool force);

// The parallel layout of one row: devices (default 1), gpus_per_node (default: the argument),
// tp and pp (default 1), sharding (none|zero1|zero2|zero3|fsdp|hybrid; default none),
// micro_batch and grad_accum (either or both; without both, one micro-step per step); batch is
// the global batch. A row whose numbers disagree is an InputError naming the row.
ParallelLayout LayoutFromRow(const CsvTable& table, std::size_t row, const ModelShape& shape,
                             int64_t gpus_per_node);
// Reads one shape per row from a CSV (the same columns, step_ms optional).
std::vector<ModelShape> ReadShapes(const CsvTable& table);
ModelShape ShapeFromRow(const CsvTable& table, std::size_t row);

// The calibrated fit's prior on `hw` (GEMMs near the matmul peak, flash attention at about half
// of it, streaming kernels near the bandwidth, 20 us of eager dispatch per kernel, 10 us per
// optimizer tensor), with c0 = 0 and sharpness 4: where the fit starts, and what a design takes
// derivatives at before any run is measured.
CalibratedCoefficients CalibratedPrior(const HardwareProfile& hw);

struct TimeFitOptions {
  int folds = 5;               // k of the k-fold cross-validation (capped at the run count)
  double robust_scale = 0.05;  // relative error where the Cauchy loss starts to discount
  int max_iterations = 200;
  unsigned seed = 1;                                // fold assignment
  CalibratedForm form = CalibratedForm::kSegments;  // the calibrated estimator's form
  bool use_phases = true;      // fit the measured phases too, where the runs have them
  bool cross_validate = true;  // false: the cv statistics are the in-sample ones
};

struct EstimatorReport {
  EstimatorKind kind;
  bool available = false;
  std::string note;  // why not, when unavailable
  // |relative error| statistics: in-sample and cross-validated (predicted on held-out folds).
  double in_median = 0, in_p90 = 0, in_worst = 0;
  double cv_median = 0, cv_p90 = 0, cv_worst = 0;
  std::vector<double> cv_predicted_s;  // per run
};

struct TimeFitSummary {
  TimeModel model;
  std::vector<EstimatorReport> reports;  // one per estimator, in EstimatorKind order
  int runs = 0;
  int folds = 0;  // k of the k-fold cross-validation actually used
  std::string BriefReport() const;
  nlohmann::json ToJson() const;
};

// Fits every estimator it has enough runs for and cross-validates it. InputError when none can
// be fitted; RuntimeError when a fit does not converge.
TimeFitSummary FitTimeModel(const std::vector<StepRun>& runs, const HardwareProfile& hw,
                            const TimeFitOptions& options = {},
                            const ProgressCallback& progress = nullptr);

// Error statistics helper: median, 90th percentile and max of |x|.
struct ErrorStats {
  double median = 0, p90 = 0, worst = 0;
};
ErrorStats AbsStats(std::vector<double> rel_errors);

// Held-out validation: how a model fitted on `train` predicts `test` (each run on its own
// hardware), for every estimator the model has, the uncalibrated roofline, and the rule every
// cluster model must beat: a constant MFU (the median of the training runs' model-FLOPs
// utilisation) with no fixed time.
struct HoldoutLine {
  std::string name;
  ErrorStats train, test;         // |relative error|
  double signed_median_test = 0;  // median relative error on test: + over-, - under-predicts
  std::string note;
};
std::vector<HoldoutLine> EvaluateHoldout(const TimeFitSummary& fit,
                                         const std::vector<StepRun>& train,
                                         const std::vector<StepRun>& test);
// Leave-one-regime-out validation of the calibrated estimator. For each dimension (d_model,
// n_layers, batch, seq_len) and each of its values: fit on the runs with other values, predict
// the runs with that value (values whose complement has fewer than 10 runs are skipped). And
// "tokens": fit on the runs at the most common tokens per step, predict every other run.
struct RegimeResult {
  std::string dimension;
  int values = 0, skipped_values = 0, predicted_runs = 0;
  ErrorStats error;  // |relative error| over every held-out prediction
  double signed_median = 0;
  std::string worst_run;  // the shape of the worst prediction
};
std::vector<RegimeResult> LeaveOneRegimeOut(const std::vector<StepRun>& runs,
                                            const HardwareProfile& hw,
                                            const TimeFitOptions& options);

// The runs on one node (devices <= gpus_per_node) and the rest.
void SplitByNodes(const std::vector<StepRun>& runs, std::vector<StepRun>* single,
                  std::vector<StepRun>* multi);

}  // namespace chronoscale
