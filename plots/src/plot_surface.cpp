// The loss surface's data: why cells have no loss, its pixels over a view that follows the
// shapes with a loss (log axes over wide spans), the cell under the pointer and its readout, and
// the iso-parameter curves.
#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>

#include <chronoscale/planner.h>

#include "chronoscale/plots/plot_data.h"

namespace chronoscale::plots {

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
  // Each cell's colour once (0: not yet; every colour is opaque), then a lookup per pixel.
  std::vector<uint32_t> cell_argb(plan.loss.size(), 0);
  for (int r = 0; r < img.rows; ++r) {
    const int64_t ri = row[static_cast<std::size_t>(r)];
    if (ri < 0) continue;
    uint32_t* out = img.argb.data() + static_cast<std::size_t>(r) * img.columns;
    for (int c = 0; c < img.columns; ++c) {
      const int64_t ci = col[static_cast<std::size_t>(c)];
      if (ci < 0) continue;
      const std::size_t cell = static_cast<std::size_t>(ri) * nw + static_cast<std::size_t>(ci);
      if (cell_argb[cell] == 0) cell_argb[cell] = CellArgb(plan, cell, img.scale);
      out[c] = cell_argb[cell];
    }
  }
  return img;
}

std::optional<std::size_t> SurfaceCellAt(const PlanResult& plan, double width, double depth) {
  const auto& w = plan.widths;
  const auto& d = plan.depths;
  if (w.empty() || d.empty() || !std::isfinite(width) || !std::isfinite(depth)) return {};
  const int64_t i = NearestIndex(w, width), j = NearestIndex(d, depth);
  if (i < 0 || j < 0) return {};
  return static_cast<std::size_t>(j) * w.size() + static_cast<std::size_t>(i);
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

}  // namespace chronoscale::plots
