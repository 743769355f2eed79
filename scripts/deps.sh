#!/usr/bin/env bash
# Installs the Debian 12 packages chronoscale needs (as root, or with sudo when available).
set -euo pipefail
pkgs=(build-essential cmake ninja-build ccache pkg-config
      libeigen3-dev libceres-dev libcli11-dev nlohmann-json3-dev libfmt-dev catch2 libbenchmark-dev
      qt6-base-dev libqt6opengl6-dev qt6-charts-dev qt6-svg-dev libgl-dev xvfb xauth
      libclang-rt-14-dev  # libFuzzer's FuzzedDataProvider.h, for the fuzz corpus replay in ctest
      python3-torch python3-numpy)  # tools/measure_steps.py, the measurement harness (PyTorch)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
