// The plan behind the window: computed on a worker thread from the inputs (stale results
// dropped), shown as the surface, the summary and the table, or, when the inputs cannot be
// planned, the last plan greyed under a banner in the window's words.
#include <QElapsedTimer>
#include <QLabel>
#include <QRegularExpression>
#include <QSignalBlocker>
#include <QStatusBar>
#include <QTableWidget>
#include <QTimer>

#include <chronoscale/error.h>
#include <chronoscale/plan_report.h>
#include <chronoscale/plots/chart_panel.h>
#include <chronoscale/plots/plots.h>

#include "gui_util.h"
#include "input_panel.h"
#include "main_window.h"

namespace chronoscale::gui {
namespace {

QString Sci(double v) { return Q(plots::FormatCount(v)); }

// A core error in the window's words: the input it names (its field) becomes the label of the
// widget that sets it, as do the flags its text mentions besides.
QString InWindowWords(const std::exception& error) {
  const auto* input = dynamic_cast<const InputError*>(&error);
  QString message;
  auto quoted = [](const QString& label) { return QStringLiteral("“%1”").arg(label); };
  if (input != nullptr && !input->field().empty()) {
    const QString label = InputPanel::LabelOf(input->field());
    message = (label.isEmpty() ? Q(input->field()) : quoted(label)) + Q(input->detail());
  } else {
    message = Q(error.what());
  }
  static const QRegularExpression kFlag(QStringLiteral("--([a-z][a-z-]*)"));
  QString out;
  qsizetype at = 0;
  for (auto it = kFlag.globalMatch(message); it.hasNext();) {
    const QRegularExpressionMatch m = it.next();
    const QString label = InputPanel::LabelOf(S(m.captured(1)));
    out += message.mid(at, m.capturedStart() - at);
    out += label.isEmpty() ? m.captured(0) : quoted(label);
    at = m.capturedEnd();
  }
  return out + message.mid(at);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Plan on a worker thread.

void MainWindow::schedulePlan() {
  ++m_generation;  // any result computed from older inputs is now stale
  m_planStatus->setText(tr("updating…"));
  m_debounce->start();
}

void MainWindow::startPlan() {
  if (m_planRunning) {
    m_planPending = true;  // start again when the running one comes back
    return;
  }
  PlanOptions options;
  TimeModel model;
  try {
    // The time model of the estimator asked for: the window's fit where it has one for it.
    EstimatorKind wanted = EstimatorKind::kRoofline;
    Parse(m_in.estimator, &wanted);  // an unknown name: ResolvePlan names it
    model = timeModelFor(wanted);
    PlanRequest request = ToPlanRequest(m_in);
    request.time_model_fitted = fittedFor(wanted);
    const ResolvedPlan resolved = ResolvePlan(request, model);
    options = resolved.options;
    if (!resolved.note.empty()) statusBar()->showMessage(Q(resolved.note), 6000);
  } catch (const std::exception& e) {
    showInputError(InWindowWords(e));
    return;
  }
  const int generation = m_generation;
  const LossLaw law = m_law;
  const std::string law_name = m_lawName;
  m_planRunning = true;
  m_pool.start([this, options, model, law, law_name, generation] {
    QElapsedTimer timer;
    timer.start();
    std::shared_ptr<PlanResult> result;
    QString error;
    try {
      result = std::make_shared<PlanResult>(Plan(options, model, law, law_name));
    } catch (const std::exception& e) {
      error = InWindowWords(e);
    }
    const double seconds = timer.nsecsElapsed() * 1e-9;
    if (m_closing) return;
    QMetaObject::invokeMethod(
        this,
        [this, generation, result, error, seconds] {
          planFinished(generation, result, error, seconds);
        },
        Qt::QueuedConnection);
  });
}

void MainWindow::planFinished(int generation, std::shared_ptr<PlanResult> plan,
                              const QString& error, double seconds) {
  m_planRunning = false;
  if (m_planPending) {
    m_planPending = false;
    startPlan();
  }
  if (generation != m_generation) return;  // inputs moved on while it ran: drop it
  if (!error.isEmpty()) {
    showInputError(error);
    return;
  }
  clearInputError();
  m_plan = std::move(plan);
  m_picked.reset();  // a new grid: the picked shape may be gone
  m_importedEval = priceImported();
  if (m_pickImported && m_importedEval) m_picked = m_importedEval;
  m_pickImported = false;
  ++m_planRevision;
  m_planStatus->setText(
      tr("plan: %1 shapes in %2 s").arg(m_plan->candidates).arg(seconds, 0, 'f', 2));
  showPlan();
  Q_EMIT planUpdated();
}

bool MainWindow::planIsStale() const { return !m_staleBanner->isHidden(); }

QString MainWindow::staleBannerText() const { return m_staleBanner->text(); }

void MainWindow::showInputError(const QString& message) {
  const QString plain = message.toHtmlEscaped();
  m_planStatus->setText(tr("input: %1").arg(message));
  m_staleBanner->setText(
      m_plan ? tr("<b>These inputs cannot be planned:</b> %1<br>The plan shown (greyed) is for the "
                  "last inputs that could be.")
                   .arg(plain)
             : tr("<b>These inputs cannot be planned:</b> %1").arg(plain));
  m_staleBanner->show();
  m_planPage->setEnabled(false);
  m_rooflinePage->setEnabled(false);
}

void MainWindow::clearInputError() {
  m_staleBanner->hide();
  m_staleBanner->clear();
  m_planPage->setEnabled(true);
  m_rooflinePage->setEnabled(true);
}

void MainWindow::showPlan() {
  const PlanResult& p = *m_plan;
  redrawSurface();
  m_summary->setText(planSummaryHtml(p));
  // The full report, as `chronoscale plan` prints it, on hover.
  m_summary->setToolTip(QStringLiteral("<pre>%1</pre>").arg(Q(PlanReport(p)).toHtmlEscaped()));
  fillTopTable(p);
  updateShapeCharts();
  if (m_lossRuns.empty()) updateLawChart();  // the law's curves follow the plan's sizes
}

QString MainWindow::planSummaryHtml(const PlanResult& p) const {
  QString text;
  if (p.found) {
    const Candidate& b = p.best;
    text = tr("<b>Best:</b> %1 — %2 params, %3 ms/step, %4 tokens, loss <b>%5</b>, %6 GiB per "
              "device.")
               .arg(Q(Describe(b.shape)))
               .arg(Sci(b.total_params))
               .arg(b.step_s * 1e3, 0, 'f', 2)
               .arg(Sci(b.tokens))
               .arg(b.loss, 0, 'f', 4)
               .arg(b.memory_bytes / kGiB, 0, 'f', 1);
    text += tr(" Layout: %1, checkpointing %2.")
                .arg(Q(Describe(b.layout)))
                .arg(Q(ToString(b.shape.checkpointing)));
    if (p.on_aspect_bound && p.at_relaxed_bound.fits) {
      text += tr(" <b>On the aspect bound %1:</b> the loss law is shape-blind; with the bound at "
                 "%2 the best would be d%3 x %4 layers, loss %5.")
                  .arg(p.aspect_bound)
                  .arg(p.relaxed_aspect_bound)
                  .arg(p.at_relaxed_bound.shape.d_model)
                  .arg(p.at_relaxed_bound.shape.n_layers)
                  .arg(p.at_relaxed_bound.loss, 0, 'f', 4);
    }
    for (const auto& w : p.warnings) text += tr(" <i>%1</i>").arg(Q(w));
    if (std::isfinite(p.flop_based.loss)) {
      text += tr(" FLOP-based answer: d%1 x %2 layers, loss %3 (%4).")
                  .arg(p.flop_based.shape.d_model)
                  .arg(p.flop_based.shape.n_layers)
                  .arg(p.flop_based.loss, 0, 'f', 4)
                  .arg(p.loss_saved >= 0 ? tr("%1 worse").arg(p.loss_saved, 0, 'f', 4)
                                         : tr("%1 better: it lies outside the search space")
                                               .arg(-p.loss_saved, 0, 'f', 4));
    }
  } else {
    text = tr("<b>No shape fits</b> the search space on %1.").arg(Q(p.hardware));
  }
  if (m_importedEval) {
    const Candidate& m = *m_importedEval;
    text += m.fits ? tr(" <b>Imported %1:</b> %2, %3 ms/step, loss %4%5.")
                         .arg(m_importedName.toHtmlEscaped(), Q(Describe(m.shape)).toHtmlEscaped())
                         .arg(m.step_s * 1e3, 0, 'f', 2)
                         .arg(m.loss, 0, 'f', 4)
                         .arg(p.found ? tr(" against the best's %1").arg(p.best.loss, 0, 'f', 4)
                                      : QString())
                   : tr(" <b>Imported %1</b> does not train here: %2.")
                         .arg(m_importedName.toHtmlEscaped(), Q(m.why_not).toHtmlEscaped());
  }
  text += QStringLiteral("<br><span style='color:#555'>%1</span>")
              .arg(timeProvenance(p.options.estimator, p.found ? &p.best.shape : nullptr)
                       .toHtmlEscaped());
  return text;
}

void MainWindow::fillTopTable(const PlanResult& p) {
  const QSignalBlocker block(m_table);
  m_table->setRowCount(static_cast<int>(p.top.size()));
  for (int r = 0; r < static_cast<int>(p.top.size()); ++r) {
    const Candidate& c = p.top[r];
    const QStringList cells = {
        QString::number(c.shape.d_model),
        QString::number(c.shape.n_layers),
        QString::number(c.shape.n_heads),
        Sci(c.total_params),
        QString::number(c.step_s * 1e3, 'f', 2),
        Sci(c.tokens),
        QString::number(c.loss, 'f', 4),
        QString::number(c.memory_bytes / kGiB, 'f', 1),
        QString::number(static_cast<double>(c.shape.d_model) / c.shape.n_layers, 'f', 0),
        Q(ShortLayout(c))};
    for (int col = 0; col < cells.size(); ++col) {
      auto* item = new QTableWidgetItem(cells[col]);
      item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      m_table->setItem(r, col, item);
    }
  }
  m_selectedRow = std::clamp(m_selectedRow, 0, std::max(0, m_table->rowCount() - 1));
  if (m_table->rowCount() > 0) m_table->selectRow(m_selectedRow);
}

void MainWindow::updateShapeCharts() {
  if (!m_plan || !m_plan->found) {
    m_rooflinePanel->setChart(plots::MakeRooflineChart(m_hw));
    m_breakdownPanel->showEmpty(tr("No shape fits: nothing to break down."));
    return;
  }
  const Candidate& selected = *selectedCandidate();
  const ModelShape& shape = selected.shape;
  m_rooflinePanel->setChart(plots::MakeRooflineChart(m_hw, &shape));
  try {
    // Priced as the plan priced it (its resolved estimator).
    const EstimatorKind e = m_plan->options.estimator;
    const TimeModel model = timeModelFor(e);
    // On the layout the plan chose for it (micro-batches, parallelism, communication).
    m_breakdownPanel->setChart(plots::MakeBreakdownChart(model, shape, e, &selected.layout));
  } catch (const std::exception& e) {
    m_breakdownPanel->showEmpty(Q(e.what()));
  }
}

}  // namespace chronoscale::gui
