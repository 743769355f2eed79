// One hook for progress and cancellation for every long operation (bench, fits, calibrate).
#pragma once

#include <functional>
#include <string>

namespace chronoscale {

// Called with the fraction done in [0, 1] and a short message. Return false to cancel; the
// operation then throws chronoscale::Cancelled (or returns partial results it says are partial).
using ProgressCallback = std::function<bool(double fraction, const std::string& message)>;

// Calls `progress` if set; returns its answer (true when there is no callback).
inline bool ReportProgress(const ProgressCallback& progress, double fraction,
                           const std::string& message) {
  return progress ? progress(fraction, message) : true;
}

}  // namespace chronoscale
