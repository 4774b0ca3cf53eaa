/* autograd.c — the C side of reverse-mode autograd: grad mode, the
 * requires_grad flag, recording graph nodes, and the .grad field.
 *
 * A node is a Lua table stored in the output tensor's FML_UV_NODE user value:
 *   { op = "mul", [1] = input1, [2] = input2, ..., saved = {extras...} }
 * The graph is therefore ordinary Lua data (the collector sees it, DESIGN.md
 * memory rule). The backward rules and the traversal are pure Lua
 * (scripts/fm/autograd.lua), written with differentiable tensor ops, so
 * gradients of gradients (create_graph) come for free. */
#include <string.h>

#include "core/lfm.h"
#include "core/tensor_internal.h"

static int grad_enabled = 1;

int fmL_needs_grad(lua_State *L, int n, const int *idx)
{
    if (!grad_enabled)
        return 0;
    for (int i = 0; i < n; i++) {
        fmL_tensor *ud = fmL_testud(L, idx[i]);
        if (ud && (ud->flags & FML_REQUIRES_GRAD))
            return 1;
    }
    return 0;
}

void fmL_record(lua_State *L, const char *op, int out_idx, int n,
                const int *in_idx, int nextra)
{
    out_idx = lua_absindex(L, out_idx);
    int first_extra = lua_gettop(L) - nextra + 1;
    lua_createtable(L, n, 2);
    lua_pushstring(L, op);
    lua_setfield(L, -2, "op");
    for (int i = 0; i < n; i++) {
        lua_pushvalue(L, in_idx[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_createtable(L, nextra, 0);
    for (int i = 0; i < nextra; i++) {
        lua_pushvalue(L, first_extra + i);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "saved");
    lua_setiuservalue(L, out_idx, FML_UV_NODE);
    lua_pop(L, nextra);
    fmL_checkud(L, out_idx)->flags |= FML_REQUIRES_GRAD;
}

/* ---- fields: x.grad, x.requires_grad, x.is_leaf, x.grad_fn ---------------- */

int fmL_tensor_field(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &fmL_tensor_methods_key);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL)
        return 1;
    lua_pop(L, 2);
    const char *key = lua_tostring(L, 2);
    if (!key) {
        lua_pushnil(L);
        return 1;
    }
    fmL_tensor *ud = fmL_checkud(L, 1);
    if (strcmp(key, "grad") == 0) {
        lua_getiuservalue(L, 1, FML_UV_GRAD);
        fmL_tensor *g = fmL_testud(L, -1);
        if (g) /* a script may keep it now: never reuse its storage */
            g->flags &= ~(unsigned)FML_GRAD_RECYCLABLE;
    } else if (strcmp(key, "requires_grad") == 0) {
        lua_pushboolean(L, (ud->flags & FML_REQUIRES_GRAD) != 0);
    } else if (strcmp(key, "is_leaf") == 0) {
        lua_getiuservalue(L, 1, FML_UV_NODE);
        lua_pushboolean(L, lua_isnil(L, -1));
    } else if (strcmp(key, "grad_fn") == 0) {
        if (lua_getiuservalue(L, 1, FML_UV_NODE) == LUA_TTABLE)
            lua_getfield(L, -1, "op");
        else
            lua_pushnil(L);
    } else if (strcmp(key, "name") == 0) {
        lua_getiuservalue(L, 1, FML_UV_EXTRA);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

int fmL_tensor_setfield(lua_State *L)
{
    fmL_tensor *ud = fmL_checkud(L, 1);
    const char *key = lua_tostring(L, 2);
    if (strcmp(key, "grad") == 0) {
        if (!lua_isnil(L, 3)) {
            fm_tensor *g = fmL_checktensor(L, 3);
            if (!fm_tensor_same_shape(g, &ud->t) || g->dtype != ud->t.dtype)
                return luaL_error(L, "grad: gradient of shape %s %s for a tensor of shape %s %s",
                                  fmL_pushshape(L, g), fm_dtype_name(g->dtype),
                                  fmL_pushshape(L, &ud->t), fm_dtype_name(ud->t.dtype));
            fmL_checkud(L, 3)->flags &= ~(unsigned)FML_GRAD_RECYCLABLE;
        }
        lua_pushvalue(L, 3);
        lua_setiuservalue(L, 1, FML_UV_GRAD);
        return 0;
    }
    if (strcmp(key, "requires_grad") == 0) {
        if (lua_toboolean(L, 3)) {
            if (!fm_dtype_is_float(ud->t.dtype))
                return luaL_error(L, "requires_grad: only float tensors can require grad");
            ud->flags |= FML_REQUIRES_GRAD;
        } else {
            ud->flags &= ~(unsigned)FML_REQUIRES_GRAD;
        }
        return 0;
    }
    if (strcmp(key, "name") == 0) {
        lua_pushvalue(L, 3);
        lua_setiuservalue(L, 1, FML_UV_EXTRA);
        return 0;
    }
    return luaL_error(L, "tensor: cannot set field '%s' (fields: grad, requires_grad, name)", key);
}

/* ---- functions ------------------------------------------------------------ */

/* fm.param(t [, name]): marks t (a float leaf) as requiring grad; returns t. */
static int l_param(lua_State *L)
{
    fmL_tensor *ud = fmL_checkud(L, 1);
    if (!fm_dtype_is_float(ud->t.dtype))
        return luaL_argerror(L, 1, "param: float tensor expected");
    if (lua_getiuservalue(L, 1, FML_UV_NODE) != LUA_TNIL)
        return luaL_argerror(L, 1, "param: tensor is the result of an op (call :detach() first)");
    ud->flags |= FML_REQUIRES_GRAD;
    if (lua_isstring(L, 2)) {
        lua_pushvalue(L, 2);
        lua_setiuservalue(L, 1, FML_UV_EXTRA);
    }
    lua_settop(L, 1);
    return 1;
}

static int m_requires_grad_(lua_State *L)
{
    fmL_tensor *ud = fmL_checkud(L, 1);
    bool on = lua_isnoneornil(L, 2) || lua_toboolean(L, 2);
    if (on && !fm_dtype_is_float(ud->t.dtype))
        return luaL_error(L, "requires_grad_: only float tensors can require grad");
    if (on) ud->flags |= FML_REQUIRES_GRAD;
    else ud->flags &= ~(unsigned)FML_REQUIRES_GRAD;
    lua_settop(L, 1);
    return 1;
}

/* x:detach(): the same storage, out of the graph. */
static int m_detach(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    fmL_newview(L, 1, t);
    return 1;
}

static int set_mode_and_call(lua_State *L, int mode)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int saved = grad_enabled;
    grad_enabled = mode;
    int nargs = lua_gettop(L) - 1;
    int status = lua_pcall(L, nargs, LUA_MULTRET, 0);
    grad_enabled = saved;
    if (status != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

static int l_no_grad(lua_State *L) { return set_mode_and_call(L, 0); }
static int l_enable_grad(lua_State *L) { return set_mode_and_call(L, 1); }

static int l_is_grad_enabled(lua_State *L)
{
    lua_pushboolean(L, grad_enabled);
    return 1;
}

/* fm.set_grad_enabled(on) -> previous */
static int l_set_grad_enabled(lua_State *L)
{
    lua_pushboolean(L, grad_enabled);
    grad_enabled = lua_toboolean(L, 1);
    return 1;
}

/* fm._autograd.node(t) / set_node(t, node_or_nil) for scripts/fm/autograd.lua */
static int l_node(lua_State *L)
{
    fmL_checkud(L, 1);
    lua_getiuservalue(L, 1, FML_UV_NODE);
    return 1;
}

static int l_set_node(lua_State *L)
{
    fmL_checkud(L, 1);
    lua_settop(L, 2);
    lua_setiuservalue(L, 1, FML_UV_NODE);
    return 0;
}

/* x:backward([grad [, opts]]) -> require("fm.autograd").backward(x, grad, opts) */
static int m_backward(lua_State *L)
{
    fmL_checkud(L, 1);
    lua_settop(L, 3);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "fm.autograd");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "backward");
    lua_insert(L, 1);
    lua_pop(L, 1);
    lua_call(L, 3, 0);
    return 0;
}

/* __close: `local loss <close> = ...` drops the tensor's autograd graph and
 * gradient when the variable goes out of scope, so a hot loop holds no graph
 * between iterations even before the collector runs. (The elements themselves
 * live in the userdata and go with it.) */
static int m_close(lua_State *L)
{
    fmL_checkud(L, 1);
    lua_pushnil(L);
    lua_setiuservalue(L, 1, FML_UV_NODE);
    lua_pushnil(L);
    lua_setiuservalue(L, 1, FML_UV_GRAD);
    return 0;
}

static const luaL_Reg autograd_methods[] = {
    {"requires_grad_", m_requires_grad_}, {"detach", m_detach},
    {"backward", m_backward}, {NULL, NULL}};

static const luaL_Reg autograd_functions[] = {
    {"param", l_param}, {"no_grad", l_no_grad}, {"enable_grad", l_enable_grad},
    {"is_grad_enabled", l_is_grad_enabled},
    {"set_grad_enabled", l_set_grad_enabled}, {NULL, NULL}};

static const luaL_Reg autograd_internal[] = {
    {"node", l_node}, {"set_node", l_set_node}, {NULL, NULL}};

void fmL_open_autograd(lua_State *L)
{
    fmL_add_methods(L, autograd_methods);
    luaL_getmetatable(L, FML_TENSOR);
    lua_pushcfunction(L, m_close);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
    fmL_setfuncs(L, autograd_functions);
    fmL_submodule(L, "_autograd", autograd_internal);
}
