// The Catch2 main of every test executable but test_gui: exits with kSkipReturnCode (77) when a
// test case skipped (CHRONOSCALE_SKIP) and none failed, so that ctest reports it as skipped.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "skip.h"

int main(int argc, char* argv[]) {
  const int result = Catch::Session().run(argc, argv);
  if (result == 0 && chronoscale::test::Skipped()) return chronoscale::test::kSkipReturnCode;
  return result;
}
