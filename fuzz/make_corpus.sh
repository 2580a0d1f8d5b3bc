#!/usr/bin/env bash
# Regenerates the committed seed corpora in fuzz/corpus: tapegrad's own files (fuzz_make_seeds,
# built by scripts/fuzz.sh --build-only) and NumPy's (make_corpus.py, python3-numpy).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fuzz.sh --build-only
rm -rf fuzz/corpus
"${TAPEGRAD_FUZZ_BUILD:-build-fuzz}/fuzz/fuzz_make_seeds" fuzz/corpus
/usr/bin/python3 fuzz/make_corpus.py fuzz/corpus
ls -l fuzz/corpus/*
