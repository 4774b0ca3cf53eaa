/* tensor_views.c — views sharing storage: narrow, select, t, transpose,
 * permute, reshape/view, expand, squeeze/unsqueeze, flatten. Each records
 * itself for autograd (the gradient of a view is the matching scatter). */
#include "core/lfm.h"
#include "ops/ops.h"
#include "core/tensor_internal.h"
#include "core/view.h"

/* Pushes the view v over the storage of the tensor at 1; callers then push
 * the extras the backward rule needs and call record_view. */
static fm_tensor *push_view(lua_State *L, const fm_tensor *v)
{
    return fmL_newview(L, 1, v);
}

static void record_view(lua_State *L, const char *op, int out_idx, int nextra)
{
    if (fmL_needs_grad(L, 1, (int[]){1}))
        fmL_record(L, op, out_idx, 1, (int[]){1}, nextra);
    else
        lua_pop(L, nextra);
}


/* x:narrow(dim, start, length), start 1-based */
static int m_narrow(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    int dim = fmL_checkdim(L, 2, t->ndim);
    lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
    if (start < 0)
        start += t->shape[dim] + 1;
    fm_tensor v;
    if (start < 1 || len < 0 || start - 1 > t->shape[dim] || len > t->shape[dim] - (start - 1))
        return luaL_error(L, "narrow: %I elements from %I in dimension %d out of range for shape %s",
                          len, start, dim + 1, fmL_pushshape(L, t));
    fmL_check(L, fm_view_narrow(t, dim, start - 1, len, &v), "narrow");
    lua_settop(L, 1);
    push_view(L, &v);
    lua_pushinteger(L, dim + 1);
    lua_pushinteger(L, start);
    lua_pushinteger(L, len);
    record_view(L, "narrow", 2, 3);
    return 1;
}

/* x:select(dim, index), index 1-based (negative from the end) */
static int m_select(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    int dim = fmL_checkdim(L, 2, t->ndim);
    lua_Integer i = luaL_checkinteger(L, 3);
    lua_Integer z = i < 0 ? i + t->shape[dim] : i - 1;
    if (i == 0 || z < 0 || z >= t->shape[dim])
        return luaL_error(L, "select: index %d out of range for dimension %d of shape %s",
                          (int)i, dim + 1, fmL_pushshape(L, t));
    fm_tensor v;
    fmL_check(L, fm_view_select(t, dim, z, &v), "select");
    lua_settop(L, 1);
    push_view(L, &v);
    lua_pushinteger(L, dim + 1);
    lua_pushinteger(L, z + 1);
    record_view(L, "select", 2, 2);
    return 1;
}

static int transpose_dims(lua_State *L, int d0, int d1)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    fm_tensor v;
    fmL_check(L, fm_view_transpose(t, d0, d1, &v), "transpose");
    lua_settop(L, 1);
    push_view(L, &v);
    lua_pushinteger(L, d0 + 1);
    lua_pushinteger(L, d1 + 1);
    record_view(L, "transpose", 2, 2);
    return 1;
}

static int m_t(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    if (t->ndim != 2)
        return luaL_error(L, "t: 2-d tensor expected, got shape %s (use :transpose(d1, d2))",
                          fmL_pushshape(L, t));
    return transpose_dims(L, 0, 1);
}

static int m_transpose(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    int d0 = fmL_checkdim(L, 2, t->ndim), d1 = fmL_checkdim(L, 3, t->ndim);
    return transpose_dims(L, d0, d1);
}

static int m_permute(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    int perm[FM_MAX_DIMS];
    int n = lua_istable(L, 2) ? (int)lua_rawlen(L, 2) : lua_gettop(L) - 1;
    if (n != t->ndim)
        return luaL_error(L, "permute: %d dimensions given for shape %s", n, fmL_pushshape(L, t));
    lua_newtable(L);
    for (int i = 0; i < n; i++) {
        if (lua_istable(L, 2))
            lua_rawgeti(L, 2, i + 1);
        else
            lua_pushvalue(L, i + 2);
        perm[i] = fmL_checkdim(L, lua_gettop(L), t->ndim);
        lua_pop(L, 1);
    }
    fm_tensor v;
    fmL_check(L, fm_view_permute(t, perm, &v), "permute");
    lua_settop(L, 1);
    push_view(L, &v);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushinteger(L, perm[i] + 1);
        lua_rawseti(L, -2, i + 1);
    }
    record_view(L, "permute", 2, 1);
    return 1;
}

static void push_shape_table(lua_State *L, const fm_tensor *t)
{
    lua_createtable(L, t->ndim, 0);
    for (int i = 0; i < t->ndim; i++) {
        lua_pushinteger(L, t->shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

/* Pushes the view v of the tensor at 1 whose backward rule `op` needs only
 * the input's shape (reshape of a view, expand); returns 1. */
static int push_shape_view(lua_State *L, const fm_tensor *v, const char *op)
{
    lua_settop(L, 1);
    push_view(L, v);
    push_shape_table(L, fmL_checktensor(L, 1));
    record_view(L, op, 2, 1);
    return 1;
}

/* x:reshape(sizes...) — a view when the layout allows, else a copy. */
static int reshape(lua_State *L, bool allow_copy, const char *name)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    int ndim = 0;
    int64_t shape[FM_MAX_DIMS];
    if (lua_istable(L, 2)) {
        ndim = (int)lua_rawlen(L, 2);
        luaL_argcheck(L, ndim <= FM_MAX_DIMS, 2, "too many dimensions");
        for (int i = 0; i < ndim; i++) {
            lua_rawgeti(L, 2, i + 1);
            shape[i] = luaL_checkinteger(L, -1);
            lua_pop(L, 1);
        }
    } else {
        ndim = lua_gettop(L) - 1;
        luaL_argcheck(L, ndim <= FM_MAX_DIMS, 2, "too many dimensions");
        for (int i = 0; i < ndim; i++)
            shape[i] = luaL_checkinteger(L, i + 2);
    }
    lua_settop(L, 1);
    fm_tensor v;
    int base = 1; /* the storage the result views: x itself, or a copy */
    fm_status st = fm_view_reshape(t, ndim, shape, &v);
    if (st == FM_ELAYOUT && allow_copy) {
        fm_tensor *c = fmL_newlike(L, name, t);
        fmL_check(L, fm_copy(c, t), name);
        base = 2;
        st = fm_view_reshape(c, ndim, shape, &v);
    }
    if (st)
        return luaL_error(L, "%s: cannot view shape %s as the requested shape: %s",
                          name, fmL_pushshape(L, t), fm_last_error());
    fmL_newview(L, base, &v);
    int out = lua_gettop(L);
    push_shape_table(L, t);
    record_view(L, "reshape", out, 1);
    return 1;
}

static int m_reshape(lua_State *L) { return reshape(L, true, "reshape"); }
static int m_view(lua_State *L) { return reshape(L, false, "view"); }

static int m_flatten(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushinteger(L, -1);
    return m_reshape(L);
}

/* x:expand(sizes...) — broadcast view with zero strides. */
static int m_expand(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    fmL_checksizes(L, 2, &ndim, shape);
    fm_tensor v;
    fmL_check(L, fm_view_expand(t, ndim, shape, &v), "expand");
    return push_shape_view(L, &v, "expand");
}

static int m_unsqueeze(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    lua_Integer d = luaL_checkinteger(L, 2);
    lua_Integer z = d < 0 ? d + t->ndim + 1 : d - 1;
    luaL_argcheck(L, d != 0 && z >= 0 && z <= t->ndim, 2, "dimension out of range");
    fm_tensor v;
    fmL_check(L, fm_view_unsqueeze(t, (int)z, &v), "unsqueeze");
    return push_shape_view(L, &v, "reshape");
}

static int m_squeeze(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    fm_tensor v = *t;
    if (lua_isnoneornil(L, 2)) {
        int n = 0;
        for (int i = 0; i < t->ndim; i++)
            if (t->shape[i] != 1) {
                v.shape[n] = t->shape[i];
                v.stride[n++] = t->stride[i];
            }
        v.ndim = n;
    } else {
        fmL_check(L, fm_view_squeeze(t, fmL_checkdim(L, 2, t->ndim), &v), "squeeze");
    }
    return push_shape_view(L, &v, "reshape");
}

static const luaL_Reg view_methods[] = {
    {"narrow", m_narrow}, {"select", m_select}, {"t", m_t},
    {"transpose", m_transpose}, {"permute", m_permute}, {"reshape", m_reshape},
    {"view", m_view}, {"flatten", m_flatten}, {"expand", m_expand},
    {"unsqueeze", m_unsqueeze}, {"squeeze", m_squeeze}, {NULL, NULL}};

void fmL_open_tensor_views(lua_State *L)
{
    fmL_add_methods(L, view_methods);
}
