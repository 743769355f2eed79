// Products of user-given counts, checked before they are formed: the one helper for them (a grid
// of widths x depths, batch x heads x seq x dim elements). Instead of wrapping, a product beyond
// `limit` is an InputError naming what it counts and the limit.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string_view>

#include "chronoscale/error.h"

namespace chronoscale {

// The product of `factors` (each >= 0), or InputError "<what> = a x b x ... is more than
// <limit>" when it would exceed `limit` (never computed past it, so it cannot overflow).
inline int64_t CheckedProduct(std::initializer_list<int64_t> factors, std::string_view what,
                              int64_t limit = std::numeric_limits<int64_t>::max()) {
  int64_t p = 1;
  std::string text;
  for (int64_t f : factors) text += (text.empty() ? "" : " x ") + std::to_string(f);
  for (int64_t f : factors) {
    if (f < 0) throw InputError(fmt::format("{} = {}: a factor is negative", what, text));
    if (f != 0 && p > limit / f) {
      throw InputError(fmt::format("{} = {} is more than {}", what, text, limit));
    }
    p *= f;
  }
  return p;
}

}  // namespace chronoscale
