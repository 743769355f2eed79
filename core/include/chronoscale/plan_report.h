// A plan reports itself: the full text (what `chronoscale plan` prints), a brief one (the
// answer and the FLOP-based one beside it, in two lines) and its candidates as CSV rows
// (plan --format csv and sweep). The plan as JSON is PlanToJson (planner.h).
#pragma once

#include <string>
#include <vector>

#include "chronoscale/planner.h"

namespace chronoscale {

// Budget, search, the ranked list, the FLOP-based answer, the time-optimal one, the loss
// saved, uncertainty, warnings and notes.
std::string PlanReport(const PlanResult& plan);
// Two lines: the best shape (size, tokens, loss, layout) and the FLOP-based answer with how much
// worse it is; one line saying so when no shape fits.
std::string PlanBrief(const PlanResult& plan);

// "dp8 tp8 pp1 zero1 mb1x64 ckpt-full": a candidate's layout in one short cell.
std::string ShortLayout(const Candidate& c);
std::string CandidatesCsvHeader();
void AppendCandidateCsv(const Candidate& c, std::string* out);
std::string CandidatesCsv(const std::vector<Candidate>& list);

}  // namespace chronoscale
