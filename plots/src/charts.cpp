// The six charts. Each reads the plain data of plot_data.h and only draws.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <QAreaSeries>
#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QGraphicsItem>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPainter>
#include <QPen>
#include <QScatterSeries>
#include <QStackedBarSeries>
#include <QValueAxis>

#include <chronoscale/plots/plots.h>

#include "chart_internal.h"

namespace chronoscale::plots {
namespace internal {

QString Q(const std::string& s) { return QString::fromStdString(s); }

QChart* NewChart(const std::string& title) {
  auto* chart = new QChart();
  chart->setTitle(Q(title));
  QFont f = chart->titleFont();
  f.setPointSizeF(f.pointSizeF() * 1.15);
  f.setBold(true);
  chart->setTitleFont(f);
  chart->legend()->setAlignment(Qt::AlignBottom);
  chart->setAnimationOptions(QChart::NoAnimation);
  chart->setBackgroundRoundness(0);
  return chart;
}

void Attach(QChart* chart, QAbstractSeries* s, QAbstractAxis* x, QAbstractAxis* y) {
  chart->addSeries(s);
  s->attachAxis(x);
  s->attachAxis(y);
}

void HideLegend(QChart* chart, QAbstractSeries* s) {
  for (QLegendMarker* m : chart->legend()->markers(s)) m->setVisible(false);
}

}  // namespace internal

namespace {
using internal::Attach;
using internal::HideLegend;
using internal::NewChart;
using internal::Q;

// Tableau 10: distinct on white and for common colour-vision deficiencies.
const QColor kPalette[] = {QColor(0x1f77b4), QColor(0xff7f0e), QColor(0x2ca02c), QColor(0xd62728),
                           QColor(0x9467bd), QColor(0x8c564b), QColor(0xe377c2), QColor(0x7f7f7f),
                           QColor(0xbcbd22), QColor(0x17becf)};
QColor PaletteColor(std::size_t i) { return kPalette[i % std::size(kPalette)]; }

QLogValueAxis* LogAxis(const QString& title, std::pair<double, double> range,
                       const QString& format) {
  auto* axis = new QLogValueAxis();
  axis->setTitleText(title);
  axis->setBase(10);
  axis->setRange(range.first, range.second);
  axis->setLabelFormat(format);
  axis->setMinorTickCount(8);
  QPen minor = axis->minorGridLinePen();
  minor.setColor(QColor(0xee, 0xee, 0xee));
  axis->setMinorGridLinePen(minor);
  return axis;
}

// The loss axis: over less than a decade (a loss usually spans 2 to 4 nats) a linear axis with
// round ticks (2.0, 2.5, 3.0), which a log axis of that range cannot give; a log axis beyond.
QAbstractAxis* LossAxis(const QString& title, double lo, double hi) {
  if (hi / lo > 10) return LogAxis(title, {lo, hi}, QStringLiteral("%g"));
  auto* axis = new QValueAxis();
  axis->setTitleText(title);
  axis->setRange(lo, hi);
  axis->applyNiceNumbers();
  const double step = (axis->max() - axis->min()) / std::max(1, axis->tickCount() - 1);
  axis->setLabelFormat(step < 0.1 ? QStringLiteral("%.2f") : QStringLiteral("%.1f"));
  return axis;
}

}  // namespace

namespace {
QChart* LossGroupsChart(const std::vector<LossFitGroup>& groups, const std::string& title) {
  QChart* chart = NewChart(title);
  std::vector<double> xs, ys;
  for (const auto& g : groups) {
    for (const auto& p : g.runs) xs.push_back(p.x), ys.push_back(p.y);
    for (const auto& p : g.curve) xs.push_back(p.x), ys.push_back(p.y);
    for (const auto& p : g.band_lo) ys.push_back(p.y);
    for (const auto& p : g.band_hi) ys.push_back(p.y);
  }
  auto* x = LogAxis(QStringLiteral("training tokens D"), LogAxisRange(xs), QStringLiteral("%.0e"));
  double lo = INFINITY, hi = 0;
  for (double v : ys) {
    if (std::isfinite(v) && v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (!(hi > lo)) lo = 1, hi = 10;
  auto* y = LossAxis(QStringLiteral("loss (nats / token)"), lo / 1.03, hi * 1.03);
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    // Small models light, large dark: the order of sizes reads off the colours.
    const double t = groups.size() > 1 ? static_cast<double>(i) / (groups.size() - 1) : 0.5;
    const Rgb rgb = Viridis(0.9 - 0.85 * t);
    const QColor color(rgb.r, rgb.g, rgb.b);
    if (!g.band_lo.empty()) {
      // The bootstrap band under the curve, in the curve's colour, translucent.
      auto* upper = new QLineSeries();
      auto* lower = new QLineSeries();
      for (const auto& p : g.band_hi) upper->append(p.x, p.y);
      for (const auto& p : g.band_lo) lower->append(p.x, p.y);
      auto* band = new QAreaSeries(upper, lower);
      QColor fill = color;
      fill.setAlpha(60);
      band->setBrush(fill);
      band->setPen(Qt::NoPen);
      band->setName(Q("95% of bootstrap fits, N \u2248 " + FormatCount(g.params)));
      Attach(chart, band, x, y);
      HideLegend(chart, band);
      if (i == 0) {
        // one legend entry says what the bands are
        band->setName(QStringLiteral("shaded: 95% of the bootstrap fits"));
        for (QLegendMarker* m : chart->legend()->markers(band)) m->setVisible(true);
      }
    }
    auto* curve = new QLineSeries();
    curve->setName(Q("N \u2248 " + FormatCount(g.params)));
    curve->setPen(QPen(color, 2));
    for (const auto& p : g.curve) curve->append(p.x, p.y);
    Attach(chart, curve, x, y);
    if (!g.runs.empty()) {
      auto* pts = new QScatterSeries();
      pts->setMarkerSize(8);
      pts->setColor(color);
      pts->setBorderColor(color.darker(140));
      for (const auto& p : g.runs) pts->append(p.x, p.y);
      Attach(chart, pts, x, y);
      HideLegend(chart, pts);
    }
  }
  return chart;
}

std::string LawText(const LossLaw& law) {
  if (law.form == LossLaw::Form::kChinchilla) {
    return fmt::format("L = {:.3f} + {:.4g} / N^{:.3f} + {:.4g} / D^{:.3f}", law.E, law.A,
                       law.alpha, law.B, law.beta);
  }
  return fmt::format("L = [({:.3g}/N)^{:.3f} + {:.3g}/D]^{:.3f}", law.N_c,
                     law.alpha_N / law.alpha_D, law.D_c, law.alpha_D);
}
}  // namespace

QChart* MakeLossFitChart(const std::vector<LossRun>& runs, const LossLaw& law,
                         const std::string& title) {
  const auto groups = LossFitGroups(runs, law);
  return LossGroupsChart(groups, (title.empty() ? std::string("Loss-law fit") : title) + ": " +
                                     LawText(law) + fmt::format(" ({} runs)", runs.size()));
}

QChart* MakeLawCurvesChart(const LossLaw& law, const std::vector<double>& sizes,
                           const std::string& title) {
  const auto groups = LawCurves(law, sizes, 1e9, 1e13);
  return LossGroupsChart(groups,
                         (title.empty() ? std::string("Loss law") : title) + ": " + LawText(law));
}

QChart* MakeTimeFitChart(const std::vector<StepRun>& runs, const TimeFitSummary& fit) {
  QChart* chart =
      NewChart(fmt::format("Predicted vs measured step time ({} runs, {}, "
                           "cross-validated)",
                           runs.size(), fit.model.hardware.name));
  const auto scatters = PredictedVsMeasured(runs, fit);
  std::vector<double> all;
  for (const auto& s : scatters) {
    for (const auto& p : s.points) all.push_back(p.x * 1e3), all.push_back(p.y * 1e3);
  }
  const auto range = LogAxisRange(all);
  auto* x = LogAxis(QStringLiteral("measured step time (ms)"), range, QStringLiteral("%g"));
  auto* y = LogAxis(QStringLiteral("predicted step time (ms)"), range, QStringLiteral("%g"));
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  auto* diag = new QLineSeries();
  diag->setName(QStringLiteral("y = x"));
  diag->setPen(QPen(QColor(0x55, 0x55, 0x55), 1.2, Qt::DashLine));
  diag->append(range.first, range.first);
  diag->append(range.second, range.second);
  Attach(chart, diag, x, y);
  const QScatterSeries::MarkerShape shapes[] = {
      QScatterSeries::MarkerShapeCircle, QScatterSeries::MarkerShapeRectangle,
      QScatterSeries::MarkerShapeTriangle, QScatterSeries::MarkerShapeRotatedRectangle};
  for (std::size_t i = 0; i < scatters.size(); ++i) {
    const auto& s = scatters[i];
    auto* series = new QScatterSeries();
    series->setName(Q(fmt::format("{} (median error {:.1f} %)", s.name, s.cv_median * 100)));
    series->setMarkerShape(shapes[i % std::size(shapes)]);
    series->setMarkerSize(9);
    QColor c = PaletteColor(i);
    c.setAlpha(200);
    series->setColor(c);
    series->setBorderColor(c.darker(130));
    for (const auto& p : s.points) series->append(p.x * 1e3, p.y * 1e3);
    Attach(chart, series, x, y);
  }
  chart->legend()->setAlignment(Qt::AlignRight);  // whole labels: a row of five would elide
  chart->legend()->setMarkerShape(QLegend::MarkerShapeFromSeries);  // each estimator's marker
  return chart;
}

QChart* MakeBreakdownChart(const TimeModel& model, const ModelShape& shape, EstimatorKind estimator,
                           const ParallelLayout* layout) {
  const Breakdown b = StepBreakdown(model, shape, estimator, layout);
  QChart* chart = NewChart(fmt::format(
      "Step time by phase and op kind ({}): {:.2f} ms<br><span "
      "style='font-weight:normal'>{}: {:.2f} ms in the ops{}{}</span>",
      ToString(estimator), b.step_s * 1e3, Describe(shape), b.total_s * 1e3,
      b.fixed_s > 0 ? fmt::format(" + {:.2f} fixed", b.fixed_s * 1e3) : std::string(),
      b.exposed_comm_s > 0 ? fmt::format(" + {:.2f} exposed communication", b.exposed_comm_s * 1e3)
                           : std::string()));
  auto* series = new QStackedBarSeries();
  double max_phase = 0;
  std::array<double, kNumPhases> phase_total{};
  for (std::size_t k = 0; k < kNumOpKinds; ++k) {
    double sum = 0;
    for (std::size_t p = 0; p < kNumPhases; ++p) sum += b.seconds[k][p];
    if (!(sum > 0)) continue;
    auto* set = new QBarSet(Q(ToString(static_cast<OpKind>(k))));
    set->setColor(PaletteColor(k));
    set->setBorderColor(PaletteColor(k).darker(130));
    for (std::size_t p = 0; p < kNumPhases; ++p) {
      set->append(b.seconds[k][p] * 1e3);
      phase_total[p] += b.seconds[k][p] * 1e3;
    }
    series->append(set);
  }
  for (double t : phase_total) max_phase = std::max(max_phase, t);
  chart->addSeries(series);
  auto* x = new QBarCategoryAxis();
  QStringList cats;
  for (std::size_t p = 0; p < kNumPhases; ++p) {
    cats << Q(fmt::format("{} {:.1f} ms", ToString(static_cast<Phase>(p)), phase_total[p]));
  }
  x->append(cats);
  auto* y = new QValueAxis();
  y->setTitleText(QStringLiteral("milliseconds per step"));
  y->setRange(0, max_phase > 0 ? max_phase * 1.05 : 1);
  y->applyNiceNumbers();
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  series->attachAxis(x);
  series->attachAxis(y);
  chart->legend()->setAlignment(Qt::AlignRight);
  return chart;
}

QChart* MakeRooflineChart(const HardwareProfile& hw, const ModelShape* shape) {
  const double bw = hw.mem_bandwidth_bytes_per_s;
  QChart* chart = NewChart(fmt::format(
      "Roofline: {}, {}{}", hw.name,
      bw >= 1e12 ? fmt::format("{:.3g} TB/s", bw / 1e12) : fmt::format("{:.3g} GB/s", bw / 1e9),
      shape ? fmt::format("<br><span style='font-weight:normal'>ops of {}</span>", Describe(*shape))
            : std::string()));
  const auto ceilings = RooflineCeilings(hw);
  std::vector<RooflinePoint> points;
  if (shape) points = RooflinePoints(*shape, hw);
  std::vector<double> xs, ys;
  for (const auto& c : ceilings) {
    xs.push_back(c.flops_per_s / bw);
    ys.push_back(c.flops_per_s);
  }
  for (const auto& p : points) xs.push_back(p.intensity), ys.push_back(p.flops_per_s);
  auto xr = LogAxisRange(xs);
  xr.first = std::min(xr.first / 10, 0.1);
  for (const auto& c : ceilings) xr.second = std::max(xr.second, 10 * c.flops_per_s / bw);
  auto yr = LogAxisRange(ys);
  yr.second *= 3;  // the top ceiling below the frame, not on it
  yr.first = std::min(yr.first, xr.first * bw);
  if (yr.first < yr.second * 1e-7) yr.first = yr.second * 1e-7;
  auto* x = LogAxis(QStringLiteral("arithmetic intensity (FLOP / byte)"), xr, QStringLiteral("%g"));
  auto* y = LogAxis(QStringLiteral("FLOP/s"), yr, QStringLiteral("%.0e"));
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  for (std::size_t i = 0; i < ceilings.size(); ++i) {
    const auto& c = ceilings[i];
    auto* s = new QLineSeries();
    s->setName(Q(fmt::format("{}: {:.3g} TFLOP/s", c.label, c.flops_per_s / 1e12)));
    s->setPen(QPen(QColor(0x20, 0x20, 0x20).lighter(100 + 60 * static_cast<int>(i)), 2.2,
                   i == 0 ? Qt::SolidLine : Qt::DashLine));
    const double ridge = c.flops_per_s / bw;
    const double x0 = std::max(xr.first, yr.first / bw);
    s->append(x0, x0 * bw);
    s->append(ridge, c.flops_per_s);
    s->append(xr.second, c.flops_per_s);
    Attach(chart, s, x, y);
  }
  // Ops by kind.
  std::array<QScatterSeries*, kNumOpKinds> by_kind{};
  for (const auto& p : points) {
    const auto k = static_cast<std::size_t>(p.kind);
    if (!by_kind[k]) {
      by_kind[k] = new QScatterSeries();
      by_kind[k]->setName(Q(ToString(p.kind)));
      by_kind[k]->setMarkerSize(9);
      by_kind[k]->setColor(PaletteColor(k));
      by_kind[k]->setBorderColor(PaletteColor(k).darker(140));
    }
    by_kind[k]->append(p.intensity, p.flops_per_s);
  }
  for (auto* s : by_kind) {
    if (s) Attach(chart, s, x, y);
  }
  chart->legend()->setAlignment(Qt::AlignRight);
  return chart;
}

QChart* MakeAttentionChart(const std::vector<AttentionCurve>& curves, const std::string& title) {
  QChart* chart =
      NewChart(title.empty() ? std::string("Attention kernel time vs sequence length") : title);
  std::vector<double> xs, ys;
  for (const auto& c : curves) {
    xs.insert(xs.end(), c.seq_len.begin(), c.seq_len.end());
    for (double v : c.measured_s) ys.push_back(v * 1e3);
    for (double v : c.predicted_s) ys.push_back(v * 1e3);
  }
  auto xr = LogAxisRange(xs);
  auto* x = new QLogValueAxis();
  x->setTitleText(QStringLiteral("sequence length"));
  x->setBase(2);
  x->setLabelFormat(QStringLiteral("%.0f"));
  double xlo = INFINITY, xhi = 0;
  for (double v : xs) {
    if (v > 0) xlo = std::min(xlo, v), xhi = std::max(xhi, v);
  }
  if (xhi > 0) {
    x->setRange(std::pow(2.0, std::floor(std::log2(xlo))),
                std::pow(2.0, std::ceil(std::log2(xhi))));
  } else {
    x->setRange(xr.first, xr.second);
  }
  auto* y = LogAxis(QStringLiteral("time per call (ms)"), LogAxisRange(ys), QStringLiteral("%g"));
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  // One colour per kernel, lighter for each further curve of it (other feature counts or head
  // sizes), so that two dozen curves stay readable; the legend draws each series' own line,
  // solid for measured and dashed for predicted.
  std::vector<std::string> kernels;
  std::vector<int> shade(curves.size()), seen;
  std::vector<std::size_t> group(curves.size());
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const std::string kernel = curves[i].label.substr(0, curves[i].label.find(' '));
    group[i] = static_cast<std::size_t>(std::find(kernels.begin(), kernels.end(), kernel) -
                                        kernels.begin());
    if (group[i] == kernels.size()) kernels.push_back(kernel), seen.push_back(0);
    shade[i] = seen[group[i]]++;
  }
  chart->legend()->setMarkerShape(QLegend::MarkerShapeFromSeries);
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const auto& c = curves[i];
    const QColor color = PaletteColor(group[i]).lighter(100 + 25 * std::min(shade[i], 4));
    auto* m = new QLineSeries();
    m->setName(Q(c.label + " measured"));
    m->setPen(QPen(color, 2));
    m->setPointsVisible(true);
    m->setMarkerSize(6);
    for (std::size_t j = 0; j < c.seq_len.size(); ++j) {
      if (c.measured_s[j] > 0) m->append(c.seq_len[j], c.measured_s[j] * 1e3);
    }
    Attach(chart, m, x, y);
    if (!c.predicted_s.empty()) {
      auto* p = new QLineSeries();
      p->setName(Q(c.label + " predicted"));
      p->setPen(QPen(color, 1.6, Qt::DashLine));
      for (std::size_t j = 0; j < c.seq_len.size(); ++j) {
        if (std::isfinite(c.predicted_s[j]) && c.predicted_s[j] > 0) {
          p->append(c.seq_len[j], c.predicted_s[j] * 1e3);
        }
      }
      Attach(chart, p, x, y);
    }
  }
  chart->legend()->setAlignment(Qt::AlignRight);
  return chart;
}

}  // namespace chronoscale::plots
