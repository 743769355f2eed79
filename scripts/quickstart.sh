#!/usr/bin/env bash
# Installs dependencies, builds the CLI and answers a budget question: the best transformer to
# train in 24 hours on one H100, priced by a step-time model calibrated on measured H200 steps.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake --preset default
cmake --build --preset default -j "$(nproc)" --target chronoscale
./build/app/cli/chronoscale fit-time --runs tests/data/steps.csv --hardware h200-measured --out build/time_model.json
./build/app/cli/chronoscale plan --hours 24 --hardware h200-measured --time-model build/time_model.json --top 5
