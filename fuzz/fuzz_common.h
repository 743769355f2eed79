// Shared helpers for the libFuzzer targets. The only exceptions a reader may throw are
// chronoscale::InputError and RuntimeError; anything else escapes the target, terminates and is
// reported by libFuzzer as a crash. CHECK aborts on a broken invariant (a message that does not
// name the file, a non-finite result).
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <chronoscale/error.h>

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace chronoscale::fuzz {

// A tier-2 message must name the input (file name) it is about.
inline void CheckNames(const std::exception& e, std::string_view name) {
  const std::string_view what = e.what();
  if (what.find(name) == std::string_view::npos) {
    std::fprintf(stderr, "message does not name '%.*s': %s\n", static_cast<int>(name.size()),
                 name.data(), e.what());
    std::abort();
  }
}

inline bool FiniteNonNegative(double x) { return std::isfinite(x) && x >= 0; }

// Runs f(); InputError and RuntimeError are the expected outcomes of bad input. Returns whether
// f completed. `name`, when not empty, must appear in an InputError's message.
template <typename F>
bool Try(F&& f, std::string_view name = {}) {
  try {
    f();
    return true;
  } catch (const InputError& e) {
    if (!name.empty()) CheckNames(e, name);
  } catch (const RuntimeError&) {
  }
  return false;
}

}  // namespace chronoscale::fuzz
