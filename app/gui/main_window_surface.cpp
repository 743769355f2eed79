// The loss surface as an instrument: the readout under the pointer, and a click that selects a
// shape everywhere (the table's row, a ring on the surface, the roofline and breakdown).
#include <QCheckBox>
#include <QStatusBar>
#include <QTableWidget>
#include <QToolTip>

#include <chronoscale/plots/chart_panel.h>
#include <chronoscale/plots/plots.h>

#include "gui_util.h"
#include "main_window.h"

namespace chronoscale::gui {

bool MainWindow::fittedFor(EstimatorKind e) const {
  return m_timeFit && m_timeFit->model.hardware.name == m_hw.name && m_timeFit->model.Has(e);
}

TimeModel MainWindow::timeModelFor(EstimatorKind e) const {
  return fittedFor(e) ? m_timeFit->model : DefaultTimeModel(m_hw, m_in.mfu);
}

const Candidate* MainWindow::selectedCandidate() const {
  if (m_picked) return &*m_picked;
  if (!m_plan || !m_plan->found || m_plan->top.empty()) return nullptr;
  const int row = std::clamp(m_selectedRow, 0, static_cast<int>(m_plan->top.size()) - 1);
  return &m_plan->top[static_cast<std::size_t>(row)];
}

void MainWindow::redrawSurface() {
  if (!m_plan) return;
  m_heatmap->setChart(plots::MakeLossHeatmapChart(*m_plan, selectedCandidate(),
                                                  m_fixedScale ? &*m_fixedScale : nullptr));
}

void MainWindow::setFixedColourScale(bool fixed) {
  if (fixed && m_plan) {
    m_fixedScale = plots::SurfaceColorScale(m_plan->loss);
  } else {
    m_fixedScale.reset();
  }
  {
    const QSignalBlocker block(m_fixScaleBox);
    m_fixScaleBox->setChecked(m_fixedScale.has_value());
  }
  redrawSurface();
}

void MainWindow::hoverSurface(double width, double depth) {
  if (!m_plan) return;
  const auto cell = plots::SurfaceCellAt(*m_plan, width, depth);
  m_surfaceReadout = cell ? Q(plots::SurfaceCellReadout(*m_plan, *cell)) : QString();
  if (m_surfaceReadout.isEmpty()) {
    QToolTip::hideText();
  } else {
    QToolTip::showText(QCursor::pos(), m_surfaceReadout, m_heatmap);
  }
}

void MainWindow::clickSurface(double width, double depth) {
  if (!m_plan) return;
  const auto cell = plots::SurfaceCellAt(*m_plan, width, depth);
  if (!cell) return;
  m_surfaceReadout = Q(plots::SurfaceCellReadout(*m_plan, *cell));
  const std::size_t nw = m_plan->widths.size();
  const int64_t d_model = m_plan->widths[*cell % nw], layers = m_plan->depths[*cell / nw];
  // Among the best: select its row (the row's handler redraws everything).
  for (std::size_t i = 0; i < m_plan->top.size(); ++i) {
    const ModelShape& s = m_plan->top[i].shape;
    if (s.d_model == d_model && s.n_layers == layers) {
      m_table->selectRow(static_cast<int>(i));
      statusBar()->showMessage(tr("Selected: %1").arg(m_surfaceReadout), 10000);
      return;
    }
  }
  std::string why;
  const ModelShape shape = GridShape(m_plan->options, d_model, layers, &why);
  if (!why.empty()) {
    statusBar()->showMessage(m_surfaceReadout, 10000);  // left out: nothing to select
    return;
  }
  try {
    m_picked = Evaluate(m_plan->options, timeModelFor(m_plan->options.estimator), m_law, shape);
  } catch (const std::exception& e) {
    showError(tr("Select a shape"), Q(e.what()));
    return;
  }
  {
    const QSignalBlocker block(m_table);  // the row's handler would drop the pick
    m_table->clearSelection();
  }
  redrawSurface();
  updateShapeCharts();
  statusBar()->showMessage(tr("Selected: %1").arg(m_surfaceReadout), 10000);
}

}  // namespace chronoscale::gui
