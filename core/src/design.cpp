#include "chronoscale/design.h"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <tuple>

#include "chronoscale/error.h"
#include "chronoscale/io.h"
#include "chronoscale/layout_search.h"
#include "chronoscale/time_fit.h"

namespace chronoscale {
namespace {

constexpr int kParams =
    7;                   // c0 (ms), log matmul, log attention, log byte, log launch, log tensor, p
constexpr int kObs = 4;  // log step, log forward, log backward, log optimizer
using Jacobian = Eigen::Matrix<double, kObs, kParams>;
using Information = Eigen::Matrix<double, kParams, kParams>;

// The calibrated coefficients to take derivatives at: the model's, or the fit's prior with a
// fixed time of 0.5 ms (a c0 of 0 would make the design blind to it).
CalibratedCoefficients Coefficients(const TimeModel& model) {
  if (model.Has(EstimatorKind::kCalibrated)) return model.calibrated;
  CalibratedCoefficients k = CalibratedPrior(model.hardware);
  k.c0_s = 0.5e-3;
  return k;
}

// log step, log forward, log backward, log optimizer at parameters theta.
Eigen::Matrix<double, kObs, 1> Observe(const StepCounts& c, const CalibratedCoefficients& base,
                                       const double* theta) {
  CalibratedTerms<double> k = TermsOf(base);
  k.c0 = theta[0] * 1e-3;
  k.matmul *= std::exp(theta[1]);
  k.attention *= std::exp(theta[2]);
  k.byte *= std::exp(theta[3]);
  k.launch *= std::exp(theta[4]);
  k.tensor *= std::exp(theta[5]);
  k.sharpness = theta[6];
  const CalibratedPhases<double> ph = CalibratedPhaseSeconds(c, k);
  Eigen::Matrix<double, kObs, 1> y;
  y << std::log(CalibratedStep(c, k, 1.0, 0.0)), std::log(ph.forward), std::log(ph.backward),
      std::log(ph.optimizer);
  return y;
}

// Central differences of Observe at the base coefficients.
Jacobian Sensitivities(const StepCounts& c, const CalibratedCoefficients& base) {
  const double theta0[kParams] = {base.c0_s * 1e3, 0, 0, 0, 0, 0, base.sharpness};
  const double step[kParams] = {0.05, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-2};
  Jacobian j;
  for (int p = 0; p < kParams; ++p) {
    double hi[kParams], lo[kParams];
    std::copy(theta0, theta0 + kParams, hi);
    std::copy(theta0, theta0 + kParams, lo);
    hi[p] += step[p];
    lo[p] -= step[p];
    if (p == 0) lo[p] = std::max(0.0, lo[p]);
    j.col(p) = (Observe(c, base, hi) - Observe(c, base, lo)) / (hi[p] - lo[p]);
  }
  return j;
}

struct Candidate {
  ModelShape shape;
  Jacobian j;
  double predicted_s = 0;
};

std::vector<Candidate> DrawCandidates(const TimeModel& model, const CalibratedCoefficients& k,
                                      const DesignOptions& o, double usable) {
  std::mt19937 rng(o.seed);
  std::vector<int64_t> widths;
  for (int64_t w = 64; w <= o.width_max; w += (w < 512 ? 64 : w < 2048 ? 128 : 256)) {
    if (w >= o.width_min && DefaultHeads(w) > 0) widths.push_back(w);
  }
  if (widths.empty()) {
    throw InputError(
        fmt::format("--width {}:{}: no multiple of 64 in range", o.width_min, o.width_max));
  }
  std::uniform_int_distribution<std::size_t> wi(0, widths.size() - 1), si(0, o.seq.size() - 1),
      bi(0, o.batch.size() - 1), vi(0, o.vocab.size() - 1);
  std::uniform_real_distribution<double> logd(std::log(static_cast<double>(o.depth_min)),
                                              std::log(static_cast<double>(o.depth_max) + 0.999));
  std::set<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>> seen;
  std::vector<Candidate> out;
  for (int draw = 0; draw < o.pool; ++draw) {
    ModelShape s = ReferenceShape(widths[wi(rng)], 1);
    s.n_layers =
        std::clamp<int64_t>(static_cast<int64_t>(std::exp(logd(rng))), o.depth_min, o.depth_max);
    s.seq_len = o.seq[si(rng)];
    s.batch = o.batch[bi(rng)];
    s.vocab = o.vocab[vi(rng)];
    if (!seen.insert({s.d_model, s.n_layers, s.seq_len, s.batch, s.vocab}).second) continue;
    if (o.max_params > 0 && s.Params() > o.max_params) continue;
    if (EstimateMemory(s, SingleDevice(s)).Total() > usable) continue;
    Candidate c;
    c.shape = s;
    const StepCounts counts = CountStep(s, model.hardware);
    c.j = Sensitivities(counts, k);
    if (!c.j.allFinite()) continue;
    TimeModel m = model;
    m.calibrated = k;
    m.fitted[static_cast<std::size_t>(EstimatorKind::kCalibrated)] = true;
    c.predicted_s = PredictFromCounts(m, counts, EstimatorKind::kCalibrated);
    out.push_back(std::move(c));
  }
  return out;
}

double Distance(const ModelShape& a, const ModelShape& b) {
  const double dw = std::log2(static_cast<double>(a.d_model) / static_cast<double>(b.d_model));
  const double dl = std::log2(static_cast<double>(a.n_layers) / static_cast<double>(b.n_layers));
  return std::hypot(dw, dl);
}

}  // namespace

Design DesignExperiments(const TimeModel& model, const DesignOptions& o) {
  if (o.count < 1) throw InputError(fmt::format("--count {}: must be at least 1", o.count));
  if (o.width_min < 1 || o.width_max < o.width_min || o.depth_min < 1 ||
      o.depth_max < o.depth_min) {
    throw InputError(fmt::format("--width {}:{} / --depth {}:{}: expected 1 <= min <= max",
                                 o.width_min, o.width_max, o.depth_min, o.depth_max));
  }
  if (o.seq.empty() || o.batch.empty() || o.vocab.empty())
    throw InputError("--seq, --batch and --vocab need at least one value each");
  for (const auto* list : {&o.seq, &o.batch, &o.vocab}) {
    for (int64_t v : *list) {
      if (v < 1) throw InputError(fmt::format("--seq/--batch/--vocab: {} is not positive", v));
    }
  }
  const double capacity = model.hardware.memory_bytes;
  const double usable = o.usable_bytes > 0 ? o.usable_bytes
                        : capacity > 0     ? capacity - DefaultMemoryReserve(capacity)
                                           : 1e300;
  const CalibratedCoefficients k = Coefficients(model);
  std::vector<Candidate> pool = DrawCandidates(model, k, o, usable);
  Design design;
  design.candidates = static_cast<int>(pool.size());
  if (pool.empty()) {
    throw InputError(fmt::format(
        "no candidate shape fits: widths {}..{}, depths {}..{}{} within {:.1f} GiB per device",
        o.width_min, o.width_max, o.depth_min, o.depth_max,
        o.max_params > 0 ? fmt::format(", at most {:.3g} parameters", o.max_params) : "",
        usable / kGiB));
  }
  const int count = std::min<int>(o.count, static_cast<int>(pool.size()));
  const int n_cover = std::clamp(static_cast<int>(std::lround(count * o.coverage)), 0, count - 1);
  std::vector<bool> taken(pool.size(), false);
  // Greedy D-optimal: each pick maximises log det of the information matrix.
  Information info = 1e-6 * Information::Identity();
  auto pick = [&](std::size_t i, const char* role) {
    taken[i] = true;
    info += pool[i].j.transpose() * pool[i].j;
    design.shapes.push_back({pool[i].shape, role, pool[i].predicted_s});
  };
  for (int n = 0; n < count - n_cover; ++n) {
    const Information inv = info.inverse();
    double best = -1;
    std::size_t arg = 0;
    for (std::size_t i = 0; i < pool.size(); ++i) {
      if (taken[i]) continue;
      const Eigen::Matrix<double, kObs, kObs> gain =
          Eigen::Matrix<double, kObs, kObs>::Identity() + pool[i].j * inv * pool[i].j.transpose();
      // ties (equal information) go to the cheaper shape
      const double score = std::log(gain.determinant()) - 1e-6 * pool[i].predicted_s;
      if (score > best) {
        best = score;
        arg = i;
      }
    }
    pick(arg, "d-optimal");
  }
  // Coverage: the candidate farthest (log width, log depth) from every chosen shape.
  for (int n = 0; n < n_cover; ++n) {
    double best = -1;
    std::size_t arg = 0;
    for (std::size_t i = 0; i < pool.size(); ++i) {
      if (taken[i]) continue;
      double nearest = std::numeric_limits<double>::infinity();
      for (const auto& s : design.shapes)
        nearest = std::min(nearest, Distance(pool[i].shape, s.shape));
      if (nearest > best) {
        best = nearest;
        arg = i;
      }
    }
    pick(arg, "coverage");
  }
  design.parameters = {"c0 (ms)",    "log matmul",           "log attention", "log bytes",
                       "log launch", "log optimizer tensor", "sharpness p"};
  const Information cov = info.inverse();
  for (int p = 0; p < kParams; ++p) design.standard_error.push_back(0.01 * std::sqrt(cov(p, p)));
  return design;
}

std::string DesignCsv(const Design& design, int devices) {
  std::string out =
      "d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,mlp,norm,positions,precision,devices,"
      "role,predicted_ms\n";
  for (const auto& d : design.shapes) {
    const ModelShape& s = d.shape;
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{:.4g}\n", s.d_model, s.n_layers,
                       s.n_heads, s.d_ff, s.seq_len, s.batch * devices, s.vocab, ToString(s.mlp),
                       ToString(s.norm), ToString(s.positions), ToString(s.precision), devices,
                       d.role, d.predicted_s * 1e3);
  }
  return out;
}

std::string SlurmScript(const std::string& harness_path, const std::string& shapes_path,
                        const std::string& runs_path, int nodes, int gpus_per_node,
                        const std::string& time_limit) {
  auto quote = [](const std::string& text) {  // one shell word, whatever the path holds
    std::string q = "'";
    for (char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  const std::string harness = quote(harness_path), shapes_csv = quote(shapes_path),
                    runs_csv = quote(runs_path);
  return fmt::format(
      R"(#!/bin/bash
# Written by chronoscale design: measures {shapes} with the chronoscale harness on {nodes} node(s)
# x {gpus} GPU(s) and writes {runs}; then `chronoscale fit-time --runs {runs} --hardware <this GPU>`.
# Rows whose devices column asks for another world size are skipped by the harness (status).
#SBATCH --job-name=chronoscale-measure
#SBATCH --nodes={nodes}
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node={gpus}
#SBATCH --time={time}
#SBATCH --output=chronoscale-measure-%j.log
set -euo pipefail
head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
srun torchrun --nnodes {nodes} --nproc_per_node {gpus} \
  --rdzv_id "$SLURM_JOB_ID" --rdzv_backend c10d --rdzv_endpoint "$head_node:29500" \
  {harness} --shapes {shapes} --out {runs} --device cuda
)",
      fmt::arg("shapes", shapes_csv), fmt::arg("runs", runs_csv), fmt::arg("nodes", nodes),
      fmt::arg("gpus", gpus_per_node), fmt::arg("time", time_limit), fmt::arg("harness", harness));
}

}  // namespace chronoscale
