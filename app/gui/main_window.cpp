#include "main_window.h"

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

// The icon lives in a static library's resources: they need an explicit init.
static void InitResources() { Q_INIT_RESOURCE(chronoscale); }

namespace chronoscale::gui {

MainWindow::MainWindow(bool use_settings, QWidget* parent)
    : QMainWindow(parent), m_useSettings(use_settings) {
  InitResources();
  setWindowTitle(QStringLiteral("chronoscale %1").arg(QLatin1String(Version())));
  setWindowIcon(QIcon(QStringLiteral(":/icons/chronoscale.svg")));
  m_pool.setMaxThreadCount(2);
  m_debounce = new QTimer(this);
  m_debounce->setSingleShot(true);
  m_debounce->setInterval(30);
  connect(m_debounce, &QTimer::timeout, this, &MainWindow::startPlan);
  buildUi();
  buildMenus();
  connectInputs();

  SessionInputs start;
  if (m_useSettings) {
    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("geometry")).toByteArray());
    const QString saved = settings.value(QStringLiteral("session")).toString();
    if (!saved.isEmpty()) {
      try {
        start = SessionFromJson(ParseJson(S(saved), "settings"), "settings");
      } catch (const std::exception& e) {
        statusBar()->showMessage(
            tr("Saved settings were unreadable and have been reset: %1").arg(Q(e.what())), 8000);
        settings.remove(QStringLiteral("session"));  // not again on the next start
        start = SessionInputs();
      }
    }
  }
  applyInputs(start);
}

MainWindow::~MainWindow() {
  m_closing = true;
  m_cancelBench = true;
  m_pool.waitForDone();
}

bool MainWindow::busy() const {
  return m_planRunning || m_planPending || m_debounce->isActive() || m_timeFitRunning ||
         m_lossFitRunning || m_calibrating;
}

// The window: the inputs (scrolling) beside the banner and the tabs; the plan's status line.
void MainWindow::buildUi() {
  auto* split = new QSplitter(Qt::Horizontal, this);
  auto* scroll = new QScrollArea();
  scroll->setWidget(buildInputPanel());
  scroll->setWidgetResizable(true);
  scroll->setMinimumWidth(340);
  split->addWidget(scroll);

  m_tabs = new QTabWidget();
  m_tabs->setObjectName(QStringLiteral("tabs"));
  m_planPage = buildPlanTab();
  m_tabs->addTab(m_planPage, tr("Plan"));

  m_lawPanel = new plots::ChartPanel();
  m_lawPanel->setObjectName(QStringLiteral("lawChart"));
  m_tabs->addTab(m_lawPanel, tr("Loss law"));
  m_timePanel = new plots::ChartPanel();
  m_timePanel->setObjectName(QStringLiteral("timeChart"));
  m_tabs->addTab(m_timePanel, tr("Step-time calibration"));

  m_tabs->addTab(buildKernelTab(), tr("Kernels"));
  updateKernelChart();

  m_rooflinePage = buildRooflinePage();
  m_tabs->addTab(m_rooflinePage, tr("Roofline and breakdown"));
  split->addWidget(buildRightPane());
  split->setStretchFactor(1, 1);
  setCentralWidget(split);

  addChartContextMenus();
  m_planStatus = new QLabel();
  m_planStatus->setObjectName(QStringLiteral("planStatus"));
  statusBar()->addPermanentWidget(m_planStatus);
  resize(1500, 950);
}

// Plan: heatmap over the table of best shapes.
QWidget* MainWindow::buildPlanTab() {
  auto* planTab = new QWidget();
  auto* planLayout = new QVBoxLayout(planTab);
  auto* planSplit = new QSplitter(Qt::Vertical);
  m_heatmap = new plots::ChartPanel();
  m_heatmap->setObjectName(QStringLiteral("heatmap"));
  m_heatmap->setPointerHandlers({[this](double x, double y) { hoverSurface(x, y); },
                                 [] { QToolTip::hideText(); },
                                 [this](double x, double y) { clickSurface(x, y); }});
  m_heatmap->setMinimumHeight(300);
  planSplit->addWidget(m_heatmap);
  planSplit->addWidget(buildPlanLower());
  planSplit->setStretchFactor(0, 3);
  planSplit->setStretchFactor(1, 1);
  planSplit->setSizes({560, 340});  // at 1280 x 720: the surface and 6 rows of the table
  planLayout->addWidget(planSplit);
  return planTab;
}

// Under the surface: the hint and the fixed-colour-scale box, the summary, the best shapes.
QWidget* MainWindow::buildPlanLower() {
  auto* lower = new QWidget();
  auto* lowerLayout = new QVBoxLayout(lower);
  lowerLayout->setContentsMargins(0, 0, 0, 0);
  auto* surfaceRow = new QHBoxLayout();
  auto* hint = new QLabel(tr("Hover over the surface to read a shape; click to select it."));
  hint->setStyleSheet(QStringLiteral("color: #666;"));
  surfaceRow->addWidget(hint);
  surfaceRow->addStretch();
  m_fixScaleBox = new QCheckBox(tr("Keep this colour scale for the next plans"));
  m_fixScaleBox->setObjectName(QStringLiteral("fixColourScale"));
  m_fixScaleBox->setToolTip(
      tr("The same loss keeps the same colour when the inputs change, so plans compare by eye; "
         "losses above the scale take its darkest colour"));
  connect(m_fixScaleBox, &QCheckBox::toggled, this, &MainWindow::setFixedColourScale);
  surfaceRow->addWidget(m_fixScaleBox);
  lowerLayout->addLayout(surfaceRow);
  m_summary = new QLabel();
  m_summary->setObjectName(QStringLiteral("summary"));
  m_summary->setWordWrap(true);
  m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
  // The plan's own reports (plan_report.h) as plain text: the brief one and the full one that
  // `chronoscale plan` prints (also the summary's tooltip).
  m_summary->setContextMenuPolicy(Qt::ActionsContextMenu);
  for (const bool brief : {true, false}) {
    auto* copy =
        new QAction(brief ? tr("Copy the answer (brief)") : tr("Copy the full report"), m_summary);
    copy->setObjectName(brief ? QStringLiteral("copyBrief") : QStringLiteral("copyReport"));
    connect(copy, &QAction::triggered, this, [this, brief] {
      if (!m_plan) return;
      QGuiApplication::clipboard()->setText(Q(brief ? PlanBrief(*m_plan) : PlanReport(*m_plan)));
    });
    m_summary->addAction(copy);
  }
  lowerLayout->addWidget(m_summary);
  lowerLayout->addWidget(buildTopTable());
  return lower;
}

// The table of the best shapes (m_table): read-only, one row selected at a time.
QTableWidget* MainWindow::buildTopTable() {
  m_table = new QTableWidget(0, 10);
  m_table->setObjectName(QStringLiteral("topTable"));
  m_table->setHorizontalHeaderLabels({tr("d_model"), tr("layers"), tr("heads"), tr("params"),
                                      tr("step ms"), tr("tokens"), tr("loss"), tr("mem GiB"),
                                      tr("aspect"), tr("layout")});
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::SingleSelection);
  m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  m_table->horizontalHeader()->setSectionResizeMode(9, QHeaderView::ResizeToContents);
  m_table->verticalHeader()->setVisible(false);
  m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
  return m_table;
}

// Kernels: the calibrate and load buttons over the measured-against-predicted chart.
QWidget* MainWindow::buildKernelTab() {
  auto* kernelTab = new QWidget();
  auto* kernelLayout = new QVBoxLayout(kernelTab);
  auto* loadKernels = new QPushButton(tr("Load kernel timings CSV…"));
  loadKernels->setToolTip(
      tr("The CSV of `chronoscale calibrate --out`, or a timing CSV (kind, seq_len, d_head, "
         "features, ms)"));
  connect(loadKernels, &QPushButton::clicked, this, [this] {
    const QString p = askOpen(tr("Kernel timings"), tr("CSV files (*.csv)"));
    if (!p.isEmpty()) loadAttentionCsv(p);
  });
  auto* calibrate = new QPushButton(tr("Calibrate on this machine…"));
  calibrate->setObjectName(QStringLiteral("calibrateButton"));
  calibrate->setToolTip(
      tr("Time the included attention kernels here, fit the cost model and plan on the "
         "calibrated profile"));
  connect(calibrate, &QPushButton::clicked, this, &MainWindow::askCalibrateKernels);
  auto* kernelRow = new QHBoxLayout();
  kernelRow->addWidget(calibrate);
  kernelRow->addWidget(loadKernels);
  kernelRow->addStretch();
  kernelLayout->addLayout(kernelRow);
  m_kernelPanel = new plots::ChartPanel();
  m_kernelPanel->setObjectName(QStringLiteral("kernelChart"));
  kernelLayout->addWidget(m_kernelPanel);
  return kernelTab;
}

// Roofline and breakdown of the selected shape.
QWidget* MainWindow::buildRooflinePage() {
  // One above the other: each chart gets the full width, its legend whole and its ticks apart.
  auto* rooflineSplit = new QSplitter(Qt::Vertical);
  m_rooflinePanel = new plots::ChartPanel();
  m_rooflinePanel->setObjectName(QStringLiteral("rooflineChart"));
  m_breakdownPanel = new plots::ChartPanel();
  m_breakdownPanel->setObjectName(QStringLiteral("breakdownChart"));
  rooflineSplit->addWidget(m_rooflinePanel);
  rooflineSplit->addWidget(m_breakdownPanel);
  return rooflineSplit;
}

// The window's right side: the stale-plan banner above the tabs.
QWidget* MainWindow::buildRightPane() {
  // Above the tabs: a banner, shown while the inputs cannot be planned.
  auto* right = new QWidget();
  auto* rightLayout = new QVBoxLayout(right);
  rightLayout->setContentsMargins(0, 0, 0, 0);
  m_staleBanner = new QLabel();
  m_staleBanner->setObjectName(QStringLiteral("staleBanner"));
  m_staleBanner->setWordWrap(true);
  m_staleBanner->setStyleSheet(
      QStringLiteral("background: #fff3cd; color: #664d03; border: 1px solid #e0b84c; "
                     "padding: 6px;"));
  m_staleBanner->hide();
  rightLayout->addWidget(m_staleBanner);
  rightLayout->addWidget(m_tabs);
  return right;
}

// Each chart's context menu: export it as PNG or SVG.
void MainWindow::addChartContextMenus() {
  for (plots::ChartPanel* panel :
       {m_heatmap, m_lawPanel, m_timePanel, m_kernelPanel, m_rooflinePanel, m_breakdownPanel}) {
    panel->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(panel, &QWidget::customContextMenuRequested, this, [this, panel](const QPoint& at) {
      QMenu menu;
      menu.addAction(tr("Export chart (PNG or SVG)…"), this,
                     [this, panel] { exportPanel(panel, panel->objectName()); });
      menu.exec(panel->mapToGlobal(at));
    });
  }
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("&Open session…"), QKeySequence::Open, this, [this] {
    const QString p = askOpen(tr("Planning session"), tr("Sessions (*.json)"));
    if (!p.isEmpty()) openSession(p);
  });
  file->addAction(tr("&Save session…"), QKeySequence::Save, this, [this] {
    const QString p =
        askSave(tr("Planning session"), tr("Sessions (*.json)"), QStringLiteral("session.json"));
    if (!p.isEmpty()) saveSession(p);
  });
  file->addSeparator();
  file->addAction(tr("Export &chart (PNG or SVG)…"), this, &MainWindow::exportCurrentChart);
  file->addAction(tr("Export s&urface (CSV)…"), this, [this] {
    const QString p = askSave(tr("Surface"), tr("CSV (*.csv)"), QStringLiteral("surface.csv"));
    if (!p.isEmpty()) exportSurfaceCsv(p);
  });
  file->addAction(tr("Export &plan (JSON)…"), this, [this] {
    const QString p = askSave(tr("Plan"), tr("JSON (*.json)"), QStringLiteral("plan.json"));
    if (!p.isEmpty()) exportPlanJson(p);
  });
  file->addSeparator();
  file->addAction(tr("&Import Hugging Face config…"), this, [this] {
    const QString p = askOpen(tr("Hugging Face config"), tr("config.json (*.json)"));
    if (!p.isEmpty()) importHfConfig(p);
  });
  file->addAction(tr("Export selected shape as &Hugging Face config…"), this, [this] {
    const QString p =
        askSave(tr("Hugging Face config"), tr("JSON (*.json)"), QStringLiteral("config.json"));
    if (!p.isEmpty()) exportHfConfig(p);
  });
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
  QMenu* tools = menuBar()->addMenu(tr("&Tools"));
  tools->addAction(tr("&Measure this machine"), this, &MainWindow::measureMachine);
  tools
      ->addAction(tr("&Calibrate attention kernels on this machine…"), this,
                  &MainWindow::askCalibrateKernels)
      ->setObjectName(QStringLiteral("calibrateKernels"));
  tools->addAction(tr("Fit &step time from runs CSV…"), this, [this] {
    const QString p = askOpen(tr("Step-time runs"), tr("CSV files (*.csv)"));
    if (!p.isEmpty()) loadStepRuns(p);
  });
  tools->addAction(tr("Fit &loss law from runs CSV…"), this, &MainWindow::askLossRuns);
  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&Quick reference"), QKeySequence::HelpContents, this,
                  &MainWindow::showQuickReference);
  help->addAction(tr("&About chronoscale"), this, &MainWindow::showAbout);
}

void MainWindow::connectInputs() {
  connect(m_hardwareCombo, &QComboBox::activated, this,
          [this](int i) { setHardware(m_hardwareCombo->itemData(i).toString()); });
  connect(m_estimatorCombo, &QComboBox::currentIndexChanged, this, [this] {
    inputsChanged();
    updateShapeCharts();
  });
  connect(m_lawCombo, &QComboBox::activated, this, [this](int i) {
    const QString value = m_lawCombo->itemData(i).toString();
    if (value == QLatin1String("fitted")) {
      if (m_lossFitRunning || m_lossRuns.empty()) return;
      m_lawName = "fitted";
    } else if (!QFileInfo(value).isFile()) {
      try {
        m_law = LossLawPreset(S(value));
        m_lawName = S(value);
      } catch (const std::exception& e) {
        showError(tr("Loss law"), Q(e.what()));
        return;
      }
      m_in.law = S(value);
    } else {
      loadLawFile(value);
      return;
    }
    updateLawChart();
    schedulePlan();
  });
  connect(m_table, &QTableWidget::itemSelectionChanged, this, [this] {
    const auto rows = m_table->selectionModel()->selectedRows();
    if (rows.isEmpty()) return;
    m_selectedRow = rows.first().row();
    m_picked.reset();
    if (m_plan) redrawSurface();
    updateShapeCharts();
  });
}

void MainWindow::readWidgets() {
  m_inputs->read(&m_in);
  m_in.estimator = S(m_estimatorCombo->currentData().toString());
}

void MainWindow::writeWidgets() {
  m_updatingWidgets = true;
  m_inputs->write(m_in);
  {
    const QSignalBlocker block(m_estimatorCombo);
    m_estimatorCombo->setCurrentIndex(std::max(0, m_estimatorCombo->findData(Q(m_in.estimator))));
  }
  m_updatingWidgets = false;
}

void MainWindow::inputsChanged() {
  if (m_updatingWidgets) return;
  readWidgets();
  schedulePlan();
}

void MainWindow::applyInputs(const SessionInputs& in) {
  m_in = in;
  m_imported.reset();  // another session: its own architecture
  m_importedEval.reset();
  m_timeFit.reset();
  m_stepRuns.clear();
  m_lossRuns.clear();
  writeWidgets();
  // Hardware first: the time model is fitted for it.
  try {
    m_hw = LoadHardware(m_in.hardware);
    SetComboData(m_hardwareCombo, Q(m_in.hardware),
                 IsHardwarePreset(m_in.hardware) ? Q(m_in.hardware)
                                                 : QFileInfo(Q(m_in.hardware)).fileName());
  } catch (const std::exception& e) {
    showError(tr("Hardware"), Q(e.what()));
    m_in.hardware = "h100-sxm";
    m_hw = LoadHardware(m_in.hardware);
    SetComboData(m_hardwareCombo, Q(m_in.hardware), Q(m_in.hardware));
  }
  updateHardwareLabel();
  if (m_in.law == "fitted" && !m_in.loss_runs.empty()) {
    m_law = LossLawPreset("epoch");
    m_lawName = "epoch";
    loadLossRuns(Q(m_in.loss_runs));
  } else {
    try {
      m_law = LoadLaw(m_in.law);
      m_lawName = m_in.law;
      SetComboData(
          m_lawCombo, Q(m_in.law),
          QFileInfo(Q(m_in.law)).isFile() ? QFileInfo(Q(m_in.law)).fileName() : Q(m_in.law));
    } catch (const std::exception& e) {
      showError(tr("Loss law"), Q(e.what()));
      m_in.law = "epoch";
      m_law = LossLawPreset("epoch");
      m_lawName = "epoch";
      SetComboData(m_lawCombo, Q(m_in.law), Q(m_in.law));
    }
  }
  updateLawChart();
  updateTimeChart();
  if (!m_in.step_runs.empty()) loadStepRuns(Q(m_in.step_runs));
  m_attentionRows.clear();
  if (!m_in.attention_csv.empty()) {
    loadAttentionCsv(Q(m_in.attention_csv));
  } else {
    updateKernelChart();
  }
  schedulePlan();
}

// ---------------------------------------------------------------------------------------------
// Plumbing.

void MainWindow::runInBackground(std::function<std::function<void()>()> work) {
  m_pool.start([this, work = std::move(work)] {
    std::function<void()> done = work();
    if (m_closing || !done) return;
    QMetaObject::invokeMethod(this, std::move(done), Qt::QueuedConnection);
  });
}

void MainWindow::showError(const QString& title, const QString& message) {
  // Non-blocking (open, not exec): the app keeps running, and tests can find and close it.
  auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
  box->setObjectName(QStringLiteral("errorDialog"));
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
  statusBar()->showMessage(message, 10000);
  Q_EMIT errorShown(message);
}

QString MainWindow::askOpen(const QString& title, const QString& filter) {
  QSettings settings;
  const QString dir = settings.value(QStringLiteral("lastDir")).toString();
  const QString path = QFileDialog::getOpenFileName(this, title, dir, filter);
  if (!path.isEmpty()) settings.setValue(QStringLiteral("lastDir"), QFileInfo(path).absolutePath());
  return path;
}

QString MainWindow::askSave(const QString& title, const QString& filter, const QString& suggested) {
  QSettings settings;
  const QString dir = settings.value(QStringLiteral("lastDir")).toString();
  const QString path =
      QFileDialog::getSaveFileName(this, title, QDir(dir).filePath(suggested), filter);
  if (!path.isEmpty()) settings.setValue(QStringLiteral("lastDir"), QFileInfo(path).absolutePath());
  return path;
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (m_useSettings) {
    QSettings settings;
    settings.setValue(QStringLiteral("geometry"), saveGeometry());
    settings.setValue(QStringLiteral("session"), Q(SessionToJson(m_in).dump()));
  }
  m_closing = true;
  m_cancelBench = true;
  QMainWindow::closeEvent(event);
}

}  // namespace chronoscale::gui
