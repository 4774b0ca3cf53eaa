/* metrics.c — fm.metrics (sample-set distances) and fm.ot (exact
 * assignment) over engine/metrics.h and engine/assign.h (docs/math.md §10).
 *
 *   fm.metrics.mmd(a, b [, {bandwidths = {h...} | bandwidth = h}])
 *       -> mmd2, bandwidths   biased MMD^2, sum of RBF kernels; default
 *          bandwidths: median heuristic h_med * {0.5, 1, 2}, h_med the median
 *          pairwise distance of the pooled sample (1 if that is 0)
 *   fm.metrics.energy(a, b) -> energy distance (V-statistic)
 *   fm.metrics.sliced_w2(a, b [, {projections = 100, seed = s}]) -> SW2
 *          directions from fm's global generator, or a private one if seed
 *   fm.metrics.w2(a, b) -> exact W2 (equal sizes)
 *   fm.metrics.fd(features_a, features_b) -> Fréchet distance of the
 *          Gaussians fitted to two (n, d) feature sets (engine/eval/fd.h)
 *   fm.metrics.gaussian_stats(features) -> mu (d,), cov (d, d), float64,
 *          cov unbiased (divided by n - 1)
 *   fm.metrics.fd_stats(mu_a, cov_a, mu_b, cov_b) -> the same distance
 *          from statistics (for instance a cached reference)
 *   fm.metrics.knn(x, k) -> (n, k) float64 distances to the k nearest
 *          other points, ascending
 *   fm.metrics.intrinsic_dim(x [, {k = 10, average = "inverse" | "mean"}])
 *          -> dim, local   Levina–Bickel estimate (engine/eval/intrinsic_dim.h);
 *          local (n,) float64, each point's m_k
 *   fm.ot.assign(cost) -> perm, total   cost (n, m), n <= m; row i goes to
 *          column perm[i] (1-based int64 tensor (n,))
 *   fm.ot.match(a, b) -> perm, cost     a[i] paired with b[perm[i]] under the
 *          squared Euclidean cost; cost the summed squared distances
 * Points are (n, d) float tensors, (n,) tensors (read as (n, 1)) or nested
 * tables of numbers; features and statistics are float tensors or nested
 * tables of exactly the stated number of dimensions.
 */
#include "core/lfm.h"
#include "eval/assign.h"
#include "eval/fd.h"
#include "eval/intrinsic_dim.h"
#include "eval/metrics.h"
#include "eval/points.h"
#include "core/rng.h"

#include <math.h>
#include <string.h>

/* The point set at idx as an (n, d) descriptor (points.h). */
fm_tensor fmL_checkpoints(lua_State *L, int idx)
{
    if (!fmL_testtensor(L, idx)) fmL_totensor(L, idx, FM_FLOAT64);
    fm_tensor t = *fmL_checkfloat(L, idx);
    if (t.ndim == 1) {
        t.ndim = 2;
        t.shape[1] = 1;
        t.stride[1] = 1;
    }
    if (t.ndim != 2)
        luaL_argerror(L, idx, lua_pushfstring(L, "points (n, d) expected, "
                      "got %s", fmL_pushshape(L, &t)));
    return t;
}

static void check_pair(lua_State *L, const fm_tensor *a, const fm_tensor *b,
                       const char *fname, int same_n)
{
    if (a->shape[1] != b->shape[1] || (same_n && a->shape[0] != b->shape[0]))
        luaL_error(L, "%s: a %s and b %s must be %s", fname,
                   fmL_pushshape(L, a), fmL_pushshape(L, b),
                   same_n ? "of the same shape" : "(n, d) and (m, d)");
}

/* opts.bandwidths (a list) or opts.bandwidth (a number) of the options
 * table at index 3 into h; returns their count (0 if neither is given). */
static int opt_bandwidths(lua_State *L, double *h)
{
    int nb = 0, ok;
    if (lua_getfield(L, 3, "bandwidths") != LUA_TNIL) {
        luaL_argcheck(L, lua_istable(L, -1), 3, "bandwidths must be a list");
        nb = (int)luaL_len(L, -1);
        luaL_argcheck(L, nb >= 1 && nb <= 64, 3,
                      "bandwidths must hold 1 to 64 numbers");
        for (int l = 0; l < nb; l++) {
            lua_rawgeti(L, -1, l + 1);
            h[l] = lua_tonumberx(L, -1, &ok);
            luaL_argcheck(L, ok, 3, "bandwidths must be numbers");
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    if (nb == 0 && lua_getfield(L, 3, "bandwidth") != LUA_TNIL) {
        h[0] = lua_tonumberx(L, -1, &ok);
        luaL_argcheck(L, ok, 3, "bandwidth must be a number");
        nb = 1;
    }
    if (nb == 0 || lua_gettop(L) > 3) lua_settop(L, 3);
    return nb;
}

static int l_mmd(lua_State *L)
{
    fm_tensor a = fmL_checkpoints(L, 1), b = fmL_checkpoints(L, 2);
    check_pair(L, &a, &b, "fm.metrics.mmd", 0);
    double h[64];
    int nb = 0;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        nb = opt_bandwidths(L, h);
    }
    if (nb == 0) { /* median heuristic */
        double med = 0;
        fmL_check(L, fm_metric_median_dist(&a, &b, &med), "fm.metrics.mmd");
        if (!(med > 0)) med = 1.0;
        h[0] = 0.5 * med; h[1] = med; h[2] = 2.0 * med;
        nb = 3;
    }
    double v = 0;
    fmL_check(L, fm_metric_mmd(&a, &b, h, nb, &v), "fm.metrics.mmd");
    lua_pushnumber(L, v);
    lua_createtable(L, nb, 0);
    for (int l = 0; l < nb; l++) {
        lua_pushnumber(L, h[l]);
        lua_rawseti(L, -2, l + 1);
    }
    return 2;
}

static int l_energy(lua_State *L)
{
    fm_tensor a = fmL_checkpoints(L, 1), b = fmL_checkpoints(L, 2);
    check_pair(L, &a, &b, "fm.metrics.energy", 0);
    double v = 0;
    fmL_check(L, fm_metric_energy(&a, &b, &v), "fm.metrics.energy");
    lua_pushnumber(L, v);
    return 1;
}

static int l_sliced_w2(lua_State *L)
{
    fm_tensor a = fmL_checkpoints(L, 1), b = fmL_checkpoints(L, 2);
    check_pair(L, &a, &b, "fm.metrics.sliced_w2", 0);
    lua_Integer nproj = 100;
    fm_rng local, *rng = fm_rng_global();
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        if (lua_getfield(L, 3, "projections") != LUA_TNIL) {
            int ok;
            nproj = lua_tointegerx(L, -1, &ok);
            luaL_argcheck(L, ok && nproj >= 1 && nproj <= (1 << 24), 3,
                          "projections must be an integer in 1 .. 2^24");
        }
        if (lua_getfield(L, 3, "seed") != LUA_TNIL) {
            int ok;
            lua_Integer seed = lua_tointegerx(L, -1, &ok);
            luaL_argcheck(L, ok, 3, "seed must be an integer");
            fm_rng_seed(&local, (uint64_t)seed);
            rng = &local;
        }
        lua_pop(L, 2);
    }
    double v = 0;
    fmL_check(L, fm_metric_sliced_w2(&a, &b, (int)nproj, rng, &v),
              "fm.metrics.sliced_w2");
    lua_pushnumber(L, v);
    return 1;
}

static int l_w2(lua_State *L)
{
    fm_tensor a = fmL_checkpoints(L, 1), b = fmL_checkpoints(L, 2);
    check_pair(L, &a, &b, "fm.metrics.w2", 1);
    double v = 0;
    fmL_check(L, fm_metric_w2(&a, &b, &v), "fm.metrics.w2");
    lua_pushnumber(L, v);
    return 1;
}

/* The float tensor (or nested table) at idx, which must have ndim
 * dimensions; name and expect ("(n, d) features") go in the error. */
static fm_tensor check_ndim(lua_State *L, int idx, int ndim, const char *name,
                           const char *expect)
{
    if (!fmL_testtensor(L, idx)) fmL_totensor(L, idx, FM_FLOAT64);
    fm_tensor t = *fmL_checkfloat(L, idx);
    if (t.ndim != ndim)
        luaL_argerror(L, idx, lua_pushfstring(L, "%s: %s expected, got %s", name,
                      expect, fmL_pushshape(L, &t)));
    return t;
}

#define FEATURES(idx, name) check_ndim(L, idx, 2, name, "(n, d) features")
#define MEAN(idx, name) check_ndim(L, idx, 1, name, "(d,) mean")
#define COV(idx, name) check_ndim(L, idx, 2, name, "(d, d) covariance")

static int l_fd(lua_State *L)
{
    fm_tensor a = FEATURES(1, "features_a"), b = FEATURES(2, "features_b");
    double v = 0;
    fmL_check(L, fm_metric_fd(&a, &b, &v), "fm.metrics.fd");
    lua_pushnumber(L, v);
    return 1;
}

static int l_gaussian_stats(lua_State *L)
{
    fm_tensor x = FEATURES(1, "features");
    int64_t d = x.shape[1], sc[2] = { d, d };
    fm_tensor *mu = fmL_newtensor(L, "fm.metrics.gaussian_stats", FM_FLOAT64, 1, sc);
    fm_tensor *cov = fmL_newtensor(L, "fm.metrics.gaussian_stats", FM_FLOAT64, 2, sc);
    fmL_check(L, fm_gaussian_stats(&x, mu, cov), "fm.metrics.gaussian_stats");
    return 2;
}

static int l_fd_stats(lua_State *L)
{
    fm_tensor mu_a = MEAN(1, "mu_a"), cov_a = COV(2, "cov_a");
    fm_tensor mu_b = MEAN(3, "mu_b"), cov_b = COV(4, "cov_b");
    double v = 0;
    fmL_check(L, fm_fd_stats(&mu_a, &cov_a, &mu_b, &cov_b, &v), "fm.metrics.fd_stats");
    lua_pushnumber(L, v);
    return 1;
}

static void to_one_based(fm_tensor *perm)
{
    int64_t *p = perm->data;
    for (int64_t i = 0; i < perm->shape[0]; i++) p[i] += 1;
}

static int l_assign(lua_State *L)
{
    if (!fmL_testtensor(L, 1)) fmL_totensor(L, 1, FM_FLOAT64);
    fm_tensor *c = fmL_checktensor(L, 1);
    if (c->ndim != 2 || c->shape[0] > c->shape[1])
        luaL_argerror(L, 1, lua_pushfstring(L, "cost matrix (n, m) with "
                      "n <= m expected, got %s", fmL_pushshape(L, c)));
    int64_t n = c->shape[0], m = c->shape[1];
    const double *cost = c->data;
    if (!(c->dtype == FM_FLOAT64 && fm_tensor_is_contiguous(c))) {
        /* a Lua-owned float64 copy, freed by the collector even on error */
        fm_tensor *cp = fmL_newtensor(L, "fm.ot.assign", FM_FLOAT64, 2, c->shape);
        double *d = cp->data;
        for (int64_t k = 0; k < n * m; k++) d[k] = fm_tensor_get(c, k);
        cost = d;
    }
    int64_t sp[1] = { n };
    fm_tensor *perm = fmL_newtensor(L, "fm.ot.assign", FM_INT64, 1, sp);
    double total = 0;
    fmL_check(L, fm_assign_solve(cost, n, m, perm->data, &total), "fm.ot.assign");
    to_one_based(perm);
    lua_pushnumber(L, total);
    return 2;
}

static int l_match(lua_State *L)
{
    fm_tensor a = fmL_checkpoints(L, 1), b = fmL_checkpoints(L, 2);
    check_pair(L, &a, &b, "fm.ot.match", 1);
    int64_t sp[1] = { a.shape[0] };
    fm_tensor *perm = fmL_newtensor(L, "fm.ot.match", FM_INT64, 1, sp);
    double cost = 0;
    fmL_check(L, fm_assign_points(&a, &b, perm->data, &cost), "fm.ot.match");
    to_one_based(perm);
    lua_pushnumber(L, cost);
    return 2;
}

static int l_knn(lua_State *L)
{
    fm_tensor x = fmL_checkpoints(L, 1);
    lua_Integer k = luaL_checkinteger(L, 2);
    if (k < 1 || k >= x.shape[0])
        return luaL_error(L, "fm.metrics.knn: bad argument #2 'k' (1 .. n - 1 = %d "
                          "expected, got %d)", (int)(x.shape[0] - 1), (int)k);
    int64_t sp[2] = { x.shape[0], k };
    fm_tensor *out = fmL_newtensor(L, "fm.metrics.knn", FM_FLOAT64, 2, sp);
    fmL_check(L, fm_knn_dist(&x, k, out->data), "fm.metrics.knn");
    return 1;
}

static int l_intrinsic_dim(lua_State *L)
{
    fm_tensor x = fmL_checkpoints(L, 1);
    lua_Integer k = 10;
    int inverse = 1;
    if (!lua_isnoneornil(L, 2)) {
        if (!lua_istable(L, 2))
            return luaL_error(L, "fm.metrics.intrinsic_dim: bad argument #2 'opts' "
                              "(an options table {k =, average =} expected, got %s)",
                              luaL_typename(L, 2));
        if (lua_getfield(L, 2, "k") != LUA_TNIL) {
            int ok;
            k = lua_tointegerx(L, -1, &ok);
            if (!ok) return luaL_error(L, "fm.metrics.intrinsic_dim: opts.k must be an integer");
        }
        lua_pop(L, 1);
        if (lua_getfield(L, 2, "average") != LUA_TNIL) {
            const char *a = lua_tostring(L, -1);
            if (a && strcmp(a, "mean") == 0) inverse = 0;
            else if (!a || strcmp(a, "inverse") != 0)
                return luaL_error(L, "fm.metrics.intrinsic_dim: opts.average must be "
                                  "\"inverse\" or \"mean\"");
        }
        lua_pop(L, 1);
    }
    if (k < 2 || k >= x.shape[0])
        return luaL_error(L, "fm.metrics.intrinsic_dim: opts.k must be in 2 .. n - 1 "
                          "= %d (n points), got %d", (int)(x.shape[0] - 1), (int)k);
    int64_t sp[1] = { x.shape[0] };
    fm_tensor *local = fmL_newtensor(L, "fm.metrics.intrinsic_dim", FM_FLOAT64, 1, sp);
    double dim = 0;
    fmL_check(L, fm_intrinsic_dim(&x, k, inverse, local->data, &dim),
              "fm.metrics.intrinsic_dim");
    lua_pushnumber(L, dim);
    lua_insert(L, -2);
    return 2;
}

void fmL_open_metrics(lua_State *L)
{
    static const luaL_Reg metrics[] = {
        { "mmd", l_mmd },
        { "energy", l_energy },
        { "sliced_w2", l_sliced_w2 },
        { "w2", l_w2 },
        { "fd", l_fd },
        { "fd_stats", l_fd_stats },
        { "gaussian_stats", l_gaussian_stats },
        { "knn", l_knn },
        { "intrinsic_dim", l_intrinsic_dim },
        { NULL, NULL },
    };
    static const luaL_Reg ot[] = {
        { "assign", l_assign },
        { "match", l_match },
        { NULL, NULL },
    };
    fmL_submodule(L, "metrics", metrics);
    fmL_submodule(L, "ot", ot);
}
