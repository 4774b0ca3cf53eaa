/* optim.c — one C call per optimiser step over all parameters
 * (engine/optim.h); scripts/fm/optim.lua holds the state and the API.
 *
 *   fm._optim.sgd(params, bufs, lr, momentum, dampening, wd, nesterov, first)
 *   fm._optim.adam(params, ms, vs, steps, lr, b1, b2, eps, wd, decoupled)
 *   fm._optim.grad_norm(params) -> global L2 norm of the .grad tensors
 *   fm._optim.scale_grads(params, s)
 *   fm._optim.ema(avgs, params, decay)
 * params is a list of tensors; a parameter whose .grad is nil is skipped
 * (as torch does). State lists are parallel to params. */
#include "core/lfm.h"
#include "nn/optim.h"

#include <math.h>

/* Pushes params[i] and its .grad; returns the grad tensor or NULL (both
 * stay pushed: the caller pops 2). */
static fm_tensor *param_and_grad(lua_State *L, int list, int i, fm_tensor **p)
{
    lua_rawgeti(L, list, i);
    *p = fmL_checktensor(L, -1);
    lua_getiuservalue(L, -1, FML_UV_GRAD);
    return fmL_testtensor(L, -1);
}

static fm_tensor *state_at(lua_State *L, int list, int i)
{
    lua_rawgeti(L, list, i);
    fm_tensor *t = fmL_testtensor(L, -1);
    lua_pop(L, 1); /* anchored by the list */
    return t;
}

static int l_sgd(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    fm_sgd_opts o = {.lr = luaL_checknumber(L, 3),
                     .momentum = luaL_checknumber(L, 4),
                     .dampening = luaL_checknumber(L, 5),
                     .weight_decay = luaL_checknumber(L, 6),
                     .nesterov = lua_toboolean(L, 7)};
    bool first = lua_toboolean(L, 8);
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        fm_tensor *p, *g = param_and_grad(L, 1, (int)i, &p);
        if (g)
            fmL_check(L, fm_optim_sgd(p, g, state_at(L, 2, (int)i), &o, first), "sgd");
        lua_pop(L, 2);
    }
    return 0;
}

static int l_adam(lua_State *L)
{
    for (int a = 1; a <= 4; a++)
        luaL_checktype(L, a, LUA_TTABLE);
    fm_adam_opts o = {.lr = luaL_checknumber(L, 5),
                      .beta1 = luaL_checknumber(L, 6),
                      .beta2 = luaL_checknumber(L, 7),
                      .eps = luaL_checknumber(L, 8),
                      .weight_decay = luaL_checknumber(L, 9),
                      .decoupled = lua_toboolean(L, 10)};
    const char *name = o.decoupled ? "adamw" : "adam";
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        fm_tensor *p, *g = param_and_grad(L, 1, (int)i, &p);
        if (g) {
            lua_rawgeti(L, 4, i);
            lua_Integer step = lua_tointeger(L, -1) + 1;
            lua_pop(L, 1);
            fm_tensor *m = state_at(L, 2, (int)i), *v = state_at(L, 3, (int)i);
            if (!m || !v)
                return luaL_error(L, "%s: missing state for parameter %d", name, (int)i);
            fmL_check(L, fm_optim_adam(p, g, m, v, &o, step), name);
            lua_pushinteger(L, step);
            lua_rawseti(L, 4, i);
        }
        lua_pop(L, 2);
    }
    return 0;
}

static int l_grad_norm(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 1);
    double total = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        fm_tensor *p, *g = param_and_grad(L, 1, (int)i, &p);
        if (g) {
            double norm;
            fmL_check(L, fm_optim_grad_norm(g, 1, &norm), "clip_grad_norm");
            total += norm * norm;
        }
        lua_pop(L, 2);
    }
    lua_pushnumber(L, sqrt(total));
    return 1;
}

static int l_scale_grads(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    double s = luaL_checknumber(L, 2);
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        fm_tensor *p, *g = param_and_grad(L, 1, (int)i, &p);
        if (g)
            fmL_check(L, fm_optim_scale(g, 1, s), "clip_grad_norm");
        lua_pop(L, 2);
    }
    return 0;
}

static int l_ema(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    double decay = luaL_checknumber(L, 3);
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        fm_tensor *avg = state_at(L, 1, (int)i), *p = state_at(L, 2, (int)i);
        if (!avg || !p)
            return luaL_error(L, "ema: entry %d is not a tensor", (int)i);
        fmL_check(L, fm_optim_ema(avg, p, decay), "ema");
    }
    return 0;
}

static const luaL_Reg optim_functions[] = {
    {"sgd", l_sgd}, {"adam", l_adam}, {"grad_norm", l_grad_norm},
    {"scale_grads", l_scale_grads}, {"ema", l_ema}, {NULL, NULL}};

void fmL_open_optim(lua_State *L)
{
    fmL_submodule(L, "_optim", optim_functions);
}
