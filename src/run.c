/* run.c — running a chunk as lua.c does: a message handler that appends a
 * traceback, and SIGINT turned into a Lua error "interrupted!" by a hook
 * (Lua code) plus fm_interrupt_request() (long loops inside the engine).
 * An error that a SIGINT caused is reported without a traceback, and a
 * script or module it stopped makes fmlua exit 130 (128 + SIGINT, as a shell
 * reports a process killed by Ctrl-C; src/main.c). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "cli.h"
#include "core/fm.h"

const char *cli_progname = "fmlua";

static lua_State *running_L; /* the state a SIGINT should stop */
static volatile sig_atomic_t got_sigint; /* during the current cli_docall */

/* No SA_RESTART: a blocking read returns EINTR (the REPL relies on it). */
static void set_signal(int sig, void (*handler)(int), struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, old);
}

/* The hook a SIGINT installs: runs at the next Lua instruction or call. An
 * engine loop that noticed the interruption first has already raised its own
 * error ("ode.solve: interrupted at t = ...") and cleared the flag: then the
 * hook, which would otherwise fire on the call of the message handler and
 * replace that message, does nothing. */
static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    if (!fm_interrupted())
        return;
    lua_pushliteral(L, "interrupted!"); /* no position: the user stopped it */
    lua_error(L);
}

/* A signal handler may not touch the Lua state except by lua_sethook (which
 * the manual allows from signal handlers); a second Ctrl-C kills the process
 * as with lua. */
static void on_sigint(int sig)
{
    int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    set_signal(sig, SIG_DFL, NULL);
    got_sigint = 1;
    fm_interrupt_request();
    lua_sethook(running_L, stop_hook, mask, 1);
}

void cli_message(const char *pname, const char *msg)
{
    if (pname)
        fprintf(stderr, "%s: ", pname);
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
}

int cli_report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        cli_message(cli_progname, msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
    }
    return status;
}

int cli_interrupted(void)
{
    return got_sigint;
}

/* Error objects that are not strings use __tostring when they have one. An
 * error raised because of Ctrl-C gets no traceback: the user stopped the
 * program, nothing went wrong in it. */
static int msghandler(lua_State *L)
{
    if (got_sigint)
        return 1;
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)",
                              luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int cli_docall(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    struct sigaction old;
    running_L = L;
    got_sigint = 0;
    fm_interrupt_clear();
    set_signal(SIGINT, on_sigint, &old);
    int status = lua_pcall(L, narg, nres, base);
    sigaction(SIGINT, &old, NULL); /* SIG_DFL, or the REPL's prompt handler */
    lua_sethook(L, NULL, 0, 0); /* a Ctrl-C that came too late to fire */
    lua_remove(L, base);
    return status;
}

void cli_print_version(void)
{
    printf("fmlua %s with %s\n", FM_VERSION, LUA_COPYRIGHT);
    fflush(stdout);
}
