/* main.c — the fmlua command line, compatible with the standalone lua 5.4
 * (Lua manual section 7): fmlua [options] [script [args]], plus
 *   -m mod [args]   run require("mod").main(arg), like python -m;
 *   -h, --help      print the usage;
 *   --version       print the version (as -v) and exit.
 * The module fm is preloaded (package.preload.fm) and required once before
 * anything runs, so that package.path already reaches scripts/ (fm.cli,
 * fm.sweep, ...). Scripts get no global fm; the REPL does (repl.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "cli.h"
#include "core/fm.h"
#include "dist/dist.h"

int luaopen_fm(lua_State *L);

/* bits of what collect_args found */
enum {
    HAS_ERROR = 1, /* bad option: usage, exit 1 */
    HAS_I = 2,     /* -i */
    HAS_V = 4,     /* -v */
    HAS_E = 8,     /* -e */
    HAS_NOENV = 16, /* -E */
    HAS_M = 32,    /* -m: argv[script] names the module */
    HAS_HELP = 64, /* -h, --help */
    HAS_VERSION = 128 /* --version: print it and exit */
};

static int exit_code = EXIT_SUCCESS; /* set by the integer a main() returns */

static void print_usage(FILE *out, const char *badoption)
{
    if (badoption) {
        fprintf(out, "%s: ", cli_progname);
        if (badoption[1] == 'e' || badoption[1] == 'l' || badoption[1] == 'm')
            fprintf(out, "'%s' needs argument\n", badoption);
        else
            fprintf(out, "unrecognized option '%s'\n", badoption);
    }
    fprintf(out,
        "usage: %s [options] [script [args]]\n"
        "Available options are:\n"
        "  -e stat   execute string 'stat'\n"
        "  -i        enter interactive mode after executing 'script'\n"
        "  -l mod    require library 'mod' into global 'mod'\n"
        "  -l g=mod  require library 'mod' into global 'g'\n"
        "  -m mod    run require('mod').main(arg) with the remaining args\n"
        "  -v        show version information\n"
        "  --version show version information and exit\n"
        "  -E        ignore environment variables\n"
        "  -W        turn warnings on\n"
        "  -h        show this help\n"
        "  --        stop handling options\n"
        "  -         stop handling options and execute stdin\n",
        cli_progname);
    fflush(out);
}

/* An option that takes an argument (-e, -l, -m): either glued ("-lmod") or
 * the next argv. Advances *i past it; 0 if it is missing. */
static int take_argument(char **argv, int *i)
{
    if (argv[*i][2] != '\0')
        return 1;
    (*i)++;
    return argv[*i] != NULL && argv[*i][0] != '-';
}

/* One option argv[*i]: its bit, HAS_ERROR, or 0 for -W. */
static int option_bits(char **argv, int *i)
{
    const char *a = argv[*i];
    int alone = a[2] == '\0';
    switch (a[1]) {
    case 'E': return alone ? HAS_NOENV : HAS_ERROR;
    case 'W': return alone ? 0 : HAS_ERROR;
    case 'i': return alone ? HAS_I | HAS_V : HAS_ERROR; /* -i implies -v */
    case 'v': return alone ? HAS_V : HAS_ERROR;
    case 'h': return alone ? HAS_HELP : HAS_ERROR;
    case 'e': return take_argument(argv, i) ? HAS_E : HAS_ERROR;
    case 'l': return take_argument(argv, i) ? 0 : HAS_ERROR;
    default: return HAS_ERROR;
    }
}

/* Scans the options. *first becomes the index of the script (or of the
 * module name after -m), 0 if there is none, or the bad option's index. */
static int collect_args(char **argv, int *first)
{
    int args = 0;
    if (argv[0] == NULL) {
        *first = -1;
        return 0;
    }
    if (argv[0][0])
        cli_progname = argv[0];
    for (int i = 1; argv[i] != NULL; i++) {
        *first = i;
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') /* script, or "-" for stdin */
            return args;
        if (strcmp(a, "--help") == 0)
            return HAS_HELP;
        if (strcmp(a, "--version") == 0)
            return HAS_VERSION;
        if (a[1] == '-') {
            if (a[2] != '\0')
                return HAS_ERROR;
            *first = i + 1;
            return args;
        }
        if (a[1] == 'm') {
            if (a[2] != '\0')
                return args | HAS_M; /* -mmod: the module name is glued */
            if (argv[i + 1] == NULL || argv[i + 1][0] == '-')
                return HAS_ERROR;
            *first = i + 1;
            return args | HAS_M;
        }
        int bits = option_bits(argv, &i);
        if (bits == HAS_ERROR)
            return HAS_ERROR; /* *first is the bad option */
        args |= bits;
    }
    *first = 0;
    return args;
}

/* arg[0] is the script (or module name), its arguments positive, the
 * interpreter and options negative (lua.c's createargtable). */
static void create_arg_table(lua_State *L, char **argv, int argc, int script)
{
    int base = script > 0 ? script : 0;
    lua_createtable(L, argc - base - 1 > 0 ? argc - base - 1 : 0, base + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - base);
    }
    lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status)
{
    if (status == LUA_OK)
        status = cli_docall(L, 0, 0);
    return cli_report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name)
{
    return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* "g=mod" or "mod": global g (or mod) = require "mod". */
static int dolibrary(lua_State *L, const char *spec)
{
    const char *eq = strchr(spec, '=');
    const char *modname = eq ? eq + 1 : spec;
    lua_getglobal(L, "require");
    lua_pushstring(L, modname);
    int status = cli_docall(L, 1, 1);
    if (status == LUA_OK) {
        lua_pushlstring(L, spec, eq ? (size_t)(eq - spec) : strlen(spec));
        lua_insert(L, -2);
        lua_setglobal(L, lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    return cli_report(L, status);
}

/* Runs -e, -l and -W in order; 0 if one of them failed. */
static int run_args(lua_State *L, char **argv, int n)
{
    for (int i = 1; i < n; i++) {
        int option = argv[i][1];
        if (option == 'W') {
            lua_warning(L, "@on", 0);
            continue;
        }
        if (option != 'e' && option != 'l')
            continue;
        const char *extra = argv[i][2] ? argv[i] + 2 : argv[++i];
        int status = option == 'e' ? dostring(L, extra, "=(command line)")
                                   : dolibrary(L, extra);
        if (status != LUA_OK)
            return 0;
    }
    return 1;
}

/* Pushes arg[1..#arg]; returns how many. */
static int push_args(lua_State *L)
{
    if (lua_getglobal(L, "arg") != LUA_TTABLE)
        luaL_error(L, "'arg' is not a table");
    int n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++)
        lua_rawgeti(L, -i, i);
    lua_remove(L, -n - 1);
    return n;
}

static int handle_script(lua_State *L, char **argv)
{
    const char *fname = argv[0];
    if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0)
        fname = NULL; /* stdin */
    int status = luaL_loadfile(L, fname);
    if (status == LUA_OK)
        status = cli_docall(L, push_args(L), 0);
    return cli_report(L, status);
}

/* The body of -m: main = require(name).main; return main(arg). */
static int module_main(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getglobal(L, "require");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1) ||
        lua_getfield(L, -1, "main") != LUA_TFUNCTION)
        return luaL_error(L, "module '%s' has no main function "
                          "(-m runs require('%s').main(arg))", name, name);
    lua_getglobal(L, "arg");
    lua_call(L, 1, 1);
    return 1;
}

static int handle_module(lua_State *L, const char *name)
{
    lua_pushcfunction(L, module_main);
    lua_pushstring(L, name);
    int status = cli_docall(L, 1, 1);
    if (status == LUA_OK) {
        if (lua_isinteger(L, -1))
            exit_code = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    return cli_report(L, status);
}

static int handle_luainit(lua_State *L)
{
    const char *name = "=LUA_INIT_" LUA_VERSION_MAJOR "_" LUA_VERSION_MINOR;
    const char *init = getenv(name + 1);
    if (init == NULL) {
        name = "=LUA_INIT";
        init = getenv(name + 1);
    }
    if (init == NULL)
        return LUA_OK;
    if (init[0] == '@')
        return dochunk(L, luaL_loadfile(L, init + 1));
    return dostring(L, init, name);
}

/* package.preload.fm = luaopen_fm, then require "fm" once so that
 * package.path reaches the scripts directory before any user code. */
static int open_fm(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_fm);
    lua_setfield(L, -2, "fm");
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "fm");
    int status = cli_docall(L, 1, 0);
    return cli_report(L, status);
}

/* What runs after the options: the script or module, then maybe the REPL. */
static int run_main(lua_State *L, char **argv, int script, int args)
{
    if (args & HAS_M) {
        const char *a = argv[script]; /* "-mmod" or the "mod" of "-m mod" */
        if (handle_module(L, a[0] == '-' ? a + 2 : a) != LUA_OK)
            return 0;
    } else if (script > 0 && handle_script(L, argv + script) != LUA_OK) {
        return 0;
    }
    if (args & HAS_I) {
        cli_repl(L);
    } else if (script < 1 && !(args & (HAS_E | HAS_V))) {
        if (isatty(0)) {
            cli_print_version();
            cli_repl(L);
        } else if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK) {
            return 0;
        }
    }
    return 1;
}

static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = (char **)lua_touserdata(L, 2);
    int script = 0;
    int args = collect_args(argv, &script);
    luaL_checkversion(L);
    if (args == HAS_ERROR) {
        print_usage(stderr, argv[script]);
        return 0;
    }
    if (args & (HAS_HELP | HAS_VERSION)) {
        if (args & HAS_HELP)
            print_usage(stdout, NULL);
        else
            cli_print_version();
        lua_pushboolean(L, 1);
        return 1;
    }
    if (args & HAS_V)
        cli_print_version();
    if (args & HAS_NOENV) {
        lua_pushboolean(L, 1);
        lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
    }
    luaL_openlibs(L);
    create_arg_table(L, argv, argc, script);
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCGEN, 0, 0);
    if (open_fm(L) != LUA_OK)
        return 0;
    if (!(args & HAS_NOENV) && handle_luainit(L) != LUA_OK)
        return 0;
    if (!run_args(L, argv, script > 0 ? script : argc))
        return 0;
    lua_pushboolean(L, run_main(L, argv, script, args));
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        cli_message(argv[0], "cannot create state: not enough memory");
        return EXIT_FAILURE;
    }
    lua_gc(L, LUA_GCSTOP);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 0);
    int ok = lua_toboolean(L, -1);
    cli_report(L, status);
    int code = ok && status == LUA_OK ? exit_code : EXIT_FAILURE;
    if (!ok && cli_interrupted())
        code = 130; /* stopped by Ctrl-C: 128 + SIGINT, no traceback (run.c) */
    /* a failed rank of an MPI job ends the whole job, after its message
     * (docs/dist.md, "Errors"); a no-op in a single process */
    if (code != 0)
        fm_dist_abort(code);
    lua_close(L);
    return code;
}
