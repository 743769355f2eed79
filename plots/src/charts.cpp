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

namespace chronoscale::plots {
namespace {

// Tableau 10: distinct on white and for common colour-vision deficiencies.
const QColor kPalette[] = {QColor(0x1f77b4), QColor(0xff7f0e), QColor(0x2ca02c), QColor(0xd62728),
                           QColor(0x9467bd), QColor(0x8c564b), QColor(0xe377c2), QColor(0x7f7f7f),
                           QColor(0xbcbd22), QColor(0x17becf)};
QColor PaletteColor(std::size_t i) { return kPalette[i % std::size(kPalette)]; }

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

// The surface image, colour bar and iso-curve labels, painted under the series in the plot area
// (QtCharts 6.4 has no heatmap series). Plot-area z is 0 and shades 1 in QtCharts' presenter.
class HeatmapItem : public QGraphicsItem {
 public:
  struct Label {
    QPointF value;
    QString text;
  };
  HeatmapItem(QChart* chart, QAbstractSeries* ref, QImage image, ColorScale scale,
              std::vector<Label> labels)
      : QGraphicsItem(chart),
        chart_(chart),
        ref_(ref),
        image_(std::move(image)),
        scale_(scale),
        labels_(std::move(labels)) {
    setZValue(0.5);
    bar_ = QImage(1, 256, QImage::Format_ARGB32);
    for (int i = 0; i < 256; ++i) {
      const double loss = scale_.hi - (scale_.hi - scale_.lo) * i / 255.0;  // top: worst
      bar_.setPixel(0, i, LossColor(loss, scale_));
    }
    QObject::connect(chart, &QChart::plotAreaChanged, chart, [this](const QRectF&) {
      prepareGeometryChange();
      update();
    });
  }
  QRectF boundingRect() const override { return QRectF(QPointF(0, 0), chart_->size()); }
  void paint(QPainter* p, const QStyleOptionGraphicsItem*, QWidget*) override {
    const QRectF area = chart_->plotArea();
    if (area.isEmpty()) return;
    p->save();
    p->setRenderHint(QPainter::SmoothPixmapTransform, false);
    p->drawImage(area, image_);
    // Colour bar in the right margin.
    const QRectF bar(area.right() + 16, area.top(), 14, area.height());
    p->drawImage(bar, bar_);
    p->setPen(QPen(Qt::black, 0.8));
    p->setBrush(Qt::NoBrush);
    p->drawRect(bar);
    QFont f = chart_->font();
    f.setPointSizeF(f.pointSizeF() * 0.9);
    p->setFont(f);
    const QFontMetricsF fm(f);
    for (int i = 0; i <= 4; ++i) {
      const double v = scale_.lo + (scale_.hi - scale_.lo) * i / 4.0;
      const double y = bar.bottom() - bar.height() * i / 4.0;
      p->drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 4, y));
      const QString text =
          (i == 4 ? QStringLiteral("\u2265") : QString()) + QString::number(v, 'f', 3);
      p->drawText(QPointF(bar.right() + 6, y + fm.ascent() / 2 - 1), text);
    }
    p->drawText(QPointF(bar.left() - 2, bar.top() - 6), QStringLiteral("loss"));
    // Iso-parameter labels at the deep end of each curve.
    p->setClipRect(area);
    for (const auto& l : labels_) {
      const QPointF at = chart_->mapToPosition(l.value, ref_);
      const QRectF box = fm.boundingRect(l.text).translated(at + QPointF(4, fm.ascent() + 2));
      p->fillRect(box.adjusted(-2, -1, 2, 1), QColor(255, 255, 255, 190));
      p->setPen(QColor(0x30, 0x30, 0x30));
      p->drawText(box.bottomLeft() - QPointF(0, fm.descent()), l.text);
    }
    p->restore();
  }

 private:
  QChart* chart_;
  QAbstractSeries* ref_;
  QImage image_, bar_;
  ColorScale scale_;
  std::vector<Label> labels_;
};

// 1, 2 or 5 x 10^k, the smallest not below `raw`.
double NiceStep(double raw) {
  if (!(raw > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

// A legend entry without points (a colour key for the image's cells).
void LegendSwatch(QChart* chart, const QString& name, QRgb color, QAbstractAxis* x,
                  QAbstractAxis* y) {
  auto* s = new QScatterSeries();
  s->setName(name);
  s->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
  s->setColor(QColor::fromRgb(color));
  s->setBorderColor(QColor(0x90, 0x90, 0x90));
  Attach(chart, s, x, y);
}

// "d2048 x 8, 539M": short enough for two shapes on a subtitle line at 1280 x 720.
std::string ShortShape(const Candidate& c) {
  return fmt::format("d{} x {}, {}", c.shape.d_model, c.shape.n_layers,
                     FormatCount(c.total_params));
}

}  // namespace

QChart* MakeLossHeatmapChart(const PlanResult& plan, const Candidate* selected,
                             const ColorScale* scale) {
  std::string title =
      fmt::format("Predicted loss: {:g} h on {} x {}, law {}", plan.options.hours,
                  plan.options.devices, plan.hardware, plan.law.empty() ? "custom" : plan.law);
  if (plan.found) {
    title += fmt::format("<br><span style='font-weight:normal'>best {}, loss {:.3f}",
                         ShortShape(plan.best), plan.best.loss);
    if (plan.flop_based.shape.d_model > 0 && std::isfinite(plan.flop_based.loss)) {
      title += fmt::format("; FLOP-optimal {}, loss {:.3f} ({:+.3f})", ShortShape(plan.flop_based),
                           plan.flop_based.loss, plan.flop_based.loss - plan.best.loss);
    }
    title += "</span>";
  } else {
    title += "<br><span style='font-weight:normal'>no shape fits</span>";
  }
  QChart* chart = NewChart(title);
  chart->setMargins(QMargins(10, 10, 90, 10));
  const auto& w = plan.widths;
  const auto& d = plan.depths;
  const SurfaceView view = SurfaceViewOf(plan, selected);
  // A log axis in powers of two (widths and depths are); a linear one with round ticks.
  auto axis = [](bool log, double lo, double hi, const char* title) -> QAbstractAxis* {
    QAbstractAxis* a = nullptr;
    if (log) {
      auto* l = new QLogValueAxis();
      l->setBase(2);
      l->setLabelFormat(QStringLiteral("%.0f"));
      l->setMinorTickCount(-1);
      l->setRange(lo, hi);
      a = l;
    } else {
      auto* v = new QValueAxis();
      v->setLabelFormat(QStringLiteral("%.0f"));
      v->setRange(lo, hi);
      v->setTickType(QValueAxis::TicksDynamic);
      v->setTickAnchor(0);
      v->setTickInterval(NiceStep((hi - lo) / 8));
      a = v;
    }
    a->setTitleText(QLatin1String(title));
    a->setGridLineVisible(false);
    a->setMinorGridLineVisible(false);
    return a;
  };
  QAbstractAxis* x = axis(view.log_x, view.x_min, view.x_max,
                          view.log_x ? "width (d_model, log scale)" : "width (d_model)");
  QAbstractAxis* y = axis(view.log_y, view.y_min, view.y_max,
                          view.log_y ? "depth (layers, log scale)" : "depth (layers)");
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  if (w.empty() || d.empty()) return chart;

  // Iso-parameter curves.
  std::vector<HeatmapItem::Label> labels;
  bool first = true;
  QAbstractSeries* ref = nullptr;
  for (double level : IsoParamLevels(plan)) {
    const auto pts = IsoParamCurve(plan, level);
    if (pts.size() < 2) continue;
    auto* s = new QLineSeries();
    s->setName(QStringLiteral("iso-params"));
    QPen pen(QColor(255, 255, 255, 220), 1.4, Qt::DashLine);
    s->setPen(pen);
    for (const auto& p : pts) s->append(p.x, p.y);
    Attach(chart, s, x, y);
    if (first) {
      for (QLegendMarker* m : chart->legend()->markers(s)) m->setBrush(QColor(0x90, 0x90, 0x90));
    } else {
      HideLegend(chart, s);
    }
    first = false;
    ref = s;
    labels.push_back({QPointF(pts.back().x, pts.back().y), Q(FormatCount(level))});
  }
  auto marker = [&](const Candidate& c, const std::string& name, QScatterSeries::MarkerShape shape,
                    QColor fill) {
    auto* s = new QScatterSeries();
    s->setName(Q(name));
    s->setMarkerShape(shape);
    s->setMarkerSize(16);
    s->setColor(fill);
    s->setBorderColor(Qt::black);
    s->append(static_cast<double>(c.shape.d_model), static_cast<double>(c.shape.n_layers));
    Attach(chart, s, x, y);
    ref = s;
  };
  if (plan.found) {
    marker(plan.best, "time-optimal", QScatterSeries::MarkerShapeStar, QColor(0xd6, 0x27, 0x28));
  }
  if (plan.flop_based.shape.d_model > 0) {
    marker(plan.flop_based,
           std::isfinite(plan.flop_based.loss) ? "FLOP-optimal" : "FLOP-optimal (does not fit)",
           QScatterSeries::MarkerShapeTriangle, QColor(0xff, 0xff, 0xff));
  }
  if (selected != nullptr && !(plan.found && selected->shape.d_model == plan.best.shape.d_model &&
                               selected->shape.n_layers == plan.best.shape.n_layers)) {
    marker(*selected, "selected", QScatterSeries::MarkerShapeCircle, QColor(0, 0, 0, 0));
  }
  // One legend entry per reason a cell has no loss, for the reasons this surface has.
  const SurfaceExclusions why = CountExclusions(plan);
  if (why.out_of_memory > 0) LegendSwatch(chart, QStringLiteral("out of memory"), kNoFitArgb, x, y);
  if (why.under_one_step > 0) {
    LegendSwatch(chart, QStringLiteral("under one step"), kUnderOneStepArgb, x, y);
  }
  if (why.aspect + why.unbuildable > 0) {
    LegendSwatch(chart,
                 why.unbuildable == 0
                     ? Q(fmt::format("aspect outside [{:g}, {:g}]", plan.options.min_aspect,
                                     plan.options.max_aspect))
                     : QStringLiteral("left out (aspect, heads)"),
                 kLeftOutArgb, x, y);
  }
  if (ref == nullptr) {  // mapToPosition needs a series on the axes
    auto* s = new QScatterSeries();
    Attach(chart, s, x, y);
    HideLegend(chart, s);
    ref = s;
  }
  // A linear axis gets a pixel per cell (exact); a log one enough pixels that no cell is lost.
  const double wstep = w.size() > 1 ? static_cast<double>(w[1] - w[0]) : 64.0;
  const double dstep = d.size() > 1 ? static_cast<double>(d[1] - d[0]) : 1.0;
  const int columns =
      view.log_x ? 1024 : static_cast<int>(std::lround((view.x_max - view.x_min) / wstep));
  const int rows =
      view.log_y ? 512 : static_cast<int>(std::lround((view.y_max - view.y_min) / dstep));
  const SurfaceImage px = SurfacePixels(plan, view, columns, rows, 0.9, scale);
  QImage image(px.columns, px.rows, QImage::Format_ARGB32);
  for (int r = 0; r < px.rows; ++r) {
    std::copy_n(px.argb.data() + static_cast<std::size_t>(r) * px.columns, px.columns,
                reinterpret_cast<uint32_t*>(image.scanLine(r)));
  }
  new HeatmapItem(chart, ref, std::move(image), px.scale, std::move(labels));
  return chart;
}

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
