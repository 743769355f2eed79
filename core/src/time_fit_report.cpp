// What a time fit reports: its error statistics and the summary as text and JSON.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "chronoscale/stats.h"
#include "chronoscale/time_fit.h"

namespace chronoscale {

ErrorStats AbsStats(std::vector<double> e) {
  ErrorStats s;
  if (e.empty()) return s;
  for (double& x : e) x = std::fabs(x);
  s.median = Median(e);
  s.p90 = NearestRank(e, 0.9);
  s.worst = *std::max_element(e.begin(), e.end());
  return s;
}

std::string TimeFitSummary::BriefReport() const {
  std::string s = fmt::format(
      "{} runs on {}; |relative error| of step time, in-sample and {}-fold cross-validated\n", runs,
      model.hardware.name, folds);
  s += fmt::format("{:<11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {}\n", "estimator", "in-med",
                   "in-p90", "in-worst", "cv-med", "cv-p90", "cv-worst", "note");
  for (const auto& r : reports) {
    if (!r.available) {
      s += fmt::format("{:<11} {:>59}  {}\n", ToString(r.kind), "", r.note);
      continue;
    }
    s += fmt::format("{:<11} {:>8.1f}% {:>8.1f}% {:>8.1f}% {:>8.1f}% {:>8.1f}% {:>8.1f}%  {}{}\n",
                     ToString(r.kind), 100 * r.in_median, 100 * r.in_p90, 100 * r.in_worst,
                     100 * r.cv_median, 100 * r.cv_p90, 100 * r.cv_worst,
                     r.kind == model.best ? "best; " : "", r.note);
  }
  return s;
}

nlohmann::json TimeFitSummary::ToJson() const {
  nlohmann::json doc;
  doc["runs"] = runs;
  doc["folds"] = folds;
  doc["best"] = ToString(model.best);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : reports) {
    nlohmann::json j{{"estimator", ToString(r.kind)}, {"available", r.available}};
    if (!r.note.empty()) j["note"] = r.note;
    if (r.available) {
      j["in_sample"] = {{"median", r.in_median}, {"p90", r.in_p90}, {"worst", r.in_worst}};
      j["cross_validated"] = {{"median", r.cv_median}, {"p90", r.cv_p90}, {"worst", r.cv_worst}};
    }
    list.push_back(j);
  }
  doc["estimators"] = list;
  return doc;
}

}  // namespace chronoscale
