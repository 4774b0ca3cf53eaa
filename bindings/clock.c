/* clock.c — fm.clock(): monotonic wall-clock seconds (engine/clock.c). */
#include "lfm.h"
#include "clock.h"

static int l_clock(lua_State *L)
{
    lua_pushnumber(L, fm_clock_now());
    return 1;
}

void fmL_open_clock(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"clock", l_clock}, {NULL, NULL}};
    fmL_setfuncs(L, funcs);
}
