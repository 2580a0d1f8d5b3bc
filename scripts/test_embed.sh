#!/usr/bin/env bash
# Builds and runs examples/embed, the out-of-tree consumer, three ways: against an installed
# tree with find_package, with pkg-config and a plain compiler line, and with add_subdirectory.
# Prints the sizes README's "Embedding tapegrad" section quotes. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/build/embed
rm -rf "$work" && mkdir -p "$work"
jobs=$(nproc)

echo "== install (static library, no tests/examples)"
cmake -S . -B "$work/lib" -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_TESTS=OFF \
      -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_CUDA=OFF >/dev/null
cmake --build "$work/lib" -j"$jobs" >/dev/null
cmake --install "$work/lib" --prefix "$work/prefix" >/dev/null

echo "== 1. find_package(tapegrad CONFIG REQUIRED)"
cmake -S examples/embed -B "$work/find_package" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/find_package" -j"$jobs" >/dev/null
"$work/find_package/embed_example"

echo "== 2. pkg-config and a plain compiler line"
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --exists tapegrad
# shellcheck disable=SC2046
g++ -O2 examples/embed/main.cpp -o "$work/embed_pkgconfig" \
    $(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs --static tapegrad)
"$work/embed_pkgconfig"

echo "== 3. add_subdirectory(tapegrad)"
cmake -S examples/embed -B "$work/add_subdirectory" -DCMAKE_BUILD_TYPE=Release \
      -DTAPEGRAD_SOURCE_DIR="$root" -DTAPEGRAD_CUDA=OFF >/dev/null
cmake --build "$work/add_subdirectory" -j"$jobs" >/dev/null
"$work/add_subdirectory/embed_example"

strip -o "$work/embed_stripped" "$work/find_package/embed_example"
echo "== sizes: libtapegrad.a $(stat -c %s "$work/prefix/lib/libtapegrad.a") bytes;" \
     "stripped consumer $(stat -c %s "$work/embed_stripped") bytes"
echo "== runtime dependencies of the consumer:"
ldd "$work/embed_stripped" | awk '{print "   ", $1}'
