/* system.c — small process-level helpers: a monotonic wall clock for timing
 * (Lua's os.clock is CPU time summed over threads), the resident set size,
 * the number of online processors, and the engine's thread budget. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/lfm.h"
#include "core/pool.h"

/* fm.clock() -> seconds (monotonic, sub-microsecond resolution) */
static int l_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
    return 1;
}

/* fm.memory() -> resident MiB now, peak resident MiB (from /proc/self/status) */
static int l_memory(lua_State *L)
{
    FILE *f = fopen("/proc/self/status", "r");
    double rss = -1, hwm = -1;
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        long kb;
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) rss = kb / 1024.0;
        if (sscanf(line, "VmHWM: %ld", &kb) == 1) hwm = kb / 1024.0;
    }
    if (f)
        fclose(f);
    lua_pushnumber(L, rss);
    lua_pushnumber(L, hwm);
    return 2;
}

static int l_nproc(lua_State *L)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    lua_pushinteger(L, n > 0 ? n : 1);
    return 1;
}

/* fm.threads() -> the threads the fused MLP and optimisers use (pool.h:
 * OPENBLAS_NUM_THREADS, at most the CPUs this process may run on) */
static int l_threads(lua_State *L)
{
    lua_pushinteger(L, fm_pool_threads());
    return 1;
}

static const luaL_Reg system_functions[] = {
    {"clock", l_clock}, {"memory", l_memory}, {"nproc", l_nproc},
    {"threads", l_threads}, {NULL, NULL}};

void fmL_open_system(lua_State *L)
{
    fmL_setfuncs(L, system_functions);
}
