// The Hugging Face import's pieces shared by its sources: hf_config.cpp (the import, step by step)
// and hf_config_types.cpp (what each model_type's class defaults to, what is refused, which keys
// are known). Not installed.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "chronoscale/error.h"
#include "chronoscale/hf_config.h"

namespace chronoscale::hf_internal {

using nlohmann::json;

// Reads a config's keys, remembering which it read (the rest are checked for unmodelled
// architecture), and records each value of the import with its source.
class Reader {
 public:
  Reader(const json& config, const std::string& where, HfImport* out)
      : c_(config), where_(where), out_(out) {}

  // A key or a dotted path into nested objects ("ffn_config.moe_top_k"); nullptr when absent
  // or null. The top-level key counts as read.
  const json* Get(std::string_view path) {
    const json* node = &c_;
    std::size_t start = 0;
    bool top = true;
    while (true) {
      const std::size_t dot = path.find('.', start);
      const std::string key(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
      if (top) read_.insert(key);
      top = false;
      if (!node->is_object() || !node->contains(key)) return nullptr;
      node = &node->at(key);
      if (node->is_null()) return nullptr;
      if (dot == std::string_view::npos) return node;
      start = dot + 1;
    }
  }

  // The first of `keys` present, as a whole number in [lo, hi].
  std::optional<int64_t> Int(std::initializer_list<std::string_view> keys, int64_t lo, int64_t hi,
                             std::string* used = nullptr) {
    for (std::string_view k : keys) read_.insert(std::string(k.substr(0, k.find('.'))));  // aliases
    for (std::string_view k : keys) {
      const json* v = Get(k);
      if (v == nullptr) continue;
      const double x = v->is_number() ? v->get<double>() : std::nan("");
      if (!v->is_number() || !std::isfinite(x) || x != std::floor(x) ||
          x < static_cast<double>(lo) || x > static_cast<double>(hi)) {
        throw InputError(fmt::format("{}: key '{}' is {}; expected a whole number in [{}, {}]",
                                     where_, k, v->dump(), lo, hi));
      }
      if (used != nullptr) *used = std::string(k);
      return static_cast<int64_t>(x);
    }
    return std::nullopt;
  }

  std::optional<double> Real(std::string_view key, double lo, double hi) {
    const json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    const double x = v->is_number() ? v->get<double>() : std::nan("");
    if (!std::isfinite(x) || x < lo || x > hi) {
      throw InputError(fmt::format("{}: key '{}' is {}; expected a number in [{}, {}]", where_, key,
                                   v->dump(), lo, hi));
    }
    return x;
  }

  // A JSON boolean. Strings ("false") and numbers are refused: Python reads "false" as true.
  std::optional<bool> Bool(std::string_view key) {
    const json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) {
      throw InputError(fmt::format("{}: key '{}' is {}; expected true or false (a JSON boolean)",
                                   where_, key, v->dump()));
    }
    return v->get<bool>();
  }

  std::string Text(std::string_view key) {
    const json* v = Get(key);
    if (v == nullptr) return {};
    if (!v->is_string()) {
      throw InputError(
          fmt::format("{}: key '{}' must be a string, found {}", where_, key, v->dump()));
    }
    return v->get<std::string>();
  }

  void Record(std::string field, std::string value, std::string source) {
    out_->fields.push_back({std::move(field), std::move(value), std::move(source)});
  }
  void Warn(std::string text) { out_->warnings.push_back(std::move(text)); }
  const std::set<std::string>& read() const { return read_; }
  const std::string& where() const { return where_; }

 private:
  const json& c_;
  const std::string& where_;
  HfImport* out_;
  std::set<std::string> read_;
};

inline std::string Key(const std::string& k) { return fmt::format("key '{}'", k); }
inline std::string YesNo(bool b) { return b ? "true" : "false"; }
inline bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Per-model_type defaults of the transformers config class (and the block its modelling code
// builds). Keys in the config override them where the class reads a key.
struct TypeDefaults {
  const char* type;
  bool gated, rms, rotary, tied;
  int qkv_bias, out_bias, mlp_bias, norm_bias;  // -1: follow the type's `bias`
  bool bias;
  bool head_bias;
  BlockKind block;
  int64_t position_offset;  // extra learned position rows (OPT: 2)
};
// The defaults of a model_type chronoscale knows; nullptr for any other.
const TypeDefaults* TypeDefaultsOf(const std::string& type);

// Refuses configs that are not a decoder-only causal LM (InputError naming the key).
void RefuseNonDecoders(const json& c, Reader& r, const std::string& type);

// Warns about each key not read whose name suggests it changes the block (experts, windows,
// norms, ...), unless it is known to leave the step's cost and the parameter count alone.
void WarnUnmodelledKeys(const json& c, Reader& r);

}  // namespace chronoscale::hf_internal
