/* tensor_index.c — index (index_select), gather, scatter_add, index_add,
 * cat, stack. Index tensors are int64 holding 1-based indices (a float tensor
 * of whole numbers is accepted and converted). */
#include <math.h>

#include "core/lfm.h"
#include "ops/ops.h"

/* The index tensor at idx as int64 (converted copy replaces it if needed). */
static fm_tensor *check_index_tensor(lua_State *L, int idx, const char *name)
{
    fm_tensor *t = fmL_testtensor(L, idx);
    if (!t && lua_istable(L, idx))
        t = fmL_totensor(L, idx, FM_INT64);
    if (!t)
        luaL_error(L, "%s: bad argument #%d (index tensor expected, got %s)", name,
                   idx, luaL_typename(L, idx));
    if (t->dtype != FM_INT64) {
        int64_t n = fm_tensor_numel(t);
        for (int64_t i = 0; i < n; i++) {
            double v = fm_tensor_get(t, i);
            if (v != floor(v))
                luaL_error(L, "%s: index tensor of shape %s holds %f, not a whole number",
                           name, fmL_pushshape(L, t), v);
        }
        fm_tensor *c = fmL_newtensor(L, name, FM_INT64, t->ndim, t->shape);
        fmL_check(L, fm_copy(c, t), name);
        lua_replace(L, idx);
        t = c;
    }
    return t;
}

/* x:index(dim, idx) — rows (or slices along dim) picked by a 1-d index. */
static int m_index(lua_State *L)
{
    fm_tensor *a = fmL_checktensor(L, 1);
    int dim = fmL_checkdim(L, 2, a->ndim);
    fm_tensor *idx = check_index_tensor(L, 3, "index");
    if (idx->ndim != 1)
        return luaL_error(L, "index: 1-d index expected, got shape %s", fmL_pushshape(L, idx));
    lua_settop(L, 3);
    int64_t shape[FM_MAX_DIMS];
    for (int i = 0; i < a->ndim; i++)
        shape[i] = a->shape[i];
    shape[dim] = idx->shape[0];
    fm_tensor *out = fmL_newtensor(L, "index", a->dtype, a->ndim, shape);
    fmL_check(L, fm_index_select(a, dim, idx, 1, out), "index");
    if (fmL_needs_grad(L, 1, (int[]){1})) {
        lua_pushinteger(L, dim + 1);
        lua_pushvalue(L, 3);
        fmL_record(L, "index", 4, 1, (int[]){1}, 2);
    }
    return 1;
}

/* x:gather(dim, idx) as torch.gather */
static int m_gather(lua_State *L)
{
    fm_tensor *a = fmL_checktensor(L, 1);
    int dim = fmL_checkdim(L, 2, a->ndim);
    fm_tensor *idx = check_index_tensor(L, 3, "gather");
    if (idx->ndim != a->ndim)
        return luaL_error(L, "gather: index of shape %s for input of shape %s "
                          "(same number of dimensions expected)",
                          fmL_pushshape(L, idx), fmL_pushshape(L, a));
    lua_settop(L, 3);
    fm_tensor *out = fmL_newtensor(L, "gather", a->dtype, idx->ndim, idx->shape);
    fmL_check(L, fm_gather(a, dim, idx, 1, out), "gather");
    if (fmL_needs_grad(L, 1, (int[]){1})) {
        lua_pushinteger(L, dim + 1);
        lua_pushvalue(L, 3);
        fmL_record(L, "gather", 4, 1, (int[]){1}, 2);
    }
    return 1;
}

/* x:scatter_add(dim, idx, src) — a new tensor x + scatter of src (out of
 * place, differentiable); x:scatter_add_(...) in place. */
static int scatter_add(lua_State *L, bool inplace)
{
    const char *name = inplace ? "scatter_add_" : "scatter_add";
    fm_tensor *a = fmL_checktensor(L, 1);
    int dim = fmL_checkdim(L, 2, a->ndim);
    fm_tensor *idx = check_index_tensor(L, 3, name);
    fm_tensor *src = fmL_checktensor(L, 4);
    if (src->dtype != a->dtype)
        return luaL_error(L, "%s: dtype mix (%s and %s)", name,
                          fm_dtype_name(a->dtype), fm_dtype_name(src->dtype));
    lua_settop(L, 4);
    if (inplace) {
        fmL_check(L, fm_scatter_add(a, dim, idx, 1, src), name);
        lua_settop(L, 1);
        return 1;
    }
    fm_tensor *out = fmL_newlike(L, name, a);
    fmL_check(L, fm_copy(out, a), name);
    fmL_check(L, fm_scatter_add(out, dim, idx, 1, src), name);
    if (fmL_needs_grad(L, 2, (int[]){1, 4})) {
        lua_pushinteger(L, dim + 1);
        lua_pushvalue(L, 3);
        fmL_record(L, "scatter_add", 5, 2, (int[]){1, 4}, 2);
    }
    return 1;
}

static int m_scatter_add(lua_State *L) { return scatter_add(L, false); }
static int m_scatter_add_(lua_State *L) { return scatter_add(L, true); }

/* x:index_add(dim, idx, src): out = x; out[idx[i]] += src[i] along dim. */
static int m_index_add(lua_State *L)
{
    fm_tensor *a = fmL_checktensor(L, 1);
    int dim = fmL_checkdim(L, 2, a->ndim);
    fm_tensor *idx = check_index_tensor(L, 3, "index_add");
    fm_tensor *src = fmL_checktensor(L, 4);
    lua_settop(L, 4);
    fm_tensor *out = fmL_newlike(L, "index_add", a);
    fmL_check(L, fm_copy(out, a), "index_add");
    fmL_check(L, fm_index_add(out, dim, idx, 1, src), "index_add");
    if (fmL_needs_grad(L, 2, (int[]){1, 4})) {
        lua_pushinteger(L, dim + 1);
        lua_pushvalue(L, 3);
        fmL_record(L, "index_add", 5, 2, (int[]){1, 4}, 2);
    }
    return 1;
}

/* fm.cat({a, b, ...}, dim) — dim defaults to 1. */
static int l_cat(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)lua_rawlen(L, 1);
    luaL_argcheck(L, n > 0, 1, "cat: at least one tensor expected");
    luaL_argcheck(L, n <= 4096, 1, "cat: at most 4096 tensors");
    lua_settop(L, 2);
    luaL_checkstack(L, n + 8, "cat: too many tensors"); /* one slot per part */
    int base = lua_gettop(L);
    const fm_tensor *parts[4096];
    int idx[4096];
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 1, i + 1);
        fm_tensor *t = fmL_testtensor(L, -1);
        if (!t)
            return luaL_error(L, "cat: element %d is a %s, tensor expected", i + 1,
                              luaL_typename(L, -1));
        parts[i] = t;
        idx[i] = base + i + 1;
    }
    int dim = fmL_optdim(L, 2, parts[0]->ndim, 0);
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    fm_status st = fm_cat_shape(parts, n, dim, &ndim, shape);
    fmL_check(L, st, "cat");
    fm_tensor *out = fmL_newtensor(L, "cat", parts[0]->dtype, ndim, shape);
    fmL_check(L, fm_cat(parts, n, dim, out), "cat");
    int out_idx = lua_gettop(L);
    if (fmL_needs_grad(L, n, idx)) {
        lua_pushinteger(L, dim + 1);
        lua_createtable(L, n, 0);
        for (int i = 0; i < n; i++) {
            lua_pushinteger(L, parts[i]->shape[dim]);
            lua_rawseti(L, -2, i + 1);
        }
        fmL_record(L, "cat", out_idx, n, idx, 2);
    }
    return 1;
}

/* fm.stack({a, b, ...}, dim): unsqueeze each at dim, then cat. */
static int l_stack(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)lua_rawlen(L, 1);
    luaL_argcheck(L, n > 0, 1, "stack: at least one tensor expected");
    lua_Integer dim = luaL_optinteger(L, 2, 1);
    lua_settop(L, 2);
    lua_createtable(L, n, 0); /* 3: the unsqueezed parts */
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 1, i + 1);
        if (!fmL_testtensor(L, -1))
            return luaL_error(L, "stack: element %d is a %s, tensor expected", i + 1,
                              luaL_typename(L, -1));
        lua_getfield(L, -1, "unsqueeze");
        lua_insert(L, -2);
        lua_pushinteger(L, dim);
        lua_call(L, 2, 1);
        lua_rawseti(L, 3, i + 1);
    }
    lua_pushcfunction(L, l_cat);
    lua_pushvalue(L, 3);
    lua_pushinteger(L, dim);
    lua_call(L, 2, 1);
    return 1;
}

static const luaL_Reg index_methods[] = {
    {"index", m_index}, {"gather", m_gather}, {"scatter_add", m_scatter_add},
    {"scatter_add_", m_scatter_add_}, {"index_add", m_index_add}, {NULL, NULL}};

static const luaL_Reg index_functions[] = {
    {"cat", l_cat}, {"stack", l_stack}, {NULL, NULL}};

void fmL_open_tensor_index(lua_State *L)
{
    fmL_add_methods(L, index_methods);
    fmL_setfuncs(L, index_functions);
}
