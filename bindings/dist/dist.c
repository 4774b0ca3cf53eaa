/* dist.c — fm._dist, the C side of fm.dist (scripts/fm/dist.lua,
 * docs/dist.md) over engine/dist. Ranks are numbered from 0, as in MPI.
 *
 *   fm._dist.built() / launched() / initialized() -> boolean
 *   fm._dist.init([force])          MPI_Init when launched (or forced)
 *   fm._dist.rank() / size() / library()
 *   fm._dist.barrier()
 *   fm._dist.allreduce(list, op)    in place; op "sum" | "mean" | "max" | "min"
 *   fm._dist.allreduce_grads(params, op)   the .grad of each (absent: skipped,
 *                                   and absent on every rank)
 *   fm._dist.broadcast(list, root)  in place from root
 *   fm._dist.gather(t, root)        -> (size, ...) tensor on root (root = -1:
 *                                   on every rank), nil elsewhere
 *   fm._dist.broadcast_bytes(s, root) -> root's string on every rank
 *   fm._dist.abort(code)            MPI_Abort: ends every rank
 * The library is initialised when the fm module opens, if an MPI launcher
 * started the process. */
#include <stdlib.h>
#include <string.h>

#include "core/lfm.h"
#include "dist/dist.h"

static int l_built(lua_State *L) { lua_pushboolean(L, fm_dist_built()); return 1; }
static int l_launched(lua_State *L) { lua_pushboolean(L, fm_dist_launched()); return 1; }
static int l_initialized(lua_State *L) { lua_pushboolean(L, fm_dist_initialized()); return 1; }
static int l_rank(lua_State *L) { lua_pushinteger(L, fm_dist_rank()); return 1; }
static int l_size(lua_State *L) { lua_pushinteger(L, fm_dist_size()); return 1; }
static int l_library(lua_State *L) { lua_pushstring(L, fm_dist_library()); return 1; }

static int l_init(lua_State *L)
{
    fmL_check(L, fm_dist_init(lua_toboolean(L, 1)), "fm.dist.init");
    return 0;
}

static int l_barrier(lua_State *L)
{
    fmL_check(L, fm_dist_barrier(), "fm.dist.barrier");
    return 0;
}

static fm_dist_op check_op(lua_State *L, int idx)
{
    static const char *const names[] = {"sum", "mean", "max", "min", NULL};
    return (fm_dist_op)luaL_checkoption(L, idx, "sum", names);
}

/* The tensors of the list at idx (a tensor alone is a list of one); with
 * grads, the .grad of each parameter instead (NULL when it has none). The
 * array is a userdata left on the stack; the tensors are anchored by the
 * list (and the parameters). */
static fm_tensor **check_list(lua_State *L, int idx, const char *fname, int grads, int *n)
{
    if (fmL_testtensor(L, idx) && !grads) {
        fm_tensor **one = lua_newuserdatauv(L, sizeof *one, 0);
        one[0] = fmL_testtensor(L, idx);
        *n = 1;
        return one;
    }
    luaL_argexpected(L, lua_type(L, idx) == LUA_TTABLE, idx,
                     grads ? "list of parameters" : "tensor or list of tensors");
    lua_Integer len = luaL_len(L, idx);
    luaL_argcheck(L, len <= FM_DIST_MAX_TENSORS, idx, "too many tensors");
    fm_tensor **ts = lua_newuserdatauv(L, (size_t)(len > 0 ? len : 1) * sizeof *ts, 0);
    for (lua_Integer i = 1; i <= len; i++) {
        lua_rawgeti(L, idx, i);
        fm_tensor *t = fmL_testtensor(L, -1);
        if (!t)
            luaL_error(L, "%s: bad argument #%d (item %d is a %s, a tensor expected)", fname,
                       idx, (int)i, luaL_typename(L, -1));
        if (grads) {
            lua_getiuservalue(L, -1, FML_UV_GRAD);
            t = fmL_testtensor(L, -1); /* anchored by the parameter */
            lua_pop(L, 1);
        }
        ts[i - 1] = t;
        lua_pop(L, 1);
    }
    *n = (int)len;
    return ts;
}

static int l_allreduce(lua_State *L)
{
    int n;
    fm_dist_op op = check_op(L, 2);
    fm_tensor **ts = check_list(L, 1, "fm.dist.allreduce", 0, &n);
    fmL_check(L, fm_dist_allreduce(ts, n, op), "fm.dist.allreduce");
    lua_settop(L, 1);
    return 1;
}

static int l_allreduce_grads(lua_State *L)
{
    int n;
    fm_dist_op op = check_op(L, 2);
    fm_tensor **ts = check_list(L, 1, "fm.dist.allreduce_grads", 1, &n);
    fmL_check(L, fm_dist_allreduce(ts, n, op), "fm.dist.allreduce_grads");
    return 0;
}

static int l_broadcast(lua_State *L)
{
    int n;
    int root = (int)luaL_optinteger(L, 2, 0);
    fm_tensor **ts = check_list(L, 1, "fm.dist.broadcast", 0, &n);
    fmL_check(L, fm_dist_broadcast(ts, n, root), "fm.dist.broadcast");
    lua_settop(L, 1);
    return 1;
}

static int l_gather(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    int root = (int)luaL_optinteger(L, 2, -1);
    int receives = root < 0 || root == fm_dist_rank();
    fm_tensor *out = NULL;
    if (receives && t->ndim < FM_MAX_DIMS) {
        int64_t shape[FM_MAX_DIMS];
        shape[0] = fm_dist_size();
        memcpy(shape + 1, t->shape, (size_t)t->ndim * sizeof shape[0]);
        out = fmL_newtensor(L, "fm.dist.gather", t->dtype, t->ndim + 1, shape);
    }
    fmL_check(L, fm_dist_gather(t, out, root), "fm.dist.gather");
    if (!out)
        lua_pushnil(L);
    return 1;
}

static int l_broadcast_bytes(lua_State *L)
{
    int root = (int)luaL_checkinteger(L, 2);
    size_t len = 0;
    char *buf = NULL;
    int is_root = root == fm_dist_rank();
    if (is_root)
        buf = (char *)luaL_checklstring(L, 1, &len);
    fm_status st = fm_dist_broadcast_bytes(&buf, &len, root);
    if (st == FM_OK && buf)
        lua_pushlstring(L, buf, len);
    else if (st == FM_OK)
        lua_pushvalue(L, 1);   /* a single process: its own value */
    if (!is_root)
        free(buf);
    fmL_check(L, st, "fm.dist.broadcast_value");
    return 1;
}

static int l_abort(lua_State *L)
{
    fm_dist_abort((int)luaL_optinteger(L, 1, 1));
    return 0;
}

void fmL_open_dist(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"built", l_built}, {"launched", l_launched}, {"initialized", l_initialized},
        {"init", l_init}, {"rank", l_rank}, {"size", l_size}, {"library", l_library},
        {"barrier", l_barrier}, {"allreduce", l_allreduce},
        {"allreduce_grads", l_allreduce_grads}, {"broadcast", l_broadcast},
        {"gather", l_gather}, {"broadcast_bytes", l_broadcast_bytes}, {"abort", l_abort},
        {NULL, NULL},
    };
    fmL_submodule(L, "_dist", funcs);
    fmL_check(L, fm_dist_init(false), "fm.dist.init");
}
