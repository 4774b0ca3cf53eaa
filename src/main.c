/* main.c — placeholder: runs a script with fm preloaded (replaced by the
 * lua-compatible command line and REPL). */
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>

int luaopen_fm(lua_State *L);

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_fm);
    lua_setfield(L, -2, "fm");
    lua_pop(L, 1);
    int status = argc > 1 ? luaL_dofile(L, argv[1]) : 0;
    if (status)
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return status ? 1 : 0;
}
