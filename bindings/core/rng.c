/* rng.c — fm.seed, fm.rand, fm.randn, fm.randint, fm.permutation,
 * fm.multinomial, fm.rng_state / fm.set_rng_state, and the in-place fillers
 * x:uniform_(lo, hi), x:normal_(mean, std), over engine/rng (the global
 * Philox generator). Indices returned to Lua are 1-based. */
#include "core/lfm.h"
#include "core/tensor_internal.h"
#include "core/rng.h"
#include "dist/dist.h"

/* fm.seed(s): in a data-parallel job rank r draws from stream r of s
 * (rank 0, like a single process, from s itself; docs/dist.md) */
static int l_seed(lua_State *L)
{
    fm_rng_seed_stream(fm_rng_global(), (uint64_t)luaL_checkinteger(L, 1),
                       (uint64_t)fm_dist_rank());
    return 0;
}

static fm_tensor *new_random(lua_State *L, const char *fname, fm_dtype def)
{
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    int didx = fmL_checksizes(L, 1, &ndim, shape);
    fm_dtype dtype = fmL_optdtype(L, didx, def);
    luaL_argcheck(L, fm_dtype_is_float(dtype), didx, "float dtype expected");
    luaL_argcheck(L, lua_gettop(L) <= didx, didx + 1, "unexpected argument");
    return fmL_newtensor(L, fname, dtype, ndim, shape);
}

/* fm.rand(sizes... [, dtype]): uniform on [0, 1) */
static int l_rand(lua_State *L)
{
    fm_tensor *t = new_random(L, "rand", fmL_default_dtype(L));
    fmL_check(L, fm_rng_uniform(fm_rng_global(), t, 0, 1), "rand");
    return 1;
}

/* fm.randn(sizes... [, dtype]): standard normal */
static int l_randn(lua_State *L)
{
    fm_tensor *t = new_random(L, "randn", fmL_default_dtype(L));
    fmL_check(L, fm_rng_normal(fm_rng_global(), t, 0, 1), "randn");
    return 1;
}

/* fm.randint(lo, hi, sizes... [, dtype]): integers in [lo, hi], int64 */
static int l_randint(lua_State *L)
{
    lua_Integer lo = luaL_checkinteger(L, 1), hi = luaL_checkinteger(L, 2);
    luaL_argcheck(L, lo <= hi, 2, "empty range (hi < lo)");
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    int didx = fmL_checksizes(L, 3, &ndim, shape);
    fm_dtype dtype = fmL_optdtype(L, didx, FM_INT64);
    fm_tensor *t = fmL_newtensor(L, "randint", dtype, ndim, shape);
    fmL_check(L, fm_rng_randint(fm_rng_global(), t, lo, hi), "randint");
    return 1;
}

/* fm.permutation(n): a random order of 1..n (int64) */
static int l_permutation(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0, 1, "size must be non-negative");
    int64_t shape[1] = {n};
    fm_tensor *t = fmL_newtensor(L, "permutation", FM_INT64, 1, shape);
    fmL_check(L, fm_rng_permutation(fm_rng_global(), t, 1), "permutation");
    return 1;
}

/* fm.multinomial(weights, n = 1, replacement = false): weights (k) or
 * (m, k), a tensor or a table; returns (n) or (m, n) 1-based indices. */
static int l_multinomial(lua_State *L)
{
    fm_tensor *w = fmL_totensor(L, 1, FM_FLOAT64);
    lua_Integer n = luaL_optinteger(L, 2, 1);
    bool replacement = lua_toboolean(L, 3);
    luaL_argcheck(L, w->ndim == 1 || w->ndim == 2, 1, "weights must be 1-d or 2-d");
    luaL_argcheck(L, n >= 0, 2, "number of draws must be non-negative");
    int64_t shape[2] = {w->shape[0], n};
    if (w->ndim == 1)
        shape[0] = n;
    fm_tensor *t = fmL_newtensor(L, "multinomial", FM_INT64, w->ndim, shape);
    fmL_check(L, fm_rng_multinomial(fm_rng_global(), w, replacement, 1, t), "multinomial");
    return 1;
}

/* fm.rng_state() -> {key = integer, counter = integer} (bit patterns of the
 * unsigned 64-bit fields) */
static int l_rng_state(lua_State *L)
{
    fm_rng *r = fm_rng_global();
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)r->key);
    lua_setfield(L, -2, "key");
    lua_pushinteger(L, (lua_Integer)r->counter);
    lua_setfield(L, -2, "counter");
    return 1;
}

static int l_set_rng_state(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int ok1, ok2;
    lua_getfield(L, 1, "key");
    lua_Integer key = lua_tointegerx(L, -1, &ok1);
    lua_getfield(L, 1, "counter");
    lua_Integer counter = lua_tointegerx(L, -1, &ok2);
    luaL_argcheck(L, ok1 && ok2, 1, "a table from fm.rng_state() expected");
    fm_rng *r = fm_rng_global();
    r->key = (uint64_t)key;
    r->counter = (uint64_t)counter;
    return 0;
}

/* x:uniform_(lo = 0, hi = 1) -> x */
static int l_uniform_(lua_State *L)
{
    fm_tensor *t = fmL_checkfloat(L, 1);
    double lo = luaL_optnumber(L, 2, 0), hi = luaL_optnumber(L, 3, 1);
    fmL_check(L, fm_rng_uniform(fm_rng_global(), t, lo, hi), "uniform_");
    lua_settop(L, 1);
    return 1;
}

/* x:normal_(mean = 0, std = 1) -> x */
static int l_normal_(lua_State *L)
{
    fm_tensor *t = fmL_checkfloat(L, 1);
    double m = luaL_optnumber(L, 2, 0), s = luaL_optnumber(L, 3, 1);
    fmL_check(L, fm_rng_normal(fm_rng_global(), t, m, s), "normal_");
    lua_settop(L, 1);
    return 1;
}

void fmL_open_rng(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"seed", l_seed},
        {"rand", l_rand},
        {"randn", l_randn},
        {"randint", l_randint},
        {"permutation", l_permutation},
        {"multinomial", l_multinomial},
        {"rng_state", l_rng_state},
        {"set_rng_state", l_set_rng_state},
        {NULL, NULL},
    };
    fmL_setfuncs(L, funcs);
    static const luaL_Reg methods[] = {
        {"uniform_", l_uniform_},
        {"normal_", l_normal_},
        {NULL, NULL},
    };
    fmL_add_methods(L, methods);
}
