// Sessions (open, save), the exports (surface CSV, plan JSON, charts) and Hugging Face configs
// (import a model as the search's architecture, export the selected shape).
#include <QFileInfo>
#include <QStatusBar>

#include <chronoscale/error.h>
#include <chronoscale/hf_config.h>
#include <chronoscale/io.h>
#include <chronoscale/plots/chart_panel.h>

#include "gui_util.h"
#include "main_window.h"

namespace chronoscale::gui {

// ---------------------------------------------------------------------------------------------
// Sessions and exports.

bool MainWindow::openSession(const QString& path) {
  SessionInputs in;
  try {
    in = LoadSession(S(path));
  } catch (const std::exception& e) {
    showError(tr("Open session"), Q(e.what()));
    return false;
  }
  applyInputs(in);
  statusBar()->showMessage(tr("Opened %1").arg(path), 5000);
  return true;
}

void MainWindow::saveSession(const QString& path) {
  try {
    SaveSession(m_in, S(path));
    statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
  } catch (const std::exception& e) {
    showError(tr("Save session"), Q(e.what()));
  }
}

void MainWindow::exportSurfaceCsv(const QString& path) {
  if (!m_plan) return;
  try {
    WriteFileAtomic(S(path), SurfaceCsv(*m_plan));
    statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
  } catch (const std::exception& e) {
    showError(tr("Export surface"), Q(e.what()));
  }
}

void MainWindow::exportPlanJson(const QString& path) {
  if (!m_plan) return;
  try {
    WriteFileAtomic(S(path), PlanJson(*m_plan, m_in).dump(2) + "\n");
    statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
  } catch (const std::exception& e) {
    showError(tr("Export plan"), Q(e.what()));
  }
}

void MainWindow::importHfConfig(const QString& path) {
  HfImport hf;
  try {
    hf = LoadHfConfig(S(path));
  } catch (const std::exception& e) {
    showError(tr("Import Hugging Face config"), Q(e.what()));
    return;
  }
  const ModelShape& s = hf.shape;
  // The model's architecture becomes the search's; the budget, the sequence (the config's
  // max_position_embeddings is a limit, not a training length), the batch and the
  // checkpointing choice stay the session's.
  const std::string checkpointing = m_in.arch.checkpointing;
  m_in.arch = ArchitectureOf(s);
  m_in.arch.checkpointing = checkpointing;
  m_in.head_size = s.HeadDim();
  m_in.mlp_ratio = static_cast<double>(s.d_ff) / static_cast<double>(s.d_model);
  m_in.vocab = s.vocab;
  writeWidgets();
  m_imported = s;
  m_importedName = QFileInfo(path).fileName();
  if (!hf.model_type.empty())
    m_importedName = Q(hf.model_type) + QStringLiteral(" (") + m_importedName + QStringLiteral(")");
  m_pickImported = true;
  QString note = tr("Imported %1: %2").arg(m_importedName, Q(Describe(s)));
  if (hf.context_limit > 0 && m_in.seq_len > hf.context_limit) {
    note += tr("; the sequence %1 is beyond its context limit %2")
                .arg(m_in.seq_len)
                .arg(hf.context_limit);
  }
  for (const std::string& w : hf.warnings) note += QStringLiteral("; ") + Q(w);
  statusBar()->showMessage(note, 15000);
  schedulePlan();
}

std::optional<Candidate> MainWindow::priceImported() const {
  if (!m_imported || !m_plan) return std::nullopt;
  // The plan's base (the session's sequence, batch, attention and variants) at the model's
  // width, depth, heads and MLP widths.
  ModelShape shape = m_plan->options.base;
  const ModelShape& s = *m_imported;
  shape.d_model = s.d_model;
  shape.n_layers = s.n_layers;
  shape.n_heads = s.n_heads;
  shape.n_kv_heads = s.n_kv_heads;
  shape.head_dim = s.head_dim;
  shape.d_ff = s.d_ff;
  shape.dense_layers = s.dense_layers;
  shape.dense_ff = s.dense_ff;
  shape.max_positions = s.max_positions;
  try {
    return Evaluate(m_plan->options, timeModelFor(m_plan->options.estimator), m_law, shape);
  } catch (const std::exception&) {
    return std::nullopt;  // e.g. pinned layout parts it cannot take: the summary says nothing
  }
}

void MainWindow::exportHfConfig(const QString& path) {
  const Candidate* c = selectedCandidate();
  if (c == nullptr) {
    showError(tr("Export Hugging Face config"), tr("No shape is selected: nothing fits yet."));
    return;
  }
  try {
    WriteFileAtomic(S(path), HfConfigFromShape(c->shape).dump(2) + "\n");
    statusBar()->showMessage(tr("Wrote %1 (%2)").arg(path, Q(Describe(c->shape))), 8000);
  } catch (const std::exception& e) {
    showError(tr("Export Hugging Face config"), Q(e.what()));
  }
}

void MainWindow::exportPanel(plots::ChartPanel* panel, const QString& name) {
  const QString path = askSave(tr("Export chart"), tr("PNG image (*.png);;SVG image (*.svg)"),
                               name + QStringLiteral(".png"));
  if (path.isEmpty()) return;
  try {
    panel->exportTo(S(path));
    statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
  } catch (const std::exception& e) {
    showError(tr("Export chart"), Q(e.what()));
  }
}

void MainWindow::exportCurrentChart() {
  plots::ChartPanel* panels[] = {m_heatmap, m_lawPanel, m_timePanel, m_kernelPanel,
                                 m_rooflinePanel};
  const int i = std::clamp(m_tabs->currentIndex(), 0, 4);
  exportPanel(panels[i], panels[i]->objectName());
}

}  // namespace chronoscale::gui
