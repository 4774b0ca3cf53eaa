/* integrate.c — the C side of fm.ode / fm.sde / fm.langevin (engine/
 * integrate.h). The public API is in scripts/fm/ode.lua, sde.lua,
 * langevin.lua; this file exports fm._integrate = {ode, sde, langevin}.
 *
 * A field argument is resolved once per solve into an fm_field:
 *   - an exact marginal field (path:marginal(gmm), "fm.Marginal") calls
 *     fm_gmm_marginal directly, no Lua per step;
 *   - anything else callable as f(x, t) is called once per stage with the
 *     whole batch, under lua_pcall: x is a fresh tensor (the callee may keep
 *     it), the result is checked for x's shape and copied into the solver's
 *     buffer. A Lua error is stored (registry ref) and the callback returns
 *     FM_EVALUE; the binding raises it after the engine has freed its memory.
 */
#include <math.h>
#include <string.h>

#include "paths/gmm.h"
#include "integrate/integrate.h"
#include "paths/lpath.h"
#include "nn/mlp.h"
#include "ops/ops.h"

#define FML_MARGINAL "fm.Marginal" /* bindings/data.c: uv 1 path, uv 2 gmm */
#define FML_GMM "fm.GMM"

typedef struct {
    lua_State *L;
    int fidx;        /* stack index of the Lua callable */
    int err_ref;     /* LUA_NOREF or the stored error message */
    const char *what;
    /* exact marginal */
    const fm_gmm *gmm;
    const fm_path *path;
    /* fused MLP field (fm.field over a fused network) */
    fm_mlp mlp;
    fm_tensor params[2 * FM_MLP_MAX_LAYERS];
    fm_mlp_work work;
    bool has_mlp;
    /* trampoline arguments */
    const fm_tensor *x;
    double t;
    fm_tensor *out;
    bool scalar_out;  /* log_prob: out is (n,) */
} fctx;

/* Runs inside lua_pcall with (ctx, f): y = f(x, t), copied into out. */
static int trampoline(lua_State *L)
{
    fctx *c = lua_touserdata(L, 1);
    lua_pushvalue(L, 2);
    fm_tensor *x = fmL_newlike(L, c->what, c->x);
    fmL_check(L, fm_copy(x, c->x), c->what);
    lua_pushnumber(L, c->t);
    lua_call(L, 2, 1);
    fm_tensor *y = fmL_testtensor(L, -1);
    if (!y) return luaL_error(L, "%s: the function returned %s, expected a tensor",
                              c->what, luaL_typename(L, -1));
    if (c->scalar_out) {
        int64_t n = fm_tensor_numel(c->out);
        if (fm_tensor_numel(y) != n)
            return luaL_error(L, "%s: log_prob returned %s, expected %d values", c->what,
                              fmL_pushshape(L, y), (int)n);
        for (int64_t i = 0; i < n; i++) fm_tensor_set(c->out, i, fm_tensor_get(y, i));
        return 0;
    }
    if (!fm_tensor_same_shape(y, c->x)) {
        const char *ys = fmL_pushshape(L, y);
        return luaL_error(L, "%s: the field returned %s for x of shape %s", c->what, ys,
                          fmL_pushshape(L, c->x));
    }
    fmL_check(L, fm_copy(c->out, y), c->what);
    return 0;
}

static fm_status lua_field(void *ctx, const fm_tensor *x, double t, fm_tensor *out)
{
    fctx *c = ctx;
    lua_State *L = c->L;
    c->x = x;
    c->t = t;
    c->out = out;
    lua_pushcfunction(L, trampoline);
    lua_pushlightuserdata(L, c);
    lua_pushvalue(L, c->fidx);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        c->err_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        return fm_error(FM_EVALUE, "%s: the Lua field failed", c->what);
    }
    return FM_OK;
}

static fm_status marginal_field(void *ctx, const fm_tensor *x, double t, fm_tensor *out)
{
    fctx *c = ctx;
    return fm_gmm_marginal(c->gmm, c->path, t, x, NULL, NULL, out);
}

static fm_status mlp_field(void *ctx, const fm_tensor *x, double t, fm_tensor *out)
{
    fctx *c = ctx;
    return fm_mlp_field_eval(&c->mlp, c->params, x, t, out, &c->work);
}

/* A fused MLP field: a table {kind = "mlp", sizes = {...}, act = "silu",
 * dtype = "float32", params = {W1, b1, ...}} (scripts/fm/field.lua makes it
 * from a network's fused handle). The parameter tensors stay referenced by
 * the table at idx during the solve; the workspace is freed by finish(). */
static void resolve_mlp(lua_State *L, int idx, fctx *c)
{
    int64_t sizes[FM_MLP_MAX_LAYERS + 1];
    lua_getfield(L, idx, "sizes");
    luaL_checktype(L, -1, LUA_TTABLE);
    int ns = (int)lua_rawlen(L, -1);
    luaL_argcheck(L, ns >= 2 && ns <= FM_MLP_MAX_LAYERS + 1, 1, "mlp field: bad sizes");
    for (int i = 0; i < ns; i++) {
        lua_rawgeti(L, -1, i + 1);
        sizes[i] = luaL_checkinteger(L, -1);
        lua_pop(L, 1);
    }
    lua_getfield(L, idx, "act");
    fm_act act;
    fmL_check(L, fm_act_parse(luaL_checkstring(L, -1), &act), c->what);
    lua_getfield(L, idx, "dtype");
    fm_dtype dt = fmL_optdtype(L, -1, FM_FLOAT32);
    fmL_check(L, fm_mlp_init(&c->mlp, ns, sizes, act, dt), c->what);
    lua_getfield(L, idx, "params");
    luaL_checktype(L, -1, LUA_TTABLE);
    for (int i = 0; i < 2 * c->mlp.nlayers; i++) {
        lua_rawgeti(L, -1, i + 1);
        fm_tensor *t = fmL_testtensor(L, -1);
        if (!t) luaL_error(L, "%s: mlp parameter %d is not a tensor", c->what, i + 1);
        c->params[i] = *t;
        lua_pop(L, 1);
    }
    lua_pop(L, 4);
    fmL_check(L, fm_mlp_check_params(&c->mlp, c->params, c->what), c->what);
    fm_mlp_work_init(&c->work);
    c->has_mlp = true;
}

/* Resolves the field at idx into c / the returned fm_field. */
static fm_field resolve(lua_State *L, int idx, fctx *c, const char *what)
{
    memset(c, 0, sizeof *c);
    c->L = L;
    c->fidx = lua_absindex(L, idx);
    c->err_ref = LUA_NOREF;
    c->what = what;
    if (luaL_testudata(L, idx, FML_MARGINAL)) {
        lua_getiuservalue(L, idx, 1);
        c->path = &fmL_checkpath(L, -1)->p; /* sets the path's lua_State */
        lua_getiuservalue(L, idx, 2);
        c->gmm = luaL_checkudata(L, -1, FML_GMM);
        lua_pop(L, 2); /* both stay referenced by the marginal at idx */
        return (fm_field){marginal_field, c};
    }
    if (lua_istable(L, idx) && lua_getfield(L, idx, "kind") == LUA_TSTRING &&
        strcmp(lua_tostring(L, -1), "mlp") == 0) {
        lua_pop(L, 1);
        resolve_mlp(L, c->fidx, c);
        return (fm_field){mlp_field, c};
    }
    if (lua_istable(L, idx)) lua_pop(L, 1);
    if (!lua_isfunction(L, idx) && !luaL_getmetafield(L, idx, "__call"))
        luaL_error(L, "%s: the field must be callable as f(x, t), got %s", what,
                   luaL_typename(L, idx));
    else if (!lua_isfunction(L, idx)) lua_pop(L, 1);
    return (fm_field){lua_field, c};
}

/* After an engine call: raise a stored Lua error, else check st. */
static void finish(lua_State *L, fctx *c, int n, fm_status st, const char *fname)
{
    for (int i = 0; i < n; i++)
        if (c[i].has_mlp) { fm_mlp_work_free(&c[i].work); c[i].has_mlp = false; }
    for (int i = 0; i < n; i++)
        if (c[i].err_ref != LUA_NOREF) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, c[i].err_ref);
            luaL_unref(L, LUA_REGISTRYINDEX, c[i].err_ref);
            lua_error(L);
        }
    if (st == FM_EINTERRUPT) fm_interrupt_clear();
    fmL_check(L, st, fname);
}

/* ---- options ------------------------------------------------------------ */

static double optnum(lua_State *L, int o, const char *k, double def)
{
    lua_getfield(L, o, k);
    double v = luaL_optnumber(L, -1, def);
    lua_pop(L, 1);
    return v;
}

/* Field k of the options at o as an integer >= min (def when absent): an
 * integer, or a float with an exact integer value; NaN, inf, fractions and
 * values below min are errors naming the function and the option (a NaN
 * cast to int64 is undefined behaviour). */
static int64_t optint(lua_State *L, int o, const char *k, int64_t def, int64_t min,
                      const char *fname)
{
    lua_getfield(L, o, k);
    int64_t v = def;
    if (lua_isinteger(L, -1)) {
        v = lua_tointeger(L, -1);
    } else if (!lua_isnil(L, -1)) {
        int ok = 0;
        double x = lua_tonumberx(L, -1, &ok);
        if (!ok || !isfinite(x) || x != floor(x) || fabs(x) > 9007199254740992.0) {
            const char *got = !ok ? luaL_typename(L, -1) : x != x ? "nan"
                              : lua_pushfstring(L, "%f", x);
            luaL_error(L, "%s: %s must be an integer >= %d, got %s", fname, k, (int)min, got);
        }
        v = (int64_t)x;
    }
    if (v < min)
        luaL_error(L, "%s: %s must be an integer >= %d, got %d", fname, k, (int)min, (int)v);
    lua_pop(L, 1);
    return v;
}

/* A list of numbers field k of the options at o as a new float64 tensor on
 * the stack (its data in *out, count in *n); pushes nil when absent. */
static void optlist(lua_State *L, int o, const char *k, const double **out, int64_t *n)
{
    lua_getfield(L, o, k);
    *out = NULL;
    *n = 0;
    if (lua_isnil(L, -1)) return;
    fm_tensor *t = fmL_totensor(L, -1, FM_FLOAT64);
    int64_t m = fm_tensor_numel(t);
    fm_tensor *d = fmL_newtensor(L, k, FM_FLOAT64, 1, &m);
    fmL_check(L, fm_copy(d, t), k);
    lua_replace(L, -2);
    *out = d->data;
    *n = m;
}

/* Grid and record options; pushes 2 values (times, record times). Record =
 * k: k evenly spaced times from t0 to t1 (both included). */
static fm_ode_opts parse_opts(lua_State *L, int o, const char *fname)
{
    fm_ode_opts op = fm_ode_opts_default();
    op.t0 = optnum(L, o, "t0", 0);
    op.t1 = optnum(L, o, "t1", 1);
    op.nsteps = optint(L, o, "steps", 100, 1, fname);
    op.rtol = optnum(L, o, "rtol", op.rtol);
    op.atol = optnum(L, o, "atol", op.atol);
    op.max_steps = optint(L, o, "max_steps", op.max_steps, 1, fname);
    op.h0 = optnum(L, o, "h0", 0);
    lua_getfield(L, o, "adaptive");
    op.fixed_grid = lua_toboolean(L, -1) == 0 && !lua_isnil(L, -1);
    lua_pop(L, 1);
    optlist(L, o, "times", &op.times, &op.ntimes);
    if (op.times && op.ntimes >= 2) { op.t0 = op.times[0]; op.t1 = op.times[op.ntimes - 1]; }
    lua_getfield(L, o, "record");
    if (lua_type(L, -1) == LUA_TNUMBER) {
        lua_pop(L, 1);
        int64_t k = optint(L, o, "record", 2, 2, fname);
        lua_pushnil(L); /* the slot the list branch would use */
        fm_tensor *r = fmL_newtensor(L, "record", FM_FLOAT64, 1, &k);
        fm_linspace(r, op.t0, op.t1);
        lua_replace(L, -2);
        op.rec_t = r->data;
        op.nrec = k;
    } else {
        lua_pop(L, 1);
        optlist(L, o, "record", &op.rec_t, &op.nrec);
    }
    return op;
}

/* Pushes the trajectory tensor (nrec, shape of x) or nil. */
static fm_tensor *push_traj(lua_State *L, const fm_tensor *x, int64_t nrec)
{
    if (nrec == 0) { lua_pushnil(L); return NULL; }
    int64_t shape[FM_MAX_DIMS];
    luaL_argcheck(L, x->ndim < FM_MAX_DIMS, 2, "too many dimensions to record");
    shape[0] = nrec;
    memcpy(shape + 1, x->shape, sizeof *shape * (size_t)x->ndim);
    return fmL_newtensor(L, "record", x->dtype, x->ndim + 1, shape);
}

static void push_stats(lua_State *L, const fm_ode_stats *s, int rec_idx)
{
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, s->nfe); lua_setfield(L, -2, "nfe");
    lua_pushinteger(L, s->accepted); lua_setfield(L, -2, "accepted");
    lua_pushinteger(L, s->rejected); lua_setfield(L, -2, "rejected");
    lua_pushvalue(L, rec_idx); lua_setfield(L, -2, "times");
}

/* Every element of the contiguous float tensor x is finite. */
static bool all_finite(const fm_tensor *x)
{
    int64_t n = fm_tensor_numel(x);
    if (x->dtype == FM_FLOAT32) {
        const float *v = x->data;
        for (int64_t i = 0; i < n; i++) if (!isfinite(v[i])) return false;
    } else {
        const double *v = x->data;
        for (int64_t i = 0; i < n; i++) if (!isfinite(v[i])) return false;
    }
    return true;
}

/* _integrate.ode(field, x0, method, opts) -> x1, traj|nil, stats */
static int l_ode(lua_State *L)
{
    fm_tensor *x0 = fmL_checkfloat(L, 2);
    fm_ode_method m;
    fmL_check(L, fm_ode_method_parse(luaL_checkstring(L, 3), &m), "ode.solve");
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_settop(L, 4);
    fm_ode_opts op = parse_opts(L, 4, "ode.solve");   /* 5 times, 6 record times */
    fctx c;
    fm_field f = resolve(L, 1, &c, "ode.solve");
    fm_tensor *x1 = fmL_newlike(L, "ode.solve", x0);   /* 7 */
    fm_tensor *traj = push_traj(L, x0, op.nrec);        /* 8 */
    fm_ode_stats st;
    fm_status s;
    if (f.fn == mlp_field && m == FM_ODE_EULER && !traj && !op.times) {
        /* fused Euler: row blocks run all steps in cache (engine/mlp.h) */
        memset(&st, 0, sizeof st);
        s = fm_copy(x1, x0);
        if (s == FM_OK) s = fm_mlp_euler(&c.mlp, c.params, x1, op.t0, op.t1, op.nsteps, &c.work);
        if (s == FM_OK) st.nfe = st.accepted = op.nsteps;
        /* the fused loop does not look at the state between steps: when the
         * result is not finite, solve again step by step for the error that
         * names the step (engine/integrate/ode.c checks every step) */
        if (s == FM_OK && !all_finite(x1))
            s = fm_ode_solve(m, f, x0, &op, x1, traj, &st);
    } else {
        s = fm_ode_solve(m, f, x0, &op, x1, traj, &st);
    }
    finish(L, &c, 1, s, "ode.solve");
    push_stats(L, &st, 6);
    return 3;
}

typedef struct {
    lua_State *L;
    int fidx;
    int err_ref;
} gctx;

static fm_status lua_diffusion(void *ctx, double t, double *out)
{
    gctx *g = ctx;
    lua_pushvalue(g->L, g->fidx);
    lua_pushnumber(g->L, t);
    if (lua_pcall(g->L, 1, 1, 0) != LUA_OK) {
        g->err_ref = luaL_ref(g->L, LUA_REGISTRYINDEX);
        return fm_error(FM_EVALUE, "sde.solve: the diffusion function failed");
    }
    int ok;
    *out = lua_tonumberx(g->L, -1, &ok);
    lua_pop(g->L, 1);
    if (!ok) return fm_error(FM_EVALUE, "sde.solve: diffusion(t) must return a number");
    return FM_OK;
}

/* _integrate.sde(drift, diffusion, x0, method, opts) -> x1, traj|nil, stats */
static int l_sde(lua_State *L)
{
    fm_tensor *x0 = fmL_checkfloat(L, 3);
    fm_sde_method m;
    fmL_check(L, fm_sde_method_parse(luaL_checkstring(L, 4), &m), "sde.solve");
    luaL_checktype(L, 5, LUA_TTABLE);
    lua_settop(L, 5);
    fm_ode_opts op = parse_opts(L, 5, "sde.solve");   /* 6, 7 */
    fctx c[2];
    fm_field f = resolve(L, 1, &c[0], "sde.solve");
    gctx gc = {L, 2, LUA_NOREF};
    fm_diffusion g = {NULL, NULL, 0};
    if (lua_isnumber(L, 2)) g.value = lua_tonumber(L, 2);
    else { luaL_checktype(L, 2, LUA_TFUNCTION); g.fn = lua_diffusion; g.ctx = &gc; }
    fm_tensor *x1 = fmL_newlike(L, "sde.solve", x0);
    fm_tensor *traj = push_traj(L, x0, op.nrec);
    fm_ode_stats st;
    fm_status s = fm_sde_solve(m, f, g, fm_rng_global(), x0, &op, x1, traj, &st);
    c[1] = c[0];
    c[1].has_mlp = false; /* the workspace belongs to c[0] */
    c[1].err_ref = gc.err_ref;
    finish(L, c, 2, s, "sde.solve");
    push_stats(L, &st, 7);
    return 3;
}

static fm_status lua_logp(void *ctx, const fm_tensor *x, double t, fm_tensor *out)
{
    fctx *c = ctx;
    c->scalar_out = true;
    return lua_field(ctx, x, t, out);
}

static fm_status marginal_logp(void *ctx, const fm_tensor *x, double t, fm_tensor *out)
{
    fctx *c = ctx;
    return fm_gmm_marginal(c->gmm, c->path, t, x, out, NULL, NULL);
}

static fm_status marginal_score(void *ctx, const fm_tensor *x, double t, fm_tensor *out)
{
    fctx *c = ctx;
    return fm_gmm_marginal(c->gmm, c->path, t, x, NULL, out, NULL);
}

/* _integrate.langevin(score, x0, step, steps, log_prob|nil, t) -> x, accepted
 * An fm.Marginal as score uses its score (and log_prob when log_prob is
 * true) at level t. */
static int l_langevin(lua_State *L)
{
    fm_tensor *x0 = fmL_checkfloat(L, 2);
    double h = luaL_checknumber(L, 3);
    int64_t n = luaL_checkinteger(L, 4);
    double t = luaL_optnumber(L, 6, 1);
    lua_settop(L, 6);
    fctx c[2];
    fm_field f = resolve(L, 1, &c[0], "langevin");
    if (f.fn == marginal_field) f.fn = marginal_score;
    fm_logp_fn lp = NULL;
    void *lctx = NULL;
    if (lua_toboolean(L, 5)) {
        if (lua_isboolean(L, 5)) {
            luaL_argcheck(L, f.fn == marginal_score, 5, "log_prob = true needs a marginal");
            lp = marginal_logp;
            lctx = &c[0];
            c[1] = c[0];
            c[1].has_mlp = false;
            c[1].err_ref = LUA_NOREF;
        } else {
            resolve(L, 5, &c[1], "langevin: log_prob");
            lp = lua_logp;
            lctx = &c[1];
        }
    } else {
        c[1] = c[0];
        c[1].has_mlp = false;
    }
    fm_tensor *x = fmL_newlike(L, "langevin", x0);
    fmL_check(L, fm_copy(x, x0), "langevin");
    int64_t acc = 0;
    fm_status s = fm_langevin(f, lp, lctx, t, h, n, fm_rng_global(), x, &acc);
    if (lctx != &c[1]) c[1].err_ref = LUA_NOREF;
    finish(L, c, 2, s, "langevin");
    lua_pushinteger(L, acc);
    return 2;
}

/* _integrate.is_native(field): true when the field runs without Lua. */
static int l_is_native(lua_State *L)
{
    bool mlp = false;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "kind");
        mlp = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "mlp") == 0;
    }
    lua_pushboolean(L, mlp || luaL_testudata(L, 1, FML_MARGINAL) != NULL);
    return 1;
}

void fmL_open_integrate(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"ode", l_ode}, {"sde", l_sde},
        {"langevin", l_langevin}, {"is_native", l_is_native}, {NULL, NULL}};
    fmL_submodule(L, "_integrate", funcs);
}
