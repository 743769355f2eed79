#include "chronoscale/plots/chart_panel.h"

#include <optional>

#include <QChart>
#include <QChartView>
#include <QCoreApplication>
#include <QLabel>
#include <QMouseEvent>
#include <QStackedLayout>

#include <chronoscale/error.h>
#include <chronoscale/plots/plots.h>

#include "render_internal.h"

namespace chronoscale::plots {
namespace {

// A chart view that reports the pointer in value coordinates to the panel's handlers (callbacks
// rather than signals: plots/ builds without moc).
class PointerView : public QChartView {
 public:
  PointerView(QWidget* parent, const ChartPanel::PointerHandlers* handlers)
      : QChartView(parent), handlers_(handlers) {
    setMouseTracking(true);
  }

 protected:
  void mouseMoveEvent(QMouseEvent* event) override {
    QChartView::mouseMoveEvent(event);
    if (const auto v = ValueAt(event->position())) {
      inside_ = true;
      if (handlers_->hover) handlers_->hover(v->x(), v->y());
    } else {
      Left();
    }
  }
  void leaveEvent(QEvent* event) override {
    QChartView::leaveEvent(event);
    Left();
  }
  void mousePressEvent(QMouseEvent* event) override {
    QChartView::mousePressEvent(event);
    if (event->button() != Qt::LeftButton || !handlers_->click) return;
    if (const auto v = ValueAt(event->position())) handlers_->click(v->x(), v->y());
  }

 private:
  // The value under a widget position, when it lies in the plot area of a chart with series.
  std::optional<QPointF> ValueAt(const QPointF& pos) const {
    QChart* c = chart();
    if (c == nullptr || c->series().isEmpty()) return std::nullopt;
    const QPointF at = c->mapFromScene(mapToScene(pos.toPoint()));
    if (!c->plotArea().contains(at)) return std::nullopt;
    return c->mapToValue(at, c->series().front());
  }
  void Left() {
    if (inside_ && handlers_->leave) handlers_->leave();
    inside_ = false;
  }

  const ChartPanel::PointerHandlers* handlers_;
  bool inside_ = false;
};

}  // namespace

ChartPanel::ChartPanel(QWidget* parent) : QWidget(parent) {
  m_stack = new QStackedLayout(this);
  m_empty = new QLabel(this);
  m_empty->setAlignment(Qt::AlignCenter);
  m_empty->setWordWrap(true);
  m_empty->setStyleSheet(QStringLiteral("color: #666; font-size: 14px; padding: 24px;"));
  m_view = new PointerView(this, &m_handlers);
  m_view->setRenderHint(QPainter::Antialiasing);
  m_view->setFrameShape(QFrame::NoFrame);
  m_stack->addWidget(m_empty);
  m_stack->addWidget(m_view);
  showEmpty(QStringLiteral("Nothing to show yet."));
}

void ChartPanel::setChart(QChart* chart) {
  QChart* old = m_view->chart();
  m_view->setChart(chart);  // releases, but does not delete, the previous chart
  delete old;
  m_hasChart = chart != nullptr;
  ++m_revision;
  m_stack->setCurrentWidget(m_hasChart ? static_cast<QWidget*>(m_view) : m_empty);
}

void ChartPanel::showEmpty(const QString& text) {
  QChart* old = m_view->chart();
  m_view->setChart(new QChart());
  delete old;
  m_hasChart = false;
  m_empty->setText(text);
  m_stack->setCurrentWidget(m_empty);
}

bool ChartPanel::hasChart() const { return m_hasChart; }

QString ChartPanel::chartTitle() const { return m_hasChart ? m_view->chart()->title() : QString(); }

int ChartPanel::seriesCount() const {
  return m_hasChart ? static_cast<int>(m_view->chart()->series().size()) : 0;
}

QString ChartPanel::emptyText() const { return m_hasChart ? QString() : m_empty->text(); }

void ChartPanel::exportTo(const std::string& path) const {
  internal::FormatOf(path);
  if (!m_hasChart)
    throw InputError("there is no chart to export: " + m_empty->text().toStdString());
  QSize size = m_view->size();
  if (!m_view->isVisible() || size.width() < 400 || size.height() < 300) {
    size = QSize(kDefaultWidth, kDefaultHeight);
    // Lay out the view at the export size, draw it, and restore the on-screen size.
    const QSize before = m_view->size();
    m_view->resize(size);
    QCoreApplication::sendPostedEvents();
    QCoreApplication::processEvents();
    internal::WriteView(m_view, path, size.width(), size.height());
    m_view->resize(before);
    return;
  }
  internal::WriteView(m_view, path, size.width(), size.height());
}

}  // namespace chronoscale::plots

namespace chronoscale::plots {

void ChartPanel::setPointerHandlers(PointerHandlers handlers) { m_handlers = std::move(handlers); }

void ChartPanel::hoverAt(double x, double y) const {
  if (m_hasChart && m_handlers.hover) m_handlers.hover(x, y);
}

void ChartPanel::clickAt(double x, double y) const {
  if (m_hasChart && m_handlers.click) m_handlers.click(x, y);
}

}  // namespace chronoscale::plots
