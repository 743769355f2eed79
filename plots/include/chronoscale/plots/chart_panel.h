// ChartPanel: a widget that shows one chart of plots.h, or a line of text when there is none
// (an empty state), and exports what it shows. The GUI holds charts only through this widget,
// so the Qt Charts headers stay inside plots/.
#pragma once

#include <functional>
#include <string>

#include <QString>
#include <QWidget>

QT_BEGIN_NAMESPACE
class QChart;
class QChartView;
class QLabel;
class QStackedLayout;
QT_END_NAMESPACE

namespace chronoscale::plots {

class ChartPanel : public QWidget {
 public:
  explicit ChartPanel(QWidget* parent = nullptr);

  // Shows `chart` (the panel takes it; the previous chart is deleted).
  void setChart(QChart* chart);
  // Drops the chart and shows `text` instead.
  void showEmpty(const QString& text);

  bool hasChart() const;
  QString chartTitle() const;  // empty when there is no chart
  int seriesCount() const;     // 0 when there is no chart
  QString emptyText() const;
  // Incremented by every setChart (tests check that a chart followed an input).
  int revision() const { return m_revision; }

  // Writes the chart (PNG or SVG by extension) at the panel's size, or the default export size
  // when the panel is smaller than that or not shown. InputError for another extension or when
  // there is no chart, RuntimeError when the file cannot be written.
  void exportTo(const std::string& path) const;

  // Pointer handlers in the chart's value coordinates (those of its first series' axes): hover
  // while the pointer moves over the plot area, leave when it leaves it, click on a left click
  // there. Unset handlers are not called.
  struct PointerHandlers {
    std::function<void(double x, double y)> hover;
    std::function<void()> leave;
    std::function<void(double x, double y)> click;
  };
  void setPointerHandlers(PointerHandlers handlers);
  // What a pointer at (x, y) in value coordinates does, as if it were there (tests, scripting).
  void hoverAt(double x, double y) const;
  void clickAt(double x, double y) const;

 private:
  QStackedLayout* m_stack = nullptr;
  QLabel* m_empty = nullptr;
  QChartView* m_view = nullptr;
  bool m_hasChart = false;
  PointerHandlers m_handlers;
  int m_revision = 0;
};

}  // namespace chronoscale::plots
