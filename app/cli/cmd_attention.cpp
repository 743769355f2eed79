// chronoscale attention: run one attention kernel on synthetic or given queries and keys; report
// its error against the kernel's own exact form, its time here and the cost model's prediction.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>

#if __has_include(<chronoscale/bench.h>)
#include <chronoscale/bench.h>
#endif
#include <chronoscale/attention.h>
#include <chronoscale/attention_calibrate.h>
#include <chronoscale/attention_timing.h>
#include <chronoscale/checked.h>
#include <chronoscale/error.h>
#include <chronoscale/hardware.h>
#include <chronoscale/io.h>
#include <chronoscale/stats.h>
#include <chronoscale/workload.h>

#include "cli_common.h"
#include "commands.h"
#include "plot_hooks.h"

namespace chronoscale::cli {

namespace {

struct AttentionArgs {
  std::string kernel;
  int64_t seq = -1;
  int64_t dim = -1;
  int64_t features = 256;
  int64_t heads = 1;
  int64_t batch = 1;
  bool causal = false;
  double tau = 0.125;
  std::string spectrum = "isotropic";
  std::string sigma_file;
  uint64_t seed = 0;
  int repeats = 5;
  int threads = 0;
  std::string queries, keys;
  std::string hardware = "local";
  std::string plot;
  Format format = Format::kTable;
  CLI::Option* seq_option = nullptr;
  CLI::Option* dim_option = nullptr;
};

// A numeric matrix from a CSV file: one row per data row, one column per header column.
Eigen::MatrixXd ReadMatrixCsv(const std::string& path) {
  const CsvTable table = ReadCsv(path);
  if (table.rows.empty()) throw InputError(fmt::format("{}: expected at least one data row", path));
  Eigen::MatrixXd m(static_cast<int64_t>(table.rows.size()),
                    static_cast<int64_t>(table.header.size()));
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    for (std::size_t c = 0; c < table.header.size(); ++c) {
      m(static_cast<int64_t>(r), static_cast<int64_t>(c)) = table.Number(r, static_cast<int>(c));
    }
  }
  return m;
}

Eigen::MatrixXd ReadSigma(const std::string& path, int64_t dim) {
  const Eigen::MatrixXd s = ReadMatrixCsv(path);
  if (s.rows() != s.cols()) {
    throw InputError(
        fmt::format("--sigma {}: expected a square matrix ({} rows of {} columns), "
                    "found {} rows and {} columns",
                    path, dim, dim, s.rows(), s.cols()));
  }
  if (s.rows() != dim) {
    throw InputError(fmt::format("--sigma {}: a {}x{} matrix, expected {}x{} (--dim)", path,
                                 s.rows(), s.cols(), dim, dim));
  }
  AttentionOptions probe;
  probe.kernel = AttentionKernel::kDark;
  probe.sigma_k = s;
  std::string why;
  if (!probe.IsValid(dim, &why)) throw InputError(fmt::format("--sigma {}: {}", path, why));
  return s;
}

nlohmann::json Number(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

// The kernel named by --kernel, every flag checked before any work.
AttentionKernel CheckArgs(const AttentionArgs& a, bool from_files) {
  AttentionKernel kernel;
  if (!Parse(a.kernel, &kernel)) {
    throw InputError(
        fmt::format("--kernel {}: expected one of softmax, flash, favor, favor-orth, "
                    "favor-hyp, optimal, dark",
                    a.kernel));
  }
  if (from_files && (a.queries.empty() || a.keys.empty())) {
    throw InputError("--queries and --keys go together: give both files");
  }
  if (!from_files && a.seq_option->count() == 0) throw InputError("--seq is required");
  if (!from_files && a.dim_option->count() == 0) throw InputError("--dim is required");
  if (a.seq_option->count() && a.seq <= 0) {
    throw InputError(fmt::format("--seq {}: expected a positive sequence length", a.seq));
  }
  if (a.dim_option->count() && a.dim <= 0) {
    throw InputError(fmt::format("--dim {}: expected a positive head dimension", a.dim));
  }
  if (a.features <= 0) {
    throw InputError(
        fmt::format("--features {}: expected a positive number of features", a.features));
  }
  if (kernel == AttentionKernel::kFavorHyp && a.features % 2) {
    throw InputError(fmt::format("--features {}: favor-hyp needs an even number", a.features));
  }
  if (a.heads <= 0) throw InputError(fmt::format("--heads {}: expected > 0", a.heads));
  if (a.batch <= 0) throw InputError(fmt::format("--batch {}: expected > 0", a.batch));
  if (a.repeats <= 0) throw InputError(fmt::format("--repeats {}: expected > 0", a.repeats));
  if (!from_files) {
    // Q, K and V are drawn in memory: refuse a size no machine holds before allocating it
    // (2^33 elements: 64 GiB per tensor as doubles).
    CheckedProduct({a.batch, a.heads, a.seq, a.dim > 0 ? a.dim : 64},
                   "--batch x --heads x --seq x --dim elements per tensor", int64_t{1} << 33);
  }
  if (!(a.tau >= 0) || !std::isfinite(a.tau)) {
    throw InputError(fmt::format("--tau {}: expected a finite value >= 0", a.tau));
  }
  return kernel;
}

// Q, K and V: read from --queries and --keys (values drawn), or drawn from the synthetic
// distribution (with its covariance, for the closed-form error).
struct AttentionInputs {
  HeadTensor<double> q, k, v;
  Eigen::MatrixXd covariance;
  std::vector<std::string> files;
  bool from_files = false;
  double decay = 1;
};

void ReadInputs(const AttentionArgs& a, AttentionInputs* in) {
  const Eigen::MatrixXd qm = ReadMatrixCsv(a.queries);
  const Eigen::MatrixXd km = ReadMatrixCsv(a.keys);
  in->files = {a.queries, a.keys};
  if (qm.cols() != km.cols()) {
    throw InputError(
        fmt::format("--queries {} has {} columns, --keys {} has {}: expected the "
                    "same head dimension",
                    a.queries, qm.cols(), a.keys, km.cols()));
  }
  if (a.dim_option->count() && a.dim != qm.cols()) {
    throw InputError(
        fmt::format("--dim {} but --queries {} has {} columns", a.dim, a.queries, qm.cols()));
  }
  if (a.causal && qm.rows() != km.rows()) {
    throw InputError(
        fmt::format("--causal needs as many queries ({}) as keys ({})", qm.rows(), km.rows()));
  }
  in->q = HeadTensor<double>(1, 1, qm.rows(), qm.cols());
  in->k = HeadTensor<double>(1, 1, km.rows(), km.cols());
  in->q.data[0] = qm;
  in->k.data[0] = km;
  SyntheticOptions so;  // values: N(0, I)
  so.seq = km.rows();
  so.dim = km.cols();
  so.seed = a.seed;
  HeadTensor<double> unused_q, unused_k;
  MakeSyntheticInputs(so, &unused_q, &unused_k, &in->v);
}

AttentionInputs MakeInputs(const AttentionArgs& a, bool from_files, double decay) {
  AttentionInputs in;
  in.from_files = from_files;
  in.decay = decay;
  if (from_files) {
    ReadInputs(a, &in);
    return in;
  }
  SyntheticOptions so;
  so.batch = a.batch;
  so.heads = a.heads;
  so.seq = a.seq;
  so.dim = a.dim;
  so.tau = a.tau;
  so.decay_ratio = in.decay;
  so.seed = a.seed;
  MakeSyntheticInputs(so, &in.q, &in.k, &in.v, &in.covariance);
  return in;
}

// What one run measured: errors in double, times in float (fp32, the precision the cost model
// prices), the prediction, and the FLOP rate achieved against the profile's fp32 peak (the
// larger of its FMA and GEMM rates).
struct AttentionMeasurement {
  AttentionErrors errors;
  double theory = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> times;  // sorted
  double median = 0, predicted = 0, kernel_flops = 0, achieved = 0, peak = 0;
};

AttentionMeasurement Measure(const AttentionArgs& a, const AttentionOptions& o,
                             const AttentionInputs& in, const RandomFeatureMap* map,
                             const HardwareProfile& hardware) {
  AttentionMeasurement m;
  const int64_t dim = in.q.dim;
  HeadTensor<double> out;
  Attention(o, in.q, in.k, in.v, &out, map);
  m.errors = MeasureErrors(o, map, in.q, in.k, in.v, out);
  if (!in.from_files) {
    m.theory = KernelMseTheory(o.kernel, in.covariance / std::sqrt(static_cast<double>(dim)),
                               a.features, o.sigma_k);
  }
  m.times =
      TimeAttention(o, in.q.Cast<float>(), in.k.Cast<float>(), in.v.Cast<float>(), map, a.repeats);
  m.median = Median(m.times);
  const HeadTensor<double>& q = in.q;
  m.predicted = PredictAttentionSeconds(o.kernel, q.batch, q.heads, q.seq, dim, a.features,
                                        a.causal, Precision::kFp32, hardware);
  for (const Op& op :
       AttentionKernelOps(ToString(o.kernel), q.batch, q.heads, q.seq, dim,
                          IsRandomFeature(o.kernel) ? a.features : 0, a.causal, Precision::kFp32)) {
    m.kernel_flops += op.flops * op.count;
  }
  m.achieved = m.median > 0 ? m.kernel_flops / m.median : 0;
  m.peak = std::max(hardware.MatmulRate(Precision::kFp32), hardware.VectorRate(Precision::kFp32));
  return m;
}

// --plot: time against sequence length, measured and predicted (TimeAcrossLengths).
void PlotAcrossLengths(const AttentionArgs& a, const AttentionOptions& o, const AttentionInputs& in,
                       const RandomFeatureMap* map, const HardwareProfile& hardware) {
  SyntheticOptions so;
  so.batch = in.q.batch;
  so.heads = in.q.heads;
  so.seq = in.q.seq;
  so.dim = in.q.dim;
  so.tau = a.tau;
  so.seed = a.seed;
  std::vector<std::string> labels;
  std::vector<double> lens, measured, predicted;
  for (const LengthTiming& t : TimeAcrossLengths(o, map, so, a.repeats, hardware)) {
    labels.push_back(ToString(t.kernel));
    lens.push_back(static_cast<double>(t.seq));
    measured.push_back(t.measured_s);
    predicted.push_back(t.predicted_s);
  }
  RenderAttentionPlot(labels, lens, measured, predicted, a.plot);
}

nlohmann::json AttentionJson(const AttentionArgs& a, const AttentionInputs& in,
                             const AttentionMeasurement& m, const HardwareProfile& hardware,
                             AttentionKernel kernel) {
  nlohmann::json doc = Provenance(in.files);
  doc["kernel"] = ToString(kernel);
  doc["batch"] = in.q.batch;
  doc["heads"] = in.q.heads;
  doc["seq_len"] = in.q.seq;
  doc["d_head"] = in.q.dim;
  doc["features"] = IsRandomFeature(kernel) ? nlohmann::json(a.features) : nlohmann::json(nullptr);
  doc["causal"] = a.causal;
  doc["inputs_kind"] = in.from_files ? "files" : "synthetic";
  if (!in.from_files) {
    doc["tau"] = a.tau;
    doc["spectrum"] = in.decay == 1 ? std::string("isotropic") : fmt::format("decay:{}", in.decay);
  }
  doc["seed"] = a.seed;
  doc["repeats"] = a.repeats;
  doc["precision_timed"] = "fp32";
  doc["hardware"] = hardware.name;
  doc["kernel_rel_mse"] = Number(m.errors.kernel_rel_mse);
  doc["kernel_mse"] = Number(m.errors.kernel_mse);
  doc["kernel_mse_theory"] = in.from_files ? nlohmann::json(nullptr) : Number(m.theory);
  doc["output_rel_error"] = Number(m.errors.output_rel_error);
  doc["error_pairs"] = m.errors.pairs;
  doc["error_rows"] = m.errors.rows;
  doc["time_s"] = m.median;
  doc["time_s_min"] = m.times.front();
  doc["time_s_max"] = m.times.back();
  doc["predicted_time_s"] = Number(m.predicted);
  doc["kernel_isa"] = AttentionIsa();
  doc["flops"] = m.kernel_flops;
  doc["achieved_flops_per_s"] = Number(m.achieved);
  doc["peak_flops_per_s"] = Number(m.peak);
  return doc;
}

std::string AttentionText(const AttentionArgs& a, const AttentionInputs& in,
                          const AttentionMeasurement& m, const HardwareProfile& hardware,
                          AttentionKernel kernel) {
  std::string text = fmt::format("{} attention, batch {} x heads {} x seq {} x d {}{}{}\n",
                                 ToString(kernel), in.q.batch, in.q.heads, in.q.seq, in.q.dim,
                                 IsRandomFeature(kernel) ? fmt::format(", m {}", a.features) : "",
                                 a.causal ? ", causal" : "");
  if (!in.from_files) {
    text +=
        fmt::format("inputs: synthetic, tau {}, {}\n", a.tau,
                    in.decay == 1 ? std::string("isotropic") : fmt::format("decay:{}", in.decay));
  } else {
    text += fmt::format("inputs: {} and {}\n", a.queries, a.keys);
  }
  text += fmt::format("kernel_rel_mse     {:.4g}\n", m.errors.kernel_rel_mse);
  text += fmt::format("kernel_mse         {:.4g}\n", m.errors.kernel_mse);
  if (!in.from_files) text += fmt::format("kernel_mse_theory  {:.4g}\n", m.theory);
  text += fmt::format("output_rel_error   {:.4g}\n", m.errors.output_rel_error);
  text += fmt::format("time (fp32)        {:.4g} ms median of {} (min {:.4g}, max {:.4g})\n",
                      1e3 * m.median, a.repeats, 1e3 * m.times.front(), 1e3 * m.times.back());
  text +=
      fmt::format("predicted          {:.4g} ms ({} roofline)\n", 1e3 * m.predicted, hardware.name);
  text += fmt::format(
      "achieved           {:.1f} GFLOP/s, {:.0f}% of {}'s fp32 peak {:.1f} GFLOP/s "
      "({} kernels)\n",
      m.achieved / 1e9, m.peak > 0 ? 100 * m.achieved / m.peak : 0.0, hardware.name, m.peak / 1e9,
      AttentionIsa());
  return text;
}

void RunAttention(const AttentionArgs& a) {
  const bool from_files = !a.queries.empty() || !a.keys.empty();
  const AttentionKernel kernel = CheckArgs(a, from_files);
  const double decay = ParseSpectrum(a.spectrum, "--spectrum");
  if (!a.sigma_file.empty() && kernel != AttentionKernel::kDark) {
    throw InputError(fmt::format("--sigma is the dark kernel's Sigma_k; --kernel is {}", a.kernel));
  }
  AttentionInputs in = MakeInputs(a, from_files, decay);
  AttentionOptions o;
  o.kernel = kernel;
  o.causal = a.causal;
  o.features = a.features;
  o.seed = a.seed;
  o.threads = a.threads;
  if (!a.sigma_file.empty()) {
    o.sigma_k = ReadSigma(a.sigma_file, in.q.dim);
    in.files.push_back(a.sigma_file);
  }
  const HardwareProfile hardware = ResolveHardware(a.hardware);
  if (!IsHardwarePreset(a.hardware) && a.hardware != "local") in.files.push_back(a.hardware);
  RandomFeatureMap map;
  const RandomFeatureMap* map_ptr = nullptr;
  if (IsRandomFeature(kernel)) {
    map = DrawRandomFeatures(o, in.q.dim, a.seed + 1, ScaledSecondMoment(in.q, in.k));
    map_ptr = &map;
  }
  const AttentionMeasurement m = Measure(a, o, in, map_ptr, hardware);
  if (!a.plot.empty()) PlotAcrossLengths(a, o, in, map_ptr, hardware);
  Emit(a.format == Format::kJson ? AttentionJson(a, in, m, hardware, kernel).dump(2)
                                 : AttentionText(a, in, m, hardware, kernel),
       "");
}

}  // namespace

void SetupAttention(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "attention", "run one attention kernel: error against its exact form, time, prediction");
  auto a = std::make_shared<AttentionArgs>();
  sub->add_option("--kernel", a->kernel,
                  "softmax, flash, favor, favor-orth, favor-hyp, optimal or dark")
      ->required();
  a->seq_option = sub->add_option("--seq", a->seq, "sequence length L");
  a->dim_option = sub->add_option("--dim", a->dim, "head dimension D");
  sub->add_option("--features", a->features, "random features m (default 256)");
  sub->add_option("--heads", a->heads, "heads (default 1)");
  sub->add_option("--batch", a->batch, "batch (default 1)");
  sub->add_flag("--causal", a->causal, "causal (decoder) attention");
  sub->add_option("--tau", a->tau, "standard deviation of the logits q.k/sqrt(D) (default 0.125)");
  sub->add_option("--spectrum", a->spectrum,
                  "isotropic (default) or decay:R, eigenvalues falling geometrically by R");
  sub->add_option("--sigma", a->sigma_file, "CSV: the dark kernel's Sigma_k (D x D)");
  sub->add_option("--seed", a->seed, "seed of the inputs and the features (default 0)");
  sub->add_option("--repeats", a->repeats, "timed runs (default 5)");
  sub->add_option("--threads", a->threads, "worker threads (default: every CPU)")
      ->check(CLI::Range(0, 4096));
  sub->add_option("--queries", a->queries, "CSV of queries (rows x D)");
  sub->add_option("--keys", a->keys, "CSV of keys (rows x D)");
  sub->add_option("--hardware", a->hardware,
                  "profile for the prediction: local (default), a preset or a JSON file");
  AddFormatOption(sub, &a->format, false);
  sub->add_option("--plot", a->plot,
                  "time against sequence length (L/8 .. L), measured and predicted (PNG or SVG)");
  sub->callback([a] {
    if (!a->plot.empty()) CheckPlotPath(a->plot);
    RunAttention(*a);
  });
}

}  // namespace chronoscale::cli
