// The plan's reports (planner.h): the full one the CLI prints (plan --format table) and the brief
// one the desktop app shows, and the candidates as CSV (plan --format csv, sweep).
#include "chronoscale/plan_report.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

#include "chronoscale/format.h"
#include "chronoscale/io.h"
#include "chronoscale/layout.h"

namespace chronoscale {
namespace {

// The budget, the cluster and the search: what the answer is for.
std::string Header(const PlanResult& r) {
  const auto& o = r.options;
  std::string t =
      fmt::format("budget {:g} h x {} device(s) on {}, goodput {:g}; law {}; estimator {}\n",
                  o.hours, o.devices, r.hardware, o.goodput, r.law, ToString(o.estimator));
  t += fmt::format(
      "global batch {} x {} tokens per optimizer step; {} GPUs per node; layout searched per "
      "shape{}\n",
      o.base.batch, o.base.seq_len, r.gpus_per_node,
      o.pins.Empty() ? "" : fmt::format(" (pinned: {})", Describe(o.pins)));
  t += fmt::format(
      "searched {} shapes (d_model {}..{} step {}, n_layers {}..{} step {}); {} admissible "
      "(d_model/n_layers in "
      "[{:g}, {:g}], heads divide d_model, fits in {:.1f} of {:.1f} GiB per device)\n\n",
      r.candidates, o.width.min, o.width.max, o.width.step, o.depth.min, o.depth.max, o.depth.step,
      r.fitting, o.min_aspect, o.max_aspect, r.usable_bytes / kGiB, r.memory_capacity_bytes / kGiB);
  return t;
}

// The headline when the answer rests on the --aspect bound.
void AppendAspectBound(const PlanResult& r, std::string* out) {
  std::string& t = *out;
  if (!r.on_aspect_bound) return;
  {
    t.pop_back();  // the headline joins the search line's paragraph
    t += fmt::format(
        "ON THE BOUND: the loss law is shape-blind (it knows N and D only) and the best shape sits "
        "on the --aspect bound {:g}, where the step-time model keeps rewarding {}; ",
        r.aspect_bound, r.relaxed_aspect_bound > r.aspect_bound ? "width" : "depth");
    const Candidate& w = r.at_relaxed_bound;
    if (w.fits) {
      t += fmt::format(
          "with the bound at {:g} the best would be d_model {} x {} layers, loss {:.4f} ({:.4f} "
          "lower). Fit a law with a shape term (fit-loss --shape-term) to let data decide.\n\n",
          r.relaxed_aspect_bound, w.shape.d_model, w.shape.n_layers, w.loss, r.best.loss - w.loss);
    } else {
      t += fmt::format("with the bound at {:g} no shape fits.\n\n", r.relaxed_aspect_bound);
    }
  }
}

// The ranked list of the best shapes.
void AppendTop(const PlanResult& r, std::string* out) {
  std::string& t = *out;
  t += fmt::format("{:>4} {:>7} {:>6} {:>6} {:>6} {:>9} {:>10} {:>10} {:>8} {:>9}  {}\n", "rank",
                   "d_model", "layers", "heads", "d/n", "params", "step ms", "tokens", "mem GiB",
                   "loss", "layout");
  int rank = 1;
  for (const auto& c : r.top) {
    t += fmt::format(
        "{:>4} {:>7} {:>6} {:>6} {:>6.0f} {:>9} {:>10.2f} {:>10} {:>8.1f} {:>9.4f}  {}\n", rank++,
        c.shape.d_model, c.shape.n_layers, c.shape.n_heads,
        static_cast<double>(c.shape.d_model) / static_cast<double>(c.shape.n_layers),
        Si(c.total_params), c.step_s * 1e3, Si(c.tokens), c.memory_bytes / kGiB, c.loss,
        ShortLayout(c));
  }
}

// The FLOP-based (Chinchilla) answer, priced by the same model.
void AppendFlopBased(const PlanResult& r, std::string* out) {
  std::string& t = *out;
  const auto& o = r.options;
  const Candidate& f = r.flop_based;
  t += fmt::format(
      "\nFLOP-based answer: {} FLOP at {:.2f} MFU ({}) -> N_opt {} params, D_opt {} tokens "
      "(law {})\n",
      Si(r.flop_alloc.flops), r.flop_mfu,
      r.flop_mfu_from_model ? "what the time model predicts for this answer; --mfu overrides"
                            : "--mfu",
      Si(r.flop_alloc.params), Si(r.flop_alloc.tokens), r.law);
  t += fmt::format(
      "  built at d_model/n_layers near {:g}: d_model {} x {} layers, {} params; layout {}\n",
      o.conventional_aspect, f.shape.d_model, f.shape.n_layers, Si(f.total_params), ShortLayout(f));
  t += fmt::format("  priced by the same model: step {:.2f} ms, {} tokens, loss {:.4f}{}\n",
                   f.step_s * 1e3, Si(f.tokens), f.loss,
                   f.fits ? "" : fmt::format(" (does NOT fit: {})", f.why_not));
}

// The time-optimal answer, its data, layout and the loss it saves.
void AppendBest(const PlanResult& r, std::string* out) {
  std::string& t = *out;
  const auto& o = r.options;
  const Candidate& f = r.flop_based;
  const Candidate& b = r.best;
  t += fmt::format(
      "\ntime-optimal: d_model {} x {} layers (d/n {:.0f}), {} params, {} tokens, loss {:.4f}\n",
      b.shape.d_model, b.shape.n_layers,
      static_cast<double>(b.shape.d_model) / static_cast<double>(b.shape.n_layers),
      Si(b.total_params), Si(b.tokens), b.loss);
  if (b.epochs > 0) {
    t +=
        fmt::format("  data: {:.2f} epochs of {} unique tokens; the law sees {} effective tokens\n",
                    b.epochs, Si(o.unique_tokens), Si(b.effective_tokens));
  }
  t += fmt::format("  layout: {}; checkpointing {}; {:.1f} GiB per device\n", Describe(b.layout),
                   ToString(b.shape.checkpointing), b.memory_bytes / kGiB);
  t += fmt::format("loss saved by planning for time: {:.4f} nats/token ({:.2f}%)\n", r.loss_saved,
                   f.loss > 0 ? 100 * r.loss_saved / f.loss : 0.0);
}

// The loss's 95% interval and the shapes indistinguishable from the best.
void AppendUncertainty(const PlanResult& r, std::string* out) {
  std::string& t = *out;
  const Candidate& b = r.best;
  if (r.draws > 0) {
    std::string from = r.law_draws ? fmt::format("the law's {} bootstrap draws", r.draws)
                                   : std::string("the law's point estimate");
    from += r.time_sigma > 0
                ? fmt::format(", step-time error {:.1f}% per shape (the time model's CV)",
                              100 * r.time_sigma)
                : ", no step-time error (no cross-validated time model)";
    t += fmt::format("uncertainty ({} draws: {}):\n", r.draws, from);
    t += fmt::format("  best loss {:.4f}, 95% in [{:.4f}, {:.4f}]", b.loss, b.loss_lo, b.loss_hi);
    if (std::isfinite(r.loss_saved_lo)) {
      t += fmt::format("; loss saved 95% in [{:.4f}, {:.4f}]", r.loss_saved_lo, r.loss_saved_hi);
    }
    t += "\n  indistinguishable from the best (chance of being best among the top list):";
    int listed = 0;
    for (const auto& c : r.top) {
      if (c.p_best <= 0) continue;
      t += fmt::format("{} {}x{} {:.2f}", listed++ ? "," : "", c.shape.d_model, c.shape.n_layers,
                       c.p_best);
    }
    t += "\n";
  }
}

}  // namespace

std::string PlanBrief(const PlanResult& r) {
  if (!r.found) {
    return fmt::format("no shape fits in {:.1f} GiB usable per device on {}\n",
                       r.usable_bytes / kGiB, r.hardware);
  }
  const Candidate& b = r.best;
  const Candidate& f = r.flop_based;
  std::string t =
      fmt::format("best: d_model {} x {} layers, {} params, {} tokens in {:g} h, loss {:.4f}; {}\n",
                  b.shape.d_model, b.shape.n_layers, Si(b.total_params), Si(b.tokens),
                  r.options.hours, b.loss, ShortLayout(b));
  t += fmt::format("FLOP-based: d_model {} x {} layers, {} params, loss {:.4f} ({:.4f} {})\n",
                   f.shape.d_model, f.shape.n_layers, Si(f.total_params), f.loss,
                   std::abs(r.loss_saved), r.loss_saved >= 0 ? "worse" : "better");
  return t;
}

std::string PlanReport(const PlanResult& r) {
  std::string t = Header(r);
  AppendAspectBound(r, &t);
  AppendTop(r, &t);
  AppendFlopBased(r, &t);
  AppendBest(r, &t);
  AppendUncertainty(r, &t);
  const auto& o = r.options;
  const Candidate& b = r.best;
  for (const auto& w : r.warnings) t += "warning: " + w + "\n";
  if (b.shape.n_layers == o.depth.min) {
    t += "note: the best shape sits on the shallow edge of --depth; widen the range to see past "
         "it\n";
  }
  return t;
}

std::string ShortLayout(const Candidate& c) {
  return ShortDescribe(c.layout, c.shape.checkpointing);
}

std::string CandidatesCsvHeader() {
  return "d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,params,step_ms,tokens,loss,memory_gb,"
         "fits,why_not,devices,gpus_per_node,dp,tp,pp,sharding,micro_batch,grad_accum,"
         "checkpointing\n";
}

namespace {
std::string LayoutCsv(const Candidate& c) {
  const ParallelLayout& l = c.layout;
  return fmt::format(",{},{},{},{},{},{},{},{},{}", l.devices, l.gpus_per_node, l.Dp(), l.tp, l.pp,
                     ToString(l.sharding), l.micro_batch, l.grad_accum,
                     ToString(c.shape.checkpointing));
}
}  // namespace

void AppendCandidateCsv(const Candidate& c, std::string* out) {
  const ModelShape& s = c.shape;
  if (c.step_s > 0) {
    fmt::format_to(std::back_inserter(*out),
                   "{},{},{},{},{},{},{},{:.0f},{:.5g},{:.6g},{:.6g},{:.4g},{},{}{}\n", s.d_model,
                   s.n_layers, s.n_heads, s.d_ff, s.seq_len, s.batch, s.vocab, c.total_params,
                   c.step_s * 1e3, c.tokens, c.loss, c.memory_bytes / kGiB, c.fits ? 1 : 0,
                   CsvCell(c.why_not), LayoutCsv(c));
  } else {
    fmt::format_to(std::back_inserter(*out), "{},{},{},{},{},{},{},,,,,,0,{},,,,,,,,,\n", s.d_model,
                   s.n_layers, s.n_heads, s.d_ff, s.seq_len, s.batch, s.vocab, CsvCell(c.why_not));
  }
}

std::string CandidatesCsv(const std::vector<Candidate>& list) {
  std::string out = CandidatesCsvHeader();
  for (const auto& c : list) AppendCandidateCsv(c, &out);
  return out;
}

}  // namespace chronoscale
