// Skipping a test that cannot run here (data outside the repository, a GPU present or absent).
// CHRONOSCALE_SKIP(reason) ends the test case and marks the executable's run as skipped: the
// shared main (catch_main.cpp) then exits with kSkipReturnCode when nothing failed, and ctest,
// told SKIP_RETURN_CODE 77 (tests/CMakeLists.txt), reports the test as skipped, not passed.
// Tests that may skip carry the tag [may-skip]; CMake runs them as a ctest entry of their own
// (<executable>_may_skip), so a skip never hides the other test cases of the file.
#pragma once

#include <catch2/catch.hpp>

namespace chronoscale::test {

inline constexpr int kSkipReturnCode = 77;

inline bool& Skipped() {
  static bool skipped = false;
  return skipped;
}

}  // namespace chronoscale::test

#define CHRONOSCALE_SKIP(reason)           \
  do {                                     \
    WARN("SKIPPED: " << reason);           \
    ::chronoscale::test::Skipped() = true; \
    return;                                \
  } while (0)
