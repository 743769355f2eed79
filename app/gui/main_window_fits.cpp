// The fits behind the window: step times from measured runs, the loss law from loss runs or a
// file, and the kernel timings of the Kernels tab.
#include <fmt/format.h>

#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QStandardItemModel>
#include <QStatusBar>

#include <chronoscale/attention.h>
#include <chronoscale/attention_calibrate.h>
#include <chronoscale/error.h>
#include <chronoscale/io.h>
#include <chronoscale/plots/chart_panel.h>
#include <chronoscale/plots/plots.h>

#include "gui_util.h"
#include "loss_runs_dialog.h"
#include "main_window.h"

namespace chronoscale::gui {

// ---------------------------------------------------------------------------------------------
// Step-time fit.

void MainWindow::loadStepRuns(const QString& path) {
  RunsFile file;
  try {
    file = ReadStepRuns(S(path));
  } catch (const std::exception& e) {
    showError(tr("Step-time runs"), Q(e.what()));
    return;
  }
  m_in.step_runs = S(path);
  m_stepRuns = file.runs;
  // Runs measured on one other device (all labelled alike, none from the current hardware):
  // switch the hardware to theirs, saying so, rather than refuse or fit them under this name.
  std::string label;
  bool one_other = !file.runs.empty();
  for (const StepRun& r : file.runs) {
    if (r.hardware.empty() || RunsMatchHardware(m_hw, r.hardware, r.device) ||
        (!label.empty() && r.hardware != label)) {
      one_other = false;
      break;
    }
    label = r.hardware;
  }
  if (one_other && IsHardwarePreset(label)) {
    m_timeFit.reset();
    statusBar()->showMessage(tr("%1 was measured on %2: hardware switched to it")
                                 .arg(QFileInfo(path).fileName(), Q(label)),
                             10000);
    setHardware(Q(label));  // fits the runs on their own device
    return;
  }
  fitTimeModel(path, file.runs);
}

void MainWindow::refitTimeModelIfNeeded() {
  if (!m_stepRuns.empty() && !m_timeFit) {
    fitTimeModel(Q(m_in.step_runs), m_stepRuns);
    return;
  }
  if (m_timeFit && m_timeFit->model.hardware.name != m_hw.name) {
    // The runs were measured on the device they were fitted for: never refit them under another
    // name. The fitted multipliers are carried to the new hardware (FLOP and byte times follow
    // its rates), and the label says so.
    const std::string fitted_on = m_timeFit->model.fitted_on.hardware.empty()
                                      ? m_timeFit->model.hardware.name
                                      : m_timeFit->model.fitted_on.hardware.front();
    m_timeFit->model = Retarget(m_timeFit->model, m_hw);
    m_timeLabel->setText(tr("runs of %1 measured on %2; their fit carried to %3 (FLOP and byte "
                            "times scale with the rates; fixed and launch times stay)")
                             .arg(QFileInfo(Q(m_in.step_runs)).fileName())
                             .arg(Q(fitted_on))
                             .arg(Q(m_hw.name)));
  }
  updateTimeChart();
}

void MainWindow::fitTimeModel(const QString& path, const std::vector<StepRun>& runs) {
  m_timeFitRunning = true;
  m_timeLabel->setText(
      tr("fitting %1 runs from %2…").arg(runs.size()).arg(QFileInfo(path).fileName()));
  const HardwareProfile hw = m_hw;
  runInBackground([this, runs, hw, path]() -> std::function<void()> {
    try {
      // Runs that name another device are refused (AssignRunsHardware), not fitted as this one.
      std::vector<StepRun> tied = runs;
      AssignRunsHardware(&tied, S(path), hw, "", false);
      auto fit = std::make_shared<TimeFitSummary>(FitTimeModel(
          tied, hw, TimeFitOptions{}, [this](double, const std::string&) { return !m_closing; }));
      return [this, fit, path] {
        m_timeFitRunning = false;
        if (fit->model.hardware.name != m_hw.name) return;  // the hardware changed meanwhile
        m_timeFit = *fit;
        auto* model = qobject_cast<QStandardItemModel*>(m_estimatorCombo->model());
        for (std::size_t i = 0; i < kNumEstimators; ++i) {
          if (model)
            model->item(static_cast<int>(i))
                ->setEnabled(fit->model.Has(static_cast<EstimatorKind>(i)));
        }
        QString text = tr("fitted to %1 runs of %2 on %3; cross-validated median error:")
                           .arg(fit->runs)
                           .arg(QFileInfo(path).fileName())
                           .arg(Q(fit->model.hardware.name));
        for (const auto& r : fit->reports) {
          if (r.available) {
            text += QStringLiteral(" %1 %2%")
                        .arg(Q(ToString(r.kind)))
                        .arg(r.cv_median * 100, 0, 'f', 1);
          }
        }
        m_timeLabel->setText(text);
        m_in.estimator = ToString(fit->model.best);
        {
          const QSignalBlocker block(m_estimatorCombo);
          m_estimatorCombo->setCurrentIndex(m_estimatorCombo->findData(Q(m_in.estimator)));
        }
        updateTimeChart();
        schedulePlan();
        Q_EMIT timeFitDone();
      };
    } catch (const std::exception& e) {
      const QString message = Q(e.what());
      return [this, message] {
        m_timeFitRunning = false;
        m_timeLabel->setText(tr("fit failed"));
        showError(tr("Step-time fit"), message);
      };
    }
  });
}

QString MainWindow::timeProvenance(EstimatorKind e, const ModelShape* best) const {
  const bool fitted = fittedFor(e);
  QString text = tr("Step times: %1 estimator on %2").arg(Q(ToString(e)), Q(m_hw.name));
  if (Q(m_in.hardware) == calibratedProfilePath()) {
    // The profile Tools > Calibrate attention kernels fitted: say what it changes.
    AttentionKind kind = AttentionKind::kFlash;
    Parse(m_in.attention, &kind);
    const bool random_features = kind == AttentionKind::kFavor || kind == AttentionKind::kDark;
    text += random_features ? tr(" (rates calibrated on this machine's attention kernels: the %1 "
                                 "attention is priced with them)")
                                  .arg(Q(ToString(kind)))
                            : tr(" (rates calibrated on this machine's attention kernels)");
  }
  if (!fitted) {
    return text + tr("'s rates (see Hardware), not fitted to measured runs.");
  }
  const FitDomain& domain = m_timeFit->model.fitted_on;
  QStringList devices;
  for (const StepRun& r : m_stepRuns) {
    const QString d = Q(r.device.empty() ? r.hardware : r.device);
    if (!d.isEmpty() && !devices.contains(d)) devices << d;
  }
  QStringList labels;
  for (const std::string& h : domain.hardware) labels << Q(h);
  text += tr(", fitted to %1 runs of %2")
              .arg(domain.runs > 0 ? domain.runs : m_timeFit->runs)
              .arg(QFileInfo(Q(m_in.step_runs)).fileName());
  if (!devices.isEmpty()) text += tr(" measured on %1").arg(devices.join(QStringLiteral(", ")));
  if (!labels.isEmpty() && !labels.contains(Q(m_hw.name))) {
    text += tr(" (as %1; carried to %2)").arg(labels.join(QStringLiteral(", ")), Q(m_hw.name));
  }
  text += QLatin1Char('.');
  if (best != nullptr) {
    const std::vector<std::string> outside = OutsideFitDomain(domain, *best);
    if (!outside.empty()) {
      QStringList parts;
      for (const std::string& o : outside) parts << Q(o);
      text +=
          tr(" The best shape lies outside those runs: %1.").arg(parts.join(QStringLiteral("; ")));
    }
  }
  return text;
}

void MainWindow::updateTimeChart() {
  if (!m_timeFit) {
    auto* model = qobject_cast<QStandardItemModel*>(m_estimatorCombo->model());
    if (model) model->item(static_cast<int>(EstimatorKind::kCalibrated))->setEnabled(false);
    if (m_timeLabel->text().isEmpty() || !m_timeFitRunning) {
      m_timeLabel->setText(tr("unfitted: datasheet rates (calibrated needs measured runs)"));
    }
    m_timePanel->showEmpty(
        tr("No measured step times yet.\nUse \"Fit from measured runs…\" with a runs CSV "
           "(d_model, n_layers, n_heads, d_ff, seq_len, batch, vocab, step_ms) to fit the "
           "estimators and compare their predictions with the measurements."));
    return;
  }
  m_timePanel->setChart(plots::MakeTimeFitChart(m_stepRuns, *m_timeFit));
}

// ---------------------------------------------------------------------------------------------
// Loss law.

void MainWindow::askLossRuns() {
  const QString path = askOpen(tr("Loss runs"), tr("CSV files (*.csv)"));
  if (path.isEmpty()) return;
  std::vector<std::string> columns;
  try {
    columns = ReadCsv(S(path)).header;
  } catch (const std::exception& e) {
    showError(tr("Loss runs"), Q(e.what()));
    return;
  }
  const auto options = AskLossRunsOptions(this, QFileInfo(path).fileName(), columns, m_in.loss);
  if (!options) return;
  m_in.loss = *options;
  loadLossRuns(path);
}

void MainWindow::loadLossRuns(const QString& path) {
  LossRunsTable table;
  LossRunsOptions options;
  try {
    // A file without the columns the inputs name, in a layout the guesses know (Epoch's
    // digitised Chinchilla runs), is read with those; the choices are kept in the session.
    m_in.loss = GuessLossColumns(ReadCsv(S(path)).header, m_in.loss);
    options = ToLossRunsOptions(m_in.loss);
    table = LoadLossRuns(S(path), options);
  } catch (const std::exception& e) {
    showError(tr("Loss runs"), Q(e.what()));
    return;
  }
  m_lossFitRunning = true;
  m_lawLabel->setText(tr("fitting %1 runs of %2%3…")
                          .arg(table.runs.size())
                          .arg(QFileInfo(path).fileName())
                          .arg(table.dropped.empty()
                                   ? QString()
                                   : tr(" (%1 highest-loss dropped)").arg(table.dropped.size())));
  const std::vector<LossRun> runs = table.runs;
  LossFitOptions fit_options;
  fit_options.bootstrap_resamples = m_in.loss.bootstrap;
  const ParamCount counted = options.params_counted;
  runInBackground([this, runs, path, fit_options, counted]() -> std::function<void()> {
    try {
      auto fit = std::make_shared<LossFitSummary>(
          FitLossLaw(runs, fit_options, [this](double, const std::string&) { return !m_closing; }));
      // With a bootstrap the law carries its draws (as fit-loss writes it): the plan's loss
      // intervals and the charts' bands come from them.
      fit->law = LawWithDraws(*fit);
      fit->law.params_counted = counted;
      return [this, fit, runs, path] {
        m_lossFitRunning = false;
        m_lossRuns = runs;
        m_law = fit->law;
        m_lawName = "fitted";
        m_in.law = "fitted";
        m_in.loss_runs = S(path);
        SetComboData(m_lawCombo, QStringLiteral("fitted"), tr("fitted to runs"));
        m_lawCombo->setItemText(m_lawCombo->currentIndex(),
                                tr("fitted: %1").arg(QFileInfo(path).fileName()));
        updateLawChart();
        schedulePlan();
        Q_EMIT lossFitDone();
      };
    } catch (const std::exception& e) {
      const QString message = Q(e.what());
      return [this, message] {
        m_lossFitRunning = false;
        updateLawChart();
        showError(tr("Loss-law fit"), message);
      };
    }
  });
}

void MainWindow::loadLawFile(const QString& path) {
  try {
    m_law = LoadLaw(S(path));
  } catch (const std::exception& e) {
    showError(tr("Loss law"), Q(e.what()));
    return;
  }
  m_lawName = S(QFileInfo(path).fileName());
  m_in.law = S(path);
  m_lossRuns.clear();
  SetComboData(m_lawCombo, path, QFileInfo(path).fileName());
  updateLawChart();
  schedulePlan();
}

void MainWindow::updateLawChart() {
  std::string text;
  if (m_law.form == LossLaw::Form::kChinchilla) {
    text = fmt::format("L = {:.3f} + {:.4g}/N^{:.3f} + {:.4g}/D^{:.3f}", m_law.E, m_law.A,
                       m_law.alpha, m_law.B, m_law.beta);
  } else {
    text = fmt::format("Kaplan form, N_c {:.3g}, D_c {:.3g}", m_law.N_c, m_law.D_c);
  }
  if (!m_lossFitRunning) m_lawLabel->setText(Q(text));
  if (!m_lossRuns.empty() && m_lawName == "fitted") {
    m_lawPanel->setChart(plots::MakeLossFitChart(m_lossRuns, m_law, "Loss-law fit"));
    return;
  }
  std::vector<double> sizes = {1e8, 1e9, 1e10};
  if (m_plan && m_plan->found) {
    const double n = m_plan->best.params;
    sizes = {n / 10, n, n * 10};
  }
  m_lawPanel->setChart(plots::MakeLawCurvesChart(m_law, sizes, "Loss law " + m_lawName));
}

// ---------------------------------------------------------------------------------------------
// Kernels.

void MainWindow::loadAttentionCsv(const QString& path) {
  try {
    m_attentionRows = plots::ReadAttentionCsv(S(path));
  } catch (const std::exception& e) {
    showError(tr("Kernel timings"), Q(e.what()));
    return;
  }
  m_in.attention_csv = S(path);
  m_attentionMachine = "measured in " + S(QFileInfo(path).fileName());
  updateKernelChart();
}

void MainWindow::updateKernelChart() {
  if (m_attentionRows.empty()) {
    m_kernelPanel->showEmpty(
        tr("No kernel timings yet.\nRun Tools > Calibrate attention kernels on this machine, "
           "or load the CSV of `chronoscale calibrate --out kernels.csv` (or a timing CSV), to "
           "compare measured attention kernel times with the model."));
    return;
  }
  std::vector<plots::AttentionRow> rows = m_attentionRows;
  const bool predicted_here = plots::PredictMissingAttention(&rows, m_hw) > 0;
  // The measurements are labelled with the machine they came from, never with the profile on
  // screen (a loaded file's machine is unknown: its name is given instead).
  const std::string measured =
      m_attentionMachine.empty() ? std::string("measured") : m_attentionMachine;
  const std::string title = fmt::format(
      "Attention kernels: {} and {}", measured,
      predicted_here ? "roofline on " + m_hw.name : std::string("calibrated model (k-fold)"));
  m_kernelPanel->setChart(plots::MakeAttentionChart(plots::AttentionCurvesFromRows(rows), title));
}

}  // namespace chronoscale::gui
