// chronoscale-gui: the desktop app.
//   chronoscale-gui                     the main window
//   chronoscale-gui --screenshot F.png  render the main window with a real plan to F.png, exit
//   chronoscale-gui --session F.json    open a planning session
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QIcon>
#include <QImage>
#include <QTabWidget>
#include <QTimer>

#include <chronoscale/version.h>

#include "main_window.h"

namespace {

// Shows the window off screen, waits for the first plan, and saves a picture of it.
int Screenshot(const QString& path, const QString& session) {
  chronoscale::gui::MainWindow window(/*use_settings=*/false);
  if (!session.isEmpty()) window.openSession(session);
  window.resize(1600, 1000);
  window.show();
  QElapsedTimer timer;
  timer.start();
  while ((window.plan() == nullptr || window.busy()) && timer.elapsed() < 60000) {
    QApplication::processEvents(QEventLoop::AllEvents, 50);
  }
  QApplication::processEvents();
  if (window.plan() == nullptr) {
    qCritical("chronoscale-gui: no plan after 60 s; no screenshot written");
    return 1;
  }
  const QImage image = window.grab().toImage();
  if (image.isNull() || !image.save(path)) {
    qCritical("chronoscale-gui: cannot write %s", qPrintable(path));
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("chronoscale"));
  QApplication::setApplicationName(QStringLiteral("chronoscale-gui"));
  QApplication::setApplicationVersion(QLatin1String(chronoscale::Version()));
  QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/chronoscale.svg")));

  QCommandLineParser parser;
  parser.setApplicationDescription(
      QStringLiteral("Plan transformer training under a wall-clock budget"));
  parser.addHelpOption();
  parser.addVersionOption();
  const QCommandLineOption screenshot(
      QStringLiteral("screenshot"),
      QStringLiteral("Render the main window with a plan to FILE (PNG) and exit."),
      QStringLiteral("FILE"));
  const QCommandLineOption session(QStringLiteral("session"),
                                   QStringLiteral("Open a planning session file."),
                                   QStringLiteral("FILE"));
  parser.addOption(screenshot);
  parser.addOption(session);
  parser.process(app);

  if (parser.isSet(screenshot)) return Screenshot(parser.value(screenshot), parser.value(session));
  chronoscale::gui::MainWindow window;
  if (parser.isSet(session)) window.openSession(parser.value(session));
  window.show();
  return QApplication::exec();
}
