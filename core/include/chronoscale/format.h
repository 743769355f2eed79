// Numbers for people: one SI-prefix formatter for reports and messages, library and apps.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>

namespace chronoscale {

// 3 significant digits with an SI prefix: 539M, 12.1G, 6.79k; "n/a" when not finite.
inline std::string Si(double v) {
  if (!std::isfinite(v)) return "n/a";
  const double a = std::fabs(v);
  const char* suffix[] = {"", "k", "M", "G", "T", "P", "E"};
  int i = 0;
  double x = v;
  while (std::fabs(x) >= 1000 && i < 6) {
    x /= 1000;
    ++i;
  }
  if (a < 1 && a > 0) return fmt::format("{:.3g}", v);
  return fmt::format("{:.3g}{}", x, suffix[i]);
}

}  // namespace chronoscale
