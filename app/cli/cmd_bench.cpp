// chronoscale bench: measure this machine (or its CUDA device) and print or save the profile.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include <chronoscale/bench.h>
#include <chronoscale/error.h>
#include <chronoscale/hardware.h>

#include "bench_command.h"
#include "cli_common.h"
#include "commands.h"

namespace chronoscale::cli {

// Defined by the chronoscale CLI's plot hooks; the lean chronoscale-bench binary defines it to
// say that it has no plots.
void RenderBenchPlot(const HardwareProfile& profile, const std::string& path);

namespace {

struct BenchArgs {
  bool quick = false;
  std::string device = "cpu";
  int threads = 0;
  std::string out;
  std::string plot;
  Format format = Format::kTable;
  CLI::Option* format_option = nullptr;
};

void RunBenchCommand(const BenchArgs& args) {
  BenchOptions options;
  if (!Parse(args.device, &options.device)) {
    throw InputError(fmt::format("--device {}: expected cpu or cuda", args.device));
  }
  options.quick = args.quick;
  options.num_threads = args.threads;
  // `--out x.json` without --format means the profile document.
  Format format = args.format;
  if (args.format_option->count() == 0 && args.out.ends_with(".json")) format = Format::kJson;

  if (!args.plot.empty()) CheckPlotPath(args.plot);
  const BenchSummary summary = RunBench(options, TerminalProgress("bench"));
  if (format == Format::kJson) {
    nlohmann::json doc = HardwareToJson(summary.ToHardwareProfile());
    const nlohmann::json provenance = Provenance({});
    for (const auto& [key, value] : provenance.items()) doc[key] = value;
    std::cerr << summary.BriefReport() << "\n";
    Emit(doc.dump(2), args.out);
  } else {
    Emit(summary.FullReport(), args.out);
  }
  if (!args.plot.empty()) RenderBenchPlot(summary.ToHardwareProfile(), args.plot);
}

}  // namespace

void AddBenchOptions(CLI::App* app) {
  auto args = std::make_shared<BenchArgs>();
  app->add_flag("--quick", args->quick,
                "short run: smaller arrays, fewer sizes and repetitions (under 10 s)");
  app->add_option("--device", args->device, "what to measure: cpu (default) or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}, CLI::ignore_case));
  app->add_option("--threads", args->threads, "CPU worker threads (default: every CPU)")
      ->check(CLI::Range(1, 4096));
  app->add_option("--out", args->out,
                  "write the result here instead of stdout (a .json path implies --format json)");
  app->add_option("--plot", args->plot, "roofline of the measured profile (PNG or SVG)");
  args->format_option = AddFormatOption(app, &args->format, false);
  app->callback([args] { RunBenchCommand(*args); });
}

void SetupBench(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "bench",
      "measure this machine: memory bandwidth (STREAM), peak FMA, GEMM, exp, dispatch overhead; "
      "--format json gives a hardware profile for --hardware");
  AddBenchOptions(sub);
}

}  // namespace chronoscale::cli
