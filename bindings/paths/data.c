/* data.c — fm.data: Gaussian mixtures, toy data sets and exact path
 * marginals, over engine/gmm.c and engine/datasets.c.
 *
 *   local g = fm.data.gmm{means = {{0, 0}, {3, 3}}, stds = 0.5, weights = {1, 2}}
 *     stds: a number, (k,) or (k, d); or vars (k, d); or covs (k, d, d)
 *   g:sample(n) -> x (n, d), labels (n,) int64 (1-based); g:log_prob(x) (n,);
 *   g:score(x) (n, d); g:dim(); g:components()
 *   fm.data.gaussians8{count = 8, radius = 5, std = sqrt(0.1)} is a gmm too.
 *   fm.data.moons{noise = 0.2, scale = 3, shift = -1}, circles, checkerboard,
 *     spirals, swissroll, pinwheel: :sample(n) -> x, labels
 *   local f = path:marginal(g): f(x, t) / f:velocity(x, t), f:score(x, t),
 *     (t a number or one time per row of x),
 *     f:log_prob(x, t) (t a number).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "paths/datasets.h"
#include "paths/gmm.h"
#include "paths/lpath.h"
#include "core/view.h"

#define FML_GMM "fm.GMM"
#define FML_DATASET "fm.Dataset"
#define FML_MARGINAL "fm.Marginal"

/* ---- mixtures ----------------------------------------------------------- */

static fm_gmm *check_gmm(lua_State *L, int idx) { return luaL_checkudata(L, idx, FML_GMM); }

static fm_gmm *new_gmm(lua_State *L)
{
    fm_gmm *g = lua_newuserdatauv(L, sizeof *g, 0);
    memset(g, 0, sizeof *g);
    luaL_setmetatable(L, FML_GMM);
    return g;
}

/* Variances (k*d) or full covariances from the opts table at 1. */
static void gmm_cov(lua_State *L, int64_t k, int64_t d, double *out, bool *full)
{
    int top = lua_gettop(L);
    *full = false;
    for (int64_t i = 0; i < k * d; i++) out[i] = 1;
    if (lua_getfield(L, 1, "covs") != LUA_TNIL) {
        fm_tensor *c = fmL_totensor(L, -1, FM_FLOAT64);
        luaL_argcheck(L, c->ndim == 3 && c->shape[0] == k && c->shape[1] == d &&
                      c->shape[2] == d, 1, "covs must be (k, d, d)");
        for (int64_t i = 0; i < k * d * d; i++) out[i] = fm_tensor_get(c, i);
        *full = true;
    } else if (lua_getfield(L, 1, "vars"), !lua_isnil(L, -1)) {
        fm_tensor *v = fmL_totensor(L, -1, FM_FLOAT64);
        luaL_argcheck(L, fm_tensor_numel(v) == k * d, 1, "vars must be (k, d)");
        for (int64_t i = 0; i < k * d; i++) out[i] = fm_tensor_get(v, i);
    } else if (lua_getfield(L, 1, "stds"), !lua_isnil(L, -1)) {
        fm_tensor *s = fmL_totensor(L, -1, FM_FLOAT64);
        int64_t m = fm_tensor_numel(s);
        luaL_argcheck(L, m == 1 || m == k || m == k * d, 1,
                      "stds must be a number, (k,) or (k, d)");
        for (int64_t i = 0; i < k * d; i++) {
            double sd = fm_tensor_get(s, m == 1 ? 0 : m == k ? i / d : i);
            out[i] = sd * sd;
        }
    }
    lua_settop(L, top);
}

static int l_gmm(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_getfield(L, 1, "means");
    fm_tensor *m = fmL_totensor(L, 2, FM_FLOAT64);
    luaL_argcheck(L, m->ndim == 2, 1, "means must be (k, d)");
    int64_t k = m->shape[0], d = m->shape[1];
    luaL_argcheck(L, k >= 1 && d >= 1 && k * d <= (1 << 24), 1, "bad means shape");
    double *buf = lua_newuserdatauv(L, (size_t)(k + k * d + k * d * d) * sizeof(double), 0);
    double *w = buf, *mean = w + k, *cov = mean + k * d;   /* stack slot 3 */
    for (int64_t i = 0; i < k * d; i++) mean[i] = fm_tensor_get(m, i);
    lua_getfield(L, 1, "weights");
    bool has_w = !lua_isnil(L, -1);
    if (has_w) {
        fm_tensor *wt = fmL_totensor(L, -1, FM_FLOAT64);
        luaL_argcheck(L, fm_tensor_numel(wt) == k, 1, "weights must be (k,)");
        for (int64_t i = 0; i < k; i++) w[i] = fm_tensor_get(wt, i);
    }
    lua_pop(L, 1);
    bool full;
    gmm_cov(L, k, d, cov, &full);
    fm_gmm tmp;
    fmL_check(L, fm_gmm_init_raw(&tmp, k, d, has_w ? w : NULL, mean, cov, full), "fm.data.gmm");
    *new_gmm(L) = tmp;
    return 1;
}

static int l_gaussians8(lua_State *L)
{
    fm_dataset ds;
    fm_dataset_defaults(&ds, "gaussians8");
    int64_t k = ds.count;
    double r = ds.radius, sd = ds.noise;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "count");
        k = luaL_optinteger(L, -1, k);
        lua_getfield(L, 1, "radius");
        r = luaL_optnumber(L, -1, r);
        lua_getfield(L, 1, "std");
        sd = luaL_optnumber(L, -1, sd);
        lua_pop(L, 3);
    }
    luaL_argcheck(L, k >= 1 && k <= 4096, 1, "count must be in [1, 4096]");
    double *buf = lua_newuserdatauv(L, (size_t)(3 * k) * sizeof(double), 0);
    for (int64_t c = 0; c < k; c++) {
        buf[2 * c] = r * cos(2 * M_PI * c / k);
        buf[2 * c + 1] = r * sin(2 * M_PI * c / k);
        buf[2 * k + c] = 1;
    }
    double *var = lua_newuserdatauv(L, (size_t)(2 * k) * sizeof(double), 0);
    for (int64_t i = 0; i < 2 * k; i++) var[i] = sd * sd;
    fm_gmm tmp;
    fmL_check(L, fm_gmm_init_raw(&tmp, k, 2, buf + 2 * k, buf, var, false), "fm.data.gaussians8");
    *new_gmm(L) = tmp;
    return 1;
}

static int64_t check_n(lua_State *L, int idx)
{
    lua_Integer n = luaL_checkinteger(L, idx);
    luaL_argcheck(L, n >= 0, idx, "sample size must be >= 0");
    return n;
}

static int l_gmm_sample(lua_State *L)
{
    fm_gmm *g = check_gmm(L, 1);
    int64_t n = check_n(L, 2), shape[2] = {n, g->d};
    fm_tensor *x = fmL_newtensor(L, "gmm:sample", fmL_optdtype(L, 3, fmL_default_dtype(L)), 2, shape);
    fm_tensor *lab = fmL_newtensor(L, "gmm:sample", FM_INT64, 1, shape);
    fmL_check(L, fm_gmm_sample(g, fm_rng_global(), x, lab, 1), "gmm:sample");
    return 2;
}

static int l_gmm_log_prob(lua_State *L)
{
    fm_gmm *g = check_gmm(L, 1);
    fm_tensor *x = fmL_totensor(L, 2, fmL_default_dtype(L));
    fm_tensor *out = fmL_newtensor(L, "gmm:log_prob", x->dtype, 1, x->shape);
    fmL_check(L, fm_gmm_log_prob(g, x, out), "gmm:log_prob");
    return 1;
}

static int l_gmm_score(lua_State *L)
{
    fm_gmm *g = check_gmm(L, 1);
    fm_tensor *x = fmL_totensor(L, 2, fmL_default_dtype(L));
    fm_tensor *out = fmL_newlike(L, "gmm:score", x);
    fmL_check(L, fm_gmm_score(g, x, out), "gmm:score");
    return 1;
}

static int l_gmm_dim(lua_State *L) { lua_pushinteger(L, check_gmm(L, 1)->d); return 1; }
static int l_gmm_k(lua_State *L) { lua_pushinteger(L, check_gmm(L, 1)->k); return 1; }
static int l_gmm_gc(lua_State *L) { fm_gmm_free(check_gmm(L, 1)); return 0; }

/* Printing: 4 significant digits, at most PRINT_MAX items of a list. */
#define PRINT_MAX 3
static void add_number(luaL_Buffer *b, const char *before, double v)
{
    char num[32];
    snprintf(num, sizeof num, "%.4g", v);
    luaL_addstring(b, before);
    luaL_addstring(b, num);
}

/* "(a, b, ...)": up to PRINT_MAX numbers of v. */
static void add_vector(luaL_Buffer *b, const double *v, int64_t n)
{
    for (int64_t i = 0; i < n && i < PRINT_MAX; i++)
        add_number(b, i ? ", " : "(", v[i]);
    luaL_addstring(b, n > PRINT_MAX ? ", ...)" : ")");
}

/* fm.GMM(k components in d-d: w = .., mean = (..), std = (..); ...): the
 * first PRINT_MAX components, with their standard deviations when the
 * covariances are diagonal. */
static int l_gmm_tostring(lua_State *L)
{
    fm_gmm *g = check_gmm(L, 1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "fm.GMM(%d component%s in %d-d", (int)g->k, g->k == 1 ? "" : "s",
                    (int)g->d);
    luaL_addvalue(&b);
    for (int64_t c = 0; c < g->k && c < PRINT_MAX; c++) {
        add_number(&b, "; w = ", g->w[c]);
        luaL_addstring(&b, ", mean = ");
        add_vector(&b, g->mean + c * g->d, g->d);
        luaL_addstring(&b, g->full ? ", full covariance" : ", std = ");
        if (!g->full)
            add_vector(&b, g->chol + c * g->d, g->d);
    }
    luaL_addstring(&b, g->k > PRINT_MAX ? "; ...)" : ")");
    luaL_pushresult(&b);
    return 1;
}

/* ---- toy data sets ------------------------------------------------------ */

static int new_dataset(lua_State *L, const char *name)
{
    fm_dataset *ds = lua_newuserdatauv(L, sizeof *ds, 0);
    fm_dataset_defaults(ds, name);
    luaL_setmetatable(L, FML_DATASET);
    if (lua_istable(L, 1)) {
        static const char *keys[] = {"noise", "factor", "rate", "scale", "shift"};
        double *f[] = {&ds->noise, &ds->factor, &ds->rate, &ds->scale, &ds->shift};
        for (int i = 0; i < 5; i++) {
            lua_getfield(L, 1, keys[i]);
            *f[i] = luaL_optnumber(L, -1, *f[i]);
            lua_pop(L, 1);
        }
        lua_getfield(L, 1, "count");
        ds->count = luaL_optinteger(L, -1, ds->count);
        lua_pop(L, 1);
    }
    return 1;
}

#define DATASET(name) static int l_##name(lua_State *L) { return new_dataset(L, #name); }
DATASET(moons) DATASET(circles) DATASET(checkerboard) DATASET(spirals)
DATASET(swissroll) DATASET(pinwheel)

static int l_ds_sample(lua_State *L)
{
    fm_dataset *ds = luaL_checkudata(L, 1, FML_DATASET);
    int64_t n = check_n(L, 2), shape[2] = {n, 2};
    fm_tensor *x = fmL_newtensor(L, "dataset:sample", fmL_optdtype(L, 3, fmL_default_dtype(L)), 2, shape);
    fm_tensor *lab = fmL_newtensor(L, "dataset:sample", FM_INT64, 1, shape);
    fmL_check(L, fm_dataset_sample(ds, fm_rng_global(), x, lab, 1), "dataset:sample");
    return 2;
}

/* fm.Dataset(moons, noise = 0.2, scale = 3, shift = -1): the parameters the
 * set uses (count and factor and rate only where they mean something). */
static int l_ds_tostring(lua_State *L)
{
    fm_dataset *ds = luaL_checkudata(L, 1, FML_DATASET);
    const char *name = fm_dataset_name(ds->kind);
    int pinwheel = strcmp(name, "pinwheel") == 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "fm.Dataset(");
    luaL_addstring(&b, name);
    add_number(&b, ", noise = ", ds->noise);
    if (pinwheel) {
        add_number(&b, ", count = ", (double)ds->count);
        add_number(&b, ", rate = ", ds->rate);
    }
    if (pinwheel || strcmp(name, "circles") == 0)
        add_number(&b, ", factor = ", ds->factor);
    add_number(&b, ", scale = ", ds->scale);
    add_number(&b, ", shift = ", ds->shift);
    luaL_addchar(&b, ')');
    luaL_pushresult(&b);
    return 1;
}

static int l_ds_classes(lua_State *L)
{
    lua_pushinteger(L, fm_dataset_num_classes(luaL_checkudata(L, 1, FML_DATASET)));
    return 1;
}

/* ---- exact marginal fields: path:marginal(gmm) -------------------------- */

/* user values: 1 = the path, 2 = the mixture */
static int l_marginal(lua_State *L)
{
    fmL_checkpath(L, 1);
    check_gmm(L, 2);
    lua_newuserdatauv(L, 1, 2);
    luaL_setmetatable(L, FML_MARGINAL);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, 2);
    return 1;
}

enum { M_LOGP, M_SCORE, M_VEL };

/* f(x, t): t a number, or a tensor of one time per row ((N,) or (N, 1)),
 * evaluated row by row (each row's time factorises the mixture anew). */
static int marginal_eval(lua_State *L, int what, const char *name)
{
    luaL_checkudata(L, 1, FML_MARGINAL);
    fm_tensor *x = fmL_totensor(L, 2, fmL_default_dtype(L));
    fm_tensor *ts = lua_isnumber(L, 3) ? NULL : fmL_testtensor(L, 3);
    double t = ts ? 0 : luaL_checknumber(L, 3);
    if (ts && (x->ndim != 2 || fm_tensor_numel(ts) != x->shape[0] ||
               ts->ndim > 2 || (ts->ndim == 2 && ts->shape[1] != 1)))
        return luaL_argerror(L, 3, lua_pushfstring(L, "%s: t must be a number or "
            "one time per row of x, (%d) or (%d, 1), got shape %s", name,
            (int)(x->ndim == 2 ? x->shape[0] : -1), (int)(x->ndim == 2 ? x->shape[0] : -1),
            fmL_pushshape(L, ts)));
    lua_getiuservalue(L, 1, 1);
    fmL_path *lp = fmL_checkpath(L, -1);
    lua_getiuservalue(L, 1, 2);
    fm_gmm *g = check_gmm(L, -1);
    fm_tensor *out = what == M_LOGP ? fmL_newtensor(L, name, x->dtype, 1, x->shape)
                                    : fmL_newlike(L, name, x);
    int64_t rows = ts ? x->shape[0] : 1;
    for (int64_t i = 0; i < rows; i++) {
        fm_tensor xr = *x, orow = *out;
        if (ts) {
            fm_view_narrow(x, 0, i, 1, &xr);
            fm_view_narrow(out, 0, i, 1, &orow);
            t = fm_tensor_get(ts, i);
        }
        fmL_check(L, fm_gmm_marginal(g, &lp->p, t, &xr, what == M_LOGP ? &orow : NULL,
                                     what == M_SCORE ? &orow : NULL,
                                     what == M_VEL ? &orow : NULL), name);
    }
    return 1;
}

static int l_m_velocity(lua_State *L) { return marginal_eval(L, M_VEL, "marginal:velocity"); }
static int l_m_score(lua_State *L) { return marginal_eval(L, M_SCORE, "marginal:score"); }
static int l_m_log_prob(lua_State *L) { return marginal_eval(L, M_LOGP, "marginal:log_prob"); }
static int l_m_call(lua_State *L) { return marginal_eval(L, M_VEL, "marginal"); }

/* fm.Marginal(path = fm.Path(...), data = fm.GMM(...)) */
static int l_m_tostring(lua_State *L)
{
    luaL_checkudata(L, 1, FML_MARGINAL);
    lua_getiuservalue(L, 1, 1);
    const char *path = luaL_tolstring(L, -1, NULL);
    lua_getiuservalue(L, 1, 2);
    const char *data = luaL_tolstring(L, -1, NULL);
    lua_pushfstring(L, "fm.Marginal(path = %s, data = %s)", path, data);
    return 1;
}

static void new_class(lua_State *L, const char *tname, const luaL_Reg *methods,
                      lua_CFunction gc, lua_CFunction call, lua_CFunction tostring)
{
    luaL_newmetatable(L, tname);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
    if (gc) { lua_pushcfunction(L, gc); lua_setfield(L, -2, "__gc"); }
    if (call) { lua_pushcfunction(L, call); lua_setfield(L, -2, "__call"); }
    lua_pop(L, 1);
}

void fmL_open_data(lua_State *L)
{
    static const luaL_Reg gmm_m[] = {{"sample", l_gmm_sample}, {"log_prob", l_gmm_log_prob},
        {"score", l_gmm_score}, {"dim", l_gmm_dim}, {"components", l_gmm_k}, {NULL, NULL}};
    static const luaL_Reg ds_m[] = {{"sample", l_ds_sample}, {"classes", l_ds_classes},
        {NULL, NULL}};
    static const luaL_Reg mar_m[] = {{"velocity", l_m_velocity}, {"score", l_m_score},
        {"log_prob", l_m_log_prob}, {NULL, NULL}};
    new_class(L, FML_GMM, gmm_m, l_gmm_gc, NULL, l_gmm_tostring);
    new_class(L, FML_DATASET, ds_m, NULL, NULL, l_ds_tostring);
    new_class(L, FML_MARGINAL, mar_m, NULL, l_m_call, l_m_tostring);
    /* path:marginal(gmm) */
    luaL_getmetatable(L, FML_PATH);
    lua_getfield(L, -1, "__index");
    lua_pushcfunction(L, l_marginal);
    lua_setfield(L, -2, "marginal");
    lua_pop(L, 2);
    static const luaL_Reg funcs[] = {{"gmm", l_gmm}, {"gaussians8", l_gaussians8},
        {"moons", l_moons}, {"circles", l_circles}, {"checkerboard", l_checkerboard},
        {"spirals", l_spirals}, {"swissroll", l_swissroll}, {"pinwheel", l_pinwheel},
        {NULL, NULL}};
    fmL_submodule(L, "data", funcs);
}
