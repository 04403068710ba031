#!/usr/bin/env bash
# Installs the Debian packages kiln builds with. Idempotent: when everything is
# present it only checks (no apt-get update), so it is quick on a warm machine.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config
  libopenblas-openmp-dev   # OpenMP build of OpenBLAS: its threads are our OpenMP threads, never a second pool
  doctest-dev libstb-dev nlohmann-json3-dev libcli11-dev
  libboost-context-dev     # fibers for the SIMT emulator (one per CUDA thread)
  clang-14 libclang-rt-14-dev libomp-14-dev   # libFuzzer targets (tests/fuzz/run.sh, CI's fuzz smoke)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
