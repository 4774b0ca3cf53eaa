/* mlp.c — the fused MLP (engine/mlp.h) as a Lua userdata "fm.Mlp".
 *
 * A handle holds the fm_mlp layout and its workspace; its user value 1 is the
 * Lua list of the 2 * nlayers parameter tensors {W1, b1, ..., Wn, bn}, which
 * scripts/fm/nn.lua shares with the Linear modules (optimisers and loads
 * update them in place, so the handle always sees the current values).
 *
 *   fm._mlp.new(sizes, act, dtype, params) -> handle
 *   h:forward(x)          one C call; under grad mode records a single node
 *                         "mlp" with inputs {x, W1, b1, ...} (rule in
 *                         scripts/fm/nn.lua) and keeps activations
 *   h:backward(g, gen, want_x) -> gx|false, gW1, gb1, ... or nil when the
 *                         workspace no longer holds forward number gen; the
 *                         gradients go to the parameters' spare buffers
 *                         when zero_grad left some (fmL_grad_buffer)
 *   h:field(x, t) -> out  h:euler(x, t0, t1, steps) (in place, returns x)
 *   h:generation(), h:params(), h:sizes(), h:act(), h:dtype()
 */
#include <string.h>

#include "core/lfm.h"
#include "nn/mlp.h"

#define FML_MLP "fm.Mlp"

typedef struct {
    fm_mlp mlp;
    fm_mlp_work work;
    lua_Integer generation; /* counts uses of the workspace: a node saves the
                               value of its forward, backward checks it */
} mlp_ud;

static mlp_ud *check_mlp(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, FML_MLP);
}

/* Copies the parameter headers of handle idx into P (2 * nlayers). */
static void get_params(lua_State *L, int idx, const mlp_ud *m, fm_tensor *P)
{
    lua_getiuservalue(L, idx, 1);
    for (int i = 0; i < 2 * m->mlp.nlayers; i++) {
        lua_rawgeti(L, -1, i + 1);
        fm_tensor *t = fmL_testtensor(L, -1);
        if (!t)
            luaL_error(L, "mlp: parameter %d is not a tensor", i + 1);
        P[i] = *t;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static int mlp_gc(lua_State *L)
{
    mlp_ud *m = check_mlp(L, 1);
    fm_mlp_work_free(&m->work);
    return 0;
}

/* fm._mlp.new({in, h1, ..., out}, act, dtype, {W1, b1, ...}) */
static int l_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *act_name = luaL_checkstring(L, 2);
    fm_dtype dt = fmL_optdtype(L, 3, FM_FLOAT32);
    luaL_checktype(L, 4, LUA_TTABLE);
    int nsizes = (int)luaL_len(L, 1);
    luaL_argcheck(L, nsizes >= 2 && nsizes <= FM_MLP_MAX_LAYERS + 1, 1,
                  "mlp: between 2 and 33 widths expected");
    int64_t sizes[FM_MLP_MAX_LAYERS + 1];
    for (int i = 0; i < nsizes; i++) {
        lua_rawgeti(L, 1, i + 1);
        sizes[i] = luaL_checkinteger(L, -1);
        lua_pop(L, 1);
    }
    mlp_ud *m = lua_newuserdatauv(L, sizeof *m, 1);
    memset(m, 0, sizeof *m);
    fm_mlp_work_init(&m->work);
    luaL_setmetatable(L, FML_MLP);
    fm_act act;
    fmL_check(L, fm_act_parse(act_name, &act), "mlp");
    fmL_check(L, fm_mlp_init(&m->mlp, nsizes, sizes, act, dt), "mlp");
    lua_pushvalue(L, 4);
    lua_setiuservalue(L, -2, 1);
    fm_tensor P[2 * FM_MLP_MAX_LAYERS];
    get_params(L, lua_gettop(L), m, P);
    fmL_check(L, fm_mlp_check_params(&m->mlp, P, "mlp params"), "mlp");
    return 1;
}

/* h:forward(x) -> out (B, outputs) */
static int m_forward(lua_State *L)
{
    mlp_ud *m = check_mlp(L, 1);
    fm_tensor *x = fmL_checktensor(L, 2);
    lua_settop(L, 2);
    int n = 2 * m->mlp.nlayers;
    fm_tensor P[2 * FM_MLP_MAX_LAYERS];
    get_params(L, 1, m, P);
    /* stack: 1 handle, 2 x, 3 params table, 4.. params, then out */
    lua_getiuservalue(L, 1, 1);
    luaL_checkstack(L, n + 8, "mlp");
    int idx[2 * FM_MLP_MAX_LAYERS + 1];
    idx[0] = 2;
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 3, i + 1);
        idx[i + 1] = 4 + i;
    }
    bool grad = fmL_needs_grad(L, n + 1, idx);
    int64_t shape[2] = {x->ndim == 2 ? x->shape[0] : 0,
                        m->mlp.sizes[m->mlp.nlayers]};
    fm_tensor *out = fmL_newtensor(L, "mlp", m->mlp.dtype, 2, shape);
    int out_idx = lua_gettop(L);
    m->generation++;
    fmL_check(L, fm_mlp_forward(&m->mlp, P, x, out, &m->work, grad), "mlp");
    if (grad) {
        lua_pushvalue(L, 1);
        lua_pushinteger(L, m->generation);
        fmL_record(L, "mlp", out_idx, n + 1, idx, 2);
    }
    lua_settop(L, out_idx);
    return 1;
}

/* h:backward(g, gen, want_x) -> gx or false, gW1, gb1, ...; nil if stale */
static int m_backward(lua_State *L)
{
    mlp_ud *m = check_mlp(L, 1);
    fm_tensor *g = fmL_checktensor(L, 2);
    lua_Integer gen = luaL_checkinteger(L, 3);
    bool want_x = lua_toboolean(L, 4);
    if (gen != m->generation || !m->work.kept) {
        lua_pushnil(L);
        return 1;
    }
    int n = 2 * m->mlp.nlayers;
    fm_tensor P[2 * FM_MLP_MAX_LAYERS], G[2 * FM_MLP_MAX_LAYERS];
    get_params(L, 1, m, P);
    luaL_checkstack(L, n + 8, "mlp");
    fm_tensor *gx = NULL;
    if (want_x) {
        int64_t shape[2] = {m->work.batch, m->mlp.sizes[0]};
        gx = fmL_newtensor(L, "mlp_backward", m->mlp.dtype, 2, shape);
    } else {
        lua_pushboolean(L, 0);
    }
    lua_getiuservalue(L, 1, 1);
    int plist = lua_gettop(L);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, plist, i + 1);
        G[i] = *fmL_grad_buffer(L, -1, "mlp_backward");
        lua_remove(L, -2);
    }
    lua_remove(L, plist);
    fmL_check(L, fm_mlp_backward(&m->mlp, P, &m->work, g, G, false, gx),
              "mlp_backward");
    /* the headers in G were copies: the data pointers are the userdata's */
    return n + 1;
}

/* h:field(x, t) -> out = mlp([x, t]) */
static int m_field(lua_State *L)
{
    mlp_ud *m = check_mlp(L, 1);
    fm_tensor *x = fmL_checktensor(L, 2);
    double t = luaL_checknumber(L, 3);
    fm_tensor P[2 * FM_MLP_MAX_LAYERS];
    get_params(L, 1, m, P);
    fm_tensor *out = fmL_newlike(L, "mlp_field", x);
    m->generation++;
    fmL_check(L, fm_mlp_field_eval(&m->mlp, P, x, t, out, &m->work), "mlp_field");
    return 1;
}

/* h:euler(x, t0, t1, steps) -> x (updated in place) */
static int m_euler(lua_State *L)
{
    mlp_ud *m = check_mlp(L, 1);
    fm_tensor *x = fmL_checktensor(L, 2);
    double t0 = luaL_checknumber(L, 3), t1 = luaL_checknumber(L, 4);
    lua_Integer steps = luaL_checkinteger(L, 5);
    luaL_argcheck(L, steps >= 1, 5, "mlp_euler: steps must be >= 1");
    fm_tensor P[2 * FM_MLP_MAX_LAYERS];
    get_params(L, 1, m, P);
    m->generation++;
    fmL_check(L, fm_mlp_euler(&m->mlp, P, x, t0, t1, steps, &m->work), "mlp_euler");
    lua_settop(L, 2);
    return 1;
}

static int m_generation(lua_State *L)
{
    lua_pushinteger(L, check_mlp(L, 1)->generation);
    return 1;
}

static int m_params(lua_State *L)
{
    check_mlp(L, 1);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int m_sizes(lua_State *L)
{
    mlp_ud *m = check_mlp(L, 1);
    lua_createtable(L, m->mlp.nlayers + 1, 0);
    for (int i = 0; i <= m->mlp.nlayers; i++) {
        lua_pushinteger(L, m->mlp.sizes[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_act(lua_State *L)
{
    lua_pushstring(L, fm_act_name(check_mlp(L, 1)->mlp.act));
    return 1;
}

static int m_dtype(lua_State *L)
{
    lua_pushstring(L, fm_dtype_name(check_mlp(L, 1)->mlp.dtype));
    return 1;
}

static int m_tostring(lua_State *L)
{
    mlp_ud *m = check_mlp(L, 1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "fm.Mlp(");
    for (int i = 0; i <= m->mlp.nlayers; i++) {
        lua_pushfstring(L, i ? " -> %I" : "%I", (lua_Integer)m->mlp.sizes[i]);
        luaL_addvalue(&b);
    }
    lua_pushfstring(L, ", %s, %s)", fm_act_name(m->mlp.act),
                    fm_dtype_name(m->mlp.dtype));
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    return 1;
}

static const luaL_Reg mlp_methods[] = {
    {"forward", m_forward}, {"backward", m_backward}, {"field", m_field},
    {"euler", m_euler}, {"generation", m_generation}, {"params", m_params},
    {"sizes", m_sizes}, {"act", m_act}, {"dtype", m_dtype}, {NULL, NULL}};

static const luaL_Reg mlp_functions[] = {{"new", l_new}, {NULL, NULL}};

void fmL_open_mlp(lua_State *L)
{
    if (luaL_newmetatable(L, FML_MLP)) {
        lua_newtable(L);
        luaL_setfuncs(L, mlp_methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, mlp_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, m_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    fmL_submodule(L, "_mlp", mlp_functions);
}
