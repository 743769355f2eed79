// The window's left panel: hardware, loss law and estimator groups around the input panel's
// budget, cluster and search space, and the architecture.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <utility>

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QCloseEvent>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPointer>
#include <QProgressDialog>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>

#include <chronoscale/attention.h>
#include <chronoscale/attention_calibrate.h>
#include <chronoscale/bench.h>
#include <chronoscale/error.h>
#include <chronoscale/io.h>
#include <chronoscale/plan_report.h>
#include <chronoscale/plots/chart_panel.h>
#include <chronoscale/plots/plots.h>
#include <chronoscale/version.h>

#include "architecture_panel.h"
#include "gui_util.h"
#include "input_panel.h"
#include "loss_runs_dialog.h"
#include "main_window.h"

// The icon lives in a static library's resources: they need an explicit init.
namespace chronoscale::gui {

// The left panel, top to bottom: hardware, budget, cluster, loss law, estimator, search space,
// architecture.
QWidget* MainWindow::buildInputPanel() {
  auto* panel = new QWidget();
  auto* layout = new QVBoxLayout(panel);
  layout->addWidget(buildHardwareGroup());

  m_inputs = new InputPanel(this);
  m_inputs->setOnChange([this] { inputsChanged(); });
  layout->addWidget(m_inputs->budgetGroup());
  layout->addWidget(m_inputs->clusterGroup());

  layout->addWidget(buildLawGroup());
  layout->addWidget(buildEstimatorGroup());

  layout->addWidget(m_inputs->spaceGroup());
  layout->addWidget(m_inputs->architecture());
  layout->addStretch();
  return panel;
}

// Hardware: the preset list, a profile file or this machine measured, and what it is.
QGroupBox* MainWindow::buildHardwareGroup() {
  auto* hwBox = new QGroupBox(tr("Hardware"));
  auto* hwLayout = new QVBoxLayout(hwBox);
  m_hardwareCombo = new QComboBox();
  m_hardwareCombo->setObjectName(QStringLiteral("hardware"));
  for (const auto& name : HardwarePresetNames()) m_hardwareCombo->addItem(Q(name), Q(name));
  hwLayout->addWidget(m_hardwareCombo);
  auto* hwButtons = new QHBoxLayout();
  auto* loadProfile = new QPushButton(tr("Profile file…"));
  connect(loadProfile, &QPushButton::clicked, this, [this] {
    const QString p = askOpen(tr("Hardware profile"), tr("JSON files (*.json)"));
    if (!p.isEmpty()) setHardware(p);
  });
  m_measureButton = new QPushButton(tr("Measure this machine"));
  m_measureButton->setObjectName(QStringLiteral("measure"));
  m_measureButton->setToolTip(
      tr("Runs the quick CPU microbenchmark (about 10 s) on a worker thread and uses the "
         "measured profile"));
  connect(m_measureButton, &QPushButton::clicked, this, &MainWindow::measureMachine);
  hwButtons->addWidget(loadProfile);
  hwButtons->addWidget(m_measureButton);
  hwLayout->addLayout(hwButtons);
  m_hardwareLabel = new QLabel();
  m_hardwareLabel->setWordWrap(true);
  m_hardwareLabel->setStyleSheet(QStringLiteral("color: #555;"));
  hwLayout->addWidget(m_hardwareLabel);
  return hwBox;
}

// Loss law: the preset list, a fit to loss runs or a law file, and what it is.
QGroupBox* MainWindow::buildLawGroup() {
  auto* lawBox = new QGroupBox(tr("Loss law"));
  auto* lawLayout = new QVBoxLayout(lawBox);
  m_lawCombo = new QComboBox();
  m_lawCombo->setObjectName(QStringLiteral("law"));
  for (const auto& name : LossLawPresetNames()) m_lawCombo->addItem(Q(name), Q(name));
  lawLayout->addWidget(m_lawCombo);
  auto* lawButtons = new QHBoxLayout();
  auto* fitLaw = new QPushButton(tr("Fit from loss runs…"));
  fitLaw->setToolTip(
      tr("A CSV of runs: its columns of N, D (or FLOPs) and loss are chosen "
         "next"));
  connect(fitLaw, &QPushButton::clicked, this, &MainWindow::askLossRuns);
  auto* lawFile = new QPushButton(tr("Law file…"));
  connect(lawFile, &QPushButton::clicked, this, [this] {
    const QString p = askOpen(tr("Loss law"), tr("JSON files (*.json)"));
    if (!p.isEmpty()) loadLawFile(p);
  });
  lawButtons->addWidget(fitLaw);
  lawButtons->addWidget(lawFile);
  lawLayout->addLayout(lawButtons);
  m_lawLabel = new QLabel();
  m_lawLabel->setWordWrap(true);
  m_lawLabel->setStyleSheet(QStringLiteral("color: #555;"));
  lawLayout->addWidget(m_lawLabel);
  return lawBox;
}

// Step-time estimator: the estimator list, a fit to measured runs, and where times come from.
QGroupBox* MainWindow::buildEstimatorGroup() {
  auto* timeBox = new QGroupBox(tr("Step-time estimator"));
  auto* timeLayout = new QVBoxLayout(timeBox);
  m_estimatorCombo = new QComboBox();
  m_estimatorCombo->setObjectName(QStringLiteral("estimator"));
  for (std::size_t i = 0; i < kNumEstimators; ++i) {
    const std::string name = ToString(static_cast<EstimatorKind>(i));
    m_estimatorCombo->addItem(Q(name), Q(name));
  }
  timeLayout->addWidget(m_estimatorCombo);
  auto* fitTime = new QPushButton(tr("Fit from measured runs…"));
  fitTime->setObjectName(QStringLiteral("fitTime"));
  fitTime->setToolTip(
      tr("A runs CSV: d_model, n_layers, n_heads, d_ff, seq_len, batch, vocab, "
         "step_ms"));
  connect(fitTime, &QPushButton::clicked, this, [this] {
    const QString p = askOpen(tr("Step-time runs"), tr("CSV files (*.csv)"));
    if (!p.isEmpty()) loadStepRuns(p);
  });
  timeLayout->addWidget(fitTime);
  m_timeLabel = new QLabel();
  m_timeLabel->setWordWrap(true);
  m_timeLabel->setStyleSheet(QStringLiteral("color: #555;"));
  timeLayout->addWidget(m_timeLabel);
  return timeBox;
}

}  // namespace chronoscale::gui
