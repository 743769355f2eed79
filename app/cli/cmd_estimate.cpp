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
#include <chronoscale/plan_request.h>
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

// A shapes CSV's rows with the time model each is priced on: a row may name its hardware (a
// preset or profile), to which the model is retargeted; usable bytes per device beside it.
struct RowModels {
  std::map<std::string, std::pair<TimeModel, double>> per_hw;  // model, usable bytes
  std::vector<const std::pair<TimeModel, double>*> of_row;
  std::vector<ParallelLayout> layouts;
};

// Every row gives its own shape: a shape flag beside --shapes would be silently ignored.
void RejectShapeFlags(const EstimateOptions& o, const CLI::App* sub) {
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
}

RowModels ModelsOfRows(const EstimateOptions& o, const CsvTable& table,
                       const std::vector<ModelShape>& shapes, const TimeModel& model,
                       EstimatorKind e) {
  RowModels rows;
  rows.per_hw.emplace(
      "", std::make_pair(model, MakeSearch(o.cluster, o.shape, nullptr, model, e).usable_bytes));
  const int hw_col = table.Column("hardware");
  const int dev_col = table.Column("device");
  for (std::size_t r = 0; r < shapes.size(); ++r) {
    std::string name = hw_col >= 0 ? table.Text(r, hw_col) : "";
    // A row measured on the model's device (by name, preset or device name) is priced on it.
    if (!name.empty() &&
        RunsMatchHardware(model.hardware, name, dev_col >= 0 ? table.Text(r, dev_col) : "")) {
      name.clear();
    }
    auto it = rows.per_hw.find(name);
    if (it == rows.per_hw.end()) {
      HardwareProfile h;
      try {
        h = LoadHardware(name);
      } catch (const InputError& err) {
        throw InputError(fmt::format("{}: {}", table.Where(r, hw_col), err.what()));
      }
      TimeModel m = Retarget(model, h);
      const double usable = MakeSearch(o.cluster, o.shape, nullptr, m, e).usable_bytes;
      it = rows.per_hw.emplace(name, std::make_pair(std::move(m), usable)).first;
    }
    rows.of_row.push_back(&it->second);
    rows.layouts.push_back(
        LayoutFromRow(table, r, shapes[r], it->second.first.hardware.gpus_per_node));
  }
  return rows;
}

// One priced row of a shapes CSV, with its error against the row's step_ms when it has one.
struct PricedRow {
  double step_s = 0, memory_bytes = 0, measured_ms = NAN, error = NAN;
  bool fits = false;
};

// The output of a shapes CSV in the chosen format: CSV and table rows go out as they are
// priced; JSON rows are kept for the one document.
class ShapesWriter {
 public:
  ShapesWriter(const EstimateOptions& o, const CsvTable& table, int step_col)
      : m_o(o), m_table(table), m_step_col(step_col), m_out(o.out) {
    if (o.format == Format::kCsv) {
      std::string header;
      for (std::size_t c = 0; c < table.header.size(); ++c)
        header += (c ? "," : "") + CsvCell(table.header[c]);
      header += ",pred_step_ms,pred_memory_gb,fits";
      if (step_col >= 0) header += ",rel_error";
      m_out.Write(header + "\n");
    } else if (o.format == Format::kTable) {
      m_out.Write(fmt::format("{:<52} {:>8} {:>12} {:>10} {:>9} {:>9}\n", "shape", "params",
                              "pred step ms", "memory GiB", "fits", step_col >= 0 ? "error" : ""));
    }
  }

  void Row(std::size_t r, const ModelShape& s, const ParallelLayout& layout, const PricedRow& p) {
    if (std::isfinite(p.error)) m_errors.push_back(p.error);
    if (m_o.format == Format::kCsv) {
      m_line.clear();
      for (std::size_t c = 0; c < m_table.header.size(); ++c)
        m_line += (c ? "," : "") + CsvCell(m_table.rows[r][c]);
      m_line +=
          fmt::format(",{:.4f},{:.3f},{}", p.step_s * 1e3, p.memory_bytes / kGiB, p.fits ? 1 : 0);
      if (m_step_col >= 0) m_line += std::isfinite(p.error) ? fmt::format(",{:.4f}", p.error) : ",";
      m_out.Write(m_line + "\n");
    } else if (m_o.format == Format::kJson) {
      nlohmann::json j = ShapeToJson(s);
      j["layout"] = LayoutToJson(layout);
      j["params"] = s.Params();
      j["pred_step_ms"] = p.step_s * 1e3;
      j["pred_memory_gb"] = p.memory_bytes / kGiB;
      j["fits"] = p.fits;
      if (std::isfinite(p.error)) {
        j["step_ms"] = p.measured_ms;
        j["rel_error"] = p.error;
      }
      m_rows.push_back(std::move(j));
    } else {
      m_out.Write(
          fmt::format("{:<52.52} {:>8} {:>12.3f} {:>10.2f} {:>9} {:>9}\n", Describe(s),
                      Si(s.Params()), p.step_s * 1e3, p.memory_bytes / kGiB, p.fits ? "yes" : "NO",
                      std::isfinite(p.error) ? fmt::format("{:+.1f}%", 100 * p.error) : ""));
    }
  }

  // The JSON document or the table's error summary, then the file committed.
  void Finish(const TimeModel& model, EstimatorKind e, const std::vector<std::string>& inputs) {
    if (m_o.format == Format::kJson) {
      nlohmann::json doc = Provenance(inputs);
      doc["hardware"] = model.hardware.name;
      doc["estimator"] = ToString(e);
      doc["results"] = std::move(m_rows);
      if (!m_errors.empty()) {
        const ErrorStats st = AbsStats(m_errors);
        doc["error"] = {
            {"median", st.median}, {"p90", st.p90}, {"worst", st.worst}, {"rows", m_errors.size()}};
      }
      m_out.Write(doc.dump(2) + "\n");
    } else if (m_o.format == Format::kTable) {
      std::string tail;
      if (!m_errors.empty()) {
        const ErrorStats st = AbsStats(m_errors);
        tail += fmt::format(
            "\n|relative error| over {} rows with step_ms: median {:.1f}%, p90 {:.1f}%, worst "
            "{:.1f}%\n",
            m_errors.size(), 100 * st.median, 100 * st.p90, 100 * st.worst);
      }
      tail += fmt::format("estimator {} on {}\n", ToString(e), model.hardware.name);
      m_out.Write(tail);
    }
    m_out.Commit();
  }

 private:
  const EstimateOptions& m_o;
  const CsvTable& m_table;
  int m_step_col;
  OutputFile m_out;
  nlohmann::json m_rows = nlohmann::json::array();
  std::vector<double> m_errors;
  std::string m_line;
};

// estimate --shapes: every row of the CSV priced on its own layout and hardware.
void RunShapes(const EstimateOptions& o, const CLI::App* sub, const TimeModel& model,
               EstimatorKind e, const std::vector<std::string>& inputs) {
  if (o.explain) throw InputError("--explain works on one shape; drop --shapes or --explain");
  RejectShapeFlags(o, sub);
  const CsvTable table = ReadCsv(o.shapes_csv);
  const std::vector<ModelShape> shapes = ReadShapes(table);
  const RowModels models = ModelsOfRows(o, table, shapes, model, e);
  const int step_col = table.Column("step_ms");
  ShapesWriter writer(o, table, step_col);
  const ProgressCallback progress =
      shapes.size() >= 100000 ? TerminalProgress("estimate") : nullptr;
  for (std::size_t r = 0; r < shapes.size(); ++r) {
    const ModelShape& s = shapes[r];
    PricedRow p;
    p.step_s = PredictStepSeconds(models.of_row[r]->first, s, models.layouts[r], e);
    p.memory_bytes = EstimateMemory(s, models.layouts[r]).Total();
    const double usable = models.of_row[r]->second;
    p.fits = usable <= 0 || p.memory_bytes <= usable;
    if (step_col >= 0 && !table.Text(r, step_col).empty()) {
      p.measured_ms = table.Number(r, step_col);
      if (p.measured_ms > 0) p.error = p.step_s * 1e3 / p.measured_ms - 1;
    }
    writer.Row(r, s, models.layouts[r], p);
    if (progress && (r + 1) % 65536 == 0) {
      progress(static_cast<double>(r + 1) / static_cast<double>(shapes.size()),
               fmt::format("{} of {} shapes", r + 1, shapes.size()));
    }
  }
  if (progress) progress(1.0, fmt::format("{} shapes", shapes.size()));
  writer.Finish(model, e, inputs);
  if (!o.out.empty()) Diag("wrote " + o.out);
}

// The one shape: from --hf-config (its fields, the flags on top, notes on its context limit)
// or from --d-model and --layers.
ModelShape OneShape(const EstimateOptions& o, const CLI::App* sub, HfImport* hf) {
  if (o.hf_config.empty()) {
    if (o.d_model <= 0 || o.layers <= 0)
      throw InputError("estimate: give both --d-model and --layers (positive)");
    ShapeFlags flags = o.shape;
    flags.batch = GlobalBatch(o.shape, o.cluster, sub);
    return MakeShape(flags, o.d_model, o.layers);
  }
  *hf = LoadHfConfig(o.hf_config);
  ModelShape s = hf->shape;
  ApplyVariantFlags(o.shape, sub, &s);
  if (sub->count("--batch") == 0) s.batch = GlobalBatch(o.shape, o.cluster, sub);
  if (sub->count("--seq") == 0) {
    Diag(fmt::format("note: seq_len {} (default; {}); --seq sets another", s.seq_len,
                     hf->context_limit > 0
                         ? fmt::format("the model's context limit is {}", hf->context_limit)
                         : std::string("the config gives no context limit")));
  } else {
    for (HfField& f : hf->fields) {
      if (f.field == "seq_len") f = {"seq_len", std::to_string(s.seq_len), "--seq"};
    }
  }
  if (hf->context_limit > 0 && s.seq_len > hf->context_limit) {
    Diag(fmt::format("warning: --seq {} is longer than the model's context limit {}", s.seq_len,
                     hf->context_limit));
  }
  for (const std::string& w : hf->warnings)
    Diag(fmt::format("warning: {}: {}", Printable(o.hf_config), Printable(w)));
  ValidateFromFlags(s);
  return s;
}

// One shape priced on the fastest legal layout that fits, with what the outputs need.
struct OneEstimate {
  HfImport hf;
  LayoutSearchOptions search;
  LayoutChoice choice;
  ModelShape shape;
  ParallelLayout layout;
  Workload workload;
  StepExplanation parts;
  std::vector<double> op_seconds;    // with --explain
  std::vector<std::string> outside;  // dimensions outside the fitted runs
  std::string outside_text;
};

OneEstimate PriceOne(const EstimateOptions& o, const CLI::App* sub, const TimeModel& model,
                     EstimatorKind e) {
  OneEstimate x;
  const ModelShape s = OneShape(o, sub, &x.hf);
  // The fastest legal layout on --devices that fits (pinned parts from --layout).
  x.search = MakeSearch(o.cluster, o.shape, sub, model, e);
  x.choice = ChooseLayout(s, x.search, model);
  if (!x.choice.legal) throw InputError(fmt::format("estimate: {}", x.choice.why_not));
  x.shape = x.choice.shape;
  x.layout = x.choice.layout;
  x.workload = BuildWorkload(x.shape, x.layout);
  if (!o.plot.empty()) RenderBreakdownPlot(model, x.shape, x.layout, e, o.plot);
  if (o.explain) x.op_seconds = ExplainOpSeconds(model, x.workload, e);
  x.parts = ExplainStep(model, x.workload, e);
  // A fitted estimator outside the runs it was fitted on extrapolates: say so.
  if (e != EstimatorKind::kRoofline && model.fitted[static_cast<std::size_t>(e)]) {
    x.outside = OutsideFitDomain(model.fitted_on, x.shape);
  }
  for (const auto& w : x.outside) x.outside_text += (x.outside_text.empty() ? "" : "; ") + w;
  if (!x.outside.empty()) {
    Diag(fmt::format("note: extrapolating: the time model was fitted on other sizes: {}",
                     x.outside_text));
  }
  return x;
}

// --explain --format json: every op with its counts and predicted time.
nlohmann::json OpsJson(const Workload& wl, const std::vector<double>& secs) {
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
  return ops;
}

nlohmann::json OneJson(const EstimateOptions& o, const OneEstimate& x, const TimeModel& model,
                       EstimatorKind e, const std::vector<std::string>& inputs) {
  const ModelShape& s = x.shape;
  const MemoryEstimate& mem = x.choice.memory;
  const double t = x.choice.step_s;
  nlohmann::json doc = Provenance(inputs);
  doc["hardware"] = model.hardware.name;
  doc["estimator"] = ToString(e);
  nlohmann::json r = ShapeToJson(s);
  r["layout"] = LayoutToJson(x.layout);
  r["params"] = s.Params();
  r["non_embedding_params"] = s.NonEmbeddingParams();
  r["active_params"] = s.ActiveParams();
  if (!o.hf_config.empty()) {
    nlohmann::json fields = nlohmann::json::array();
    for (const HfField& f : x.hf.fields)
      fields.push_back({{"field", f.field}, {"value", f.value}, {"source", f.source}});
    r["hf_config"] = {{"model_type", x.hf.model_type},
                      {"context_limit", x.hf.context_limit},
                      {"fields", fields},
                      {"warnings", x.hf.warnings}};
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
  r["fits"] = x.choice.fits;
  r["extrapolation"] = x.outside;
  r["usable_memory_gb"] = x.search.usable_bytes / kGiB;
  r["comm_ms"] = x.parts.comm_s * 1e3;
  r["exposed_comm_ms"] = x.parts.exposed_comm_s * 1e3;
  r["bubble_ms"] = x.parts.bubble_s * 1e3;
  r["flops"] = x.workload.total.flops;
  r["bytes"] = x.workload.total.Bytes();
  r["launches"] = x.workload.total.launches;
  doc["results"] = nlohmann::json::array({r});
  if (o.explain) doc["ops"] = OpsJson(x.workload, x.op_seconds);
  return doc;
}

std::string OneCsv(const OneEstimate& x) {
  const ModelShape& s = x.shape;
  const ParallelLayout& layout = x.layout;
  std::string csv =
      "d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,params,pred_step_ms,pred_memory_gb,"
      "fits,devices,gpus_per_node,dp,tp,pp,sharding,micro_batch,grad_accum,checkpointing\n";
  csv += fmt::format("{},{},{},{},{},{},{},{:.0f},{:.4f},{:.3f},{},{},{},{},{},{},{},{},{},{}\n",
                     s.d_model, s.n_layers, s.n_heads, s.d_ff, s.seq_len, s.batch, s.vocab,
                     s.Params(), x.choice.step_s * 1e3, x.choice.memory.Total() / kGiB,
                     x.choice.fits ? 1 : 0, layout.devices, layout.gpus_per_node, layout.Dp(),
                     layout.tp, layout.pp, ToString(layout.sharding), layout.micro_batch,
                     layout.grad_accum, ToString(s.checkpointing));
  return csv;
}

std::string OneText(const EstimateOptions& o, const OneEstimate& x, const TimeModel& model,
                    EstimatorKind e) {
  const ModelShape& s = x.shape;
  const ParallelLayout& layout = x.layout;
  const MemoryEstimate& mem = x.choice.memory;
  const double t = x.choice.step_s;
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
  if (!x.outside.empty()) text += fmt::format("           extrapolating: {}\n", x.outside_text);
  if (x.parts.comm_s > 0 || x.parts.bubble_s > 0) {
    text += fmt::format(
        "comm       {:.3f} ms on the links, {:.3f} ms exposed; pipeline bubble {:.3f} ms\n",
        x.parts.comm_s * 1e3, x.parts.exposed_comm_s * 1e3, x.parts.bubble_s * 1e3);
  }
  text += fmt::format(
      "memory     {:.2f} GiB per device of {:.1f} GiB ({:.1f} usable): {}; peak {}: weights "
      "{:.2f}, grads {:.2f}, optimizer {:.2f}, activations {:.2f}, logits {:.2f}\n",
      mem.Total() / kGiB, model.hardware.memory_bytes / kGiB, x.search.usable_bytes / kGiB,
      x.choice.fits ? "fits" : "DOES NOT FIT", mem.peak, mem.weights / kGiB, mem.grads / kGiB,
      mem.optimizer / kGiB, mem.activations / kGiB, mem.logits / kGiB);
  if (!x.choice.fits) text += fmt::format("           {}\n", x.choice.why_not);
  text += fmt::format("work       {:.1f} GFLOP, {:.1f} MB moved, {:.0f} kernel launches\n",
                      x.workload.total.flops / 1e9, x.workload.total.Bytes() / 1e6,
                      x.workload.total.launches);
  if (o.explain && !o.hf_config.empty()) {
    text += fmt::format("\nfrom {} (model_type '{}'):\n", Printable(o.hf_config),
                        Printable(x.hf.model_type));
    for (const HfField& f : x.hf.fields) {
      text += fmt::format("  {:<18} {:<12} {}\n", f.field, Printable(f.value), Printable(f.source));
    }
  }
  if (o.explain) text += "\n" + ExplainTable(model, x.workload, e, x.op_seconds);
  return text;
}

// Which shapes: exactly one of --d-model/--layers, --shapes, --hf-config; --plot with one.
void CheckSources(const EstimateOptions& o) {
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
}

void Run(const EstimateOptions& o, const CLI::App* sub) {
  CheckSources(o);
  const TimeModel model = ResolveTimeModel(o.hardware, o.time_model);
  const EstimatorKind e =
      ResolveEstimator(o.estimator, model, !o.time_model.empty(), EstimatorFallback::kRefuse).kind;
  const std::vector<std::string> inputs{o.shapes_csv, o.hf_config, o.time_model};
  if (!o.out.empty())
    CheckNotInput(o.out, {o.shapes_csv, o.hf_config, o.time_model, o.hardware}, "--out");
  if (!o.shapes_csv.empty()) {
    RunShapes(o, sub, model, e, inputs);
    return;
  }
  const OneEstimate x = PriceOne(o, sub, model, e);
  std::string text;
  switch (o.format) {
    case Format::kJson:
      text = OneJson(o, x, model, e, inputs).dump(2);
      break;
    case Format::kCsv:
      text = OneCsv(x);
      break;
    case Format::kTable:
      text = OneText(o, x, model, e);
      break;
  }
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
