// The plain-value inputs of the window's left panel: the budget (hours on a log slider, devices,
// goodput, MFU), the cluster (GPUs per node, pinned layout, memory reserve), the search space and
// the architecture. It reads and writes its part of SessionInputs and names its widgets for the
// fields of core's errors; the hardware, loss-law and estimator groups, which run fits and
// benchmarks, stay with the window.
#pragma once

#include <functional>
#include <string>

#include <QObject>
#include <QString>

#include "session.h"

QT_BEGIN_NAMESPACE
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QLineEdit;
class QSlider;
class QSpinBox;
QT_END_NAMESPACE

namespace chronoscale::gui {

class ArchitecturePanel;

class InputPanel : public QObject {
 public:
  explicit InputPanel(QObject* parent = nullptr);
  // Called when the user changes any widget (not on write).
  void setOnChange(std::function<void()> changed) { m_changed = std::move(changed); }
  // The groups, for the window to lay out (it takes ownership).
  QGroupBox* budgetGroup() const { return m_budget; }
  QGroupBox* clusterGroup() const { return m_cluster; }
  QGroupBox* spaceGroup() const { return m_space; }
  ArchitecturePanel* architecture() const { return m_architecture; }

  void read(SessionInputs* in) const;   // this panel's fields only
  void write(const SessionInputs& in);  // no change notification

  // The label of the widget that sets a core error's field ("hours" -> "Hours"); empty for a
  // field this panel does not show.
  static QString LabelOf(const std::string& field);

 private:
  void buildBudgetGroup();   // m_budget: hours, slider, devices, goodput, MFU
  void buildClusterGroup();  // m_cluster: GPUs per node, pinned layout, memory reserve
  void buildSpaceGroup();    // m_space: the ranges and the fixed dimensions
  void connectWidgets();     // every widget's change to changed()
  void changed();
  void setSliderFromHours(double hours);

  QGroupBox *m_budget = nullptr, *m_cluster = nullptr, *m_space = nullptr;
  ArchitecturePanel* m_architecture = nullptr;
  QDoubleSpinBox* m_hours = nullptr;
  QSlider* m_hoursSlider = nullptr;
  QSpinBox* m_devices = nullptr;
  QDoubleSpinBox *m_goodput = nullptr, *m_mfu = nullptr;
  QSpinBox* m_gpusPerNode = nullptr;
  QLineEdit* m_layout = nullptr;
  QDoubleSpinBox* m_reserve = nullptr;
  QSpinBox *m_widthMin = nullptr, *m_widthMax = nullptr, *m_widthStep = nullptr;
  QSpinBox *m_depthMin = nullptr, *m_depthMax = nullptr, *m_depthStep = nullptr;
  QDoubleSpinBox *m_aspectMin = nullptr, *m_aspectMax = nullptr, *m_uniqueTokens = nullptr;
  QSpinBox* m_headSize = nullptr;
  QDoubleSpinBox* m_mlpRatio = nullptr;
  QSpinBox *m_seq = nullptr, *m_batch = nullptr, *m_vocab = nullptr, *m_features = nullptr;
  QComboBox* m_attention = nullptr;
  std::function<void()> m_changed;
  bool m_writing = false;
};

}  // namespace chronoscale::gui
