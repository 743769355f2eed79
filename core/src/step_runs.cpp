// Reading measured runs: runs and shapes CSVs (shape, parallel layout and hardware per row), and
// splitting them by node count for held-out validation.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include "chronoscale/error.h"
#include "chronoscale/io.h"
#include "chronoscale/time_fit.h"

namespace chronoscale {
namespace {

// ------------------------------------------------------------------ reading runs

bool ParseBool(const CsvTable& t, std::size_t row, int col) {
  std::string v = t.Text(row, col);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no" || v.empty()) return false;
  throw InputError(fmt::format("{}: expected 0/1 or true/false, found '{}'", t.Where(row, col),
                               t.Text(row, col)));
}

template <typename E>
E ParseEnum(const CsvTable& t, std::size_t row, int col, E fallback, const char* expected) {
  if (col < 0 || t.Text(row, col).empty()) return fallback;
  E e;
  if (!Parse(t.Text(row, col), &e)) {
    throw InputError(fmt::format("{}: unknown value '{}'; expected {}", t.Where(row, col),
                                 t.Text(row, col), expected));
  }
  return e;
}

}  // namespace

ModelShape ShapeFromRow(const CsvTable& t, std::size_t r) {
  ModelShape s;
  s.d_model = t.Integer(r, t.RequireColumn("d_model"), 1, int64_t{1} << 20);
  s.n_layers = t.Integer(r, t.RequireColumn("n_layers"), 1, 100000);
  s.n_heads = t.Integer(r, t.RequireColumn("n_heads"), 1, int64_t{1} << 20);
  s.d_ff = t.Integer(r, t.RequireColumn("d_ff"), 1, int64_t{1} << 22);
  s.seq_len = t.Integer(r, t.RequireColumn("seq_len"), 1, int64_t{1} << 24);
  s.batch = t.Integer(r, t.RequireColumn("batch"), 1, int64_t{1} << 24);
  s.vocab = t.Integer(r, t.RequireColumn("vocab"), 1, int64_t{1} << 27);
  int c = t.Column("n_kv_heads");
  if (c >= 0 && !t.Text(r, c).empty()) s.n_kv_heads = t.Integer(r, c, 0, int64_t{1} << 20);
  s.attention =
      ParseEnum(t, r, t.Column("attention"), AttentionKind::kFlash, "flash, naive, favor or dark");
  c = t.Column("features");
  if (c >= 0 && !t.Text(r, c).empty()) s.features = t.Integer(r, c, 0, int64_t{1} << 20);
  s.mlp = ParseEnum(t, r, t.Column("mlp"), MlpKind::kGelu, "gelu or swiglu");
  s.norm = ParseEnum(t, r, t.Column("norm"), NormKind::kLayerNorm, "layernorm or rmsnorm");
  s.positions = ParseEnum(t, r, t.Column("positions"), PositionKind::kLearned, "learned or rotary");
  s.precision =
      ParseEnum(t, r, t.Column("precision"), Precision::kBf16, "bf16, fp16, tf32, fp32 or fp64");
  s.optimizer = ParseEnum(t, r, t.Column("optimizer"), Optimizer::kAdamW, "adamw or sgd");
  if ((c = t.Column("tied")) >= 0) s.tied_embeddings = ParseBool(t, r, c);
  if ((c = t.Column("bias")) >= 0) s.bias = t.Text(r, c).empty() ? true : ParseBool(t, r, c);
  s.checkpointing = ParseEnum(t, r, t.Column("checkpointing"), Checkpointing::kNone,
                              "none, selective or full (or true/false)");
  if ((c = t.Column("causal")) >= 0) s.causal = t.Text(r, c).empty() ? true : ParseBool(t, r, c);
  // The variants of real models (hf_config.h); absent or empty cells keep the defaults.
  auto count = [&](const char* name, int64_t* field, int64_t hi) {
    const int col = t.Column(name);
    if (col >= 0 && !t.Text(r, col).empty()) *field = t.Integer(r, col, 0, hi);
  };
  count("head_dim", &s.head_dim, int64_t{1} << 16);
  count("max_positions", &s.max_positions, int64_t{1} << 24);
  count("sliding_window", &s.sliding_window, int64_t{1} << 24);
  count("experts", &s.experts, 4096);
  count("experts_per_token", &s.experts_per_token, 4096);
  count("shared_ff", &s.shared_ff, int64_t{1} << 22);
  count("dense_layers", &s.dense_layers, 100000);
  count("dense_ff", &s.dense_ff, int64_t{1} << 22);
  for (const auto& [name, field] : {std::pair<const char*, int*>{"qkv_bias", &s.qkv_bias},
                                    {"out_bias", &s.out_bias},
                                    {"mlp_bias", &s.mlp_bias},
                                    {"norm_bias", &s.norm_bias}}) {
    const int col = t.Column(name);
    if (col >= 0 && !t.Text(r, col).empty()) *field = ParseBool(t, r, col) ? 1 : 0;
  }
  if ((c = t.Column("lm_head_bias")) >= 0) s.head_bias = ParseBool(t, r, c);
  if ((c = t.Column("post_norms")) >= 0) s.post_norms = ParseBool(t, r, c);
  if ((c = t.Column("shared_gate")) >= 0) s.shared_gate = ParseBool(t, r, c);
  s.block = ParseEnum(t, r, t.Column("block"), BlockKind::kSequential,
                      "sequential, parallel or parallel-2norm");
  try {
    s.Validate();
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}:{}: {}", t.path, t.line_of_row.at(r), e.what()));
  }
  return s;
}

std::vector<ModelShape> ReadShapes(const CsvTable& table) {
  std::vector<ModelShape> shapes;
  shapes.reserve(table.rows.size());
  for (std::size_t r = 0; r < table.rows.size(); ++r) shapes.push_back(ShapeFromRow(table, r));
  return shapes;
}

ParallelLayout LayoutFromRow(const CsvTable& t, std::size_t r, const ModelShape& shape,
                             int64_t gpus_per_node) {
  auto integer = [&](const char* name, int64_t fallback) {
    const int c = t.Column(name);
    if (c < 0 || t.Text(r, c).empty()) return fallback;
    return t.Integer(r, c, 1, int64_t{1} << 24);
  };
  const std::string where = fmt::format("{}:{}", t.path, t.line_of_row.at(r));
  ParallelLayout l;
  l.devices = integer("devices", 1);
  l.gpus_per_node = integer("gpus_per_node", gpus_per_node > 0 ? gpus_per_node : 0);
  if (l.gpus_per_node == 0) {
    if (l.devices > 1) {
      throw InputError(fmt::format(
          "{}: {} devices but no gpus_per_node: add the column or use a hardware profile that "
          "has gpus_per_node",
          where, l.devices));
    }
    l.gpus_per_node = 1;
  }
  l.tp = integer("tp", 1);
  l.pp = integer("pp", 1);
  l.ep = integer("ep", 1);
  l.sharding = ParseEnum(t, r, t.Column("sharding"), Sharding::kNone,
                         "none, zero1, zero2, zero3 (fsdp) or hybrid");
  if (l.devices % (l.tp * l.pp) != 0) {
    throw InputError(fmt::format("{}: devices {} is not a multiple of tp x pp = {}", where,
                                 l.devices, l.tp * l.pp));
  }
  const int64_t dp = l.Dp();
  const int64_t micro = integer("micro_batch", 0), accum = integer("grad_accum", 0);
  auto split = [&](int64_t whole, int64_t part, const char* what) {
    if (whole % part != 0) {
      throw InputError(fmt::format(
          "{}: batch {} (global, sequences) does not split into dp {} x {}; expected batch = "
          "micro_batch x grad_accum x dp",
          where, shape.batch, dp, what));
    }
    return whole / part;
  };
  if (micro == 0 && accum == 0) {
    l.grad_accum = 1;
    l.micro_batch = split(shape.batch, dp, "whole micro-batches");
  } else if (accum == 0) {
    l.micro_batch = micro;
    l.grad_accum = split(shape.batch, dp * micro, "micro_batch");
  } else if (micro == 0) {
    l.grad_accum = accum;
    l.micro_batch = split(shape.batch, dp * accum, "grad_accum");
  } else {
    l.micro_batch = micro;
    l.grad_accum = accum;
  }
  ValidateLayout(shape, l, where);
  return l;
}

RunsFile ReadStepRuns(const std::string& path, int64_t gpus_per_node) {
  const CsvTable t = ReadCsv(path);
  RunsFile out;
  const int step_col = t.RequireColumn("step_ms");
  const int status_col = t.Column("status");
  const int hw_col = t.Column("hardware");
  const int dev_col = t.Column("device");
  const int phase_cols[3] = {t.Column("fwd_ms"), t.Column("bwd_ms"), t.Column("opt_ms")};
  std::map<std::string, int64_t> per_node;  // gpus_per_node of each row's hardware
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    if (status_col >= 0 && t.Text(r, status_col) != "ok") {
      ++out.skipped;
      continue;
    }
    StepRun run;
    run.shape = ShapeFromRow(t, r);
    int64_t gpn = gpus_per_node;
    if (hw_col >= 0 && !t.Text(r, hw_col).empty()) {
      run.hardware = t.Text(r, hw_col);
      auto it = per_node.find(run.hardware);
      if (it == per_node.end()) {
        // A label that is no preset or profile (a harness's "host-cpu") is resolved by
        // AssignRunsHardware against the fit's hardware; here it only lacks a node size.
        int64_t gpn_of = gpus_per_node;
        try {
          gpn_of = LoadHardware(run.hardware).gpus_per_node;
        } catch (const InputError&) {
        }
        it = per_node.emplace(run.hardware, gpn_of).first;
      }
      gpn = it->second;
    }
    if (dev_col >= 0) run.device = t.Text(r, dev_col);
    run.line = t.line_of_row[r];
    run.layout = LayoutFromRow(t, r, run.shape, gpn);
    const double ms = t.Number(r, step_col);
    if (!(ms > 0)) {
      throw InputError(fmt::format("{}: step_ms must be positive, found {}", t.Where(r, step_col),
                                   t.Text(r, step_col)));
    }
    run.step_s = ms * 1e-3;
    // Measured phases: all three or none (a row with an empty cell has none).
    if (phase_cols[0] >= 0 && phase_cols[1] >= 0 && phase_cols[2] >= 0) {
      double* phase[3] = {&run.fwd_s, &run.bwd_s, &run.opt_s};
      bool all = true;
      for (int p = 0; p < 3; ++p) all = all && !t.Text(r, phase_cols[p]).empty();
      for (int p = 0; all && p < 3; ++p) {
        const double v = t.Number(r, phase_cols[p]);
        if (!(v > 0)) {
          throw InputError(fmt::format("{}: a phase time must be positive, found {}",
                                       t.Where(r, phase_cols[p]), t.Text(r, phase_cols[p])));
        }
        *phase[p] = v * 1e-3;
      }
    }
    out.runs.push_back(run);
  }
  if (out.skipped > 0) {
    out.notes.push_back(
        fmt::format("{}: skipped {} row(s) whose status is not \"ok\"", path, out.skipped));
  }
  if (out.runs.empty())
    throw InputError(fmt::format("{}: no usable runs (every row was skipped)", path));
  return out;
}

void SplitByNodes(const std::vector<StepRun>& runs, std::vector<StepRun>* single,
                  std::vector<StepRun>* multi) {
  for (const auto& r : runs) {
    (r.layout.devices <= r.layout.gpus_per_node ? single : multi)->push_back(r);
  }
}

namespace {

// How the runs' hardware compares with the target's.
struct HardwareTally {
  int unlabelled = 0, matched = 0;
  std::map<std::string, int> others;  // label -> runs priced on their own device
  std::map<std::string, bool> loadable;
  const StepRun* first_other = nullptr;
};

// Whether a hardware label names a preset or a profile file (tried once per label).
bool LoadableHardware(const std::string& hardware, std::map<std::string, bool>* loadable) {
  auto it = loadable->find(hardware);
  if (it == loadable->end()) {
    bool ok = !hardware.empty();
    if (ok) {
      try {
        LoadHardware(hardware);
      } catch (const InputError&) {
        ok = false;
      }
    }
    it = loadable->emplace(hardware, ok).first;
  }
  return it->second;
}

// The hardware a run names, as the messages quote it.
std::string MeasuredOn(const StepRun& run) {
  return run.hardware.empty() ? fmt::format("device '{}'", Printable(run.device))
         : run.device.empty()
             ? fmt::format("'{}'", Printable(run.hardware))
             : fmt::format("'{}' (device '{}')", Printable(run.hardware), Printable(run.device));
}

// Refuses a run measured on hardware that is neither the target nor loadable, or with --force
// fits it as a target run and notes it.
void ForceUnknownHardware(StepRun& run, const std::string& path, const HardwareProfile& target,
                          bool force, RunsHardware* out) {
  const std::string what = MeasuredOn(run);
  if (!force) {
    throw InputError(fmt::format(
        "{}:{}: this run was measured on {}, which is not --hardware {}{} and names no "
        "preset or profile file; pass --hardware for the machine that measured it (--hardware "
        "local for this machine, as measured by `chronoscale bench`), or --force to fit it as "
        "{} runs",
        path, run.line, what, target.name,
        target.device.empty() ? "" : fmt::format(" (device '{}')", target.device), target.name));
  }
  out->forced = true;
  out->notes.push_back(fmt::format("{}:{}: measured on {}, fitted as {} (--force)", path, run.line,
                                   what, target.name));
  run.hardware.clear();
}

// Refuses runs all measured on other hardware, or with --force notes that the fit is carried.
void CheckAllOtherHardware(const HardwareTally& t, const std::string& path,
                           const HardwareProfile& target, bool force, RunsHardware* out) {
  std::string list;
  for (const auto& [name, n] : t.others)
    list += fmt::format("{}{} ({} runs)", list.empty() ? "" : ", ", Printable(name), n);
  if (!force) {
    throw InputError(fmt::format(
        "{}:{}: every run was measured on other hardware ({}), none on --hardware {}; fit "
        "them with --hardware set to their device, or pass --force to carry their fitted "
        "multipliers to {}",
        path, t.first_other->line, list, target.name, target.name));
  }
  out->forced = true;
  out->notes.push_back(fmt::format(
      "every run was measured on other hardware ({}); each is priced on its own device and the "
      "fit is carried to {} (--force)",
      list, target.name));
}

}  // namespace

RunsHardware AssignRunsHardware(std::vector<StepRun>* runs, const std::string& path,
                                const HardwareProfile& target, const std::string& runs_hardware,
                                bool force) {
  RunsHardware out;
  HardwareTally t;
  for (StepRun& run : *runs) {
    if (run.hardware.empty()) run.hardware = runs_hardware;
    if (run.hardware.empty() && run.device.empty()) {
      ++t.unlabelled;
      continue;
    }
    if (RunsMatchHardware(target, run.hardware, run.device)) {
      run.hardware.clear();
      ++t.matched;
      continue;
    }
    const bool loadable = LoadableHardware(run.hardware, &t.loadable);
    if (!t.first_other) t.first_other = &run;
    if (loadable) {
      ++t.others[run.hardware];
      continue;
    }
    ForceUnknownHardware(run, path, target, force, &out);
    ++t.matched;
  }
  if (t.matched == 0 && t.unlabelled == 0 && !t.others.empty()) {
    CheckAllOtherHardware(t, path, target, force, &out);
  }
  if (t.unlabelled > 0) {
    out.notes.push_back(fmt::format(
        "{} run(s) name no hardware: taken as measured on {} (add a hardware column, or "
        "--runs-hardware)",
        t.unlabelled, target.name));
  }
  return out;
}

}  // namespace chronoscale
