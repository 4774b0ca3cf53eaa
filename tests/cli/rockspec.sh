#!/usr/bin/env bash
# rockspec.sh — fmlua-<version>-1.rockspec parses (as LuaRocks loads it: a
# Lua chunk run in an empty environment) and agrees with the project: its
# version is CMakeLists.txt's project() version, which fmlua --version
# prints (FM_VERSION is generated from it: engine/core/fm_version.h.in),
# its license is LICENSE's, its build is CMake's with the tests off and the
# install directories LuaRocks deploys from. `luarocks lint`
# too when luarocks is installed (it is not a requirement).
#   bash tests/cli/rockspec.sh path/to/fmlua
source "$(dirname "$0")/lib.bash"
SRC=${FM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$SRC"
version=$(sed -n 's/^project(fmlua VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
check "fmlua --version prints the project version" "fmlua $version" \
  "$("$FMLUA" --version | cut -d' ' -f1-2)"
spec=fmlua-$version-1.rockspec
check "$spec exists" yes "$([ -f "$spec" ] && echo yes || echo no)"
out=$(lua5.4 - "$spec" 2>&1 <<'LUA'
local env = {}
local chunk = assert(loadfile(arg[1], "t", env))
chunk()
local b = env.build or {}
local vars = b.variables or {}
print(env.package, env.version, env.description and env.description.license, b.type,
      vars.BUILD_TESTING, vars.CMAKE_INSTALL_PREFIX, vars.FM_LUA_CMOD_INSTALL_DIR,
      vars.FM_SCRIPTS_INSTALL_RELDIR)
for _, d in ipairs(env.dependencies or {}) do print(d) end
LUA
)
check "rockspec fields" "fmlua	$version-1	GPL-3.0-or-later	cmake	OFF	\$(PREFIX)	\$(LIBDIR)	\$(LUADIR)
lua >= 5.4, < 5.5
luafilesystem" "$out"
check "LICENSE is the GPL, version 3" yes \
  "$(grep -q 'GNU GENERAL PUBLIC LICENSE' LICENSE && grep -q 'Version 3, 29 June 2007' LICENSE && echo yes || echo no)"
# the CMake variables the rockspec sets exist in the project
for v in BUILD_TESTING FM_LUA_CMOD_INSTALL_DIR FM_SCRIPTS_INSTALL_RELDIR FM_INSTALL_ENGINE; do
  check "CMake defines $v" yes "$(cat CMakeLists.txt cmake/*.cmake | grep -q "$v" && echo yes || echo no)"
done
if command -v luarocks > /dev/null; then
  out=$(luarocks lint "$spec" 2>&1); rc=$?
  check "luarocks lint $spec" "0 " "$rc $out"
else
  echo "skip luarocks lint (luarocks not installed)"
fi
finish
