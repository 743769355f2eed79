// chronoscale attention: run one attention kernel on synthetic or given queries and keys; report
// its error against the kernel's own exact form, its time here and the cost model's prediction.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>

#if __has_include(<chronoscale/bench.h>)
#include <chronoscale/bench.h>
#endif
#include <chronoscale/attention.h>
#include <chronoscale/attention_calibrate.h>
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

void RunAttention(const AttentionArgs& a) {
  AttentionKernel kernel;
  if (!Parse(a.kernel, &kernel)) {
    throw InputError(
        fmt::format("--kernel {}: expected one of softmax, flash, favor, favor-orth, "
                    "favor-hyp, optimal, dark",
                    a.kernel));
  }
  const bool from_files = !a.queries.empty() || !a.keys.empty();
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
  const double decay = ParseSpectrum(a.spectrum, "--spectrum");
  if (!a.sigma_file.empty() && kernel != AttentionKernel::kDark) {
    throw InputError(fmt::format("--sigma is the dark kernel's Sigma_k; --kernel is {}", a.kernel));
  }

  HeadTensor<double> q, k, v;
  Eigen::MatrixXd covariance;
  std::vector<std::string> inputs;
  if (from_files) {
    const Eigen::MatrixXd qm = ReadMatrixCsv(a.queries);
    const Eigen::MatrixXd km = ReadMatrixCsv(a.keys);
    inputs = {a.queries, a.keys};
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
    q = HeadTensor<double>(1, 1, qm.rows(), qm.cols());
    k = HeadTensor<double>(1, 1, km.rows(), km.cols());
    q.data[0] = qm;
    k.data[0] = km;
    SyntheticOptions so;  // values: N(0, I)
    so.seq = km.rows();
    so.dim = km.cols();
    so.seed = a.seed;
    HeadTensor<double> unused_q, unused_k;
    MakeSyntheticInputs(so, &unused_q, &unused_k, &v);
  } else {
    SyntheticOptions so;
    so.batch = a.batch;
    so.heads = a.heads;
    so.seq = a.seq;
    so.dim = a.dim;
    so.tau = a.tau;
    so.decay_ratio = decay;
    so.seed = a.seed;
    MakeSyntheticInputs(so, &q, &k, &v, &covariance);
  }
  const int64_t dim = q.dim;

  AttentionOptions o;
  o.kernel = kernel;
  o.causal = a.causal;
  o.features = a.features;
  o.seed = a.seed;
  o.threads = a.threads;
  if (!a.sigma_file.empty()) {
    o.sigma_k = ReadSigma(a.sigma_file, dim);
    inputs.push_back(a.sigma_file);
  }
  const HardwareProfile hardware = ResolveHardware(a.hardware);
  if (!IsHardwarePreset(a.hardware) && a.hardware != "local") inputs.push_back(a.hardware);

  RandomFeatureMap map;
  const RandomFeatureMap* map_ptr = nullptr;
  if (IsRandomFeature(kernel)) {
    map = DrawRandomFeatures(o, dim, a.seed + 1, ScaledSecondMoment(q, k));
    map_ptr = &map;
  }
  // Errors in double; timing in float (fp32, the precision the cost model prices).
  HeadTensor<double> out;
  Attention(o, q, k, v, &out, map_ptr);
  const AttentionErrors errors = MeasureErrors(o, map_ptr, q, k, v, out);
  double theory = std::numeric_limits<double>::quiet_NaN();
  if (!from_files) {
    theory = KernelMseTheory(kernel, covariance / std::sqrt(static_cast<double>(dim)), a.features,
                             o.sigma_k);
  }

  const HeadTensor<float> qf = q.Cast<float>(), kf = k.Cast<float>(), vf = v.Cast<float>();
  HeadTensor<float> outf;
  Attention(o, qf, kf, vf, &outf, map_ptr);  // warm-up
  std::vector<double> times;
  for (int r = 0; r < a.repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    Attention(o, qf, kf, vf, &outf, map_ptr);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  const double median = Median(times);
  const double predicted = PredictAttentionSeconds(kernel, q.batch, q.heads, q.seq, dim, a.features,
                                                   a.causal, Precision::kFp32, hardware);
  // What the kernel achieved: its FLOPs (the step-time model's count) over the median time,
  // against the profile's fp32 peak (the larger of its FMA and GEMM rates).
  double kernel_flops = 0;
  for (const Op& op :
       AttentionKernelOps(ToString(kernel), q.batch, q.heads, q.seq, dim,
                          IsRandomFeature(kernel) ? a.features : 0, a.causal, Precision::kFp32)) {
    kernel_flops += op.flops * op.count;
  }
  const double achieved = median > 0 ? kernel_flops / median : 0;
  const double peak =
      std::max(hardware.MatmulRate(Precision::kFp32), hardware.VectorRate(Precision::kFp32));
  if (!a.plot.empty()) {
    // Time against sequence length: the same kernel (and exact flash beside a random-feature one)
    // at L/8, L/4, L/2 and L on synthetic inputs of the same width, measured and predicted.
    std::vector<std::string> labels;
    std::vector<double> lens, measured, predicted_s;
    std::vector<AttentionKernel> kernels{kernel};
    if (IsRandomFeature(kernel)) kernels.push_back(AttentionKernel::kFlash);
    for (AttentionKernel kk : kernels) {
      for (int64_t div : {8, 4, 2, 1}) {
        const int64_t len = std::max<int64_t>(16, q.seq / div);
        SyntheticOptions so;
        so.batch = q.batch;
        so.heads = q.heads;
        so.seq = len;
        so.dim = dim;
        so.tau = a.tau;
        so.seed = a.seed;
        HeadTensor<float> qs, ks, vs, os;
        MakeSyntheticInputs(so, &qs, &ks, &vs);
        AttentionOptions ko = o;
        ko.kernel = kk;
        Attention(ko, qs, ks, vs, &os, kk == kernel ? map_ptr : nullptr);  // warm-up
        std::vector<double> ts;
        for (int r = 0; r < std::max(1, a.repeats); ++r) {
          const auto t0 = std::chrono::steady_clock::now();
          Attention(ko, qs, ks, vs, &os, kk == kernel ? map_ptr : nullptr);
          ts.push_back(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(ts.begin(), ts.end());
        labels.push_back(ToString(kk));
        lens.push_back(static_cast<double>(len));
        measured.push_back(ts[ts.size() / 2]);
        predicted_s.push_back(PredictAttentionSeconds(kk, q.batch, q.heads, len, dim, a.features,
                                                      a.causal, Precision::kFp32, hardware));
      }
    }
    RenderAttentionPlot(labels, lens, measured, predicted_s, a.plot);
  }

  if (a.format == Format::kJson) {
    nlohmann::json doc = Provenance(inputs);
    doc["kernel"] = ToString(kernel);
    doc["batch"] = q.batch;
    doc["heads"] = q.heads;
    doc["seq_len"] = q.seq;
    doc["d_head"] = dim;
    doc["features"] =
        IsRandomFeature(kernel) ? nlohmann::json(a.features) : nlohmann::json(nullptr);
    doc["causal"] = a.causal;
    doc["inputs_kind"] = from_files ? "files" : "synthetic";
    if (!from_files) {
      doc["tau"] = a.tau;
      doc["spectrum"] = decay == 1 ? std::string("isotropic") : fmt::format("decay:{}", decay);
    }
    doc["seed"] = a.seed;
    doc["repeats"] = a.repeats;
    doc["precision_timed"] = "fp32";
    doc["hardware"] = hardware.name;
    doc["kernel_rel_mse"] = Number(errors.kernel_rel_mse);
    doc["kernel_mse"] = Number(errors.kernel_mse);
    doc["kernel_mse_theory"] = from_files ? nlohmann::json(nullptr) : Number(theory);
    doc["output_rel_error"] = Number(errors.output_rel_error);
    doc["error_pairs"] = errors.pairs;
    doc["error_rows"] = errors.rows;
    doc["time_s"] = median;
    doc["time_s_min"] = times.front();
    doc["time_s_max"] = times.back();
    doc["predicted_time_s"] = Number(predicted);
    doc["kernel_isa"] = AttentionIsa();
    doc["flops"] = kernel_flops;
    doc["achieved_flops_per_s"] = Number(achieved);
    doc["peak_flops_per_s"] = Number(peak);
    Emit(doc.dump(2), "");
    return;
  }
  std::string text = fmt::format("{} attention, batch {} x heads {} x seq {} x d {}{}{}\n",
                                 ToString(kernel), q.batch, q.heads, q.seq, dim,
                                 IsRandomFeature(kernel) ? fmt::format(", m {}", a.features) : "",
                                 a.causal ? ", causal" : "");
  if (!from_files) {
    text += fmt::format("inputs: synthetic, tau {}, {}\n", a.tau,
                        decay == 1 ? std::string("isotropic") : fmt::format("decay:{}", decay));
  } else {
    text += fmt::format("inputs: {} and {}\n", a.queries, a.keys);
  }
  text += fmt::format("kernel_rel_mse     {:.4g}\n", errors.kernel_rel_mse);
  text += fmt::format("kernel_mse         {:.4g}\n", errors.kernel_mse);
  if (!from_files) text += fmt::format("kernel_mse_theory  {:.4g}\n", theory);
  text += fmt::format("output_rel_error   {:.4g}\n", errors.output_rel_error);
  text += fmt::format("time (fp32)        {:.4g} ms median of {} (min {:.4g}, max {:.4g})\n",
                      1e3 * median, a.repeats, 1e3 * times.front(), 1e3 * times.back());
  text +=
      fmt::format("predicted          {:.4g} ms ({} roofline)\n", 1e3 * predicted, hardware.name);
  text += fmt::format(
      "achieved           {:.1f} GFLOP/s, {:.0f}% of {}'s fp32 peak {:.1f} GFLOP/s "
      "({} kernels)\n",
      achieved / 1e9, peak > 0 ? 100 * achieved / peak : 0.0, hardware.name, peak / 1e9,
      AttentionIsa());
  Emit(text, "");
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
