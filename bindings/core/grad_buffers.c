/* grad_buffers.c — reusing gradient storage across training steps.
 *
 * PyTorch's zero_grad() sets .grad to nil (set_to_none) and the next backward
 * allocates afresh; for a 256-wide MLP that is 0.5 MB of new, cache-cold
 * tensors every step, and it measured ~0.3 ms of a 1.7 ms step. Here
 * zero_grad() (fm.optim, fm.nn) still leaves .grad nil, but keeps the old
 * gradient aside as the parameter's spare buffer, and the fused MLP's
 * backward writes the new gradient into it.
 *
 * A buffer is reused only if no Lua code can hold it: backward installs a
 * gradient through install_grad, which marks it FML_GRAD_RECYCLABLE when it
 * is a fresh tensor owning its storage (not the root, not a grad_output, not
 * shared with another leaf: scripts/fm/autograd.lua checks that); reading
 * x.grad from Lua clears the mark (bindings/autograd.c), as does assigning
 * x.grad by hand. So a gradient a script ever looked at is never overwritten.
 *
 *   fm._autograd.install_grad(t, g)   t.grad = g, g recyclable if fresh
 *   fm._autograd.release_grads(list)  for each tensor: .grad = nil, keeping
 *                                     a recyclable gradient as its spare
 *   fm._autograd.has_spare(t)         whether t has a spare (for tests)
 * Spares live in a weak-keyed registry table (parameter -> spare).
 */
#include "core/lfm.h"

static const char spares_key = 's';

/* Pushes the spares table. */
static void push_spares(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &spares_key) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &spares_key);
}

fm_tensor *fmL_grad_buffer(lua_State *L, int param_idx, const char *fname)
{
    param_idx = lua_absindex(L, param_idx);
    fm_tensor *p = fmL_checktensor(L, param_idx);
    push_spares(L);
    lua_pushvalue(L, param_idx);
    if (lua_rawget(L, -2) == LUA_TUSERDATA) {
        fmL_tensor *s = fmL_testud(L, -1);
        if (s && (s->flags & FML_GRAD_RECYCLABLE) && s->t.dtype == p->dtype &&
            fm_tensor_same_shape(&s->t, p)) {
            s->flags &= ~(unsigned)FML_GRAD_RECYCLABLE;
            lua_pushvalue(L, param_idx);
            lua_pushnil(L);
            lua_rawset(L, -4); /* the spare is taken */
            lua_remove(L, -2);
            return &s->t;
        }
    }
    lua_pop(L, 2);
    return fmL_newlike(L, fname, p);
}

static bool fresh(lua_State *L, int idx, const fmL_tensor *g)
{
    bool ok = (g->flags & FML_OWNS_DATA) && !(g->flags & FML_REQUIRES_GRAD) &&
              fm_tensor_is_contiguous(&g->t);
    if (ok) {
        ok = lua_getiuservalue(L, idx, FML_UV_NODE) == LUA_TNIL;
        lua_pop(L, 1);
    }
    return ok;
}

static int l_install_grad(lua_State *L)
{
    fmL_tensor *t = fmL_checkud(L, 1);
    fmL_tensor *g = fmL_checkud(L, 2);
    if (!fm_tensor_same_shape(&g->t, &t->t) || g->t.dtype != t->t.dtype)
        return luaL_error(L, "install_grad: gradient of shape %s %s for a tensor of shape %s %s",
                          fmL_pushshape(L, &g->t), fm_dtype_name(g->t.dtype),
                          fmL_pushshape(L, &t->t), fm_dtype_name(t->t.dtype));
    if (fresh(L, 2, g))
        g->flags |= FML_GRAD_RECYCLABLE;
    else
        g->flags &= ~(unsigned)FML_GRAD_RECYCLABLE;
    lua_settop(L, 2);
    lua_setiuservalue(L, 1, FML_UV_GRAD);
    return 0;
}

static int l_release_grads(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    push_spares(L);
    int spares = lua_gettop(L);
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        if (!fmL_testud(L, -1))
            return luaL_error(L, "zero_grad: parameter %d is not a tensor", (int)i);
        lua_getiuservalue(L, -1, FML_UV_GRAD);
        fmL_tensor *g = fmL_testud(L, -1);
        lua_pushvalue(L, -2);
        if (g && (g->flags & FML_GRAD_RECYCLABLE))
            lua_pushvalue(L, -2);
        else
            lua_pushnil(L);
        lua_rawset(L, spares); /* spares[param] = recyclable grad or nil */
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_setiuservalue(L, -2, FML_UV_GRAD);
        lua_pop(L, 1);
    }
    return 0;
}

static int l_has_spare(lua_State *L)
{
    fmL_checkud(L, 1);
    push_spares(L);
    lua_pushvalue(L, 1);
    lua_pushboolean(L, lua_rawget(L, -2) != LUA_TNIL);
    return 1;
}

static const luaL_Reg grad_buffer_functions[] = {
    {"install_grad", l_install_grad}, {"release_grads", l_release_grads},
    {"has_spare", l_has_spare}, {NULL, NULL}};

void fmL_open_grad_buffers(lua_State *L)
{
    fmL_submodule(L, "_autograd", grad_buffer_functions);
}
