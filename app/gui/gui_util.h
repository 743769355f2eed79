// Small helpers the window's source files share: string conversions and combo-box data.
#pragma once

#include <string>

#include <QComboBox>
#include <QString>

namespace chronoscale::gui {

inline QString Q(const std::string& s) { return QString::fromStdString(s); }
inline std::string S(const QString& s) { return s.toStdString(); }

// Selects the item whose data is `data`, adding it (shown as `text`) when the combo lacks it.
inline void SetComboData(QComboBox* combo, const QString& data, const QString& text) {
  int i = combo->findData(data);
  if (i < 0) {
    combo->addItem(text, data);
    i = combo->count() - 1;
  }
  combo->setCurrentIndex(i);
}

}  // namespace chronoscale::gui
