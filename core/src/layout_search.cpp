#include "chronoscale/layout_search.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "chronoscale/error.h"

namespace chronoscale {
namespace {

std::vector<int64_t> DivisorsDescending(int64_t n) {
  std::vector<int64_t> lo, hi;
  for (int64_t i = 1; i * i <= n; ++i) {
    if (n % i != 0) continue;
    lo.push_back(i);
    if (i != n / i) hi.push_back(n / i);
  }
  std::vector<int64_t> out(hi.begin(), hi.end());
  for (auto it = lo.rbegin(); it != lo.rend(); ++it) out.push_back(*it);
  return out;
}

}  // namespace

double DefaultMemoryReserve(double capacity_bytes) {
  // never more than half of a (small) device
  return capacity_bytes > 0 ? std::min(kGiB + 0.05 * capacity_bytes, 0.5 * capacity_bytes) : 0;
}

LayoutSearchOptions MakeLayoutSearch(const HardwareProfile& hw, int64_t devices,
                                     int64_t gpus_per_node, const LayoutPins& pins,
                                     double reserve_bytes, EstimatorKind estimator) {
  LayoutSearchOptions o;
  o.devices = devices;
  o.gpus_per_node = gpus_per_node > 0 ? gpus_per_node : hw.gpus_per_node;
  if (o.gpus_per_node <= 0) {
    if (devices > 1) {
      throw InputError("devices",
                       fmt::format(" {}: hardware '{}' has no gpus_per_node; give --gpus-per-node",
                                   devices, hw.name));
    }
    o.gpus_per_node = 1;
  }
  if (devices > o.gpus_per_node && devices % o.gpus_per_node != 0) {
    throw InputError("devices", fmt::format(" {} must be whole nodes of {} GPUs (--gpus-per-node)",
                                            devices, o.gpus_per_node));
  }
  o.pins = pins;
  const double cap = hw.memory_bytes;
  const double reserve = reserve_bytes >= 0 ? reserve_bytes : DefaultMemoryReserve(cap);
  if (cap > 0 && reserve >= cap) {
    throw InputError("memory-reserve",
                     fmt::format(" {:.1f} GiB leaves nothing of the {:.1f} GiB of {}",
                                 reserve / kGiB, cap / kGiB, hw.name));
  }
  o.usable_bytes = cap > 0 ? cap - reserve : 0;
  o.estimator = estimator;
  return o;
}

namespace {

// The step without its optimizer and communication ops for one (micro-batch, ep), computed at
// most once and shared by that layout's shardings.
struct ComputeBound {
  bool counted = false, has_lower = false;
  StepCounts compute;
  // A lower bound on every sharding's step time (each op adds non-negative counts, and every
  // estimator is non-decreasing in them), so a layout whose bound is no faster than the best so
  // far need not be priced.
  double lower = 0;
};

// One ChooseLayout call: the search's running state, and one method per level of the search
// (tp, pp, checkpointing, micro-batch, ep, sharding).
class LayoutSearch {
 public:
  LayoutSearch(const ModelShape& shape_in, const LayoutSearchOptions& options,
               const TimeModel& time_model, double closed_step)
      : shape(shape_in),
        o(options),
        pins(options.pins),
        model(time_model),
        closed_step_s(closed_step),
        rates(MakeRates(time_model.hardware, shape_in.precision)),
        bounded(options.usable_bytes > 0) {}
  LayoutChoice Run();

 private:
  // The tensor-parallel degrees to try: the pinned one, or powers of two within a node.
  std::vector<int64_t> TpCandidates() const;
  // The checkpointing modes to try, lightest first.
  std::vector<Checkpointing> CheckpointingCandidates() const;
  // Whether tp divides the heads, kv heads, feed-forward widths and the node; notes why not.
  bool TpDivides(int64_t tp);
  // The pipeline degrees to try for this tp: the pinned one, or every divisor that fits.
  std::vector<int64_t> PpCandidates(int64_t tp) const;
  // Searches every layout with this tp and pp.
  void SearchTpPp(int64_t tp, int64_t pp, const std::vector<Checkpointing>& ckpts);
  // The micro-batches to try for a replica's sequences, largest first.
  std::vector<int64_t> MicroCandidates(int64_t replica) const;
  // The shardings to try for this probe layout and dp.
  std::vector<Sharding> ShardingCandidates(const ParallelLayout& probe, int64_t dp) const;
  // The expert-parallel degrees to try for dp; notes why a pinned one is illegal.
  std::vector<int64_t> EpCandidates(int64_t dp);
  // Searches the micro-batches of shape s (one checkpointing); true when some layout fits.
  bool SearchMicros(const ModelShape& s, const ParallelLayout& probe, int64_t replica,
                    const std::vector<int64_t>& micros, const std::vector<Sharding>& shardings,
                    const std::vector<int64_t>& eps);
  // Prices every sharding of layout *l (micro-batch and ep set); true when some sharding fits.
  bool SearchShardings(const ModelShape& s, ParallelLayout* l,
                       const std::vector<Sharding>& shardings);
  // Whether the ZeRO-3 pre-check shows that no sharding of *l can fit.
  bool NoShardingFits(const ModelShape& s, ParallelLayout* l,
                      const std::vector<Sharding>& shardings);
  // Remembers l as the smallest layout when it is (only wanted while nothing fits).
  void NoteSmallest(const ModelShape& s, const ParallelLayout& l, const MemoryEstimate& mem,
                    double bytes);
  // Prices a fitting layout into *c and *t; false when it cannot be faster than the best.
  bool PriceLayout(const ModelShape& s, const ParallelLayout& l, ComputeBound* bound, StepCounts* c,
                   double* t);
  // The answer: the best fitting layout, else the smallest legal one, else why none is legal.
  LayoutChoice Finish();
  // The step's dimensions for (micro-batch, ep), shared by every layout that has them.
  const internal::StepDims& DimsOf(int64_t micro, int64_t ep);

  const ModelShape& shape;
  const LayoutSearchOptions& o;
  const LayoutPins& pins;
  const TimeModel& model;
  const double closed_step_s;
  const Rates rates;
  const bool bounded;
  LayoutChoice best;
  double least_memory = std::numeric_limits<double>::infinity();
  LayoutChoice smallest;  // the legal layout with the least memory, when nothing fits
  std::string why_illegal;
  bool validated = false;
  struct Dims {
    int64_t micro, ep;
    internal::StepDims k;
  };
  std::vector<Dims> dims;
};

const internal::StepDims& LayoutSearch::DimsOf(int64_t micro, int64_t ep) {
  for (const Dims& d : dims) {
    if (d.micro == micro && d.ep == ep) return d.k;
  }
  ModelShape m = shape;
  m.batch = micro;
  dims.push_back(Dims{micro, ep, internal::MakeDims(m, ep)});
  return dims.back().k;
}

LayoutChoice LayoutSearch::Run() {
  best.shape = shape;
  best.step_s = std::numeric_limits<double>::infinity();
  const std::vector<int64_t> tps = TpCandidates();
  const std::vector<Checkpointing> ckpts = CheckpointingCandidates();
  for (int64_t tp : tps) {
    if (!TpDivides(tp)) continue;
    const std::vector<int64_t> pps = PpCandidates(tp);
    for (int64_t pp : pps) SearchTpPp(tp, pp, ckpts);
  }
  return Finish();
}

std::vector<int64_t> LayoutSearch::TpCandidates() const {
  std::vector<int64_t> tps;
  if (pins.tp) {
    tps.push_back(pins.tp);
  } else {
    for (int64_t t = 1; t <= o.gpus_per_node && t <= o.devices; t *= 2) tps.push_back(t);
  }
  return tps;
}

std::vector<Checkpointing> LayoutSearch::CheckpointingCandidates() const {
  std::vector<Checkpointing> ckpts;
  if (pins.has_checkpointing) {
    ckpts.push_back(pins.checkpointing);
  } else {
    ckpts.push_back(shape.checkpointing);
    if (shape.checkpointing == Checkpointing::kNone) {
      if (shape.attention == AttentionKind::kNaive) ckpts.push_back(Checkpointing::kSelective);
      ckpts.push_back(Checkpointing::kFull);
    }
  }
  return ckpts;
}

bool LayoutSearch::TpDivides(int64_t tp) {
  if (o.gpus_per_node % tp != 0 || shape.n_heads % tp != 0 || shape.KvHeads() % tp != 0 ||
      shape.d_ff % tp != 0 || shape.shared_ff % tp != 0 || shape.dense_ff % tp != 0) {
    if (why_illegal.empty())
      why_illegal = fmt::format("tp {} does not divide heads, kv heads, d_ff or the node", tp);
    return false;
  }
  return true;
}

std::vector<int64_t> LayoutSearch::PpCandidates(int64_t tp) const {
  std::vector<int64_t> pps;
  if (pins.pp) {
    pps.push_back(pins.pp);
  } else {
    for (int64_t p = 1; p <= shape.n_layers; ++p) {
      if (shape.n_layers % p == 0 && o.devices % (tp * p) == 0) pps.push_back(p);
    }
  }
  return pps;
}

void LayoutSearch::SearchTpPp(int64_t tp, int64_t pp, const std::vector<Checkpointing>& ckpts) {
  if (shape.n_layers % pp != 0 || o.devices % (tp * pp) != 0) {
    if (why_illegal.empty())
      why_illegal =
          fmt::format("pp {} must divide the {} layers and devices / tp", pp, shape.n_layers);
    return;
  }
  const int64_t dp = o.devices / (tp * pp);
  if (pins.dp && pins.dp != dp) {
    if (why_illegal.empty())
      why_illegal = fmt::format("dp {} != devices / (tp x pp) = {}", pins.dp, dp);
    return;
  }
  if (shape.batch % dp != 0) {
    if (why_illegal.empty())
      why_illegal = fmt::format("the global batch {} does not split over dp {}", shape.batch, dp);
    return;
  }
  const int64_t replica = shape.batch / dp;
  const std::vector<int64_t> micros = MicroCandidates(replica);
  ParallelLayout probe;
  probe.devices = o.devices;
  probe.gpus_per_node = o.gpus_per_node;
  probe.tp = tp;
  probe.pp = pp;
  const std::vector<Sharding> shardings = ShardingCandidates(probe, dp);
  const std::vector<int64_t> eps = EpCandidates(dp);
  for (Checkpointing ckpt : ckpts) {
    ModelShape s = shape;
    s.checkpointing = ckpt;
    const bool found = SearchMicros(s, probe, replica, micros, shardings, eps);
    if (found) break;  // heavier checkpointing is only slower
  }
}

std::vector<int64_t> LayoutSearch::MicroCandidates(int64_t replica) const {
  std::vector<int64_t> micros;
  if (pins.micro_batch) {
    micros.push_back(pins.micro_batch);
  } else if (pins.grad_accum) {
    if (replica % pins.grad_accum == 0) micros.push_back(replica / pins.grad_accum);
  } else {
    micros = DivisorsDescending(replica);
  }
  return micros;
}

std::vector<Sharding> LayoutSearch::ShardingCandidates(const ParallelLayout& probe,
                                                       int64_t dp) const {
  std::vector<Sharding> shardings;
  if (pins.has_sharding) {
    shardings.push_back(pins.sharding);
  } else {
    shardings.push_back(Sharding::kNone);
    if (dp > 1) {
      shardings.insert(shardings.end(), {Sharding::kZero1, Sharding::kZero2, Sharding::kZero3});
      const int64_t in_node = probe.DpPerNode();
      if (in_node > 1 && in_node < dp) shardings.push_back(Sharding::kHybrid);
    }
  }
  return shardings;
}

std::vector<int64_t> LayoutSearch::EpCandidates(int64_t dp) {
  // Expert parallelism over divisors of dp that divide the experts (MoE shapes only).
  std::vector<int64_t> eps;
  if (pins.ep) {
    if (shape.Moe() && dp % pins.ep == 0 && shape.experts % pins.ep == 0) {
      eps.push_back(pins.ep);
    } else if (why_illegal.empty()) {
      why_illegal = fmt::format("ep {} must divide dp {} and the {} experts of an MoE shape",
                                pins.ep, dp, shape.experts);
    }
  } else {
    eps.push_back(1);
    for (int64_t e = 2; shape.Moe() && e <= dp && e <= shape.experts; ++e) {
      if (dp % e == 0 && shape.experts % e == 0) eps.push_back(e);
    }
  }
  return eps;
}

bool LayoutSearch::SearchMicros(const ModelShape& s, const ParallelLayout& probe, int64_t replica,
                                const std::vector<int64_t>& micros,
                                const std::vector<Sharding>& shardings,
                                const std::vector<int64_t>& eps) {
  bool found = false;
  for (int64_t micro : micros) {
    if (micro < 1 || replica % micro != 0) {
      if (why_illegal.empty())
        why_illegal = fmt::format("micro-batch {} does not divide the replica's {} sequences",
                                  micro, replica);
      continue;
    }
    ParallelLayout l = probe;
    l.micro_batch = micro;
    l.grad_accum = replica / micro;
    if (pins.grad_accum && l.grad_accum != pins.grad_accum) continue;
    bool fit_here = false;
    for (int64_t ep : eps) {
      l.ep = ep;
      if (SearchShardings(s, &l, shardings)) fit_here = true;
    }
    if (fit_here) found = true;
    if (fit_here && probe.pp == 1) break;  // a smaller micro-batch is only slower
  }
  return found;
}

bool LayoutSearch::NoShardingFits(const ModelShape& s, ParallelLayout* l,
                                  const std::vector<Sharding>& shardings) {
  // ZeRO-3 holds the least of every state (test_cluster checks it): once something fits, and so
  // no smallest layout is wanted, a micro-batch that does not fit under ZeRO-3 fits under no
  // sharding.
  if (o.prune && best.fits && bounded && shardings.size() > 1 &&
      std::find(shardings.begin(), shardings.end(), Sharding::kZero3) != shardings.end()) {
    l->sharding = Sharding::kZero3;
    if (EstimateMemoryOfValid(s, *l, DimsOf(l->micro_batch, l->ep)).Total() > o.usable_bytes) {
      return true;
    }
  }
  return false;
}

bool LayoutSearch::SearchShardings(const ModelShape& s, ParallelLayout* l,
                                   const std::vector<Sharding>& shardings) {
  bool fit_here = false;
  ComputeBound bound;
  if (NoShardingFits(s, l, shardings)) return false;
  for (Sharding sh : shardings) {
    l->sharding = sh;
    if (!validated) {
      shape.Validate();  // once, where EstimateMemory would have
      validated = true;
    }
    const MemoryEstimate mem = EstimateMemoryOfValid(s, *l, DimsOf(l->micro_batch, l->ep));
    const double bytes = mem.Total();
    const bool fits = !bounded || bytes <= o.usable_bytes;
    if (!fits) {
      NoteSmallest(s, *l, mem, bytes);
      continue;
    }
    StepCounts c;
    double t = 0;
    fit_here = true;
    if (!PriceLayout(s, *l, &bound, &c, &t)) continue;  // it fits, and cannot be faster
    ++best.evaluated;
    if (t < best.step_s) {
      best.legal = best.fits = true;
      best.shape = s;
      best.layout = *l;
      best.counts = c;
      best.step_s = t;
      best.memory = mem;
    }
  }
  return fit_here;
}

void LayoutSearch::NoteSmallest(const ModelShape& s, const ParallelLayout& l,
                                const MemoryEstimate& mem, double bytes) {
  if (!best.fits && bytes < least_memory) {
    least_memory = bytes;
    smallest.legal = true;
    smallest.shape = s;
    smallest.layout = l;
    smallest.memory = mem;
  }
}

bool LayoutSearch::PriceLayout(const ModelShape& s, const ParallelLayout& l, ComputeBound* bound,
                               StepCounts* c, double* t) {
  // One device, the whole batch at once, the family's checkpointing: the closed form gives the
  // same totals without walking the ops.
  const bool closed = o.closed_form && o.devices == 1 && l.grad_accum == 1 &&
                      s.checkpointing == shape.checkpointing && l.sharding == Sharding::kNone;
  if (closed) {
    *c = o.closed_form->Counts(s, nullptr);
    *t = std::isnan(closed_step_s) ? o.closed_form->Predict(model, s, o.estimator) : closed_step_s;
    return true;
  }
  if (!bound->counted) {
    bound->compute = CountCompute(s, l, rates);
    bound->counted = true;
  }
  if (o.prune && best.fits && !bound->has_lower) {
    bound->lower = PredictFromCounts(model, bound->compute, o.estimator);
    bound->has_lower = true;
  }
  if (o.prune && best.fits && bound->lower >= best.step_s) return false;
  *c = bound->compute;
  AddStepOps(s, l, rates, c);
  *t = PredictFromCounts(model, *c, o.estimator);
  return true;
}

LayoutChoice LayoutSearch::Finish() {
  if (best.fits) {
    best.why_not.clear();
    return std::move(best);
  }
  if (smallest.legal) {
    const Rates r = rates;
    StepCounts c = CountCompute(smallest.shape, smallest.layout, r);
    AddStepOps(smallest.shape, smallest.layout, r, &c);
    smallest.counts = c;
    smallest.step_s = PredictFromCounts(model, c, o.estimator);
    smallest.evaluated = best.evaluated;
    smallest.why_not =
        fmt::format("memory {:.1f} GiB > {:.1f} GiB usable per device even at {}",
                    least_memory / kGiB, o.usable_bytes / kGiB, Describe(smallest.layout));
    return std::move(smallest);
  }
  best.legal = false;
  best.why_not = fmt::format("no legal layout on {} devices: {}", o.devices,
                             why_illegal.empty() ? "nothing divides evenly" : why_illegal);
  return std::move(best);
}

}  // namespace

LayoutChoice ChooseLayout(const ModelShape& shape, const LayoutSearchOptions& o,
                          const TimeModel& model, double closed_step_s) {
  return LayoutSearch(shape, o, model, closed_step_s).Run();
}

}  // namespace chronoscale
