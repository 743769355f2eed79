#include "chronoscale/attention_calibrate.h"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <thread>

#include "chronoscale/error.h"
#include "chronoscale/stats.h"
#include "chronoscale/step_time.h"

namespace chronoscale {

namespace {

std::string Family(AttentionKernel kernel) {
  switch (kernel) {
    case AttentionKernel::kSoftmax:
      return "exact-materialised";
    case AttentionKernel::kFlash:
      return "exact-blocked";
    default:
      return "random-features";
  }
}

constexpr int kColumns = 4;  // matmul, exp, memory, launch

Eigen::RowVectorXd Regressors(const ResourceTimes& r) {
  Eigen::RowVectorXd x(kColumns);
  x << r.matmul_s, r.exp_s, r.memory_s, r.launch_s;
  return x;
}

CostCoefficients ToCoefficients(const Eigen::VectorXd& c) {
  CostCoefficients out;
  out.matmul = c(0);
  out.exp = c(1);
  out.memory = c(2);
  out.fixed_s = c(3);
  return out;
}

// Relative least squares: rows scaled by 1 / measured.
Eigen::VectorXd FitRows(const std::vector<const CalibrationPoint*>& rows) {
  if (rows.empty()) return Eigen::VectorXd::Zero(kColumns);
  Eigen::MatrixXd a(static_cast<int64_t>(rows.size()), kColumns);
  Eigen::VectorXd b = Eigen::VectorXd::Ones(static_cast<int64_t>(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    a.row(static_cast<int64_t>(i)) = Regressors(rows[i]->resources) / rows[i]->measured_s;
  }
  // Scale columns to unit norm so the subset solves are well conditioned.
  Eigen::VectorXd norms = a.colwise().norm().transpose();
  for (int j = 0; j < kColumns; ++j) {
    if (norms(j) <= 0) norms(j) = 1;
  }
  const Eigen::VectorXd scaled = NonNegativeLeastSquares(a * norms.cwiseInverse().asDiagonal(), b);
  return scaled.cwiseQuotient(norms);
}

double Apply(const Eigen::VectorXd& c, const ResourceTimes& r) { return Regressors(r).dot(c); }

}  // namespace

Eigen::VectorXd NonNegativeLeastSquares(const Eigen::MatrixXd& a, const Eigen::VectorXd& b) {
  const int n = static_cast<int>(a.cols());
  Eigen::VectorXd best = Eigen::VectorXd::Zero(n);
  double best_residual = b.squaredNorm();
  for (int mask = 1; mask < (1 << n); ++mask) {
    std::vector<int> cols;
    for (int j = 0; j < n; ++j) {
      if (mask & (1 << j)) cols.push_back(j);
    }
    Eigen::MatrixXd sub(a.rows(), static_cast<int64_t>(cols.size()));
    for (std::size_t j = 0; j < cols.size(); ++j) sub.col(static_cast<int64_t>(j)) = a.col(cols[j]);
    const Eigen::VectorXd x = sub.colPivHouseholderQr().solve(b);
    if (!x.allFinite() || (x.array() < 0).any()) continue;
    const double residual = (sub * x - b).squaredNorm();
    if (residual < best_residual) {
      best_residual = residual;
      best.setZero();
      for (std::size_t j = 0; j < cols.size(); ++j) best(cols[j]) = x(static_cast<int64_t>(j));
    }
  }
  return best;
}

ResourceTimes PriceOps(const std::vector<Op>& ops, const HardwareProfile& hardware) {
  ResourceTimes t;
  for (const Op& op : ops) {
    const OpSeconds p = PriceOp(op, MakeRates(hardware, op.precision));  // the one pricing
    t.matmul_s += op.count * p.compute;
    t.exp_s += op.count * p.exp;
    t.memory_s += op.count * p.memory;
    t.launch_s += op.count * p.launch;
    t.roofline_s += op.count * p.Roofline();
  }
  return t;
}

double PredictAttentionSeconds(AttentionKernel kernel, int64_t batch, int64_t heads,
                               int64_t seq_len, int64_t d_head, int64_t features, bool causal,
                               Precision precision, const HardwareProfile& hardware) {
  const auto ops = AttentionKernelOps(ToString(kernel), batch, heads, seq_len, d_head,
                                      IsRandomFeature(kernel) ? features : 0, causal, precision);
  return PriceOps(ops, hardware).roofline_s;
}

void CalibrateOptions::MakeQuick() {
  seq_lens = {256, 512, 1024, 2048};
  head_dims = {64};
  features = {64, 256};
  repeats = 3;
}

bool CalibrateOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  auto positive = [](const std::vector<int64_t>& v) {
    return !v.empty() && std::all_of(v.begin(), v.end(), [](int64_t x) { return x > 0; });
  };
  if (!positive(seq_lens)) return fail("seq_lens: expected positive sequence lengths");
  if (!positive(head_dims)) return fail("head_dims: expected positive head dimensions");
  if (!positive(features)) return fail("features: expected positive feature counts");
  if (batch <= 0 || heads <= 0) return fail("batch and heads: expected > 0");
  if (repeats <= 0) return fail("repeats: expected > 0");
  if (folds < 2) return fail("folds: expected >= 2");
  return true;
}

namespace {

// One grid point to time.
struct Job {
  AttentionKernel kernel;
  int64_t seq, dim, features;
};

// The inputs the timing passes share: per (seq, dim) tensors, per point options and features.
struct JobInputs {
  // Inputs per (seq, dim), shared by the kernels; features per point.
  std::map<std::pair<int64_t, int64_t>, std::array<HeadTensor<float>, 3>> inputs;
  std::vector<RandomFeatureMap> maps;
  std::vector<AttentionOptions> attention_options;
};

// The threads the kernels run on: the option, else every core.
int ResolveThreads(const CalibrateOptions& options) {
  return options.threads > 0 ? options.threads
                             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// The grid: every kernel x sequence length x head dim (x features for random-feature kernels),
// less the softmax points whose scores would not fit in max_scores_bytes.
std::vector<Job> ListJobs(const CalibrateOptions& options, int threads) {
  std::vector<AttentionKernel> kernels = options.kernels;
  if (kernels.empty()) {
    for (int i = 0; i < kNumAttentionKernels; ++i)
      kernels.push_back(static_cast<AttentionKernel>(i));
  }
  std::vector<Job> jobs;
  for (AttentionKernel kernel : kernels) {
    for (int64_t seq : options.seq_lens) {
      if (kernel == AttentionKernel::kSoftmax &&
          static_cast<double>(seq) * static_cast<double>(seq) * sizeof(float) *
                  static_cast<double>(std::min<int64_t>(threads, options.batch * options.heads)) >
              options.max_scores_bytes) {
        continue;
      }
      for (int64_t dim : options.head_dims) {
        if (IsRandomFeature(kernel)) {
          for (int64_t m : options.features) jobs.push_back({kernel, seq, dim, m});
        } else {
          jobs.push_back({kernel, seq, dim, 0});
        }
      }
    }
  }
  return jobs;
}

// Draws the synthetic inputs, options and random features of every job.
void PrepareInputs(const CalibrateOptions& options, const std::vector<Job>& jobs, JobInputs* ji) {
  ji->maps.resize(jobs.size());
  ji->attention_options.resize(jobs.size());
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const Job& job = jobs[j];
    auto& in = ji->inputs[{job.seq, job.dim}];
    if (in[0].data.empty()) {
      SyntheticOptions so;
      so.batch = options.batch;
      so.heads = options.heads;
      so.seq = job.seq;
      so.dim = job.dim;
      so.seed = options.seed + static_cast<uint64_t>(job.seq * 1000 + job.dim);
      MakeSyntheticInputs(so, &in[0], &in[1], &in[2]);
    }
    AttentionOptions& ao = ji->attention_options[j];
    ao.kernel = job.kernel;
    ao.causal = options.causal;
    ao.features = IsRandomFeature(job.kernel) ? job.features : 1;
    ao.threads = options.threads;
    if (IsRandomFeature(job.kernel)) {
      ji->maps[j] =
          DrawRandomFeatures(ao, job.dim, options.seed + 7 * j, ScaledSecondMoment(in[0], in[1]));
    }
  }
}

// The best measured time of every job over `repeats` interleaved passes.
std::vector<double> TimeJobs(const CalibrateOptions& options, const std::vector<Job>& jobs,
                             JobInputs& ji, const ProgressCallback& progress) {
  // `repeats` passes over the whole grid, each timing every point for at least ~10 ms (at most
  // 20 runs); a point's time is its best run over the passes. Interleaving spreads bursts of
  // other work on the machine over different points, and the best run filters them out.
  std::vector<double> best(jobs.size(), std::numeric_limits<double>::infinity());
  HeadTensor<float> out;
  const double total_steps = static_cast<double>(options.repeats * jobs.size());
  for (int pass = 0; pass < options.repeats; ++pass) {
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      const Job& job = jobs[j];
      if (!ReportProgress(progress, static_cast<double>(pass * jobs.size() + j) / total_steps,
                          fmt::format("pass {} {} L={} d={} m={}", pass + 1, ToString(job.kernel),
                                      job.seq, job.dim, job.features))) {
        throw Cancelled();
      }
      const auto& in = ji.inputs[{job.seq, job.dim}];
      const RandomFeatureMap* map_ptr = IsRandomFeature(job.kernel) ? &ji.maps[j] : nullptr;
      const AttentionOptions& ao = ji.attention_options[j];
      if (pass == 0) Attention(ao, in[0], in[1], in[2], &out, map_ptr);
      double spent = 0;
      for (int r = 0; r < 20 && (r == 0 || spent < 0.01); ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        Attention(ao, in[0], in[1], in[2], &out, map_ptr);
        const double t =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best[j] = std::min(best[j], t);
        spent += t;
      }
    }
  }
  return best;
}

// One calibration point per job: its measured time and its ops priced on `hardware`.
void AddPoints(const CalibrateOptions& options, const std::vector<Job>& jobs,
               const std::vector<double>& best, const HardwareProfile& hardware,
               CalibrateSummary* summary) {
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const Job& job = jobs[j];
    CalibrationPoint p;
    p.kernel = job.kernel;
    p.seq_len = job.seq;
    p.d_head = job.dim;
    p.features = job.features;
    p.measured_s = best[j];
    const auto ops = AttentionKernelOps(ToString(job.kernel), options.batch, options.heads, job.seq,
                                        job.dim, job.features, options.causal, Precision::kFp32);
    p.resources = PriceOps(ops, hardware);
    p.model_s = p.resources.roofline_s;
    summary->points.push_back(p);
  }
}

// Cross-validated predictions: per-family coefficients into each point's predicted_s; returns
// the global coefficients' predictions.
std::vector<double> CrossValidate(const CalibrateOptions& options, CalibrateSummary* summary) {
  const std::size_t n = summary->points.size();
  if (n < static_cast<std::size_t>(options.folds) * 2) {
    throw InputError(fmt::format("calibrate: {} grid points are too few for {}-fold validation", n,
                                 options.folds));
  }
  std::vector<int> fold(n);
  std::iota(fold.begin(), fold.end(), 0);
  std::mt19937_64 rng(options.seed + 99);
  std::shuffle(fold.begin(), fold.end(), rng);
  for (std::size_t i = 0; i < n; ++i) fold[i] %= options.folds;
  std::vector<double> global_pred(n, 0);
  for (int f = 0; f < options.folds; ++f) {
    std::vector<const CalibrationPoint*> train_all;
    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] != f) train_all.push_back(&summary->points[i]);
    }
    const Eigen::VectorXd cg = FitRows(train_all);
    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] != f) continue;
      CalibrationPoint& p = summary->points[i];
      std::vector<const CalibrationPoint*> train;
      for (const auto* t : train_all) {
        if (Family(t->kernel) == Family(p.kernel)) train.push_back(t);
      }
      // Too few points of its family: fall back to the global coefficients.
      const Eigen::VectorXd c =
          train.size() >= static_cast<std::size_t>(kColumns) ? FitRows(train) : cg;
      p.predicted_s = Apply(c, p.resources);
      global_pred[i] = Apply(cg, p.resources);
    }
  }
  return global_pred;
}

// The coefficients on every point: global, and per family with each point's fitted_s.
void FitAll(CalibrateSummary* summary) {
  const std::size_t n = summary->points.size();
  std::vector<const CalibrationPoint*> all;
  for (const auto& p : summary->points) all.push_back(&p);
  const Eigen::VectorXd cg = FitRows(all);
  summary->global = ToCoefficients(cg);
  for (const std::string family : {"exact-materialised", "exact-blocked", "random-features"}) {
    std::vector<const CalibrationPoint*> rows;
    for (const auto* p : all) {
      if (Family(p->kernel) == family) rows.push_back(p);
    }
    if (rows.empty()) continue;
    const Eigen::VectorXd c =
        rows.size() >= static_cast<std::size_t>(kColumns) ? FitRows(rows) : cg;
    summary->families.emplace_back(family, ToCoefficients(c));
    for (std::size_t i = 0; i < n; ++i) {
      if (Family(summary->points[i].kernel) == family) {
        summary->points[i].fitted_s = Apply(c, summary->points[i].resources);
      }
    }
  }
}

// The median relative errors before, after (cross-validated) and with global coefficients.
void SummariseErrors(const std::vector<double>& global_pred, CalibrateSummary* summary) {
  const std::size_t n = summary->points.size();
  std::vector<double> before, after, global;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = summary->points[i];
    before.push_back(std::fabs(p.model_s - p.measured_s) / p.measured_s);
    after.push_back(std::fabs(p.predicted_s - p.measured_s) / p.measured_s);
    global.push_back(std::fabs(global_pred[i] - p.measured_s) / p.measured_s);
  }
  summary->median_error_before = Median(before);
  summary->median_error_after = Median(after);
  summary->median_error_global = Median(global);
  summary->max_error_after = *std::max_element(after.begin(), after.end());
}

// The calibrated profile: effective rates from the global multipliers, and the fit recorded in
// its extra["attention_calibration"].
HardwareProfile CalibratedProfile(const HardwareProfile& hardware, const CalibrateSummary& summary,
                                  int threads) {
  const std::size_t n = summary.points.size();
  HardwareProfile h = hardware;
  const std::size_t fp32 = static_cast<std::size_t>(Precision::kFp32);
  if (summary.global.matmul > 1e-12) {
    h.matmul_flops_per_s[fp32] = hardware.MatmulRate(Precision::kFp32) / summary.global.matmul;
  }
  if (summary.global.exp > 1e-12) h.exp_per_s = hardware.ExpRate() / summary.global.exp;
  if (summary.global.memory > 1e-12) {
    h.mem_bandwidth_bytes_per_s = hardware.mem_bandwidth_bytes_per_s / summary.global.memory;
  }
  if (summary.global.fixed_s > 1e-12) {
    h.launch_overhead_s = hardware.launch_overhead_s * summary.global.fixed_s;
  }
  h.name = hardware.name + "-calibrated";
  h.source = fmt::format(
      "chronoscale calibrate: {} attention kernel timings on this machine, "
      "fitted from profile '{}'",
      n, hardware.name);
  const std::time_t now = std::time(nullptr);
  char date[16];
  std::strftime(date, sizeof(date), "%Y-%m-%d", std::gmtime(&now));
  h.date = date;
  nlohmann::json fams = nlohmann::json::object();
  for (const auto& [name, c] : summary.families) {
    fams[name] = {
        {"matmul", c.matmul}, {"exp", c.exp}, {"memory", c.memory}, {"launch", c.fixed_s}};
  }
  h.extra["attention_calibration"] = {
      {"model",
       "time = matmul * flops/rate + exp * exps/exp_rate + memory * bytes/bandwidth + "
       "launch * launches*overhead (sum, non-negative multipliers)"},
      {"global",
       {{"matmul", summary.global.matmul},
        {"exp", summary.global.exp},
        {"memory", summary.global.memory},
        {"launch", summary.global.fixed_s}}},
      {"families", fams},
      {"points", n},
      {"median_rel_error_before", summary.median_error_before},
      {"median_rel_error_cv", summary.median_error_after},
      {"median_rel_error_cv_global", summary.median_error_global},
      {"precision", "fp32"},
      {"threads", threads}};
  return h;
}

}  // namespace

CalibrateSummary CalibrateAttention(const CalibrateOptions& options,
                                    const HardwareProfile& hardware,
                                    const ProgressCallback& progress) {
  std::string error;
  if (!options.IsValid(&error)) throw InputError(error);
  CalibrateSummary summary;
  const int threads = ResolveThreads(options);
  const std::vector<Job> jobs = ListJobs(options, threads);
  const auto start = std::chrono::steady_clock::now();
  JobInputs inputs;
  PrepareInputs(options, jobs, &inputs);
  const std::vector<double> best = TimeJobs(options, jobs, inputs, progress);
  AddPoints(options, jobs, best, hardware, &summary);
  ReportProgress(progress, 1.0, "fitting");

  const std::vector<double> global_pred = CrossValidate(options, &summary);
  FitAll(&summary);
  SummariseErrors(global_pred, &summary);
  summary.calibrated = CalibratedProfile(hardware, summary, threads);
  summary.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

std::string CalibrateSummary::BriefReport() const {
  return fmt::format(
      "{} points in {:.1f} s. Median |predicted - measured| / measured: {:.1f}% with the input "
      "profile's roofline, {:.1f}% calibrated per kernel family (k-fold), {:.1f}% with global "
      "coefficients (k-fold); worst {:.1f}%.",
      points.size(), total_s, 100 * median_error_before, 100 * median_error_after,
      100 * median_error_global, 100 * max_error_after);
}

std::string CalibrateSummary::FullReport() const {
  std::string text =
      fmt::format("{:<11} {:>6} {:>4} {:>5} {:>11} {:>11} {:>7} {:>11} {:>7}\n", "kernel", "seq",
                  "d", "m", "measured_ms", "roofline_ms", "err", "calib_ms", "err");
  for (const auto& p : points) {
    text +=
        fmt::format("{:<11} {:>6} {:>4} {:>5} {:>11.3f} {:>11.3f} {:>6.0f}% {:>11.3f} {:>6.1f}%\n",
                    ToString(p.kernel), p.seq_len, p.d_head, p.features, 1e3 * p.measured_s,
                    1e3 * p.model_s, 100 * (p.model_s - p.measured_s) / p.measured_s,
                    1e3 * p.predicted_s, 100 * (p.predicted_s - p.measured_s) / p.measured_s);
  }
  text += "\ncoefficients (multipliers on matmul, exp, memory, launch times):\n";
  text += fmt::format("  {:<20} {:>9.3g} {:>9.3g} {:>9.3g} {:>9.3g}\n", "global", global.matmul,
                      global.exp, global.memory, global.fixed_s);
  for (const auto& [name, c] : families) {
    text += fmt::format("  {:<20} {:>9.3g} {:>9.3g} {:>9.3g} {:>9.3g}\n", name, c.matmul, c.exp,
                        c.memory, c.fixed_s);
  }
  text += BriefReport() + "\n";
  return text;
}

}  // namespace chronoscale
