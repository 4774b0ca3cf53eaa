/* system.c — small process-level helpers: a monotonic wall clock for timing
 * (Lua's os.clock is CPU time summed over threads), the resident set size,
 * the number of online processors, the engine's thread budget, the process
 * id, and what fm.run needs from the system: an exclusive file lock
 * (engine/io/lock.h) and the infix of temporary names (engine/io/fileio.h).
 *
 *   fm.pid() -> this process's id
 *   fm._lock(path) -> lock | nil, message, holder_pid   (lock:release(),
 *       also on __gc and __close; releasing removes the lock file)
 *   fm._tmp_infix() -> ".tmp-<pid>@<host>-"
 *   fm._clean_temps(dir) -> n   removes dead writers' temporaries in dir
 *   fm._terminal(fd) -> is_tty, columns, rows   (the size from ioctl
 *       TIOCGWINSZ, nil when fd is not a terminal or reports none; used by
 *       fm.plot.term, docs/plots.md) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "core/lfm.h"
#include "core/pool.h"
#include "io/fileio.h"
#include "io/lock.h"

#define FML_LOCK "fm.Lock"

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

static int l_pid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

static int l_terminal(lua_State *L)
{
    lua_Integer fd = luaL_checkinteger(L, 1);
    luaL_argcheck(L, fd >= 0 && fd <= 1024, 1, "a file descriptor number expected");
    int tty = isatty((int)fd);
    lua_pushboolean(L, tty);
    struct winsize ws;
    if (!tty || ioctl((int)fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0)
        return 1;
    lua_pushinteger(L, ws.ws_col);
    lua_pushinteger(L, ws.ws_row);
    return 3;
}

static int l_tmp_infix(lua_State *L)
{
    char buf[160];
    lua_pushstring(L, fm_tmp_infix(buf, sizeof buf));
    return 1;
}

static int l_clean_temps(lua_State *L)
{
    lua_pushinteger(L, fm_clean_stale_temps(luaL_checkstring(L, 1)));
    return 1;
}

static int l_lock(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    fm_lock *lk = lua_newuserdatauv(L, sizeof *lk, 0);
    lk->fd = -1;
    lk->path = NULL;
    luaL_setmetatable(L, FML_LOCK);
    long holder = 0;
    if (fm_lock_acquire(lk, path, &holder) != FM_OK) {
        lua_pushnil(L);
        lua_pushstring(L, fm_last_error());
        lua_pushinteger(L, holder);
        return 3;
    }
    return 1;
}

static int lock_release(lua_State *L)
{
    fm_lock_release(luaL_checkudata(L, 1, FML_LOCK));
    return 0;
}

static int lock_held(lua_State *L)
{
    fm_lock *lk = luaL_checkudata(L, 1, FML_LOCK);
    lua_pushboolean(L, lk->fd >= 0);
    return 1;
}

static const luaL_Reg system_functions[] = {
    {"clock", l_clock}, {"memory", l_memory}, {"nproc", l_nproc},
    {"threads", l_threads}, {"pid", l_pid}, {"_lock", l_lock},
    {"_tmp_infix", l_tmp_infix}, {"_clean_temps", l_clean_temps},
    {"_terminal", l_terminal}, {NULL, NULL}};

void fmL_open_system(lua_State *L)
{
    if (luaL_newmetatable(L, FML_LOCK)) {
        static const luaL_Reg methods[] = {{"release", lock_release}, {"held", lock_held},
                                           {NULL, NULL}};
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, lock_release);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, lock_release);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    fmL_setfuncs(L, system_functions);
}
