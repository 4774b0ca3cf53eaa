/* io.c — fm.save_npy / fm.load_npy, fm.load_idx and fm.safetensors over
 * engine/npy, engine/idx and engine/safetensors. Tensors are read into
 * Lua-owned memory (fmL_newtensor); C arrays of names/tensors live in
 * userdata, and the safetensors reader is a userdata with __gc, so a Lua
 * error at any point leaks nothing. */
#include <stdlib.h>
#include <string.h>

#include "core/lfm.h"
#include "io/idx.h"
#include "io/npy.h"
#include "io/safetensors.h"

#define FML_ST_READER "fm.SafetensorsReader"

/* The names a save accepts for how to store a tensor: the dtype the tensor
 * must have and the stored type (docs/files.md). */
static const char *const STORE_NAMES[] = {"int32", "float16", "f16", "bfloat16", "bf16",
    "bool", "int64", "float32", "float64", "uint8", NULL};
static const struct {
    fm_dtype dtype;
    fm_stored stored;
} STORE_AS[] = {
    {FM_INT64, FM_STORED_I32},     {FM_FLOAT32, FM_STORED_F16},
    {FM_FLOAT32, FM_STORED_F16},   {FM_FLOAT32, FM_STORED_BF16},
    {FM_FLOAT32, FM_STORED_BF16},  {FM_UINT8, FM_STORED_BOOL},
    {FM_INT64, FM_STORED_NATIVE},  {FM_FLOAT32, FM_STORED_NATIVE},
    {FM_FLOAT64, FM_STORED_NATIVE}, {FM_UINT8, FM_STORED_NATIVE},
};
_Static_assert(sizeof STORE_AS / sizeof *STORE_AS ==
               sizeof STORE_NAMES / sizeof *STORE_NAMES - 1, "one row per name");

/* The index into STORE_AS of the string at idx, or an error saying what of
 * and naming the choices. */
static int store_index(lua_State *L, int idx, const char *what)
{
    const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;
    for (int i = 0; s && STORE_NAMES[i]; i++)
        if (strcmp(s, STORE_NAMES[i]) == 0)
            return i;
    return luaL_error(L, "safetensors.save: %s must be one of \"f16\" (\"float16\"), "
                      "\"bf16\" (\"bfloat16\"), \"bool\", \"int32\", or a tensor's own dtype, "
                      "got %s%s%s", what, s ? "'" : "", s ? s : luaL_typename(L, idx),
                      s ? "'" : "");
}

/* fm.save_npy(path, t [, as]): as "int32" (int64 -> '<i4'), "float16"
 * (float32 -> '<f2'), "bool" (uint8 -> '|b1') or the tensor's own dtype. */
static int l_save_npy(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    fm_tensor *t = fmL_checktensor(L, 2);
    fm_stored stored = FM_STORED_NATIVE;
    if (!lua_isnoneornil(L, 3)) {
        int o = luaL_checkoption(L, 3, NULL, STORE_NAMES);
        luaL_argcheck(L, t->dtype == STORE_AS[o].dtype &&
                      STORE_AS[o].stored != FM_STORED_BF16, 3, lua_pushfstring(L,
                      "a %s tensor cannot be saved as %s%s", fm_dtype_name(t->dtype),
                      STORE_NAMES[o], STORE_AS[o].stored == FM_STORED_BF16 ?
                      " (.npy has no bfloat16; use safetensors)" : ""));
        stored = STORE_AS[o].stored;
    }
    fmL_check(L, fm_npy_write(path, t, stored), "save_npy");
    return 0;
}

/* fm.load_npy(path) -> tensor */
static int l_load_npy(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    fm_npy_header h;
    fmL_check(L, fm_npy_read_header(path, &h), "load_npy");
    fm_tensor *t = fmL_newtensor(L, "load_npy", h.dtype, h.ndim, h.shape);
    fmL_check(L, fm_npy_read_data(path, t), "load_npy");
    return 1;
}

/* fm.load_idx(path) -> uint8 tensor of the file's dimensions (IDX, plain or
 * gzip-compressed: MNIST, Fashion-MNIST) */
static int l_load_idx(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    fm_idx_header h;
    fmL_check(L, fm_idx_read_header(path, &h), "load_idx");
    fm_tensor *t = fmL_newtensor(L, "load_idx", FM_UINT8, h.ndim, h.shape);
    fmL_check(L, fm_idx_read_data(path, t), "load_idx");
    return 1;
}

/* ---- safetensors ---------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Collects the string keys of the table at idx and their values (tensors,
 * or strings when !tensors) into userdata-held arrays, keys sorted. Pushes
 * two userdata (keys, values) that own the arrays; the strings stay alive in
 * the table at idx. Returns the count. */
static int collect(lua_State *L, int idx, const char *what, const char ***keys,
                   const void ***vals, bool tensors)
{
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        n++;
        lua_pop(L, 1);
    }
    *keys = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
    *vals = lua_newuserdatauv(L, sizeof(void *) * (size_t)(n + 1), 0);
    int i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "safetensors.save: %s keys must be strings, got %s", what,
                       luaL_typename(L, -2));
        size_t len;
        (*keys)[i] = lua_tolstring(L, -2, &len);
        if (strlen((*keys)[i]) != len)
            luaL_error(L, "safetensors.save: %s key '%s...' holds a NUL character", what,
                       (*keys)[i]);
        i++;
        lua_pop(L, 1);
    }
    qsort(*keys, (size_t)n, sizeof(char *), cmp_str);
    for (i = 0; i < n; i++) {
        lua_getfield(L, idx, (*keys)[i]);
        if (tensors) {
            fm_tensor *t = fmL_testtensor(L, -1);
            if (!t)
                luaL_error(L, "safetensors.save: '%s' is a %s, tensor expected",
                           (*keys)[i], luaL_typename(L, -1));
            (*vals)[i] = t;
        } else {
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "safetensors.save: metadata '%s' is a %s, string expected",
                           (*keys)[i], luaL_typename(L, -1));
            size_t len;
            (*vals)[i] = lua_tolstring(L, -1, &len); /* anchored by the table at idx */
            if (strlen((*vals)[i]) != len)
                luaL_error(L, "safetensors.save: metadata '%s' holds a NUL character",
                           (*keys)[i]);
        }
        lua_pop(L, 1);
    }
    return n;
}

/* How the n tensors (names sorted) are stored, from opts.dtype at idx: a
 * string applies to every tensor of the dtype it converts from (the others
 * keep their own), a table {name = string} names tensors, each of which
 * must exist and have that dtype. Returns a userdata-held array, pushed. */
static fm_stored *stored_from_opts(lua_State *L, int idx, int n, const char **names,
                                   const void **ts)
{
    fm_stored *stored = lua_newuserdatauv(L, sizeof(fm_stored) * (size_t)(n + 1), 0);
    for (int i = 0; i < n; i++)
        stored[i] = FM_STORED_NATIVE;
    if (lua_isnoneornil(L, idx))
        return stored;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "dtype");
    int d = lua_gettop(L);
    if (lua_type(L, d) == LUA_TSTRING) {
        int o = store_index(L, d, "opts.dtype");
        for (int i = 0; i < n; i++)
            if (((const fm_tensor *)ts[i])->dtype == STORE_AS[o].dtype)
                stored[i] = STORE_AS[o].stored;
    } else if (lua_type(L, d) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, d)) {
            const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
            const char **at = name ? bsearch(&name, names, (size_t)n, sizeof *names, cmp_str)
                                   : NULL;
            if (!at)
                luaL_error(L, "safetensors.save: opts.dtype names '%s', which is not a tensor "
                           "being saved", name ? name : luaL_typename(L, -2));
            int i = (int)(at - names), o = store_index(L, -1, "opts.dtype's entries");
            const fm_tensor *t = ts[i];
            if (t->dtype != STORE_AS[o].dtype)
                luaL_error(L, "safetensors.save: tensor '%s' is %s, which cannot be stored "
                           "as %s", name, fm_dtype_name(t->dtype), STORE_NAMES[o]);
            stored[i] = STORE_AS[o].stored;
            lua_pop(L, 1);
        }
    } else if (!lua_isnil(L, d)) {
        luaL_error(L, "safetensors.save: opts.dtype must be a string or a table of "
                   "name = string, got %s", luaL_typename(L, d));
    }
    lua_pop(L, 1);
    return stored;
}

/* fm.safetensors.save(path, {name = tensor, ...} [, {key = "value"} [, opts]]):
 * opts.dtype = "f16" | "bf16" | ... or {name = "bf16", ...} (docs/files.md) */
static int l_st_save(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!lua_isnoneornil(L, 4))
        luaL_checktype(L, 4, LUA_TTABLE);
    lua_settop(L, 4);
    int nmeta = 0;
    const char **mkeys = NULL, **mvals = NULL;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        /* copy metadata into a fresh table of strings (anchors converted numbers) */
        lua_newtable(L);
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            if (lua_type(L, -2) != LUA_TSTRING ||
                (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
                return luaL_error(L, "safetensors.save: metadata must map strings to strings "
                                  "(got %s -> %s)", luaL_typename(L, -2), luaL_typename(L, -1));
            lua_pushvalue(L, -2);
            size_t len;
            const char *v = lua_tolstring(L, -2, &len);
            lua_pushlstring(L, v, len); /* keeps a NUL for collect to refuse */
            lua_rawset(L, -5);
            lua_pop(L, 1);
        }
        lua_replace(L, 3);
        const void **vals;
        nmeta = collect(L, 3, "metadata", &mkeys, &vals, false);
        mvals = (const char **)vals;
    }
    const char **names;
    const void **ts;
    int n = collect(L, 2, "tensor", &names, &ts, true);
    const fm_stored *stored = stored_from_opts(L, 4, n, names, ts);
    fmL_check(L, fm_safetensors_write(path, n, names, (const fm_tensor *const *)ts, stored,
                                      nmeta, mkeys, mvals), "safetensors.save");
    return 0;
}

static int reader_gc(lua_State *L)
{
    fm_safetensors_close(luaL_checkudata(L, 1, FML_ST_READER));
    return 0;
}

/* Pushes a reader userdata over path (validated header) or raises. */
static fm_safetensors *push_reader(lua_State *L, const char *path, const char *fname)
{
    fm_safetensors *st = lua_newuserdatauv(L, sizeof *st, 0);
    memset(st, 0, sizeof *st);
    luaL_setmetatable(L, FML_ST_READER);
    fmL_check(L, fm_safetensors_open(path, st), fname);
    return st;
}

static void push_metadata(lua_State *L, const fm_safetensors *st)
{
    lua_createtable(L, 0, st->nmeta);
    for (int i = 0; i < st->nmeta; i++) {
        lua_pushstring(L, st->meta_values[i]);
        lua_setfield(L, -2, st->meta_keys[i]);
    }
}

/* fm.safetensors.load(path) -> {name = tensor}, metadata */
static int l_st_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    fm_safetensors *st = push_reader(L, path, "safetensors.load");
    lua_createtable(L, 0, st->n);
    for (int i = 0; i < st->n; i++) {
        const fm_safetensors_entry *e = &st->entries[i];
        fm_tensor *t = fmL_newtensor(L, "safetensors.load", e->dtype, e->ndim, e->shape);
        fmL_check(L, fm_safetensors_read(st, i, t), "safetensors.load");
        lua_setfield(L, -2, e->name);
    }
    push_metadata(L, st);
    fm_safetensors_close(st);
    return 2;
}

/* fm.safetensors.info(path) -> {name = {dtype =, shape = {...}, stored =}}, metadata */
static int l_st_info(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    fm_safetensors *st = push_reader(L, path, "safetensors.info");
    lua_createtable(L, 0, st->n);
    for (int i = 0; i < st->n; i++) {
        const fm_safetensors_entry *e = &st->entries[i];
        lua_createtable(L, 0, 3);
        lua_pushstring(L, fm_dtype_name(e->dtype));
        lua_setfield(L, -2, "dtype");
        lua_pushstring(L, fm_safetensors_tag(e->dtype, e->stored));
        lua_setfield(L, -2, "stored");
        lua_createtable(L, e->ndim, 0);
        for (int d = 0; d < e->ndim; d++) {
            lua_pushinteger(L, e->shape[d]);
            lua_rawseti(L, -2, d + 1);
        }
        lua_setfield(L, -2, "shape");
        lua_setfield(L, -2, e->name);
    }
    push_metadata(L, st);
    fm_safetensors_close(st);
    return 2;
}

/* fm.safetensors.load_into(path, {name = tensor, ...} [, strict = true]):
 * fills existing tensors (a module's parameters) from the file. Everything is
 * checked first (each name present with the same dtype and shape; when
 * strict, no tensor in the file left unused), then read into fresh tensors,
 * then copied: the targets change only when the whole load succeeds.
 * Returns the number of tensors loaded and the metadata. */
static int l_st_load_into(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    bool strict = lua_isnoneornil(L, 3) ? true : lua_toboolean(L, 3);
    lua_settop(L, 2);
    fm_safetensors *st = push_reader(L, path, "safetensors.load_into"); /* 3 */
    lua_newtable(L); /* 4: name -> fresh tensor */
    int count = 0;
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        fm_tensor *dst = fmL_testtensor(L, -1);
        if (lua_type(L, -2) != LUA_TSTRING || !dst)
            return luaL_error(L, "safetensors.load_into: targets must map names to tensors");
        const char *name = lua_tostring(L, -2);
        int i = fm_safetensors_find(st, name);
        if (i < 0)
            return luaL_error(L, "safetensors.load_into: %s has no tensor '%s'", path, name);
        const fm_safetensors_entry *e = &st->entries[i];
        fm_tensor want;
        fm_tensor_init(&want, NULL, e->dtype, e->ndim, e->shape);
        if (dst->dtype != e->dtype || !fm_tensor_same_shape(dst, &want) ||
            !fm_tensor_is_contiguous(dst)) {
            char a[FM_SHAPE_STR_MAX], b[FM_SHAPE_STR_MAX];
            return luaL_error(L, "safetensors.load_into: %s: tensor '%s' is %s %s in the file, "
                              "the target is %s %s%s", path, name, fm_dtype_name(e->dtype),
                              fm_shape_str(&want, a, sizeof a), fm_dtype_name(dst->dtype),
                              fm_shape_str(dst, b, sizeof b),
                              fm_tensor_is_contiguous(dst) ? "" : " (non-contiguous)");
        }
        count++;
        lua_pop(L, 1);
    }
    if (strict && count != st->n)
        return luaL_error(L, "safetensors.load_into: %s has %d tensors, %d expected "
                          "(pass strict = false to ignore the others)", path, st->n, count);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        lua_pop(L, 1);
        int i = fm_safetensors_find(st, lua_tostring(L, -1));
        const fm_safetensors_entry *e = &st->entries[i];
        fm_tensor *t = fmL_newtensor(L, "safetensors.load_into", e->dtype, e->ndim, e->shape);
        fmL_check(L, fm_safetensors_read(st, i, t), "safetensors.load_into");
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, 4);
    }
    lua_pushnil(L);
    while (lua_next(L, 4)) {
        fm_tensor *src = fmL_checktensor(L, -1);
        lua_pushvalue(L, -2);
        lua_gettable(L, 2);
        fm_tensor *dst = fmL_checktensor(L, -1);
        memcpy(dst->data, src->data, fm_tensor_nbytes(src));
        lua_pop(L, 2);
    }
    lua_pushinteger(L, count);
    push_metadata(L, st);
    fm_safetensors_close(st);
    return 2;
}

void fmL_open_io(lua_State *L)
{
    if (luaL_newmetatable(L, FML_ST_READER)) {
        lua_pushcfunction(L, reader_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    static const luaL_Reg funcs[] = {
        {"save_npy", l_save_npy},
        {"load_npy", l_load_npy},
        {"load_idx", l_load_idx},
        {NULL, NULL},
    };
    fmL_setfuncs(L, funcs);
    static const luaL_Reg st_funcs[] = {
        {"save", l_st_save},
        {"load", l_st_load},
        {"info", l_st_info},
        {"load_into", l_st_load_into},
        {NULL, NULL},
    };
    fmL_submodule(L, "safetensors", st_funcs);
}
