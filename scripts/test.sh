#!/usr/bin/env bash
# Installs dependencies, builds everything (Release, Ninja) and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake --preset default
cmake --build --preset default -j "$(nproc)"
QT_QPA_PLATFORM=offscreen ctest --preset default -j "$(nproc)" --timeout 900
