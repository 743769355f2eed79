#include "loss_runs_dialog.h"

#include <algorithm>

#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QRadioButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "gui_util.h"

namespace chronoscale::gui {
namespace {

bool Has(const std::vector<std::string>& columns, const std::string& name) {
  return std::find(columns.begin(), columns.end(), name) != columns.end();
}

QComboBox* ColumnCombo(const std::vector<std::string>& columns, const std::string& current) {
  auto* combo = new QComboBox();
  for (const std::string& c : columns) combo->addItem(Q(c));
  const int i = combo->findText(Q(current));
  combo->setCurrentIndex(std::max(0, i));
  return combo;
}

}  // namespace

SessionInputs::LossRunsInputs GuessLossColumns(const std::vector<std::string>& columns,
                                               SessionInputs::LossRunsInputs start) {
  if (!Has(columns, start.params_col) && Has(columns, "Model Size")) {
    start.params_col = "Model Size";
  }
  if (start.flops_col.empty() && !Has(columns, start.tokens_col) && Has(columns, "Training FLOP")) {
    start.flops_col = "Training FLOP";
  }
  return start;
}

std::optional<SessionInputs::LossRunsInputs> AskLossRunsOptions(
    QWidget* parent, const QString& file, const std::vector<std::string>& columns,
    SessionInputs::LossRunsInputs start) {
  start = GuessLossColumns(columns, start);
  QDialog dialog(parent);
  dialog.setObjectName(QStringLiteral("lossRunsDialog"));
  dialog.setWindowTitle(QObject::tr("Fit the loss law to %1").arg(file));
  auto* layout = new QVBoxLayout(&dialog);
  auto* form = new QFormLayout();
  auto* params = ColumnCombo(columns, start.params_col);
  form->addRow(QObject::tr("Parameters N"), params);
  auto* byTokens = new QRadioButton(QObject::tr("tokens D"));
  auto* byFlops = new QRadioButton(QObject::tr("FLOPs C (D = C / 6N)"));
  (start.flops_col.empty() ? byTokens : byFlops)->setChecked(true);
  auto* tokens = ColumnCombo(columns, start.tokens_col);
  auto* flops = ColumnCombo(columns, start.flops_col);
  form->addRow(byTokens, tokens);
  form->addRow(byFlops, flops);
  auto* loss = ColumnCombo(columns, start.loss_col);
  form->addRow(QObject::tr("Final loss"), loss);
  auto* drop = new QSpinBox();
  drop->setRange(0, 1000000);
  drop->setValue(start.drop_highest);
  drop->setToolTip(
      QObject::tr("Epoch drops the 5 highest-loss of Hoffmann's 245 runs (the tiny "
                  "models the law does not describe): fit-loss --drop-highest 5"));
  form->addRow(QObject::tr("Drop the highest-loss runs"), drop);
  auto* bootstrap = new QSpinBox();
  bootstrap->setRange(0, 100000);
  bootstrap->setValue(start.bootstrap);
  bootstrap->setToolTip(QObject::tr("Resamples for confidence intervals (0: none; 200 is usual)"));
  form->addRow(QObject::tr("Bootstrap resamples"), bootstrap);
  auto* count = new QComboBox();
  count->addItem(QObject::tr("all parameters (Hoffmann)"), QStringLiteral("all"));
  count->addItem(QObject::tr("non-embedding (Kaplan)"), QStringLiteral("non-embedding"));
  count->setCurrentIndex(start.param_count == "all" ? 0 : 1);
  form->addRow(QObject::tr("N counts"), count);
  layout->addLayout(form);
  auto* note =
      new QLabel(QObject::tr("The same choices as `chronoscale fit-loss` (--params-col, "
                             "--tokens-col / --flops-col, --loss-col, --drop-highest, "
                             "--bootstrap, --param-count), with its defaults."));
  note->setWordWrap(true);
  note->setStyleSheet(QStringLiteral("color: #666;"));
  layout->addWidget(note);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  QObject::connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  QObject::connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  layout->addWidget(buttons);
  if (dialog.exec() != QDialog::Accepted) return std::nullopt;
  SessionInputs::LossRunsInputs out = start;
  out.params_col = S(params->currentText());
  out.tokens_col = S(tokens->currentText());
  out.flops_col = byFlops->isChecked() ? S(flops->currentText()) : std::string();
  out.loss_col = S(loss->currentText());
  out.drop_highest = drop->value();
  out.bootstrap = bootstrap->value();
  out.param_count = S(count->currentData().toString());
  return out;
}

}  // namespace chronoscale::gui
