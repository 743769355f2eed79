// The loss heatmap over width x depth: the surface image (QtCharts has no heatmap series) on
// axes that follow the shapes with a loss, iso-parameter curves, the marked shapes and a legend
// entry per reason a cell has no loss.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <QGraphicsItem>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPainter>
#include <QPen>
#include <QScatterSeries>
#include <QValueAxis>

#include <chronoscale/plots/plots.h>

#include "chart_internal.h"

namespace chronoscale::plots {
namespace {
using internal::Attach;
using internal::HideLegend;
using internal::NewChart;
using internal::Q;

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

// The chart's title: budget, hardware and law, then a subtitle with the best and FLOP-optimal
// shapes (or that no shape fits).
std::string HeatmapTitle(const PlanResult& plan) {
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
  return title;
}

// A log axis in powers of two (widths and depths are); a linear one with round ticks.
QAbstractAxis* SurfaceAxis(bool log, double lo, double hi, const char* title) {
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
}

// Iso-parameter curves, one legend entry for all of them; their labels go to `labels`. Returns
// the last curve added (null when none).
QAbstractSeries* AddIsoParamCurves(QChart* chart, const PlanResult& plan, QAbstractAxis* x,
                                   QAbstractAxis* y, std::vector<HeatmapItem::Label>* labels) {
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
    labels->push_back({QPointF(pts.back().x, pts.back().y), Q(FormatCount(level))});
  }
  return ref;
}

// A marked shape: one large point with a black border, named in the legend.
QAbstractSeries* AddMarker(QChart* chart, const Candidate& c, const std::string& name,
                           QScatterSeries::MarkerShape shape, QColor fill, QAbstractAxis* x,
                           QAbstractAxis* y) {
  auto* s = new QScatterSeries();
  s->setName(Q(name));
  s->setMarkerShape(shape);
  s->setMarkerSize(16);
  s->setColor(fill);
  s->setBorderColor(Qt::black);
  s->append(static_cast<double>(c.shape.d_model), static_cast<double>(c.shape.n_layers));
  Attach(chart, s, x, y);
  return s;
}

// The time-optimal, FLOP-optimal and selected shapes' markers; `ref` becomes the last one added.
void AddShapeMarkers(QChart* chart, const PlanResult& plan, const Candidate* selected,
                     QAbstractAxis* x, QAbstractAxis* y, QAbstractSeries** ref) {
  if (plan.found) {
    *ref = AddMarker(chart, plan.best, "time-optimal", QScatterSeries::MarkerShapeStar,
                     QColor(0xd6, 0x27, 0x28), x, y);
  }
  if (plan.flop_based.shape.d_model > 0) {
    *ref = AddMarker(
        chart, plan.flop_based,
        std::isfinite(plan.flop_based.loss) ? "FLOP-optimal" : "FLOP-optimal (does not fit)",
        QScatterSeries::MarkerShapeTriangle, QColor(0xff, 0xff, 0xff), x, y);
  }
  if (selected != nullptr && !(plan.found && selected->shape.d_model == plan.best.shape.d_model &&
                               selected->shape.n_layers == plan.best.shape.n_layers)) {
    *ref = AddMarker(chart, *selected, "selected", QScatterSeries::MarkerShapeCircle,
                     QColor(0, 0, 0, 0), x, y);
  }
}

// One legend entry per reason a cell has no loss, for the reasons this surface has.
void AddExclusionSwatches(QChart* chart, const PlanResult& plan, QAbstractAxis* x,
                          QAbstractAxis* y) {
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
}

// The surface's pixels in `view`: a linear axis gets a pixel per cell (exact); a log one enough
// pixels that no cell is lost.
SurfaceImage HeatmapPixels(const PlanResult& plan, const SurfaceView& view,
                           const ColorScale* scale) {
  const auto& w = plan.widths;
  const auto& d = plan.depths;
  const double wstep = w.size() > 1 ? static_cast<double>(w[1] - w[0]) : 64.0;
  const double dstep = d.size() > 1 ? static_cast<double>(d[1] - d[0]) : 1.0;
  const int columns =
      view.log_x ? 1024 : static_cast<int>(std::lround((view.x_max - view.x_min) / wstep));
  const int rows =
      view.log_y ? 512 : static_cast<int>(std::lround((view.y_max - view.y_min) / dstep));
  return SurfacePixels(plan, view, columns, rows, 0.9, scale);
}

// `px` as a QImage (ARGB32, row by row).
QImage ToImage(const SurfaceImage& px) {
  QImage image(px.columns, px.rows, QImage::Format_ARGB32);
  for (int r = 0; r < px.rows; ++r) {
    std::copy_n(px.argb.data() + static_cast<std::size_t>(r) * px.columns, px.columns,
                reinterpret_cast<uint32_t*>(image.scanLine(r)));
  }
  return image;
}

}  // namespace

QChart* MakeLossHeatmapChart(const PlanResult& plan, const Candidate* selected,
                             const ColorScale* scale) {
  QChart* chart = NewChart(HeatmapTitle(plan));
  chart->setMargins(QMargins(10, 10, 90, 10));
  const SurfaceView view = SurfaceViewOf(plan, selected);
  QAbstractAxis* x = SurfaceAxis(view.log_x, view.x_min, view.x_max,
                                 view.log_x ? "width (d_model, log scale)" : "width (d_model)");
  QAbstractAxis* y = SurfaceAxis(view.log_y, view.y_min, view.y_max,
                                 view.log_y ? "depth (layers, log scale)" : "depth (layers)");
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  if (plan.widths.empty() || plan.depths.empty()) return chart;

  std::vector<HeatmapItem::Label> labels;
  QAbstractSeries* ref = AddIsoParamCurves(chart, plan, x, y, &labels);
  AddShapeMarkers(chart, plan, selected, x, y, &ref);
  AddExclusionSwatches(chart, plan, x, y);
  if (ref == nullptr) {  // mapToPosition needs a series on the axes
    auto* s = new QScatterSeries();
    Attach(chart, s, x, y);
    HideLegend(chart, s);
    ref = s;
  }
  const SurfaceImage px = HeatmapPixels(plan, view, scale);
  new HeatmapItem(chart, ref, ToImage(px), px.scale, std::move(labels));
  return chart;
}

}  // namespace chronoscale::plots
