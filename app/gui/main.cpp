#include <QApplication>
#include <QLabel>
#include <QMainWindow>

#include <chronoscale/version.h>

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QMainWindow window;
  window.setWindowTitle(QStringLiteral("chronoscale %1").arg(chronoscale::Version()));
  window.setCentralWidget(new QLabel(QStringLiteral("chronoscale")));
  window.resize(800, 600);
  window.show();
  return app.exec();
}
