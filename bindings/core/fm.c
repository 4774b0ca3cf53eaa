/* fm.c — luaopen_fm: builds the fm table from every binding file, and makes
 * the pure-Lua helpers in scripts/ reachable (package.path) and loadable as
 * fields: fm.nn, fm.optim, ... are required from scripts/fm/<name>.lua on
 * first use. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/lfm.h"
#include "core/modules.h"

FML_MODULES(FML_DECLARE_OPEN)

void fmL_setfuncs(lua_State *L, const luaL_Reg *funcs)
{
    luaL_setfuncs(L, funcs, 0);
}

void fmL_submodule(lua_State *L, const char *name, const luaL_Reg *funcs)
{
    if (lua_getfield(L, -1, name) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, name);
    }
    luaL_setfuncs(L, funcs, 0);
    lua_pop(L, 1);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* dir holds the fm modules (dir/fm/prelude.lua): share/lua/5.4 may exist
 * with other packages' modules only. */
static int has_fm_scripts(const char *dir)
{
    char probe[4096 + 32];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/fm/prelude.lua", dir);
    return stat(probe, &st) == 0 && S_ISREG(st.st_mode);
}

/* <prefix>/share/lua/5.4 (FM_SCRIPTS_INSTALL_RELDIR) for the prefix this
 * binary was installed in, found by walking up from its directory (bin/fmlua,
 * lib/lua/5.4/fm.so, lib/<triplet>/lua/5.4/fm.so) to a directory whose
 * share/lua/5.4 holds fm/prelude.lua, so that `cmake --install --prefix P`
 * works wherever P is. An absolute FM_SCRIPTS_INSTALL_RELDIR (the rockspec's)
 * does not move with the prefix: then the tree's standard share/lua/5.4,
 * where LuaRocks deploys the modules. NULL if none. */
static const char *relocated_scripts_dir(const char *binary)
{
    static char dir[4096];
    char up[sizeof dir];
    const char *tail = FM_SCRIPTS_INSTALL_RELDIR[0] == '/' ? "share/lua/5.4"
                                                          : FM_SCRIPTS_INSTALL_RELDIR;
    snprintf(up, sizeof up, "%s", binary);
    for (int level = 0; level < 6; level++) {
        char *slash = strrchr(up, '/');
        if (!slash || slash == up)
            return NULL;
        *slash = '\0';
        int n = snprintf(dir, sizeof dir, "%s/%s", up, tail);
        if (n < 0 || (size_t)n >= sizeof dir)
            return NULL;
        if (has_fm_scripts(dir))
            return dir;
    }
    return NULL;
}

/* The absolute path of the file holding this code into out (PATH_MAX): dladdr
 * names fm.so as dlopen was given it (maybe relative to the working
 * directory) and the fmlua executable as argv[0] (maybe a bare name found on
 * PATH, then /proc/self/exe says where it is). 0 if neither works. */
static int binary_path(char *out)
{
    Dl_info info;
    if (!dladdr((void *)binary_path, &info) || !info.dli_fname)
        return 0;
    if (strchr(info.dli_fname, '/') && realpath(info.dli_fname, out))
        return 1;
    ssize_t n = readlink("/proc/self/exe", out, PATH_MAX - 1);
    if (n <= 0)
        return 0;
    out[n] = '\0';
    return 1;
}

/* The directory of the fm modules that package.path (LUA_PATH) reaches, as
 * when LuaRocks deploys them into its tree: <dir>/fm/prelude.lua. NULL if
 * none. */
static const char *searched_scripts_dir(lua_State *L)
{
    static char dir[4096];
    const char *found = NULL;
    int top = lua_gettop(L);
    if (luaL_dostring(L, "local p = package.searchpath('fm.prelude', package.path)\n"
                         "return p and p:match('^(.*)/fm/prelude%.lua$')") == LUA_OK &&
        lua_type(L, -1) == LUA_TSTRING &&
        (size_t)snprintf(dir, sizeof dir, "%s", lua_tostring(L, -1)) < sizeof dir)
        found = dir;
    lua_settop(L, top);
    return found;
}

/* The scripts directory: the source tree's when this binary lives in the build
 * tree, the installed one otherwise (found from this binary's path, else at
 * the configured prefix, else on package.path), else the source tree's. */
static const char *scripts_dir(lua_State *L)
{
    char binary[PATH_MAX];
    int in_build = 0;
    const char *relocated = NULL;
    if (binary_path(binary)) {
        in_build = strncmp(binary, FM_BINARY_DIR, strlen(FM_BINARY_DIR)) == 0;
        relocated = relocated_scripts_dir(binary);
    }
    if (in_build && is_dir(FM_SCRIPTS_BUILD_DIR))
        return FM_SCRIPTS_BUILD_DIR;
    if (relocated)
        return relocated;
    if (has_fm_scripts(FM_SCRIPTS_INSTALL_DIR))
        return FM_SCRIPTS_INSTALL_DIR;
    const char *searched = searched_scripts_dir(L);
    return searched ? searched : FM_SCRIPTS_BUILD_DIR;
}

/* package.path = <scripts>/?.lua;<scripts>/?/init.lua;<old path> (once). */
static void add_scripts_path(lua_State *L)
{
    const char *dir = scripts_dir(L);
    lua_getglobal(L, "package");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_getfield(L, -1, "path");
    const char *old = lua_tostring(L, -1);
    /* both patterns: fm/autograd/ and fm/nn/ are init.lua packages, and a
     * LUA_PATH may name the directory's ?.lua only */
    lua_pushfstring(L, "%s/?.lua;", dir);
    lua_pushfstring(L, "%s/?/init.lua;", dir);
    if (!old || !strstr(old, lua_tostring(L, -2)) ||
        !strstr(old, lua_tostring(L, -1))) {
        lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, old ? old : "");
        lua_setfield(L, -5, "path");
    }
    lua_pop(L, 4);
    lua_pushstring(L, dir);
    lua_setfield(L, LUA_REGISTRYINDEX, "fm.scripts_dir");
}

/* __index of fm: fm.<name> -> require("fm.<name>"), cached in fm. */
static int fm_lazy_index(lua_State *L)
{
    const char *key = lua_tostring(L, 2);
    if (!key)
        return 0;
    lua_getglobal(L, "require");
    lua_pushfstring(L, "fm.%s", key);
    /* only names that exist as scripts/fm/<key>.lua: anything else is nil */
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushvalue(L, -3);
    lua_getfield(L, -3, "path");
    lua_call(L, 2, 1);
    int found = !lua_isnil(L, -1);
    lua_pop(L, 2);
    if (!found) {
        lua_pop(L, 2);
        return 0;
    }
    lua_call(L, 1, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

#define FML_CALL_OPEN(name) fmL_open_##name(L);

/* Tensor temporaries of a few MB are made and freed at a high rate. glibc
 * serves such sizes with mmap and gives them back at once, so every new
 * temporary page-faults on first touch (about 3x the cost of the arithmetic
 * for a 1M-element elementwise op). Keep blocks up to 32 MiB on the heap and
 * trim it only past 64 MiB of free space at the top: freed tensor memory is
 * reused, and resident memory stays bounded (tests/cli/memory.sh). */
static void tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

int luaopen_fm(lua_State *L)
{
    tune_malloc();
    add_scripts_path(L);
    lua_newtable(L);
    lua_pushliteral(L, FM_VERSION);
    lua_setfield(L, -2, "version");
    FML_MODULES(FML_CALL_OPEN)
    lua_newtable(L);
    lua_pushcfunction(L, fm_lazy_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    /* so that scripts/fm modules can require "fm" while it is being opened */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "fm");
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "fm.prelude");
    lua_call(L, 1, 0);
    return 1;
}
