/* path.c — fm.path: Gaussian probability paths over engine/path.c.
 *
 *   local p = fm.path.gaussian("linear")          -- sqrt cosine vp polynomial
 *   fm.path.gaussian("vp", {b_min = 0.1, b_max = 20}); ("polynomial", {n = 3})
 *   fm.path.gaussian{alpha = f, beta = g [, dalpha =, dbeta =, name =]}
 *   p:sample(z, t, eps)  p:velocity(x, z, t)  p:velocity_eps(z, eps, t)
 *   p:score(x, z, t)  p:convert(pred, x, t, from, to)  p:schedule(t)
 *   p:alpha(t)  p:beta(t)  p:dalpha(t)  p:dbeta(t)   (number -> number,
 *                                                    tensor -> tensor)
 * t is a number or a (n,) / (n, 1) tensor. Lua schedule functions are called
 * under lua_pcall, so their errors become engine statuses (no longjmp
 * through engine frames), and through a per-call memo (t -> value), so a
 * batch with one time per row calls them once per distinct time. */
#include "paths/lpath.h"

#include <string.h>

static fm_status call_lua(int which, void *ctx, double t, double *out)
{
    static const char *what[] = {"alpha", "beta", "dalpha", "dbeta"};
    fmL_path *lp = ctx;
    lua_State *L = lp->L;
    fm_status st = FM_OK;
    bool memo = lp->memo[which] != LUA_NOREF;
    if (memo) {   /* memo table at -1 while we work */
        lua_rawgeti(L, LUA_REGISTRYINDEX, lp->memo[which]);
        lua_pushnumber(L, t);
        if (lua_rawget(L, -2) == LUA_TNUMBER) {
            *out = lua_tonumber(L, -1);
            lua_pop(L, 2);
            return FM_OK;
        }
        lua_pop(L, 1);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref[which]);
    lua_pushnumber(L, t);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        st = fm_error(FM_EVALUE, "schedule %s: %s(%g) failed: %s", lp->p.sched.name,
                      what[which], t, lua_tostring(L, -1));
    else if (!lua_isnumber(L, -1))
        st = fm_error(FM_EVALUE, "schedule %s: %s(%g) returned a %s, number expected",
                      lp->p.sched.name, what[which], t, luaL_typename(L, -1));
    else {
        *out = lua_tonumber(L, -1);
        if (memo && t == t) {   /* a NaN key is not allowed */
            lua_pushnumber(L, t);
            lua_pushnumber(L, *out);
            lua_rawset(L, -4);
        }
    }
    lua_pop(L, memo ? 2 : 1);
    return st;
}

static fm_status cb_a(void *c, double t, double *o) { return call_lua(0, c, t, o); }
static fm_status cb_b(void *c, double t, double *o) { return call_lua(1, c, t, o); }
static fm_status cb_da(void *c, double t, double *o) { return call_lua(2, c, t, o); }
static fm_status cb_db(void *c, double t, double *o) { return call_lua(3, c, t, o); }

fmL_path *fmL_checkpath(lua_State *L, int idx)
{
    fmL_path *lp = luaL_checkudata(L, idx, FML_PATH);
    lp->L = L;
    for (int i = 0; i < 4; i++)
        if (lp->memo[i] != LUA_NOREF) {   /* a fresh memo for this call */
            lua_newtable(L);
            lua_rawseti(L, LUA_REGISTRYINDEX, lp->memo[i]);
        }
    return lp;
}

fm_tensor fmL_checktime(lua_State *L, int idx, double *store)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        *store = lua_tonumber(L, idx);
        return fm_path_time(store);
    }
    return *fmL_checkfloat(L, idx);
}

static double optfield(lua_State *L, int idx, const char *k, double def)
{
    if (!lua_istable(L, idx)) return def;
    lua_getfield(L, idx, k);
    double v = luaL_optnumber(L, -1, def);
    lua_pop(L, 1);
    return v;
}

static int ref_field(lua_State *L, int idx, const char *k, bool required)
{
    lua_getfield(L, idx, k);
    if (lua_isnil(L, -1) && !required) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    if (!lua_isfunction(L, -1)) {
        if (luaL_getmetafield(L, -1, "__call") == LUA_TNIL)
            luaL_error(L, "fm.path.gaussian: '%s' must be a function", k);
        lua_pop(L, 1);   /* a callable object: keep the object itself */
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

static int l_gaussian(lua_State *L)
{
    lua_settop(L, 2);   /* the new path goes to index 3 */
    fmL_path *lp = lua_newuserdatauv(L, sizeof *lp, 0);
    memset(lp, 0, sizeof *lp);
    for (int i = 0; i < 4; i++) lp->ref[i] = lp->memo[i] = LUA_NOREF;
    luaL_setmetatable(L, FML_PATH);
    lp->L = L;
    fm_schedule s;
    fm_status st;
    if (lua_istable(L, 1)) {
        for (int i = 0; i < 4; i++) {
            static const char *k[] = {"alpha", "beta", "dalpha", "dbeta"};
            lp->ref[i] = ref_field(L, 1, k[i], i < 2);
            if (lp->ref[i] != LUA_NOREF) {
                lua_newtable(L);
                lp->memo[i] = luaL_ref(L, LUA_REGISTRYINDEX);
            }
        }
        lua_getfield(L, 1, "name");
        const char *name = luaL_optstring(L, -1, "custom");
        st = fm_schedule_custom(&s, name, cb_a, cb_b, lp->ref[2] != LUA_NOREF ? cb_da : NULL,
                                lp->ref[3] != LUA_NOREF ? cb_db : NULL, lp);
        lua_pop(L, 1);
    } else {
        const char *name = luaL_checkstring(L, 1);
        luaL_argcheck(L, lua_isnoneornil(L, 2) || lua_istable(L, 2), 2, "options table expected");
        if (!strcmp(name, "vp"))
            st = fm_schedule_vp(&s, optfield(L, 2, "b_min", 0.1), optfield(L, 2, "b_max", 20));
        else if (!strcmp(name, "polynomial"))
            st = fm_schedule_polynomial(&s, optfield(L, 2, "n", 2));
        else
            st = fm_schedule_named(&s, name);
    }
    fmL_check(L, st, "fm.path.gaussian");
    fm_path_init(&lp->p, &s);
    lp->p.t_eps = optfield(L, lua_istable(L, 1) ? 1 : 2, "t_eps", FM_PATH_T_EPS);
    luaL_argcheck(L, lp->p.t_eps >= 0 && lp->p.t_eps < 0.5, 1, "t_eps must be in [0, 0.5)");
    fmL_check(L, fm_schedule_validate(&lp->p.sched), "fm.path.gaussian");
    return 1;
}

static int l_gc(lua_State *L)
{
    fmL_path *lp = luaL_checkudata(L, 1, FML_PATH);
    for (int i = 0; i < 4; i++) {
        luaL_unref(L, LUA_REGISTRYINDEX, lp->ref[i]);
        luaL_unref(L, LUA_REGISTRYINDEX, lp->memo[i]);
        lp->ref[i] = lp->memo[i] = LUA_NOREF;
    }
    return 0;
}

typedef fm_status (*pair_fn)(const fm_path *, const fm_tensor *, const fm_tensor *,
                             const fm_tensor *, fm_tensor *);

/* f(path, a, b, t) -> new tensor like a; a at 2, b at b_idx, t at t_idx. */
static int pair_op(lua_State *L, pair_fn f, int b_idx, int t_idx, const char *name)
{
    fmL_path *lp = fmL_checkpath(L, 1);
    fm_tensor *a = fmL_totensor(L, 2, fmL_default_dtype(L));
    fm_tensor *b = fmL_totensor(L, b_idx, a->dtype);
    double tv;
    fm_tensor t = fmL_checktime(L, t_idx, &tv);
    fm_tensor *out = fmL_newlike(L, name, a);
    fmL_check(L, f(&lp->p, a, b, &t, out), name);
    return 1;
}

/* sample(z, t, eps) */
static int l_sample(lua_State *L) { return pair_op(L, fm_path_sample, 4, 3, "path:sample"); }
static int l_velocity_eps(lua_State *L) { return pair_op(L, fm_path_velocity_eps, 3, 4, "path:velocity_eps"); }
static int l_velocity(lua_State *L) { return pair_op(L, fm_path_velocity, 3, 4, "path:velocity"); }
static int l_score(lua_State *L) { return pair_op(L, fm_path_score, 3, 4, "path:score"); }

static fm_pred check_pred(lua_State *L, int idx)
{
    fm_pred k;
    if (fm_pred_parse(luaL_checkstring(L, idx), &k))
        luaL_argerror(L, idx, fm_last_error());
    return k;
}

/* convert(pred, x, t, from, to) */
static int l_convert(lua_State *L)
{
    fmL_path *lp = fmL_checkpath(L, 1);
    fm_tensor *pred = fmL_totensor(L, 2, fmL_default_dtype(L));
    fm_tensor *x = fmL_totensor(L, 3, pred->dtype);
    double tv;
    fm_tensor t = fmL_checktime(L, 4, &tv);
    fm_pred from = check_pred(L, 5), to = check_pred(L, 6);
    fm_tensor *out = fmL_newlike(L, "path:convert", pred);
    fmL_check(L, fm_path_convert(&lp->p, from, pred, x, &t, to, out), "path:convert");
    return 1;
}

/* schedule(t) -> alpha, beta, dalpha, dbeta */
static int l_schedule(lua_State *L)
{
    fmL_path *lp = fmL_checkpath(L, 1);
    fm_sched_val v;
    fmL_check(L, fm_schedule_eval(&lp->p.sched, luaL_checknumber(L, 2), &v), "path:schedule");
    lua_pushnumber(L, v.alpha);
    lua_pushnumber(L, v.beta);
    lua_pushnumber(L, v.dalpha);
    lua_pushnumber(L, v.dbeta);
    return 4;
}

static double pick(const fm_sched_val *v, int which)
{
    return which == 0 ? v->alpha : which == 1 ? v->beta : which == 2 ? v->dalpha : v->dbeta;
}

/* One schedule value at a number (-> number) or at every element of a
 * float tensor (-> a tensor of its shape and dtype), exact t (no clamp). */
static int sched_value(lua_State *L, int which, const char *name)
{
    fmL_path *lp = fmL_checkpath(L, 1);
    fm_sched_val v;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        fmL_check(L, fm_schedule_eval(&lp->p.sched, lua_tonumber(L, 2), &v), name);
        lua_pushnumber(L, pick(&v, which));
        return 1;
    }
    fm_tensor *t = fmL_checkfloat(L, 2);
    fm_tensor *out = fmL_newlike(L, name, t);
    int64_t n = fm_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        fmL_check(L, fm_schedule_eval(&lp->p.sched, fm_tensor_get(t, i), &v), name);
        fm_tensor_set(out, i, pick(&v, which));
    }
    return 1;
}

static int l_alpha(lua_State *L) { return sched_value(L, 0, "path:alpha"); }
static int l_beta(lua_State *L) { return sched_value(L, 1, "path:beta"); }
static int l_dalpha(lua_State *L) { return sched_value(L, 2, "path:dalpha"); }
static int l_dbeta(lua_State *L) { return sched_value(L, 3, "path:dbeta"); }

static int l_name(lua_State *L)
{
    lua_pushstring(L, fmL_checkpath(L, 1)->p.sched.name);
    return 1;
}

static int l_tostring(lua_State *L)
{
    fmL_path *lp = fmL_checkpath(L, 1);
    lua_pushfstring(L, "fm.Path(%s)", lp->p.sched.name);
    return 1;
}

void fmL_open_path(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"sample", l_sample}, {"velocity", l_velocity},
        {"velocity_eps", l_velocity_eps}, {"score", l_score},
        {"convert", l_convert}, {"schedule", l_schedule}, {"name", l_name},
        {"alpha", l_alpha}, {"beta", l_beta}, {"dalpha", l_dalpha}, {"dbeta", l_dbeta},
        {NULL, NULL}};
    luaL_newmetatable(L, FML_PATH);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    static const luaL_Reg funcs[] = {{"gaussian", l_gaussian}, {NULL, NULL}};
    fmL_submodule(L, "path", funcs);
}
