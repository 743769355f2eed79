// --plot for the CLI: renders through chronoscale_plots when the build has it.
#include <chronoscale/error.h>

#include "plan_output.h"

#ifdef CHRONOSCALE_HAVE_PLOTS
#include <chronoscale/plots/plots.h>
#endif

namespace chronoscale::cli {

void RenderPlanPlot(const PlanResult& r, const std::string& path) {
#ifdef CHRONOSCALE_HAVE_PLOTS
  plots::RenderLossHeatmap(r, path);
#else
  (void)r;
  throw RuntimeError("cannot write " + path + ": this build has no plots (configure with CHRONOSCALE_BUILD_GUI=ON)");
#endif
}

}  // namespace chronoscale::cli
