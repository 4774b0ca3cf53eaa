/* lfm.c — the tensor userdata and the argument helpers of lfm.h. */
#include "core/lfm.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops/ops.h"

#define FML_ALIGN 64

/* Inline storage starts at the first 64-byte boundary after the header. */
static void *inline_data(fmL_tensor *ud)
{
    uintptr_t p = (uintptr_t)(ud + 1);
    return (void *)((p + FML_ALIGN - 1) & ~(uintptr_t)(FML_ALIGN - 1));
}

/* The tensor metatable and the methods table are also kept in the registry
 * under these addresses: lua_rawgetp needs no string, whereas every
 * luaL_testudata / luaL_setmetatable by name interns its C string (a strcmp
 * against Lua's string cache), which was 9% of a small training step. */
const char fmL_tensor_mt_key = 'T';
const char fmL_tensor_methods_key = 'M';

static fmL_tensor *push_ud(lua_State *L, size_t extra)
{
    fmL_tensor *ud = lua_newuserdatauv(L, sizeof(fmL_tensor) + extra, FML_NUV);
    memset(ud, 0, sizeof *ud);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &fmL_tensor_mt_key);
    lua_setmetatable(L, -2);
    return ud;
}

fm_tensor *fmL_newtensor(lua_State *L, const char *fname, fm_dtype dtype,
                         int ndim, const int64_t *shape)
{
    size_t nbytes;
    fm_status st = fm_shape_nbytes(dtype, ndim, shape, &nbytes);
    if (st)
        luaL_error(L, "%s: %s", fname, fm_last_error());
    fmL_tensor *ud = push_ud(L, nbytes + FML_ALIGN);
    fm_tensor_init(&ud->t, inline_data(ud), dtype, ndim, shape);
    ud->flags = FML_OWNS_DATA;
    return &ud->t;
}

fm_tensor *fmL_newlike(lua_State *L, const char *fname, const fm_tensor *src)
{
    return fmL_newtensor(L, fname, src->dtype, src->ndim, src->shape);
}

fm_tensor *fmL_newview(lua_State *L, int base_idx, const fm_tensor *v)
{
    base_idx = lua_absindex(L, base_idx);
    fmL_tensor *base = fmL_checkud(L, base_idx);
    fm_tensor copy = *v; /* v may point into base */
    fmL_tensor *ud = push_ud(L, 0);
    ud->t = copy;
    /* the owner of the storage is the base itself or the base's owner */
    if (base->flags & FML_OWNS_DATA)
        lua_pushvalue(L, base_idx);
    else
        lua_getiuservalue(L, base_idx, FML_UV_BASE);
    lua_setiuservalue(L, -2, FML_UV_BASE);
    return &ud->t;
}

fmL_tensor *fmL_testud(lua_State *L, int idx)
{
    void *p = lua_touserdata(L, idx);
    if (!p || !lua_getmetatable(L, idx))
        return NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &fmL_tensor_mt_key);
    bool is_tensor = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return is_tensor ? p : NULL;
}

fm_tensor *fmL_testtensor(lua_State *L, int idx)
{
    fmL_tensor *ud = fmL_testud(L, idx);
    return ud ? &ud->t : NULL;
}

fmL_tensor *fmL_checkud(lua_State *L, int idx)
{
    fmL_tensor *ud = fmL_testud(L, idx);
    if (!ud)
        luaL_typeerror(L, idx, "tensor");
    return ud;
}

fm_tensor *fmL_checktensor(lua_State *L, int idx)
{
    return &fmL_checkud(L, idx)->t;
}

fm_tensor *fmL_checkfloat(lua_State *L, int idx)
{
    fm_tensor *t = fmL_checktensor(L, idx);
    if (!fm_dtype_is_float(t->dtype))
        luaL_argerror(L, idx, lua_pushfstring(L, "float tensor expected, got %s",
                                              fm_dtype_name(t->dtype)));
    return t;
}

/* Shape of a nested table of numbers; errors on ragged or non-numeric data. */
static void table_shape(lua_State *L, int idx, int depth, int *ndim, int64_t *shape)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (depth >= FM_MAX_DIMS)
        luaL_error(L, "tensor: nested tables deeper than %d", FM_MAX_DIMS);
    shape[depth] = n;
    *ndim = depth + 1;
    if (n > 0 && lua_rawgeti(L, idx, 1) == LUA_TTABLE)
        table_shape(L, lua_gettop(L), depth + 1, ndim, shape);
    if (n > 0)
        lua_pop(L, 1);
}

/* t[pos] = the number on top of the stack; t is a new contiguous tensor.
 * int64 elements are stored exactly and must be integers (no NaN, no 2.5,
 * nothing out of the 64-bit range, which a cast would turn into garbage);
 * uint8 elements must be whole numbers in [0, 255]. */
static void set_element(lua_State *L, fm_tensor *t, int64_t pos)
{
    int isnum;
    lua_Number v = lua_tonumberx(L, -1, &isnum);
    if (!isnum)
        luaL_error(L, "tensor: element %d is a %s, number expected",
                   (int)(pos + 1), luaL_typename(L, -1));
    if (t->dtype == FM_INT64) {
        lua_Integer i = lua_tointegerx(L, -1, &isnum); /* exact, or fails */
        if (!isnum)
            luaL_error(L, "tensor: element %d (%f) is not an integer in the int64 range",
                       (int)(pos + 1), v);
        ((int64_t *)t->data)[pos] = i;
    } else if (t->dtype == FM_UINT8) {
        if (!(v >= 0 && v <= 255 && v == floor(v)))
            luaL_error(L, "tensor: element %d (%f) is not a whole number in [0, 255] for uint8",
                       (int)(pos + 1), v);
        ((uint8_t *)t->data)[pos] = (uint8_t)v;
    } else {
        fm_tensor_set(t, pos, v);
    }
}

static void table_fill(lua_State *L, int idx, int depth, int ndim,
                       const int64_t *shape, fm_tensor *t, int64_t *pos)
{
    int64_t n = (int64_t)lua_rawlen(L, idx);
    if (n != shape[depth])
        luaL_error(L, "tensor: ragged nested table (a row of %d where %d expected)",
                   (int)n, (int)shape[depth]);
    for (int64_t i = 1; i <= n; i++) {
        int type = lua_rawgeti(L, idx, i);
        if (depth + 1 < ndim) {
            if (type != LUA_TTABLE)
                luaL_error(L, "tensor: ragged nested table (number where a table expected)");
            table_fill(L, lua_gettop(L), depth + 1, ndim, shape, t, pos);
        } else {
            set_element(L, t, (*pos)++);
        }
        lua_pop(L, 1);
    }
}

fm_tensor *fmL_totensor(lua_State *L, int idx, fm_dtype dtype)
{
    idx = lua_absindex(L, idx);
    fm_tensor *t = fmL_testtensor(L, idx);
    if (t)
        return t;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        t = fmL_newtensor(L, "tensor", dtype, 0, NULL);
        lua_pushvalue(L, idx);
        set_element(L, t, 0);
        lua_pop(L, 1);
    } else if (lua_type(L, idx) == LUA_TTABLE) {
        int ndim = 0;
        int64_t shape[FM_MAX_DIMS];
        table_shape(L, idx, 0, &ndim, shape);
        t = fmL_newtensor(L, "tensor", dtype, ndim, shape);
        int64_t pos = 0;
        table_fill(L, idx, 0, ndim, shape, t, &pos);
    } else {
        luaL_typeerror(L, idx, "tensor, number or table");
        return NULL;
    }
    lua_replace(L, idx);
    return fmL_checktensor(L, idx);
}

int fmL_checkdim(lua_State *L, int idx, int ndim)
{
    lua_Integer d = luaL_checkinteger(L, idx);
    lua_Integer z = d < 0 ? d + ndim : d - 1;
    if (d == 0 || z < 0 || z >= ndim)
        luaL_argerror(L, idx, lua_pushfstring(L, "dimension %d out of range for a %d-d tensor",
                                              (int)d, ndim));
    return (int)z;
}

int fmL_optdim(lua_State *L, int idx, int ndim, int def)
{
    return lua_isnoneornil(L, idx) ? def : fmL_checkdim(L, idx, ndim);
}

fm_dtype fmL_optdtype(lua_State *L, int idx, fm_dtype def)
{
    static const char *const names[] = {"float32", "float", "float64", "double",
                                        "int64", "long", "uint8", NULL};
    static const fm_dtype values[] = {FM_FLOAT32, FM_FLOAT32, FM_FLOAT64,
                                      FM_FLOAT64, FM_INT64, FM_INT64, FM_UINT8};
    if (lua_isnoneornil(L, idx))
        return def;
    return values[luaL_checkoption(L, idx, NULL, names)];
}

void fmL_check(lua_State *L, fm_status st, const char *fname)
{
    if (st == FM_OK)
        return;
    const char *msg = fm_last_error();
    size_t n = strlen(fname);
    if (strncmp(msg, fname, n) == 0 && msg[n] == ':') /* no "add: add: ..." */
        luaL_error(L, "%s", msg);
    luaL_error(L, "%s: %s", fname, msg);
}

const char *fmL_pushshape(lua_State *L, const fm_tensor *t)
{
    char buf[FM_SHAPE_STR_MAX];
    return lua_pushstring(L, fm_shape_str(t, buf, sizeof buf));
}

fm_dtype fmL_default_dtype(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "fm.default_dtype");
    fm_dtype d = lua_isinteger(L, -1) ? (fm_dtype)lua_tointeger(L, -1) : FM_FLOAT32;
    lua_pop(L, 1);
    return d;
}
