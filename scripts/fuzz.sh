#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz and runs each for a bounded
# time on its seed corpus in tests/fuzz_corpus/<target>.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 60 s, every target
#
# New inputs that reach new code go to build-fuzz/corpus/<target> (the seed corpus in the repo
# stays small and is not modified). A crash stops that target and leaves crash-*/leak-*/timeout-*
# files in build-fuzz/artifacts/<target>/; the script exits 1 and lists them. Copy a crasher into
# tests/fuzz_corpus/<target>/ as a regression seed once the bug is fixed. The log of each run is
# build-fuzz/logs/<target>.log (the last "stat::number_of_executed_units" line gives the count).
set -euo pipefail

seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(fuzz_csv fuzz_json fuzz_shape fuzz_session fuzz_argv)

root=$(cd "$(dirname "$0")/.." && pwd)
build=${CHRONOSCALE_FUZZ_BUILD:-$root/build-fuzz}
jobs=${CHRONOSCALE_FUZZ_BUILD_JOBS:-2}

if [[ ! -f $build/build.ninja ]]; then
  CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCHRONOSCALE_FUZZ=ON -DCHRONOSCALE_BUILD_GUI=OFF -DCHRONOSCALE_BUILD_TESTS=OFF \
    -DCHRONOSCALE_BUILD_BENCHMARKS=OFF -DCHRONOSCALE_WITH_CUDA=OFF \
    "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
    >/dev/null
fi
ninja -C "$build" -j"$jobs" "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$corpus" "$artifacts" "$build/logs"
  # Inputs up to 64 KiB (deep nesting, long lines, many columns); the JSON readers get a
  # dictionary with nesting openers and the documents' keys. The argv target's inputs are short
  # argument lists; its runs print what the CLI prints, so libFuzzer closes stdout and stderr for
  # it (crash reports still reach the log).
  extra=(-max_len=65536 -timeout=10)
  case $t in
    fuzz_json | fuzz_session) extra+=(-dict="$root/fuzz/dicts/json.dict") ;;
    fuzz_argv) extra=(-max_len=2048 -timeout=60 -close_fd_mask=3 -dict="$root/fuzz/dicts/argv.dict") ;;
  esac
  echo "== $t: ${seconds}s"
  set +e
  "$build/fuzz/$t" "$corpus" "$root/tests/fuzz_corpus/$t" \
    -max_total_time="$seconds" "${extra[@]}" -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" >"$build/logs/$t.log" 2>&1
  rc=$?
  set -e
  grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|Done [0-9]+ runs" \
    "$build/logs/$t.log" || true
  if [[ $rc -ne 0 ]]; then
    echo "$t: FAILED (exit $rc); see $build/logs/$t.log and $artifacts/"
    ls "$artifacts"
    status=1
  fi
done
exit $status
