#!/usr/bin/env bash
# Builds and runs examples/embed, the out-of-tree consumer, every way docs/embedding.md
# lists: against an installed static library (find_package; pkg-config and a
# plain compiler line), against an installed shared library (the same two), with
# add_subdirectory, and with FetchContent from this checkout's git repository. Checks the
# package's optional `cuda` component, and prints the sizes and runtime dependencies docs/embedding.md
# quotes. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/build/embed
rm -rf "$work" && mkdir -p "$work"
jobs=$(nproc)
quiet() { "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log"; return 1; }; }

# install_tapegrad NAME [cmake args...]: builds the library alone and installs it in $work/NAME.
install_tapegrad() {
  local name=$1; shift
  quiet cmake -S . -B "$work/lib-$name" -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_TESTS=OFF \
        -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_CUDA=OFF "$@"
  quiet cmake --build "$work/lib-$name" -j"$jobs"
  quiet cmake --install "$work/lib-$name" --prefix "$work/$name"
}

# consume_installed NAME [pkg-config flags...]: the two ways in through an installed tree.
consume_installed() {
  local name=$1; shift
  echo "== $name: find_package(tapegrad CONFIG REQUIRED)"
  quiet cmake -S examples/embed -B "$work/find_package-$name" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$work/$name"
  grep -q "without the CUDA backend" "$work/last.log"  # this build has no CUDA backend
  quiet cmake --build "$work/find_package-$name" -j"$jobs"
  "$work/find_package-$name/embed_example"

  echo "== $name: pkg-config and a plain compiler line"
  local pc="$work/$name/lib/pkgconfig"
  PKG_CONFIG_PATH=$pc pkg-config --exists tapegrad
  # shellcheck disable=SC2046
  g++ -O2 examples/embed/main.cpp -o "$work/pkgconfig-$name" \
      $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs "$@" tapegrad)
  LD_LIBRARY_PATH="$work/$name/lib" "$work/pkgconfig-$name"
}

echo "== install: static library (no tests, examples or benchmarks)"
install_tapegrad static
consume_installed static --static

echo "== install: shared library (BUILD_SHARED_LIBS=ON)"
install_tapegrad shared -DBUILD_SHARED_LIBS=ON
consume_installed shared
# Captured first, then matched: under pipefail `ldd | grep -q` fails at random, because grep
# exits at the first match and ldd then dies of SIGPIPE.
linked=$(ldd "$work/find_package-shared/embed_example")
grep -q "libtapegrad.so" <<<"$linked" || { echo "embed_example is not linked to libtapegrad.so:"; echo "$linked"; exit 1; }

echo "== the optional cuda component"
mkdir -p "$work/components"
cat >"$work/components/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(components LANGUAGES CXX)
find_package(tapegrad CONFIG REQUIRED COMPONENTS ${WANT})
CMAKE
for want in cuda nosuchthing; do
  if cmake -S "$work/components" -B "$work/components/b-$want" -DWANT=$want \
        -DCMAKE_PREFIX_PATH="$work/static" >"$work/last.log" 2>&1; then
    echo "find_package(tapegrad COMPONENTS $want) succeeded on a build without it"; exit 1
  fi
  grep -q "component '$want'" "$work/last.log" || { cat "$work/last.log"; exit 1; }
  echo "   COMPONENTS $want: refused, naming the component"
done

echo "== add_subdirectory(tapegrad)"
quiet cmake -S examples/embed -B "$work/add_subdirectory" -DCMAKE_BUILD_TYPE=Release \
      -DTAPEGRAD_SOURCE_DIR="$root" -DTAPEGRAD_CUDA=OFF
quiet cmake --build "$work/add_subdirectory" -j"$jobs"
"$work/add_subdirectory/embed_example"
no_extras() {  # a subproject builds the library only: no tests, examples or benchmarks
  for extra in tests examples bench; do
    [ ! -e "$1/$extra" ] || { echo "subproject build $1 configured $extra"; exit 1; }
  done
}
no_extras "$work/add_subdirectory/tapegrad"

echo "== FetchContent from this repository's HEAD ($root)"
quiet cmake -S examples/embed -B "$work/fetch_content" -DCMAKE_BUILD_TYPE=Release \
      -DTAPEGRAD_GIT="$root" -DTAPEGRAD_GIT_TAG="$(git -C "$root" rev-parse HEAD)" \
      -DTAPEGRAD_CUDA=OFF
quiet cmake --build "$work/fetch_content" -j"$jobs"
"$work/fetch_content/embed_example"
no_extras "$work/fetch_content/_deps/tapegrad-build"

strip -o "$work/embed_stripped" "$work/find_package-static/embed_example"
strip -o "$work/embed_shared_stripped" "$work/find_package-shared/embed_example"
size() { stat -c %s "$1"; }
echo "== sizes (bytes): libtapegrad.a $(size "$work/static/lib/libtapegrad.a");" \
     "stripped static consumer $(size "$work/embed_stripped");" \
     "libtapegrad.so $(size "$(readlink -f "$work/shared/lib/libtapegrad.so")");" \
     "stripped shared consumer $(size "$work/embed_shared_stripped")"
echo "== runtime dependencies of the static consumer:"
ldd "$work/embed_stripped" | awk '{print "   ", $1}'
