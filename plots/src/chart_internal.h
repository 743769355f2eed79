// Helpers the chart sources share (charts.cpp, charts_heatmap.cpp).
#pragma once

#include <string>

#include <QChart>
#include <QString>

namespace chronoscale::plots::internal {

QString Q(const std::string& s);
// A chart with the house title font, legend at the bottom and no animation.
QChart* NewChart(const std::string& title);
// Adds `s` to `chart` on the axes x and y.
void Attach(QChart* chart, QAbstractSeries* s, QAbstractAxis* x, QAbstractAxis* y);
// Hides `s`'s legend entries.
void HideLegend(QChart* chart, QAbstractSeries* s);

}  // namespace chronoscale::plots::internal
