#include "architecture_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QSignalBlocker>
#include <QSpinBox>

#include "gui_util.h"

namespace chronoscale::gui {
namespace {

QComboBox* Choice(const char* name, std::initializer_list<const char*> values) {
  auto* combo = new QComboBox();
  combo->setObjectName(QLatin1String(name));
  for (const char* v : values) combo->addItem(QLatin1String(v), QLatin1String(v));
  return combo;
}

void Select(QComboBox* combo, const std::string& value) {
  combo->setCurrentIndex(std::max(0, combo->findData(Q(value))));
}

}  // namespace

ArchitecturePanel::ArchitecturePanel(QWidget* parent) : QGroupBox(tr("Architecture"), parent) {
  setObjectName(QStringLiteral("architecture"));
  auto* form = new QFormLayout(this);
  m_mlp = Choice("mlp", {"gelu", "swiglu"});
  m_norm = Choice("norm", {"layernorm", "rmsnorm"});
  m_positions = Choice("positions", {"learned", "rotary"});
  m_precision = Choice("precision", {"bf16", "fp16", "tf32", "fp32"});
  m_checkpointing = Choice("checkpointing", {"", "none", "selective", "full"});
  m_checkpointing->setItemText(0, tr("searched (where needed)"));
  m_checkpointing->setToolTip(
      tr("Activation checkpointing: searched adds it only where a shape does not fit without; "
         "the others pin it (plan --checkpointing)"));
  m_kvHeads = new QSpinBox();
  m_kvHeads->setObjectName(QStringLiteral("kvHeads"));
  m_kvHeads->setRange(0, 4096);
  m_kvHeads->setSpecialValueText(tr("as query heads (MHA)"));
  m_kvHeads->setKeyboardTracking(false);
  m_kvHeads->setToolTip(tr("Grouped-query attention: key/value heads, dividing the query heads"));
  m_tied = new QCheckBox(tr("tied input and output embeddings"));
  m_tied->setObjectName(QStringLiteral("tied"));
  m_bias = new QCheckBox(tr("biases in the linear layers and norms"));
  m_bias->setObjectName(QStringLiteral("bias"));
  form->addRow(tr("MLP"), m_mlp);
  form->addRow(tr("Norm"), m_norm);
  form->addRow(tr("Positions"), m_positions);
  form->addRow(tr("Precision"), m_precision);
  form->addRow(tr("KV heads"), m_kvHeads);
  form->addRow(tr("Checkpointing"), m_checkpointing);
  form->addRow(m_tied);
  form->addRow(m_bias);
  write(SessionInputs::Architecture{});
  auto changed = [this] {
    if (!m_writing && m_changed) m_changed();
  };
  for (QComboBox* c : {m_mlp, m_norm, m_positions, m_precision, m_checkpointing}) {
    connect(c, &QComboBox::currentIndexChanged, this, changed);
  }
  connect(m_kvHeads, &QSpinBox::valueChanged, this, changed);
  connect(m_tied, &QCheckBox::toggled, this, changed);
  connect(m_bias, &QCheckBox::toggled, this, changed);
}

SessionInputs::Architecture ArchitecturePanel::read() const {
  SessionInputs::Architecture a;
  a.mlp = S(m_mlp->currentData().toString());
  a.norm = S(m_norm->currentData().toString());
  a.positions = S(m_positions->currentData().toString());
  a.precision = S(m_precision->currentData().toString());
  a.checkpointing = S(m_checkpointing->currentData().toString());
  a.kv_heads = m_kvHeads->value();
  a.tied = m_tied->isChecked();
  a.bias = m_bias->isChecked();
  return a;
}

void ArchitecturePanel::write(const SessionInputs::Architecture& a) {
  m_writing = true;
  Select(m_mlp, a.mlp);
  Select(m_norm, a.norm);
  Select(m_positions, a.positions);
  Select(m_precision, a.precision);
  Select(m_checkpointing, a.checkpointing);
  m_kvHeads->setValue(static_cast<int>(a.kv_heads));
  m_tied->setChecked(a.tied);
  m_bias->setChecked(a.bias);
  m_writing = false;
}

}  // namespace chronoscale::gui
