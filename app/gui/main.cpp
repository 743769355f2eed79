// chronoscale-gui: the desktop app.
//   chronoscale-gui                     the main window
//   chronoscale-gui --screenshot F.png  render the main window with a real plan to F.png, exit
//   chronoscale-gui --session F.json    open a planning session
//   chronoscale-gui --export-plan P.json [--screenshot F.png] [--session F.json]
//                                       write the window's plan (as File > Export plan) and exit
#include <cstdio>
#include <string_view>
#include <vector>

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QIcon>
#include <QImage>
#include <QRegularExpression>
#include <QTabWidget>
#include <QTimer>

#include <chronoscale/io.h>
#include <chronoscale/version.h>

#include "main_window.h"
#include "session.h"

namespace {

// Shows the window off screen, waits for the first plan, and saves a picture of it (`path`) and
// the window's plan as File > Export plan writes it (`plan_path`); either may be empty.
int Headless(const QString& path, const QString& session, const QString& plan_path) {
  chronoscale::gui::MainWindow window(/*use_settings=*/false);
  if (!session.isEmpty()) {
    try {
      chronoscale::gui::LoadSession(session.toStdString());  // the message, on the terminal
    } catch (const std::exception& e) {
      qCritical("chronoscale-gui: %s; nothing written", e.what());
      return 2;
    }
    if (!window.openSession(session)) return 2;
  }
  window.resize(1600, 1000);
  window.show();
  QElapsedTimer timer;
  timer.start();
  // Until the plan arrives, or the inputs turn out not to be plannable.
  while ((window.busy() || (window.plan() == nullptr && !window.planIsStale())) &&
         timer.elapsed() < 60000) {
    QApplication::processEvents(QEventLoop::AllEvents, 50);
  }
  QApplication::processEvents();
  if (window.planIsStale()) {
    qCritical("chronoscale-gui: %s; nothing written",
              qPrintable(QString(window.staleBannerText()).remove(QRegularExpression("<[^>]*>"))));
    return 2;
  }
  if (window.plan() == nullptr) {
    qCritical("chronoscale-gui: no plan after 60 s; nothing written");
    return 1;
  }
  if (!path.isEmpty()) {
    const QImage image = window.grab().toImage();
    if (image.isNull() || !image.save(path)) {
      qCritical("chronoscale-gui: cannot write %s", qPrintable(path));
      return 1;
    }
  }
  if (!plan_path.isEmpty()) {
    try {
      chronoscale::WriteFileAtomic(
          plan_path.toStdString(),
          chronoscale::gui::PlanJson(*window.plan(), window.inputs()).dump(2) + "\n");
    } catch (const std::exception& e) {
      qCritical("chronoscale-gui: %s", e.what());
      return 1;
    }
  }
  return 0;
}

// The command line with our --session and its value taken out.
struct Arguments {
  QString session_path;
  bool has_session = false;
  std::vector<char*> args;
};

// Qt takes -session and --session for X11 session management before any parser sees them:
// take ours out of the arguments first.
Arguments TakeSessionArgument(int argc, char** argv) {
  Arguments a;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if ((arg == "--session" || arg == "-session") && i + 1 < argc) {
      a.session_path = QString::fromLocal8Bit(argv[++i]);
      a.has_session = true;
    } else if (arg.starts_with("--session=")) {
      a.session_path = QString::fromLocal8Bit(argv[i] + 10);
      a.has_session = true;
    } else {
      a.args.push_back(argv[i]);
    }
  }
  return a;
}

// What the arguments ask for, seen before any parser: --help or --version (`info`), or a
// picture or plan file (`screenshot`: --screenshot or --export-plan).
struct Wants {
  bool info = false;
  bool screenshot = false;
};

Wants ScanArguments(const std::vector<char*>& args) {
  bool info = false, wants_screenshot = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view a = args[i];
    info = info || a == "--help" || a == "-h" || a == "-?" || a == "--help-all" ||
           a == "--version" || a == "-v";
    wants_screenshot = wants_screenshot || a == "--screenshot" || a.starts_with("--screenshot=") ||
                       a == "--export-plan" || a.starts_with("--export-plan=");
  }
  return {info, wants_screenshot};
}

// The app's own options.
struct Options {
  QCommandLineOption screenshot;
  QCommandLineOption session;
  QCommandLineOption export_plan;
};

// Describes the app to `parser` and adds --help, --version and the app's options.
Options AddOptions(QCommandLineParser* parser) {
  parser->setApplicationDescription(
      QStringLiteral("Plan transformer training under a wall-clock budget"));
  parser->addHelpOption();
  parser->addVersionOption();
  Options o{
      QCommandLineOption(
          QStringLiteral("screenshot"),
          QStringLiteral("Render the main window with a plan to FILE (PNG) and exit (works "
                         "without a display)."),
          QStringLiteral("FILE")),
      // Listed for --help; the value itself was taken out of argv (TakeSessionArgument).
      QCommandLineOption(QStringLiteral("session"), QStringLiteral("Open a planning session file."),
                         QStringLiteral("FILE")),
      QCommandLineOption(
          QStringLiteral("export-plan"),
          QStringLiteral("Write the window's plan to FILE (JSON, as File > Export plan) and exit "
                         "(works without a display)."),
          QStringLiteral("FILE"))};
  parser->addOption(o.screenshot);
  parser->addOption(o.export_plan);
  parser->addOption(o.session);
  return o;
}

// --help and --version need no display: answer them with a core application (no platform
// plugin), so they print and exit 0 on a server too.
int AnswerInfo(int& argc, char** argv, QCommandLineParser* parser) {
  QCoreApplication core(argc, argv);
  QCoreApplication::setApplicationName(QStringLiteral("chronoscale-gui"));
  QCoreApplication::setApplicationVersion(QLatin1String(chronoscale::Version()));
  parser->process(core);  // prints and exits
  return 0;
}

// The names QSettings and --version use, and the window icon.
void NameApplication() {
  QApplication::setOrganizationName(QStringLiteral("chronoscale"));
  QApplication::setApplicationName(QStringLiteral("chronoscale-gui"));
  QApplication::setApplicationVersion(QLatin1String(chronoscale::Version()));
  QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/chronoscale.svg")));
}

}  // namespace

int main(int argc, char** argv) {
  Arguments a = TakeSessionArgument(argc, argv);
  if (a.has_session && a.session_path.isEmpty()) {
    std::fprintf(stderr, "chronoscale-gui: --session: the value is empty\n");
    return 2;
  }
  const Wants wants = ScanArguments(a.args);
  const bool no_display = qEnvironmentVariableIsEmpty("DISPLAY") &&
                          qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY") &&
                          qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM");
  if (no_display && wants.screenshot && !wants.info) {
    qputenv("QT_QPA_PLATFORM", "offscreen");  // a screenshot needs no screen
  }
  int qt_argc = static_cast<int>(a.args.size());
  a.args.push_back(nullptr);
  QCommandLineParser parser;
  const Options options = AddOptions(&parser);
  if (wants.info) return AnswerInfo(qt_argc, a.args.data(), &parser);
  if (no_display && !wants.screenshot) {
    std::fprintf(stderr,
                 "chronoscale-gui: no display (DISPLAY and WAYLAND_DISPLAY are unset); run it in a "
                 "desktop session, or use --screenshot FILE.png or --export-plan FILE.json, or the "
                 "chronoscale CLI\n");
    return 1;
  }
  QApplication app(qt_argc, a.args.data());
  NameApplication();
  parser.process(app);

  if (parser.isSet(options.screenshot) || parser.isSet(options.export_plan)) {
    return Headless(parser.value(options.screenshot), a.session_path,
                    parser.value(options.export_plan));
  }
  chronoscale::gui::MainWindow window;
  if (a.has_session) window.openSession(a.session_path);
  window.show();
  return QApplication::exec();
}
