#include "architecture_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>

#include "gui_util.h"

namespace chronoscale::gui {
namespace {

QSpinBox* Count(const char* name, int hi, const QString& zero, const QString& tip) {
  auto* spin = new QSpinBox();
  spin->setObjectName(QLatin1String(name));
  spin->setRange(0, hi);
  spin->setSpecialValueText(zero);
  spin->setKeyboardTracking(false);
  spin->setToolTip(tip);
  return spin;
}

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
  buildWidgets();
  addRows(form);
  write(SessionInputs::Architecture{});
  connectWidgets();
}

// The widgets, named and with their tool tips, not yet laid out.
void ArchitecturePanel::buildWidgets() {
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
  m_optimizer = Choice("optimizer", {"adamw", "sgd"});
  m_block = Choice("block", {"sequential", "parallel", "parallel-2norm"});
  m_block->setToolTip(
      tr("parallel: attention and MLP on one norm (GPT-J, Falcon, Phi); parallel-2norm: a norm "
         "each (GPT-NeoX)"));
  m_window = Count("slidingWindow", 1 << 24, tr("every key"),
                   tr("Sliding-window attention: keys each query attends to (Mistral)"));
  m_experts = Count("experts", 4096, tr("dense"),
                    tr("Mixture of experts: expert MLPs per layer, each of the grid's MLP width"));
  m_expertsPerToken = Count("expertsPerToken", 4096, tr("2 (or all, if fewer)"),
                            tr("Experts each token is routed to"));
  m_sharedFf = Count("sharedFf", 1 << 24, tr("none"),
                     tr("Width of an always-on shared expert MLP beside the routed ones"));
  m_tied = new QCheckBox(tr("tied input and output embeddings"));
  m_tied->setObjectName(QStringLiteral("tied"));
  m_bias = new QCheckBox(tr("biases in the linear layers and norms"));
  m_bias->setObjectName(QStringLiteral("bias"));
  m_causal = new QCheckBox(tr("causal attention (decoder)"));
  m_causal->setObjectName(QStringLiteral("causal"));
  m_imported = new QLabel();
  m_imported->setObjectName(QStringLiteral("importedFields"));
  m_imported->setWordWrap(true);
  m_imported->setStyleSheet(QStringLiteral("color: #555;"));
  m_clearImported = new QPushButton(tr("Clear"));
  m_clearImported->setToolTip(
      tr("Drop the imported per-part settings: every part as the boxes say"));
}

// The widgets in `form`, one row each, in the panel's order.
void ArchitecturePanel::addRows(QFormLayout* form) {
  form->addRow(tr("MLP"), m_mlp);
  form->addRow(tr("Norm"), m_norm);
  form->addRow(tr("Positions"), m_positions);
  form->addRow(tr("Precision"), m_precision);
  form->addRow(tr("Optimizer"), m_optimizer);
  form->addRow(tr("Block"), m_block);
  form->addRow(tr("KV heads"), m_kvHeads);
  form->addRow(tr("Sliding window"), m_window);
  form->addRow(tr("Experts"), m_experts);
  form->addRow(tr("Experts per token"), m_expertsPerToken);
  form->addRow(tr("Shared expert width"), m_sharedFf);
  form->addRow(tr("Checkpointing"), m_checkpointing);
  form->addRow(m_tied);
  form->addRow(m_bias);
  form->addRow(m_causal);
  form->addRow(m_imported, m_clearImported);
}

// Every widget's change notifies (unless written); Clear drops the import-only fields.
void ArchitecturePanel::connectWidgets() {
  auto changed = [this] {
    if (!m_writing && m_changed) m_changed();
  };
  for (QComboBox* c :
       {m_mlp, m_norm, m_positions, m_precision, m_checkpointing, m_optimizer, m_block}) {
    connect(c, &QComboBox::currentIndexChanged, this, changed);
  }
  for (QSpinBox* spin : {m_kvHeads, m_window, m_experts, m_expertsPerToken, m_sharedFf}) {
    connect(spin, &QSpinBox::valueChanged, this, changed);
  }
  for (QCheckBox* box : {m_tied, m_bias, m_causal})
    connect(box, &QCheckBox::toggled, this, changed);
  connect(m_clearImported, &QPushButton::clicked, this, [this, changed] {
    const SessionInputs::Architecture plain;
    m_kept.qkv_bias = plain.qkv_bias;
    m_kept.out_bias = plain.out_bias;
    m_kept.mlp_bias = plain.mlp_bias;
    m_kept.norm_bias = plain.norm_bias;
    m_kept.head_bias = plain.head_bias;
    m_kept.post_norms = plain.post_norms;
    m_kept.shared_gate = plain.shared_gate;
    showImported();
    changed();
  });
}

void ArchitecturePanel::showImported() {
  QStringList parts;
  const std::pair<int, const char*> overrides[] = {{m_kept.qkv_bias, "q/k/v"},
                                                   {m_kept.out_bias, "attention output"},
                                                   {m_kept.mlp_bias, "MLP"},
                                                   {m_kept.norm_bias, "norm"}};
  for (const auto& [value, part] : overrides) {
    if (value >= 0) {
      parts << (value == 1 ? tr("%1 biases").arg(QLatin1String(part))
                           : tr("no %1 biases").arg(QLatin1String(part)));
    }
  }
  if (m_kept.head_bias) parts << tr("LM-head bias");
  if (m_kept.post_norms) parts << tr("post-norms");
  if (m_kept.shared_gate) parts << tr("gated shared expert");
  m_imported->setText(parts.isEmpty() ? QString() : tr("Imported: %1").arg(parts.join(", ")));
  m_imported->setVisible(!parts.isEmpty());
  m_clearImported->setVisible(!parts.isEmpty());
}

SessionInputs::Architecture ArchitecturePanel::read() const {
  SessionInputs::Architecture a = m_kept;
  a.mlp = S(m_mlp->currentData().toString());
  a.norm = S(m_norm->currentData().toString());
  a.positions = S(m_positions->currentData().toString());
  a.precision = S(m_precision->currentData().toString());
  a.checkpointing = S(m_checkpointing->currentData().toString());
  a.optimizer = S(m_optimizer->currentData().toString());
  a.block = S(m_block->currentData().toString());
  a.kv_heads = m_kvHeads->value();
  a.sliding_window = m_window->value();
  a.experts = m_experts->value();
  a.experts_per_token = m_expertsPerToken->value();
  a.shared_ff = m_sharedFf->value();
  a.tied = m_tied->isChecked();
  a.bias = m_bias->isChecked();
  a.causal = m_causal->isChecked();
  return a;
}

void ArchitecturePanel::write(const SessionInputs::Architecture& a) {
  m_writing = true;
  m_kept = a;
  showImported();
  Select(m_mlp, a.mlp);
  Select(m_norm, a.norm);
  Select(m_positions, a.positions);
  Select(m_precision, a.precision);
  Select(m_checkpointing, a.checkpointing);
  Select(m_optimizer, a.optimizer);
  Select(m_block, a.block);
  m_kvHeads->setValue(static_cast<int>(a.kv_heads));
  m_window->setValue(static_cast<int>(a.sliding_window));
  m_experts->setValue(static_cast<int>(a.experts));
  m_expertsPerToken->setValue(static_cast<int>(a.experts_per_token));
  m_sharedFf->setValue(static_cast<int>(a.shared_ff));
  m_tied->setChecked(a.tied);
  m_bias->setChecked(a.bias);
  m_causal->setChecked(a.causal);
  m_writing = false;
}

}  // namespace chronoscale::gui
