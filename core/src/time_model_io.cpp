// Time models on disk (TimeModelToJson / TimeModelFromJson) and what a model was fitted on
// (FitDomain, OutsideFitDomain): the reading and writing half of step_time.h.
#include <fmt/format.h>

#include <tuple>

#include "chronoscale/error.h"
#include "chronoscale/format.h"
#include "chronoscale/io.h"
#include "chronoscale/step_time.h"
#include "chronoscale/version.h"

namespace chronoscale {

void FitDomain::Add(const ModelShape& shape) {
  auto widen = [&](double v, double* lo, double* hi) {
    if (runs == 0 || v < *lo) *lo = v;
    if (runs == 0 || v > *hi) *hi = v;
  };
  widen(shape.Params(), &params_min, &params_max);
  widen(shape.TokensPerStep(), &tokens_min, &tokens_max);
  widen(static_cast<double>(shape.seq_len), &seq_min, &seq_max);
  widen(static_cast<double>(shape.vocab), &vocab_min, &vocab_max);
  ++runs;
}

std::vector<std::string> OutsideFitDomain(const FitDomain& d, const ModelShape& shape) {
  std::vector<std::string> out;
  if (!d.Known()) return out;
  constexpr double kMargin = 1.1;
  auto check = [&](double v, double lo, double hi, const char* what) {
    if (v > hi * kMargin || v * kMargin < lo) {
      out.push_back(fmt::format("{} {} (fitted {}-{})", Si(v), what, Si(lo), Si(hi)));
    }
  };
  check(shape.Params(), d.params_min, d.params_max, "parameters");
  check(shape.TokensPerStep(), d.tokens_min, d.tokens_max, "tokens per step");
  check(static_cast<double>(shape.seq_len), d.seq_min, d.seq_max, "sequence length");
  check(static_cast<double>(shape.vocab), d.vocab_min, d.vocab_max, "vocabulary");
  return out;
}

nlohmann::json TimeModelToJson(const TimeModel& m) {
  nlohmann::json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["tool"] = "chronoscale";
  doc["version"] = Version();
  doc["kind"] = "time_model";
  doc["hardware"] = HardwareToJson(m.hardware);
  doc["best"] = ToString(m.best);
  nlohmann::json est;
  est["flops"] = {
      {"fitted", m.fitted[0]}, {"c0_s", m.flops_c0_s}, {"s_per_flop", m.flops_s_per_flop}};
  est["memcopy"] = {
      {"fitted", m.fitted[1]}, {"c0_s", m.memcopy_c0_s}, {"s_per_byte", m.memcopy_s_per_byte}};
  est["roofline"] = {{"fitted", false}};
  if (m.fitted[3]) {
    const auto& k = m.calibrated;
    est["calibrated"] = {{"fitted", true},
                         {"c0_s", k.c0_s},
                         {"matmul_s_per_flop", k.matmul_s_per_flop},
                         {"attention_s_per_flop", k.attention_s_per_flop},
                         {"s_per_byte", k.s_per_byte},
                         {"s_per_launch", k.s_per_launch},
                         {"s_per_tensor_update", k.s_per_tensor_update},
                         {"sharpness", k.sharpness},
                         {"form", ToString(k.form)}};
  }
  doc["estimators"] = est;
  doc["communication"] = {{"multiplier", m.comm_multiplier}, {"overlap", m.comm_overlap}};
  if (m.fitted_on.Known()) {
    const FitDomain& d = m.fitted_on;
    doc["fitted_on"] = {{"runs", d.runs},
                        {"hardware", d.hardware},
                        {"forced", d.forced},
                        {"params", {d.params_min, d.params_max}},
                        {"tokens_per_step", {d.tokens_min, d.tokens_max}},
                        {"seq_len", {d.seq_min, d.seq_max}},
                        {"vocab", {d.vocab_min, d.vocab_max}}};
  }
  doc["report"] = m.report;
  return doc;
}

namespace {

void ReadFitDomain(const nlohmann::json& j, const std::string& where, TimeModel* m) {
  if (!j.is_object()) throw InputError(fmt::format("{}: must be an object", where));
  FitDomain& d = m->fitted_on;
  d.runs = static_cast<int>(JsonNumber(j, "runs", where, 1, 1e9));
  std::tie(d.params_min, d.params_max) = JsonRange(j, "params", where, 0);
  std::tie(d.tokens_min, d.tokens_max) = JsonRange(j, "tokens_per_step", where, 0);
  std::tie(d.seq_min, d.seq_max) = JsonRange(j, "seq_len", where, 0);
  std::tie(d.vocab_min, d.vocab_max) = JsonRange(j, "vocab", where, 0);
  if (j.contains("hardware")) {
    const auto& h = j.at("hardware");
    if (!h.is_array()) throw InputError(fmt::format("{}: key 'hardware' must be a list", where));
    for (const auto& x : h) {
      if (!x.is_string())
        throw InputError(fmt::format("{}: key 'hardware' must list names", where));
      d.hardware.push_back(x.get<std::string>());
    }
  }
  if (j.contains("forced")) {
    if (!j.at("forced").is_boolean())
      throw InputError(fmt::format("{}: key 'forced' must be true or false", where));
    d.forced = j.at("forced").get<bool>();
  }
}

}  // namespace

TimeModel TimeModelFromJson(const nlohmann::json& doc, const std::string& where) {
  if (!doc.is_object() || !doc.contains("hardware") || !doc.contains("estimators")) {
    throw InputError(
        fmt::format("{}: not a time model (expected keys 'hardware' and 'estimators', "
                    "as written by fit-time --out)",
                    where));
  }
  TimeModel m;
  m.hardware = HardwareFromJson(doc.at("hardware"), where + " (hardware)");
  const auto& est = doc.at("estimators");
  const std::string w = where + " (estimators)";
  if (!est.is_object()) throw InputError(fmt::format("{}: 'estimators' must be an object", where));
  auto fitted = [&](const char* name) {
    if (!est.contains(name) || !est.at(name).is_object()) return false;
    const auto& e = est.at(name);
    const auto it = e.find("fitted");
    if (it == e.end() || it->is_null()) return false;
    if (!it->is_boolean()) {
      throw InputError(
          fmt::format("{}.{}: key 'fitted' must be true or false, found {}", w, name, it->dump()));
    }
    return it->get<bool>();
  };
  if (est.contains("flops")) {
    m.flops_c0_s = JsonNumber(est.at("flops"), "c0_s", w + ".flops", 0, 1e6);
    m.flops_s_per_flop = JsonNumber(est.at("flops"), "s_per_flop", w + ".flops", 0, 1);
    m.fitted[0] = fitted("flops");
  }
  if (est.contains("memcopy")) {
    m.memcopy_c0_s = JsonNumber(est.at("memcopy"), "c0_s", w + ".memcopy", 0, 1e6);
    m.memcopy_s_per_byte = JsonNumber(est.at("memcopy"), "s_per_byte", w + ".memcopy", 0, 1);
    m.fitted[1] = fitted("memcopy");
  }
  if (fitted("calibrated")) {
    const auto& c = est.at("calibrated");
    const std::string wc = w + ".calibrated";
    auto& k = m.calibrated;
    k.c0_s = JsonNumber(c, "c0_s", wc, 0, 1e6);
    k.matmul_s_per_flop = JsonNumber(c, "matmul_s_per_flop", wc, 0, 1);
    k.attention_s_per_flop = JsonNumber(c, "attention_s_per_flop", wc, 0, 1);
    k.s_per_byte = JsonNumber(c, "s_per_byte", wc, 0, 1);
    k.s_per_launch = JsonNumber(c, "s_per_launch", wc, 0, 1);
    k.s_per_tensor_update = JsonNumber(c, "s_per_tensor_update", wc, 0, 1);
    k.sharpness = JsonNumber(c, "sharpness", wc, 1, 64);
    if (c.contains("form")) {  // models written before the segmented form have none
      const std::string form = JsonString(c, "form", wc);
      if (!Parse(form, &k.form)) {
        throw InputError(
            fmt::format("{}: key 'form' is '{}', expected 'segments' or 'whole-step'", wc, form));
      }
    }
    m.fitted[3] = true;
  }
  if (doc.contains("best")) {
    const std::string best = JsonString(doc, "best", where);
    if (!Parse(best, &m.best) || !m.Has(m.best)) {
      throw InputError(
          fmt::format("{}: key 'best' is '{}', which is not an available estimator", where, best));
    }
  }
  if (doc.contains("communication")) {
    const auto& c = doc.at("communication");
    const std::string wc = where + " (communication)";
    if (!c.is_object()) throw InputError(fmt::format("{}: must be an object", wc));
    m.comm_multiplier = JsonNumberOr(c, "multiplier", wc, 0.01, 100, 1);
    m.comm_overlap = JsonNumberOr(c, "overlap", wc, 0, 1, 0.8);
  }
  if (doc.contains("fitted_on")) ReadFitDomain(doc.at("fitted_on"), where + " (fitted_on)", &m);
  if (doc.contains("report")) m.report = doc.at("report");
  return m;
}

TimeModel LoadTimeModel(const std::string& path) {
  return TimeModelFromJson(ReadJsonFile(path), path);
}

}  // namespace chronoscale
