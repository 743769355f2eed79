// chronoscale plan / sweep: the lowest predicted loss for a wall-clock budget, and the surface.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include <chronoscale/error.h>
#include <chronoscale/hf_config.h>
#include <chronoscale/io.h>
#include <chronoscale/loss_law.h>
#include <chronoscale/plan_report.h>
#include <chronoscale/plan_request.h>
#include <chronoscale/planner.h>

#include "cli_common.h"
#include "commands.h"
#include "plot_hooks.h"
#include "shape_flags.h"

namespace chronoscale::cli {
namespace {

struct PlanCliOptions {
  double hours = 0;
  ClusterFlags cluster;
  std::string hardware, law = "epoch", time_model, estimator, width = "256:16384:64",
                        depth = "1:128:1";
  ShapeFlags shape;
  double goodput = 1, mfu = 0.4, unique_tokens = 0;
  std::string aspect = "8:256";
  int top = 10, threads = 0;
  std::string export_hf, plot, out;
  Format format = Format::kTable;
};

// The base shape's variants at a size every variant admits (d_model 1024, 16 heads, d_ff 4096,
// enough layers for the leading dense ones; the kv heads kept where they divide 16): checks of
// the variant flags and of --export-hf before the search.
ModelShape VariantProbe(const ModelShape& base) {
  ModelShape p = base;
  p.d_model = 1024;
  p.n_layers = std::max<int64_t>(2, base.dense_layers + 1);
  p.n_heads = 16;
  if (p.n_kv_heads > 0 && 16 % p.n_kv_heads != 0) p.n_kv_heads = 0;
  p.d_ff = 4096;
  return p;
}

// The --aspect range: both numbers whole strings ("8abc:256xyz" is an error, not 8:256).
void ParseAspect(const std::string& text, PlanOptions* o) {
  auto number = [&](const std::string& part) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || !std::isfinite(v)) {
      throw InputError("aspect",
                       fmt::format(" '{}': expected A:B with two numbers, e.g. 8:256", text));
    }
    return v;
  };
  const auto colon = text.find(':');
  if (colon == std::string::npos) {
    throw InputError("aspect", fmt::format(" '{}': expected A:B, e.g. 8:256", text));
  }
  o->min_aspect = number(text.substr(0, colon));
  o->max_aspect = number(text.substr(colon + 1));
}

// The plan the flags ask for; core's ResolvePlan turns it into the planner's options.
PlanRequest MakeRequest(const PlanCliOptions& c, const CLI::App* sub) {
  PlanRequest r;
  PlanOptions& o = r.plan;
  o.hours = c.hours;
  o.goodput = c.goodput;
  o.mfu = c.mfu;
  o.mfu_override = sub != nullptr && sub->count("--mfu") > 0;
  o.unique_tokens = c.unique_tokens;
  o.width = ParseRange(c.width, "--width", 64);
  o.depth = ParseRange(c.depth, "--depth", 1);
  o.head_size = c.shape.head_size;
  o.mlp_ratio = c.shape.mlp_ratio;
  o.top = c.top;
  o.threads = c.threads;
  ParseAspect(c.aspect, &o);
  // The base shape: seq, vocab and variants from the flags (width, depth and batch later).
  o.base = ReferenceShape(1024, 1);
  o.base.seq_len = c.shape.seq;
  o.base.vocab = c.shape.vocab;
  o.base.n_kv_heads = c.shape.kv_heads;
  ApplyVariantFlags(c.shape, sub, &o.base);
  if (sub != nullptr && sub->count("--batch") > 0) r.batch = c.shape.batch;
  // The variant flags (and a given --batch), checked once; the default batch is always valid.
  ModelShape probe = VariantProbe(o.base);
  if (r.batch) probe.batch = *r.batch;
  ValidateFromFlags(probe);
  r.cluster = ToClusterRequest(c.cluster, c.shape, sub);
  r.estimator = c.estimator;
  r.time_model_fitted = !c.time_model.empty();
  return r;
}

void AddPlanFlags(CLI::App* sub, PlanCliOptions* o) {
  sub->add_option("--hours", o->hours, "wall-clock budget in hours")->required();
  AddClusterFlags(sub, &o->cluster);
  sub->add_option("--threads", o->threads,
                  "threads over the grid (default 0: every core; the answer is the same)");
  sub->add_option("--hardware", o->hardware,
                  "preset or profile JSON (default h100-sxm, or the time model's)");
  sub->add_option("--law", o->law,
                  "loss law: chinchilla, epoch (default), kaplan or a law JSON from fit-loss");
  sub->add_option("--time-model", o->time_model, "time model JSON from fit-time");
  sub->add_option("--estimator", o->estimator, "flops, memcopy, roofline or calibrated");
  sub->add_option("--width", o->width, "d_model range A:B[:STEP] (default 256:16384:64)");
  sub->add_option("--depth", o->depth, "n_layers range A:B[:STEP] (default 1:128:1)");
  AddShapeFlags(sub, &o->shape, false);
  sub->add_option(
      "--aspect", o->aspect,
      "allowed d_model/n_layers range A:B where the loss law is trusted (default 8:256)");
  sub->add_option("--goodput", o->goodput,
                  "fraction of wall clock spent in training steps (default 1)");
  sub->add_option("--mfu", o->mfu,
                  "utilisation of the FLOP-based answer (default: the MFU the time model "
                  "predicts for its Chinchilla-shaped answer; also the FLOP estimator's, 0.4)");
  sub->add_option("--unique-tokens", o->unique_tokens,
                  "unique training tokens available (default: unlimited); beyond them data "
                  "repeats and the loss follows Muennighoff et al. 2023's effective data");
  sub->add_option("--plot", o->plot, "heatmap of the surface (PNG or SVG)");
  AddFormatOption(sub, &o->format, true);
}

void RunPlan(const PlanCliOptions& c, const CLI::App* sub) {
  if (!c.plot.empty()) CheckPlotPath(c.plot);
  const std::vector<std::string> inputs{c.time_model, c.law, c.hardware};
  if (!c.out.empty()) CheckNotInput(c.out, inputs, "--out");
  if (!c.export_hf.empty()) CheckNotInput(c.export_hf, inputs, "--export-hf");
  const TimeModel model = ResolveTimeModel(c.hardware, c.time_model, c.mfu);
  const LossLaw law = LoadLaw(c.law);
  const PlanOptions o = ResolvePlan(MakeRequest(c, sub), model).options;
  if (!c.export_hf.empty()) {
    // Refuse a variant no Hugging Face class builds before the search, not after it.
    HfConfigFromShape(VariantProbe(o.base));
  }
  const PlanResult r = Plan(o, model, law, c.law);
  if (!r.found) {
    throw RuntimeError(fmt::format(
        "no shape in --width {} x --depth {} fits in {:.1f} GiB usable of {} on {} device(s), "
        "with any legal layout; try smaller widths, --seq, more --devices or a smaller "
        "--memory-reserve",
        c.width, c.depth, r.usable_bytes / kGiB, model.hardware.name, o.devices));
  }
  if (!c.export_hf.empty()) {
    ModelShape best = r.best.shape;
    WriteFileAtomic(c.export_hf, HfConfigFromShape(best).dump(2) + "\n");
    Diag(fmt::format("wrote {}", c.export_hf));
  }
  if (!c.plot.empty()) RenderPlanPlot(r, c.plot);
  std::string text;
  switch (c.format) {
    case Format::kJson: {
      nlohmann::json doc = Provenance({c.time_model, c.law.ends_with(".json") ? c.law : "",
                                       c.hardware.ends_with(".json") ? c.hardware : ""});
      const nlohmann::json plan = PlanToJson(r);
      doc.update(plan);
      text = doc.dump(2);
      break;
    }
    case Format::kCsv:
      text = CandidatesCsv(r.top);
      break;
    case Format::kTable:
      text = PlanReport(r);
      break;
  }
  Emit(text, c.out, inputs);
}

void RunSweep(const PlanCliOptions& c, const CLI::App* sub) {
  if (!c.plot.empty()) CheckPlotPath(c.plot);
  const std::vector<std::string> inputs{c.time_model, c.law, c.hardware};
  if (!c.out.empty()) CheckNotInput(c.out, inputs, "--out");
  if (c.format == Format::kJson) {
    throw InputError("sweep writes CSV; use plan --format json for the best shapes");
  }
  const TimeModel model = ResolveTimeModel(c.hardware, c.time_model, c.mfu);
  const LossLaw law = LoadLaw(c.law);
  const PlanOptions o = ResolvePlan(MakeRequest(c, sub), model).options;
  if (!c.plot.empty()) RenderPlanPlot(Plan(o, model, law, c.law), c.plot);
  // Row by row to the output (one row in memory), with progress on a terminal.
  OutputFile out(c.out);
  out.Write(CandidatesCsvHeader());
  const int64_t total = o.width.Count() * o.depth.Count();
  const ProgressCallback progress = total >= 1'000'000 ? TerminalProgress("sweep") : nullptr;
  int64_t done = 0;
  std::string row;
  SweepCandidates(o, model, law, [&](const Candidate& cand) {
    row.clear();
    AppendCandidateCsv(cand, &row);
    out.Write(row);
    if (progress && ++done % 262144 == 0) {
      progress(static_cast<double>(done) / static_cast<double>(total),
               fmt::format("{} of {} shapes", done, total));
    }
  });
  if (progress) progress(1.0, fmt::format("{} shapes", total));
  out.Commit();
  if (!c.out.empty()) Diag("wrote " + c.out);
}

}  // namespace

void SetupPlan(CLI::App& app) {
  {
    auto* sub = app.add_subcommand(
        "plan", "the shape with the lowest predicted loss for a wall-clock budget");
    auto o = std::make_shared<PlanCliOptions>();
    AddPlanFlags(sub, o.get());
    sub->add_option("--top", o->top, "how many of the best shapes to list (default 10)");
    sub->add_option("--export-hf", o->export_hf,
                    "write the best shape as a Hugging Face config.json");
    sub->add_option("--out", o->out, "write the result to FILE instead of stdout");
    sub->callback([o, sub] { RunPlan(*o, sub); });
  }
  {
    auto* sub = app.add_subcommand("sweep", "every candidate of the width x depth grid as CSV");
    auto o = std::make_shared<PlanCliOptions>();
    AddPlanFlags(sub, o.get());
    o->format = Format::kCsv;
    sub->add_option("--out", o->out, "CSV file (stdout if absent)");
    sub->callback([o, sub] { RunSweep(*o, sub); });
  }
}

}  // namespace chronoscale::cli
