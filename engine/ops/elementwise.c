/* ops_elementwise.c — elementwise unary/binary ops with NumPy broadcasting,
 * clamp, where, axpy. Copies, fills and constructors are in ops_copy.c.
 *
 * Every op walks its operands with the strided iterator of ops_internal.h;
 * the innermost loop is a kernel with unit-stride and scalar-operand special
 * cases over restrict pointers, so gcc -O3 vectorises the common layouts:
 * same-shape contiguous, tensor op scalar, and (n, d) op (d,) row broadcast.
 * float32 transcendental functions use ops_vmath.h (vectorisable); float64
 * uses libm. */
#include "ops/ops.h"
#include "ops/internal.h"
#include "ops/act.h"
#include "ops/vmath.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- names -------------------------------------------------------------- */

static const char *const binop_names[] = {
    [FM_ADD] = "add",
    [FM_SUB] = "sub",
    [FM_MUL] = "mul",
    [FM_DIV] = "div",
    [FM_POW] = "pow",
    [FM_MAXIMUM] = "maximum",
    [FM_MINIMUM] = "minimum",
    [FM_ATAN2] = "atan2",
    [FM_EQ] = "eq",
    [FM_NE] = "ne",
    [FM_LT] = "lt",
    [FM_LE] = "le",
    [FM_GT] = "gt",
    [FM_GE] = "ge",
};
_Static_assert(sizeof binop_names / sizeof binop_names[0] == FM_BINOP_COUNT, "one name per binary op");

static const char *const unop_names[] = {
    [FM_NEG] = "neg",
    [FM_EXP] = "exp",
    [FM_LOG] = "log",
    [FM_SQRT] = "sqrt",
    [FM_SIN] = "sin",
    [FM_COS] = "cos",
    [FM_TANH] = "tanh",
    [FM_SIGMOID] = "sigmoid",
    [FM_SILU] = "silu",
    [FM_RELU] = "relu",
    [FM_GELU] = "gelu",
    [FM_SOFTPLUS] = "softplus",
    [FM_ABS] = "abs",
    [FM_SIGN] = "sign",
    [FM_SQUARE] = "square",
    [FM_RECIPROCAL] = "reciprocal",
    [FM_LOG1P] = "log1p",
    [FM_EXPM1] = "expm1",
    [FM_FLOOR] = "floor",
    [FM_CEIL] = "ceil",
    [FM_ROUND] = "round",
    [FM_SIGMOID_GRAD] = "sigmoid_grad",
    [FM_SILU_GRAD] = "silu_grad",
    [FM_GELU_GRAD] = "gelu_grad",
    [FM_TANH_GRAD] = "tanh_grad",
    [FM_RELU_GRAD] = "relu_grad",
    [FM_SOFTPLUS_GRAD] = "softplus_grad",
    [FM_ISNAN] = "isnan",
    [FM_ISFINITE] = "isfinite",
};
_Static_assert(sizeof unop_names / sizeof unop_names[0] == FM_UNOP_COUNT, "one name per unary op");

const char *fm_binop_name(fm_binop op)
{
    return (unsigned)op < FM_BINOP_COUNT ? binop_names[op] : "?";
}

const char *fm_unop_name(fm_unop op)
{
    return (unsigned)op < FM_UNOP_COUNT ? unop_names[op] : "?";
}

/* ---- shapes ------------------------------------------------------------- */

fm_status fm_broadcast_shape(const fm_tensor *a, const fm_tensor *b, int *ndim,
                             int64_t *shape)
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t sa = ia < 0 ? 1 : a->shape[ia];
        int64_t sb = ib < 0 ? 1 : b->shape[ib];
        if (sa != sb && sa != 1 && sb != 1) {
            char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX];
            return fm_error(FM_ESHAPE, "broadcast: shapes %s and %s do not broadcast",
                            fm_shape_str(a, s1, sizeof s1), fm_shape_str(b, s2, sizeof s2));
        }
        shape[i] = sa == 1 ? sb : sa;
    }
    *ndim = nd;
    return FM_OK;
}

/* Checks that out has the broadcast shape of a and b. */
fm_status fm_ops_check_bshape(const char *op, const fm_tensor *a,
                            const fm_tensor *b, const fm_tensor *out)
{
    int nd;
    int64_t shape[FM_MAX_DIMS];
    char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX], s3[FM_SHAPE_STR_MAX];
    if (fm_broadcast_shape(a, b, &nd, shape))
        return fm_error(FM_ESHAPE, "%s: shapes %s and %s do not broadcast", op,
                        fm_shape_str(a, s1, sizeof s1), fm_shape_str(b, s2, sizeof s2));
    bool ok = out->ndim == nd;
    for (int i = 0; ok && i < nd; i++)
        ok = out->shape[i] == shape[i];
    if (!ok)
        return fm_error(FM_ESHAPE, "%s: output shape %s does not match the broadcast of %s and %s",
                        op, fm_shape_str(out, s3, sizeof s3),
                        fm_shape_str(a, s1, sizeof s1), fm_shape_str(b, s2, sizeof s2));
    return FM_OK;
}

static fm_status check_same_shape(const char *op, const fm_tensor *a,
                                  const fm_tensor *out)
{
    if (fm_tensor_same_shape(a, out))
        return FM_OK;
    char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX];
    return fm_error(FM_ESHAPE, "%s: output shape %s differs from input shape %s", op,
                    fm_shape_str(out, s1, sizeof s1), fm_shape_str(a, s2, sizeof s2));
}

static fm_status check_dtypes(const char *op, fm_dtype a, fm_dtype b)
{
    if (a == b)
        return FM_OK;
    return fm_error(FM_ETYPE, "%s: dtypes %s and %s differ", op, fm_dtype_name(a),
                    fm_dtype_name(b));
}

/* ---- binary kernels ----------------------------------------------------- */

/* Tensors of at least FM_PAR_MIN elements are split into FM_PAR_CHUNK-sized
 * pieces shared by the OpenMP threads (cmake -DFM_OPENMP=ON; off by default,
 * see CMakeLists.txt). */
#define FM_PAR_MIN (1 << 16)
#define FM_PAR_CHUNK (1 << 14)

typedef void (*bin_kernel)(int64_t n, void *o, int64_t so, const void *a,
                           int64_t sa, const void *b, int64_t sb);

/* One kernel per (op, type): unit-stride and scalar-operand cases are
 * separate loops over restrict pointers so that each vectorises; o may equal
 * a or b elementwise (same index), which the loops tolerate. */
#define DEF_BIN(NAME, T, EXPR)                                                 \
    static inline __attribute__((always_inline)) void NAME##_body(             \
        int64_t n, void *po, int64_t so, const void *pa, int64_t sa,           \
        const void *pb, int64_t sb)                                            \
    {                                                                          \
        T *o = po;                                                             \
        const T *a = pa, *b = pb;                                              \
        if (so == 1 && sa == 1 && sb == 1) {                                   \
            T *restrict O = o;                                                 \
            const T *restrict A = a, *restrict B = b;                          \
            for (int64_t i = 0; i < n; i++) {                                  \
                T x = A[i], y = B[i];                                          \
                O[i] = (EXPR);                                                 \
            }                                                                  \
        } else if (so == 1 && sa == 1 && sb == 0) {                            \
            T *restrict O = o;                                                 \
            const T *restrict A = a;                                           \
            const T y = b[0];                                                  \
            for (int64_t i = 0; i < n; i++) {                                  \
                T x = A[i];                                                    \
                O[i] = (EXPR);                                                 \
            }                                                                  \
        } else if (so == 1 && sa == 0 && sb == 1) {                            \
            T *restrict O = o;                                                 \
            const T *restrict B = b;                                           \
            const T x = a[0];                                                  \
            for (int64_t i = 0; i < n; i++) {                                  \
                T y = B[i];                                                    \
                O[i] = (EXPR);                                                 \
            }                                                                  \
        } else {                                                               \
            for (int64_t i = 0; i < n; i++) {                                  \
                T x = a[i * sa], y = b[i * sb];                                \
                o[i * so] = (EXPR);                                            \
            }                                                                  \
        }                                                                      \
    }                                                                          \
    FM_CLONE_DISPATCH(NAME, (int64_t n, void *po, int64_t so, const void *pa,  \
                             int64_t sa, const void *pb, int64_t sb),          \
                      (n, po, so, pa, sa, pb, sb))

/* maximum/minimum propagate NaN, as torch.maximum. */
#define MAXIMUM_EXPR ((x > y || x != x) ? x : y)
#define MINIMUM_EXPR ((x < y || x != x) ? x : y)

#define DEF_BIN_FLOAT(S, T, POW, ATAN2)                    \
    DEF_BIN(add_##S, T, x + y)                             \
    DEF_BIN(sub_##S, T, x - y)                             \
    DEF_BIN(mul_##S, T, x * y)                             \
    DEF_BIN(div_##S, T, x / y)                             \
    DEF_BIN(pow_##S, T, POW(x, y))                         \
    DEF_BIN(max_##S, T, MAXIMUM_EXPR)                      \
    DEF_BIN(min_##S, T, MINIMUM_EXPR)                      \
    DEF_BIN(atan2_##S, T, ATAN2(x, y))                     \
    DEF_BIN(eq_##S, T, x == y ? (T)1 : (T)0)               \
    DEF_BIN(ne_##S, T, x != y ? (T)1 : (T)0)               \
    DEF_BIN(lt_##S, T, x < y ? (T)1 : (T)0)                \
    DEF_BIN(le_##S, T, x <= y ? (T)1 : (T)0)               \
    DEF_BIN(gt_##S, T, x > y ? (T)1 : (T)0)                \
    DEF_BIN(ge_##S, T, x >= y ? (T)1 : (T)0)               \
    static const bin_kernel bin_##S[] = {                  \
        [FM_ADD] = add_##S, [FM_SUB] = sub_##S, [FM_MUL] = mul_##S, \
        [FM_DIV] = div_##S, [FM_POW] = pow_##S, [FM_MAXIMUM] = max_##S, \
        [FM_MINIMUM] = min_##S, [FM_ATAN2] = atan2_##S, [FM_EQ] = eq_##S, \
        [FM_NE] = ne_##S, [FM_LT] = lt_##S, [FM_LE] = le_##S, \
        [FM_GT] = gt_##S, [FM_GE] = ge_##S};                   \
    _Static_assert(sizeof bin_##S / sizeof bin_##S[0] == FM_BINOP_COUNT, \
                   "one kernel per binary op");

DEF_BIN_FLOAT(f32, float, powf, atan2f)
DEF_BIN_FLOAT(f64, double, pow, atan2)

/* int64: wrap-around arithmetic through uint64_t (no signed overflow). */
#define U64(v) ((uint64_t)(v))
DEF_BIN(add_i64, int64_t, (int64_t)(U64(x) + U64(y)))
DEF_BIN(sub_i64, int64_t, (int64_t)(U64(x) - U64(y)))
DEF_BIN(mul_i64, int64_t, (int64_t)(U64(x) * U64(y)))
DEF_BIN(max_i64, int64_t, x > y ? x : y)
DEF_BIN(min_i64, int64_t, x < y ? x : y)
DEF_BIN(eq_i64, int64_t, x == y)
DEF_BIN(ne_i64, int64_t, x != y)
DEF_BIN(lt_i64, int64_t, x < y)
DEF_BIN(le_i64, int64_t, x <= y)
DEF_BIN(gt_i64, int64_t, x > y)
DEF_BIN(ge_i64, int64_t, x >= y)
static const bin_kernel bin_i64[] = {
    [FM_ADD] = add_i64,
    [FM_SUB] = sub_i64,
    [FM_MUL] = mul_i64,
    [FM_DIV] = NULL,
    [FM_POW] = NULL,
    [FM_MAXIMUM] = max_i64,
    [FM_MINIMUM] = min_i64,
    [FM_ATAN2] = NULL,
    [FM_EQ] = eq_i64,
    [FM_NE] = ne_i64,
    [FM_LT] = lt_i64,
    [FM_LE] = le_i64,
    [FM_GT] = gt_i64,
    [FM_GE] = ge_i64,
};
_Static_assert(sizeof bin_i64 / sizeof bin_i64[0] == FM_BINOP_COUNT, "one int64 kernel (or NULL) per binary op");

static bin_kernel binary_kernel(fm_binop op, fm_dtype dt)
{
    switch (dt) {
    case FM_FLOAT32: return bin_f32[op];
    case FM_FLOAT64: return bin_f64[op];
    case FM_INT64: return bin_i64[op];
    case FM_UINT8: return NULL; /* bytes: convert to a float dtype first */
    }
    return NULL;
}

/* out = a op b with a, b already checked to broadcast to out. */
static void binary_apply(bin_kernel k, const fm_tensor *a, const fm_tensor *b,
                         fm_tensor *out)
{
    int64_t strides[3][FM_MAX_DIMS];
    memcpy(strides[0], out->stride, sizeof strides[0]);
    fmi_bstride(a, out->ndim, strides[1]);
    fmi_bstride(b, out->ndim, strides[2]);
    fmi_iter it;
    fmi_init(&it, 3, out->ndim, out->shape, strides);
    if (it.numel == 0)
        return;
    int64_t n = fmi_inner(&it);
    if (it.ndim == 1 && n >= FM_PAR_MIN) {
        /* one long run: fixed chunks over threads (elementwise, so the result
         * does not depend on the thread count) */
        int64_t so = fmi_istride(&it, 0), sa = fmi_istride(&it, 1), sb = fmi_istride(&it, 2);
        size_t es = fm_dtype_size(out->dtype);
        char *po = out->data;
        const char *pa = a->data, *pb = b->data;
        int64_t nchunk = (n + FM_PAR_CHUNK - 1) / FM_PAR_CHUNK;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
        for (int64_t c = 0; c < nchunk; c++) {
            int64_t i = c * FM_PAR_CHUNK, m = n - i < FM_PAR_CHUNK ? n - i : FM_PAR_CHUNK;
            k(m, po + i * so * (int64_t)es, so, pa + i * sa * (int64_t)es, sa,
              pb + i * sb * (int64_t)es, sb);
        }
        return;
    }
    do {
        k(n, fmi_ptr(out, it.off[0]), fmi_istride(&it, 0), fmi_ptr(a, it.off[1]),
          fmi_istride(&it, 1), fmi_ptr(b, it.off[2]), fmi_istride(&it, 2));
    } while (fmi_next(&it));
}

fm_status fm_binary(fm_binop op, const fm_tensor *a, const fm_tensor *b,
                    fm_tensor *out)
{
    if ((unsigned)op >= FM_BINOP_COUNT)
        return fm_error(FM_EVALUE, "binary: unknown op %d", (int)op);
    const char *name = binop_names[op];
    fm_status st = check_dtypes(name, a->dtype, b->dtype);
    if (!st)
        st = check_dtypes(name, a->dtype, out->dtype);
    if (st)
        return st;
    bin_kernel k = binary_kernel(op, a->dtype);
    if (!k)
        return fm_error(FM_ETYPE, "%s: not defined for %s", name, fm_dtype_name(a->dtype));
    if ((st = fm_ops_check_bshape(name, a, b, out)))
        return st;
    binary_apply(k, a, b, out);
    return FM_OK;
}

/* ---- unary kernels ------------------------------------------------------ */

typedef void (*un_kernel)(const void *a, void *o, int64_t n);

#define DEF_UN(NAME, T, EXPR)                                      \
    static inline __attribute__((always_inline)) void NAME##_body( \
        const void *pa, void *po, int64_t n)                       \
    {                                                              \
        const T *restrict A = pa;                                  \
        T *restrict O = po;                                        \
        for (int64_t i = 0; i < n; i++) {                          \
            T x = A[i];                                            \
            O[i] = (EXPR);                                         \
        }                                                          \
    }                                                              \
    FM_CLONE_DISPATCH(NAME, (const void *pa, void *po, int64_t n), (pa, po, n))




/* log1p(y) for y in [0, 1], vectorisable: log(u) * y / (u - 1), u = 1 + y
 * (Goldberg's correction for the rounding of u). */
static inline float log1p_small_f32(float y)
{
    float u = 1.0f + y;
    float d = u - 1.0f;
    return d == 0.0f ? y : fmv_log(u) * (y / (d == 0.0f ? 1.0f : d));
}

/* softplus(x) = max(x, 0) + log1p(exp(-|x|)), stable for large |x|. */
static inline float softplus_f32(float x)
{
    float ax = x < 0 ? -x : x;
    float r = (x > 0 ? x : 0.0f) + log1p_small_f32(fmv_exp(-ax));
    return x == x ? r : x;
}

static inline double sigm64(double x) { return 1.0 / (1.0 + exp(-x)); }
static inline double softplus_f64(double x)
{
    return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

/* The activations and their derivatives are ops/act.c's kernels. */
#define DEF_ACT(NAME, DT, T, ACT, DERIV)                                      \
    static void NAME(const void *pa, void *po, int64_t n)                     \
    {                                                                         \
        if (DERIV) fm_act_apply(DT, ACT, n, pa, NULL, po);                    \
        else fm_act_apply(DT, ACT, n, pa, po, NULL);                          \
    }
#define DEF_ACTS(SUF, DT, T)                                                  \
    DEF_ACT(tanh_##SUF, DT, T, FM_ACT_TANH, 0)                                \
    DEF_ACT(sigmoid_##SUF, DT, T, FM_ACT_SIGMOID, 0)                          \
    DEF_ACT(silu_##SUF, DT, T, FM_ACT_SILU, 0)                                \
    DEF_ACT(relu_##SUF, DT, T, FM_ACT_RELU, 0)                                \
    DEF_ACT(gelu_k_##SUF, DT, T, FM_ACT_GELU, 0)                              \
    DEF_ACT(tanh_grad_##SUF, DT, T, FM_ACT_TANH, 1)                           \
    DEF_ACT(sigmoid_grad_##SUF, DT, T, FM_ACT_SIGMOID, 1)                     \
    DEF_ACT(silu_grad_##SUF, DT, T, FM_ACT_SILU, 1)                           \
    DEF_ACT(relu_grad_##SUF, DT, T, FM_ACT_RELU, 1)                           \
    DEF_ACT(gelu_grad_k_##SUF, DT, T, FM_ACT_GELU, 1)
DEF_ACTS(f32, FM_FLOAT32, float)
DEF_ACTS(f64, FM_FLOAT64, double)

/* sign keeps NaN and signed zero; relu keeps NaN. */
#define SIGN_EXPR(T) (x > 0 ? (T)1 : (x < 0 ? (T)-1 : x))

DEF_UN(neg_f32, float, -x)
DEF_UN(exp_f32, float, fmv_exp(x))
DEF_UN(log_f32, float, fmv_log(x))
DEF_UN(sqrt_f32, float, sqrtf(x))
DEF_UN(softplus_k_f32, float, softplus_f32(x))
DEF_UN(abs_f32, float, fabsf(x))
DEF_UN(sign_f32, float, SIGN_EXPR(float))
DEF_UN(square_f32, float, x * x)
DEF_UN(recip_f32, float, 1.0f / x)
DEF_UN(log1p_f32, float, log1pf(x))
DEF_UN(expm1_f32, float, expm1f(x))
DEF_UN(floor_f32, float, floorf(x))
DEF_UN(ceil_f32, float, ceilf(x))
DEF_UN(round_f32, float, nearbyintf(x))
DEF_UN(softplus_grad_f32, float, fmv_sigmoid(x))
DEF_UN(isnan_f32, float, x != x ? 1.0f : 0.0f)
DEF_UN(isfinite_f32, float, fabsf(x) <= 3.40282347e38f ? 1.0f : 0.0f)

/* sin/cos: the vectorised core for blocks of moderate finite inputs, libm
 * for blocks holding anything else (see ops_vmath.h). */
#define DEF_TRIG(NAME, VF, LIBM)                                       \
    static inline __attribute__((always_inline)) void NAME##_body(     \
        const void *pa, void *po, int64_t n)                           \
    {                                                                  \
        const float *A = pa;                                           \
        float *O = po;                                                 \
        for (int64_t i0 = 0; i0 < n; i0 += 256) {                      \
            int64_t m = n - i0 < 256 ? n - i0 : 256;                   \
            const float *restrict a = A + i0;                          \
            float *restrict o = O + i0;                                \
            if (fmv_trig_ok(a, m)) {                                   \
                for (int64_t i = 0; i < m; i++)                        \
                    o[i] = VF(a[i]);                                   \
            } else {                                                   \
                for (int64_t i = 0; i < m; i++)                        \
                    o[i] = LIBM(a[i]);                                 \
            }                                                          \
        }                                                              \
    }                                                                  \
    FM_CLONE_DISPATCH(NAME, (const void *pa, void *po, int64_t n), (pa, po, n))
DEF_TRIG(sin_f32, fmv_sin, sinf)
DEF_TRIG(cos_f32, fmv_cos, cosf)

static const un_kernel un_f32[] = {
    [FM_NEG] = neg_f32,
    [FM_EXP] = exp_f32,
    [FM_LOG] = log_f32,
    [FM_SQRT] = sqrt_f32,
    [FM_SIN] = sin_f32,
    [FM_COS] = cos_f32,
    [FM_TANH] = tanh_f32,
    [FM_SIGMOID] = sigmoid_f32,
    [FM_SILU] = silu_f32,
    [FM_RELU] = relu_f32,
    [FM_GELU] = gelu_k_f32,
    [FM_SOFTPLUS] = softplus_k_f32,
    [FM_ABS] = abs_f32,
    [FM_SIGN] = sign_f32,
    [FM_SQUARE] = square_f32,
    [FM_RECIPROCAL] = recip_f32,
    [FM_LOG1P] = log1p_f32,
    [FM_EXPM1] = expm1_f32,
    [FM_FLOOR] = floor_f32,
    [FM_CEIL] = ceil_f32,
    [FM_ROUND] = round_f32,
    [FM_SIGMOID_GRAD] = sigmoid_grad_f32,
    [FM_SILU_GRAD] = silu_grad_f32,
    [FM_GELU_GRAD] = gelu_grad_k_f32,
    [FM_TANH_GRAD] = tanh_grad_f32,
    [FM_RELU_GRAD] = relu_grad_f32,
    [FM_SOFTPLUS_GRAD] = softplus_grad_f32,
    [FM_ISNAN] = isnan_f32,
    [FM_ISFINITE] = isfinite_f32,
};
_Static_assert(sizeof un_f32 / sizeof un_f32[0] == FM_UNOP_COUNT, "one float32 kernel per unary op");

DEF_UN(neg_f64, double, -x)
DEF_UN(exp_f64, double, exp(x))
DEF_UN(log_f64, double, log(x))
DEF_UN(sqrt_f64, double, sqrt(x))
DEF_UN(sin_f64, double, sin(x))
DEF_UN(cos_f64, double, cos(x))
DEF_UN(softplus_k_f64, double, softplus_f64(x))
DEF_UN(abs_f64, double, fabs(x))
DEF_UN(sign_f64, double, SIGN_EXPR(double))
DEF_UN(square_f64, double, x * x)
DEF_UN(recip_f64, double, 1.0 / x)
DEF_UN(log1p_f64, double, log1p(x))
DEF_UN(expm1_f64, double, expm1(x))
DEF_UN(floor_f64, double, floor(x))
DEF_UN(ceil_f64, double, ceil(x))
DEF_UN(round_f64, double, nearbyint(x))
DEF_UN(softplus_grad_f64, double, sigm64(x))
DEF_UN(isnan_f64, double, x != x ? 1.0 : 0.0)
DEF_UN(isfinite_f64, double, fabs(x) <= 1.7976931348623157e308 ? 1.0 : 0.0)

static const un_kernel un_f64[] = {
    [FM_NEG] = neg_f64,
    [FM_EXP] = exp_f64,
    [FM_LOG] = log_f64,
    [FM_SQRT] = sqrt_f64,
    [FM_SIN] = sin_f64,
    [FM_COS] = cos_f64,
    [FM_TANH] = tanh_f64,
    [FM_SIGMOID] = sigmoid_f64,
    [FM_SILU] = silu_f64,
    [FM_RELU] = relu_f64,
    [FM_GELU] = gelu_k_f64,
    [FM_SOFTPLUS] = softplus_k_f64,
    [FM_ABS] = abs_f64,
    [FM_SIGN] = sign_f64,
    [FM_SQUARE] = square_f64,
    [FM_RECIPROCAL] = recip_f64,
    [FM_LOG1P] = log1p_f64,
    [FM_EXPM1] = expm1_f64,
    [FM_FLOOR] = floor_f64,
    [FM_CEIL] = ceil_f64,
    [FM_ROUND] = round_f64,
    [FM_SIGMOID_GRAD] = sigmoid_grad_f64,
    [FM_SILU_GRAD] = silu_grad_f64,
    [FM_GELU_GRAD] = gelu_grad_k_f64,
    [FM_TANH_GRAD] = tanh_grad_f64,
    [FM_RELU_GRAD] = relu_grad_f64,
    [FM_SOFTPLUS_GRAD] = softplus_grad_f64,
    [FM_ISNAN] = isnan_f64,
    [FM_ISFINITE] = isfinite_f64,
};
_Static_assert(sizeof un_f64 / sizeof un_f64[0] == FM_UNOP_COUNT, "one float64 kernel per unary op");

DEF_UN(neg_i64, int64_t, (int64_t)(0 - U64(x)))
DEF_UN(abs_i64, int64_t, x < 0 ? (int64_t)(0 - U64(x)) : x)
DEF_UN(sign_i64, int64_t, (x > 0) - (x < 0))
DEF_UN(square_i64, int64_t, (int64_t)(U64(x) * U64(x)))

static un_kernel unary_kernel(fm_unop op, fm_dtype dt)
{
    switch (dt) {
    case FM_FLOAT32: return un_f32[op];
    case FM_FLOAT64: return un_f64[op];
    case FM_INT64:
        return op == FM_NEG ? neg_i64 : op == FM_ABS ? abs_i64
             : op == FM_SIGN ? sign_i64 : op == FM_SQUARE ? square_i64 : NULL;
    case FM_UINT8: return NULL;
    }
    return NULL;
}

/* Copies n elements of size es between strided arrays (strides in elements). */
static void strided_move(void *dst, int64_t sd, const void *src, int64_t ss,
                         int64_t n, size_t es)
{
    if (es == 4) {
        float *d = dst;
        const float *s = src;
        for (int64_t i = 0; i < n; i++)
            d[i * sd] = s[i * ss];
    } else {
        double *d = dst;
        const double *s = src;
        for (int64_t i = 0; i < n; i++)
            d[i * sd] = s[i * ss];
    }
}

#define BLOCK 256

/* out = k(a), same shape: contiguous rows go straight to the kernel, strided
 * rows through a gather/compute/scatter buffer. */
static void unary_apply(un_kernel k, const fm_tensor *a, fm_tensor *out)
{
    int64_t strides[2][FM_MAX_DIMS];
    memcpy(strides[0], out->stride, sizeof strides[0]);
    fmi_bstride(a, out->ndim, strides[1]);
    fmi_iter it;
    fmi_init(&it, 2, out->ndim, out->shape, strides);
    if (it.numel == 0)
        return;
    int64_t n = fmi_inner(&it), so = fmi_istride(&it, 0), sa = fmi_istride(&it, 1);
    size_t es = fm_dtype_size(a->dtype);
    double bin[BLOCK], bout[BLOCK];
    if (it.ndim == 1 && so == 1 && sa == 1 && n >= FM_PAR_MIN) {
        char *po = out->data;
        const char *pa = a->data;
        int64_t nchunk = (n + FM_PAR_CHUNK - 1) / FM_PAR_CHUNK;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
        for (int64_t c = 0; c < nchunk; c++) {
            int64_t i = c * FM_PAR_CHUNK, m = n - i < FM_PAR_CHUNK ? n - i : FM_PAR_CHUNK;
            k(pa + i * (int64_t)es, po + i * (int64_t)es, m);
        }
        return;
    }
    do {
        char *po = fmi_ptr(out, it.off[0]);
        const char *pa = fmi_ptr(a, it.off[1]);
        if (so == 1 && sa == 1) {
            k(pa, po, n);
            continue;
        }
        for (int64_t i = 0; i < n; i += BLOCK) {
            int64_t m = n - i < BLOCK ? n - i : BLOCK;
            strided_move(bin, 1, pa + i * sa * (int64_t)es, sa, m, es);
            k(bin, bout, m);
            strided_move(po + i * so * (int64_t)es, so, bout, 1, m, es);
        }
    } while (fmi_next(&it));
}

fm_status fm_unary(fm_unop op, const fm_tensor *a, fm_tensor *out)
{
    if ((unsigned)op >= FM_UNOP_COUNT)
        return fm_error(FM_EVALUE, "unary: unknown op %d", (int)op);
    const char *name = unop_names[op];
    fm_status st = check_dtypes(name, a->dtype, out->dtype);
    if (st)
        return st;
    un_kernel k = unary_kernel(op, a->dtype);
    if (!k)
        return fm_error(FM_ETYPE, "%s: not defined for %s", name, fm_dtype_name(a->dtype));
    if ((st = check_same_shape(name, a, out)))
        return st;
    unary_apply(k, a, out);
    return FM_OK;
}

/* ---- scalar operand ----------------------------------------------------- */

fm_status fm_binary_scalar(fm_binop op, const fm_tensor *a, double s,
                           bool scalar_first, fm_tensor *out)
{
    if ((unsigned)op >= FM_BINOP_COUNT)
        return fm_error(FM_EVALUE, "binary: unknown op %d", (int)op);
    const char *name = binop_names[op];
    fm_status st = check_dtypes(name, a->dtype, out->dtype);
    if (st)
        return st;
    bin_kernel k = binary_kernel(op, a->dtype);
    if (!k)
        return fm_error(FM_ETYPE, "%s: not defined for %s", name, fm_dtype_name(a->dtype));
    if ((st = check_same_shape(name, a, out)))
        return st;
    if (op == FM_POW && !scalar_first && s == 2.0 && a->dtype != FM_INT64) {
        unary_apply(unary_kernel(FM_SQUARE, a->dtype), a, out);
        return FM_OK;
    }
    fmi_scalar v;
    fm_tensor sc;
    if (!fmi_scalar_tensor(a->dtype, s, true, &v, &sc))
        return fm_error(FM_EVALUE, "%s: scalar %g is not an int64 for an int64 tensor",
                        name, s);
    if (scalar_first)
        binary_apply(k, &sc, a, out);
    else
        binary_apply(k, a, &sc, out);
    return FM_OK;
}

/* ---- clamp, where, axpy ------------------------------------------------- */

#define DEF_CLAMP(NAME, T)                                                       \
    static void NAME(int64_t n, T *o, int64_t so, const T *a, int64_t sa,        \
                     T lo, T hi)                                                 \
    {                                                                            \
        if (so == 1 && sa == 1) {                                                \
            T *restrict O = o;                                                   \
            const T *restrict A = a;                                             \
            for (int64_t i = 0; i < n; i++) {                                    \
                T x = A[i];                                                      \
                x = x < lo ? lo : x;                                             \
                O[i] = x > hi ? hi : x;                                          \
            }                                                                    \
        } else {                                                                 \
            for (int64_t i = 0; i < n; i++) {                                    \
                T x = a[i * sa];                                                 \
                x = x < lo ? lo : x;                                             \
                o[i * so] = x > hi ? hi : x;                                     \
            }                                                                    \
        }                                                                        \
    }
DEF_CLAMP(clamp_f32, float)
DEF_CLAMP(clamp_f64, double)

fm_status fm_clamp(const fm_tensor *a, double lo, double hi, fm_tensor *out)
{
    fm_status st = check_dtypes("clamp", a->dtype, out->dtype);
    if (st)
        return st;
    if (!fm_dtype_is_float(a->dtype))
        return fm_error(FM_ETYPE, "clamp: not defined for %s", fm_dtype_name(a->dtype));
    if ((st = check_same_shape("clamp", a, out)))
        return st;
    if (lo > hi || lo != lo || hi != hi)
        return fm_error(FM_EVALUE, "clamp: lower bound %g above upper bound %g", lo, hi);
    int64_t strides[2][FM_MAX_DIMS];
    memcpy(strides[0], out->stride, sizeof strides[0]);
    memcpy(strides[1], a->stride, sizeof strides[1]);
    fmi_iter it;
    fmi_init(&it, 2, out->ndim, out->shape, strides);
    if (it.numel == 0)
        return FM_OK;
    int64_t n = fmi_inner(&it), so = fmi_istride(&it, 0), sa = fmi_istride(&it, 1);
    do {
        if (a->dtype == FM_FLOAT32)
            clamp_f32(n, fmi_ptr(out, it.off[0]), so, fmi_ptr(a, it.off[1]), sa,
                      (float)lo, (float)hi);
        else
            clamp_f64(n, fmi_ptr(out, it.off[0]), so, fmi_ptr(a, it.off[1]), sa, lo, hi);
    } while (fmi_next(&it));
    return FM_OK;
}

/* Reads element i of a strided array of dtype dt as "nonzero". */
static inline bool nonzero_at(const void *p, fm_dtype dt, int64_t i)
{
    switch (dt) {
    case FM_FLOAT32: return ((const float *)p)[i] != 0;
    case FM_FLOAT64: return ((const double *)p)[i] != 0;
    case FM_INT64: return ((const int64_t *)p)[i] != 0;
    case FM_UINT8: return ((const uint8_t *)p)[i] != 0;
    }
    return false;
}

fm_status fm_where(const fm_tensor *cond, const fm_tensor *a,
                   const fm_tensor *b, fm_tensor *out)
{
    fm_status st = check_dtypes("where", a->dtype, b->dtype);
    if (!st)
        st = check_dtypes("where", a->dtype, out->dtype);
    /* each of cond, a, b broadcasts to out's shape */
    if (!st)
        st = fm_ops_check_bshape("where", out, a, out);
    if (!st)
        st = fm_ops_check_bshape("where", out, b, out);
    if (!st)
        st = fm_ops_check_bshape("where", out, cond, out);
    if (st)
        return st;
    int64_t strides[4][FM_MAX_DIMS];
    memcpy(strides[0], out->stride, sizeof strides[0]);
    fmi_bstride(cond, out->ndim, strides[1]);
    fmi_bstride(a, out->ndim, strides[2]);
    fmi_bstride(b, out->ndim, strides[3]);
    fmi_iter it;
    fmi_init(&it, 4, out->ndim, out->shape, strides);
    if (it.numel == 0)
        return FM_OK;
    int64_t n = fmi_inner(&it);
    int64_t so = fmi_istride(&it, 0), sc = fmi_istride(&it, 1);
    int64_t sa = fmi_istride(&it, 2), sb = fmi_istride(&it, 3);
    size_t es = fm_dtype_size(out->dtype);
    do {
        char *po = fmi_ptr(out, it.off[0]);
        const void *pc = fmi_ptr(cond, it.off[1]);
        const char *pa = fmi_ptr(a, it.off[2]), *pb = fmi_ptr(b, it.off[3]);
        for (int64_t i = 0; i < n; i++) {
            const char *src = nonzero_at(pc, cond->dtype, i * sc)
                                  ? pa + i * sa * (int64_t)es : pb + i * sb * (int64_t)es;
            memcpy(po + i * so * (int64_t)es, src, es);
        }
    } while (fmi_next(&it));
    return FM_OK;
}

#define DEF_AXPY(NAME, T)                                                  \
    static void NAME(int64_t n, T *o, int64_t so, const T *b, int64_t sb, T al) \
    {                                                                      \
        if (so == 1 && sb == 1) {                                          \
            T *restrict O = o;                                             \
            const T *restrict B = b;                                       \
            for (int64_t i = 0; i < n; i++)                                \
                O[i] += al * B[i];                                         \
        } else {                                                           \
            for (int64_t i = 0; i < n; i++)                                \
                o[i * so] += al * b[i * sb];                               \
        }                                                                  \
    }
DEF_AXPY(axpy_f32, float)
DEF_AXPY(axpy_f64, double)

fm_status fm_axpy(double alpha, const fm_tensor *b, fm_tensor *out)
{
    fm_status st = check_dtypes("axpy", out->dtype, b->dtype);
    if (st)
        return st;
    if (!fm_dtype_is_float(out->dtype))
        return fm_error(FM_ETYPE, "axpy: not defined for %s", fm_dtype_name(out->dtype));
    if ((st = fm_ops_check_bshape("axpy", out, b, out)))
        return st;
    int64_t strides[2][FM_MAX_DIMS];
    memcpy(strides[0], out->stride, sizeof strides[0]);
    fmi_bstride(b, out->ndim, strides[1]);
    fmi_iter it;
    fmi_init(&it, 2, out->ndim, out->shape, strides);
    if (it.numel == 0)
        return FM_OK;
    int64_t n = fmi_inner(&it), so = fmi_istride(&it, 0), sb = fmi_istride(&it, 1);
    do {
        if (out->dtype == FM_FLOAT32)
            axpy_f32(n, fmi_ptr(out, it.off[0]), so, fmi_ptr(b, it.off[1]), sb, (float)alpha);
        else
            axpy_f64(n, fmi_ptr(out, it.off[0]), so, fmi_ptr(b, it.off[1]), sb, alpha);
    } while (fmi_next(&it));
    return FM_OK;
}
