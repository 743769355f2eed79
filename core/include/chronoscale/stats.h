// Order statistics: one definition for the library and the apps (fit reports, holdouts,
// bootstrap intervals, kernel timings).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace chronoscale {

// The median: the middle value, or the mean of the two middle values; 0 for no values.
inline double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The q-quantile (q in [0, 1]) with linear interpolation between order statistics (numpy's
// default); 0 for no values.
inline double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  const double t = pos - static_cast<double>(lo);
  return v[lo] * (1 - t) + v[hi] * t;
}

// The nearest-rank q-quantile: the value at rank ceil(q n) (the error reports' p90); 0 for none.
inline double NearestRank(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

}  // namespace chronoscale
