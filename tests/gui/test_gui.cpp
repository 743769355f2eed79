// The desktop app driven offscreen with QTest: the best shape and the charts follow the budget,
// the hardware and a runs CSV; a bad CSV brings up a dialog naming file:line:col and nothing
// crashes; sessions round-trip.
#include <cmath>

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QGuiApplication>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <chronoscale/attention_calibrate.h>
#include <chronoscale/bench.h>
#include <chronoscale/error.h>
#include <chronoscale/hf_config.h>
#include <chronoscale/io.h>
#include <chronoscale/plan_report.h>
#include <chronoscale/plots/chart_panel.h>
#include <chronoscale/plots/plot_data.h>

#include "main_window.h"
#include "session.h"

using chronoscale::gui::MainWindow;

namespace {

constexpr int kTimeoutMs = 60000;

bool WaitIdle(MainWindow& w) {
  return QTest::qWaitFor([&] { return w.plan() != nullptr && !w.busy(); }, kTimeoutMs);
}

// With CHRONOSCALE_GUI_SHOTS=DIR, the window at 1280 x 720 on the tab named `tab` is saved to
// DIR/file (pictures of each state for docs/img; the tests pass either way).
void SaveShot(MainWindow& w, const QString& tab, const QString& file) {
  const QString dir = qEnvironmentVariable("CHRONOSCALE_GUI_SHOTS");
  if (dir.isEmpty()) return;
  auto* tabs = w.findChild<QTabWidget*>();
  if (tabs == nullptr) return;
  for (int i = 0; i < tabs->count(); ++i) {
    if (tabs->tabText(i) == tab) tabs->setCurrentIndex(i);
  }
  w.resize(1280, 720);
  QApplication::processEvents();
  w.grab().save(dir + QStringLiteral("/") + file);
}

QMessageBox* FindErrorDialog() {
  for (QWidget* top : QApplication::topLevelWidgets()) {
    if (auto* box = qobject_cast<QMessageBox*>(top); box && box->isVisible()) return box;
  }
  return nullptr;
}

}  // namespace

class TestGui : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { QVERIFY(m_dir.isValid()); }

  void firstPlanArrives() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    QVERIFY(w.plan()->found);
    QVERIFY(w.heatmapPanel()->hasChart());
    QVERIFY(w.heatmapPanel()->chartTitle().contains(QStringLiteral("h100-sxm")));
    QVERIFY(w.topTable()->rowCount() > 0);
    QCOMPARE(w.topTable()->item(0, 0)->text().toLongLong(), w.plan()->best.shape.d_model);
    QVERIFY(w.rooflinePanel()->hasChart());
    QVERIFY(w.breakdownPanel()->hasChart());
    QVERIFY(w.lawPanel()->hasChart());
    QVERIFY(!w.timePanel()->hasChart());  // no runs yet: empty-state text
    QVERIFY(!w.timePanel()->emptyText().isEmpty());
    QVERIFY(!w.kernelPanel()->hasChart());
  }

  void planReportsItself() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    const chronoscale::PlanResult& p = *w.plan();
    auto* summary = w.findChild<QLabel*>(QStringLiteral("summary"));
    QVERIFY(summary);
    // The full report (what `chronoscale plan` prints) on hover, and both reports on the
    // summary's menu, copied as plain text.
    const QString best = QStringLiteral("time-optimal: d_model %1 x %2 layers")
                             .arg(p.best.shape.d_model)
                             .arg(p.best.shape.n_layers);
    QVERIFY(summary->toolTip().contains(best));
    auto* brief = summary->findChild<QAction*>(QStringLiteral("copyBrief"));
    auto* full = summary->findChild<QAction*>(QStringLiteral("copyReport"));
    QVERIFY(brief && full);
    brief->trigger();
    QCOMPARE(QGuiApplication::clipboard()->text(),
             QString::fromStdString(chronoscale::PlanBrief(p)));
    full->trigger();
    QVERIFY(QGuiApplication::clipboard()->text().startsWith(QStringLiteral("budget 24 h")));
    QVERIFY(QGuiApplication::clipboard()->text().contains(best));
  }

  void budgetMovesTheBestShape() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    const double small_params = w.plan()->best.total_params;
    const int heat_rev = w.heatmapPanel()->revision();
    auto* hours = w.findChild<QDoubleSpinBox*>(QStringLiteral("hours"));
    QVERIFY(hours);
    hours->setValue(2000);
    QVERIFY(WaitIdle(w));
    QCOMPARE(w.inputs().hours, 2000.0);
    QCOMPARE(w.plan()->options.hours, 2000.0);
    QVERIFY(w.plan()->best.total_params > small_params);  // more time: a bigger model
    QVERIFY(w.heatmapPanel()->revision() > heat_rev);
    QVERIFY(w.heatmapPanel()->chartTitle().contains(QStringLiteral("2000 h")));
    // The log slider follows the box, and the box the slider.
    auto* slider = w.findChild<QSlider*>(QStringLiteral("hoursSlider"));
    QVERIFY(slider);
    slider->setValue(slider->minimum());
    QVERIFY(WaitIdle(w));
    QVERIFY(w.inputs().hours < 0.2);
    QCOMPARE(w.plan()->options.hours, w.inputs().hours);
  }

  void hardwareChangesThePlan() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    const double step_h100 = w.plan()->best.step_s;
    auto* combo = w.findChild<QComboBox*>(QStringLiteral("hardware"));
    QVERIFY(combo);
    const int i = combo->findData(QStringLiteral("a100-40gb"));
    QVERIFY(i >= 0);
    combo->setCurrentIndex(i);
    Q_EMIT combo->activated(i);
    QVERIFY(WaitIdle(w));
    QCOMPARE(QString::fromStdString(w.plan()->hardware), QStringLiteral("a100-40gb"));
    QVERIFY(w.heatmapPanel()->chartTitle().contains(QStringLiteral("a100-40gb")));
    QVERIFY(w.rooflinePanel()->chartTitle().contains(QStringLiteral("a100-40gb")));
    QVERIFY(w.plan()->best.step_s != step_h100);
  }

  void runsCsvFitsTheTimeModel() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    w.setHardware(QStringLiteral("h200-measured"));
    QVERIFY(WaitIdle(w));
    const double before = w.plan()->best.step_s;
    QSignalSpy fitted(&w, &MainWindow::timeFitDone);
    w.loadStepRuns(QStringLiteral(CHRONOSCALE_TEST_DATA "/steps.csv"));
    QVERIFY(fitted.wait(kTimeoutMs) || fitted.count() > 0);
    QVERIFY(WaitIdle(w));
    QVERIFY(w.timePanel()->hasChart());
    QVERIFY(w.timePanel()->seriesCount() >= 3);  // y = x and at least two estimators
    QCOMPARE(w.inputs().estimator, std::string("calibrated"));
    QCOMPARE(w.plan()->options.estimator, chronoscale::EstimatorKind::kCalibrated);
    QVERIFY(w.plan()->best.step_s != before);
    QVERIFY(w.breakdownPanel()->chartTitle().contains(QStringLiteral("calibrated")));
    // A hardware change never refits the H200 runs under another name: the fit is carried to the
    // new device (Retarget) and stays calibrated.
    QSignalSpy refitted(&w, &MainWindow::timeFitDone);
    w.setHardware(QStringLiteral("h100-sxm"));
    QVERIFY(WaitIdle(w));
    QCOMPARE(refitted.count(), 0);
    QCOMPARE(w.plan()->options.estimator, chronoscale::EstimatorKind::kCalibrated);
  }

  void runsOfAnotherDeviceSwitchTheHardware() {
    // steps.csv says h200-measured on every row; the app starts on h100-sxm.
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    QSignalSpy fitted(&w, &MainWindow::timeFitDone);
    w.loadStepRuns(QStringLiteral(CHRONOSCALE_TEST_DATA "/steps.csv"));
    QVERIFY(fitted.wait(kTimeoutMs) || fitted.count() > 0);
    QVERIFY(WaitIdle(w));
    QCOMPARE(w.inputs().hardware, std::string("h200-measured"));
    QCOMPARE(w.plan()->options.estimator, chronoscale::EstimatorKind::kCalibrated);
  }

  void badCsvShowsADialogAndNothingCrashes() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    const QString bad = m_dir.filePath(QStringLiteral("bad_steps.csv"));
    {
      QFile f(bad);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(
          "d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,step_ms\n"
          "256,1,4,1024,1024,8,32768,5.8\n"
          "512,two,8,2048,1024,8,32768,6.8\n");
    }
    QSignalSpy errors(&w, &MainWindow::errorShown);
    const int revision = w.planRevision();
    w.loadStepRuns(bad);
    QCOMPARE(errors.count(), 1);
    const QString message = errors.first().first().toString();
    QVERIFY2(message.contains(QStringLiteral("bad_steps.csv:3:")), qPrintable(message));
    QMessageBox* box = nullptr;
    QVERIFY(QTest::qWaitFor([&] { return (box = FindErrorDialog()) != nullptr; }, 5000));
    QVERIFY(box->text().contains(QStringLiteral("bad_steps.csv:3:")));
    box->accept();
    // Still alive: inputs still move the plan.
    QVERIFY(w.inputs().step_runs.empty());
    auto* devices = w.findChild<QSpinBox*>(QStringLiteral("devices"));
    devices->setValue(8);
    QVERIFY(WaitIdle(w));
    QVERIFY(w.planRevision() > revision);
    QCOMPARE(w.plan()->options.devices, 8);
    // A missing file and a bad kernel CSV are dialogs too.
    w.loadLossRuns(m_dir.filePath(QStringLiteral("missing.csv")));
    QCOMPARE(errors.count(), 2);
    w.loadAttentionCsv(bad);
    QCOMPARE(errors.count(), 3);
    QVERIFY(!w.kernelPanel()->hasChart());
    for (int i = 0; i < 5; ++i) {
      if (QMessageBox* b = FindErrorDialog()) b->accept();
      QApplication::processEvents();
    }
  }

  void kernelsTabLoadsTimings() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    w.loadAttentionCsv(QStringLiteral(CHRONOSCALE_TEST_DATA "/attention.csv"));
    QVERIFY(w.kernelPanel()->hasChart());
    QCOMPARE(w.kernelPanel()->seriesCount(), 8);  // 4 curves, measured and predicted
  }

  void sessionRoundTripAndExports() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    w.findChild<QSpinBox*>(QStringLiteral("depthMax"))->setValue(64);
    w.findChild<QDoubleSpinBox*>(QStringLiteral("hours"))->setValue(100);
    QVERIFY(WaitIdle(w));
    const QString session = m_dir.filePath(QStringLiteral("s.json"));
    w.saveSession(session);
    const auto loaded = chronoscale::gui::LoadSession(session.toStdString());
    QVERIFY(chronoscale::gui::SameInputs(loaded, w.inputs()));
    MainWindow w2(false);
    w2.show();
    w2.openSession(session);
    QVERIFY(WaitIdle(w2));
    QCOMPARE(w2.plan()->options.depth.max, int64_t{64});
    QCOMPARE(w2.plan()->best.shape.d_model, w.plan()->best.shape.d_model);
    const QString csv = m_dir.filePath(QStringLiteral("surface.csv"));
    const QString json = m_dir.filePath(QStringLiteral("plan.json"));
    w2.exportSurfaceCsv(csv);
    w2.exportPlanJson(json);
    QVERIFY(QFileInfo(csv).size() > 1000);
    QVERIFY(QFileInfo(json).size() > 100);
    for (const char* ext : {"png", "svg"}) {
      const QString chart = m_dir.filePath(QStringLiteral("heat.") + QLatin1String(ext));
      w2.heatmapPanel()->exportTo(chart.toStdString());
      QVERIFY(QFileInfo(chart).size() > 1000);
    }
    // A session with a bad value is a dialog, and the inputs stay.
    QFile f(m_dir.filePath(QStringLiteral("bad.json")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("{\"schema_version\": 1, \"inputs\": {\"hours\": -3}}");
    f.close();
    QSignalSpy errors(&w2, &MainWindow::errorShown);
    w2.openSession(f.fileName());
    QCOMPARE(errors.count(), 1);
    QVERIFY(errors.first().first().toString().contains(QStringLiteral("hours")));
    QCOMPARE(w2.inputs().hours, 100.0);
    if (QMessageBox* b = FindErrorDialog()) b->accept();
  }

  // Inputs that cannot be planned leave the last plan on screen greyed, under a banner in the
  // window's words; valid inputs bring a fresh plan and clear it.
  void invalidInputsGreyTheOldPlan() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    const int revision = w.planRevision();
    QVERIFY(!w.planIsStale());
    chronoscale::gui::SessionInputs in = w.inputs();
    in.width = {4096, 1024, 64};  // a width range that ends before it starts
    w.applyInputs(in);
    QVERIFY(QTest::qWaitFor([&] { return w.planIsStale(); }, kTimeoutMs));
    const QString banner = w.staleBannerText();
    QVERIFY2(banner.contains(QStringLiteral("Width")), qPrintable(banner));  // the widget's label
    QVERIFY2(!banner.contains(QStringLiteral("--")), qPrintable(banner));    // no CLI flag words
    QVERIFY(!w.topTable()->isEnabled());                                     // greyed with its page
    QCOMPARE(w.planRevision(), revision);  // the old plan, not a new one
    in.width = {1024, 4096, 64};
    w.applyInputs(in);
    QVERIFY(QTest::qWaitFor([&] { return !w.planIsStale() && w.planRevision() > revision; },
                            kTimeoutMs));
    QVERIFY(w.topTable()->isEnabled());
    QCOMPARE(w.plan()->options.width.min, 1024);
  }

  // Tools > Calibrate attention kernels, on a small grid: Cancel leaves everything as it was; a
  // finished run shows measured against predicted, saves the calibrated profile and plans on it,
  // so a random-feature plan's attention kernels are priced with the calibrated rates.
  void calibrateKernelsFromTheApp() {
    // This machine's measured profile, cached where the app looks for it (no bench here).
    const QByteArray old_cache = qgetenv("XDG_CACHE_HOME");
    const QString cache = m_dir.path() + QStringLiteral("/cache");
    qputenv("XDG_CACHE_HOME", cache.toUtf8());
    QVERIFY(QDir().mkpath(cache + QStringLiteral("/chronoscale")));
    {
      QFile local(cache + QStringLiteral("/chronoscale/local.json"));
      QVERIFY(local.open(QIODevice::WriteOnly));
      local.write(QByteArray::fromStdString(
          chronoscale::HardwareToJson(chronoscale::LoadHardware("h200-measured")).dump(2)));
    }
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    chronoscale::gui::SessionInputs in = w.inputs();
    in.attention = "favor";
    w.applyInputs(in);
    QVERIFY(QTest::qWaitFor(
        [&] {
          return !w.busy() &&
                 w.plan()->options.base.attention == chronoscale::AttentionKind::kFavor;
        },
        kTimeoutMs));
    const std::string before = w.hardware().name;
    int revision = w.planRevision();

    chronoscale::CalibrateOptions options;
    options.kernels = {chronoscale::AttentionKernel::kFlash, chronoscale::AttentionKernel::kFavor};
    options.seq_lens = {128, 256, 512};
    options.head_dims = {32};
    options.features = {32};
    options.repeats = 1;
    options.folds = 3;
    options.threads = 1;

    // Cancel at once: no calibration, the same profile and plan, no file written.
    w.calibrateKernels(options);
    QVERIFY(w.calibratingKernels());
    w.cancelKernelCalibration();
    QVERIFY(QTest::qWaitFor([&] { return !w.calibratingKernels(); }, kTimeoutMs));
    QVERIFY(w.kernelCalibration() == nullptr);
    QCOMPARE(w.hardware().name, before);
    QCOMPARE(w.planRevision(), revision);
    QVERIFY(!QFile::exists(MainWindow::calibratedProfilePath()));
    QVERIFY(w.statusBar()->currentMessage().contains(QStringLiteral("cancelled")));

    // Run it: 6 points timed here, the model fitted, the plan redone on the calibrated profile.
    w.calibrateKernels(options);
    QVERIFY(QTest::qWaitFor(
        [&] { return !w.calibratingKernels() && !w.busy() && w.planRevision() > revision; },
        kTimeoutMs));
    const chronoscale::CalibrateSummary* cal = w.kernelCalibration();
    QVERIFY(cal != nullptr);
    QCOMPARE(cal->points.size(), std::size_t{6});
    for (const auto& p : cal->points) QVERIFY(p.measured_s > 0 && p.predicted_s > 0);
    QCOMPARE(cal->calibrated.name, std::string("local-calibrated"));
    QCOMPARE(w.hardware().name, cal->calibrated.name);
    QCOMPARE(w.plan()->hardware, cal->calibrated.name);
    QVERIFY(QFile::exists(MainWindow::calibratedProfilePath()));
    QCOMPARE(w.inputs().hardware, MainWindow::calibratedProfilePath().toStdString());
    QVERIFY(w.kernelPanel()->hasChart());
    QVERIFY(w.kernelPanel()->chartTitle().contains(QStringLiteral("measured on this machine")));
    // The plan's FAVOR+ kernels are priced with the calibrated rates, not the measured ones.
    const chronoscale::HardwareProfile measured =
        chronoscale::LoadHardwareOrLocal("local", nullptr);
    auto favor = [](const chronoscale::HardwareProfile& hw) {
      return chronoscale::PredictAttentionSeconds(chronoscale::AttentionKernel::kFavor, 8, 16, 1024,
                                                  64, 256, true, chronoscale::Precision::kBf16, hw);
    };
    QCOMPARE(favor(w.hardware()), favor(cal->calibrated));
    QVERIFY(favor(w.hardware()) != favor(measured));
    // A random-feature plan says so in its summary.
    in = w.inputs();
    in.attention = "favor";
    revision = w.planRevision();
    w.applyInputs(in);
    QVERIFY(QTest::qWaitFor([&] { return !w.busy() && w.planRevision() > revision; }, kTimeoutMs));
    QCOMPARE(w.plan()->options.base.attention, chronoscale::AttentionKind::kFavor);
    const QString summary = w.findChild<QLabel*>(QStringLiteral("summary"))->text();
    QVERIFY2(summary.contains(QStringLiteral("the favor attention is priced with them")),
             qPrintable(summary));
    SaveShot(w, QStringLiteral("Kernels"), QStringLiteral("gui_kernels_calibrated.png"));

    if (old_cache.isNull()) {
      qunsetenv("XDG_CACHE_HOME");
    } else {
      qputenv("XDG_CACHE_HOME", old_cache);
    }
  }

  // The surface reads out the cell under the pointer and a click selects that shape everywhere.
  void surfaceHoverAndClickSelect() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    const chronoscale::PlanResult& plan = *w.plan();
    QVERIFY(plan.found && plan.top.size() >= 3);
    const auto& best = plan.best;
    w.heatmapPanel()->hoverAt(static_cast<double>(best.shape.d_model),
                              static_cast<double>(best.shape.n_layers));
    QVERIFY(w.surfaceReadout().contains(
        QStringLiteral("d_model %1 x %2 layers").arg(best.shape.d_model).arg(best.shape.n_layers)));
    QVERIFY(w.surfaceReadout().contains(QStringLiteral("loss %1").arg(best.loss, 0, 'f', 4)));
    QVERIFY(w.surfaceReadout().contains(QStringLiteral("GiB per device")));

    // A fitting shape that is not among the best: picked, ringed, charted; no table row.
    const std::size_t nw = plan.widths.size();
    // (the one nearest a loss 0.1 above the best: inside the coloured region, for the picture)
    std::size_t pick = plan.loss.size();
    for (std::size_t c = 0; c < plan.loss.size(); ++c) {
      if (!plan.fits[c]) continue;
      bool in_top = false;
      for (const auto& t : plan.top) {
        in_top = in_top || (t.shape.d_model == plan.widths[c % nw] &&
                            t.shape.n_layers == plan.depths[c / nw]);
      }
      const auto off = [&](std::size_t k) { return std::abs(plan.loss[k] - best.loss - 0.1); };
      if (!in_top && (pick == plan.loss.size() || off(c) < off(pick))) pick = c;
    }
    QVERIFY(pick < plan.loss.size());
    const int64_t pw = plan.widths[pick % nw], pd = plan.depths[pick / nw];
    const int series = w.heatmapPanel()->seriesCount();
    w.heatmapPanel()->clickAt(static_cast<double>(pw), static_cast<double>(pd));
    QVERIFY(w.selectedCandidate() != nullptr);
    QCOMPARE(w.selectedCandidate()->shape.d_model, pw);
    QCOMPARE(w.selectedCandidate()->shape.n_layers, pd);
    QCOMPARE(w.selectedCandidate()->loss, plan.loss[pick]);
    QVERIFY(w.topTable()->selectionModel()->selectedRows().isEmpty());
    QCOMPARE(w.heatmapPanel()->seriesCount(), series + 1);  // the ring
    QVERIFY(w.breakdownPanel()->chartTitle().contains(
        QStringLiteral("d%1 x %2 layers").arg(pw).arg(pd)));
    SaveShot(w, QStringLiteral("Plan"), QStringLiteral("gui_plan_selected.png"));

    // A shape among the best: its table row is selected, the ring goes.
    const auto& third = plan.top[2];
    w.heatmapPanel()->clickAt(static_cast<double>(third.shape.d_model),
                              static_cast<double>(third.shape.n_layers));
    QCOMPARE(w.topTable()->selectionModel()->selectedRows().first().row(), 2);
    QCOMPARE(w.selectedCandidate()->shape.d_model, third.shape.d_model);
    QCOMPARE(w.heatmapPanel()->seriesCount(), series + 1);  // ringed: it is not the best

    // A cell left out of the grid says why; outside the grid nothing is read.
    for (std::size_t c = 0; c < plan.step_s.size(); ++c) {
      if (std::isfinite(plan.step_s[c])) continue;
      w.heatmapPanel()->hoverAt(static_cast<double>(plan.widths[c % nw]),
                                static_cast<double>(plan.depths[c / nw]));
      QVERIFY(w.surfaceReadout().contains(QStringLiteral("left out")));
      break;
    }
    w.heatmapPanel()->hoverAt(-1e6, -1e6);
    QVERIFY(w.surfaceReadout().isEmpty());
  }

  // The colour scale can be kept across plans: a longer budget then draws with the first plan's
  // scale; unticked, each plan scales its own.
  void fixedColourScaleCarriesAcrossPlans() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    const auto own = chronoscale::plots::SurfaceColorScale(w.plan()->loss);
    auto* box = w.findChild<QCheckBox*>(QStringLiteral("fixColourScale"));
    QVERIFY(box != nullptr);
    box->setChecked(true);
    QVERIFY(w.fixedColourScale().has_value());
    QCOMPARE(w.fixedColourScale()->lo, own.lo);
    chronoscale::gui::SessionInputs in = w.inputs();
    in.hours *= 20;
    const int revision = w.planRevision();
    w.applyInputs(in);
    QVERIFY(QTest::qWaitFor([&] { return !w.busy() && w.planRevision() > revision; }, kTimeoutMs));
    const auto next = chronoscale::plots::SurfaceColorScale(w.plan()->loss);
    QVERIFY(next.lo < own.lo);  // more compute, lower losses: its own scale would differ
    QCOMPARE(w.fixedColourScale()->lo, own.lo);
    QCOMPARE(w.fixedColourScale()->hi, own.hi);
    box->setChecked(false);
    QVERIFY(!w.fixedColourScale().has_value());
  }

  // Loss runs with their own column names, read with the column mapping's choices (as
  // fit-loss's flags): the highest-loss runs dropped, bootstrap draws kept; the choices travel
  // with the session. Epoch's Chinchilla layout is recognised without a dialog.
  void lossRunsColumnMapping() {
    const QString path = m_dir.path() + QStringLiteral("/runs_custom.csv");
    {
      QFile f(path);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("N,D,final_loss,note\n");
      const chronoscale::LossLaw truth = chronoscale::LossLawPreset("epoch");
      int k = 0;
      for (double n : {3e7, 1e8, 3e8, 1e9, 3e9, 1e10}) {
        for (double ratio : {5.0, 10.0, 20.0, 40.0, 80.0}) {
          const double d = ratio * n;
          const double noise = 1 + 0.002 * ((k++ % 5) - 2);
          f.write(QStringLiteral("%1,%2,%3,x\n")
                      .arg(n)
                      .arg(d)
                      .arg(truth.Loss(n, d) * noise, 0, 'g', 10)
                      .toUtf8());
        }
      }
    }
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    chronoscale::gui::SessionInputs in = w.inputs();
    in.loss.params_col = std::string("N");
    in.loss.tokens_col = std::string("D");
    in.loss.loss_col = "final_loss";
    in.loss.drop_highest = 3;
    in.loss.bootstrap = 20;
    w.applyInputs(in);
    QVERIFY(WaitIdle(w));
    QSignalSpy fitted(&w, &MainWindow::lossFitDone);
    w.loadLossRuns(path);
    QVERIFY(fitted.count() > 0 || fitted.wait(kTimeoutMs));
    QCOMPARE(w.lossRuns().size(), std::size_t{27});  // 30 runs, the 3 highest-loss dropped
    QCOMPARE(w.law().draws.size(), std::size_t{20});
    QVERIFY(std::abs(w.law().alpha - 0.3478) < 0.05);  // Epoch's law, 0.2% noise
    QCOMPARE(w.inputs().law, std::string("fitted"));
    // The choices are part of the session.
    const auto back =
        chronoscale::gui::SessionFromJson(chronoscale::gui::SessionToJson(w.inputs()), "session");
    QCOMPARE(back.loss.loss_col, std::string("final_loss"));
    QCOMPARE(back.loss.drop_highest, 3);
    QCOMPARE(back.loss.bootstrap, 20);
    auto doc = chronoscale::gui::SessionToJson(w.inputs());
    doc["inputs"]["loss_runs_options"]["param_count"] = "most";
    bool refused = false;
    try {
      chronoscale::gui::SessionFromJson(doc, "session");
    } catch (const chronoscale::InputError& e) {
      refused = QString::fromStdString(e.what()).contains(QStringLiteral("param_count"));
    }
    QVERIFY(refused);
    // Epoch's layout: the columns are guessed and kept.
    const QString epoch = m_dir.path() + QStringLiteral("/epoch_layout.csv");
    {
      QFile f(epoch);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("Model Size,Training FLOP,loss\n");
      const chronoscale::LossLaw truth = chronoscale::LossLawPreset("epoch");
      for (double n : {3e7, 1e8, 3e8, 1e9, 3e9}) {
        for (double ratio : {5.0, 20.0, 80.0}) {
          f.write(QStringLiteral("%1,%2,%3\n")
                      .arg(n)
                      .arg(6 * n * ratio * n)
                      .arg(truth.Loss(n, ratio * n), 0, 'g', 10)
                      .toUtf8());
        }
      }
    }
    in = w.inputs();
    in.loss = {};
    in.law = "epoch";
    in.loss_runs.clear();
    w.applyInputs(in);
    QVERIFY(WaitIdle(w));
    w.loadLossRuns(epoch);
    QVERIFY(fitted.count() > 1 || fitted.wait(kTimeoutMs));
    QCOMPARE(w.inputs().loss.params_col, std::string("Model Size"));
    QCOMPARE(w.inputs().loss.flops_col, std::string("Training FLOP"));
    QCOMPARE(w.lossRuns().size(), std::size_t{15});
  }

  // The architecture group reaches the plan's base shape, follows the widgets and the session,
  // and a bad value in a session file is refused naming the key.
  void architectureVariantsReachThePlan() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    chronoscale::gui::SessionInputs in = w.inputs();
    in.arch.mlp = "swiglu";
    in.arch.norm = "rmsnorm";
    in.arch.positions = "rotary";
    in.arch.kv_heads = 2;
    in.arch.tied = true;
    in.arch.bias = false;
    in.arch.checkpointing = "full";
    int revision = w.planRevision();
    w.applyInputs(in);
    QVERIFY(QTest::qWaitFor([&] { return !w.busy() && w.planRevision() > revision; }, kTimeoutMs));
    QVERIFY(w.plan()->found);
    const chronoscale::ModelShape& best = w.plan()->best.shape;
    QVERIFY(best.mlp == chronoscale::MlpKind::kSwiGlu);
    QVERIFY(best.norm == chronoscale::NormKind::kRmsNorm);
    QVERIFY(best.positions == chronoscale::PositionKind::kRotary);
    QVERIFY(best.checkpointing == chronoscale::Checkpointing::kFull);
    QVERIFY(best.tied_embeddings && !best.bias);
    QCOMPARE(best.n_kv_heads, 2);
    QCOMPARE(best.n_heads % 2, 0);
    auto* mlp = w.findChild<QComboBox*>(QStringLiteral("mlp"));
    QVERIFY(mlp != nullptr);
    QCOMPARE(mlp->currentData().toString(), QStringLiteral("swiglu"));
    // A widget change re-plans with it.
    auto* kv = w.findChild<QSpinBox*>(QStringLiteral("kvHeads"));
    QVERIFY(kv != nullptr);
    revision = w.planRevision();
    kv->setValue(4);
    QVERIFY(QTest::qWaitFor([&] { return !w.busy() && w.planRevision() > revision; }, kTimeoutMs));
    QCOMPARE(w.inputs().arch.kv_heads, 4);
    QCOMPARE(w.plan()->best.shape.n_kv_heads, 4);
    // The session carries it; a bad value is refused with its key.
    auto doc = chronoscale::gui::SessionToJson(w.inputs());
    QVERIFY(chronoscale::gui::SameInputs(chronoscale::gui::SessionFromJson(doc, "s"), w.inputs()));
    doc["inputs"]["architecture"]["norm"] = "batchnorm";
    bool refused = false;
    try {
      chronoscale::gui::SessionFromJson(doc, "s");
    } catch (const chronoscale::InputError& e) {
      refused = QString::fromStdString(e.what()).contains(QStringLiteral("norm"));
    }
    QVERIFY(refused);
  }

  // The rarer variants of plan's flags reach the plan: block, sliding window, mixture of experts,
  // optimizer, bidirectional attention; the session keeps them.
  void rarerVariantsReachThePlan() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    chronoscale::gui::SessionInputs in = w.inputs();
    in.arch.block = "parallel";
    in.arch.sliding_window = 512;
    in.arch.experts = 8;
    in.arch.shared_ff = 1024;
    in.arch.optimizer = "sgd";
    in.arch.causal = false;
    const int revision = w.planRevision();
    w.applyInputs(in);
    QVERIFY(QTest::qWaitFor([&] { return !w.busy() && w.planRevision() > revision; }, kTimeoutMs));
    QVERIFY(w.plan()->found);
    const chronoscale::ModelShape& best = w.plan()->best.shape;
    QVERIFY(best.block == chronoscale::BlockKind::kParallel);
    QCOMPARE(best.sliding_window, 512);
    QCOMPARE(best.experts, 8);
    QCOMPARE(best.experts_per_token, 2);  // plan --experts' default
    QCOMPARE(best.shared_ff, 1024);
    QVERIFY(best.optimizer == chronoscale::Optimizer::kSgd);
    QVERIFY(!best.causal);
    auto* experts = w.findChild<QSpinBox*>(QStringLiteral("experts"));
    QVERIFY(experts != nullptr);
    QCOMPARE(experts->value(), 8);
    QVERIFY(chronoscale::gui::SameInputs(
        chronoscale::gui::SessionFromJson(chronoscale::gui::SessionToJson(w.inputs()), "s"),
        w.inputs()));
  }

  // The search's aspect range and a data budget (plan --aspect, --unique-tokens) reach the plan:
  // the best shape keeps to the range, and repeated data counts as effective data.
  void aspectAndDataBudgetReachThePlan() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    chronoscale::gui::SessionInputs in = w.inputs();
    in.min_aspect = 16;
    in.max_aspect = 64;
    in.unique_tokens = 1e9;
    const int revision = w.planRevision();
    w.applyInputs(in);
    QVERIFY(QTest::qWaitFor([&] { return !w.busy() && w.planRevision() > revision; }, kTimeoutMs));
    QVERIFY(w.plan()->found);
    QCOMPARE(w.plan()->options.min_aspect, 16.0);
    QCOMPARE(w.plan()->options.max_aspect, 64.0);
    QCOMPARE(w.plan()->options.unique_tokens, 1e9);
    const chronoscale::Candidate& best = w.plan()->best;
    const double aspect = static_cast<double>(best.shape.d_model) / best.shape.n_layers;
    QVERIFY(aspect >= 16 && aspect <= 64);
    QVERIFY(best.epochs > 1);                      // a day on an H100 sees more than 1B
    QVERIFY(best.effective_tokens < best.tokens);  // repeats are worth less
    auto* unique = w.findChild<QDoubleSpinBox*>(QStringLiteral("uniqueTokens"));
    QVERIFY(unique != nullptr);
    QCOMPARE(unique->value(), 1.0);  // in billions
    QVERIFY(chronoscale::gui::SameInputs(
        chronoscale::gui::SessionFromJson(chronoscale::gui::SessionToJson(w.inputs()), "s"),
        w.inputs()));
  }

  // The cluster inputs reach the plan (GPUs per node, a pinned layout, the memory reserve); a
  // layout that cannot be read, or devices that are not whole nodes, grey the plan under a
  // banner naming the widgets, from the error's field rather than its CLI wording.
  void clusterInputsReachThePlan() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    chronoscale::gui::SessionInputs in = w.inputs();
    in.devices = 16;
    in.gpus_per_node = 4;
    in.layout = "tp=2,zero=3";
    in.memory_reserve_gib = 4;
    int revision = w.planRevision();
    w.applyInputs(in);
    QVERIFY(QTest::qWaitFor([&] { return !w.busy() && w.planRevision() > revision; }, kTimeoutMs));
    QVERIFY(w.plan()->found);
    QCOMPARE(w.plan()->gpus_per_node, 4);
    QCOMPARE(w.plan()->best.layout.tp, 2);
    QVERIFY(w.plan()->best.layout.sharding == chronoscale::Sharding::kZero3);
    QCOMPARE(w.plan()->usable_bytes, w.hardware().memory_bytes - 4 * chronoscale::kGiB);
    auto* layout = w.findChild<QLineEdit*>(QStringLiteral("layout"));
    QVERIFY(layout != nullptr);
    QCOMPARE(layout->text(), QStringLiteral("tp=2,zero=3"));
    layout->setText(QStringLiteral("tp=two"));
    Q_EMIT layout->editingFinished();
    QVERIFY(QTest::qWaitFor([&] { return w.planIsStale(); }, kTimeoutMs));
    QString banner = w.staleBannerText();
    QVERIFY2(banner.contains(QStringLiteral("Pinned layout")), qPrintable(banner));
    QVERIFY2(!banner.contains(QStringLiteral("--")), qPrintable(banner));
    in.layout.clear();
    in.devices = 6;  // not whole nodes of 4
    w.applyInputs(in);
    QVERIFY(QTest::qWaitFor([&] { return !w.busy() && w.planIsStale(); }, kTimeoutMs));
    banner = w.staleBannerText();
    QVERIFY2(banner.contains(QStringLiteral("Devices")) &&
                 banner.contains(QStringLiteral("GPUs per node")),
             qPrintable(banner));
    QVERIFY2(!banner.contains(QStringLiteral("--")), qPrintable(banner));
    in.devices = 8;
    revision = w.planRevision();
    w.applyInputs(in);
    QVERIFY(QTest::qWaitFor([&] { return !w.planIsStale() && w.planRevision() > revision; },
                            kTimeoutMs));
  }

  // File > Import Hugging Face config: Qwen2-0.5B's architecture (GQA, q/k/v-only biases, tied,
  // SwiGLU, RMSNorm, rotary) becomes the search's, and the model itself is priced and selected;
  // File > Export writes the selected shape's config, which imports back to the same model.
  void huggingFaceImportAndExport() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    const int revision = w.planRevision();
    w.importHfConfig(QStringLiteral(CHRONOSCALE_TEST_DATA "/hf_configs/Qwen2-0.5B.json"));
    QVERIFY(QTest::qWaitFor([&] { return !w.busy() && w.planRevision() > revision; }, kTimeoutMs));
    const auto& arch = w.inputs().arch;
    QCOMPARE(arch.mlp, std::string("swiglu"));
    QCOMPARE(arch.norm, std::string("rmsnorm"));
    QCOMPARE(arch.kv_heads, 2);
    QCOMPARE(arch.qkv_bias, 1);
    QCOMPARE(arch.out_bias, 0);
    QVERIFY(arch.tied);
    QCOMPARE(w.inputs().vocab, 151936);
    QCOMPARE(w.inputs().head_size, 64);
    QVERIFY(w.plan()->found);
    QVERIFY(w.plan()->best.shape.QkvBias() && !w.plan()->best.shape.OutBias());
    // The imported model, priced under this budget and selected.
    QVERIFY(w.importedCandidate().has_value());
    const chronoscale::Candidate* selected = w.selectedCandidate();
    QVERIFY(selected != nullptr);
    QCOMPARE(selected->shape.d_model, 896);
    QCOMPARE(selected->shape.n_layers, 24);
    QCOMPARE(selected->shape.d_ff, 4864);
    QCOMPARE(selected->params, w.importedCandidate()->params);
    auto* summary = w.findChild<QLabel*>(QStringLiteral("summary"));
    QVERIFY(summary != nullptr);
    QVERIFY2(summary->text().contains(QStringLiteral("Imported qwen2")),
             qPrintable(summary->text()));
    const QString out = m_dir.filePath(QStringLiteral("exported_config.json"));
    w.exportHfConfig(out);
    const chronoscale::HfImport back = chronoscale::LoadHfConfig(out.toStdString());
    QCOMPARE(back.model_type, std::string("qwen2"));
    QCOMPARE(back.shape.d_model, 896);
    QCOMPARE(back.shape.n_layers, 24);
    QCOMPARE(back.shape.n_kv_heads, 2);
    QCOMPARE(back.shape.Params(), selected->shape.Params());
    // The session keeps the imported architecture.
    QVERIFY(chronoscale::gui::SameInputs(
        chronoscale::gui::SessionFromJson(chronoscale::gui::SessionToJson(w.inputs()), "s"),
        w.inputs()));
    // A config the tool refuses (an encoder) brings a dialog and changes nothing.
    QTimer::singleShot(0, [] {
      if (QMessageBox* b = FindErrorDialog()) b->accept();
    });
    const auto before = chronoscale::gui::SessionToJson(w.inputs());
    QSignalSpy errors(&w, &MainWindow::errorShown);
    w.importHfConfig(QStringLiteral(CHRONOSCALE_TEST_DATA "/hf_configs/bert-base-uncased.json"));
    QCOMPARE(errors.count(), 1);
    QVERIFY(chronoscale::gui::SessionToJson(w.inputs()) == before);
  }

  // The plan's summary says where its step times come from: the estimator and hardware, and
  // after a fit, the runs' file and the device they were measured on.
  void timeModelProvenance() {
    MainWindow w(false);
    w.show();
    QVERIFY(WaitIdle(w));
    auto* summary = w.findChild<QLabel*>(QStringLiteral("summary"));
    QVERIFY(summary != nullptr);
    QVERIFY2(summary->text().contains(QStringLiteral("not fitted to measured runs")),
             qPrintable(summary->text()));
    QSignalSpy fitted(&w, &MainWindow::timeFitDone);
    w.loadStepRuns(QStringLiteral(CHRONOSCALE_TEST_DATA "/steps.csv"));
    QVERIFY(fitted.wait(kTimeoutMs) || fitted.count() > 0);
    QVERIFY(WaitIdle(w));
    const QString text = summary->text();
    QVERIFY2(
        text.contains(QStringLiteral("steps.csv")) && text.contains(QStringLiteral("NVIDIA H200")),
        qPrintable(text));
  }

  // Help > Quick reference carries the README's command reference, shipped in the app.
  void helpHasTheQuickReference() {
    const QString text = MainWindow::quickReferenceText();
    QVERIFY(text.contains(QStringLiteral("## Commands")));
    QVERIFY(text.contains(QStringLiteral("chronoscale plan")));
    QVERIFY(text.contains(QStringLiteral("--hours")));
    QVERIFY(text.contains(QStringLiteral("Hover over the loss surface")));
    QVERIFY(!text.contains(QStringLiteral("## Layout and libraries")));  // that section only
    MainWindow w(false);
    w.show();
    w.showQuickReference();
    QDialog* dialog = nullptr;
    QVERIFY(QTest::qWaitFor(
        [&] { return (dialog = w.findChild<QDialog*>(QStringLiteral("quickReference"))); }, 5000));
    dialog->close();
    QVERIFY(WaitIdle(w));
  }

  // Every tab at 1280 x 720 with its chart: the H200 runs fitted, the kernel timings loaded
  // (pictures of each with CHRONOSCALE_GUI_SHOTS=DIR).
  void everyTabAt1280x720() {
    MainWindow w(false);
    w.resize(1280, 720);
    w.show();
    QVERIFY(WaitIdle(w));
    QSignalSpy fitted(&w, &MainWindow::timeFitDone);
    w.loadStepRuns(QStringLiteral(CHRONOSCALE_TEST_DATA "/steps.csv"));
    QVERIFY(fitted.count() > 0 || fitted.wait(kTimeoutMs));
    w.loadAttentionCsv(QStringLiteral(CHRONOSCALE_TEST_DATA "/attention.csv"));
    QVERIFY(WaitIdle(w));
    auto* tabs = w.findChild<QTabWidget*>();
    QVERIFY(tabs != nullptr);
    QCOMPARE(tabs->count(), 5);
    for (auto* panel : {w.heatmapPanel(), w.lawPanel(), w.timePanel(), w.kernelPanel(),
                        w.rooflinePanel(), w.breakdownPanel()}) {
      QVERIFY(panel->hasChart());
      QVERIFY(!panel->chartTitle().isEmpty());
    }
    const char* files[] = {"gui_plan.png", "gui_loss_law.png", "gui_step_time.png",
                           "gui_kernels.png", "gui_roofline.png"};
    for (int i = 0; i < tabs->count(); ++i) {
      SaveShot(w, tabs->tabText(i), QLatin1String(files[i]));
    }
  }

  // Saved settings the app cannot read are reset with a message, once, and the app starts on
  // its defaults.
  void unreadableSettingsAreReset() {
    QStandardPaths::setTestModeEnabled(true);  // a settings file of the tests' own
    QSettings().setValue(QStringLiteral("session"), QStringLiteral("{\"inputs\": [[[not json"));
    {
      MainWindow w(true);
      QVERIFY(w.statusBar()->currentMessage().contains(QStringLiteral("reset")));
      QVERIFY(!QSettings().contains(QStringLiteral("session")));
      w.show();
      QVERIFY(WaitIdle(w));
      QVERIFY(w.plan()->found);
    }
    QSettings().clear();
  }

 private:
  QTemporaryDir m_dir;
};

QTEST_MAIN(TestGui)
#include "test_gui.moc"
