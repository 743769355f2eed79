#!/usr/bin/env bash
# Builds the test suite with AddressSanitizer + UndefinedBehaviorSanitizer (the `asan` preset of
# CMakePresets.json: RelWithDebInfo, no GUI, no benchmarks, no CUDA) into build-asan and runs it.
# Any sanitizer report fails the test that triggered it (UBSan does not recover; ASan and LSan
# abort), so a green run means no memory error, leak or undefined behaviour on the tests' paths.
#
#   scripts/sanitize.sh [ctest args...]      e.g. scripts/sanitize.sh -R cli
#
# CHRONOSCALE_JOBS sets the build parallelism (default: the number of CPUs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${CHRONOSCALE_JOBS:-$(nproc)}

cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"

# detect_leaks: LSan runs at exit of every test and of every chronoscale the CLI tests start.
# halt_on_error/abort_on_error: the first report fails the test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The python tests (harness, calibration loop) time PyTorch, not our code: run in test.sh only.
ctest --preset asan -j "$jobs" --timeout 3000 -LE python "$@"
