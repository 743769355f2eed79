#include "chronoscale/plots/plot_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>

#include <chronoscale/attention_calibrate.h>
#include <chronoscale/error.h>
#include <chronoscale/io.h>
#include <chronoscale/stats.h>

namespace chronoscale::plots {
namespace {

constexpr std::array<Rgb, 9> kViridis = {{{68, 1, 84},
                                          {71, 45, 123},
                                          {59, 82, 139},
                                          {44, 114, 142},
                                          {33, 145, 140},
                                          {40, 174, 128},
                                          {94, 201, 98},
                                          {173, 220, 48},
                                          {253, 231, 37}}};

unsigned char Lerp(unsigned char a, unsigned char b, double f) {
  return static_cast<unsigned char>(std::lround(a + (b - a) * f));
}

std::vector<double> LogSpace(double lo, double hi, int n) {
  std::vector<double> out;
  if (n < 2) return {lo};
  const double a = std::log(lo), b = std::log(hi);
  for (int i = 0; i < n; ++i) out.push_back(std::exp(a + (b - a) * i / (n - 1)));
  return out;
}

}  // namespace

Rgb Viridis(double t) {
  if (!(t > 0)) t = 0;  // NaN too
  if (t > 1) t = 1;
  const double pos = t * (kViridis.size() - 1);
  const std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(pos), kViridis.size() - 2);
  const double f = pos - static_cast<double>(i);
  const Rgb& a = kViridis[i];
  const Rgb& b = kViridis[i + 1];
  return {Lerp(a.r, b.r, f), Lerp(a.g, b.g, f), Lerp(a.b, b.b, f)};
}

uint32_t ToArgb(Rgb c) {
  return 0xFF000000u | (static_cast<uint32_t>(c.r) << 16) | (static_cast<uint32_t>(c.g) << 8) |
         static_cast<uint32_t>(c.b);
}

ColorScale SurfaceColorScale(const std::vector<double>& loss, double quantile) {
  std::vector<double> finite;
  finite.reserve(loss.size());
  for (double v : loss) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  ColorScale s;
  if (finite.empty()) return s;
  std::sort(finite.begin(), finite.end());
  quantile = std::clamp(quantile, 0.0, 1.0);
  const auto k = static_cast<std::size_t>(std::lround(quantile * (finite.size() - 1)));
  s.lo = finite.front();
  s.hi = finite[k];
  if (!(s.hi > s.lo)) s.hi = s.lo + 1e-9;
  return s;
}

uint32_t LossColor(double loss, const ColorScale& scale) {
  if (!std::isfinite(loss)) return kNoFitArgb;
  return ToArgb(Viridis(1.0 - (loss - scale.lo) / (scale.hi - scale.lo)));
}

std::string FormatCount(double value) {
  const double a = std::fabs(value);
  const char* suffix = "";
  double v = value;
  if (a >= 1e12) {
    v = value / 1e12, suffix = "T";
  } else if (a >= 1e9) {
    v = value / 1e9, suffix = "B";
  } else if (a >= 1e6) {
    v = value / 1e6, suffix = "M";
  } else if (a >= 1e3) {
    v = value / 1e3, suffix = "K";
  }
  return fmt::format("{:.3g}{}", v, suffix);
}

std::vector<RooflineCeiling> RooflineCeilings(const HardwareProfile& hw) {
  std::vector<RooflineCeiling> out;
  auto add = [&](const std::string& label, double rate) {
    if (!(rate > 0) || !std::isfinite(rate)) return;
    for (const auto& c : out) {
      if (std::fabs(c.flops_per_s - rate) <= 1e-9 * rate) return;
    }
    out.push_back({label, rate});
  };
  const auto idx = [](Precision p) { return static_cast<std::size_t>(p); };
  if (hw.matmul_flops_per_s[idx(Precision::kBf16)] > 0) {
    add("matmul bf16", hw.matmul_flops_per_s[idx(Precision::kBf16)]);
  } else {
    for (Precision p : {Precision::kFp16, Precision::kTf32, Precision::kFp32, Precision::kFp64}) {
      if (hw.matmul_flops_per_s[idx(p)] > 0) {
        add("matmul " + ToString(p), hw.matmul_flops_per_s[idx(p)]);
        break;
      }
    }
  }
  add("matmul fp32", hw.matmul_flops_per_s[idx(Precision::kFp32)]);
  double vec = hw.vector_flops_per_s[idx(Precision::kFp32)];
  if (!(vec > 0)) {
    try {
      vec = hw.VectorRate(Precision::kFp32);
    } catch (const std::exception&) {
      vec = 0;
    }
  }
  add("vector fp32", vec);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.flops_per_s > b.flops_per_s; });
  return out;
}

double RooflineAttainable(double intensity, double peak, double bandwidth) {
  return std::min(peak, intensity * bandwidth);
}

std::vector<RooflinePoint> RooflinePoints(const ModelShape& shape, const HardwareProfile& hw) {
  const Workload wl = BuildWorkload(shape);
  std::vector<RooflinePoint> out;
  for (const Op& op : wl.ops) {
    const double flops = op.flops * op.count;
    const double bytes = op.Bytes() * op.count;
    if (!(flops > 0) || !(bytes > 0)) continue;
    const double s = RooflineOpSeconds(op, hw);
    if (!(s > 0)) continue;
    out.push_back({op.name, op.kind, op.phase, flops / bytes, flops / s, s});
  }
  return out;
}

Breakdown StepBreakdown(const TimeModel& model, const ModelShape& shape, EstimatorKind estimator,
                        const ParallelLayout* layout) {
  const Workload wl = layout ? BuildWorkload(shape, *layout) : BuildWorkload(shape);
  const std::vector<double> secs = ExplainOpSeconds(model, wl, estimator);
  Breakdown b;
  for (std::size_t i = 0; i < wl.ops.size() && i < secs.size(); ++i) {
    const auto k = static_cast<std::size_t>(wl.ops[i].kind);
    const auto p = static_cast<std::size_t>(wl.ops[i].phase);
    b.seconds[k][p] += secs[i];
    b.total_s += secs[i];
  }
  const StepExplanation parts = ExplainStep(model, wl, estimator);
  b.fixed_s = parts.fixed_s;
  b.exposed_comm_s = parts.exposed_comm_s;
  b.step_s = parts.total_s;
  return b;
}

namespace {
// The 2.5 and 97.5 percentiles of the draws' losses at each point of the curve.
void AddBand(const LossLaw& law, LossFitGroup* g) {
  if (law.draws.empty()) return;
  std::vector<double> at(law.draws.size());
  for (const XY& p : g->curve) {
    for (std::size_t j = 0; j < law.draws.size(); ++j) at[j] = law.Draw(j).Loss(g->params, p.x);
    g->band_lo.push_back({p.x, Percentile(at, 0.025)});
    g->band_hi.push_back({p.x, Percentile(at, 0.975)});
  }
}
}  // namespace

std::vector<LossFitGroup> LawCurves(const LossLaw& law, const std::vector<double>& params,
                                    double d_lo, double d_hi, int curve_points) {
  std::vector<LossFitGroup> out;
  const std::vector<double> ds = LogSpace(d_lo, d_hi, curve_points);
  for (double n : params) {
    LossFitGroup g;
    g.params = n;
    for (double d : ds) g.curve.push_back({d, law.Loss(n, d)});
    AddBand(law, &g);
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<LossFitGroup> LossFitGroups(const std::vector<LossRun>& runs, const LossLaw& law,
                                        int max_groups, int curve_points) {
  std::vector<LossRun> sorted;
  for (const auto& r : runs) {
    if (r.params > 0 && r.tokens > 0 && std::isfinite(r.loss)) sorted.push_back(r);
  }
  if (sorted.empty()) return {};
  std::sort(sorted.begin(), sorted.end(),
            [](const LossRun& a, const LossRun& b) { return a.params < b.params; });
  std::vector<std::vector<LossRun>> groups;
  for (const auto& r : sorted) {
    if (groups.empty() || r.params > groups.back().front().params * 1.02) groups.emplace_back();
    groups.back().push_back(r);
  }
  if (max_groups > 0 && static_cast<int>(groups.size()) > max_groups) {
    const double a = std::log(sorted.front().params), b = std::log(sorted.back().params);
    std::vector<std::vector<LossRun>> bins(max_groups);
    for (const auto& r : sorted) {
      int i = static_cast<int>((std::log(r.params) - a) / (b - a) * max_groups);
      bins[std::clamp(i, 0, max_groups - 1)].push_back(r);
    }
    groups.clear();
    for (auto& bin : bins) {
      if (!bin.empty()) groups.push_back(std::move(bin));
    }
  }
  double d_lo = INFINITY, d_hi = 0;
  for (const auto& r : sorted) {
    d_lo = std::min(d_lo, r.tokens);
    d_hi = std::max(d_hi, r.tokens);
  }
  const std::vector<double> ds = LogSpace(d_lo / 1.5, d_hi * 1.5, curve_points);
  std::vector<LossFitGroup> out;
  for (const auto& group : groups) {
    LossFitGroup g;
    double log_sum = 0;
    for (const auto& r : group) {
      log_sum += std::log(r.params);
      g.runs.push_back({r.tokens, r.loss});
    }
    g.params = std::exp(log_sum / static_cast<double>(group.size()));
    std::sort(g.runs.begin(), g.runs.end(), [](const XY& a, const XY& b) { return a.x < b.x; });
    for (double d : ds) g.curve.push_back({d, law.Loss(g.params, d)});
    AddBand(law, &g);
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<EstimatorScatter> PredictedVsMeasured(const std::vector<StepRun>& runs,
                                                  const TimeFitSummary& fit) {
  std::vector<EstimatorScatter> out;
  for (const auto& rep : fit.reports) {
    if (!rep.available || rep.cv_predicted_s.size() != runs.size()) continue;
    EstimatorScatter s;
    s.name = ToString(rep.kind);
    s.cv_median = rep.cv_median;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const double m = runs[i].step_s, p = rep.cv_predicted_s[i];
      if (m > 0 && p > 0 && std::isfinite(m) && std::isfinite(p)) s.points.push_back({m, p});
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<AttentionCurve> GroupAttentionRows(const std::vector<std::string>& labels,
                                               const std::vector<double>& seq_len,
                                               const std::vector<double>& measured_s,
                                               const std::vector<double>& predicted_s) {
  assert(labels.size() == seq_len.size() && labels.size() == measured_s.size());
  assert(predicted_s.empty() || predicted_s.size() == labels.size());
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::size_t>> rows;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!rows.count(labels[i])) order.push_back(labels[i]);
    rows[labels[i]].push_back(i);
  }
  std::vector<AttentionCurve> out;
  for (const auto& label : order) {
    auto idx = rows[label];
    std::stable_sort(idx.begin(), idx.end(),
                     [&](std::size_t a, std::size_t b) { return seq_len[a] < seq_len[b]; });
    AttentionCurve c;
    c.label = label;
    bool any_pred = false;
    for (std::size_t i : idx) {
      c.seq_len.push_back(seq_len[i]);
      c.measured_s.push_back(measured_s[i]);
      const double p = predicted_s.empty() ? NAN : predicted_s[i];
      any_pred = any_pred || (std::isfinite(p) && p > 0);
      c.predicted_s.push_back(p);
    }
    if (!any_pred) c.predicted_s.clear();
    out.push_back(std::move(c));
  }
  return out;
}

bool AttentionKernelOfCsvName(const std::string& name, AttentionKernel* kernel) {
  if (Parse(name, kernel)) return true;
  if (name == "sdpa_flash") return Parse("flash", kernel);
  if (name == "naive_softmax") return Parse("softmax", kernel);
  if (name == "favor_plus") return Parse("favor", kernel);
  return false;
}

int PredictMissingAttention(std::vector<AttentionRow>* rows, const HardwareProfile& hw) {
  int priced = 0;
  for (AttentionRow& r : *rows) {
    AttentionKernel k;
    if (r.predicted_s >= 0 || !AttentionKernelOfCsvName(r.kernel, &k)) continue;
    try {
      r.predicted_s = PredictAttentionSeconds(k, r.batch, r.heads, r.seq_len, r.d_head, r.features,
                                              false, Precision::kBf16, hw);
      ++priced;
    } catch (const std::runtime_error&) {  // InputError, RuntimeError: a size it refuses
      r.predicted_s = -1;                  // the row stays measured only
    }
  }
  return priced;
}

std::vector<AttentionRow> ReadAttentionCsv(const std::string& path) {
  const CsvTable t = ReadCsv(path);
  std::vector<AttentionRow> out;
  const bool calibrate = t.Column("kernel") >= 0 && t.Column("measured_s") >= 0;
  const bool measured = t.Column("kind") >= 0 && t.Column("ms") >= 0;
  if (!calibrate && !measured) {
    std::string have;
    for (const auto& h : t.header) have += (have.empty() ? "" : ", ") + h;
    throw InputError(path +
                     ": expected the columns of `chronoscale calibrate --out` (kernel, seq_len, "
                     "d_head, features, measured_s, predicted_s) or a timing CSV (kind, seq_len, "
                     "d_head, features, ms); found " +
                     have);
  }
  const int c_seq = t.RequireColumn("seq_len");
  const int c_dh = t.RequireColumn("d_head");
  const int c_feat = t.Column("features");
  if (calibrate) {
    const int c_k = t.RequireColumn("kernel");
    const int c_m = t.RequireColumn("measured_s");
    const int c_p = t.Column("predicted_s");
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
      AttentionRow row;
      row.kernel = t.Text(r, c_k);
      row.seq_len = t.Integer(r, c_seq, 1, int64_t{1} << 40);
      row.d_head = t.Integer(r, c_dh, 1, int64_t{1} << 20);
      row.features = c_feat >= 0 ? t.Integer(r, c_feat, 0, int64_t{1} << 30) : 0;
      row.measured_s = t.NumberIn(r, c_m, 0, 1e9);
      row.predicted_s = c_p >= 0 ? t.NumberIn(r, c_p, 0, 1e9) : -1;
      row.line = t.line_of_row[r];
      out.push_back(row);
    }
    return out;
  }
  const int c_k = t.RequireColumn("kind");
  const int c_ms = t.RequireColumn("ms");
  const int c_b = t.Column("batch"), c_h = t.Column("heads"), c_st = t.Column("status");
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    if (c_st >= 0 && t.Text(r, c_st) != "ok") continue;
    AttentionRow row;
    row.kernel = t.Text(r, c_k);
    row.batch = c_b >= 0 ? t.Integer(r, c_b, 1, int64_t{1} << 30) : 1;
    row.heads = c_h >= 0 ? t.Integer(r, c_h, 1, int64_t{1} << 20) : 1;
    row.seq_len = t.Integer(r, c_seq, 1, int64_t{1} << 40);
    row.d_head = t.Integer(r, c_dh, 1, int64_t{1} << 20);
    row.features = c_feat >= 0 ? t.Integer(r, c_feat, 0, int64_t{1} << 30) : 0;
    row.measured_s = t.NumberIn(r, c_ms, 0, 1e12) * 1e-3;
    row.line = t.line_of_row[r];
    out.push_back(row);
  }
  return out;
}

std::vector<AttentionCurve> AttentionCurvesFromRows(const std::vector<AttentionRow>& rows) {
  std::set<int64_t> dims;
  for (const auto& r : rows) dims.insert(r.d_head);
  std::vector<std::string> labels;
  std::vector<double> seq, measured, predicted;
  bool any_pred = false;
  for (const auto& r : rows) {
    std::string label = r.kernel;
    if (r.features > 0) label += fmt::format(" m={}", r.features);
    if (dims.size() > 1) label += fmt::format(" d={}", r.d_head);
    labels.push_back(label);
    seq.push_back(static_cast<double>(r.seq_len));
    measured.push_back(r.measured_s);
    predicted.push_back(r.predicted_s >= 0 ? r.predicted_s : NAN);
    any_pred = any_pred || r.predicted_s >= 0;
  }
  if (!any_pred) predicted.clear();
  return GroupAttentionRows(labels, seq, measured, predicted);
}

std::pair<double, double> LogAxisRange(const std::vector<double>& values) {
  double lo = INFINITY, hi = 0;
  for (double v : values) {
    if (std::isfinite(v) && v > 0) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!(hi > 0)) return {1, 10};
  double a = std::pow(10.0, std::floor(std::log10(lo) + 1e-9));
  double b = std::pow(10.0, std::ceil(std::log10(hi) - 1e-9));
  if (!(b > a)) b = a * 10;
  return {a, b};
}

}  // namespace chronoscale::plots
