/* layer.c — every layer kind (engine/nn/layer.h) as one Lua userdata,
 * "fm.Layer". The module classes of scripts/fm/nn/ hold one each.
 *
 *   fm._layer.new(kind, opts, params) -> layer   (opts: the fm_layer fields
 *        by name: dtype, in, out, kernel, stride, padding, groups, heads,
 *        factor, eps, act, bias, ninputs, index_base, sizes (mlp))
 *   layer(x, ...) / layer:forward(x, ...)    with its own parameters
 *   layer:apply(params, x, ...)              with the given parameters
 *   layer:backward(node, g) -> gradients of the node's entries (nil where
 *        not wanted), or nil when no mlp workspace slot holds the node's
 *        forward any more (the rule then differentiates the composed form)
 *   layer:params(), layer:config(), layer:kind(), layer:generation()
 *
 * Under grad mode a call records ONE autograd node "layer" with entries
 * {x1, ..., xn, p1, ..., pm} and saved = {layer, saved state | false,
 * generation, n}; its reverse rule (scripts/fm/autograd/rules.lua) calls
 * layer:backward, one C call. While an fm.jvp runs, a call whose inputs or
 * parameters carry tangents runs the kind's tangent forward (one C call for
 * output and tangent) unless create_graph was asked for; then the plain
 * forward is recorded and the forward rule "layer" (jvp.lua) composes the
 * tangent from differentiable ops, so that reverse mode can go through it.
 */
#include <string.h>

#include "core/lfm.h"
#include "nn/layer.h"
#include "ops/ops.h"

#define FML_LAYER "fm.Layer"

/* An mlp keeps its activations in a workspace (fm_mlp_work). Calls that
 * keep nothing share `scratch`; a call that keeps takes a free slot of
 * `work` (or, when every slot is still held by a graph, the oldest one), so
 * that a few calls of one network per step (TVM: a JVP at (x, s, t), then a
 * flow-matching forward) each keep their own, and one call per step reuses
 * one slot as before. A slot is freed by the backward that reads it. */
#define FML_MLP_SLOTS 4

typedef struct {
    fm_layer layer;
    fm_mlp_work scratch;                /* mlp: calls that keep nothing */
    fm_mlp_work work[FML_MLP_SLOTS];    /* mlp: kept activations */
    lua_Integer stamp[FML_MLP_SLOTS];   /* the generation a slot holds (0: none) */
    bool busy[FML_MLP_SLOTS];           /* a graph may still read the slot */
    lua_Integer generation;             /* counts the calls */
} layer_ud;

/* the slot for a call that keeps: a free one, else the oldest */
static int take_slot(layer_ud *u)
{
    int best = 0;
    for (int i = 0; i < FML_MLP_SLOTS; i++) {
        if (!u->busy[i]) return i;
        if (u->stamp[i] < u->stamp[best]) best = i;
    }
    return best;
}

/* the slot holding generation gen, or -1 */
static int slot_of(const layer_ud *u, lua_Integer gen)
{
    for (int i = 0; i < FML_MLP_SLOTS; i++)
        if (u->stamp[i] == gen && u->work[i].kept) return i;
    return -1;
}

static layer_ud *check_layer(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, FML_LAYER);
}

static int layer_gc(lua_State *L)
{
    layer_ud *u = check_layer(L, 1);
    fm_mlp_work_free(&u->scratch);
    for (int i = 0; i < FML_MLP_SLOTS; i++) fm_mlp_work_free(&u->work[i]);
    return 0;
}

static lua_Integer opt_int(lua_State *L, int o, const char *k, lua_Integer def)
{
    lua_getfield(L, o, k);
    lua_Integer v = lua_isnil(L, -1) ? def : luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return v;
}

/* The parameters of list `list` into P (checked to be tensors). */
static int get_params(lua_State *L, int list, const fm_layer *l, fm_tensor *P)
{
    int np = fm_layer_nparams(l);
    for (int i = 0; i < np; i++) {
        lua_rawgeti(L, list, i + 1);
        fm_tensor *t = fmL_testtensor(L, -1);
        if (!t)
            luaL_error(L, "%s: parameter %d is not a tensor", fm_layer_kind_name(l->kind),
                       i + 1);
        P[i] = *t;
        lua_pop(L, 1);
    }
    return np;
}

/* fm._layer.new(kind, opts, params) */
static int l_new(lua_State *L)
{
    const char *kind = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    layer_ud *u = lua_newuserdatauv(L, sizeof *u, 1);
    memset(u, 0, sizeof *u);
    fm_mlp_work_init(&u->scratch);
    for (int i = 0; i < FML_MLP_SLOTS; i++) fm_mlp_work_init(&u->work[i]);
    luaL_setmetatable(L, FML_LAYER);
    fm_layer_kind k;
    fmL_check(L, fm_layer_kind_parse(kind, &k), "layer");
    fm_layer *l = &u->layer;
    *l = fm_layer_default(k);
    lua_getfield(L, 2, "dtype");
    l->dtype = fmL_optdtype(L, -1, fmL_default_dtype(L));
    lua_pop(L, 1);
    l->in = opt_int(L, 2, "in", 0);
    l->out = opt_int(L, 2, "out", 0);
    l->kernel = opt_int(L, 2, "kernel", l->kernel);
    l->stride = opt_int(L, 2, "stride", l->stride);
    l->padding = opt_int(L, 2, "padding", 0);
    l->groups = opt_int(L, 2, "groups", l->groups);
    l->heads = opt_int(L, 2, "heads", l->heads);
    l->factor = opt_int(L, 2, "factor", l->factor);
    l->ninputs = (int)opt_int(L, 2, "ninputs", 1);
    l->index_base = opt_int(L, 2, "index_base", 1);
    lua_getfield(L, 2, "eps");
    l->eps = luaL_optnumber(L, -1, l->eps);
    lua_getfield(L, 2, "bias");
    if (!lua_isnil(L, -1)) l->bias = lua_toboolean(L, -1);
    lua_getfield(L, 2, "act");
    if (!lua_isnil(L, -1)) fmL_check(L, fm_act_parse(luaL_checkstring(L, -1), &l->act), kind);
    lua_pop(L, 3);
    if (k == FM_LAYER_MLP || k == FM_LAYER_MLP_TANGENT) {
        lua_getfield(L, 2, "sizes");
        luaL_checktype(L, -1, LUA_TTABLE);
        int ns = (int)lua_rawlen(L, -1);
        luaL_argcheck(L, ns >= 2 && ns <= FM_MLP_MAX_LAYERS + 1, 2,
                      "mlp: between 2 and 33 widths expected");
        int64_t sizes[FM_MLP_MAX_LAYERS + 1];
        for (int i = 0; i < ns; i++) {
            lua_rawgeti(L, -1, i + 1);
            sizes[i] = luaL_checkinteger(L, -1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        fmL_check(L, fm_mlp_init(&l->mlp, ns, sizes, l->act, l->dtype), "mlp");
    }
    fmL_check(L, fm_layer_check(l), kind);
    if ((int)lua_rawlen(L, 3) != fm_layer_nparams(l))
        return luaL_error(L, "%s: %d parameters given, %d expected", kind,
                          (int)lua_rawlen(L, 3), fm_layer_nparams(l));
    fm_tensor P[FM_LAYER_MAX_PARAMS];
    get_params(L, 3, l, P);
    for (int i = 0; i < fm_layer_nparams(l); i++) {
        int nd;
        int64_t sh[FM_MAX_DIMS];
        fm_layer_param_shape(l, i, &nd, sh);
        fm_tensor ref;
        memset(&ref, 0, sizeof ref);
        ref.ndim = nd;
        memcpy(ref.shape, sh, sizeof(int64_t) * (size_t)nd);
        if (!fm_tensor_same_shape(&P[i], &ref) || P[i].dtype != l->dtype)
            return luaL_error(L, "%s: parameter %d is %s %s, expected %s %s", kind, i + 1,
                              fmL_pushshape(L, &P[i]), fm_dtype_name(P[i].dtype),
                              fmL_pushshape(L, &ref), fm_dtype_name(l->dtype));
    }
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, -2, 1);
    return 1;
}

/* The layer at 1, its parameter list at plist, inputs at first..top. */
static int call_layer(lua_State *L, int plist, int first)
{
    layer_ud *u = check_layer(L, 1);
    fm_layer *l = &u->layer;
    const char *name = fm_layer_kind_name(l->kind);
    int nin = lua_gettop(L) - first + 1;
    luaL_argcheck(L, nin >= 1 && nin <= FM_LAYER_MAX_INPUTS, first, "inputs expected");
    int np = fm_layer_nparams(l);
    luaL_checkstack(L, nin + np + 16, name);
    fm_tensor in[FM_LAYER_MAX_INPUTS], P[FM_LAYER_MAX_PARAMS];
    int idx[FM_LAYER_MAX_INPUTS + FM_LAYER_MAX_PARAMS];
    for (int i = 0; i < nin; i++) {
        in[i] = *fmL_checktensor(L, first + i);
        idx[i] = first + i;
    }
    get_params(L, plist, l, P);
    int pbase = lua_gettop(L) + 1;
    for (int i = 0; i < np; i++) {
        lua_rawgeti(L, plist, i + 1);
        idx[nin + i] = pbase + i;
    }
    int n = nin + np;
    int grad = fmL_grad_needed(L, n, idx);
    int tangents = 0;
    if (fmL_fwd_active() && fmL_needs_grad(L, n, idx))
        tangents = !fmL_fwd_create_graph() ? 1 : 2; /* 2: the Lua rule */
    int nd;
    int64_t sh[FM_MAX_DIMS];
    fmL_check(L, fm_layer_shape(l, nin, in, &nd, sh), name);
    fm_tensor *out = fmL_newtensor(L, name, l->dtype, nd, sh);
    int out_idx = lua_gettop(L);
    bool keep = grad != 0;
    int64_t ns = keep ? fm_layer_saved_numel(l, nin, in) : 0;
    fm_tensor *saved = ns > 0 ? fmL_newtensor(L, name, l->dtype, 1, &ns) : NULL;
    if (!saved)
        lua_pushboolean(L, 0);
    int saved_idx = lua_gettop(L);
    u->generation++;
    fm_mlp_work *state = &u->scratch;
    if (keep && l->kind == FM_LAYER_MLP) {
        int s = take_slot(u);
        u->busy[s] = true;
        u->stamp[s] = u->generation;
        state = &u->work[s];
    }
    fm_layer_call c = {.layer = l, .params = P, .nin = nin, .in = in, .out = out,
                       .saved = saved, .state = state, .keep = keep};
    if (tangents == 1) {
        fm_tensor tin[FM_LAYER_MAX_INPUTS], tp[FM_LAYER_MAX_PARAMS];
        bool any_tp = false;
        for (int i = 0; i < n; i++) {
            fm_tensor *t = fmL_push_tangent(L, idx[i]);
            fm_tensor z;
            memset(&z, 0, sizeof z);
            if (!t) lua_pushnil(L);
            if (i < nin) tin[i] = t ? *t : z;
            else { tp[i - nin] = t ? *t : z; any_tp = any_tp || t; }
        }
        fm_tensor *tout = fmL_newtensor(L, name, l->dtype, nd, sh);
        int tout_idx = lua_gettop(L);
        c.tan_in = tin;
        c.tan_params = any_tp ? tp : NULL;
        c.tan_out = tout;
        fmL_check(L, fm_layer_jvp(&c), name);
        fmL_set_tangent(L, out_idx, tout_idx);
        lua_settop(L, saved_idx);
    } else {
        fmL_check(L, fm_layer_forward(&c), name);
    }
    if (grad || tangents == 2) {
        lua_pushvalue(L, 1);
        lua_pushvalue(L, saved_idx);
        lua_pushinteger(L, u->generation);
        lua_pushinteger(L, nin);
        lua_remove(L, saved_idx);
        if (tangents == 2)
            fmL_record(L, "layer", out_idx, n, idx, 4);
        else
            fmL_record_node(L, "layer", out_idx, n, idx, 4);
    }
    lua_settop(L, out_idx);
    return 1;
}

static int m_forward(lua_State *L)
{
    check_layer(L, 1);
    lua_getiuservalue(L, 1, 1);
    lua_insert(L, 2);
    return call_layer(L, 2, 3);
}

static int m_apply(lua_State *L)
{
    check_layer(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    return call_layer(L, 2, 3);
}

/* layer:backward(node, g) -> one value per node entry */
static int m_backward(lua_State *L)
{
    layer_ud *u = check_layer(L, 1);
    fm_layer *l = &u->layer;
    const char *name = fm_layer_kind_name(l->kind);
    luaL_checktype(L, 2, LUA_TTABLE);
    fm_tensor *g = fmL_checktensor(L, 3);
    lua_getfield(L, 2, "saved");
    int sv = lua_gettop(L);
    lua_rawgeti(L, sv, 3);
    lua_Integer gen = lua_tointeger(L, -1);
    lua_rawgeti(L, sv, 4);
    int nin = (int)lua_tointeger(L, -1);
    lua_pop(L, 2);
    int slot = l->kind == FM_LAYER_MLP ? slot_of(u, gen) : -1;
    if (l->kind == FM_LAYER_MLP && slot < 0) {
        lua_pushnil(L);
        return 1;
    }
    int np = fm_layer_nparams(l), n = nin + np;
    luaL_checkstack(L, 2 * n + 16, name);
    fm_tensor in[FM_LAYER_MAX_INPUTS], P[FM_LAYER_MAX_PARAMS];
    fm_tensor gin[FM_LAYER_MAX_INPUTS], gp[FM_LAYER_MAX_PARAMS];
    int base = lua_gettop(L) + 1;
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 2, i + 1);
        fm_tensor *t = fmL_checktensor(L, -1);
        if (i < nin) in[i] = *t;
        else P[i - nin] = *t;
    }
    lua_rawgeti(L, sv, 2);
    fm_tensor *saved = fmL_testtensor(L, -1);
    bool fresh = fm_layer_ops_of(l->kind)->overwrites;
    int first_out = lua_gettop(L) + 1;
    for (int i = 0; i < n; i++) {
        fmL_tensor *x = fmL_testud(L, base + i);
        fm_tensor *dst = i < nin ? &gin[i] : &gp[i - nin];
        memset(dst, 0, sizeof *dst);
        if (!x || !(x->flags & FML_REQUIRES_GRAD) || !fm_dtype_is_float(x->t.dtype)) {
            lua_pushnil(L);
            continue;
        }
        fm_tensor *t;
        if (i < nin) {
            t = fmL_newlike(L, name, &x->t);
            memset(t->data, 0, fm_tensor_nbytes(t));
        } else {
            t = fmL_grad_buffer(L, base + i, name);
            if (!fresh) memset(t->data, 0, fm_tensor_nbytes(t));
        }
        *dst = *t;
    }
    /* an mlp backward needs every parameter gradient */
    if (l->kind == FM_LAYER_MLP)
        for (int i = 0; i < np; i++)
            if (!gp[i].data) {
                fm_tensor *t = fmL_grad_buffer(L, base + nin + i, name);
                lua_replace(L, first_out + nin + i);
                gp[i] = *t;
            }
    fm_layer_call c = {.layer = l, .params = P, .nin = nin, .in = in,
                       .out = NULL, .saved = saved, .grad_out = g, .grad_in = gin,
                       .grad_params = gp, .state = slot >= 0 ? &u->work[slot] : NULL,
                       .fresh_grads = fresh};
    fm_tensor gc;
    if (!fm_tensor_is_contiguous(g)) {
        fm_tensor *t = fmL_newlike(L, name, g);
        fmL_check(L, fm_copy(t, g), name);
        gc = *t;
        c.grad_out = &gc;
    }
    fmL_check(L, fm_layer_backward(&c), name);
    if (slot >= 0) u->busy[slot] = false;
    lua_settop(L, first_out + n - 1);
    return n;
}

static int m_params(lua_State *L)
{
    check_layer(L, 1);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int m_kind(lua_State *L)
{
    lua_pushstring(L, fm_layer_kind_name(check_layer(L, 1)->layer.kind));
    return 1;
}

static int m_generation(lua_State *L)
{
    lua_pushinteger(L, check_layer(L, 1)->generation);
    return 1;
}

static int m_config(lua_State *L)
{
    const fm_layer *l = &check_layer(L, 1)->layer;
    lua_createtable(L, 0, 16);
#define SETI(k, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, k))
    lua_pushstring(L, fm_layer_kind_name(l->kind)); lua_setfield(L, -2, "kind");
    lua_pushstring(L, fm_dtype_name(l->dtype)); lua_setfield(L, -2, "dtype");
    SETI("in", l->in); SETI("out", l->out); SETI("kernel", l->kernel);
    SETI("stride", l->stride); SETI("padding", l->padding); SETI("groups", l->groups);
    SETI("heads", l->heads); SETI("factor", l->factor); SETI("ninputs", l->ninputs);
    SETI("index_base", l->index_base);
    lua_pushnumber(L, l->eps); lua_setfield(L, -2, "eps");
    lua_pushstring(L, fm_act_name(l->act)); lua_setfield(L, -2, "act");
    lua_pushboolean(L, l->bias); lua_setfield(L, -2, "bias");
    if (l->kind == FM_LAYER_MLP || l->kind == FM_LAYER_MLP_TANGENT) {
        lua_createtable(L, l->mlp.nlayers + 1, 0);
        for (int i = 0; i <= l->mlp.nlayers; i++) {
            lua_pushinteger(L, l->mlp.sizes[i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "sizes");
    }
#undef SETI
    return 1;
}

static int m_tostring(lua_State *L)
{
    const fm_layer *l = &check_layer(L, 1)->layer;
    lua_pushfstring(L, "fm.Layer(%s, %s)", fm_layer_kind_name(l->kind),
                    fm_dtype_name(l->dtype));
    return 1;
}

static const luaL_Reg layer_methods[] = {
    {"forward", m_forward}, {"apply", m_apply}, {"backward", m_backward},
    {"params", m_params}, {"kind", m_kind}, {"config", m_config},
    {"generation", m_generation}, {NULL, NULL}};

void fmL_open_layer(lua_State *L)
{
    if (luaL_newmetatable(L, FML_LAYER)) {
        lua_newtable(L);
        luaL_setfuncs(L, layer_methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, layer_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, m_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushcfunction(L, m_forward);
        lua_setfield(L, -2, "__call");
    }
    lua_pop(L, 1);
    static const luaL_Reg functions[] = {{"new", l_new}, {NULL, NULL}};
    fmL_submodule(L, "_layer", functions);
}
