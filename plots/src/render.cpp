// Headless rendering: a chart view drawn into a QImage (PNG) or a QSvgGenerator (SVG), the bytes
// written atomically with chronoscale::WriteFileAtomic.
#include <algorithm>
#include <cctype>

#include <QApplication>
#include <QBuffer>
#include <QChart>
#include <QChartView>
#include <QImage>
#include <QPainter>
#include <QSvgGenerator>

#include <chronoscale/error.h>
#include <chronoscale/io.h>
#include <chronoscale/plots/plots.h>

#include "render_internal.h"

namespace chronoscale::plots {

void EnsureApplication() {
  QCoreApplication* app = QCoreApplication::instance();
  if (app == nullptr) {
    // A CLI writing a file never needs a display.
    qputenv("QT_QPA_PLATFORM", "offscreen");
    // The offscreen platform's chatter ("This plugin does not support propagateSizeHints()",
    // the XDG_RUNTIME_DIR default) is noise on a CLI's stderr; anything else still shows.
    static QtMessageHandler previous = qInstallMessageHandler(
        [](QtMsgType type, const QMessageLogContext& context, const QString& message) {
          if (type != QtFatalMsg && type != QtCriticalMsg &&
              (message.contains(QLatin1String("propagateSizeHints")) ||
               message.contains(QLatin1String("XDG_RUNTIME_DIR")))) {
            return;
          }
          if (previous) previous(type, context, message);
        });
    static int argc = 1;
    static char name[] = "chronoscale";
    static char* argv[] = {name, nullptr};
    new QApplication(argc, argv);  // lives until the process exits
    return;
  }
  if (qobject_cast<QApplication*>(app) == nullptr) {
    throw RuntimeError("plots need a QApplication; this process runs a non-widget application");
  }
}

namespace internal {

ImageFormat FormatOf(const std::string& path) {
  std::string ext = path.size() >= 4 ? path.substr(path.size() - 4) : std::string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".png") return ImageFormat::kPng;
  if (ext == ".svg") return ImageFormat::kSvg;
  throw InputError(path + ": a plot file must end in .png or .svg");
}

QImage GrabImage(QWidget* view, int width, int height) {
  // 2x for crisp text in documents and high-DPI screens.
  constexpr double kScale = 2.0;
  QImage image(static_cast<int>(width * kScale), static_cast<int>(height * kScale),
               QImage::Format_ARGB32_Premultiplied);
  image.setDevicePixelRatio(kScale);
  image.fill(Qt::white);
  QPainter painter(&image);
  painter.setRenderHint(QPainter::Antialiasing);
  painter.setRenderHint(QPainter::TextAntialiasing);
  view->render(&painter, QPoint(), QRegion(0, 0, width, height));
  painter.end();
  return image;
}

void WriteView(QWidget* view, const std::string& path, int width, int height) {
  const ImageFormat format = FormatOf(path);
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  if (format == ImageFormat::kPng) {
    const QImage image = GrabImage(view, width, height);
    if (!image.save(&buffer, "PNG")) throw RuntimeError("cannot encode " + path + " as PNG");
  } else {
    QSvgGenerator svg;
    svg.setOutputDevice(&buffer);
    svg.setSize(QSize(width, height));
    svg.setViewBox(QRect(0, 0, width, height));
    svg.setTitle(QStringLiteral("chronoscale"));
    svg.setResolution(96);
    QPainter painter(&svg);
    painter.setRenderHint(QPainter::Antialiasing);
    view->render(&painter, QPoint(), QRegion(0, 0, width, height));
    painter.end();
  }
  buffer.close();
  WriteFileAtomic(path,
                  std::string_view(bytes.constData(), static_cast<std::size_t>(bytes.size())));
}

// A view laid out at width x height without appearing on a screen.
std::unique_ptr<QChartView> LaidOutView(QChart* chart, int width, int height) {
  auto view = std::make_unique<QChartView>(chart);
  view->setAttribute(Qt::WA_DontShowOnScreen);
  view->setRenderHint(QPainter::Antialiasing);
  view->setFrameShape(QFrame::NoFrame);
  view->resize(width, height);
  view->show();
  QCoreApplication::sendPostedEvents();
  QCoreApplication::processEvents();
  return view;
}

}  // namespace internal

void SaveChart(QChart* chart, const std::string& path, int width, int height) {
  EnsureApplication();
  internal::FormatOf(path);  // before any work
  auto view = internal::LaidOutView(chart, width, height);
  internal::WriteView(view.get(), path, width, height);
}

QImage ChartToImage(QChart* chart, int width, int height) {
  EnsureApplication();
  auto view = internal::LaidOutView(chart, width, height);
  return internal::GrabImage(view.get(), width, height);
}

void RenderLossHeatmap(const PlanResult& plan, const std::string& path) {
  EnsureApplication();
  SaveChart(MakeLossHeatmapChart(plan), path);
}

void RenderLossFit(const std::vector<LossRun>& runs, const LossLaw& law, const std::string& path) {
  EnsureApplication();
  SaveChart(MakeLossFitChart(runs, law), path);
}

void RenderTimeFit(const std::vector<StepRun>& runs, const TimeFitSummary& fit,
                   const std::string& path) {
  EnsureApplication();
  SaveChart(MakeTimeFitChart(runs, fit), path);
}

void RenderBreakdown(const TimeModel& model, const ModelShape& shape, EstimatorKind estimator,
                     const std::string& path, const ParallelLayout* layout) {
  EnsureApplication();
  SaveChart(MakeBreakdownChart(model, shape, estimator, layout), path);
}

void RenderRoofline(const HardwareProfile& hw, const ModelShape* shape, const std::string& path) {
  EnsureApplication();
  SaveChart(MakeRooflineChart(hw, shape), path);
}

void RenderAttention(const std::vector<AttentionCurve>& curves, const std::string& path,
                     const std::string& title) {
  EnsureApplication();
  SaveChart(MakeAttentionChart(curves, title), path);
}

}  // namespace chronoscale::plots
