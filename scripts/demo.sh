#!/usr/bin/env bash
# The main job: installs what is missing, builds Release, and runs the gradient-check table
# of every op on every CPU backend.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake libxsimd-dev zlib1g-dev

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_EXAMPLES=ON >/dev/null
cmake --build build -j"$(nproc)" --target tapegrad_gradcheck
./build/examples/gradcheck/tapegrad_gradcheck
