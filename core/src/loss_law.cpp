// Loss-law forms, presets, compute-optimal allocation, JSON, runs files and reports. The fit
// itself is in loss_fit.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <tuple>

#include <chronoscale/error.h>
#include <chronoscale/format.h>
#include <chronoscale/io.h>
#include <chronoscale/loss_law.h>

namespace chronoscale {
namespace {

constexpr double kHuge = std::numeric_limits<double>::max();

// Finite numbers as %g-like text; anything else as "n/a" (a report never prints NaN).
std::string Num(double v, int digits = 5) {
  if (!std::isfinite(v)) return "n/a";
  return fmt::format("{:.{}g}", v, digits);
}

}  // namespace

const char* ParamCountToString(ParamCount count) {
  return count == ParamCount::kAll ? "all" : "non_embedding";
}

bool StringToParamCount(std::string_view text, ParamCount* count) {
  if (text == "all") {
    *count = ParamCount::kAll;
  } else if (text == "non_embedding" || text == "non-embedding") {
    *count = ParamCount::kNonEmbedding;
  } else {
    return false;
  }
  return true;
}

const char* LossLawFormToString(LossLaw::Form form) {
  return form == LossLaw::Form::kChinchilla ? "chinchilla" : "kaplan";
}

bool StringToLossLawForm(std::string_view text, LossLaw::Form* form) {
  if (text == "chinchilla") {
    *form = LossLaw::Form::kChinchilla;
  } else if (text == "kaplan") {
    *form = LossLaw::Form::kKaplan;
  } else {
    return false;
  }
  return true;
}

bool LossLaw::IsValid(std::string* error) const {
  auto fail = [error](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  if (form == Form::kChinchilla) {
    if (!(std::isfinite(E) && E >= 0)) return fail(fmt::format("E = {} must be >= 0", Num(E)));
    if (!positive(A)) return fail(fmt::format("A = {} must be > 0", Num(A)));
    if (!positive(B)) return fail(fmt::format("B = {} must be > 0", Num(B)));
    if (!positive(alpha)) return fail(fmt::format("alpha = {} must be > 0", Num(alpha)));
    if (!positive(beta)) return fail(fmt::format("beta = {} must be > 0", Num(beta)));
  } else {
    if (!positive(N_c)) return fail(fmt::format("N_c = {} must be > 0", Num(N_c)));
    if (!positive(D_c)) return fail(fmt::format("D_c = {} must be > 0", Num(D_c)));
    if (!positive(alpha_N)) return fail(fmt::format("alpha_N = {} must be > 0", Num(alpha_N)));
    if (!positive(alpha_D)) return fail(fmt::format("alpha_D = {} must be > 0", Num(alpha_D)));
  }
  if (!(std::isfinite(shape_C) && shape_C >= 0))
    return fail(fmt::format("shape term C = {} must be >= 0", Num(shape_C)));
  if (shape_C > 0 && !positive(shape_aspect))
    return fail(fmt::format("shape term aspect = {} must be > 0", Num(shape_aspect)));
  return true;
}

ComputeOptimal Allocate(const LossLaw& law, double flops) {
  ComputeOptimal out;
  out.flops = flops;
  if (law.form == LossLaw::Form::kChinchilla) {
    const double s = law.alpha + law.beta;
    out.G = std::pow(law.alpha * law.A / (law.beta * law.B), 1.0 / s);
    out.a = law.beta / s;
    out.b = law.alpha / s;
  } else {
    const double p = law.alpha_N / law.alpha_D;
    out.G = std::pow(p * std::pow(law.N_c, p) / law.D_c, 1.0 / (1.0 + p));
    out.a = 1.0 / (1.0 + p);
    out.b = p / (1.0 + p);
  }
  const double c6 = flops / 6.0;
  out.params = out.G * std::pow(c6, out.a);
  out.tokens = std::pow(c6, out.b) / out.G;
  out.loss = law.Loss(out.params, out.tokens);
  return out;
}

std::vector<std::string> LossLawPresetNames() { return {"chinchilla", "epoch", "kaplan"}; }

LossLaw LossLawPreset(const std::string& name) {
  LossLaw law;
  if (name == "chinchilla") {
    // Hoffmann et al. 2022, Approach 3, unrounded (the rounded 0.34 / 0.28 shift N_opt by 20%).
    // N counts all parameters, embeddings included.
    law.E = 1.69337;
    law.A = 406.401;
    law.B = 410.723;
    law.alpha = 0.33917;
    law.beta = 0.28491;
    law.fitted = {7e7, 1.6e10, 5e9, 5e11,
                  "Hoffmann et al. 2022: over 400 models of 70M to over 16B parameters on 5 to "
                  "500B tokens"};
  } else if (name == "epoch") {
    // Besiroglu et al. 2024 (Epoch AI), headline maximum-likelihood refit of Hoffmann's data.
    // N counts all parameters, as Hoffmann's.
    law.E = 1.8169;
    law.A = 482.01;
    law.B = 2085.43;
    law.alpha = 0.3478;
    law.beta = 0.3658;
    law.fitted = {
        5.73e7, 1.62e10, 2.45e8, 3.18e11,
        "the 245 Hoffmann et al. runs as digitised by Besiroglu et al. 2024 (D = C / 6N)"};
  } else if (name == "kaplan") {
    // Kaplan et al. 2020, eq. 1.5. N counts non-embedding parameters; loss in nats per token of
    // their WebText2 tokenisation, so its level is not comparable with the Chinchilla presets.
    law.form = LossLaw::Form::kKaplan;
    law.params_counted = ParamCount::kNonEmbedding;
    law.alpha_N = 0.076;
    law.alpha_D = 0.103;
    law.N_c = 6.4e13;
    law.D_c = 1.8e13;
    law.fitted = {768, 1.5e9, 2.2e7, 2.3e10,
                  "Kaplan et al. 2020: 768 to 1.5B non-embedding parameters, 22M to 23B tokens"};
  } else {
    throw InputError(
        fmt::format("unknown loss law '{}': expected chinchilla, epoch, kaplan or a "
                    "law JSON file",
                    name));
  }
  return law;
}

nlohmann::json LossLawToJson(const LossLaw& law) {
  nlohmann::json j;
  j["form"] = LossLawFormToString(law.form);
  j["params"] = ParamCountToString(law.params_counted);
  if (law.form == LossLaw::Form::kChinchilla) {
    j["E"] = law.E;
    j["A"] = law.A;
    j["B"] = law.B;
    j["alpha"] = law.alpha;
    j["beta"] = law.beta;
  } else {
    j["N_c"] = law.N_c;
    j["D_c"] = law.D_c;
    j["alpha_N"] = law.alpha_N;
    j["alpha_D"] = law.alpha_D;
  }
  if (law.fitted.Known()) {
    j["fitted_range"] = {{"params", {law.fitted.params_min, law.fitted.params_max}},
                         {"tokens", {law.fitted.tokens_min, law.fitted.tokens_max}},
                         {"source", law.fitted.source}};
  }
  if (law.ShapeAware()) j["shape_term"] = {{"C", law.shape_C}, {"aspect", law.shape_aspect}};
  if (!law.draws.empty()) j["bootstrap_draws"] = law.draws;
  return j;
}

LossLaw LossLaw::Draw(std::size_t i) const {
  LossLaw d = *this;
  d.draws.clear();
  const auto& x = draws.at(i);
  d.E = x[0];
  d.A = x[1];
  d.B = x[2];
  d.alpha = x[3];
  d.beta = x[4];
  return d;
}

namespace {

void ReadFittedRange(const nlohmann::json& j, const std::string& where, LossLaw* law) {
  if (!j.is_object()) throw InputError(fmt::format("{}: must be an object", where));
  constexpr double kPositive = std::numeric_limits<double>::min();
  std::tie(law->fitted.params_min, law->fitted.params_max) =
      JsonRange(j, "params", where, kPositive);
  std::tie(law->fitted.tokens_min, law->fitted.tokens_max) =
      JsonRange(j, "tokens", where, kPositive);
  if (j.contains("source")) law->fitted.source = JsonString(j, "source", where);
}

}  // namespace

std::vector<std::string> OutsideLawRange(const LossLaw& law, double params, double tokens) {
  std::vector<std::string> out;
  if (!law.fitted.Known()) return out;
  constexpr double kFactor = 1.5;
  auto check = [&](double v, double lo, double hi, const char* what) {
    if (v > hi * kFactor) {
      out.push_back(fmt::format("{} = {} {} is {:.3g}x the largest fitted ({})",
                                what[0] == 'p' ? "N" : "D", Si(v), what, v / hi, Si(hi)));
    } else if (v * kFactor < lo) {
      out.push_back(fmt::format("{} = {} {} is {:.3g}x below the smallest fitted ({})",
                                what[0] == 'p' ? "N" : "D", Si(v), what, lo / v, Si(lo)));
    }
  };
  check(params, law.fitted.params_min, law.fitted.params_max, "parameters");
  check(tokens, law.fitted.tokens_min, law.fitted.tokens_max, "tokens");
  return out;
}

namespace {

// Reads the optional 'form' key (Chinchilla when absent).
void ReadForm(const nlohmann::json& json, const std::string& where, LossLaw* law) {
  if (!json.contains("form")) return;
  const std::string form = JsonString(json, "form", where);
  if (!StringToLossLawForm(form, &law->form)) {
    throw InputError(
        fmt::format("{}: key 'form' is \"{}\"; expected \"chinchilla\" or "
                    "\"kaplan\"",
                    where, form));
  }
}

// Reads the optional 'params' key; the default follows the form.
void ReadParamsCounted(const nlohmann::json& json, const std::string& where, LossLaw* law) {
  law->params_counted =
      law->form == LossLaw::Form::kKaplan ? ParamCount::kNonEmbedding : ParamCount::kAll;
  if (!json.contains("params")) return;
  const std::string counted = JsonString(json, "params", where);
  if (!StringToParamCount(counted, &law->params_counted)) {
    throw InputError(
        fmt::format("{}: key 'params' is \"{}\"; expected \"all\" or "
                    "\"non_embedding\"",
                    where, counted));
  }
}

// Reads the optional 'shape_term' key (Chinchilla form only).
void ReadShapeTerm(const nlohmann::json& json, const std::string& where, LossLaw* law) {
  if (!json.contains("shape_term")) return;
  const auto& t = json.at("shape_term");
  const std::string w = where + " (shape_term)";
  if (!t.is_object() || law->form != LossLaw::Form::kChinchilla) {
    throw InputError(fmt::format(
        "{}: key 'shape_term' must be {{\"C\": C, \"aspect\": r*}} on a Chinchilla-form law",
        where));
  }
  law->shape_C = JsonNumber(t, "C", w, 0.0, 100.0);
  law->shape_aspect = JsonNumber(t, "aspect", w, 1e-3, 1e6);
}

// Reads the optional 'bootstrap_draws' key: rows of [E, A, B, alpha, beta] (Chinchilla form).
void ReadBootstrapDraws(const nlohmann::json& json, const std::string& where, LossLaw* law) {
  if (!json.contains("bootstrap_draws")) return;
  const auto& d = json.at("bootstrap_draws");
  if (!d.is_array() || (law->form != LossLaw::Form::kChinchilla && !d.empty())) {
    throw InputError(fmt::format(
        "{}: key 'bootstrap_draws' must be a list of [E, A, B, alpha, beta] (Chinchilla form)",
        where));
  }
  for (std::size_t i = 0; i < d.size(); ++i) {
    const auto& row = d[i];
    std::array<double, 5> x{};
    bool ok = row.is_array() && row.size() == 5;
    for (std::size_t k = 0; ok && k < 5; ++k) {
      ok = row[k].is_number() && std::isfinite(row[k].get<double>()) && row[k].get<double>() >= 0 &&
           (k == 0 || row[k].get<double>() > 0);
      if (ok) x[k] = row[k].get<double>();
    }
    if (!ok) {
      throw InputError(fmt::format(
          "{}: bootstrap_draws[{}] is {}; expected [E >= 0, A > 0, B > 0, alpha > 0, beta > 0]",
          where, i, row.dump().substr(0, 80)));
    }
    law->draws.push_back(x);
  }
}

// Reads the form's coefficients and exponents.
void ReadCoefficients(const nlohmann::json& json, const std::string& where, LossLaw* law) {
  constexpr double kTiny = std::numeric_limits<double>::min();
  if (law->form == LossLaw::Form::kChinchilla) {
    law->E = JsonNumber(json, "E", where, 0.0, kHuge);
    law->A = JsonNumber(json, "A", where, kTiny, kHuge);
    law->B = JsonNumber(json, "B", where, kTiny, kHuge);
    law->alpha = JsonNumber(json, "alpha", where, kTiny, 10.0);
    law->beta = JsonNumber(json, "beta", where, kTiny, 10.0);
  } else {
    law->N_c = JsonNumber(json, "N_c", where, kTiny, kHuge);
    law->D_c = JsonNumber(json, "D_c", where, kTiny, kHuge);
    law->alpha_N = JsonNumber(json, "alpha_N", where, kTiny, 10.0);
    law->alpha_D = JsonNumber(json, "alpha_D", where, kTiny, 10.0);
  }
}

// Refuses a law whose loss or compute-optimal allocation overflows where models live.
void CheckLawFinite(const LossLaw& law, const std::string& where) {
  // Each value may be in range and the law still overflow where models live (A = 1e308 with
  // alpha = 1e-300): it would print inf as a result. The loss falls with N and D, so a finite
  // loss at the smallest corner bounds it everywhere above.
  constexpr double kSmallest = 1e3;
  const double corner = law.Loss(kSmallest, kSmallest);
  if (!std::isfinite(corner)) {
    throw InputError(
        fmt::format("{}: the law gives a loss of {} at N = D = {:g}; expected a finite "
                    "loss (a coefficient is too large for its exponent)",
                    where, corner, kSmallest));
  }
  for (double flops : {1e15, 1e27}) {
    const ComputeOptimal c = Allocate(law, flops);
    if (!(std::isfinite(c.params) && c.params > 0 && std::isfinite(c.tokens) && c.tokens > 0 &&
          std::isfinite(c.loss))) {
      throw InputError(
          fmt::format("{}: the law's compute-optimal allocation at {:g} FLOPs is N = {:g}, "
                      "D = {:g}; expected finite positive sizes (the exponents or "
                      "coefficients are out of any plausible range)",
                      where, flops, c.params, c.tokens));
    }
  }
}

}  // namespace

LossLaw LossLawFromJson(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) throw InputError(fmt::format("{}: expected a JSON object", where));
  if (json.contains("law")) {
    return LossLawFromJson(json.at("law"), where + " (key 'law')");
  }
  LossLaw law;
  ReadForm(json, where, &law);
  ReadParamsCounted(json, where, &law);
  if (json.contains("fitted_range")) {
    ReadFittedRange(json.at("fitted_range"), where + " (fitted_range)", &law);
  }
  ReadShapeTerm(json, where, &law);
  ReadBootstrapDraws(json, where, &law);
  ReadCoefficients(json, where, &law);
  CheckLawFinite(law, where);
  return law;
}

LossLaw LoadLaw(const std::string& name_or_path) {
  const auto names = LossLawPresetNames();
  if (std::find(names.begin(), names.end(), name_or_path) != names.end()) {
    return LossLawPreset(name_or_path);
  }
  std::error_code ec;
  if (!std::filesystem::exists(name_or_path, ec)) {
    throw InputError(
        fmt::format("unknown loss law '{}': expected chinchilla, epoch, kaplan or a "
                    "law JSON file (no such file)",
                    name_or_path));
  }
  return LossLawFromJson(ReadJsonFile(name_or_path), name_or_path);
}

LossRunsTable LoadLossRuns(const std::string& path, const LossRunsOptions& options) {
  if (options.drop_highest < 0) {
    throw InputError(
        fmt::format("drop_highest is {}; expected a count >= 0", options.drop_highest));
  }
  const CsvTable table = ReadCsv(path);
  const bool from_flops = !options.flops_column.empty();
  const int n_col = table.RequireColumn(options.params_column);
  const int l_col = table.RequireColumn(options.loss_column);
  int d_col = -1;
  if (from_flops) {
    d_col = table.RequireColumn(options.flops_column);
  } else if (table.Column(options.tokens_column) < 0) {
    std::string have;
    for (const auto& h : table.header) have += (have.empty() ? "" : ", ") + h;
    throw InputError(
        fmt::format("{}:1: missing column '{}' (the header has: {}); name the token "
                    "column with --tokens-col, or a FLOPs column with --flops-col "
                    "to derive D = C / (6 N)",
                    path, options.tokens_column, have));
  } else {
    d_col = table.Column(options.tokens_column);
  }
  constexpr double kTiny = std::numeric_limits<double>::min();
  LossRunsTable out;
  out.path = path;
  int w_col = -1, n_layers_col = -1;
  if (options.shape) {
    w_col = table.RequireColumn(options.width_column);
    n_layers_col = table.RequireColumn(options.depth_column);
  }
  out.runs.reserve(table.rows.size());
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    LossRun run;
    run.line = table.line_of_row[r];
    run.params = table.NumberIn(r, n_col, kTiny, kHuge);
    const double d = table.NumberIn(r, d_col, kTiny, kHuge);
    run.tokens = from_flops ? d / (6.0 * run.params) : d;
    if (!(std::isfinite(run.tokens) && run.tokens > 0)) {
      throw InputError(fmt::format("{}: the token count C / (6 N) is not a finite positive number",
                                   table.Where(r, d_col)));
    }
    run.loss = table.NumberIn(r, l_col, kTiny, kHuge);
    if (options.shape) {
      run.aspect = table.NumberIn(r, w_col, 1, 1e7) / table.NumberIn(r, n_layers_col, 1, 1e6);
    }
    out.runs.push_back(run);
  }
  if (options.drop_highest > 0) {
    if (static_cast<std::size_t>(options.drop_highest) >= out.runs.size()) {
      throw InputError(fmt::format("{}: --drop-highest {} would drop all {} runs", path,
                                   options.drop_highest, out.runs.size()));
    }
    std::vector<std::size_t> order(out.runs.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) {
      return out.runs[i].loss > out.runs[j].loss;
    });
    std::vector<bool> drop(out.runs.size(), false);
    for (int k = 0; k < options.drop_highest; ++k) drop[order[static_cast<std::size_t>(k)]] = true;
    std::vector<LossRun> kept;
    for (std::size_t i = 0; i < out.runs.size(); ++i) {
      (drop[i] ? out.dropped : kept).push_back(out.runs[i]);
    }
    out.runs = std::move(kept);
  }
  return out;
}

double LossObjective(const LossLaw& law, const std::vector<LossRun>& runs, double huber_delta) {
  double sum = 0.0;
  for (const auto& run : runs) {
    sum += Huber(std::log(law.Loss(run.params, run.tokens, run.aspect)) - std::log(run.loss),
                 huber_delta);
  }
  return sum;
}

std::string SeparabilityWarning(const std::vector<LossRun>& runs) {
  // Regress log D on log N. When the fit is (nearly) exact the data cannot tell A / N^alpha from
  // B / D^beta: along the runs both are power laws of N.
  const std::size_t n = runs.size();
  if (n < 2) return {};
  double mx = 0, my = 0;
  for (const auto& r : runs) {
    mx += std::log(r.params);
    my += std::log(r.tokens);
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxx = 0, sxy = 0, syy = 0;
  for (const auto& r : runs) {
    const double x = std::log(r.params) - mx;
    const double y = std::log(r.tokens) - my;
    sxx += x * x;
    sxy += x * y;
    syy += y * y;
  }
  if (sxx <= 0 || syy <= 0) return {};  // one size or one token count: an error elsewhere
  const double slope = sxy / sxx;
  const double rss = std::max(0.0, syy - slope * sxy);
  const double spread = std::sqrt(rss / static_cast<double>(n));  // log-units off the line
  // Less than ~10% scatter of D around a power law of N.
  if (spread >= 0.1) return {};
  if (std::fabs(slope - 1.0) < 0.05) {
    const double ratio = std::exp(my - mx);
    return fmt::format(
        "the runs cannot separate alpha from beta: every run is at about {:.3g} tokens per "
        "parameter (log D - log N varies by {:.3f}); A / N^alpha and B / D^beta are then "
        "indistinguishable and the compute-optimal allocation is not determined. Add runs at "
        "other tokens-per-parameter ratios",
        ratio, spread);
  }
  return fmt::format(
      "the runs cannot separate alpha from beta: log D is almost a linear function of log N "
      "(D ~ N^{:.3f}, scatter {:.3f} in log D); the split between A / N^alpha and B / D^beta and "
      "the compute-optimal allocation are poorly determined. Add runs that vary N and D "
      "independently",
      slope, spread);
}

std::string LossFitSummary::BriefReport() const {
  std::string text;
  if (law.form == LossLaw::Form::kChinchilla) {
    text = fmt::format(
        "Approach 3 fit of {} runs: E = {}, A = {}, B = {}, alpha = {}, beta = {}; objective {} "
        "(sum of Huber); best of {} starts ({} converged, {} abandoned early, {} failed), {} "
        "iterations in all, {:.2f} s on {} thread{}; {}",
        n_runs, Num(law.E), Num(law.A), Num(law.B), Num(law.alpha, 4), Num(law.beta, 4),
        Num(objective, 6), starts, starts_converged, starts_abandoned, starts_failed, iterations,
        time_s, num_threads, num_threads == 1 ? "" : "s",
        converged ? "converged" : "NOT converged (the best start hit its iteration limit)");
  }
  if (on_boundary) text += "; the optimum lies on a boundary (see warnings)";
  return text + "\n";
}

std::string LossFitSummary::FullReport() const {
  std::string text = BriefReport();
  text += fmt::format(
      "compute-optimal at C = {:.3g} FLOPs: N_opt = {:.4g}, D_opt = {:.4g} ({:.1f} tokens per "
      "parameter), loss {}; G = {}, a = {}, b = {}\n",
      allocation.flops, allocation.params, allocation.tokens, allocation.tokens / allocation.params,
      Num(allocation.loss), Num(allocation.G), Num(allocation.a, 4), Num(allocation.b, 4));
  const auto& s = residual_stats;
  text += fmt::format(
      "residuals (log L_pred - log L_obs): rms {}, mean {}, median |r| {}, max |r| {}; "
      "relative loss error mean {:.2f}%, max {:.2f}%; {} of {} beyond the Huber delta\n",
      Num(s.rms, 3), Num(s.mean, 3), Num(s.median_abs, 3), Num(s.max_abs, 3), 100 * s.mean_rel,
      100 * s.max_rel, s.n_beyond_delta, n_runs);
  if (bootstrap_resamples > 0) {
    text += fmt::format(
        "bootstrap: {} resamples ({} failed), {:.2f} s; {:.0f}% percentile intervals "
        "(N_opt, D_opt at C = {:.3g}):\n",
        bootstrap_resamples, bootstrap_failed, bootstrap_time_s, 100 * confidence, budget_flops);
    for (const auto& [name, iv] : intervals) {
      text += fmt::format("  {:<6} [{}, {}]\n", name, Num(iv.lo), Num(iv.hi));
    }
  }
  for (const auto& w : warnings) text += "warning: " + w + "\n";
  return text;
}

}  // namespace chronoscale
