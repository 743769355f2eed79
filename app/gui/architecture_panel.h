// The input panel's architecture group: MLP, norm, positions, precision, kv heads, tied
// embeddings, biases and checkpointing, as plan's flags take them (SessionInputs::Architecture).
#pragma once

#include <functional>

#include <QGroupBox>

#include "session.h"

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QSpinBox;
QT_END_NAMESPACE

namespace chronoscale::gui {

class ArchitecturePanel : public QGroupBox {
 public:
  explicit ArchitecturePanel(QWidget* parent = nullptr);
  // Called when the user changes any of the widgets (not on write).
  void setOnChange(std::function<void()> changed) { m_changed = std::move(changed); }
  SessionInputs::Architecture read() const;
  void write(const SessionInputs::Architecture& arch);  // no change notification

 private:
  QComboBox* m_mlp = nullptr;
  QComboBox* m_norm = nullptr;
  QComboBox* m_positions = nullptr;
  QComboBox* m_precision = nullptr;
  QComboBox* m_checkpointing = nullptr;
  QSpinBox* m_kvHeads = nullptr;
  QCheckBox* m_tied = nullptr;
  QCheckBox* m_bias = nullptr;
  std::function<void()> m_changed;
  bool m_writing = false;
};

}  // namespace chronoscale::gui
