/* complete.c — readline tab completion over the live Lua state: global names
 * and keywords, fields after "a.b." (walking nested tables, so fm.nn. works,
 * including fm's lazily loaded scripts/fm modules), and methods after "x:"
 * or "x." (the value's fields plus its metatable's __index tables; when
 * __index is a function, the metatable's `methods` table, as the tensor's).
 * Names starting with "_" (fm._autograd) are internal: offered only once the
 * user has typed the "_". Lookups run in protected mode: a failing __index
 * completes nothing instead of crashing. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/readline.h>

#include <lauxlib.h>

#include "cli.h"

#define MAX_META_DEPTH 5

static lua_State *comp_L;
static int comp_ref = LUA_NOREF; /* the candidates of the last completion */

static const char *const keywords[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for",
    "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat",
    "return", "then", "true", "until", "while", NULL};

static int is_alpha(char c)
{
    return c == '_' || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

static int is_ident(const char *s, size_t n)
{
    if (n == 0 || !is_alpha(s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_alpha(s[i]) && !(s[i] >= '0' && s[i] <= '9'))
            return 0;
    return 1;
}

/* Candidates live in the table at index `out` as name -> kind, where kind
 * is the character appended after a unique match ("." tables, "(" calls). */
static void add(lua_State *L, int out, const char *name, const char *kind)
{
    lua_pushstring(L, kind);
    lua_setfield(L, out, name);
}

static const char *kind_of(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TTABLE: return ".";
    case LUA_TFUNCTION: return "(";
    default: return "";
    }
}

/* Adds the string keys of the table at t that start with part; only
 * functions when methods, no "__" names when skip_meta, and no "_" names
 * unless part starts with "_". */
static void add_keys(lua_State *L, int out, int t, const char *part,
                     int methods, int skip_meta)
{
    size_t plen = strlen(part);
    t = lua_absindex(L, t);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        size_t n;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &n) : NULL;
        int ok = k && is_ident(k, n) && strncmp(k, part, plen) == 0 &&
                 (!methods || lua_isfunction(L, -1)) &&
                 !(skip_meta && strncmp(k, "__", 2) == 0) &&
                 (k[0] != '_' || part[0] == '_');
        if (ok)
            add(L, out, k, kind_of(L, -1));
        lua_pop(L, 1);
    }
}

/* When __index (on top of the metatable) is a function, the methods it
 * serves: the metatable's `methods` table (the tensor's, bindings/core/
 * tensor.c) if there is one, else the metatable's own names. */
static void add_function_index_keys(lua_State *L, int out, const char *part,
                                    int methods)
{
    if (lua_getfield(L, -2, "methods") == LUA_TTABLE)
        add_keys(L, out, -1, part, methods, 1);
    else
        add_keys(L, out, -3, part, methods, 1);
    lua_pop(L, 1);
}

/* The metatable chain of the value at v: each __index table, ending at a
 * function __index (add_function_index_keys). */
static void add_meta_keys(lua_State *L, int out, int v, const char *part,
                          int methods)
{
    lua_pushvalue(L, v);
    for (int depth = 0; depth < MAX_META_DEPTH && lua_getmetatable(L, -1); depth++) {
        lua_getfield(L, -1, "__index");
        int indexed = lua_istable(L, -1);
        if (indexed)
            add_keys(L, out, -1, part, methods, 1);
        else if (lua_isfunction(L, -1))
            add_function_index_keys(L, out, part, methods);
        lua_remove(L, indexed ? -2 : -3); /* keep the next level on top */
        if (!indexed)
            break;
    }
    lua_pop(L, 1);
}

/* fm.<name> for every scripts/fm/<name>.lua (fm loads them on first use). */
static void add_fm_scripts(lua_State *L, int out, const char *part)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "fm.scripts_dir");
    const char *dir = lua_tostring(L, -1);
    DIR *d = dir ? opendir(lua_pushfstring(L, "%s/fm", dir)) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".lua") == 0 &&
            is_ident(e->d_name, n - 4) && strncmp(e->d_name, part, strlen(part)) == 0 &&
            (e->d_name[0] != '_' || part[0] == '_')) {
            lua_pushlstring(L, e->d_name, n - 4);
            add(L, out, lua_tostring(L, -1), ".");
            lua_pop(L, 1);
        }
    }
    if (d)
        closedir(d);
    lua_settop(L, out);
}

static int is_loaded_fm(lua_State *L, int v)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "fm");
    int same = lua_rawequal(L, -1, v);
    lua_pop(L, 2);
    return same;
}

/* Pushes the value of the dotted path expr[0..len) ("fm.nn"), or nil. */
static void push_path(lua_State *L, const char *expr, size_t len)
{
    lua_pushglobaltable(L);
    while (len > 0) {
        const char *dot = memchr(expr, '.', len);
        size_t n = dot ? (size_t)(dot - expr) : len;
        if (!is_ident(expr, n) || !(lua_istable(L, -1) || lua_isuserdata(L, -1))) {
            lua_pop(L, 1);
            lua_pushnil(L);
            return;
        }
        lua_pushlstring(L, expr, n);
        lua_gettable(L, -2);
        lua_remove(L, -2);
        expr += dot ? n + 1 : n;
        len -= dot ? n + 1 : n;
    }
}

/* collect(text) -> {completion = kind}: runs under lua_pcall. */
static int collect(lua_State *L)
{
    const char *text = luaL_checkstring(L, 1);
    const char *sep = NULL;
    for (const char *p = text; *p; p++)
        if (*p == '.' || *p == ':')
            sep = p;
    lua_newtable(L); /* 2: name -> kind */
    if (!sep) {
        for (int i = 0; keywords[i]; i++)
            if (strncmp(keywords[i], text, strlen(text)) == 0)
                add(L, 2, keywords[i], " ");
        lua_pushglobaltable(L);
        add_keys(L, 2, -1, text, 0, 0);
        add_meta_keys(L, 2, lua_gettop(L), text, 0);
        lua_settop(L, 2);
        return 1;
    }
    push_path(L, text, (size_t)(sep - text)); /* 3 */
    const char *part = sep + 1;
    int methods = *sep == ':';
    if (lua_istable(L, 3))
        add_keys(L, 2, 3, part, methods, 0);
    add_meta_keys(L, 2, 3, part, methods);
    if (lua_istable(L, 3) && !methods && is_loaded_fm(L, 3))
        add_fm_scripts(L, 2, part);
    lua_settop(L, 2);
    return 1;
}

/* readline generator: the candidates, prefixed by the text before the
 * last "." or ":". */
static char *generator(const char *text, int state)
{
    static size_t keep;
    lua_State *L = comp_L;
    if (state == 0) {
        const char *p = text, *sep = NULL;
        for (; *p; p++)
            if (*p == '.' || *p == ':')
                sep = p;
        keep = sep ? (size_t)(sep - text) + 1 : 0;
        lua_rawgeti(L, LUA_REGISTRYINDEX, comp_ref);
        lua_pushnil(L); /* iteration key kept on the stack between calls */
    }
    if (!lua_next(L, -2)) {
        lua_pop(L, 1);
        return NULL;
    }
    const char *name = lua_tostring(L, -2), *kind = lua_tostring(L, -1);
    rl_completion_append_character = kind ? *kind : '\0';
    lua_pop(L, 1);
    char *out = malloc(keep + strlen(name) + 1);
    if (out) {
        memcpy(out, text, keep);
        strcpy(out + keep, name);
    }
    return out;
}

static char **attempt(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    lua_State *L = comp_L;
    int top = lua_gettop(L);
    rl_attempted_completion_over = 1; /* never fall back to file names */
    lua_pushcfunction(L, collect);
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_settop(L, top);
        return NULL;
    }
    luaL_unref(L, LUA_REGISTRYINDEX, comp_ref);
    comp_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    char **matches = rl_completion_matches(text, generator);
    if (matches && matches[1]) /* several: let readline append nothing */
        rl_completion_append_character = '\0';
    lua_settop(L, top);
    return matches;
}

void cli_complete_init(lua_State *L)
{
    comp_L = L;
    rl_attempted_completion_function = attempt;
    rl_completer_word_break_characters = " \t\n\"\\'`@$><=;|&{(+-*/%^~#,[]}";
    rl_basic_word_break_characters = rl_completer_word_break_characters;
}
