/* sinkhorn.c — fm.ot.sinkhorn, fm.ot.sinkhorn_cost and fm.ot.sample_plan over
 * engine/eval/sinkhorn.h (docs/math.md §4, "Entropic couplings"; docs/ot.md).
 *
 *   fm.ot.sinkhorn(x, y, opts) -> plan, cost, info
 *          x (n, d), y (m, d) points, squared Euclidean cost
 *   fm.ot.sinkhorn_cost(C, opts) -> plan, cost, info    C (n, m) costs
 *          opts.eps (> 0, required), opts.iters (1000), opts.tol (1e-9, on
 *          the L1 error of the row sums), opts.wa (n,) / opts.wb (m,)
 *          weights (default uniform; normalised), opts.check (true: not
 *          converging is an error; false: info.converged says so).
 *          plan (n, m) float64, cost = <plan, C>,
 *          info = {iters, err, converged, f = (n,), g = (m,) potentials}
 *   fm.ot.sample_plan(plan, k) -> rows, cols   k pairs (1-based int64 (k,))
 *          drawn with probability plan_ij / sum(plan) on fm's generator
 */
#include "core/lfm.h"
#include "core/rng.h"
#include "eval/assign.h"
#include "eval/points.h"
#include "eval/sinkhorn.h"

#include <math.h>

/* The float tensor or nested table at idx as contiguous float64 data of
 * ndim dims (a Lua-owned copy when needed, left on the stack above the
 * value); what (e.g. "opts.wa") and expect name it in errors. */
static const double *f64_data(lua_State *L, int idx, int ndim,
                              const char *what, const char *expect,
                              fm_tensor *desc)
{
    idx = lua_absindex(L, idx);
    if (!fmL_testtensor(L, idx)) fmL_totensor(L, idx, FM_FLOAT64);
    fm_tensor *t = fmL_testtensor(L, idx);
    if (!t || !fm_dtype_is_float(t->dtype) || t->ndim != ndim)
        luaL_error(L, "fm.ot.sinkhorn: %s must be a %s float tensor, got %s",
                   what, expect, t ? fmL_pushshape(L, t) : luaL_typename(L, idx));
    *desc = *t;
    if (t->dtype == FM_FLOAT64 && fm_tensor_is_contiguous(t)) return t->data;
    fm_tensor *cp = fmL_newtensor(L, "fm.ot.sinkhorn", FM_FLOAT64, ndim, t->shape);
    double *d = cp->data;
    int64_t numel = fm_tensor_numel(t);
    for (int64_t k = 0; k < numel; k++) d[k] = fm_tensor_get(t, k);
    return d;
}

static double opt_number(lua_State *L, int opts, const char *key, double def,
                         int required)
{
    int ok, type = lua_getfield(L, opts, key);
    if (type == LUA_TNIL && !required) {
        lua_pop(L, 1);
        return def;
    }
    double v = lua_tonumberx(L, -1, &ok);
    if (!ok)
        luaL_error(L, "fm.ot.sinkhorn: opts.%s must be a number, got %s", key,
                   luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

/* opts.wa / opts.wb (k entries) as data, or NULL when absent. */
static const double *opt_weights(lua_State *L, int opts, const char *key,
                                 int64_t k)
{
    if (lua_getfield(L, opts, key) == LUA_TNIL) {
        lua_pop(L, 1);
        return NULL;
    }
    fm_tensor desc;
    const char *what = lua_pushfstring(L, "opts.%s", key);
    lua_insert(L, -2); /* keep the name below the value */
    const double *w = f64_data(L, -1, 1, what, "(n,)", &desc);
    if (desc.shape[0] != k)
        luaL_error(L, "fm.ot.sinkhorn: opts.%s has %d weights, the points %d",
                   key, (int)desc.shape[0], (int)k);
    return w; /* its storage stays on the stack */
}

static void read_opts(lua_State *L, int opts, fm_sinkhorn_opts *o, int *check)
{
    luaL_argexpected(L, lua_istable(L, opts), opts, "options table {eps = ...}");
    o->eps = opt_number(L, opts, "eps", 0, 1);
    if (!(o->eps > 0) || o->eps == HUGE_VAL)
        luaL_error(L, "fm.ot.sinkhorn: opts.eps must be finite and > 0, got %f",
                   o->eps);
    double iters = opt_number(L, opts, "iters", 1000, 0);
    if (!(iters >= 1 && iters <= 1e12) || iters != (double)(int64_t)iters)
        luaL_error(L, "fm.ot.sinkhorn: opts.iters must be an integer >= 1, got %f",
                   iters);
    o->max_iters = (int64_t)iters;
    o->tol = opt_number(L, opts, "tol", 1e-9, 0);
    if (!(o->tol >= 0))
        luaL_error(L, "fm.ot.sinkhorn: opts.tol must be >= 0, got %f", o->tol);
    lua_getfield(L, opts, "check");
    *check = lua_isnil(L, -1) || lua_toboolean(L, -1);
    lua_pop(L, 1);
}

/* Runs the solver on cost (n x m) with the options at index opts and pushes
 * plan, cost, info. */
static int solve(lua_State *L, const double *cost, int64_t n, int64_t m,
                 int opts)
{
    fm_sinkhorn_opts o;
    int check;
    read_opts(L, opts, &o, &check);
    const double *wa = opt_weights(L, opts, "wa", n);
    const double *wb = opt_weights(L, opts, "wb", m);
    int64_t sp[2] = { n, m };
    fm_tensor *plan = fmL_newtensor(L, "fm.ot.sinkhorn", FM_FLOAT64, 2, sp);
    int top = lua_gettop(L);
    fm_tensor *f = fmL_newtensor(L, "fm.ot.sinkhorn", FM_FLOAT64, 1, &sp[0]);
    fm_tensor *g = fmL_newtensor(L, "fm.ot.sinkhorn", FM_FLOAT64, 1, &sp[1]);
    fm_sinkhorn_info info;
    fmL_check(L, fm_sinkhorn(cost, n, m, wa, wb, &o, plan->data, f->data,
                             g->data, &info), "fm.ot.sinkhorn");
    if (check && !info.converged)
        luaL_error(L, "fm.ot.sinkhorn: not converged after %d iterations "
                   "(marginal error %f > tol %f; raise opts.iters or opts.eps, "
                   "or pass opts.check = false to get the plan anyway)",
                   (int)info.iters, info.err, o.tol);
    lua_pushvalue(L, top);
    lua_pushnumber(L, info.cost);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, info.iters);
    lua_setfield(L, -2, "iters");
    lua_pushnumber(L, info.err);
    lua_setfield(L, -2, "err");
    lua_pushboolean(L, info.converged);
    lua_setfield(L, -2, "converged");
    lua_pushvalue(L, top + 1);
    lua_setfield(L, -2, "f");
    lua_pushvalue(L, top + 2);
    lua_setfield(L, -2, "g");
    return 3;
}

static int l_sinkhorn(lua_State *L)
{
    fm_tensor x = fmL_checkpoints(L, 1), y = fmL_checkpoints(L, 2);
    if (x.shape[1] != y.shape[1] || x.shape[0] < 1 || y.shape[0] < 1)
        luaL_error(L, "fm.ot.sinkhorn: x %s and y %s must be (n, d) and (m, d) "
                   "points, n, m >= 1", fmL_pushshape(L, &x), fmL_pushshape(L, &y));
    int64_t sp[2] = { x.shape[0], y.shape[0] };
    fm_tensor *c = fmL_newtensor(L, "fm.ot.sinkhorn", FM_FLOAT64, 2, sp);
    fmL_check(L, fm_assign_sqdist(&x, &y, c->data), "fm.ot.sinkhorn");
    return solve(L, c->data, sp[0], sp[1], 3);
}

static int l_sinkhorn_cost(lua_State *L)
{
    fm_tensor desc;
    const double *c = f64_data(L, 1, 2, "the cost", "(n, m)", &desc);
    return solve(L, c, desc.shape[0], desc.shape[1], 2);
}

static int l_sample_plan(lua_State *L)
{
    fm_tensor desc;
    const double *p = f64_data(L, 1, 2, "the plan", "(n, m)", &desc);
    lua_Integer k = luaL_checkinteger(L, 2);
    luaL_argcheck(L, k >= 0, 2, "number of pairs must be >= 0");
    int64_t sk[1] = { (int64_t)k };
    fm_tensor *rows = fmL_newtensor(L, "fm.ot.sample_plan", FM_INT64, 1, sk);
    fm_tensor *cols = fmL_newtensor(L, "fm.ot.sample_plan", FM_INT64, 1, sk);
    fmL_check(L, fm_plan_sample(fm_rng_global(), p, desc.shape[0], desc.shape[1],
                                k, 1, rows->data, cols->data), "fm.ot.sample_plan");
    return 2;
}

void fmL_open_sinkhorn(lua_State *L)
{
    static const luaL_Reg ot[] = {
        { "sinkhorn", l_sinkhorn },
        { "sinkhorn_cost", l_sinkhorn_cost },
        { "sample_plan", l_sample_plan },
        { NULL, NULL },
    };
    fmL_submodule(L, "ot", ot);
}
