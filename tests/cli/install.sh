#!/usr/bin/env bash
# install.sh — `cmake --install` into a temporary prefix, then use what it put
# there the three ways docs/install.md describes:
#   1. C: tests/install/demo.c built with `cc demo.c $(pkg-config --cflags
#      --libs fmlua)` (PKG_CONFIG_PATH at the prefix) against libfm.a and
#      include/fmlua/, run, its numbers checked; every installed header
#      compiles on its own (none includes an uninstalled *internal.h);
#   2. stock lua5.4: LUA_PATH / LUA_CPATH at the prefix, require "fm.cli"
#      before require "fm", then fm.so, whose package.path is the prefix's;
#   3. the installed fmlua runs a script on the installed modules, also after
#      the prefix is moved (the scripts are found relative to the binary).
#   bash tests/cli/install.sh path/to/fmlua   (FM_BUILD_DIR: the build tree)
source "$(dirname "$0")/lib.bash"
BUILD=${FM_BUILD_DIR:-$(dirname "$FMLUA")}
SRC=${FM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
P=$TMP/prefix
cmake --install "$BUILD" --prefix "$P" > "$TMP/install.log" 2>&1 \
  || { cat "$TMP/install.log"; echo "FAIL cmake --install"; exit 1; }

for f in bin/fmlua include/fmlua/core/fm.h include/fmlua/ops/ops.h \
         share/lua/5.4/fm/cli.lua share/lua/5.4/fm/nn/init.lua; do
  check "installed $f" yes "$([ -f "$P/$f" ] && echo yes || echo no)"
done
check "one libfm.a" 1 "$(find "$P" -name libfm.a | wc -l)"
check "no internal header installed" "" "$(find "$P/include" -name '*internal.h')"
PC=$(dirname "$(find "$P" -name fmlua.pc)")
MOD=$(dirname "$(find "$P" -name fm.so)")
check "fm.so under lib/.../lua/5.4" yes "$([[ $MOD == "$P"/lib*/lua/5.4 ]] && echo yes || echo no)"

# 1. C against the installed engine (an ASan build's libfm.a needs ASan)
san=()
[ "${FM_SANITIZE:-OFF}" = ON ] && san=(-fsanitize=address,undefined)
export PKG_CONFIG_PATH=$PC
check "pkg-config version" "$(sed -n 's/^project(fmlua VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")" \
  "$(pkg-config --modversion fmlua)"
read -r -a flags <<< "$(pkg-config --cflags --libs fmlua)"
(cd "$P/include/fmlua" && find . -name '*.h' | sed 's|^\./|#include "|; s|$|"|') > "$TMP/all.c"
echo 'int main(void) { return 0; }' >> "$TMP/all.c"
out=$(${CC:-cc} -std=c11 -Wall -Wextra -Werror "${san[@]}" "$TMP/all.c" "${flags[@]}" -o "$TMP/all" 2>&1)
check "every installed header compiles" "" "$out"
out=$(${CC:-cc} -std=c11 -Wall -Wextra -Werror "${san[@]}" "$SRC/tests/install/demo.c" \
      "${flags[@]}" -o "$TMP/demo" 2>&1)
check "demo.c builds with pkg-config" "" "$out"
out=$(cd "$TMP" && ./demo 2>&1); rc=$?
check "demo exit status" 0 "$rc"
check "demo output" "fmlua $(pkg-config --modversion fmlua)
gemm 5 14 14 50
shape error shape mismatch: matmul: shapes (2, 3) and (2, 3) do not multiply into (2, 2)
assign 1 0 2 total 5" "$out"

# 2. stock lua5.4 (an ASan fm.so needs the ASan runtime loaded first)
pre=()
if [ "${FM_SANITIZE:-OFF}" = ON ]; then
  pre=(env "LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so) $(${CC:-cc} -print-file-name=libubsan.so)")
fi
S=$P/share/lua/5.4
out=$(cd "$TMP" && LUA_PATH="$S/?.lua;$S/?/init.lua;;" LUA_CPATH="$MOD/?.so;;" "${pre[@]}" lua5.4 -e '
  local cli = require "fm.cli"
  print("fm loaded by fm.cli:", package.loaded.fm ~= nil)
  local o = cli.parse({"--n", "5"}, {n = 2, x = 0.5})
  local fm = require "fm"
  print(o.n, o.x, fm.linspace(0, 1, o.n):sum():item())
  print(package.searchpath("fm.train", package.path))' 2>&1)
check "lua5.4: fm.cli, then fm" "fm loaded by fm.cli:	false
5	0.5	2.5
$S/fm/train.lua" "$out"

# fm.so and the modules in unrelated directories (as LuaRocks may deploy
# them): fm.so takes the modules' directory from package.path
mkdir -p "$TMP/split/c" "$TMP/split/l"
cp "$MOD/fm.so" "$TMP/split/c/" && cp -r "$S/fm" "$TMP/split/l/"
out=$(cd "$TMP" && WANT="$TMP/split/l/?.lua;$TMP/split/l/?/init.lua;" LUA_PATH="$TMP/split/l/?.lua;;" \
      LUA_CPATH="$TMP/split/c/?.so;;" "${pre[@]}" lua5.4 -e '
  local fm, want = require "fm", os.getenv "WANT"
  print(package.path:sub(1, #want) == want, fm.nn ~= nil)' 2>&1)
check "lua5.4: fm.so apart from its modules" "true	true" "$out"

# 3. the installed fmlua: modules from the prefix, in place and moved
cat > "$TMP/script.lua" <<'LUA'
local o = require("fm.cli").parse(arg, {n = 3})
print(fm == nil, require("fm").linspace(0, 1, o.n):sum():item())
print(package.searchpath("fm.cli", package.path))
LUA
out=$(cd "$TMP" && "$P/bin/fmlua" script.lua --n 5 2>&1)
check "installed fmlua runs a script" "true	2.5
$S/fm/cli.lua" "$out"
out=$(cd "$TMP" && "$P/bin/fmlua" -m fm.sweep --help 2>&1 | head -n 1)
contains "installed fmlua -m fm.sweep --help" "usage" "$out"
mv "$P" "$TMP/moved"
out=$(cd "$TMP" && PATH="$TMP/moved/bin:$PATH" fmlua script.lua 2>&1)
check "moved prefix: fmlua on PATH finds its modules" "true	1.5
$TMP/moved/share/lua/5.4/fm/cli.lua" "$out"
finish
