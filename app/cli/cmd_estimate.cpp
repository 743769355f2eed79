// chronoscale estimate: predicted step time and memory of one shape (flags or --hf-config) or of
// every row of a shapes CSV, with --explain for the op-by-op accounting.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <map>

#include <chronoscale/error.h>
#include <chronoscale/hf_config.h>
#include <chronoscale/io.h>
#include <chronoscale/layout_search.h>
#include <chronoscale/planner.h>
#include <chronoscale/time_fit.h>
#include <chronoscale/workload.h>

#include "cli_common.h"
#include "commands.h"
#include "plot_hooks.h"
#include "shape_flags.h"

namespace chronoscale::cli {
namespace {

struct EstimateOptions {
  int64_t d_model = 0, layers = 0;
  ShapeFlags shape;
  ClusterFlags cluster;
  std::string shapes_csv, hf_config, hardware, time_model, estimator, out, plot;
  bool explain = false;
  Format format = Format::kTable;
};

std::string ExplainTable(const TimeModel& model, const Workload& wl, EstimatorKind e,
                         const std::vector<double>& secs) {
  std::string t = fmt::format("{:<26} {:<9} {:<11} {:>6} {:>10} {:>10} {:>10} {:>8} {:>9} {:>6}\n",
                              "op", "phase", "kind", "count", "GFLOP", "MB read", "MB written",
                              "launches", "pred ms", "share");
  double total = 0;
  for (double s : secs) total += s;
  for (std::size_t i = 0; i < wl.ops.size(); ++i) {
    const Op& op = wl.ops[i];
    t += fmt::format(
        "{:<26} {:<9} {:<11} {:>6g} {:>10.3f} {:>10.2f} {:>10.2f} {:>8g} {:>9.4f} {:>5.1f}%\n",
        std::string(op.name) + (op.per_layer ? " /layer" : ""), ToString(op.phase),
        ToString(op.kind), op.count, op.flops * op.count / 1e9, op.bytes_read * op.count / 1e6,
        op.bytes_written * op.count / 1e6, op.launches * op.count, secs[i] * 1e3,
        total > 0 ? 100 * secs[i] / total : 0);
  }
  t += "\nby phase:\n";
  for (std::size_t p = 0; p < kNumPhases; ++p) {
    double s = 0;
    for (std::size_t i = 0; i < wl.ops.size(); ++i)
      s += wl.ops[i].phase == static_cast<Phase>(p) ? secs[i] : 0;
    const Totals& x = wl.by_phase[p];
    t += fmt::format("  {:<10} {:>10.2f} GFLOP {:>10.1f} MB {:>7g} launches {:>9.3f} ms\n",
                     ToString(static_cast<Phase>(p)), x.flops / 1e9, x.Bytes() / 1e6, x.launches,
                     s * 1e3);
  }
  t += "by kind:\n";
  for (std::size_t k = 0; k < kNumOpKinds; ++k) {
    double s = 0;
    for (std::size_t i = 0; i < wl.ops.size(); ++i)
      s += wl.ops[i].kind == static_cast<OpKind>(k) ? secs[i] : 0;
    const Totals& x = wl.by_kind[k];
    t += fmt::format("  {:<11} {:>9.2f} GFLOP {:>10.1f} MB {:>7g} launches {:>9.3f} ms\n",
                     ToString(static_cast<OpKind>(k)), x.flops / 1e9, x.Bytes() / 1e6, x.launches,
                     s * 1e3);
  }
  const StepExplanation parts = ExplainStep(model, wl, e);
  bool any_comm = false;
  for (const Op& op : wl.ops) any_comm = any_comm || op.kind == OpKind::kCommunication;
  if (any_comm) {
    t += "communication (link time; the exposed part is what the compute cannot hide):\n";
    t += fmt::format("  {:<22} {:<15} {:>10} {:>12} {:>8} {:<20} {:>9} {:>11}\n", "op",
                     "collective", "count", "MB each", "group", "overlap", "link ms", "exposed ms");
    for (std::size_t i = 0; i < wl.ops.size(); ++i) {
      const Op& op = wl.ops[i];
      if (op.kind != OpKind::kCommunication) continue;
      const double link = model.comm_multiplier * op.count *
                          CollectiveSeconds(op.collective, op.comm_bytes, op.group,
                                            op.group_per_node, model.hardware);
      t += fmt::format("  {:<22} {:<15} {:>10g} {:>12.2f} {:>8} {:<20} {:>9.3f} {:>11.3f}\n",
                       op.name, ToString(op.collective), op.count, op.comm_bytes / 1e6,
                       fmt::format("{} ({}/node)", op.group, op.group_per_node),
                       ToString(op.overlap), link * 1e3, secs[i] * 1e3);
    }
    t += fmt::format("  link time {:.3f} ms, exposed {:.3f} ms (overlap {:.2f}, link x{:.2f})\n",
                     parts.comm_s * 1e3, parts.exposed_comm_s * 1e3, model.comm_overlap,
                     model.comm_multiplier);
  }
  if (parts.bubble_s > 0) {
    t += fmt::format("pipeline bubble: {:.3f} ms ((pp - 1) / (m + pp - 1) of the compute)\n",
                     parts.bubble_s * 1e3);
  }
  const double step = parts.total_s;
  t += fmt::format(
      "total: {:.2f} GFLOP, {:.1f} MB moved, {:g} launches; predicted step {:.3f} ms ({} on {})\n",
      wl.total.flops / 1e9, wl.total.Bytes() / 1e6, wl.total.launches, step * 1e3, ToString(e),
      model.hardware.name);
  return t;
}

void Run(const EstimateOptions& o, const CLI::App* sub) {
  const int sources = (o.shapes_csv.empty() ? 0 : 1) + (o.hf_config.empty() ? 0 : 1) +
                      (o.d_model > 0 || o.layers > 0 ? 1 : 0);
  if (!o.plot.empty()) {
    CheckPlotPath(o.plot);
    if (!o.shapes_csv.empty()) throw InputError("--plot draws one shape; drop --shapes or --plot");
  }
  if (sources == 0)
    throw InputError(
        "estimate: give a shape (--d-model and --layers), --shapes FILE.csv or --hf-config FILE");
  if (sources > 1)
    throw InputError("estimate: give only one of --d-model/--layers, --shapes, --hf-config");
  const TimeModel model = ResolveTimeModel(o.hardware, o.time_model);
  EstimatorKind e = model.best;
  if (!o.estimator.empty()) {
    if (!Parse(o.estimator, &e)) {
      throw InputError(fmt::format(
          "--estimator '{}': expected flops, memcopy, roofline or calibrated", o.estimator));
    }
  } else if (o.time_model.empty()) {
    e = EstimatorKind::kRoofline;
  }
  if (!model.Has(e))
    PredictStepSeconds(model, ReferenceShape(1024, 1), e);  // throws the explanation
  const std::vector<std::string> inputs{o.shapes_csv, o.hf_config, o.time_model};
  if (!o.out.empty())
    CheckNotInput(o.out, {o.shapes_csv, o.hf_config, o.time_model, o.hardware}, "--out");

  if (!o.shapes_csv.empty()) {
    if (o.explain) throw InputError("--explain works on one shape; drop --shapes or --explain");
    // Every row gives its own shape: a shape flag beside --shapes would be silently ignored.
    for (const char* flag :
         {"--heads", "--d-ff",           "--head-size",     "--kv-heads",          "--mlp-ratio",
          "--seq",   "--batch",          "--vocab",         "--attention",         "--features",
          "--mlp",   "--norm",           "--positions",     "--precision",         "--optimizer",
          "--tied",  "--no-bias",        "--checkpointing", "--non-causal",        "--head-dim",
          "--block", "--sliding-window", "--experts",       "--experts-per-token", "--shared-ff"}) {
      if (sub->count(flag) > 0) {
        throw InputError(fmt::format(
            "{}: does not apply with --shapes (each row gives its own shape: put it in {})", flag,
            o.shapes_csv));
      }
    }
    const CsvTable table = ReadCsv(o.shapes_csv);
    const std::vector<ModelShape> shapes = ReadShapes(table);
    // Rows may name their hardware (a preset or profile): the model is retargeted to it.
    std::map<std::string, std::pair<TimeModel, double>> per_hw;  // model, usable bytes
    per_hw.emplace(
        "", std::make_pair(model, MakeSearch(o.cluster, o.shape, nullptr, model, e).usable_bytes));
    const int hw_col = table.Column("hardware");
    const int dev_col = table.Column("device");
    std::vector<const std::pair<TimeModel, double>*> row_model;
    std::vector<ParallelLayout> layouts;
    for (std::size_t r = 0; r < shapes.size(); ++r) {
      std::string name = hw_col >= 0 ? table.Text(r, hw_col) : "";
      // A row measured on the model's device (by name, preset or device name) is priced on it.
      if (!name.empty() &&
          RunsMatchHardware(model.hardware, name, dev_col >= 0 ? table.Text(r, dev_col) : "")) {
        name.clear();
      }
      auto it = per_hw.find(name);
      if (it == per_hw.end()) {
        HardwareProfile h;
        try {
          h = LoadHardware(name);
        } catch (const InputError& err) {
          throw InputError(fmt::format("{}: {}", table.Where(r, hw_col), err.what()));
        }
        TimeModel m = Retarget(model, h);
        const double usable = MakeSearch(o.cluster, o.shape, nullptr, m, e).usable_bytes;
        it = per_hw.emplace(name, std::make_pair(std::move(m), usable)).first;
      }
      row_model.push_back(&it->second);
      layouts.push_back(
          LayoutFromRow(table, r, shapes[r], it->second.first.hardware.gpus_per_node));
    }
    const int step_col = table.Column("step_ms");
    // Only the chosen format is built; CSV and table rows go out as they are priced.
    OutputFile out(o.out);
    if (o.format == Format::kCsv) {
      std::string header;
      for (std::size_t c = 0; c < table.header.size(); ++c)
        header += (c ? "," : "") + CsvCell(table.header[c]);
      header += ",pred_step_ms,pred_memory_gb,fits";
      if (step_col >= 0) header += ",rel_error";
      out.Write(header + "\n");
    } else if (o.format == Format::kTable) {
      out.Write(fmt::format("{:<52} {:>8} {:>12} {:>10} {:>9} {:>9}\n", "shape", "params",
                            "pred step ms", "memory GiB", "fits", step_col >= 0 ? "error" : ""));
    }
    nlohmann::json rows = nlohmann::json::array();
    std::vector<double> errors;
    const ProgressCallback progress =
        shapes.size() >= 100000 ? TerminalProgress("estimate") : nullptr;
    std::string line;
    for (std::size_t r = 0; r < shapes.size(); ++r) {
      const ModelShape& s = shapes[r];
      const double t = PredictStepSeconds(row_model[r]->first, s, layouts[r], e);
      const double mem = EstimateMemory(s, layouts[r]).Total();
      const double usable = row_model[r]->second;
      const bool fits = usable <= 0 || mem <= usable;
      double err = NAN, measured = NAN;
      if (step_col >= 0 && !table.Text(r, step_col).empty()) {
        measured = table.Number(r, step_col);
        if (measured > 0) {
          err = t * 1e3 / measured - 1;
          errors.push_back(err);
        }
      }
      if (o.format == Format::kCsv) {
        line.clear();
        for (std::size_t c = 0; c < table.header.size(); ++c)
          line += (c ? "," : "") + CsvCell(table.rows[r][c]);
        line += fmt::format(",{:.4f},{:.3f},{}", t * 1e3, mem / kGiB, fits ? 1 : 0);
        if (step_col >= 0) line += std::isfinite(err) ? fmt::format(",{:.4f}", err) : ",";
        out.Write(line + "\n");
      } else if (o.format == Format::kJson) {
        nlohmann::json j = ShapeToJson(s);
        j["layout"] = LayoutToJson(layouts[r]);
        j["params"] = s.Params();
        j["pred_step_ms"] = t * 1e3;
        j["pred_memory_gb"] = mem / kGiB;
        j["fits"] = fits;
        if (std::isfinite(err)) {
          j["step_ms"] = measured;
          j["rel_error"] = err;
        }
        rows.push_back(std::move(j));
      } else {
        out.Write(fmt::format("{:<52.52} {:>8} {:>12.3f} {:>10.2f} {:>9} {:>9}\n", Describe(s),
                              Si(s.Params()), t * 1e3, mem / kGiB, fits ? "yes" : "NO",
                              std::isfinite(err) ? fmt::format("{:+.1f}%", 100 * err) : ""));
      }
      if (progress && (r + 1) % 65536 == 0) {
        progress(static_cast<double>(r + 1) / static_cast<double>(shapes.size()),
                 fmt::format("{} of {} shapes", r + 1, shapes.size()));
      }
    }
    if (progress) progress(1.0, fmt::format("{} shapes", shapes.size()));
    if (o.format == Format::kJson) {
      nlohmann::json doc = Provenance(inputs);
      doc["hardware"] = model.hardware.name;
      doc["estimator"] = ToString(e);
      doc["results"] = std::move(rows);
      if (!errors.empty()) {
        const ErrorStats st = AbsStats(errors);
        doc["error"] = {
            {"median", st.median}, {"p90", st.p90}, {"worst", st.worst}, {"rows", errors.size()}};
      }
      out.Write(doc.dump(2) + "\n");
    } else if (o.format == Format::kTable) {
      std::string tail;
      if (!errors.empty()) {
        const ErrorStats st = AbsStats(errors);
        tail += fmt::format(
            "\n|relative error| over {} rows with step_ms: median {:.1f}%, p90 {:.1f}%, worst "
            "{:.1f}%\n",
            errors.size(), 100 * st.median, 100 * st.p90, 100 * st.worst);
      }
      tail += fmt::format("estimator {} on {}\n", ToString(e), model.hardware.name);
      out.Write(tail);
    }
    out.Commit();
    if (!o.out.empty()) Diag("wrote " + o.out);
    return;
  }

  ModelShape s;
  HfImport hf;
  if (!o.hf_config.empty()) {
    hf = LoadHfConfig(o.hf_config);
    s = hf.shape;
    ApplyVariantFlags(o.shape, sub, &s);
    if (sub->count("--batch") == 0) s.batch = GlobalBatch(o.shape, o.cluster, sub);
    if (sub->count("--seq") == 0) {
      Diag(fmt::format("note: seq_len {} (default; {}); --seq sets another", s.seq_len,
                       hf.context_limit > 0
                           ? fmt::format("the model's context limit is {}", hf.context_limit)
                           : std::string("the config gives no context limit")));
    } else {
      for (HfField& f : hf.fields) {
        if (f.field == "seq_len") f = {"seq_len", std::to_string(s.seq_len), "--seq"};
      }
    }
    if (hf.context_limit > 0 && s.seq_len > hf.context_limit) {
      Diag(fmt::format("warning: --seq {} is longer than the model's context limit {}", s.seq_len,
                       hf.context_limit));
    }
    for (const std::string& w : hf.warnings)
      Diag(fmt::format("warning: {}: {}", Printable(o.hf_config), Printable(w)));
    ValidateFromFlags(s);
  } else {
    if (o.d_model <= 0 || o.layers <= 0)
      throw InputError("estimate: give both --d-model and --layers (positive)");
    ShapeFlags flags = o.shape;
    flags.batch = GlobalBatch(o.shape, o.cluster, sub);
    s = MakeShape(flags, o.d_model, o.layers);
  }
  // The fastest legal layout on --devices that fits (pinned parts from --layout).
  const LayoutSearchOptions search = MakeSearch(o.cluster, o.shape, sub, model, e);
  const LayoutChoice choice = ChooseLayout(s, search, model);
  if (!choice.legal) throw InputError(fmt::format("estimate: {}", choice.why_not));
  s = choice.shape;
  const ParallelLayout layout = choice.layout;
  const Workload wl = BuildWorkload(s, layout);
  if (!o.plot.empty()) RenderBreakdownPlot(model, s, layout, e, o.plot);
  const double t = choice.step_s;
  const MemoryEstimate mem = choice.memory;
  const bool fits = choice.fits;
  std::vector<double> secs;
  if (o.explain) secs = ExplainOpSeconds(model, wl, e);
  // A fitted estimator outside the runs it was fitted on extrapolates: say so.
  std::vector<std::string> outside;
  if (e != EstimatorKind::kRoofline && model.fitted[static_cast<std::size_t>(e)]) {
    outside = OutsideFitDomain(model.fitted_on, s);
  }
  std::string outside_text;
  for (const auto& x : outside) outside_text += (outside_text.empty() ? "" : "; ") + x;
  if (!outside.empty()) {
    Diag(fmt::format("note: extrapolating: the time model was fitted on other sizes: {}",
                     outside_text));
  }
  if (o.format == Format::kJson) {
    nlohmann::json doc = Provenance(inputs);
    doc["hardware"] = model.hardware.name;
    doc["estimator"] = ToString(e);
    nlohmann::json r = ShapeToJson(s);
    r["layout"] = LayoutToJson(layout);
    r["params"] = s.Params();
    r["non_embedding_params"] = s.NonEmbeddingParams();
    r["active_params"] = s.ActiveParams();
    if (!o.hf_config.empty()) {
      nlohmann::json fields = nlohmann::json::array();
      for (const HfField& f : hf.fields)
        fields.push_back({{"field", f.field}, {"value", f.value}, {"source", f.source}});
      r["hf_config"] = {{"model_type", hf.model_type},
                        {"context_limit", hf.context_limit},
                        {"fields", fields},
                        {"warnings", hf.warnings}};
    }
    r["pred_step_ms"] = t * 1e3;
    r["tokens_per_s"] = s.TokensPerStep() / t;
    r["pred_memory_gb"] = mem.Total() / kGiB;
    r["memory_gb"] = {{"weights", mem.weights / kGiB},
                      {"grads", mem.grads / kGiB},
                      {"optimizer", mem.optimizer / kGiB},
                      {"activations", mem.activations / kGiB},
                      {"logits", mem.logits / kGiB},
                      {"workspace", mem.workspace / kGiB},
                      {"peak", mem.peak}};
    r["fits"] = fits;
    r["extrapolation"] = outside;
    r["usable_memory_gb"] = search.usable_bytes / kGiB;
    {
      const StepExplanation parts = ExplainStep(model, wl, e);
      r["comm_ms"] = parts.comm_s * 1e3;
      r["exposed_comm_ms"] = parts.exposed_comm_s * 1e3;
      r["bubble_ms"] = parts.bubble_s * 1e3;
    }
    r["flops"] = wl.total.flops;
    r["bytes"] = wl.total.Bytes();
    r["launches"] = wl.total.launches;
    doc["results"] = nlohmann::json::array({r});
    if (o.explain) {
      nlohmann::json ops = nlohmann::json::array();
      for (std::size_t i = 0; i < wl.ops.size(); ++i) {
        const Op& op = wl.ops[i];
        ops.push_back({{"name", op.name},
                       {"kind", ToString(op.kind)},
                       {"phase", ToString(op.phase)},
                       {"per_layer", op.per_layer},
                       {"count", op.count},
                       {"flops", op.flops},
                       {"bytes_read", op.bytes_read},
                       {"bytes_written", op.bytes_written},
                       {"exps", op.exps},
                       {"launches", op.launches},
                       {"pred_ms", secs[i] * 1e3}});
        if (op.kind == OpKind::kCommunication) {
          ops.back()["collective"] = ToString(op.collective);
          ops.back()["comm_bytes"] = op.comm_bytes;
          ops.back()["group"] = op.group;
          ops.back()["group_per_node"] = op.group_per_node;
          ops.back()["overlap"] = ToString(op.overlap);
        }
      }
      doc["ops"] = ops;
    }
    Emit(doc.dump(2), o.out, inputs);
    return;
  }
  if (o.format == Format::kCsv) {
    std::string csv =
        "d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,params,pred_step_ms,pred_memory_gb,"
        "fits,devices,gpus_per_node,dp,tp,pp,sharding,micro_batch,grad_accum,checkpointing\n";
    csv += fmt::format("{},{},{},{},{},{},{},{:.0f},{:.4f},{:.3f},{},{},{},{},{},{},{},{},{},{}\n",
                       s.d_model, s.n_layers, s.n_heads, s.d_ff, s.seq_len, s.batch, s.vocab,
                       s.Params(), t * 1e3, mem.Total() / kGiB, fits ? 1 : 0, layout.devices,
                       layout.gpus_per_node, layout.Dp(), layout.tp, layout.pp,
                       ToString(layout.sharding), layout.micro_batch, layout.grad_accum,
                       ToString(s.checkpointing));
    Emit(csv, o.out, inputs);
    return;
  }
  std::string text = fmt::format(
      "shape      {}\nparams     {} ({} non-embedding{})\nhardware   {}{}\nestimator  {}\n",
      Describe(s), Si(s.Params()), Si(s.NonEmbeddingParams()),
      s.Moe() ? fmt::format("; {} active per token", Si(s.ActiveParams())) : "",
      model.hardware.name,
      layout.devices > 1
          ? fmt::format(" x {} GPUs ({} per node)", layout.devices, layout.gpus_per_node)
          : "",
      ToString(e));
  text +=
      fmt::format("layout     {}; checkpointing {}\n", Describe(layout), ToString(s.checkpointing));
  text += fmt::format("step       {:.3f} ms  ({} tokens/s)\n", t * 1e3, Si(s.TokensPerStep() / t));
  if (!outside.empty()) text += fmt::format("           extrapolating: {}\n", outside_text);
  {
    const StepExplanation parts = ExplainStep(model, wl, e);
    if (parts.comm_s > 0 || parts.bubble_s > 0) {
      text += fmt::format(
          "comm       {:.3f} ms on the links, {:.3f} ms exposed; pipeline bubble {:.3f} ms\n",
          parts.comm_s * 1e3, parts.exposed_comm_s * 1e3, parts.bubble_s * 1e3);
    }
  }
  text += fmt::format(
      "memory     {:.2f} GiB per device of {:.1f} GiB ({:.1f} usable): {}; peak {}: weights "
      "{:.2f}, grads {:.2f}, optimizer {:.2f}, activations {:.2f}, logits {:.2f}\n",
      mem.Total() / kGiB, model.hardware.memory_bytes / kGiB, search.usable_bytes / kGiB,
      fits ? "fits" : "DOES NOT FIT", mem.peak, mem.weights / kGiB, mem.grads / kGiB,
      mem.optimizer / kGiB, mem.activations / kGiB, mem.logits / kGiB);
  if (!fits) text += fmt::format("           {}\n", choice.why_not);
  text += fmt::format("work       {:.1f} GFLOP, {:.1f} MB moved, {:.0f} kernel launches\n",
                      wl.total.flops / 1e9, wl.total.Bytes() / 1e6, wl.total.launches);
  if (o.explain && !o.hf_config.empty()) {
    text += fmt::format("\nfrom {} (model_type '{}'):\n", Printable(o.hf_config),
                        Printable(hf.model_type));
    for (const HfField& f : hf.fields) {
      text += fmt::format("  {:<18} {:<12} {}\n", f.field, Printable(f.value), Printable(f.source));
    }
  }
  if (o.explain) text += "\n" + ExplainTable(model, wl, e, secs);
  Emit(text, o.out, inputs);
}

}  // namespace

void SetupEstimate(CLI::App& app) {
  auto* sub = app.add_subcommand("estimate", "predict the step time and memory of a shape");
  auto o = std::make_shared<EstimateOptions>();
  sub->add_option("--d-model", o->d_model, "model width");
  sub->add_option("--layers", o->layers, "transformer layers");
  AddShapeFlags(sub, &o->shape, true);
  AddClusterFlags(sub, &o->cluster);
  sub->add_option("--shapes", o->shapes_csv, "CSV of shapes (runs CSV columns; step_ms optional)");
  sub->add_option("--hf-config", o->hf_config, "a Hugging Face config.json");
  sub->add_option("--hardware", o->hardware,
                  "preset name or profile JSON (default h100-sxm, or the time model's)");
  sub->add_option("--estimator", o->estimator, "flops, memcopy, roofline or calibrated");
  sub->add_option("--time-model", o->time_model, "a time model written by fit-time --out");
  sub->add_flag("--explain", o->explain, "print the op-by-op accounting");
  AddFormatOption(sub, &o->format, true);
  sub->add_option("--out", o->out, "write the result to FILE instead of stdout");
  sub->add_option("--plot", o->plot, "step time of the shape by phase and op kind (PNG or SVG)");
  sub->callback([o, sub] { Run(*o, sub); });
}

}  // namespace chronoscale::cli
