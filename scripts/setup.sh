#!/usr/bin/env bash
# Installs the Debian 12 packages chiprt needs (only those missing), then configures and builds.
# Usage: scripts/setup.sh [BUILD_DIR] [extra cmake args...]
# CHIPRT_BUILD_TARGETS="t1 t2 ..." builds only those targets (and what they need); unset, all.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config git python3
  libxxhash-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libelf-dev
  libgtest-dev libgmock-dev libbenchmark-dev libtbb-dev xtensor-dev libgraphviz-dev
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
  python3-dev pybind11-dev python3-pybind11 python3-numpy python3-pytest python3-pytest-xdist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build=${1:-build}; shift || true
cmake -S . -B "$build" -G Ninja "$@" >/dev/null
targets=()
for t in ${CHIPRT_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
