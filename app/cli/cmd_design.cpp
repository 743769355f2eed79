// chronoscale design: the shapes to measure on your hardware so that the calibrated step-time
// model is pinned down (D-optimal over its sensitivities, plus coverage of the plan's region),
// written as the CSV tools/measure_steps.py reads; optionally a Slurm script that runs it.
#include <fmt/format.h>

#include <chronoscale/design.h>
#include <chronoscale/error.h>
#include <chronoscale/io.h>

#include "cli_common.h"
#include "commands.h"
#include "shape_flags.h"

namespace chronoscale::cli {
namespace {

struct DesignArgs {
  std::string hardware, time_model, out, emit = "csv", script, harness = "tools/measure_steps.py",
                                         runs = "runs.csv", width = "64:4096", depth = "1:32",
                                         time_limit = "02:00:00";
  DesignOptions options;
  int nodes = 1, gpus_per_node = 1;
};

void ParseRange(const std::string& text, const char* flag, int64_t* lo, int64_t* hi) {
  const auto colon = text.find(':');
  std::size_t used_lo = 0, used_hi = 0;
  try {
    if (colon == std::string::npos) throw std::invalid_argument(text);
    *lo = std::stoll(text.substr(0, colon), &used_lo);
    *hi = std::stoll(text.substr(colon + 1), &used_hi);
  } catch (const std::exception&) {
    throw InputError(fmt::format("{} '{}': expected MIN:MAX (whole numbers)", flag, text));
  }
  if (used_lo != colon || used_hi != text.size() - colon - 1) {
    throw InputError(fmt::format("{} '{}': expected MIN:MAX (whole numbers)", flag, text));
  }
}

void Run(DesignArgs a) {
  if (a.emit != "csv" && a.emit != "slurm")
    throw InputError(fmt::format("--emit '{}': expected csv or slurm", a.emit));
  if (a.out.empty()) throw InputError("--out: a file for the shapes CSV is required");
  ParseRange(a.width, "--width", &a.options.width_min, &a.options.width_max);
  ParseRange(a.depth, "--depth", &a.options.depth_min, &a.options.depth_max);
  if (a.emit == "slurm" && a.script.empty()) {
    const auto dot = a.out.rfind('.');
    const auto slash = a.out.rfind('/');
    a.script = (dot != std::string::npos && (slash == std::string::npos || dot > slash)
                    ? a.out.substr(0, dot)
                    : a.out) +
               ".sbatch";
  }
  const TimeModel model = ResolveTimeModel(a.hardware, a.time_model, 0.4);
  const Design d = DesignExperiments(model, a.options);
  WriteFileAtomic(a.out, DesignCsv(d, a.emit == "slurm" ? a.nodes * a.gpus_per_node : 1));
  Diag(fmt::format("wrote {}", a.out));
  if (a.emit == "slurm") {
    CheckNotInput(a.script, {a.out}, "--script");
    WriteFileAtomic(a.script,
                    SlurmScript(a.harness, a.out, a.runs, a.nodes, a.gpus_per_node, a.time_limit));
    Diag(fmt::format("wrote {}", a.script));
  }
  std::string text = fmt::format(
      "{} shapes for {} ({} candidates scored; coefficients {}): measure them with\n"
      "  python3 tools/measure_steps.py --shapes {} --out runs.csv\n",
      d.shapes.size(), model.hardware.name, d.candidates,
      model.Has(EstimatorKind::kCalibrated) ? "of the time model" : "of the fit's prior", a.out);
  text += fmt::format("{:>4} {:>7} {:>6} {:>6} {:>5} {:>7} {:>11}  {}\n", "#", "d_model", "layers",
                      "seq", "batch", "vocab", "predicted", "role");
  double total = 0;
  for (std::size_t i = 0; i < d.shapes.size(); ++i) {
    const ModelShape& s = d.shapes[i].shape;
    total += d.shapes[i].predicted_s;
    text += fmt::format("{:>4} {:>7} {:>6} {:>6} {:>5} {:>7} {:>8.2f} ms  {}\n", i + 1, s.d_model,
                        s.n_layers, s.seq_len, s.batch, s.vocab, d.shapes[i].predicted_s * 1e3,
                        d.shapes[i].role);
  }
  text += fmt::format(
      "one step of each: {:.2f} s in all; standard error of each parameter per 1% timing noise:\n",
      total);
  for (std::size_t p = 0; p < d.parameters.size(); ++p) {
    text += fmt::format("  {:<22} {:.4f}\n", d.parameters[p], d.standard_error[p]);
  }
  Emit(text, "");
}

}  // namespace

void SetupDesign(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "design", "choose the shapes to measure for calibrating the step-time model on a machine");
  auto a = std::make_shared<DesignArgs>();
  sub->add_option("--hardware", a->hardware,
                  "preset, profile JSON or local: the machine to calibrate (default h100-sxm, or "
                  "the time model's)");
  sub->add_option("--time-model", a->time_model,
                  "a time model to take the sensitivities at (default: the fit's prior)");
  sub->add_option("--count", a->options.count, "shapes to choose (default 24)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--out", a->out, "the shapes CSV to write")->required();
  sub->add_option("--width", a->width, "d_model range MIN:MAX (default 64:4096)");
  sub->add_option("--depth", a->depth, "n_layers range MIN:MAX (default 1:32)");
  sub->add_option("--seq", a->options.seq, "sequence lengths (default 256,512,1024,2048,4096)")
      ->delimiter(',');
  sub->add_option("--batch", a->options.batch, "batch sizes (default 1,2,4,8,16,32)")
      ->delimiter(',');
  sub->add_option("--vocab", a->options.vocab, "vocabulary sizes (default 8192,32768,131072)")
      ->delimiter(',');
  sub->add_option("--max-params", a->options.max_params,
                  "largest parameter count (default: what fits the device's memory)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--coverage", a->options.coverage,
                  "share of the shapes spread over width x depth rather than chosen for the "
                  "parameters (default 0.25)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--seed", a->options.seed, "seed of the candidate draw (default 1)");
  sub->add_option("--emit", a->emit,
                  "csv (the shapes only) or slurm (also a Slurm batch script that runs the "
                  "harness under torchrun across nodes)");
  sub->add_option("--script", a->script, "the Slurm script to write (default: --out with .sbatch)");
  sub->add_option("--nodes", a->nodes, "Slurm nodes (default 1)")->check(CLI::Range(1, 100000));
  sub->add_option("--gpus-per-node", a->gpus_per_node, "GPUs per node in the script (default 1)")
      ->check(CLI::Range(1, 1024));
  sub->add_option("--runs", a->runs, "the runs CSV the script writes (default runs.csv)");
  sub->add_option(
      "--harness", a->harness,
      "path of measure_steps.py as the script sees it (default tools/measure_steps.py)");
  sub->add_option("--time-limit", a->time_limit, "Slurm --time (default 02:00:00)");
  sub->callback([a] { Run(*a); });
}

}  // namespace chronoscale::cli
