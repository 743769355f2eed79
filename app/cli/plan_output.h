// Text, JSON and CSV renderings of a plan (shared by plan and sweep), and the --plot hook.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <chronoscale/planner.h>

namespace chronoscale::cli {

std::string PlanTable(const PlanResult& r);
// "dp8 tp8 pp1 zero1 mb1x64 ckpt-full": a candidate's layout in one short cell.
std::string ShortLayout(const Candidate& c);
std::string CandidatesCsvHeader();
void AppendCandidateCsv(const Candidate& c, std::string* out);
std::string CandidatesCsv(const std::vector<Candidate>& list);
// Renders the loss heatmap (PNG or SVG by extension). RuntimeError when built without plots.
void RenderPlanPlot(const PlanResult& r, const std::string& path);

}  // namespace chronoscale::cli
