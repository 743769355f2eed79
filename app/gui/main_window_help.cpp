// Help menu: the README's command reference (the same text as the repository's, compiled into
// the app's resources) and the version.
#include <QDialog>
#include <QDialogButtonBox>
#include <QFile>
#include <QMessageBox>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <chronoscale/version.h>

#include "main_window.h"

namespace chronoscale::gui {

QString MainWindow::quickReferenceText() {
  QFile file(QStringLiteral(":/README.md"));
  if (!file.open(QIODevice::ReadOnly)) return {};
  const QString readme = QString::fromUtf8(file.readAll());
  // "## Commands" up to the next section.
  const qsizetype begin = readme.indexOf(QStringLiteral("\n## Commands"));
  if (begin < 0) return {};
  const qsizetype end = readme.indexOf(QStringLiteral("\n## "), begin + 1);
  const QString commands = readme.mid(begin + 1, end < 0 ? -1 : end - begin - 1);
  return tr("## The desktop app\n\n"
            "Move any input on the left and the plan follows. Hover over the loss surface to read "
            "a shape's loss, step time, tokens and memory; click it to select that shape for the "
            "roofline and breakdown tab. *Tools* measures this machine, calibrates the attention "
            "kernels here, and fits the step time or the loss law from runs CSVs; *File* opens "
            "and saves sessions and exports charts, the surface and the plan. Everything below "
            "is also on the command line.\n\n") +
         commands;
}

void MainWindow::showQuickReference() {
  auto* dialog = new QDialog(this);
  dialog->setObjectName(QStringLiteral("quickReference"));
  dialog->setWindowTitle(tr("chronoscale quick reference"));
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  auto* layout = new QVBoxLayout(dialog);
  auto* text = new QTextBrowser();
  text->setOpenExternalLinks(true);
  const QString markdown = quickReferenceText();
  text->setMarkdown(markdown.isEmpty() ? tr("The quick reference is missing from this build; see "
                                            "README.md and `chronoscale --help`.")
                                       : markdown);
  layout->addWidget(text);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
  connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
  layout->addWidget(buttons);
  dialog->resize(960, 640);
  dialog->open();
}

void MainWindow::showAbout() {
  QMessageBox::about(
      this, tr("About chronoscale"),
      tr("<b>chronoscale %1</b><br>Which transformer to train under a wall-clock budget: step "
         "times from an accounting of memory traffic and FLOPs, calibrated on measured runs; "
         "loss laws fitted by Chinchilla's Approach 3.<br><br>The command-line tool "
         "<code>chronoscale</code> does everything the app does; <code>chronoscale "
         "--help</code> lists its commands.")
          .arg(QLatin1String(chronoscale::Version())));
}

}  // namespace chronoscale::gui
