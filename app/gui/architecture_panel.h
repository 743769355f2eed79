// The input panel's architecture group: MLP, norm, positions, precision, optimizer, block, kv
// heads, sliding window, mixture of experts, tied embeddings, biases, causal attention and
// checkpointing, as plan's flags take them (SessionInputs::Architecture). The fields only a
// Hugging Face import sets (per-part biases, LM-head bias, post-norms, shared-expert gate) are
// kept as written, named in a note with a button that clears them.
#pragma once

#include <functional>

#include <QGroupBox>

#include "session.h"

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QPushButton;
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
  QComboBox* m_optimizer = nullptr;
  QComboBox* m_block = nullptr;
  QSpinBox* m_kvHeads = nullptr;
  QSpinBox* m_window = nullptr;
  QSpinBox* m_experts = nullptr;
  QSpinBox* m_expertsPerToken = nullptr;
  QSpinBox* m_sharedFf = nullptr;
  QCheckBox* m_tied = nullptr;
  QCheckBox* m_bias = nullptr;
  QCheckBox* m_causal = nullptr;
  QLabel* m_imported = nullptr;  // the import-only fields that are set
  QPushButton* m_clearImported = nullptr;
  SessionInputs::Architecture m_kept;  // carries the import-only fields through read()
  void buildWidgets();                 // the widgets, named, with their tool tips
  void addRows(QFormLayout* form);     // them in `form`, a row each
  void connectWidgets();               // changes to m_changed; Clear drops the import-only fields
  void showImported();
  std::function<void()> m_changed;
  bool m_writing = false;
};

}  // namespace chronoscale::gui
