#include "chronoscale/plots/plot_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>

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

namespace {
// A priced cell without a loss that fits in memory: the budget is under one optimizer step.
bool FitsUnderOneStep(const PlanResult& plan, std::size_t i) {
  return i < plan.memory_bytes.size() && plan.memory_bytes[i] > 0 &&
         (plan.usable_bytes <= 0 || plan.memory_bytes[i] <= plan.usable_bytes);
}
}  // namespace

SurfaceExclusions CountExclusions(const PlanResult& plan) {
  SurfaceExclusions e;
  const std::size_t nw = plan.widths.size();
  for (std::size_t i = 0; i < plan.loss.size() && nw > 0; ++i) {
    if (std::isfinite(plan.loss[i])) continue;
    if (i < plan.step_s.size() && std::isfinite(plan.step_s[i])) {
      ++(FitsUnderOneStep(plan, i) ? e.under_one_step : e.out_of_memory);
      continue;
    }
    const double aspect =
        static_cast<double>(plan.widths[i % nw]) / static_cast<double>(plan.depths[i / nw]);
    const bool out = aspect < plan.options.min_aspect || aspect > plan.options.max_aspect;
    ++(out ? e.aspect : e.unbuildable);
  }
  return e;
}

namespace {
// The colour of cell i (see SurfacePixels).
uint32_t CellArgb(const PlanResult& plan, std::size_t i, const ColorScale& scale) {
  uint32_t color = LossColor(plan.loss[i], scale);
  if (color == kNoFitArgb && i < plan.step_s.size()) {
    // No step time: the shape was left out (aspect ratio, heads) rather than priced.
    if (!std::isfinite(plan.step_s[i])) {
      color = kLeftOutArgb;
    } else if (FitsUnderOneStep(plan, i)) {
      color = kUnderOneStepArgb;
    }
  }
  return color;
}

// The axis value at fraction t of [lo, hi], in the axis's scale.
double AxisAt(double lo, double hi, bool log, double t) {
  return log ? lo * std::pow(hi / lo, t) : lo + (hi - lo) * t;
}

// The index of the grid value nearest v, or -1 outside the grid's cells.
int64_t NearestIndex(const std::vector<int64_t>& axis, double v) {
  const double step = axis.size() > 1 ? static_cast<double>(axis[1] - axis[0]) : 1.0;
  const double k = std::round((v - static_cast<double>(axis.front())) / step);
  return k < 0 || k >= static_cast<double>(axis.size()) ? -1 : static_cast<int64_t>(k);
}
}  // namespace

SurfaceImage SurfacePixels(const PlanResult& plan, double quantile, const ColorScale* fixed) {
  SurfaceImage img;
  img.columns = static_cast<int>(plan.widths.size());
  img.rows = static_cast<int>(plan.depths.size());
  img.scale = fixed != nullptr ? *fixed : SurfaceColorScale(plan.loss, quantile);
  const std::size_t cells = static_cast<std::size_t>(img.columns) * img.rows;
  assert(plan.loss.size() == cells);
  img.argb.resize(cells);
  for (int r = 0; r < img.rows; ++r) {
    const std::size_t src = static_cast<std::size_t>(img.rows - 1 - r) * img.columns;
    const std::size_t dst = static_cast<std::size_t>(r) * img.columns;
    for (int c = 0; c < img.columns; ++c) img.argb[dst + c] = CellArgb(plan, src + c, img.scale);
  }
  return img;
}

SurfaceView SurfaceViewOf(const PlanResult& plan, const Candidate* selected) {
  SurfaceView v;
  const auto& w = plan.widths;
  const auto& d = plan.depths;
  if (w.empty() || d.empty()) return v;
  const std::size_t nw = w.size();
  // Bounding boxes (as grid indices) of the cells with a loss and of the priced ones.
  struct Box {
    std::size_t c0 = SIZE_MAX, c1 = 0, r0 = SIZE_MAX, r1 = 0;
    bool Empty() const { return c0 > c1; }
    void Add(std::size_t c, std::size_t r) {
      c0 = std::min(c0, c), c1 = std::max(c1, c), r0 = std::min(r0, r), r1 = std::max(r1, r);
    }
  } coloured, priced;
  for (std::size_t i = 0; i < plan.loss.size(); ++i) {
    if (std::isfinite(plan.loss[i])) coloured.Add(i % nw, i / nw);
    if (i < plan.step_s.size() && std::isfinite(plan.step_s[i])) priced.Add(i % nw, i / nw);
  }
  Box box = !coloured.Empty() ? coloured : priced;
  if (box.Empty()) box = {0, nw - 1, 0, d.size() - 1};
  // The marked shapes stay in view (the FLOP-optimal one often does not fit).
  for (const Candidate* c :
       {plan.found ? &plan.best : nullptr,
        plan.flop_based.shape.d_model > 0 ? &plan.flop_based : nullptr, selected}) {
    if (c == nullptr) continue;
    const int64_t ci = NearestIndex(w, static_cast<double>(c->shape.d_model));
    const int64_t ri = NearestIndex(d, static_cast<double>(c->shape.n_layers));
    if (ci >= 0 && ri >= 0) box.Add(static_cast<std::size_t>(ci), static_cast<std::size_t>(ri));
  }
  // A margin of a tenth of the box on each side (at least two cells), for the edge's context,
  // inside the priced region (or the grid).
  const Box outer = priced.Empty() ? Box{0, nw - 1, 0, d.size() - 1} : priced;
  auto pad = [](std::size_t lo, std::size_t hi, std::size_t outer_lo, std::size_t outer_hi,
                std::size_t* a, std::size_t* b) {
    const std::size_t m = std::max<std::size_t>(2, (hi - lo) / 10);
    *a = std::min(lo, std::max(lo >= m ? lo - m : 0, outer_lo));
    *b = std::max(hi, std::min(hi + m, outer_hi));
  };
  std::size_t c0, c1, r0, r1;
  pad(box.c0, box.c1, outer.c0, outer.c1, &c0, &c1);
  pad(box.r0, box.r1, outer.r0, outer.r1, &r0, &r1);
  const double wlo = static_cast<double>(w[c0]), whi = static_cast<double>(w[c1]);
  const double dlo = static_cast<double>(d[r0]), dhi = static_cast<double>(d[r1]);
  const double wstep = nw > 1 ? static_cast<double>(w[1] - w[0]) : 64.0;
  const double dstep = d.size() > 1 ? static_cast<double>(d[1] - d[0]) : 1.0;
  v.log_x = whi / wlo >= kSurfaceLogSpan;
  v.log_y = dhi / dlo >= kSurfaceLogSpan;
  // Cell edges: half a step out on a linear axis; on a log axis, the geometric half-way point to
  // the neighbour (a positive edge, however small the first value).
  v.x_min = v.log_x ? wlo * std::sqrt(wlo / (wlo + wstep)) : wlo - wstep / 2;
  v.x_max = v.log_x ? whi * std::sqrt((whi + wstep) / whi) : whi + wstep / 2;
  v.y_min = v.log_y ? dlo * std::sqrt(dlo / (dlo + dstep)) : dlo - dstep / 2;
  v.y_max = v.log_y ? dhi * std::sqrt((dhi + dstep) / dhi) : dhi + dstep / 2;
  return v;
}

SurfaceImage SurfacePixels(const PlanResult& plan, const SurfaceView& view, int columns, int rows,
                           double quantile, const ColorScale* fixed) {
  SurfaceImage img;
  img.columns = std::max(1, columns);
  img.rows = std::max(1, rows);
  img.scale = fixed != nullptr ? *fixed : SurfaceColorScale(plan.loss, quantile);
  img.argb.assign(static_cast<std::size_t>(img.columns) * img.rows, kLeftOutArgb);
  if (plan.widths.empty() || plan.depths.empty()) return img;
  // Separable: each pixel column is one grid column, each pixel row one grid row.
  std::vector<int64_t> col(static_cast<std::size_t>(img.columns)),
      row(static_cast<std::size_t>(img.rows));
  for (int c = 0; c < img.columns; ++c) {
    const double x = AxisAt(view.x_min, view.x_max, view.log_x, (c + 0.5) / img.columns);
    col[static_cast<std::size_t>(c)] = NearestIndex(plan.widths, x);
  }
  for (int r = 0; r < img.rows; ++r) {  // top row: the deepest
    const double y = AxisAt(view.y_min, view.y_max, view.log_y, 1 - (r + 0.5) / img.rows);
    row[static_cast<std::size_t>(r)] = NearestIndex(plan.depths, y);
  }
  const std::size_t nw = plan.widths.size();
  for (int r = 0; r < img.rows; ++r) {
    const int64_t ri = row[static_cast<std::size_t>(r)];
    if (ri < 0) continue;
    uint32_t* out = img.argb.data() + static_cast<std::size_t>(r) * img.columns;
    for (int c = 0; c < img.columns; ++c) {
      const int64_t ci = col[static_cast<std::size_t>(c)];
      if (ci >= 0)
        out[c] = CellArgb(plan, static_cast<std::size_t>(ri) * nw + static_cast<std::size_t>(ci),
                          img.scale);
    }
  }
  return img;
}

std::optional<std::size_t> SurfaceCellAt(const PlanResult& plan, double width, double depth) {
  const auto& w = plan.widths;
  const auto& d = plan.depths;
  if (w.empty() || d.empty() || !std::isfinite(width) || !std::isfinite(depth)) return {};
  auto index = [](const std::vector<int64_t>& axis, double v) -> std::optional<std::size_t> {
    const double step = axis.size() > 1 ? static_cast<double>(axis[1] - axis[0]) : 1.0;
    const double k = std::round((v - static_cast<double>(axis.front())) / step);
    if (k < 0 || k >= static_cast<double>(axis.size())) return {};
    return static_cast<std::size_t>(k);
  };
  const auto i = index(w, width), j = index(d, depth);
  if (!i || !j) return {};
  return *j * w.size() + *i;
}

std::string SurfaceCellReadout(const PlanResult& plan, std::size_t cell) {
  const std::size_t nw = plan.widths.size();
  if (nw == 0 || cell >= plan.loss.size()) return {};
  const int64_t width = plan.widths[cell % nw], depth = plan.depths[cell / nw];
  std::string text = fmt::format("d_model {} x {} layers", width, depth);
  const double step = cell < plan.step_s.size() ? plan.step_s[cell] : NAN;
  const double params = cell < plan.params.size() ? plan.params[cell] : 0;
  const double memory = cell < plan.memory_bytes.size() ? plan.memory_bytes[cell] : 0;
  if (params > 0) text += ", " + FormatCount(params) + " params";
  if (!std::isfinite(step)) {
    const double aspect = static_cast<double>(width) / static_cast<double>(depth);
    if (aspect < plan.options.min_aspect || aspect > plan.options.max_aspect) {
      return text + fmt::format(": left out, d_model/n_layers {:.3g} outside [{:g}, {:g}]", aspect,
                                plan.options.min_aspect, plan.options.max_aspect);
    }
    return text + ": left out (no head size divides d_model, or no legal layout)";
  }
  const double tokens = plan.budget_s / step * plan.options.base.TokensPerStep();
  if (!std::isfinite(plan.loss[cell])) {
    if (plan.usable_bytes > 0 && memory > plan.usable_bytes) {
      return text + fmt::format(": does not fit, {:.1f} GiB > {:.1f} GiB usable per device",
                                memory / kGiB, plan.usable_bytes / kGiB);
    }
    return text +
           fmt::format(": step {:.2f} ms, less than one optimizer step in the budget", step * 1e3);
  }
  return text + fmt::format(": loss {:.4f}, step {:.2f} ms, {} tokens, {:.1f} GiB per device",
                            plan.loss[cell], step * 1e3, FormatCount(tokens), memory / kGiB);
}

std::vector<double> IsoParamLevels(const PlanResult& plan, int max_levels) {
  double lo = INFINITY, hi = 0;
  for (double p : plan.params) {
    if (std::isfinite(p) && p > 0) {
      lo = std::min(lo, p);
      hi = std::max(hi, p);
    }
  }
  if (!(hi > lo) || max_levels < 1) return {};
  auto levels_with = [&](std::initializer_list<double> mantissas) {
    std::vector<double> out;
    for (int e = static_cast<int>(std::floor(std::log10(lo))); e <= std::ceil(std::log10(hi));
         ++e) {
      for (double m : mantissas) {
        const double v = m * std::pow(10.0, e);
        if (v > lo && v < hi) out.push_back(v);
      }
    }
    return out;
  };
  std::vector<double> levels = levels_with({1, 2, 5});
  if (static_cast<int>(levels.size()) > max_levels) levels = levels_with({1, 3});
  if (static_cast<int>(levels.size()) > max_levels) levels = levels_with({1});
  while (static_cast<int>(levels.size()) > max_levels) {
    std::vector<double> kept;
    for (std::size_t i = 0; i < levels.size(); i += 2) kept.push_back(levels[i]);
    levels = kept;
  }
  return levels;
}

std::vector<XY> IsoParamCurve(const PlanResult& plan, double target) {
  std::vector<XY> out;
  const std::size_t nw = plan.widths.size();
  for (std::size_t r = 0; r < plan.depths.size(); ++r) {
    const double* p = plan.params.data() + r * nw;
    for (std::size_t c = 0; c + 1 < nw; ++c) {
      const double a = p[c], b = p[c + 1];
      if (!(a > 0) || !(b > 0) || !std::isfinite(a) || !std::isfinite(b) || a == b) continue;
      if ((a <= target && target < b) || (b < target && target <= a)) {
        const double f = (target - a) / (b - a);
        const double w0 = static_cast<double>(plan.widths[c]);
        const double w1 = static_cast<double>(plan.widths[c + 1]);
        out.push_back({w0 + f * (w1 - w0), static_cast<double>(plan.depths[r])});
        break;
      }
    }
  }
  return out;
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
