# paths.sh — fm is preloaded, and package.path reaches the project's
# scripts/ before any user code runs (so require "fm.x" works without
# require "fm" first and without LUA_PATH), both from the build tree and
# from a `cmake --install --prefix` tree. fm is no global in scripts.
. "$(dirname "$0")/lib.bash"
SRC=${FM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FM_BUILD_DIR:-$(dirname "$FMLUA")}

out=$("$FMLUA" -e 'print(type(package.preload.fm), type(require("fm")), fm)')
check "fm preloaded, not a global in scripts" "function	table	nil" "$out"
out=$("$FMLUA" -e 'print(require("fm") == require("fm"), require("fm").version ~= nil)')
check "require fm twice gives one table" "true	true" "$out"

out=$("$FMLUA" -e 'print(package.path)')
contains "build tree: scripts on package.path" "$SRC/scripts/?.lua;" "$out"
out=$(LUA_PATH="/elsewhere/?.lua" "$FMLUA" -e 'print(package.path)')
contains "LUA_PATH kept after scripts" "$SRC/scripts/?.lua;$SRC/scripts/?/init.lua;/elsewhere/?.lua" "$out"

if [ ! -d "$SRC/scripts" ]; then
    echo "skip install test: $SRC/scripts does not exist yet"
    finish
fi
PREFIX="$TMP/prefix"
if ! cmake --install "$BUILD" --prefix "$PREFIX" >"$TMP/install.log" 2>&1; then
    echo "FAIL cmake --install"; cat "$TMP/install.log"; exit 1
fi
INST="$PREFIX/bin/fmlua"
SCRIPTS="$PREFIX/share/lua/5.4"
out=$("$INST" -e 'print(package.path)')
contains "installed: its own scripts on package.path" "$SCRIPTS/?.lua;" "$out"
case "$out" in *"$SRC/scripts"*) check "installed: no source tree on path" "" "$out" ;; esac
# a probe module in the installed tree (a temp dir: the repo is untouched)
mkdir -p "$SCRIPTS/fm"
echo 'return {where = "installed"}' > "$SCRIPTS/fm/probe_cli.lua"
out=$(cd "$TMP" && "$INST" -e 'print(require("fm.probe_cli").where)')
check "installed: require fm.x before require fm" "installed" "$out"
out=$(cd "$TMP" && "$INST" -e 'print(require("fm").probe_cli.where)')
check "installed: fm.x loaded lazily" "installed" "$out"
out=$(cd "$TMP" && echo 'print(require("fm.probe_cli").where)' > s.lua && "$INST" s.lua)
check "installed: script finds fm.x" "installed" "$out"

finish
