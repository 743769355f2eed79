// The hardware and measuring this machine: a preset or profile file; Tools > Measure this machine
// (the quick bench on a worker thread); Tools > Calibrate attention kernels, where the app times
// its own attention kernels on this machine (CalibrateAttention, on a worker thread with progress
// and Cancel), fits the cost model, shows measured against predicted on the Kernels tab and plans
// on the calibrated profile.
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <optional>

#include <QComboBox>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QPointer>
#include <QProgressDialog>
#include <QPushButton>
#include <QStatusBar>

#include <chronoscale/bench.h>
#include <chronoscale/error.h>
#include <chronoscale/io.h>

#include "gui_util.h"
#include "main_window.h"

namespace chronoscale::gui {

QString MainWindow::calibratedProfilePath() {
  const std::filesystem::path local = LocalProfileCachePath();
  return Q((local.parent_path() / "local-calibrated.json").string());
}

void MainWindow::askCalibrateKernels() {
  const QStringList sizes = {
      tr("Quick: sequence 256-2048, head size 64, 3 passes (about a minute)"),
      tr("Full: sequence 256-4096, head sizes 32 and 64, 5 passes (several minutes)")};
  bool ok = false;
  const QString choice = QInputDialog::getItem(
      this, tr("Calibrate attention kernels"),
      tr("Time every included kernel (exact softmax, flash-style, FAVOR+ and its variants, "
         "optimal, data-aware) on this machine over:"),
      sizes, 0, false, &ok);
  if (!ok) return;
  CalibrateOptions options;
  if (choice == sizes[0]) options.MakeQuick();
  calibrateKernels(options);
}

void MainWindow::cancelKernelCalibration() { m_cancelCalibration = true; }

void MainWindow::calibrateKernels(const CalibrateOptions& options) {
  if (m_calibrating) return;
  std::string why;
  if (!options.IsValid(&why)) {
    showError(tr("Calibrate attention kernels"), Q(why));
    return;
  }
  auto* dialog = new QProgressDialog(tr("Timing the attention kernels on this machine…"),
                                     tr("Cancel"), 0, 1000, this);
  dialog->setObjectName(QStringLiteral("calibrateProgress"));
  dialog->setWindowModality(Qt::WindowModal);
  dialog->setMinimumDuration(0);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  m_cancelCalibration = false;
  m_calibrating = true;
  connect(dialog, &QProgressDialog::canceled, this, &MainWindow::cancelKernelCalibration);
  dialog->show();
  QPointer<QProgressDialog> guard(dialog);
  // The roofline the kernels are compared with is this machine's: the profile on screen when it
  // is the measured one, else the cached measurement (or a quick one now).
  std::optional<HardwareProfile> here;
  if (m_hw.name == "local") here = m_hw;
  const QString path = calibratedProfilePath();
  runInBackground([this, guard, options, here, path]() -> std::function<void()> {
    // Progress from [lo, hi] of the dialog's range; false (stop) on Cancel or when closing.
    auto report = [this, guard](double lo, double hi) -> ProgressCallback {
      return [this, guard, lo, hi](double fraction, const std::string& message) {
        const int value = static_cast<int>((lo + (hi - lo) * fraction) * 1000);
        QMetaObject::invokeMethod(
            this,
            [guard, value, message] {
              if (guard) {
                guard->setValue(value);
                guard->setLabelText(Q(message));
              }
            },
            Qt::QueuedConnection);
        return !m_cancelCalibration && !m_closing;
      };
    };
    try {
      const HardwareProfile hw = here ? *here : LoadHardwareOrLocal("local", report(0, 0.15));
      auto summary = std::make_shared<CalibrateSummary>(
          CalibrateAttention(options, hw, report(here ? 0 : 0.15, 1)));
      // Written only once the fit succeeded: a cancelled or failed run leaves the file as it was.
      std::filesystem::create_directories(std::filesystem::path(S(path)).parent_path());
      WriteFileAtomic(S(path), HardwareToJson(summary->calibrated).dump(2) + "\n");
      return [this, guard, summary, path] {
        if (guard) guard->close();
        calibrationFinished(*summary, path);
      };
    } catch (const Cancelled&) {
      return [this, guard] {
        if (guard) guard->close();
        m_calibrating = false;
        statusBar()->showMessage(
            tr("Kernel calibration cancelled: the profile and the plan are unchanged."), 8000);
      };
    } catch (const std::exception& e) {
      const QString message = Q(e.what());
      return [this, guard, message] {
        if (guard) guard->close();
        m_calibrating = false;
        showError(tr("Calibrate attention kernels"), message);
      };
    }
  });
}

void MainWindow::calibrationFinished(const CalibrateSummary& summary, const QString& path) {
  m_calibrating = false;
  m_calibration = summary;
  // Measured against the calibrated model's k-fold predictions (each point predicted by the
  // model fitted without it).
  m_attentionRows.clear();
  for (const CalibrationPoint& p : summary.points) {
    plots::AttentionRow row;
    row.kernel = ToString(p.kernel);
    row.seq_len = p.seq_len;
    row.d_head = p.d_head;
    row.features = p.features;
    row.measured_s = p.measured_s;
    row.predicted_s = p.predicted_s;
    m_attentionRows.push_back(row);
  }
  const std::string device = summary.calibrated.device;
  m_attentionMachine =
      "measured on this machine" + (device.empty() ? std::string() : " (" + device + ")");
  m_in.attention_csv.clear();  // the rows come from the app, not from a file
  updateKernelChart();
  // Plan on the calibrated profile: every op, the attention kernels' included, priced with the
  // fitted effective rates. The hardware label and the charts name it.
  SetComboData(m_hardwareCombo, path, tr("this machine (kernels calibrated)"));
  setHardware(path);
  statusBar()->showMessage(
      Q(fmt::format("Calibrated on {} kernel timings: median error {:.1f}% with the roofline, "
                    "{:.1f}% calibrated (k-fold); planning on {}",
                    summary.points.size(), 100 * summary.median_error_before,
                    100 * summary.median_error_after, S(path))),
      15000);
}

// ---------------------------------------------------------------------------------------------
// Hardware.

void MainWindow::setHardware(const QString& name_or_path) {
  try {
    m_hw = LoadHardware(S(name_or_path));
  } catch (const std::exception& e) {
    showError(tr("Hardware"), Q(e.what()));
    SetComboData(m_hardwareCombo, Q(m_in.hardware), Q(m_in.hardware));
    return;
  }
  m_in.hardware = S(name_or_path);
  SetComboData(m_hardwareCombo, name_or_path,
               IsHardwarePreset(m_in.hardware) ? name_or_path : QFileInfo(name_or_path).fileName());
  updateHardwareLabel();
  refitTimeModelIfNeeded();
  updateKernelChart();
  schedulePlan();
}

void MainWindow::updateHardwareLabel() {
  const double bf16 = m_hw.matmul_flops_per_s[static_cast<std::size_t>(Precision::kBf16)];
  QString text = tr("%1: %2 GB/s, %3 TFLOP/s bf16 matmul, %4 GiB")
                     .arg(Q(m_hw.name))
                     .arg(m_hw.mem_bandwidth_bytes_per_s / 1e9, 0, 'f', 0)
                     .arg(bf16 / 1e12, 0, 'f', 1)
                     .arg(m_hw.memory_bytes / kGiB, 0, 'f', 0);
  if (!m_hw.source.empty()) text += QStringLiteral("\n") + Q(m_hw.source);
  m_hardwareLabel->setText(text);
  m_hardwareLabel->setToolTip(Q(m_hw.source + (m_hw.date.empty() ? "" : ", " + m_hw.date)));
}

void MainWindow::measureMachine() {
  auto* dialog = new QProgressDialog(tr("Measuring this machine…"), tr("Cancel"), 0, 1000, this);
  dialog->setObjectName(QStringLiteral("benchProgress"));
  dialog->setWindowModality(Qt::WindowModal);
  dialog->setMinimumDuration(0);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  m_cancelBench = false;
  connect(dialog, &QProgressDialog::canceled, this, [this] { m_cancelBench = true; });
  dialog->show();
  m_measureButton->setEnabled(false);
  QPointer<QProgressDialog> guard(dialog);
  runInBackground([this, guard]() -> std::function<void()> {
    BenchOptions options;
    options.quick = true;
    try {
      const BenchSummary summary =
          RunBench(options, [this, guard](double fraction, const std::string& message) {
            QMetaObject::invokeMethod(
                this,
                [guard, fraction, message] {
                  if (guard) {
                    guard->setValue(static_cast<int>(fraction * 1000));
                    guard->setLabelText(Q(message));
                  }
                },
                Qt::QueuedConnection);
            return !m_cancelBench && !m_closing;
          });
      const HardwareProfile profile = summary.ToHardwareProfile();
      const std::string path = LocalProfileCachePath();
      std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      WriteFileAtomic(path, HardwareToJson(profile).dump(2) + "\n");
      return [this, guard, path] {
        if (guard) guard->close();
        m_measureButton->setEnabled(true);
        SetComboData(m_hardwareCombo, Q(path), tr("this machine (measured)"));
        setHardware(Q(path));
        statusBar()->showMessage(tr("Measured profile saved to %1").arg(Q(path)), 8000);
      };
    } catch (const Cancelled&) {
      return [this, guard] {
        if (guard) guard->close();
        m_measureButton->setEnabled(true);
        statusBar()->showMessage(tr("Measurement cancelled."), 5000);
      };
    } catch (const std::exception& e) {
      const QString message = Q(e.what());
      return [this, guard, message] {
        if (guard) guard->close();
        m_measureButton->setEnabled(true);
        showError(tr("Measure this machine"), message);
      };
    }
  });
}

}  // namespace chronoscale::gui
