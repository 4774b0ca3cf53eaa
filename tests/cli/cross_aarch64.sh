#!/usr/bin/env bash
# cross_aarch64.sh — every engine/**/*.c compiles (-c, -Werror) for aarch64
# with Debian's cross compiler: the x86-only target_clones stay behind
# FM_TARGET_CLONES (engine/core/clones_internal.h). The third-party headers
# (OpenBLAS, LAPACKE, cairo, cJSON, zlib, giflib) are the host's, reached
# through a directory of links to them only, so the cross compiler's own C
# library headers are the ones used. Compiling, not linking: no aarch64
# libraries are needed. SKIPs (exit 0) without aarch64-linux-gnu-gcc
# (apt-get install gcc-aarch64-linux-gnu; not a CI requirement).
#   bash tests/cli/cross_aarch64.sh path/to/fmlua
source "$(dirname "$0")/lib.bash"
SRC=${FM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# the build tree's generated headers (core/fm_version.h)
GEN=${FM_BUILD_DIR:-$(dirname "$FMLUA")}/include
CC=aarch64-linux-gnu-gcc
if ! command -v "$CC" > /dev/null; then
  echo "SKIP: $CC not installed (apt-get install gcc-aarch64-linux-gnu)"; exit 0
fi
inc=$TMP/include
mkdir -p "$inc"
for h in cblas.h openblas_config.h lapacke.h lapack.h lapacke_config.h lapacke_mangling.h \
         zlib.h zconf.h gif_lib.h; do
  for d in /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/x86_64-linux-gnu /usr/include; do
    [ -e "$d/$h" ] && { ln -sf "$d/$h" "$inc/$h"; break; }
  done
done
ln -s /usr/include/cjson "$inc/cjson"
# engine/dist/mpi*.c: the host's Open MPI headers (mpicc knows where they are)
mpi_inc=()
command -v mpicc > /dev/null && for d in $(mpicc --showme:incdirs); do mpi_inc+=(-I"$d"); done
# every engine file; without MPI's headers, engine/dist/mpi*.c (built only with MPI) stay out
sources() {
  if [ ${#mpi_inc[@]} -gt 0 ]; then find "$SRC/engine" -name '*.c' | sort
  else find "$SRC/engine" -name '*.c' ! -path '*/engine/dist/mpi*' | sort; fi
}
failed=()
while IFS= read -r f; do
  "$CC" -std=gnu11 -O0 -Wall -Wextra -Werror -fno-math-errno -fno-trapping-math -c \
        -I"$SRC/engine" -I"$GEN" -I"$inc" -I/usr/include/cairo "${mpi_inc[@]}" "$f" -o "$TMP/o.o" 2> "$TMP/err" \
    || { failed+=("${f#"$SRC"/}"); head -n 3 "$TMP/err"; }
done < <(sources)
n=$(sources | wc -l)
echo "compiled $((n - ${#failed[@]})) of $n engine files for aarch64"
check "engine files that do not compile for aarch64" "" "${failed[*]}"
check "the last object is aarch64" yes \
  "$(file "$TMP/o.o" | grep -q 'ARM aarch64' && echo yes || echo no)"
finish
