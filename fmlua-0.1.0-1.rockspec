-- fmlua-0.1.0-1.rockspec — the fm module (fm.so and the Lua modules fm.*)
-- and the fmlua executable, built with CMake (docs/install.md):
--   luarocks --lua-version=5.4 make fmlua-0.1.0-1.rockspec   -- from a checkout
-- The C libraries come from the system (Debian: tools/packages/build.txt).
rockspec_format = "3.0"
package = "fmlua"
version = "0.1.0-1"
source = {
   -- the repository's public address is not fixed yet: set url (and tag)
   -- when it is; `luarocks make` from a checkout does not read it
   url = "git+https://example.invalid/fmlua.git",
   tag = "v0.1.0",
}
description = {
   summary = "Flow matching and diffusion models in Lua, on a C11 engine",
   detailed = [[
fmlua is a C11 engine (tensors, autograd, neural networks, probability paths,
ODE/SDE integrators, metrics, plots) with Lua 5.4 bindings: require "fm" from
a stock lua5.4, or the fmlua executable (the lua command line plus a REPL).
]],
   license = "GPL-3.0-or-later",
   labels = { "machine-learning", "tensor", "diffusion", "flow-matching" },
}
dependencies = {
   "lua >= 5.4, < 5.5",
   "luafilesystem",   -- fm.run's run directories
}
external_dependencies = {
   -- headers only: LuaRocks' library search misses Debian's multiarch and
   -- alternatives directories; CMake finds and checks the libraries
   LAPACKE = { header = "lapacke.h" },
   CAIRO = { header = "cairo/cairo.h" },
   CJSON = { header = "cjson/cJSON.h" },
   GIF = { header = "gif_lib.h" },
   ZLIB = { header = "zlib.h" },
   READLINE = { header = "readline/readline.h" },
}
build = {
   type = "cmake",
   variables = {
      CMAKE_BUILD_TYPE = "Release",
      CMAKE_INSTALL_PREFIX = "$(PREFIX)",
      BUILD_TESTING = "OFF",
      -- the C library (libfm.a, headers, fmlua.pc) is for cmake --install
      FM_INSTALL_ENGINE = "OFF",
      -- fm.so and fm/*.lua where LuaRocks deploys C and Lua modules from
      FM_LUA_CMOD_INSTALL_DIR = "$(LIBDIR)",
      FM_SCRIPTS_INSTALL_RELDIR = "$(LUADIR)",
   },
}
