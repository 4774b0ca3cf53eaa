/* repl.c — the read-eval-print loop, as lua.c's: a line is first tried as
 * "return <line>" (so expressions print their values), then as a statement,
 * reading continuation lines while the chunk is incomplete (its syntax error
 * ends in "<eof>"). A line starting with "?" asks for help: "?x" prints
 * fm.help.line("x") (scripts/fm/help.lua). Results are echoed by
 * fm.pretty.echo (plain tables as depth-limited constructors). GNU readline
 * gives editing, history (~/.fmlua_history or $FMLUA_HISTORY) and tab
 * completion (complete.c). Ctrl-C at the prompt abandons the line; during a
 * computation it interrupts it (run.c). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>

#include "cli.h"
#include "core/fm.h"

#define EOFMARK "<eof>"
#define HISTORY_MAX 1000

enum { LINE_EOF = -1, LINE_CANCEL = -2, LINE_HELP = -3 };

static volatile sig_atomic_t prompt_interrupted;
static char history_path[4096];

static void on_prompt_sigint(int sig)
{
    (void)sig;
    prompt_interrupted = 1;
}

/* readline's input function: a Ctrl-C at the prompt (read fails with EINTR)
 * accepts the line so that readline returns; the caller sees
 * prompt_interrupted and drops the statement. */
static int repl_getc(FILE *in)
{
    for (;;) {
        if (prompt_interrupted) {
            rl_point = rl_end;
            rl_redisplay();
            fputs("^C", rl_outstream); /* the line stays visible, as in bash */
            return '\n';
        }
        unsigned char c;
        ssize_t n = read(fileno(in), &c, 1);
        if (n == 1)
            return c;
        if (n == 0 || errno != EINTR)
            return EOF;
    }
}

static void history_init(void)
{
    const char *path = getenv("FMLUA_HISTORY");
    const char *home = getenv("HOME");
    if (path && *path)
        snprintf(history_path, sizeof history_path, "%s", path);
    else if (home && *home)
        snprintf(history_path, sizeof history_path, "%s/.fmlua_history", home);
    if (!history_path[0])
        return;
    stifle_history(HISTORY_MAX);
    if (read_history(history_path) != 0)
        write_history(history_path); /* create it; failure is fine */
}

/* Keeps a non-empty entry in memory and in the file (write errors ignored:
 * a read-only home must not stop the REPL). */
static void history_save(const char *line)
{
    if (line[0] == '\0')
        return;
    add_history(line);
    if (history_path[0] && append_history(1, history_path) == 0)
        history_truncate_file(history_path, HISTORY_MAX);
}

/* _PROMPT / _PROMPT2 as in lua; the prompt stays on the stack. */
static const char *get_prompt(lua_State *L, int firstline)
{
    if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TNIL)
        return firstline ? "> " : ">> ";
    const char *p = luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2);
    return p;
}

/* Reads a line and pushes it ("=x" becomes "return x" on a first line).
 * Returns 1, LINE_HELP (a first line "?x": "x" pushed), LINE_EOF or
 * LINE_CANCEL (nothing pushed for those two). */
static int pushline(lua_State *L, int firstline)
{
    const char *prompt = get_prompt(L, firstline);
    prompt_interrupted = 0; /* a Ctrl-C between lines cancels nothing */
    char *b = readline(prompt);
    lua_pop(L, 1);
    if (prompt_interrupted) {
        prompt_interrupted = 0;
        free(b);
        return LINE_CANCEL;
    }
    if (b == NULL)
        return LINE_EOF;
    int help = firstline && b[0] == '?';
    if (help) {
        history_save(b);
        lua_pushstring(L, b + 1);
    } else if (firstline && b[0] == '=') {
        lua_pushfstring(L, "return %s", b + 1);
    } else {
        lua_pushstring(L, b);
    }
    free(b);
    return help ? LINE_HELP : 1;
}

/* help_line(src) -> require("fm.help").line(src): the text "?src" shows. */
static int help_line(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "fm.help");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "line");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

static int incomplete(lua_State *L, int status)
{
    size_t len, mark = sizeof(EOFMARK) - 1;
    if (status != LUA_ERRSYNTAX)
        return 0;
    const char *msg = lua_tolstring(L, -1, &len);
    if (len < mark || strcmp(msg + len - mark, EOFMARK) != 0)
        return 0;
    lua_pop(L, 1);
    return 1;
}

/* Compiles "return <line>;"; leaves the function, or the line alone. */
static int addreturn(lua_State *L)
{
    const char *line = lua_tostring(L, -1);
    const char *retline = lua_pushfstring(L, "return %s;", line);
    int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
    if (status == LUA_OK) {
        lua_remove(L, -2);
        history_save(line);
    } else {
        lua_pop(L, 2);
    }
    return status;
}

/* Adds continuation lines while the statement is incomplete. */
static int multiline(lua_State *L)
{
    for (;;) {
        size_t len;
        const char *line = lua_tolstring(L, 1, &len);
        int status = luaL_loadbuffer(L, line, len, "=stdin");
        if (!incomplete(L, status)) {
            history_save(line);
            return status;
        }
        int got = pushline(L, 0);
        if (got != 1) {
            history_save(line);
            return got;
        }
        lua_pushliteral(L, "\n");
        lua_insert(L, -2);
        lua_concat(L, 3);
    }
}

/* Leaves a compiled chunk (or an error message) alone on the stack; for a
 * help line, help_line and its argument (LINE_HELP). */
static int loadline(lua_State *L)
{
    lua_settop(L, 0);
    int got = pushline(L, 1);
    if (got == LINE_HELP) {
        lua_pushcfunction(L, help_line);
        lua_insert(L, 1);
    }
    if (got != 1)
        return got;
    int status = addreturn(L);
    if (status != LUA_OK)
        status = multiline(L);
    if (status == LINE_CANCEL || status == LINE_EOF) {
        lua_settop(L, 0);
        return status == LINE_EOF ? LINE_EOF : LINE_CANCEL;
    }
    lua_remove(L, 1);
    return status;
}

/* echo(...): require("fm.pretty").echo(...). */
static int echo(lua_State *L)
{
    int n = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "fm.pretty");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "echo");
    lua_insert(L, 1);
    lua_pop(L, 1);
    lua_call(L, n, 0);
    return 0;
}

/* Prints the results on the stack with echo, or with the global print
 * (tostring) if echo fails. */
static void print_results(lua_State *L)
{
    int n = lua_gettop(L);
    if (n == 0)
        return;
    luaL_checkstack(L, LUA_MINSTACK + n, "too many results to print");
    for (int i = 1; i <= n; i++)
        lua_pushvalue(L, i);
    lua_pushcfunction(L, echo);
    lua_insert(L, n + 1);
    if (lua_pcall(L, n, 0, 0) == LUA_OK) {
        lua_settop(L, 0);
        return;
    }
    lua_pop(L, 1); /* echo's error: print as lua does */
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    if (lua_pcall(L, n, 0, 0) != LUA_OK)
        cli_message(cli_progname, lua_pushfstring(L, "error calling 'print' (%s)",
                                                  lua_tostring(L, -1)));
}

/* Sets the global name to require(module) unless it is set already. */
static void set_global(lua_State *L, const char *name, const char *module)
{
    if (lua_getglobal(L, name) == LUA_TNIL) {
        lua_getglobal(L, "require");
        lua_pushstring(L, module);
        if (cli_report(L, cli_docall(L, 1, 1)) == LUA_OK)
            lua_setglobal(L, name);
    }
    lua_settop(L, 0);
}

/* The REPL has fm and help as globals (scripts do not: they use fm.help). */
static void set_repl_globals(lua_State *L)
{
    set_global(L, "fm", "fm");
    set_global(L, "help", "fm.help");
}

static void repl_loop(lua_State *L)
{
    int status;
    while ((status = loadline(L)) != LINE_EOF) {
        if (status == LINE_CANCEL)
            continue;
        fm_interrupt_clear();
        if (status == LINE_HELP)
            status = cli_docall(L, 1, LUA_MULTRET);
        else if (status == LUA_OK)
            status = cli_docall(L, 0, LUA_MULTRET);
        if (status == LUA_OK)
            print_results(L);
        else
            cli_report(L, status);
    }
}

void cli_repl(lua_State *L)
{
    const char *oldprogname = cli_progname;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_prompt_sigint; /* no SA_RESTART: read gets EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    cli_progname = NULL;
    rl_readline_name = "fmlua";
    rl_catch_signals = 0;
    rl_getc_function = repl_getc;
    history_init();
    set_repl_globals(L);
    cli_complete_init(L);
    repl_loop(L);
    lua_settop(L, 0);
    fputc('\n', stdout);
    fflush(stdout);
    sigaction(SIGINT, &old, NULL);
    cli_progname = oldprogname;
}
