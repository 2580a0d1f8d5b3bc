#!/usr/bin/env bash
# Installs what is missing, builds tapegrad and its tests into build/, runs every test with
# CTest. Exits non-zero on any failure. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake pkg-config libxsimd-dev doctest-dev libbenchmark-dev zlib1g-dev python3-numpy

jobs=$(nproc)
# The CUDA backend on the CPU emulator: test_cuda, the emulator's own tests and the programs'
# --backend cuda runs execute every kernel here. (scripts/gpu_check.sh runs them on a GPU.)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_TESTS=ON -DTAPEGRAD_BUILD_BENCH=ON \
      -DTAPEGRAD_CUDA=OFF -DTAPEGRAD_CUDA_EMULATOR=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900
bash scripts/test_embed.sh
