// The inputs of the desktop app as a plain struct, and what the widgets hand to the core: plan
// options, the planning-session JSON file, and the exports (surface CSV, plan JSON). No Qt here:
// the window only reads and writes this struct.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include <chronoscale/plan_request.h>
#include <chronoscale/planner.h>

namespace chronoscale::gui {

struct SessionInputs {
  std::string hardware = "h100-sxm";  // preset name or profile JSON path
  double hours = 24;
  int devices = 1;
  std::string law = "epoch";  // preset name or law JSON path; "fitted" with loss_runs
  std::string loss_runs;      // loss-runs CSV the law is fitted from (law == "fitted")
  // How loss_runs is read and fitted (the column-mapping dialog; defaults are fit-loss's flags'):
  // columns of N, D (or of C, with D = C / 6N when flops_col is set) and the loss, the runs with
  // the highest loss dropped, bootstrap resamples, and what N counts (all or non-embedding).
  struct LossRunsInputs {
    std::string params_col = "params", tokens_col = "tokens", flops_col, loss_col = "loss";
    int drop_highest = 0;
    int bootstrap = 0;
    std::string param_count = "all";
  } loss;
  std::string estimator = "roofline";
  std::string step_runs;  // runs CSV the time model is fitted from ("" : no fit)
  Range width{256, 16384, 64};
  Range depth{1, 128, 1};
  double min_aspect = 8, max_aspect = 256;  // plan --aspect: d_model / n_layers kept
  double unique_tokens = 0;                 // plan --unique-tokens (0: unlimited data)
  int64_t head_size = 0;                    // 0: the reference rule
  double mlp_ratio = 4;
  int64_t seq_len = 1024;
  int64_t batch = 0;  // global; 0: DefaultGlobalBatch for the devices
  int64_t vocab = 32768;
  std::string attention = "flash";
  int64_t features = 256;
  // The cluster (plan's --gpus-per-node, --layout, --memory-reserve): 0, "" and < 0 take the
  // hardware profile's GPUs per node, a free layout and the default reserve.
  int64_t gpus_per_node = 0;
  std::string layout;  // pinned parts, "tp=8,pp=4,zero=1,micro=2"
  double memory_reserve_gib = -1;
  double goodput = 1;
  double mfu = 0.4;
  int top = 10;
  std::string attention_csv;  // kernels tab
  // Architecture variants (plan's --mlp, --norm, --positions, --precision, --optimizer,
  // --kv-heads, --tied, --no-bias, --non-causal, --checkpointing, --block, --sliding-window,
  // --experts, --experts-per-token, --shared-ff); the defaults are the reference model's.
  // checkpointing "": the layout search adds it where a shape needs it. The per-part biases,
  // the LM-head bias, post-norms and the shared expert's gate come from a Hugging Face import.
  struct Architecture {
    std::string mlp = "gelu", norm = "layernorm", positions = "learned", precision = "bf16";
    std::string optimizer = "adamw", block = "sequential";
    std::string checkpointing;
    int64_t kv_heads = 0;  // 0: as many as the query heads
    bool tied = false, bias = true, causal = true;
    int64_t sliding_window = 0;                                 // 0: every key
    int64_t experts = 0, experts_per_token = 0, shared_ff = 0;  // 0 experts: dense
    bool shared_gate = false;
    int qkv_bias = -1, out_bias = -1, mlp_bias = -1, norm_bias = -1;  // -1: as `bias`
    bool head_bias = false, post_norms = false;
  } arch;
};
// Equal inputs (as their JSON).
bool SameInputs(const SessionInputs& a, const SessionInputs& b);

// The reader's options of the loss-runs inputs (InputError for an unknown param_count).
LossRunsOptions ToLossRunsOptions(const SessionInputs::LossRunsInputs& in);

// The plan the inputs ask for. Core's ResolvePlan turns it into the planner's options (with
// roofline and a note where the estimator needs a fit the window does not have); it and Plan
// validate, and their errors name the field.
PlanRequest ToPlanRequest(const SessionInputs& in);

// The architecture of an imported shape (a Hugging Face config): every variant field, kv heads
// as a count. The width-independent rest (head size, MLP ratio, vocabulary) the caller takes.
SessionInputs::Architecture ArchitectureOf(const ModelShape& shape);

// {"schema_version", "tool": "chronoscale-gui", "version", "kind": "planning_session",
//  "inputs": {...}}
nlohmann::json SessionToJson(const SessionInputs& in);
// Reads that document; missing keys keep their defaults; a wrong type or out-of-range value is
// an InputError naming `where` and the key.
SessionInputs SessionFromJson(const nlohmann::json& doc, const std::string& where);
// Reads a session file (InputError naming file, line and column on a syntax error).
SessionInputs LoadSession(const std::string& path);
// Writes it atomically (RuntimeError on failure).
void SaveSession(const SessionInputs& in, const std::string& path);

// Every cell of the surface: width, depth, params, step_ms, loss (empty where it does not fit),
// fits.
std::string SurfaceCsv(const PlanResult& plan);
// best, top, flop_based, loss_saved, budget and the session inputs.
nlohmann::json PlanJson(const PlanResult& plan, const SessionInputs& in);

}  // namespace chronoscale::gui
