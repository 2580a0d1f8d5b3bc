#!/usr/bin/env bash
# Installs what is missing, builds tapegrad and its tests into build/, runs every test with
# CTest. Exits non-zero on any failure. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake pkg-config libxsimd-dev doctest-dev libbenchmark-dev zlib1g-dev python3-numpy

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_TESTS=ON -DTAPEGRAD_BUILD_BENCH=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900
bash scripts/test_embed.sh
