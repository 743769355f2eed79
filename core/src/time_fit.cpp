#include "chronoscale/time_fit.h"

#include <ceres/ceres.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>

#include "chronoscale/error.h"
#include "chronoscale/io.h"
#include "chronoscale/stats.h"

namespace chronoscale {
namespace {

// ------------------------------------------------------------------ fitting

// One run as the fit sees it: its counts, its hardware's nominal rates (so that every fitted
// coefficient is a dimensionless multiplier of them, near 1) and what was measured.
struct Row {
  StepCounts counts;
  double mm_rate = 0, bandwidth = 0;        // the row's hardware: bf16 matmul FLOP/s, bytes/s
  double flops_model = 0, bytes_total = 0;  // raw counts for the two linear estimators
  double y = 0;                             // measured seconds per step
  double fwd = 0, bwd = 0, opt = 0;         // measured phases (0: not measured)
  bool HasPhases() const { return fwd > 0 && bwd > 0 && opt > 0; }
};

constexpr double kLaunchScale_s = 1e-5;

// Parameters of the calibrated fit: theta[0] = c0 / y0 (linear, >= 0); theta[1..5] = log of the
// multipliers of the nominal rates (matmul, attention, bytes, launch, optimizer tensor), so every
// coefficient stays positive; theta[6] = p, the sharpness of the smooth max.
constexpr int kCalibratedParams = 7;
// Prior multipliers: GEMMs near the measured peak, flash attention at about half of it (its
// backward is less efficient), streaming kernels near the bandwidth, ~20 us of eager dispatch per
// kernel, ~10 us per parameter tensor in the optimizer. The prior only decides what the runs
// cannot: attention FLOPs, for example, are collinear with everything else when every run has
// the same sequence length.
constexpr double kPrior[5] = {1.2, 2.0, 1.2, 2.0, 1.0};
constexpr double kPriorWeight[5] = {0.03, 0.1, 0.03, 0.03, 0.03};
// Measured phases weigh half as much as the step they add up to: they decide how the step's
// time splits between the terms, the step decides its total.
constexpr double kPhaseWeight = 0.5;

// The calibrated formula's coefficients from the fit's parameters, on the row's hardware.
template <typename T>
CalibratedTerms<T> TermsFromTheta(const T* theta, const Row& row, double y0, CalibratedForm form) {
  using std::exp;
  CalibratedTerms<T> k;
  k.c0 = theta[0] * y0;
  k.matmul = exp(theta[1]) / row.mm_rate;
  k.attention = exp(theta[2]) / row.mm_rate;
  k.byte = exp(theta[3]) / row.bandwidth;
  k.launch = exp(theta[4]) * kLaunchScale_s;
  k.tensor = exp(theta[5]) * kLaunchScale_s;
  k.sharpness = theta[6];
  k.form = form;
  return k;
}

// Relative error of the predicted step (CalibratedStep, the prediction's own formula).
struct StepResidual {
  StepResidual(const Row& r, double y_scale, CalibratedForm f) : row(r), y0(y_scale), form(f) {}
  template <typename T>
  bool operator()(const T* const theta, T* residual) const {
    residual[0] =
        CalibratedStep(row.counts, TermsFromTheta(theta, row, y0, form), T(1), T(0)) / row.y - T(1);
    return true;
  }
  // With the communication terms: comm[0] = log of the link-time multiplier, comm[1] = overlap.
  template <typename T>
  bool operator()(const T* const theta, const T* const comm, T* residual) const {
    using std::exp;
    residual[0] =
        CalibratedStep(row.counts, TermsFromTheta(theta, row, y0, form), exp(comm[0]), comm[1]) /
            row.y -
        T(1);
    return true;
  }
  Row row;
  double y0;
  CalibratedForm form;
};

// Relative errors of the forward, backward and optimizer phases, where the runs measured them.
struct PhaseResidual {
  PhaseResidual(const Row& r, CalibratedForm f) : row(r), form(f) {}
  template <typename T>
  bool operator()(const T* const theta, T* residual) const {
    const CalibratedPhases<T> ph =
        CalibratedPhaseSeconds(row.counts, TermsFromTheta(theta, row, 0.0, form));
    residual[0] = T(kPhaseWeight) * (ph.forward / row.fwd - T(1));
    residual[1] = T(kPhaseWeight) * (ph.backward / row.bwd - T(1));
    residual[2] = T(kPhaseWeight) * (ph.optimizer / row.opt - T(1));
    return true;
  }
  Row row;
  CalibratedForm form;
};

// A weak Gaussian prior on the log multipliers.
struct PriorResidual {
  template <typename T>
  bool operator()(const T* const theta, T* residual) const {
    for (int j = 0; j < 5; ++j)
      residual[j] = T(kPriorWeight[j]) * (theta[j + 1] - T(std::log(kPrior[j])));
    return true;
  }
};

// The communication terms' prior: link times as the datasheets give them (multiplier 1, within
// about a factor 1.5) and overlap near 0.8. Runs on one node say almost nothing about
// inter-node links (SCIENCE.md, cluster step time), so the prior decides what they cannot.
constexpr double kCommPriorWeight[2] = {2.5, 5.0};
constexpr double kCommPriorOverlap = 0.8;
struct CommPriorResidual {
  template <typename T>
  bool operator()(const T* const comm, T* residual) const {
    residual[0] = T(kCommPriorWeight[0]) * comm[0];
    residual[1] = T(kCommPriorWeight[1]) * (comm[1] - T(kCommPriorOverlap));
    return true;
  }
};

struct LinearResidual {
  LinearResidual(double x, double y, double x0, double y0) : x_(x), y_(y), x0_(x0), y0_(y0) {}
  template <typename T>
  bool operator()(const T* const theta, T* residual) const {
    residual[0] = (theta[0] * y0_ + theta[1] * (y0_ / x0_) * x_) / y_ - T(1);
    return true;
  }
  double x_, y_, x0_, y0_;
};

void Solve(ceres::Problem* problem, const TimeFitOptions& options, const char* what) {
  ceres::Solver::Options so;
  so.linear_solver_type = ceres::DENSE_QR;
  so.max_num_iterations = options.max_iterations;
  so.logging_type = ceres::SILENT;
  so.num_threads = 1;
  ceres::Solver::Summary summary;
  ceres::Solve(so, problem, &summary);
  if (!summary.IsSolutionUsable()) {
    throw RuntimeError(fmt::format("the {} fit did not converge: {}", what, summary.message));
  }
}

// Fits the FLOPs or memcopy estimator `e` (c0 + s per FLOP or byte) on the subset `idx`.
void FitLinear(EstimatorKind e, const std::vector<Row>& rows, const std::vector<std::size_t>& idx,
               double y0, const TimeFitOptions& options, TimeModel* model) {
  std::vector<double> xs;
  for (auto i : idx)
    xs.push_back(e == EstimatorKind::kFlops ? rows[i].flops_model : rows[i].bytes_total);
  const double x0 = Median(xs);
  double theta[2] = {0.1, 0.9};
  ceres::Problem problem;
  for (auto i : idx) {
    const double x = e == EstimatorKind::kFlops ? rows[i].flops_model : rows[i].bytes_total;
    problem.AddResidualBlock(new ceres::AutoDiffCostFunction<LinearResidual, 1, 2>(
                                 new LinearResidual(x, rows[i].y, x0, y0)),
                             new ceres::CauchyLoss(options.robust_scale), theta);
  }
  problem.SetParameterLowerBound(theta, 0, 0.0);
  problem.SetParameterLowerBound(theta, 1, 0.0);
  Solve(&problem, options, ToString(e).c_str());
  if (e == EstimatorKind::kFlops) {
    model->flops_c0_s = theta[0] * y0;
    model->flops_s_per_flop = theta[1] * y0 / x0;
  } else {
    model->memcopy_c0_s = theta[0] * y0;
    model->memcopy_s_per_byte = theta[1] * y0 / x0;
  }
}

// Adds the calibrated fit's residuals (steps, phases, priors) over `theta` and `comm` to
// `problem`, with their bounds.
void AddCalibratedResiduals(const std::vector<Row>& rows, const std::vector<std::size_t>& idx,
                            double y0, const TimeFitOptions& options, bool any_comm,
                            bool use_phases, double* theta, double* comm, ceres::Problem* problem) {
  for (auto i : idx) {
    if (any_comm) {
      problem->AddResidualBlock(
          new ceres::AutoDiffCostFunction<StepResidual, 1, kCalibratedParams, 2>(
              new StepResidual(rows[i], y0, options.form)),
          new ceres::CauchyLoss(options.robust_scale), theta, comm);
    } else {
      problem->AddResidualBlock(new ceres::AutoDiffCostFunction<StepResidual, 1, kCalibratedParams>(
                                    new StepResidual(rows[i], y0, options.form)),
                                new ceres::CauchyLoss(options.robust_scale), theta);
    }
    if (use_phases && rows[i].HasPhases()) {
      problem->AddResidualBlock(
          new ceres::AutoDiffCostFunction<PhaseResidual, 3, kCalibratedParams>(
              new PhaseResidual(rows[i], options.form)),
          new ceres::CauchyLoss(kPhaseWeight * options.robust_scale), theta);
    }
  }
  if (any_comm) {
    problem->AddResidualBlock(
        new ceres::AutoDiffCostFunction<CommPriorResidual, 2, 2>(new CommPriorResidual), nullptr,
        comm);
    problem->SetParameterLowerBound(comm, 0, std::log(0.25));
    problem->SetParameterUpperBound(comm, 0, std::log(4.0));
    problem->SetParameterLowerBound(comm, 1, 0.0);
    problem->SetParameterUpperBound(comm, 1, 1.0);
  }
  problem->AddResidualBlock(
      new ceres::AutoDiffCostFunction<PriorResidual, 5, kCalibratedParams>(new PriorResidual),
      nullptr, theta);
  problem->SetParameterLowerBound(theta, 0, 0.0);
  problem->SetParameterUpperBound(theta, 0, 10.0);
  for (int j = 1; j <= 5; ++j) {
    problem->SetParameterLowerBound(theta, j, -20.0);
    problem->SetParameterUpperBound(theta, j, 20.0);
  }
  problem->SetParameterLowerBound(theta, 6, 1.0);
  problem->SetParameterUpperBound(theta, 6, 32.0);
}

// Writes the calibrated fit's best parameters into `model` as coefficients on `hw`.
void StoreCalibrated(const double* best, const double* best_comm, bool any_comm, double y0,
                     const HardwareProfile& hw, const TimeFitOptions& options, TimeModel* model) {
  const double mm_rate = hw.MatmulRate(Precision::kBf16);
  if (any_comm) {
    model->comm_multiplier = std::exp(best_comm[0]);
    model->comm_overlap = best_comm[1];
  }
  auto& k = model->calibrated;
  k.c0_s = best[0] * y0;
  k.matmul_s_per_flop = std::exp(best[1]) / mm_rate;
  k.attention_s_per_flop = std::exp(best[2]) / mm_rate;
  k.s_per_byte = std::exp(best[3]) / hw.mem_bandwidth_bytes_per_s;
  k.s_per_launch = std::exp(best[4]) * kLaunchScale_s;
  k.s_per_tensor_update = std::exp(best[5]) * kLaunchScale_s;
  k.sharpness = best[6];
  k.form = options.form;
}

// Fits the calibrated estimator on the subset `idx`: from the prior with a few sharpness values,
// keeping the best objective.
void FitCalibrated(const std::vector<Row>& rows, const std::vector<std::size_t>& idx, double y0,
                   const HardwareProfile& hw, const TimeFitOptions& options, TimeModel* model) {
  double best_cost = std::numeric_limits<double>::infinity();
  double best[kCalibratedParams] = {};
  // Communication terms are fitted only when some run communicates.
  bool any_comm = false;
  for (auto i : idx) any_comm = any_comm || rows[i].counts.CommSeconds() > 0;
  double best_comm[2] = {0, kCommPriorOverlap};
  // Measured phases pin the split between the terms, in the segmented form (the whole-step
  // form has one maximum over both phases, so it predicts no split of its own to compare).
  const bool use_phases = options.use_phases && options.form == CalibratedForm::kSegments;
  for (double p0 : {4.0, 2.0, 8.0}) {
    double theta[kCalibratedParams] = {0.01, 0, 0, 0, 0, 0, p0};
    for (int j = 0; j < 5; ++j) theta[j + 1] = std::log(kPrior[j]);
    double comm[2] = {0, kCommPriorOverlap};
    ceres::Problem problem;
    AddCalibratedResiduals(rows, idx, y0, options, any_comm, use_phases, theta, comm, &problem);
    Solve(&problem, options, "calibrated");
    double cost = 0;
    problem.Evaluate(ceres::Problem::EvaluateOptions(), &cost, nullptr, nullptr, nullptr);
    if (cost < best_cost) {
      best_cost = cost;
      std::copy(theta, theta + kCalibratedParams, best);
      std::copy(comm, comm + 2, best_comm);
    }
  }
  StoreCalibrated(best, best_comm, any_comm, y0, hw, options, model);
}

// Fits estimator `e` on the subset `idx` of rows, writing coefficients into `model`.
void FitOne(EstimatorKind e, const std::vector<Row>& rows, const std::vector<std::size_t>& idx,
            const HardwareProfile& hw, const TimeFitOptions& options, TimeModel* model) {
  std::vector<double> ys;
  for (auto i : idx) ys.push_back(rows[i].y);
  const double y0 = Median(ys);
  if (e == EstimatorKind::kFlops || e == EstimatorKind::kMemcopy) {
    FitLinear(e, rows, idx, y0, options, model);
    return;
  }
  FitCalibrated(rows, idx, y0, hw, options, model);
}

}  // namespace

CalibratedCoefficients CalibratedPrior(const HardwareProfile& hw) {
  CalibratedCoefficients k;
  k.matmul_s_per_flop = kPrior[0] / hw.MatmulRate(Precision::kBf16);
  k.attention_s_per_flop = kPrior[1] / hw.MatmulRate(Precision::kBf16);
  k.s_per_byte = kPrior[2] / hw.mem_bandwidth_bytes_per_s;
  k.s_per_launch = kPrior[3] * kLaunchScale_s;
  k.s_per_tensor_update = kPrior[4] * kLaunchScale_s;
  k.sharpness = 4;
  k.form = CalibratedForm::kSegments;
  return k;
}

namespace {

std::size_t MinRuns(EstimatorKind e) {
  switch (e) {
    case EstimatorKind::kFlops:
    case EstimatorKind::kMemcopy:
      return 4;
    case EstimatorKind::kRoofline:
      return 1;
    case EstimatorKind::kCalibrated:
      return 10;
  }
  return 1;
}

// The runs as the fit sees them, with their grouping into configurations and folds.
struct FitData {
  std::vector<Row> rows;
  std::vector<StepCounts> counts;
  // Runs may name their own hardware: features are then scaled to that device's rates, so the
  // fitted multipliers are the device-independent part (see Retarget).
  std::map<std::string, HardwareProfile> profiles;
  std::vector<const HardwareProfile*> row_hw;
  std::vector<std::size_t> all;    // every row's index
  std::vector<std::size_t> group;  // each row's configuration
  std::size_t distinct = 0;        // the number of configurations
  std::size_t folds = 0;
  std::vector<std::size_t> fold_of_group;
};

// One row per run: its counts on its own hardware, and the features the fit uses.
void MakeRows(const std::vector<StepRun>& runs, const HardwareProfile& hw, FitData* d) {
  for (const auto& run : runs) {
    const HardwareProfile* h = &hw;
    if (!run.hardware.empty() && run.hardware != hw.name) {
      auto it = d->profiles.find(run.hardware);
      if (it == d->profiles.end())
        it = d->profiles.emplace(run.hardware, LoadHardware(run.hardware)).first;
      h = &it->second;
    }
    d->row_hw.push_back(h);
    const double mm_rate = h->MatmulRate(Precision::kBf16);
    const StepCounts c = CountStep(run.shape, run.layout, *h);
    d->counts.push_back(c);
    Row row;
    row.counts = c;
    row.mm_rate = mm_rate;
    row.bandwidth = h->mem_bandwidth_bytes_per_s;
    // Phases are compared only where one step is one forward and one backward on one device.
    if (c.micro_steps == 1 && c.stages == 1 && c.CommSeconds() == 0) {
      row.fwd = run.fwd_s;
      row.bwd = run.bwd_s;
      row.opt = run.opt_s;
    }
    row.flops_model = c.model_flops;
    row.bytes_total = c.TotalBytes();
    if (h != &hw) {
      row.flops_model *= hw.MatmulRate(Precision::kBf16) / mm_rate;
      row.bytes_total *= hw.mem_bandwidth_bytes_per_s / h->mem_bandwidth_bytes_per_s;
    }
    row.y = run.step_s;
    d->rows.push_back(row);
  }
}

// Groups the runs by configuration.
void GroupRepeats(const std::vector<StepRun>& runs, FitData* d) {
  const std::size_t n = d->rows.size();
  // Repeated measurements of one configuration are one point: they count once towards the
  // minimum runs and share a cross-validation fold (else a copy in the training folds flatters
  // the error of its twin).
  std::map<std::string, std::size_t> group_of_key;
  d->group.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const StepRun& r = runs[i];
    const ModelShape& s = r.shape;
    const std::string key =
        ShapeToJson(s).dump() + "|" + ShortDescribe(r.layout, s.checkpointing) + "|" + r.hardware;
    d->group[i] = group_of_key.emplace(key, group_of_key.size()).first->second;
  }
  d->distinct = group_of_key.size();
}

// Assigns each configuration a cross-validation fold.
void AssignFolds(const TimeFitOptions& options, FitData* d) {
  // Fold assignment: a seeded shuffle of the configurations, so reports are reproducible.
  std::vector<std::size_t> order(d->distinct);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(options.seed);
  std::shuffle(order.begin(), order.end(), rng);
  d->folds = std::max<std::size_t>(2, std::min<std::size_t>(options.folds, d->distinct));
  d->fold_of_group.resize(d->distinct);
  for (std::size_t j = 0; j < d->distinct; ++j) d->fold_of_group[order[j]] = j % d->folds;
}

// InputError when every configuration has the same step time.
void RefuseConstantTimes(const FitData& d) {
  const auto [lo, hi] =
      std::minmax_element(d.rows.begin(), d.rows.end(), [](auto& a, auto& b) { return a.y < b.y; });
  if (d.distinct > 1 && hi->y <= lo->y * (1 + 1e-12)) {
    throw InputError(fmt::format(
        "fit-time: all {} runs have the same step time ({:g} ms) across {} configurations; "
        "that is no measurement of how time depends on shape",
        d.rows.size(), lo->y * 1e3, d.distinct));
  }
}

// Why estimator `e` cannot be fitted to these runs; empty when it can.
std::string SkipNote(EstimatorKind e, const FitData& d) {
  const std::size_t n = d.rows.size();
  if (d.distinct < MinRuns(e)) {
    return d.distinct == n ? fmt::format("skipped: {} runs, needs at least {}", n, MinRuns(e))
                           : fmt::format(
                                 "skipped: {} runs of {} distinct configurations, "
                                 "needs at least {}",
                                 n, d.distinct, MinRuns(e));
  }
  // Runs all at one size (one FLOP or byte count) cannot separate the fixed time from the
  // per-FLOP or per-byte time: any split fits them exactly and predicts nothing elsewhere.
  if (e != EstimatorKind::kRoofline) {
    std::vector<double> x;
    for (const auto& row : d.rows) {
      x.push_back(e == EstimatorKind::kMemcopy ? row.bytes_total : row.flops_model);
    }
    const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
    if (*hi <= *lo * (1 + 1e-9)) {
      return fmt::format(
          "skipped: every run has the same {} count (all at one size), so the fixed and the "
          "per-{} time cannot be told apart; add runs of other sizes",
          e == EstimatorKind::kMemcopy ? "byte" : "FLOP",
          e == EstimatorKind::kMemcopy ? "byte" : "FLOP");
    }
  }
  return "";
}

// Row i's step time predicted by estimator e of model m.
double PredictRow(const TimeModel& m, const FitData& d, const HardwareProfile& hw, std::size_t i,
                  EstimatorKind e) {
  // A model fitted for `hw` predicts a run of other hardware retargeted to it.
  return d.row_hw[i] == &hw ? PredictFromCounts(m, d.counts[i], e)
                            : PredictFromCounts(Retarget(m, *d.row_hw[i]), d.counts[i], e);
}

// Fits estimator `e` (unless roofline) into *model and reports its in-sample and
// cross-validated errors in *rep.
void EvaluateEstimator(EstimatorKind e, const FitData& d, const HardwareProfile& hw,
                       const TimeFitOptions& options, TimeModel* model, EstimatorReport* rep) {
  const std::size_t n = d.rows.size();
  const bool fit = e != EstimatorKind::kRoofline;
  if (fit) {
    FitOne(e, d.rows, d.all, hw, options, model);
    model->fitted[static_cast<std::size_t>(e)] = true;
  }
  std::vector<double> in_err, cv_err;
  for (std::size_t i = 0; i < n; ++i) {
    in_err.push_back(PredictRow(*model, d, hw, i, e) / d.rows[i].y - 1);
  }
  rep->cv_predicted_s.assign(n, 0);
  if (fit && options.cross_validate) {
    for (std::size_t f = 0; f < d.folds; ++f) {
      std::vector<std::size_t> train, test;
      for (std::size_t i = 0; i < n; ++i)
        (d.fold_of_group[d.group[i]] == f ? test : train).push_back(i);
      TimeModel fold_model = *model;
      FitOne(e, d.rows, train, hw, options, &fold_model);
      for (auto i : test) rep->cv_predicted_s[i] = PredictRow(fold_model, d, hw, i, e);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) rep->cv_predicted_s[i] = PredictRow(*model, d, hw, i, e);
  }
  for (std::size_t i = 0; i < n; ++i) cv_err.push_back(rep->cv_predicted_s[i] / d.rows[i].y - 1);
  const ErrorStats a = AbsStats(in_err), b = AbsStats(cv_err);
  rep->available = true;
  rep->in_median = a.median;
  rep->in_p90 = a.p90;
  rep->in_worst = a.worst;
  rep->cv_median = b.median;
  rep->cv_p90 = b.p90;
  rep->cv_worst = b.worst;
  if (!fit) rep->note = "no fit: rates from the hardware profile";
}

// Fits and reports every estimator in turn; the best cross-validated one becomes model.best.
void FitEstimators(const FitData& d, const HardwareProfile& hw, const TimeFitOptions& options,
                   const ProgressCallback& progress, TimeFitSummary* summary) {
  const EstimatorKind kinds[] = {EstimatorKind::kFlops, EstimatorKind::kMemcopy,
                                 EstimatorKind::kRoofline, EstimatorKind::kCalibrated};
  double best_cv = std::numeric_limits<double>::infinity();
  int step = 0;
  for (EstimatorKind e : kinds) {
    if (!ReportProgress(progress, static_cast<double>(step++) / 4.0, "fitting " + ToString(e)))
      throw Cancelled();
    EstimatorReport rep;
    rep.kind = e;
    rep.note = SkipNote(e, d);
    if (!rep.note.empty()) {
      summary->reports.push_back(rep);
      continue;
    }
    EvaluateEstimator(e, d, hw, options, &summary->model, &rep);
    if (rep.cv_median < best_cv) {
      best_cv = rep.cv_median;
      summary->model.best = e;
    }
    summary->reports.push_back(rep);
  }
}

// InputError when no estimator but roofline could be fitted, saying why.
void RefuseNoFit(const TimeFitSummary& summary, std::size_t n, std::size_t distinct) {
  bool any_fit = false;
  for (const auto& r : summary.reports)
    any_fit = any_fit || (r.available && r.kind != EstimatorKind::kRoofline);
  if (!any_fit && distinct < MinRuns(EstimatorKind::kFlops)) {
    throw InputError(fmt::format(
        "fit-time: {} run(s){} are too few to fit any estimator (FLOPs and memcopy "
        "need {}, calibrated {})",
        n,
        distinct == n
            ? ""
            : fmt::format(" of {} distinct configuration{}", distinct, distinct == 1 ? "" : "s"),
        MinRuns(EstimatorKind::kFlops), MinRuns(EstimatorKind::kCalibrated)));
  }
  if (!any_fit) {
    std::string why;
    for (const auto& r : summary.reports) {
      if (!r.note.empty() && r.kind != EstimatorKind::kRoofline) {
        why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", ToString(r.kind), r.note);
      }
    }
    throw InputError(
        fmt::format("fit-time: no estimator can be fitted to these {} runs ({})", n, why));
  }
}

// Records the shapes and hardware the model was fitted on.
void RecordFittedOn(const std::vector<StepRun>& runs, const HardwareProfile& hw, TimeModel* model) {
  std::set<std::string> measured_on;
  for (const auto& r : runs) {
    model->fitted_on.Add(r.shape);
    measured_on.insert(r.hardware.empty() ? hw.name : r.hardware);
  }
  model->fitted_on.hardware.assign(measured_on.begin(), measured_on.end());
}

// RuntimeError unless the model reads back and every fitted estimator predicts a positive time
// for every run.
void CheckWrittenModel(const TimeFitSummary& summary, const FitData& d,
                       const std::vector<StepRun>& runs) {
  // What is written must be what its reader accepts, and predict a positive time for every run.
  try {
    TimeModelFromJson(TimeModelToJson(summary.model), "the fitted time model");
  } catch (const InputError& e) {
    throw RuntimeError(
        fmt::format("fit-time: the fit produced a model its reader rejects: {}", e.what()));
  }
  for (std::size_t i = 0; i < d.rows.size(); ++i) {
    for (const auto& r : summary.reports) {
      if (!r.available || r.kind == EstimatorKind::kRoofline) continue;
      const double t = PredictFromCounts(summary.model, d.counts[i], r.kind);
      if (!(t > 0) || !std::isfinite(t)) {
        throw RuntimeError(fmt::format(
            "fit-time: the fitted {} estimator predicts {} s for the run on line {}; refusing a "
            "model with non-positive step times",
            ToString(r.kind), t, runs[i].line));
      }
    }
  }
}

}  // namespace

TimeFitSummary FitTimeModel(const std::vector<StepRun>& runs, const HardwareProfile& hw,
                            const TimeFitOptions& options, const ProgressCallback& progress) {
  TimeFitSummary summary;
  summary.runs = static_cast<int>(runs.size());
  summary.model = DefaultTimeModel(hw);
  FitData d;
  MakeRows(runs, hw, &d);
  const std::size_t n = d.rows.size();
  d.all.resize(n);
  std::iota(d.all.begin(), d.all.end(), 0);
  GroupRepeats(runs, &d);
  AssignFolds(options, &d);
  summary.folds = static_cast<int>(d.folds);
  RefuseConstantTimes(d);
  FitEstimators(d, hw, options, progress, &summary);
  ReportProgress(progress, 1.0, "done");
  RefuseNoFit(summary, n, d.distinct);
  RecordFittedOn(runs, hw, &summary.model);
  summary.model.report = summary.ToJson();
  CheckWrittenModel(summary, d, runs);
  return summary;
}

}  // namespace chronoscale
