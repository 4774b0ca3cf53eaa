/* autograd.c — the C side of autograd: grad mode, the requires_grad flag,
 * recording graph nodes, the .grad field, and forward mode (the tangents
 * of a running fm.jvp, each op's forward rule run as it records).
 *
 * A node is a Lua table stored in the output tensor's FML_UV_NODE user value:
 *   { op = "mul", [1] = input1, [2] = input2, ..., saved = {extras...} }
 * The graph is therefore ordinary Lua data (the collector sees it, docs/design.md
 * memory rule). The backward rules and the traversal are pure Lua
 * (scripts/fm/autograd/), written with differentiable tensor ops, so
 * gradients of gradients (create_graph) come for free. */
#include <string.h>

#include "core/lfm.h"
#include "core/tensor_internal.h"

static int grad_enabled = 1;

/* Forward mode: fwd_level is the id of the running fm.jvp (0: none);
 * tangents of other levels are stale and ignored. fwd_active is false while
 * a forward rule runs (its own ops must not propagate tangents again). */
static unsigned fwd_level = 0, fwd_counter = 0;
static int fwd_active = 0, fwd_graph = 0;

int fmL_fwd_active(void) { return fwd_active; }
int fmL_fwd_create_graph(void) { return fwd_graph; }

static int has_tangent(const fmL_tensor *ud)
{
    return fwd_level != 0 && ud->tangent_level == fwd_level;
}

fm_tensor *fmL_push_tangent(lua_State *L, int idx)
{
    fmL_tensor *ud = fmL_testud(L, idx);
    if (!ud || !has_tangent(ud))
        return NULL;
    lua_getiuservalue(L, idx, FML_UV_TANGENT);
    fm_tensor *t = fmL_testtensor(L, -1);
    if (!t)
        lua_pop(L, 1);
    return t;
}

void fmL_set_tangent(lua_State *L, int idx, int tan_idx)
{
    idx = lua_absindex(L, idx);
    fmL_tensor *ud = fmL_checkud(L, idx);
    lua_pushvalue(L, tan_idx);
    lua_setiuservalue(L, idx, FML_UV_TANGENT);
    ud->tangent_level = fwd_level;
}

int fmL_grad_needed(lua_State *L, int n, const int *idx)
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

static int tangent_needed(lua_State *L, int n, const int *idx)
{
    if (!fwd_active)
        return 0;
    for (int i = 0; i < n; i++) {
        fmL_tensor *ud = fmL_testud(L, idx[i]);
        if (ud && has_tangent(ud))
            return 1;
    }
    return 0;
}

int fmL_needs_grad(lua_State *L, int n, const int *idx)
{
    return fmL_grad_needed(L, n, idx) || tangent_needed(L, n, idx);
}

/* Pushes the node table {op =, inputs..., saved = {extras}}, popping the
 * nextra values below it. */
static void push_node(lua_State *L, const char *op, int n, const int *in_idx,
                      int nextra)
{
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
    if (nextra > 0) {                 /* the node takes the first extra's slot */
        lua_replace(L, first_extra);
        lua_settop(L, first_extra);
    }
}

static void keep_node(lua_State *L, int out_idx)
{
    lua_setiuservalue(L, out_idx, FML_UV_NODE);
    fmL_checkud(L, out_idx)->flags |= FML_REQUIRES_GRAD;
}

static const char jvp_dispatch_key = 'J';

/* The output's tangent by its op's forward rule: require("fm.autograd").
 * forward_rule(node, out) (scripts/fm/autograd/init.lua). */
static void run_forward_rule(lua_State *L, int node_idx, int out_idx)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &jvp_dispatch_key) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        lua_getglobal(L, "require");
        lua_pushliteral(L, "fm.autograd");
        lua_call(L, 1, 1);
        lua_getfield(L, -1, "forward_rule");
        lua_remove(L, -2);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &jvp_dispatch_key);
    }
    lua_pushvalue(L, node_idx);
    lua_pushvalue(L, out_idx);
    lua_call(L, 2, 1);
    if (fmL_testud(L, -1))
        fmL_set_tangent(L, out_idx, -1);
    lua_pop(L, 1);
}

void fmL_record(lua_State *L, const char *op, int out_idx, int n,
                const int *in_idx, int nextra)
{
    out_idx = lua_absindex(L, out_idx);
    int grad = fmL_grad_needed(L, n, in_idx), tan = tangent_needed(L, n, in_idx);
    push_node(L, op, n, in_idx, nextra);
    if (grad) { /* first: a forward rule may use the output in its graph */
        lua_pushvalue(L, -1);
        keep_node(L, out_idx);
    }
    if (tan)
        run_forward_rule(L, lua_gettop(L), out_idx);
    lua_pop(L, 1);
}

void fmL_record_node(lua_State *L, const char *op, int out_idx, int n,
                     const int *in_idx, int nextra)
{
    out_idx = lua_absindex(L, out_idx);
    push_node(L, op, n, in_idx, nextra);
    keep_node(L, out_idx);
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

/* fm._autograd.fwd_begin(create_graph) -> previous state (level, active,
 * graph) for fwd_end; an fm.jvp inside an fm.jvp is refused. */
static int l_fwd_begin(lua_State *L)
{
    if (fwd_level != 0)
        return luaL_error(L, "fm.jvp: nested forward mode (an fm.jvp inside another) "
                             "is not supported");
    fwd_level = ++fwd_counter;
    if (fwd_level == 0)
        fwd_level = fwd_counter = 1;
    fwd_active = 1;
    fwd_graph = lua_toboolean(L, 1);
    return 0;
}

static int l_fwd_end(lua_State *L)
{
    (void)L;
    fwd_level = 0;
    fwd_active = 0;
    fwd_graph = 0;
    return 0;
}

/* fm._autograd.fwd_suspend() -> was_active; fwd_resume(was_active) */
static int l_fwd_suspend(lua_State *L)
{
    lua_pushboolean(L, fwd_active);
    fwd_active = 0;
    return 1;
}

static int l_fwd_resume(lua_State *L)
{
    fwd_active = lua_toboolean(L, 1) && fwd_level != 0;
    return 0;
}

static int l_fwd_graph(lua_State *L)
{
    lua_pushboolean(L, fwd_graph);
    return 1;
}

/* fm._autograd.tangent(t) -> t's tangent in the running fm.jvp, or nil */
static int l_tangent(lua_State *L)
{
    fmL_checkud(L, 1);
    if (!fmL_push_tangent(L, 1))
        lua_pushnil(L);
    return 1;
}

/* fm._autograd.set_tangent(t, tan): tan (a tensor of t's shape and dtype,
 * or nil) becomes t's tangent in the running fm.jvp. */
static int l_set_tangent(lua_State *L)
{
    fmL_tensor *ud = fmL_checkud(L, 1);
    if (lua_isnil(L, 2)) {
        lua_pushnil(L);
        lua_setiuservalue(L, 1, FML_UV_TANGENT);
        ud->tangent_level = 0;
        return 0;
    }
    fm_tensor *t = fmL_checktensor(L, 2);
    if (!fm_tensor_same_shape(t, &ud->t) || t->dtype != ud->t.dtype)
        return luaL_error(L, "fm.jvp: a tangent of shape %s %s for a tensor of shape %s %s",
                          fmL_pushshape(L, t), fm_dtype_name(t->dtype),
                          fmL_pushshape(L, &ud->t), fm_dtype_name(ud->t.dtype));
    if (fwd_level == 0)
        return luaL_error(L, "set_tangent: no fm.jvp is running");
    fmL_set_tangent(L, 1, 2);
    return 0;
}

/* fm._autograd.alias(t): a view of t, recorded as the identity op "alias"
 * when t requires grad (so that a tangent can be attached to it without
 * touching t, and gradients still reach t). */
static int l_alias(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    fmL_newview(L, 1, t);
    int in[1] = {1};
    if (fmL_grad_needed(L, 1, in))
        fmL_record_node(L, "alias", 2, 1, in, 0);
    return 1;
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
    {"node", l_node}, {"set_node", l_set_node}, {"fwd_begin", l_fwd_begin},
    {"fwd_end", l_fwd_end}, {"fwd_suspend", l_fwd_suspend},
    {"fwd_resume", l_fwd_resume}, {"fwd_graph", l_fwd_graph},
    {"tangent", l_tangent}, {"set_tangent", l_set_tangent}, {"alias", l_alias},
    {NULL, NULL}};

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
