// The main window: inputs on the left (hardware, budget, cluster, loss law, step-time estimator,
// search space), charts and the best shapes on the right. Widgets write a SessionInputs; the plan
// is computed from it on a worker thread (stale results dropped), as are the fits and the bench.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include <QMainWindow>
#include <QThreadPool>

#include <chronoscale/attention_calibrate.h>
#include <chronoscale/hardware.h>
#include <chronoscale/loss_law.h>
#include <chronoscale/planner.h>
#include <chronoscale/plots/plot_data.h>
#include <chronoscale/time_fit.h>

#include "session.h"

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QGroupBox;
class QLabel;
class QPushButton;
class QTableWidget;
class QTabWidget;
class QTimer;
QT_END_NAMESPACE

namespace chronoscale::plots {
class ChartPanel;
}

namespace chronoscale::gui {

class InputPanel;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  // `use_settings`: restore the last session from QSettings and save it on close (off in tests
  // and for --screenshot).
  explicit MainWindow(bool use_settings = true, QWidget* parent = nullptr);
  ~MainWindow() override;

  const SessionInputs& inputs() const { return m_in; }
  // The runs the fitted law was fitted to (after drop-highest); empty with a preset or file law.
  const std::vector<LossRun>& lossRuns() const { return m_lossRuns; }
  const LossLaw& law() const { return m_law; }
  // The latest plan (null before the first one arrives).
  const PlanResult* plan() const { return m_plan.get(); }
  int planRevision() const { return m_planRevision; }
  bool busy() const;  // a plan, fit or bench is running or pending
  // True while the inputs cannot be planned: the last plan stays on screen, greyed, under a
  // banner naming the input in the window's own words.
  bool planIsStale() const;
  QString staleBannerText() const;

  plots::ChartPanel* heatmapPanel() const { return m_heatmap; }
  plots::ChartPanel* lawPanel() const { return m_lawPanel; }
  plots::ChartPanel* timePanel() const { return m_timePanel; }
  plots::ChartPanel* kernelPanel() const { return m_kernelPanel; }
  plots::ChartPanel* rooflinePanel() const { return m_rooflinePanel; }
  plots::ChartPanel* breakdownPanel() const { return m_breakdownPanel; }
  QTableWidget* topTable() const { return m_table; }

  // Actions behind the buttons and menus (public for tests and scripting); errors in the files
  // appear as dialogs (and errorShown).
  void setHardware(const QString& name_or_path);
  void loadStepRuns(const QString& path);
  // Fits the loss law to a runs CSV read with the session's loss-runs choices (inputs().loss).
  void loadLossRuns(const QString& path);
  void loadLawFile(const QString& path);
  void loadAttentionCsv(const QString& path);
  // False (with an error dialog) when the file cannot be read as a session.
  bool openSession(const QString& path);
  void saveSession(const QString& path);
  void exportSurfaceCsv(const QString& path);
  void exportPlanJson(const QString& path);
  // File > Import Hugging Face config: the model's architecture (every variant, kv heads, head
  // size, MLP ratio, vocabulary) becomes the search's. Each plan then also prices the imported
  // model itself under the budget (importedCandidate, named in the summary); the first plan
  // after the import selects it (ringed on the surface, its roofline and breakdown shown).
  void importHfConfig(const QString& path);
  // File > Export selected shape as Hugging Face config: the config.json that builds it (an
  // error dialog when no supported model class builds it).
  void exportHfConfig(const QString& path);
  const std::optional<Candidate>& importedCandidate() const { return m_importedEval; }
  // Applies a whole session to the widgets and recomputes.
  void applyInputs(const SessionInputs& in);
  // Tools > Calibrate attention kernels (main_window_calibrate.cpp): times the kernels on this
  // machine over `options`' grid on a worker thread (a progress dialog with Cancel), against
  // this machine's measured profile (the one on screen when it is one, else the cached or a
  // fresh quick measurement), fits the cost model, shows measured against predicted on the
  // Kernels tab, saves the calibrated profile next to the measured one and plans on it. Cancel
  // or a failure leaves the profile, the plan and the saved files as they were.
  void calibrateKernels(const CalibrateOptions& options);
  void cancelKernelCalibration();  // what the dialog's Cancel does
  bool calibratingKernels() const { return m_calibrating; }
  // The last calibration this window ran (null before one finishes).
  const CalibrateSummary* kernelCalibration() const {
    return m_calibration ? &*m_calibration : nullptr;
  }
  // The shape whose roofline and breakdown show (main_window_surface.cpp): the one picked on the
  // surface, else the selected row of the table; null without a plan that found a shape.
  const Candidate* selectedCandidate() const;
  // The pointer over the surface at (width, depth): its readout (shape, loss, step time, tokens,
  // memory, or why it has no loss) as a tool tip. A click selects that shape everywhere: the
  // table's row when it is among the best, the ring on the surface, the roofline and breakdown.
  void hoverSurface(double width, double depth);
  void clickSurface(double width, double depth);
  QString surfaceReadout() const { return m_surfaceReadout; }
  // Keep the surface's colour scale of the plan on screen for the plans that follow (so that
  // plans compare by colour); off: each plan scales its own colours.
  void setFixedColourScale(bool fixed);
  const std::optional<plots::ColorScale>& fixedColourScale() const { return m_fixedScale; }
  // Help > Quick reference (main_window_help.cpp): the README's command reference, shipped in
  // the app's resources; empty if the resource is missing.
  static QString quickReferenceText();
  void showQuickReference();
  void showAbout();
  // Where the calibrated profile is saved: beside the measured local profile.
  static QString calibratedProfilePath();
  const HardwareProfile& hardware() const { return m_hw; }

 Q_SIGNALS:
  void planUpdated();
  void errorShown(const QString& message);
  void timeFitDone();
  void lossFitDone();

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildUi();
  QWidget* buildPlanTab();        // the surface over the lower part
  QWidget* buildPlanLower();      // hint, colour-scale box, summary and the best shapes
  QTableWidget* buildTopTable();  // m_table
  QWidget* buildKernelTab();      // calibrate and load buttons over the kernel chart
  QWidget* buildRooflinePage();   // roofline over breakdown
  QWidget* buildRightPane();      // the stale-plan banner over the tabs
  void addChartContextMenus();    // each chart's Export menu
  void buildMenus();
  QWidget* buildInputPanel();
  QGroupBox* buildHardwareGroup();   // preset, profile file, measure; m_hardwareLabel
  QGroupBox* buildLawGroup();        // preset, fit, law file; m_lawLabel
  QGroupBox* buildEstimatorGroup();  // estimator, fit from runs; m_timeLabel
  void connectInputs();
  void readWidgets();    // widgets -> m_in
  void writeWidgets();   // m_in -> widgets (signals blocked)
  void inputsChanged();  // widgets moved: read, schedule a plan
  void schedulePlan();
  void startPlan();
  void planFinished(int generation, std::shared_ptr<PlanResult> plan, const QString& error,
                    double seconds);
  void showPlan();
  // The summary above the table: the best, the FLOP-based answer, the imported model, provenance.
  QString planSummaryHtml(const PlanResult& plan) const;
  void fillTopTable(const PlanResult& plan);
  void updateShapeCharts();
  void updateLawChart();
  void updateTimeChart();
  void updateHardwareLabel();
  void refitTimeModelIfNeeded();
  void fitTimeModel(const QString& path, const std::vector<StepRun>& runs);
  void measureMachine();
  void askLossRuns();  // a file, then the column-mapping dialog, then loadLossRuns
  // The time model plans use for estimator `e` on the hardware on screen: the fitted one when it
  // was fitted on it and has `e`, else the datasheet defaults.
  TimeModel timeModelFor(EstimatorKind e) const;
  // Whether the fitted time model serves estimator `e` on the hardware on screen.
  bool fittedFor(EstimatorKind e) const;
  // Where the plan's step times come from: the estimator, the hardware, and the measured runs
  // (file, devices) it was fitted to, with the dimensions in which `best` lies outside them.
  QString timeProvenance(EstimatorKind e, const ModelShape* best) const;
  void redrawSurface();        // the heatmap of m_plan, with the selection ringed
  void askCalibrateKernels();  // the Tools action: grid size, then calibrateKernels
  void calibrationFinished(const CalibrateSummary& summary, const QString& profile_path);
  void showError(const QString& title, const QString& message);
  void exportPanel(plots::ChartPanel* panel, const QString& name);
  void exportCurrentChart();
  // Runs `work` on the pool; `done` runs on the GUI thread unless the window is closing.
  void runInBackground(std::function<std::function<void()>()> work);
  QString askOpen(const QString& title, const QString& filter);
  QString askSave(const QString& title, const QString& filter, const QString& suggested);

  bool m_useSettings;
  SessionInputs m_in;
  HardwareProfile m_hw;
  LossLaw m_law;
  std::string m_lawName;
  std::vector<LossRun> m_lossRuns;
  std::vector<StepRun> m_stepRuns;
  std::vector<plots::AttentionRow> m_attentionRows;
  void updateKernelChart();
  std::optional<TimeFitSummary> m_timeFit;  // fitted on m_hw.name
  bool m_timeFitRunning = false;
  bool m_lossFitRunning = false;
  std::shared_ptr<PlanResult> m_plan;
  int m_planRevision = 0;
  int m_generation = 0;
  bool m_planRunning = false;
  bool m_planPending = false;
  int m_selectedRow = 0;
  std::optional<Candidate> m_picked;     // a shape clicked on the surface, not among the best
  std::optional<ModelShape> m_imported;  // a Hugging Face import, priced with every plan
  QString m_importedName;
  std::optional<Candidate> m_importedEval;  // it, under the plan on screen
  bool m_pickImported = false;              // select it when the next plan arrives
  std::optional<Candidate> priceImported() const;
  QString m_surfaceReadout;
  std::optional<plots::ColorScale> m_fixedScale;
  QCheckBox* m_fixScaleBox = nullptr;
  std::atomic<bool> m_closing{false};
  std::atomic<bool> m_cancelBench{false};
  std::atomic<bool> m_cancelCalibration{false};
  bool m_calibrating = false;
  std::optional<CalibrateSummary> m_calibration;
  // What the kernel rows on the Kernels tab were measured on ("" : unknown, a loaded file).
  std::string m_attentionMachine;
  QThreadPool m_pool;
  bool m_updatingWidgets = false;

  // Widgets.
  QComboBox* m_hardwareCombo = nullptr;
  QLabel* m_hardwareLabel = nullptr;
  QPushButton* m_measureButton = nullptr;
  InputPanel* m_inputs = nullptr;  // budget, cluster, search space, architecture
  QComboBox* m_lawCombo = nullptr;
  QLabel* m_lawLabel = nullptr;
  QComboBox* m_estimatorCombo = nullptr;
  QLabel* m_timeLabel = nullptr;
  QTabWidget* m_tabs = nullptr;
  plots::ChartPanel* m_heatmap = nullptr;
  plots::ChartPanel* m_lawPanel = nullptr;
  plots::ChartPanel* m_timePanel = nullptr;
  plots::ChartPanel* m_kernelPanel = nullptr;
  plots::ChartPanel* m_rooflinePanel = nullptr;
  plots::ChartPanel* m_breakdownPanel = nullptr;
  QLabel* m_summary = nullptr;
  QLabel* m_planStatus = nullptr;
  QLabel* m_staleBanner = nullptr;
  QWidget* m_planPage = nullptr;
  QWidget* m_rooflinePage = nullptr;
  void showInputError(const QString& message);
  void clearInputError();
  QTableWidget* m_table = nullptr;
  QTimer* m_debounce = nullptr;
};

}  // namespace chronoscale::gui
