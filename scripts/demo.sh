#!/usr/bin/env bash
# The main job: installs what is missing (Fashion-MNIST included), builds Release, prints the
# gradient-check table of every op on every CPU backend, then trains the DCGAN on Fashion-MNIST
# (the embedded shapes set when the data package cannot be had) for a wall-clock budget and says
# where the sample grids, metrics and report are.
#
# The budget: training must end within 10 minutes on this machine's 2 cores. A short probe run
# measures the training speed (the steps/s on its last progress line, which leaves out start-up),
# then the steps that fit in TRAIN_SECONDS are split into EPOCHS epochs over a --limit subset, so
# the report shows one sample grid per epoch:
#   steps = floor(TRAIN_SECONDS * steps_per_s),  per_epoch = floor(steps / EPOCHS),
#   limit = per_epoch * BATCH  (examples; the epoch then has exactly per_epoch batches).
# Environment: BUILD_DIR (default build), OUT_DIR (default out; the run goes to OUT_DIR/dcgan),
# TRAIN_SECONDS (default 480).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake libxsimd-dev zlib1g-dev doctest-dev  # doctest: configuring with the tests (the default)
data=fashion-mnist
ensure_packages dataset-fashion-mnist || { echo "dataset-fashion-mnist unavailable: training on the embedded shapes set"; data=shapes; }

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target tapegrad_gradcheck dcgan
"$build/examples/gradcheck/tapegrad_gradcheck"

TRAIN_SECONDS=${TRAIN_SECONDS:-480}  # of the 10 minutes: 8 for the steps, the rest for the probe,
                                     # data loading, sample grids, checkpoints and the report
EPOCHS=8
BATCH=64
PROBE_STEPS=8
dcgan=$build/examples/dcgan/dcgan
out=${OUT_DIR:-out}/dcgan

rate=$("$dcgan" --data "$data" --batch "$BATCH" --epochs 1 --steps "$PROBE_STEPS" --out "$out"_probe |
       grep -o '[0-9.]* steps/s' | tail -n 1 | cut -d' ' -f1)
steps=$(awk -v t="$TRAIN_SECONDS" -v r="$rate" 'BEGIN { print int(t * r) }')
per_epoch=$(( steps / EPOCHS ))
(( per_epoch >= 1 )) || per_epoch=1
limit=$(( per_epoch * BATCH ))
echo "probe: ${rate} steps/s at batch ${BATCH} -> ${TRAIN_SECONDS} s hold $steps steps:" \
     "$EPOCHS epochs of $per_epoch batches over the first $limit examples of $data"

start=$(date +%s)
"$dcgan" --data "$data" --batch "$BATCH" --epochs "$EPOCHS" --limit "$limit" --out "$out"
echo "trained in $(( $(date +%s) - start )) s"
echo "sample grids (samples_epoch001.png ...), metrics.csv, losses.svg and report.html are in $out/"
echo "open $out/report.html"
