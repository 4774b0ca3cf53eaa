/* tensor_math.c — arithmetic (metamethods and methods), elementwise
 * functions, comparisons, where, clamp, reductions and matrix products.
 * Each differentiable op records itself for autograd (fmL_record) under the
 * name of its backward rule in scripts/fm/autograd.lua. */
#include <math.h>
#include <string.h>

#include "core/lfm.h"
#include "ops/ops.h"
#include "core/view.h"

/* Raises "name: dtype mix (float32 and float64)" when the dtypes differ. */
static void check_same_dtype(lua_State *L, const char *name, const fm_tensor *a,
                             const fm_tensor *b)
{
    if (a->dtype != b->dtype)
        luaL_error(L, "%s: dtype mix (%s %s and %s %s); convert one with "
                   ":float() or :double()", name, fm_dtype_name(a->dtype),
                   fmL_pushshape(L, a), fm_dtype_name(b->dtype), fmL_pushshape(L, b));
}

static void shape_error(lua_State *L, const char *name, const fm_tensor *a,
                        const fm_tensor *b)
{
    luaL_error(L, "%s: shapes %s and %s do not broadcast", name,
               fmL_pushshape(L, a), fmL_pushshape(L, b));
}

/* fmL_check, with the operand's dtype and shape added to the message (the
 * engine's dtype errors, e.g. "exp: not defined for int64", name no shape),
 * and for uint8, which has no arithmetic, how to convert. */
static void check_on(lua_State *L, fm_status st, const char *name, const fm_tensor *a)
{
    if (st == FM_OK)
        return;
    const char *msg = fm_last_error();
    size_t n = strlen(name);
    if (strncmp(msg, name, n) == 0 && msg[n] == ':')
        msg += n + 1 + (msg[n + 1] == ' ');
    luaL_error(L, "%s: %s (input %s %s)%s", name, msg, fm_dtype_name(a->dtype),
               fmL_pushshape(L, a), st == FM_ETYPE && a->dtype == FM_UINT8
               ? "; convert first with :to(\"float32\")" : "");
}

/* Replaces the tensor at idx by its conversion to dtype (a no-op when it
 * has it); autograd sees a "to_dtype" node in between. */
static fm_tensor *promote_at(lua_State *L, int idx, fm_dtype dtype, const char *name)
{
    fm_tensor *t = fmL_pushconverted(L, idx, dtype, name);
    lua_replace(L, idx);
    return t;
}

/* tensor op tensor, both converted to the promoted dtype first. */
static int binary_tensors(lua_State *L, fm_binop op, const char *name, bool differentiable)
{
    fm_tensor *a = fmL_checktensor(L, 1), *b = fmL_checktensor(L, 2);
    fm_dtype dtype;
    if (fm_promote(op, a->dtype, b->dtype, &dtype) != FM_OK)
        check_same_dtype(L, name, a, b);
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    if (fm_broadcast_shape(a, b, &ndim, shape) != FM_OK)
        shape_error(L, name, a, b);
    a = promote_at(L, 1, dtype, name);
    b = promote_at(L, 2, dtype, name);
    fm_tensor *out = fmL_newtensor(L, name, dtype, ndim, shape);
    check_on(L, fm_binary(op, a, b, out), name, a);
    if (differentiable && fmL_needs_grad(L, 2, (int[]){1, 2}))
        fmL_record(L, name, 3, 2, (int[]){1, 2}, 0);
    return 1;
}

/* a op b where either side may be a number, by the promotion rules of
 * engine/ops/promote.c; records autograd. */
static int binary(lua_State *L, fm_binop op, const char *name, bool differentiable)
{
    fm_tensor *a = fmL_testtensor(L, 1), *b = fmL_testtensor(L, 2);
    char rule[32];
    lua_settop(L, 2);
    if (a && b)
        return binary_tensors(L, op, name, differentiable);
    int ti = a ? 1 : 2, si = a ? 2 : 1;
    fm_tensor *t = a ? a : b;
    if (!t)
        return luaL_error(L, "%s: tensor expected", name);
    if (lua_type(L, si) != LUA_TNUMBER)
        return luaL_error(L, "%s: bad operand #%d (number or tensor expected, got %s)",
                          name, si, luaL_typename(L, si));
    double s = lua_tonumber(L, si);
    t = promote_at(L, ti, fm_promote_scalar(op, t->dtype, !lua_isinteger(L, si)), name);
    fm_tensor *out = fmL_newlike(L, name, t);
    check_on(L, fm_binary_scalar(op, t, s, !a, out), name, t);
    if (differentiable && fmL_needs_grad(L, 1, (int[]){ti})) {
        snprintf(rule, sizeof rule, "%s%s_scalar", a ? "" : "r", name);
        lua_pushnumber(L, s);
        fmL_record(L, rule, 3, 1, (int[]){ti}, 1);
    }
    return 1;
}

static int m_add(lua_State *L) { return binary(L, FM_ADD, "add", true); }
static int m_sub(lua_State *L) { return binary(L, FM_SUB, "sub", true); }
static int m_mul(lua_State *L) { return binary(L, FM_MUL, "mul", true); }
static int m_div(lua_State *L) { return binary(L, FM_DIV, "div", true); }
static int m_pow(lua_State *L) { return binary(L, FM_POW, "pow", true); }
static int m_maximum(lua_State *L) { return binary(L, FM_MAXIMUM, "maximum", true); }
static int m_minimum(lua_State *L) { return binary(L, FM_MINIMUM, "minimum", true); }
static int m_atan2(lua_State *L) { return binary(L, FM_ATAN2, "atan2", true); }
static int m_eq(lua_State *L) { return binary(L, FM_EQ, "eq", false); }
static int m_ne(lua_State *L) { return binary(L, FM_NE, "ne", false); }
static int m_lt(lua_State *L) { return binary(L, FM_LT, "lt", false); }
static int m_le(lua_State *L) { return binary(L, FM_LE, "le", false); }
static int m_gt(lua_State *L) { return binary(L, FM_GT, "gt", false); }
static int m_ge(lua_State *L) { return binary(L, FM_GE, "ge", false); }

/* ---- unary ------------------------------------------------------------------ */

/* Ops whose backward uses the output (exp, sigmoid, tanh, sqrt) save it. */
static bool saves_output(fm_unop op)
{
    return op == FM_EXP || op == FM_SIGMOID || op == FM_TANH || op == FM_SQRT;
}

static bool differentiable_unop(fm_unop op)
{
    return !(op == FM_SIGN || op == FM_FLOOR || op == FM_CEIL || op == FM_ROUND ||
             op == FM_ISNAN || op == FM_ISFINITE);
}

static int unary(lua_State *L, fm_unop op)
{
    const char *name = fm_unop_name(op);
    fm_tensor *a = fmL_checktensor(L, 1);
    lua_settop(L, 1);
    fm_tensor *out = fmL_newlike(L, name, a);
    check_on(L, fm_unary(op, a, out), name, a);
    if (differentiable_unop(op) && fmL_needs_grad(L, 1, (int[]){1})) {
        if (saves_output(op))
            lua_pushvalue(L, 2);
        fmL_record(L, name, 2, 1, (int[]){1}, saves_output(op) ? 1 : 0);
    }
    return 1;
}

#define UNARY(fn, op) static int fn(lua_State *L) { return unary(L, op); }
UNARY(m_neg, FM_NEG) UNARY(m_exp, FM_EXP) UNARY(m_log, FM_LOG)
UNARY(m_sqrt, FM_SQRT) UNARY(m_sin, FM_SIN) UNARY(m_cos, FM_COS)
UNARY(m_tanh, FM_TANH) UNARY(m_sigmoid, FM_SIGMOID) UNARY(m_silu, FM_SILU)
UNARY(m_relu, FM_RELU) UNARY(m_gelu, FM_GELU) UNARY(m_softplus, FM_SOFTPLUS)
UNARY(m_abs, FM_ABS) UNARY(m_sign, FM_SIGN) UNARY(m_square, FM_SQUARE)
UNARY(m_reciprocal, FM_RECIPROCAL) UNARY(m_log1p, FM_LOG1P)
UNARY(m_expm1, FM_EXPM1) UNARY(m_floor, FM_FLOOR) UNARY(m_ceil, FM_CEIL)
UNARY(m_round, FM_ROUND) UNARY(m_isnan, FM_ISNAN) UNARY(m_isfinite, FM_ISFINITE)
UNARY(m_silu_grad, FM_SILU_GRAD) UNARY(m_sigmoid_grad, FM_SIGMOID_GRAD)
UNARY(m_gelu_grad, FM_GELU_GRAD) UNARY(m_tanh_grad, FM_TANH_GRAD)
UNARY(m_relu_grad, FM_RELU_GRAD) UNARY(m_softplus_grad, FM_SOFTPLUS_GRAD)

/* x:clamp(lo, hi): either bound may be nil. */
static int m_clamp(lua_State *L)
{
    fm_tensor *a = fmL_checkfloat(L, 1);
    double lo = luaL_optnumber(L, 2, -INFINITY), hi = luaL_optnumber(L, 3, INFINITY);
    luaL_argcheck(L, !(lo > hi), 3, "clamp: lower bound above upper bound");
    lua_settop(L, 1);
    fm_tensor *out = fmL_newlike(L, "clamp", a);
    fmL_check(L, fm_clamp(a, lo, hi, out), "clamp");
    if (fmL_needs_grad(L, 1, (int[]){1})) {
        lua_pushnumber(L, lo);
        lua_pushnumber(L, hi);
        fmL_record(L, "clamp", 2, 1, (int[]){1}, 2);
    }
    return 1;
}

/* fm.where(cond, a, b): a and b tensors or numbers. */
static int l_where(lua_State *L)
{
    fm_tensor *cond = fmL_checktensor(L, 1);
    fm_tensor *ta = fmL_testtensor(L, 2), *tb = fmL_testtensor(L, 3);
    fm_dtype dtype = ta ? ta->dtype : tb ? tb->dtype : fmL_default_dtype(L);
    fm_tensor *a = fmL_totensor(L, 2, dtype), *b = fmL_totensor(L, 3, dtype);
    check_same_dtype(L, "where", a, b);
    lua_settop(L, 3);
    int n1, n2;
    int64_t s1[FM_MAX_DIMS], s2[FM_MAX_DIMS];
    if (fm_broadcast_shape(a, b, &n1, s1) != FM_OK)
        shape_error(L, "where", a, b);
    fm_tensor ab;
    fm_tensor_init(&ab, NULL, a->dtype, n1, s1);
    if (fm_broadcast_shape(cond, &ab, &n2, s2) != FM_OK)
        shape_error(L, "where", cond, &ab);
    fm_tensor *out = fmL_newtensor(L, "where", a->dtype, n2, s2);
    fmL_check(L, fm_where(cond, a, b, out), "where");
    if (fmL_needs_grad(L, 2, (int[]){2, 3})) {
        lua_pushvalue(L, 1);
        fmL_record(L, "where", 4, 2, (int[]){2, 3}, 1);
    }
    return 1;
}

/* ---- reductions ------------------------------------------------------------ */

/* x:op() over all elements -> 0-d; x:op(d [, keepdim]) over dim d. */
static int reduce(lua_State *L, fm_reduceop op, double param, int nparam_args)
{
    const char *name = fm_reduceop_name(op);
    fm_tensor *a = fmL_checktensor(L, 1);
    int dim_idx = 2 + nparam_args;
    int dim = fmL_optdim(L, dim_idx, a->ndim, -1);
    bool keepdim = lua_toboolean(L, dim_idx + 1);
    lua_settop(L, 1);
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    fmL_check(L, fm_reduce_shape(a, dim, keepdim, &ndim, shape), name);
    fm_tensor *out = fmL_newtensor(L, name, a->dtype, ndim, shape);
    check_on(L, fm_reduce(op, a, dim, param, out), name, a);
    if (fmL_needs_grad(L, 1, (int[]){1})) {
        lua_pushinteger(L, dim < 0 ? 0 : dim + 1); /* 0 = all */
        lua_pushboolean(L, keepdim);
        lua_pushnumber(L, param);
        lua_pushvalue(L, 2);
        fmL_record(L, name, 2, 1, (int[]){1}, 4);
    }
    return 1;
}

static int m_sum(lua_State *L) { return reduce(L, FM_SUM, 0, 0); }
static int m_mean(lua_State *L) { return reduce(L, FM_MEAN, 0, 0); }
static int m_prod(lua_State *L) { return reduce(L, FM_PROD, 0, 0); }
static int m_logsumexp(lua_State *L) { return reduce(L, FM_LOGSUMEXP, 0, 0); }

/* max/min: without a dim, the value; with a dim, values and 1-based indices. */
static int minmax(lua_State *L, fm_reduceop op, bool is_max)
{
    fm_tensor *a = fmL_checktensor(L, 1);
    if (lua_isnoneornil(L, 2))
        return reduce(L, op, 0, 0);
    int dim = fmL_checkdim(L, 2, a->ndim);
    bool keepdim = lua_toboolean(L, 3);
    reduce(L, op, 0, 0);
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    fmL_check(L, fm_reduce_shape(a, dim, keepdim, &ndim, shape), "argmax");
    fm_tensor *idx = fmL_newtensor(L, "argmax", FM_INT64, ndim, shape);
    fmL_check(L, fm_argreduce(is_max, a, dim, 1, idx), is_max ? "max" : "min");
    return 2;
}

static int m_max(lua_State *L) { return minmax(L, FM_MAX, true); }
static int m_min(lua_State *L) { return minmax(L, FM_MIN, false); }

static int argreduce(lua_State *L, bool is_max)
{
    fm_tensor *a = fmL_checktensor(L, 1);
    int dim = fmL_optdim(L, 2, a->ndim, -1);
    bool keepdim = lua_toboolean(L, 3);
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    fmL_check(L, fm_reduce_shape(a, dim, keepdim, &ndim, shape), "argmax");
    fm_tensor *idx = fmL_newtensor(L, is_max ? "argmax" : "argmin", FM_INT64, ndim, shape);
    check_on(L, fm_argreduce(is_max, a, dim, 1, idx), is_max ? "argmax" : "argmin", a);
    return 1;
}

static int m_argmax(lua_State *L) { return argreduce(L, true); }
static int m_argmin(lua_State *L) { return argreduce(L, false); }

/* x:var([d [, keepdim]] [, {correction = 1}]) — unbiased by default. */
static int m_var(lua_State *L)
{
    double correction = 1;
    int top = lua_gettop(L);
    if (top >= 2 && lua_istable(L, top)) {
        lua_getfield(L, top, "correction");
        correction = luaL_optnumber(L, -1, 1);
        lua_pop(L, 1);
        lua_settop(L, top - 1);
    }
    return reduce(L, FM_VAR, correction, 0);
}

static int m_std(lua_State *L)
{
    m_var(L);
    lua_replace(L, 1);
    lua_settop(L, 1);
    return m_sqrt(L);
}

/* x:norm([p [, d [, keepdim]]]) — p = 2 by default. */
static int m_norm(lua_State *L)
{
    double p = luaL_optnumber(L, 2, 2);
    luaL_argcheck(L, p > 0, 2, "norm: p must be > 0");
    return reduce(L, FM_NORM, p, 1);
}

static int m_softmax(lua_State *L)
{
    fm_tensor *a = fmL_checkfloat(L, 1);
    int dim = fmL_optdim(L, 2, a->ndim, a->ndim - 1);
    lua_settop(L, 1);
    fm_tensor *out = fmL_newlike(L, "softmax", a);
    fmL_check(L, fm_softmax(a, dim, false, out), "softmax");
    if (fmL_needs_grad(L, 1, (int[]){1})) {
        lua_pushinteger(L, dim + 1);
        lua_pushvalue(L, 2);
        fmL_record(L, "softmax", 2, 1, (int[]){1}, 2);
    }
    return 1;
}

static int m_log_softmax(lua_State *L)
{
    fm_tensor *a = fmL_checkfloat(L, 1);
    int dim = fmL_optdim(L, 2, a->ndim, a->ndim - 1);
    lua_settop(L, 1);
    fm_tensor *out = fmL_newlike(L, "log_softmax", a);
    fmL_check(L, fm_softmax(a, dim, true, out), "log_softmax");
    if (fmL_needs_grad(L, 1, (int[]){1})) {
        lua_pushinteger(L, dim + 1);
        lua_pushvalue(L, 2);
        fmL_record(L, "log_softmax", 2, 1, (int[]){1}, 2);
    }
    return 1;
}

/* x:sum_to(shape) — sums the broadcast dims away so that the result has the
 * given shape (a table, or a tensor whose shape is used): the adjoint of
 * broadcasting, used by autograd. */
static int m_sum_to(lua_State *L)
{
    fm_tensor *a = fmL_checktensor(L, 1);
    int ndim = 0;
    int64_t shape[FM_MAX_DIMS];
    fm_tensor *like = fmL_testtensor(L, 2);
    if (like) {
        ndim = like->ndim;
        for (int i = 0; i < ndim; i++)
            shape[i] = like->shape[i];
    } else {
        luaL_checktype(L, 2, LUA_TTABLE);
        ndim = (int)lua_rawlen(L, 2);
        luaL_argcheck(L, ndim <= FM_MAX_DIMS, 2, "too many dimensions");
        for (int i = 0; i < ndim; i++) {
            lua_rawgeti(L, 2, i + 1);
            shape[i] = luaL_checkinteger(L, -1);
            lua_pop(L, 1);
        }
    }
    lua_settop(L, 1);
    fm_tensor *out = fmL_newtensor(L, "sum_to", a->dtype, ndim, shape);
    fmL_check(L, fm_sum_to(a, out), "sum_to");
    if (fmL_needs_grad(L, 1, (int[]){1})) {
        lua_createtable(L, a->ndim, 0);
        for (int i = 0; i < a->ndim; i++) {
            lua_pushinteger(L, a->shape[i]);
            lua_rawseti(L, -2, i + 1);
        }
        fmL_record(L, "sum_to", 2, 1, (int[]){1}, 1);
    }
    return 1;
}

/* ---- products -------------------------------------------------------------- */

static int m_mm(lua_State *L)
{
    fm_tensor *a = fmL_checkfloat(L, 1), *b = fmL_checkfloat(L, 2);
    check_same_dtype(L, "mm", a, b);
    if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0])
        return luaL_error(L, "mm: shapes %s and %s cannot be multiplied "
                          "(2-d (n, k) and (k, m) expected)", fmL_pushshape(L, a),
                          fmL_pushshape(L, b));
    lua_settop(L, 2);
    int64_t shape[2] = {a->shape[0], b->shape[1]};
    fm_tensor *out = fmL_newtensor(L, "mm", a->dtype, 2, shape);
    fmL_check(L, fm_gemm(a, b, false, false, 1.0, 0.0, out), "mm");
    if (fmL_needs_grad(L, 2, (int[]){1, 2}))
        fmL_record(L, "mm", 3, 2, (int[]){1, 2}, 0);
    return 1;
}

static int m_bmm(lua_State *L)
{
    fm_tensor *a = fmL_checkfloat(L, 1), *b = fmL_checkfloat(L, 2);
    check_same_dtype(L, "bmm", a, b);
    if (a->ndim != 3 || b->ndim != 3 || a->shape[0] != b->shape[0] ||
        a->shape[2] != b->shape[1])
        return luaL_error(L, "bmm: shapes %s and %s cannot be multiplied "
                          "(3-d (B, n, k) and (B, k, m) expected)",
                          fmL_pushshape(L, a), fmL_pushshape(L, b));
    lua_settop(L, 2);
    int64_t shape[3] = {a->shape[0], a->shape[1], b->shape[2]};
    fm_tensor *out = fmL_newtensor(L, "bmm", a->dtype, 3, shape);
    fmL_check(L, fm_bmm(a, b, out), "bmm");
    if (fmL_needs_grad(L, 2, (int[]){1, 2}))
        fmL_record(L, "bmm", 3, 2, (int[]){1, 2}, 0);
    return 1;
}

/* a:cdist2(b) — pairwise squared distances (n, m). */
static int m_cdist2(lua_State *L)
{
    fm_tensor *a = fmL_checkfloat(L, 1), *b = fmL_checkfloat(L, 2);
    check_same_dtype(L, "cdist2", a, b);
    if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[1])
        return luaL_error(L, "cdist2: shapes %s and %s: (n, d) and (m, d) expected",
                          fmL_pushshape(L, a), fmL_pushshape(L, b));
    lua_settop(L, 2);
    int64_t shape[2] = {a->shape[0], b->shape[0]};
    fm_tensor *out = fmL_newtensor(L, "cdist2", a->dtype, 2, shape);
    fmL_check(L, fm_cdist2(a, b, out), "cdist2");
    if (fmL_needs_grad(L, 2, (int[]){1, 2}))
        fmL_record(L, "cdist2", 3, 2, (int[]){1, 2}, 0);
    return 1;
}

/* ---- in place (no autograd: refuse on tensors that need grad) ------------- */

static void check_inplace(lua_State *L, const char *name)
{
    fmL_tensor *ud = fmL_checkud(L, 1);
    if ((ud->flags & FML_REQUIRES_GRAD) && fmL_needs_grad(L, 1, (int[]){1}))
        luaL_error(L, "%s: in-place update of a tensor that requires grad "
                   "(use fm.no_grad or a copy)", name);
}

/* x:add_(y [, alpha]) : x += alpha * y (y broadcast to x). */
static int m_add_(lua_State *L)
{
    check_inplace(L, "add_");
    fm_tensor *x = fmL_checkfloat(L, 1);
    double alpha = luaL_optnumber(L, 3, 1.0);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        fmL_check(L, fm_binary_scalar(FM_ADD, x, alpha * lua_tonumber(L, 2), false, x), "add_");
    } else {
        fm_tensor *y = fmL_checkfloat(L, 2);
        check_same_dtype(L, "add_", x, y);
        fmL_check(L, fm_axpy(alpha, y, x), "add_");
    }
    lua_settop(L, 1);
    return 1;
}

static int inplace_binary(lua_State *L, fm_binop op, const char *name)
{
    check_inplace(L, name);
    fm_tensor *x = fmL_checkfloat(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        fmL_check(L, fm_binary_scalar(op, x, lua_tonumber(L, 2), false, x), name);
    } else {
        fm_tensor *y = fmL_checkfloat(L, 2);
        check_same_dtype(L, name, x, y);
        int ndim;
        int64_t shape[FM_MAX_DIMS];
        if (fm_broadcast_shape(x, y, &ndim, shape) != FM_OK)
            shape_error(L, name, x, y);
        fm_tensor probe;
        fm_tensor_init(&probe, NULL, x->dtype, ndim, shape);
        if (!fm_tensor_same_shape(&probe, x))
            return luaL_error(L, "%s: result shape would differ from %s", name,
                              fmL_pushshape(L, x));
        fmL_check(L, fm_binary(op, x, y, x), name);
    }
    lua_settop(L, 1);
    return 1;
}

static int m_mul_(lua_State *L) { return inplace_binary(L, FM_MUL, "mul_"); }
static int m_sub_(lua_State *L) { return inplace_binary(L, FM_SUB, "sub_"); }
static int m_div_(lua_State *L) { return inplace_binary(L, FM_DIV, "div_"); }

static int m_clamp_(lua_State *L)
{
    check_inplace(L, "clamp_");
    fm_tensor *x = fmL_checkfloat(L, 1);
    fmL_check(L, fm_clamp(x, luaL_optnumber(L, 2, -INFINITY),
                          luaL_optnumber(L, 3, INFINITY), x), "clamp_");
    lua_settop(L, 1);
    return 1;
}

/* fm.allclose(a, b [, rtol [, atol]]) */
static int l_allclose(lua_State *L)
{
    fm_tensor *a = fmL_checktensor(L, 1);
    fm_tensor *b = fmL_totensor(L, 2, a->dtype);
    bool r = false;
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    if (fm_broadcast_shape(a, b, &ndim, shape) != FM_OK) {
        lua_pushboolean(L, 0);
        return 1;
    }
    fmL_check(L, fm_allclose(a, b, luaL_optnumber(L, 3, 1e-5),
                             luaL_optnumber(L, 4, 1e-8), &r), "allclose");
    lua_pushboolean(L, r);
    return 1;
}

static const luaL_Reg math_meta[] = {
    {"__add", m_add}, {"__sub", m_sub}, {"__mul", m_mul}, {"__div", m_div},
    {"__pow", m_pow}, {"__unm", m_neg}, {NULL, NULL}};

static const luaL_Reg math_methods[] = {
    {"add", m_add}, {"sub", m_sub}, {"mul", m_mul}, {"div", m_div},
    {"pow", m_pow}, {"neg", m_neg}, {"maximum", m_maximum},
    {"minimum", m_minimum}, {"atan2", m_atan2},
    {"eq", m_eq}, {"ne", m_ne}, {"lt", m_lt}, {"le", m_le}, {"gt", m_gt},
    {"ge", m_ge},
    {"exp", m_exp}, {"log", m_log}, {"sqrt", m_sqrt}, {"sin", m_sin},
    {"cos", m_cos}, {"tanh", m_tanh}, {"sigmoid", m_sigmoid}, {"silu", m_silu},
    {"relu", m_relu}, {"gelu", m_gelu}, {"softplus", m_softplus},
    {"abs", m_abs}, {"sign", m_sign}, {"square", m_square},
    {"reciprocal", m_reciprocal}, {"log1p", m_log1p}, {"expm1", m_expm1},
    {"floor", m_floor}, {"ceil", m_ceil}, {"round", m_round},
    {"isnan", m_isnan}, {"isfinite", m_isfinite},
    {"silu_grad", m_silu_grad}, {"sigmoid_grad", m_sigmoid_grad},
    {"gelu_grad", m_gelu_grad}, {"tanh_grad", m_tanh_grad},
    {"relu_grad", m_relu_grad}, {"softplus_grad", m_softplus_grad},
    {"clamp", m_clamp},
    {"sum", m_sum}, {"mean", m_mean}, {"prod", m_prod}, {"max", m_max},
    {"min", m_min}, {"argmax", m_argmax}, {"argmin", m_argmin}, {"var", m_var},
    {"std", m_std}, {"norm", m_norm}, {"logsumexp", m_logsumexp},
    {"softmax", m_softmax}, {"log_softmax", m_log_softmax},
    {"mm", m_mm}, {"bmm", m_bmm}, {"cdist2", m_cdist2}, {"sum_to", m_sum_to},
    {"add_", m_add_}, {"sub_", m_sub_}, {"mul_", m_mul_}, {"div_", m_div_},
    {"clamp_", m_clamp_},
    {NULL, NULL}};

static const luaL_Reg math_functions[] = {
    {"where", l_where}, {"allclose", l_allclose}, {"mm", m_mm}, {"bmm", m_bmm},
    {"cdist2", m_cdist2}, {"maximum", m_maximum}, {"minimum", m_minimum},
    {NULL, NULL}};

void fmL_open_tensor_math(lua_State *L)
{
    luaL_getmetatable(L, FML_TENSOR);
    luaL_setfuncs(L, math_meta, 0);
    lua_pop(L, 1);
    fmL_add_methods(L, math_methods);
    fmL_setfuncs(L, math_functions);
}
