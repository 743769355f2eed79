// Rendering helpers shared by SaveChart and ChartPanel.
#pragma once

#include <memory>
#include <string>

#include <QChartView>
#include <QImage>
#include <QWidget>

namespace chronoscale::plots::internal {

enum class ImageFormat { kPng, kSvg };
// By the path's extension; InputError for anything but .png / .svg.
ImageFormat FormatOf(const std::string& path);
// The top-left width x height of `view` at 2x device pixel ratio.
QImage GrabImage(QWidget* view, int width, int height);
// PNG or SVG of `view` written atomically to `path`; RuntimeError on failure.
void WriteView(QWidget* view, const std::string& path, int width, int height);
// A chart view (owning `chart`) shown off screen and laid out at width x height.
std::unique_ptr<QChartView> LaidOutView(QChart* chart, int width, int height);

}  // namespace chronoscale::plots::internal
