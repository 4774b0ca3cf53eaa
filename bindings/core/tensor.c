/* tensor.c — fm.Tensor: the metatable, creation, element access, printing,
 * conversions. Views are in tensor_views.c, arithmetic and reductions in
 * tensor_math.c, indexing in tensor_index.c. */
#include <math.h>
#include <string.h>

#include "core/lfm.h"
#include "ops/ops.h"
#include "core/rng.h"
#include "core/tensor_internal.h"
#include "core/view.h"

/* ---- sizes from arguments ------------------------------------------------ */

/* Reads sizes given as varargs (2, 3) or as one table {2, 3} starting at
 * first; a trailing string is a dtype. Returns the index after the sizes. */
int fmL_checksizes(lua_State *L, int first, int *ndim, int64_t *shape)
{
    int top = lua_gettop(L);
    *ndim = 0;
    if (lua_istable(L, first) && !fmL_testud(L, first)) {
        int n = (int)lua_rawlen(L, first);
        luaL_argcheck(L, n <= FM_MAX_DIMS, first, "too many dimensions");
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, first, i);
            int ok;
            lua_Integer v = lua_tointegerx(L, -1, &ok);
            luaL_argcheck(L, ok && v >= 0, first, "sizes must be non-negative integers");
            shape[(*ndim)++] = v;
            lua_pop(L, 1);
        }
        return first + 1;
    }
    int i = first;
    for (; i <= top && lua_type(L, i) == LUA_TNUMBER; i++) {
        luaL_argcheck(L, *ndim < FM_MAX_DIMS, i, "too many dimensions");
        lua_Integer v = luaL_checkinteger(L, i);
        luaL_argcheck(L, v >= 0, i, "sizes must be non-negative integers");
        shape[(*ndim)++] = v;
    }
    return i;
}

static fm_tensor *new_from_sizes(lua_State *L, const char *fname, int first)
{
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    int next = fmL_checksizes(L, first, &ndim, shape);
    fm_dtype dtype = fmL_optdtype(L, next, fmL_default_dtype(L));
    return fmL_newtensor(L, fname, dtype, ndim, shape);
}

static int l_zeros(lua_State *L)
{
    fm_tensor *t = new_from_sizes(L, "zeros", 1);
    memset(t->data, 0, fm_tensor_nbytes(t));
    return 1;
}

static int l_ones(lua_State *L)
{
    fmL_check(L, fm_fill(new_from_sizes(L, "ones", 1), 1.0), "ones");
    return 1;
}

static int l_empty(lua_State *L)
{
    new_from_sizes(L, "empty", 1);
    return 1;
}

/* fm.full(sizes..., value [, dtype]) or fm.full({sizes}, value [, dtype]) */
static int l_full(lua_State *L)
{
    int ndim = 0;
    int64_t shape[FM_MAX_DIMS];
    int next;
    if (lua_istable(L, 1)) {
        next = fmL_checksizes(L, 1, &ndim, shape);
    } else {
        /* the last of the leading numbers is the value, the others sizes */
        int n = 0;
        while (lua_type(L, n + 1) == LUA_TNUMBER)
            n++;
        luaL_argcheck(L, n >= 1, 1, "full: sizes and a value expected");
        luaL_argcheck(L, n - 1 <= FM_MAX_DIMS, 1, "too many dimensions");
        for (int i = 1; i < n; i++) {
            lua_Integer s = luaL_checkinteger(L, i);
            luaL_argcheck(L, s >= 0, i, "sizes must be non-negative integers");
            shape[ndim++] = s;
        }
        next = n;
    }
    double v = luaL_checknumber(L, next);
    fm_dtype dtype = fmL_optdtype(L, next + 1, fmL_default_dtype(L));
    fm_tensor *t = fmL_newtensor(L, "full", dtype, ndim, shape);
    fmL_check(L, fm_fill(t, v), "full");
    return 1;
}

/* fm.arange(stop), fm.arange(start, stop[, step]) as in torch/NumPy:
 * with stop excluded; values start, start + step, ... */
static int l_arange(lua_State *L)
{
    double start = 0, stop, step = 1;
    int n = lua_gettop(L);
    int dtype_idx = 0;
    while (n > 0 && lua_type(L, n) == LUA_TSTRING) { dtype_idx = n; n--; }
    if (n == 1) {
        stop = luaL_checknumber(L, 1);
    } else {
        start = luaL_checknumber(L, 1);
        stop = luaL_checknumber(L, 2);
        step = luaL_optnumber(L, 3, 1);
    }
    luaL_argcheck(L, step != 0 && isfinite(step), 3, "step must be finite and non-zero");
    luaL_argcheck(L, isfinite(start) && isfinite(stop), 1, "bounds must be finite");
    double count = ceil((stop - start) / step);
    luaL_argcheck(L, count < 1e10, 2, "too many elements"); /* before the cast */
    int64_t len = count > 0 ? (int64_t)count : 0;
    fm_dtype def = (lua_isinteger(L, 1) && (n < 2 || lua_isinteger(L, 2)) &&
                    (n < 3 || lua_isinteger(L, 3)))
                       ? FM_INT64 : fmL_default_dtype(L);
    fm_dtype dtype = dtype_idx ? fmL_optdtype(L, dtype_idx, def) : def;
    fm_tensor *t = fmL_newtensor(L, "arange", dtype, 1, &len);
    fmL_check(L, fm_arange(t, start, step), "arange");
    return 1;
}

static int l_linspace(lua_State *L)
{
    double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
    lua_Integer n = luaL_checkinteger(L, 3);
    luaL_argcheck(L, n >= 0, 3, "number of points must be >= 0");
    int64_t len = n;
    fm_tensor *t = fmL_newtensor(L, "linspace", fmL_optdtype(L, 4, fmL_default_dtype(L)), 1, &len);
    fmL_check(L, fm_linspace(t, a, b), "linspace");
    return 1;
}

static int l_eye(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    int dtype_idx = 2;
    lua_Integer m = n;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        m = luaL_checkinteger(L, 2);
        dtype_idx = 3;
    }
    luaL_argcheck(L, n >= 0 && m >= 0, 1, "sizes must be >= 0");
    int64_t shape[2] = {n, m};
    fm_tensor *t = fmL_newtensor(L, "eye", fmL_optdtype(L, dtype_idx, fmL_default_dtype(L)), 2, shape);
    memset(t->data, 0, fm_tensor_nbytes(t)); /* fm_eye is square only */
    for (int64_t i = 0; i < (n < m ? n : m); i++)
        fm_tensor_set(t, i * m + i, 1.0);
    return 1;
}

/* fm.tensor(table_or_number [, dtype]) — always a new tensor (a copy if given
 * a tensor). */
static int l_tensor(lua_State *L)
{
    fm_dtype dtype = fmL_optdtype(L, 2, fmL_default_dtype(L));
    fm_tensor *src = fmL_testtensor(L, 1);
    if (src) {
        fm_tensor *t = fmL_newtensor(L, "tensor", lua_isnoneornil(L, 2) ? src->dtype : dtype,
                                     src->ndim, src->shape);
        fmL_check(L, fm_copy(t, src), "tensor");
        return 1;
    }
    luaL_argexpected(L, lua_istable(L, 1) || lua_isnumber(L, 1), 1, "table or number");
    lua_settop(L, 1);
    fmL_totensor(L, 1, dtype);
    return 1;
}

/* ---- information --------------------------------------------------------- */

static int m_shape(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        int d = fmL_checkdim(L, 2, t->ndim);
        lua_pushinteger(L, t->shape[d]);
        return 1;
    }
    lua_createtable(L, t->ndim, 0);
    for (int i = 0; i < t->ndim; i++) {
        lua_pushinteger(L, t->shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_stride(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    lua_createtable(L, t->ndim, 0);
    for (int i = 0; i < t->ndim; i++) {
        lua_pushinteger(L, t->stride[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_numel(lua_State *L)
{
    lua_pushinteger(L, fm_tensor_numel(fmL_checktensor(L, 1)));
    return 1;
}

static int m_dim(lua_State *L)
{
    lua_pushinteger(L, fmL_checktensor(L, 1)->ndim);
    return 1;
}

static int m_len(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    luaL_argcheck(L, t->ndim > 0, 1, "# of a 0-d tensor");
    lua_pushinteger(L, t->shape[0]);
    return 1;
}

static int m_dtype(lua_State *L)
{
    lua_pushstring(L, fm_dtype_name(fmL_checktensor(L, 1)->dtype));
    return 1;
}

static int m_is_contiguous(lua_State *L)
{
    lua_pushboolean(L, fm_tensor_is_contiguous(fmL_checktensor(L, 1)));
    return 1;
}

/* int64 and uint8 elements reach Lua as integers. */
static bool is_integer_dtype(fm_dtype dt)
{
    return dt == FM_INT64 || dt == FM_UINT8;
}

/* The integer element with flat row-major index flat, read exactly (going
 * through double, as fm_tensor_get does, would round int64 above 2^53). */
static int64_t get_integer(const fm_tensor *t, int64_t flat)
{
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (flat % t->shape[d]) * t->stride[d];
        flat /= t->shape[d];
    }
    if (t->dtype == FM_UINT8)
        return ((const uint8_t *)t->data)[off];
    return ((const int64_t *)t->data)[off];
}

static int m_item(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    if (fm_tensor_numel(t) != 1)
        return luaL_error(L, "item: tensor of shape %s has %d elements, 1 expected",
                          fmL_pushshape(L, t), (int)fm_tensor_numel(t));
    if (is_integer_dtype(t->dtype))
        lua_pushinteger(L, get_integer(t, 0));
    else
        lua_pushnumber(L, fm_tensor_get(t, 0));
    return 1;
}

static void push_element(lua_State *L, const fm_tensor *t, int64_t flat)
{
    if (is_integer_dtype(t->dtype))
        lua_pushinteger(L, (lua_Integer)get_integer(t, flat));
    else
        lua_pushnumber(L, fm_tensor_get(t, flat));
}

static void totable_rec(lua_State *L, const fm_tensor *t, int dim, int64_t *flat)
{
    lua_createtable(L, (int)t->shape[dim], 0);
    for (int64_t i = 0; i < t->shape[dim]; i++) {
        if (dim + 1 == t->ndim)
            push_element(L, t, (*flat)++);
        else
            totable_rec(L, t, dim + 1, flat);
        lua_rawseti(L, -2, i + 1);
    }
}

static int m_totable(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    int64_t flat = 0;
    double tables = 1, rows = 1; /* Lua tables totable would make */
    for (int d = 0; d + 1 < t->ndim; d++)
        tables += (rows *= (double)t->shape[d]);
    if (tables + (double)fm_tensor_numel(t) > 1e9) /* e.g. an expanded (2^62, 0) */
        return luaL_error(L, "totable: tensor of shape %s is too large for Lua tables",
                          fmL_pushshape(L, t));
    if (t->ndim == 0)
        push_element(L, t, 0);
    else
        totable_rec(L, t, 0, &flat);
    return 1;
}

/* ---- x[i] and x[i] = v ---------------------------------------------------- */

static int64_t check_index(lua_State *L, const fm_tensor *t, lua_Integer i)
{
    if (t->ndim == 0)
        luaL_error(L, "index: cannot index a 0-d tensor (use :item())");
    lua_Integer n = t->shape[0];
    lua_Integer z = i < 0 ? i + n : i - 1;
    if (i == 0 || z < 0 || z >= n)
        luaL_error(L, "index: index %d out of range for size %d", (int)i, (int)n);
    return z;
}

static int m_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TNUMBER) {
        fm_tensor *t = fmL_checktensor(L, 1);
        int isint;
        lua_Integer i = lua_tointegerx(L, 2, &isint);
        if (!isint)
            return luaL_error(L, "index: index must be an integer");
        int64_t z = check_index(L, t, i);
        if (t->ndim == 1) {
            push_element(L, t, z);
            return 1;
        }
        fm_tensor v;
        fmL_check(L, fm_view_select(t, 0, z, &v), "index");
        fmL_newview(L, 1, &v);
        return 1;
    }
    if (lua_type(L, 2) == LUA_TSTRING)
        return fmL_tensor_field(L);
    return 0;
}

static int m_newindex(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    if (lua_type(L, 2) == LUA_TSTRING)
        return fmL_tensor_setfield(L);
    lua_Integer i = luaL_checkinteger(L, 2);
    int64_t z = check_index(L, t, i);
    fm_tensor v;
    fmL_check(L, fm_view_select(t, 0, z, &v), "index");
    if (lua_type(L, 3) == LUA_TNUMBER && !is_integer_dtype(t->dtype)) {
        fmL_check(L, fm_fill(&v, lua_tonumber(L, 3)), "index");
    } else {
        fm_tensor *src = fmL_totensor(L, 3, t->dtype);
        fmL_check(L, fm_copy(&v, src), "index");
    }
    return 0;
}

/* ---- printing -------------------------------------------------------------- */

#define PRINT_EDGE 3      /* elements shown at each end when eliding */
#define PRINT_MAX 1000    /* elide tensors with more elements than this */

/* How elements are printed, chosen once per tensor as NumPy does: integers
 * for int64 and uint8, "1." for whole floats, fixed point for moderate magnitudes,
 * scientific otherwise; every element padded to one width. */
typedef struct {
    enum { FMT_INT, FMT_WHOLE, FMT_FIXED, FMT_SCI } kind;
    int width;
} print_fmt;

static int fmt_value_str(char *s, size_t n, const fm_tensor *t, int64_t flat,
                         const print_fmt *f)
{
    if (f->kind == FMT_INT)
        return snprintf(s, n, "%*lld", f->width, (long long)get_integer(t, flat));
    double v = fm_tensor_get(t, flat);
    if (!isfinite(v))
        return snprintf(s, n, "%*s", f->width, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    if (f->kind == FMT_WHOLE)
        return snprintf(s, n, "%*.0f.", f->width > 0 ? f->width - 1 : 0, v);
    if (f->kind == FMT_FIXED)
        return snprintf(s, n, "%*.4f", f->width, v);
    return snprintf(s, n, "%*.4e", f->width, v);
}

/* The shown elements: all, or, when eliding, the first and last PRINT_EDGE
 * of every long dimension. shown_first/shown_next walk them as an odometer,
 * so the cost is the number shown, not numel (an expanded view may have
 * 2^60 elements). Both return false when there is no (next) element. */
typedef struct {
    int64_t pos[FM_MAX_DIMS];
    int64_t flat;
} shown_iter;

static void shown_flat(const fm_tensor *t, shown_iter *it)
{
    it->flat = 0;
    for (int d = 0; d < t->ndim; d++)
        it->flat = it->flat * t->shape[d] + it->pos[d];
}

static bool shown_first(const fm_tensor *t, shown_iter *it)
{
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] == 0)
            return false;
        it->pos[d] = 0;
    }
    shown_flat(t, it);
    return true;
}

static bool shown_next(const fm_tensor *t, shown_iter *it, bool elide)
{
    for (int d = t->ndim - 1; d >= 0; d--) {
        int64_t n = t->shape[d];
        it->pos[d]++;
        if (elide && n > 2 * PRINT_EDGE && it->pos[d] == PRINT_EDGE)
            it->pos[d] = n - PRINT_EDGE;
        if (it->pos[d] < n) {
            shown_flat(t, it);
            return true;
        }
        it->pos[d] = 0;
    }
    return false;
}

static print_fmt choose_format(const fm_tensor *t, bool elide)
{
    print_fmt f = {is_integer_dtype(t->dtype) ? FMT_INT : FMT_WHOLE, 0};
    double maxabs = 0, minabs = INFINITY;
    shown_iter it;
    for (bool more = shown_first(t, &it) && f.kind != FMT_INT; more;
         more = shown_next(t, &it, elide)) {
        double v = fm_tensor_get(t, it.flat);
        if (!isfinite(v))
            continue;
        if (v != floor(v))
            f.kind = FMT_FIXED;
        maxabs = fmax(maxabs, fabs(v));
        if (v != 0)
            minabs = fmin(minabs, fabs(v));
    }
    if (f.kind == FMT_WHOLE && maxabs >= 1e8)
        f.kind = FMT_SCI;
    if (f.kind == FMT_FIXED && (maxabs >= 1e5 || minabs < 1e-4))
        f.kind = FMT_SCI;
    char s[64];
    for (bool more = shown_first(t, &it); more; more = shown_next(t, &it, elide)) {
        int w = fmt_value_str(s, sizeof s, t, it.flat, &f);
        if (w > f.width)
            f.width = w;
    }
    return f;
}

static void fmt_value(luaL_Buffer *b, const fm_tensor *t, int64_t flat, const print_fmt *f)
{
    char s[64];
    fmt_value_str(s, sizeof s, t, flat, f);
    luaL_addstring(b, s);
}

static void print_rec(luaL_Buffer *b, const fm_tensor *t, int dim, int64_t flat,
                      bool elide, int indent, const print_fmt *f)
{
    int64_t n = t->shape[dim];
    int64_t inner = 1;
    for (int d = dim + 1; d < t->ndim; d++)
        inner *= t->shape[d];
    luaL_addchar(b, '[');
    for (int64_t i = 0; i < n; i++) {
        if (elide && n > 2 * PRINT_EDGE && i == PRINT_EDGE) {
            luaL_addstring(b, dim + 1 == t->ndim ? "..., " : "...,\n");
            if (dim + 1 < t->ndim)
                for (int k = 0; k < indent + 1; k++) luaL_addchar(b, ' ');
            i = n - PRINT_EDGE - 1;
            continue;
        }
        if (dim + 1 == t->ndim)
            fmt_value(b, t, flat + i * inner, f);
        else
            print_rec(b, t, dim + 1, flat + i * inner, elide, indent + 1, f);
        if (i + 1 < n) {
            luaL_addchar(b, ',');
            if (dim + 1 == t->ndim) {
                luaL_addchar(b, ' ');
            } else {
                luaL_addchar(b, '\n');
                for (int k = 0; k < indent + 1; k++) luaL_addchar(b, ' ');
            }
        }
    }
    luaL_addchar(b, ']');
}

static int m_tostring(lua_State *L)
{
    fmL_tensor *ud = fmL_checkud(L, 1);
    fm_tensor *t = &ud->t;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "tensor(");
    bool elide = fm_tensor_numel(t) > PRINT_MAX;
    print_fmt f = choose_format(t, elide);
    if (t->ndim == 0) {
        f.width = 0;
        fmt_value(&b, t, 0, &f);
    } else if (fm_tensor_numel(t) == 0) {
        luaL_addstring(&b, "[]");
    } else {
        print_rec(&b, t, 0, 0, elide, 7, &f);
    }
    char shape[FM_SHAPE_STR_MAX];
    luaL_addstring(&b, ", shape=");
    luaL_addstring(&b, fm_shape_str(t, shape, sizeof shape));
    luaL_addstring(&b, ", dtype=");
    luaL_addstring(&b, fm_dtype_name(t->dtype));
    if (ud->flags & FML_REQUIRES_GRAD)
        luaL_addstring(&b, ", requires_grad=true");
    luaL_addchar(&b, ')');
    luaL_pushresult(&b);
    return 1;
}

/* ---- copies and conversions --------------------------------------------- */

static int m_clone(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    fm_tensor *c = fmL_newlike(L, "clone", t);
    fmL_check(L, fm_copy(c, t), "clone");
    if (fmL_needs_grad(L, 1, (int[]){1}))
        fmL_record(L, "clone", lua_gettop(L), 1, (int[]){1}, 0);
    return 1;
}

static int m_contiguous(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    if (fm_tensor_is_contiguous(t)) {
        lua_settop(L, 1);
        return 1;
    }
    return m_clone(L);
}

/* x:copy(src): copies src (broadcast, converting dtype) into x; returns x. */
static int m_copy(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    fm_tensor *src = fmL_totensor(L, 2, t->dtype);
    fmL_check(L, fm_copy(t, src), "copy");
    lua_settop(L, 1);
    return 1;
}

static int m_fill(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    fmL_check(L, fm_fill(t, luaL_checknumber(L, 2)), "fill");
    lua_settop(L, 1);
    return 1;
}

static int m_zero(lua_State *L)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    fmL_check(L, fm_fill(t, 0), "zero");
    lua_settop(L, 1);
    return 1;
}

fm_tensor *fmL_pushconverted(lua_State *L, int idx, fm_dtype dtype, const char *fname)
{
    idx = lua_absindex(L, idx);
    fm_tensor *t = fmL_checktensor(L, idx);
    if (t->dtype == dtype) {
        lua_pushvalue(L, idx);
        return t;
    }
    fm_tensor *c = fmL_newtensor(L, fname, dtype, t->ndim, t->shape);
    fmL_check(L, fm_copy(c, t), fname);
    if (fm_dtype_is_float(dtype) && fmL_needs_grad(L, 1, (int[]){idx}))
        fmL_record(L, "to_dtype", lua_gettop(L), 1, (int[]){idx}, 0);
    return c;
}

static int convert(lua_State *L, fm_dtype dtype, const char *fname)
{
    fmL_pushconverted(L, 1, dtype, fname);
    return 1;
}

static int m_float(lua_State *L) { return convert(L, FM_FLOAT32, "float"); }
static int m_double(lua_State *L) { return convert(L, FM_FLOAT64, "double"); }
static int m_long(lua_State *L) { return convert(L, FM_INT64, "long"); }
static int m_to(lua_State *L)
{
    return convert(L, fmL_optdtype(L, 2, FM_FLOAT32), "to");
}

/* fm.zeros_like(t [, dtype]) and friends: t's shape, t's dtype by default. */
static fm_tensor *new_like(lua_State *L, const char *fname)
{
    fm_tensor *t = fmL_checktensor(L, 1);
    fm_dtype dtype = fmL_optdtype(L, 2, t->dtype);
    return fmL_newtensor(L, fname, dtype, t->ndim, t->shape);
}

static int l_zeros_like(lua_State *L)
{
    fm_tensor *t = new_like(L, "zeros_like");
    memset(t->data, 0, fm_tensor_nbytes(t));
    return 1;
}

static int l_ones_like(lua_State *L)
{
    fmL_check(L, fm_fill(new_like(L, "ones_like"), 1.0), "ones_like");
    return 1;
}

static int l_full_like(lua_State *L)
{
    double v = luaL_checknumber(L, 2);
    lua_remove(L, 2);
    fmL_check(L, fm_fill(new_like(L, "full_like"), v), "full_like");
    return 1;
}

static int l_is_tensor(lua_State *L)
{
    lua_pushboolean(L, fmL_testud(L, 1) != NULL);
    return 1;
}

static int l_set_default_dtype(lua_State *L)
{
    fm_dtype d = fmL_optdtype(L, 1, FM_FLOAT32);
    luaL_argcheck(L, fm_dtype_is_float(d), 1, "float32 or float64 expected");
    lua_pushinteger(L, d);
    lua_setfield(L, LUA_REGISTRYINDEX, "fm.default_dtype");
    return 0;
}

static int l_get_default_dtype(lua_State *L)
{
    lua_pushstring(L, fm_dtype_name(fmL_default_dtype(L)));
    return 1;
}

static const luaL_Reg tensor_methods[] = {
    {"shape", m_shape}, {"size", m_shape}, {"stride", m_stride},
    {"numel", m_numel}, {"dim", m_dim}, {"dtype", m_dtype},
    {"is_contiguous", m_is_contiguous}, {"item", m_item},
    {"totable", m_totable}, {"clone", m_clone}, {"contiguous", m_contiguous},
    {"copy", m_copy}, {"fill", m_fill}, {"zero", m_zero},
    {"float", m_float}, {"double", m_double}, {"long", m_long}, {"to", m_to},
    {NULL, NULL}};

static const luaL_Reg tensor_meta[] = {
    {"__index", m_index}, {"__newindex", m_newindex}, {"__len", m_len},
    {"__tostring", m_tostring}, {NULL, NULL}};

static const luaL_Reg tensor_functions[] = {
    {"zeros", l_zeros}, {"ones", l_ones}, {"empty", l_empty}, {"full", l_full},
    {"arange", l_arange}, {"linspace", l_linspace}, {"eye", l_eye},
    {"tensor", l_tensor}, {"is_tensor", l_is_tensor},
    {"zeros_like", l_zeros_like}, {"ones_like", l_ones_like},
    {"full_like", l_full_like},
    {"set_default_dtype", l_set_default_dtype},
    {"get_default_dtype", l_get_default_dtype}, {NULL, NULL}};

void fmL_open_tensor(lua_State *L)
{
    luaL_newmetatable(L, FML_TENSOR);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &fmL_tensor_mt_key);
    luaL_setfuncs(L, tensor_meta, 0);
    lua_newtable(L); /* methods, looked up by m_index through the registry */
    luaL_setfuncs(L, tensor_methods, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "methods"); /* for completion and introspection */
    lua_rawsetp(L, LUA_REGISTRYINDEX, &fmL_tensor_methods_key);
    lua_pushliteral(L, "fm.Tensor");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
    fmL_setfuncs(L, tensor_functions);
}

void fmL_add_methods(lua_State *L, const luaL_Reg *methods)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &fmL_tensor_methods_key);
    luaL_setfuncs(L, methods, 0);
    lua_pop(L, 1);
}
