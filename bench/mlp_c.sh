#!/bin/sh
# Builds and runs bench/mlp_c against the engine library of a build tree.
# Usage: bench/mlp_c.sh [threads (0 = default)] [seconds per repeat] [all|gemm|train|euler]
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${FM_BUILD_DIR:-$root/build}
cmake --build "$build" --target fm_engine -j2 >/dev/null
cc -O3 -Wall -Wextra -Werror -fno-math-errno -I"$root/engine" -I"$build/include" \
   "$here/mlp_c.c" "$build/libfm.a" \
   $(pkg-config --libs openblas cairo libcjson) -lgif -lm -o "$build/mlp_c"
exec "$build/mlp_c" "$@"
