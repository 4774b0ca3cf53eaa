/* ops_reduce.c — reductions (sum, mean, max, min, prod, var, norm,
 * logsumexp), argmax/argmin, sum_to (the adjoint of broadcasting) and
 * softmax / log-softmax.
 *
 * A reduction over dim d sees a as "lanes": the outputs that differ only in
 * the last remaining dim form a lane block of L values (stride sL), reduced
 * over r elements (stride sr). When sr > sL (e.g. summing an (n, d)
 * contiguous tensor over dim 0, autograd's bias gradient) the loop runs over
 * rows and accumulates into a row buffer of L doubles, so memory is read in
 * order; otherwise each lane is reduced on its own. Everything accumulates in
 * double in a fixed order: results are deterministic. */
#include "ops/ops.h"
#include "ops/internal.h"
#include "core/view.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const reduce_names[] = {
    [FM_SUM] = "sum",
    [FM_MEAN] = "mean",
    [FM_MAX] = "max",
    [FM_MIN] = "min",
    [FM_PROD] = "prod",
    [FM_VAR] = "var",
    [FM_NORM] = "norm",
    [FM_LOGSUMEXP] = "logsumexp",
};
_Static_assert(sizeof reduce_names / sizeof reduce_names[0] == FM_REDUCEOP_COUNT, "one name per reduction");

const char *fm_reduceop_name(fm_reduceop op)
{
    return (unsigned)op < FM_REDUCEOP_COUNT ? reduce_names[op] : "?";
}

fm_status fm_reduce_shape(const fm_tensor *a, int dim, bool keepdim,
                          int *ndim, int64_t *shape)
{
    if (dim < -1 || dim >= a->ndim)
        return fm_error(FM_EINDEX, "reduce: dimension %d out of range for a %d-d tensor",
                        dim + 1, a->ndim);
    int nd = 0;
    for (int i = 0; i < a->ndim; i++) {
        if (dim == -1 || i == dim) {
            if (keepdim)
                shape[nd++] = 1;
        } else {
            shape[nd++] = a->shape[i];
        }
    }
    *ndim = nd;
    return FM_OK;
}

/* ---- float lanes -------------------------------------------------------- */

/* Sum of n elements at stride s; 8 independent partial sums when contiguous
 * (vectorisable, and a fixed order). */
#define DEF_SUM1D(NAME, T)                                             \
    static inline __attribute__((always_inline)) double NAME(const T *a, int64_t n, int64_t s)               \
    {                                                                  \
        double r = 0;                                                  \
        if (s == 1) {                                                  \
            double acc[8] = {0};                                       \
            int64_t i = 0;                                             \
            for (; i + 8 <= n; i += 8)                                 \
                for (int j = 0; j < 8; j++)                            \
                    acc[j] += (double)a[i + j];                        \
            for (; i < n; i++)                                         \
                r += (double)a[i];                                     \
            r += ((acc[0] + acc[1]) + (acc[2] + acc[3]))               \
                 + ((acc[4] + acc[5]) + (acc[6] + acc[7]));            \
        } else {                                                       \
            for (int64_t i = 0; i < n; i++)                            \
                r += (double)a[i * s];                                 \
        }                                                              \
        return r;                                                      \
    }
DEF_SUM1D(sum1d_f32, float)
DEF_SUM1D(sum1d_f64, double)

/* NaN-propagating max/min. */
static inline double dmax(double x, double y) { return (x > y || x != x) ? x : y; }
static inline double dmin(double x, double y) { return (x < y || x != x) ? x : y; }

/* Runs BODY (with x = element as double, accp = &acc[l], so accp - acc is
 * the lane index) over the r x L block, rows outer when the lanes are the
 * fast dim. */
#define LANE_LOOP(T, BODY)                                                   \
    do {                                                                     \
        if (L > 1 && sL < sr) {                                              \
            for (int64_t i = 0; i < r; i++) {                                \
                const T *row = a + i * sr;                                   \
                if (sL == 1) {                                               \
                    for (int64_t l = 0; l < L; l++) {                        \
                        double x = (double)row[l];                           \
                        double *accp = &acc[l];                              \
                        BODY;                                                \
                    }                                                        \
                } else {                                                     \
                    for (int64_t l = 0; l < L; l++) {                        \
                        double x = (double)row[l * sL];                      \
                        double *accp = &acc[l];                              \
                        BODY;                                                \
                    }                                                        \
                }                                                            \
            }                                                                \
        } else {                                                             \
            for (int64_t l = 0; l < L; l++) {                                \
                const T *lane = a + l * sL;                                  \
                double *accp = &acc[l];                                      \
                for (int64_t i = 0; i < r; i++) {                            \
                    double x = (double)lane[i * sr];                         \
                    BODY;                                                    \
                }                                                            \
            }                                                                \
        }                                                                    \
    } while (0)

static void fill_d(double *p, int64_t n, double v)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = v;
}

/* res[l] = op over i of a[i * sr + l * sL]; work holds 2 L doubles. */
#define DEF_LANES(NAME, T, SUM1D)                                                \
    static inline __attribute__((always_inline)) void NAME##_body(               \
        fm_reduceop op, double p, const T *a, int64_t r, int64_t sr,             \
        int64_t L, int64_t sL, double *res, double *work)                        \
    {                                                                            \
        double *acc = res;                                                       \
        switch (op) {                                                            \
        case FM_SUM:                                                             \
        case FM_MEAN:                                                            \
            if (L == 1 || sL >= sr) {                                            \
                for (int64_t l = 0; l < L; l++)                                  \
                    res[l] = SUM1D(a + l * sL, r, sr);                           \
            } else {                                                             \
                fill_d(acc, L, 0);                                               \
                LANE_LOOP(T, *accp += x);                                        \
            }                                                                    \
            if (op == FM_MEAN)                                                   \
                for (int64_t l = 0; l < L; l++)                                  \
                    res[l] /= (double)r;                                         \
            return;                                                              \
        case FM_MAX:                                                             \
            fill_d(acc, L, -INFINITY);                                           \
            LANE_LOOP(T, *accp = dmax(*accp, x));                                \
            return;                                                              \
        case FM_MIN:                                                             \
            fill_d(acc, L, INFINITY);                                            \
            LANE_LOOP(T, *accp = dmin(*accp, x));                                \
            return;                                                              \
        case FM_PROD:                                                            \
            fill_d(acc, L, 1);                                                   \
            LANE_LOOP(T, *accp *= x);                                            \
            return;                                                              \
        case FM_VAR: {                                                           \
            /* two passes: mean, then squared deviations (MATH: exact formula) */ \
            double *mean = work;                                                 \
            acc = mean;                                                          \
            fill_d(acc, L, 0);                                                   \
            LANE_LOOP(T, *accp += x);                                            \
            for (int64_t l = 0; l < L; l++)                                      \
                mean[l] /= (double)r;                                            \
            acc = res;                                                           \
            fill_d(acc, L, 0);                                                   \
            LANE_LOOP(T, double dv = x - mean[accp - res]; *accp += dv * dv);    \
            for (int64_t l = 0; l < L; l++)                                      \
                res[l] /= (double)r - p;                                         \
            return;                                                              \
        }                                                                        \
        case FM_NORM:                                                            \
            if (p == INFINITY) {                                                 \
                fill_d(acc, L, 0);                                               \
                LANE_LOOP(T, *accp = dmax(*accp, fabs(x)));                      \
            } else if (p == -INFINITY) {                                         \
                fill_d(acc, L, INFINITY);                                        \
                LANE_LOOP(T, *accp = dmin(*accp, fabs(x)));                      \
            } else if (p == 2) {                                                 \
                fill_d(acc, L, 0);                                               \
                LANE_LOOP(T, *accp += x * x);                                    \
                for (int64_t l = 0; l < L; l++)                                  \
                    res[l] = sqrt(res[l]);                                       \
            } else if (p == 1) {                                                 \
                fill_d(acc, L, 0);                                               \
                LANE_LOOP(T, *accp += fabs(x));                                  \
            } else if (p == 0) {                                                 \
                fill_d(acc, L, 0);                                               \
                LANE_LOOP(T, *accp += (x != 0));                                 \
            } else {                                                             \
                fill_d(acc, L, 0);                                               \
                LANE_LOOP(T, *accp += pow(fabs(x), p));                          \
                for (int64_t l = 0; l < L; l++)                                  \
                    res[l] = pow(res[l], 1.0 / p);                               \
            }                                                                    \
            return;                                                              \
        case FM_LOGSUMEXP: {                                                     \
            /* m + log(sum exp(x - m)), m = max: no overflow */                  \
            double *m = work;                                                    \
            acc = m;                                                             \
            fill_d(acc, L, -INFINITY);                                           \
            LANE_LOOP(T, *accp = dmax(*accp, x));                                \
            acc = res;                                                           \
            fill_d(acc, L, 0);                                                   \
            LANE_LOOP(T, *accp += exp(x - m[accp - res]));                       \
            for (int64_t l = 0; l < L; l++)                                      \
                res[l] = isinf(m[l]) ? m[l] : m[l] + log(res[l]);                \
            return;                                                              \
        }                                                                        \
        default:                                                                 \
            return;                                                              \
        }                                                                        \
    }                                                                            \
    FM_CLONE_DISPATCH(NAME, (fm_reduceop op, double p, const T *a, int64_t r,    \
                             int64_t sr, int64_t L, int64_t sL, double *res,     \
                             double *work),                                      \
                      (op, p, a, r, sr, L, sL, res, work))
DEF_LANES(lanes_f32, float, sum1d_f32)
DEF_LANES(lanes_f64, double, sum1d_f64)

/* int64: exact integer sum/prod (wrapping), max, min; one lane at a time. */
static void lanes_i64(fm_reduceop op, const int64_t *a, int64_t r, int64_t sr,
                      int64_t L, int64_t sL, int64_t *res)
{
    for (int64_t l = 0; l < L; l++) {
        const int64_t *lane = a + l * sL;
        uint64_t acc = op == FM_PROD ? 1 : 0;
        int64_t m = r > 0 ? lane[0] : 0;
        for (int64_t i = 0; i < r; i++) {
            int64_t x = lane[i * sr];
            if (op == FM_SUM)
                acc += (uint64_t)x;
            else if (op == FM_PROD)
                acc *= (uint64_t)x;
            else if (op == FM_MAX ? x > m : x < m)
                m = x;
        }
        res[l] = (op == FM_SUM || op == FM_PROD) ? (int64_t)acc : m;
    }
}

/* ---- driver ------------------------------------------------------------- */

/* Describes a reduction of a over dim as an iteration over lane blocks. */
typedef struct {
    fm_tensor a;          /* the input (a contiguous copy for dim = -1 when needed) */
    void *copy;           /* owned copy, or NULL */
    int64_t r, sr;        /* reduced length and stride */
    int64_t L, sL;        /* lane count and stride (in a) */
    int nouter;           /* outer dims, iterated with resstride */
    int64_t oshape[FM_MAX_DIMS];
    int64_t ostride[2][FM_MAX_DIMS]; /* [0]: a, [1]: result buffer */
    int64_t nres;
} reduce_plan;

static fm_status plan_reduce(const char *op, const fm_tensor *a, int dim,
                             reduce_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    pl->a = *a;
    if (dim < -1 || dim >= a->ndim)
        return fm_error(FM_EINDEX, "%s: dimension %d out of range for a %d-d tensor",
                        op, dim + 1, a->ndim);
    if (dim == -1) {
        int64_t n = fm_tensor_numel(a);
        int64_t strides[1][FM_MAX_DIMS];
        memcpy(strides[0], a->stride, sizeof strides[0]);
        fmi_iter it;
        fmi_init(&it, 1, a->ndim, a->shape, strides);
        pl->r = n;
        pl->L = 1;
        pl->nres = 1;
        if (it.ndim == 1) {
            pl->sr = it.stride[0][0];
            return FM_OK;
        }
        /* not one strided run: reduce a contiguous copy */
        pl->copy = malloc((size_t)n * fm_dtype_size(a->dtype));
        if (!pl->copy)
            return fm_error(FM_ENOMEM, "%s: out of memory", op);
        fm_tensor_init(&pl->a, pl->copy, a->dtype, a->ndim, a->shape);
        fm_copy(&pl->a, a);
        pl->sr = 1;
        return FM_OK;
    }
    pl->r = a->shape[dim];
    pl->sr = a->stride[dim];
    int64_t rshape[FM_MAX_DIMS], rstride[FM_MAX_DIMS];
    int nr = 0;
    for (int i = 0; i < a->ndim; i++)
        if (i != dim) {
            rshape[nr] = a->shape[i];
            rstride[nr++] = a->stride[i];
        }
    pl->L = nr > 0 ? rshape[nr - 1] : 1;
    pl->sL = nr > 0 ? rstride[nr - 1] : 0;
    pl->nouter = nr > 0 ? nr - 1 : 0;
    int64_t rs = pl->L;
    for (int i = pl->nouter - 1; i >= 0; i--) {
        pl->oshape[i] = rshape[i];
        pl->ostride[0][i] = rstride[i];
        pl->ostride[1][i] = rs;
        rs *= rshape[i];
    }
    pl->nres = rs;
    return FM_OK;
}

static fm_status check_reduce_out(const char *op, const fm_tensor *a,
                                  const reduce_plan *pl, const fm_tensor *out)
{
    if (fm_tensor_numel(out) != pl->nres) {
        char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: output shape %s does not fit the reduction of %s",
                        op, fm_shape_str(out, s1, sizeof s1), fm_shape_str(a, s2, sizeof s2));
    }
    return FM_OK;
}

/* Writes the contiguous results buffer into out (any strides). */
static fm_status store_results(fm_tensor *out, void *buf, fm_dtype dt)
{
    fm_tensor src;
    fm_tensor_init(&src, buf, dt, out->ndim, out->shape);
    return fm_copy(out, &src);
}

fm_status fm_reduce(fm_reduceop op, const fm_tensor *a, int dim, double param,
                    fm_tensor *out)
{
    if ((unsigned)op >= FM_REDUCEOP_COUNT)
        return fm_error(FM_EVALUE, "reduce: unknown op %d", (int)op);
    const char *name = reduce_names[op];
    if (a->dtype != out->dtype)
        return fm_error(FM_ETYPE, "%s: output dtype %s differs from input dtype %s", name,
                        fm_dtype_name(out->dtype), fm_dtype_name(a->dtype));
    if (a->dtype == FM_INT64 && op != FM_SUM && op != FM_MAX && op != FM_MIN && op != FM_PROD)
        return fm_error(FM_ETYPE, "%s: not defined for int64", name);
    if (a->dtype == FM_UINT8)
        return fm_error(FM_ETYPE, "%s: not defined for uint8", name);
    reduce_plan pl;
    fm_status st = plan_reduce(name, a, dim, &pl);
    if (!st)
        st = check_reduce_out(name, a, &pl, out);
    if (!st && pl.r == 0 && pl.nres > 0 && (op == FM_MAX || op == FM_MIN)) {
        char s[FM_SHAPE_STR_MAX];
        st = fm_error(FM_EVALUE, "%s: reducing an empty dimension of %s", name,
                      fm_shape_str(a, s, sizeof s));
    }
    void *res = NULL;
    double *work = NULL;
    if (!st) {
        res = malloc((size_t)(pl.nres > 0 ? pl.nres : 1) * 8);
        work = malloc((size_t)pl.L * 8 + 8);
        if (!res || !work)
            st = fm_error(FM_ENOMEM, "%s: out of memory", name);
    }
    if (!st && pl.nres > 0) {
        int64_t strides[2][FM_MAX_DIMS];
        memcpy(strides, pl.ostride, sizeof strides);
        fmi_iter it;
        fmi_init(&it, 2, pl.nouter, pl.oshape, strides);
        int64_t n = fmi_inner(&it), s0 = fmi_istride(&it, 0), s1 = fmi_istride(&it, 1);
        do {
            for (int64_t j = 0; j < n; j++) {
                int64_t ao = it.off[0] + j * s0, ro = it.off[1] + j * s1;
                void *pa = fmi_ptr(&pl.a, ao);
                if (a->dtype == FM_FLOAT32)
                    lanes_f32(op, param, pa, pl.r, pl.sr, pl.L, pl.sL, (double *)res + ro, work);
                else if (a->dtype == FM_FLOAT64)
                    lanes_f64(op, param, pa, pl.r, pl.sr, pl.L, pl.sL, (double *)res + ro, work);
                else
                    lanes_i64(op, pa, pl.r, pl.sr, pl.L, pl.sL, (int64_t *)res + ro);
            }
        } while (fmi_next(&it));
        st = store_results(out, res, a->dtype == FM_INT64 ? FM_INT64 : FM_FLOAT64);
    }
    free(res);
    free(work);
    free(pl.copy);
    return st;
}

/* ---- argmax / argmin ---------------------------------------------------- */

/* NaN counts as larger than everything; the first occurrence wins. */
#define DEF_ARG(NAME, T)                                                      \
    static int64_t NAME(bool is_max, const T *a, int64_t r, int64_t sr)       \
    {                                                                         \
        int64_t best = 0;                                                     \
        T bv = a[0];                                                          \
        for (int64_t i = 1; i < r; i++) {                                     \
            T x = a[i * sr];                                                  \
            bool better = is_max ? ((x != x && bv == bv) || x > bv)           \
                                 : ((bv != bv && x == x) || x < bv);          \
            if (better) {                                                     \
                best = i;                                                     \
                bv = x;                                                       \
            }                                                                 \
        }                                                                     \
        return best;                                                          \
    }
DEF_ARG(arg_f32, float)
DEF_ARG(arg_f64, double)
DEF_ARG(arg_i64, int64_t)

fm_status fm_argreduce(bool is_max, const fm_tensor *a, int dim, int64_t base,
                       fm_tensor *out)
{
    const char *name = is_max ? "argmax" : "argmin";
    if (out->dtype != FM_INT64)
        return fm_error(FM_ETYPE, "%s: output must be int64, got %s", name,
                        fm_dtype_name(out->dtype));
    if (a->dtype == FM_UINT8)
        return fm_error(FM_ETYPE, "%s: not defined for uint8", name);
    reduce_plan pl;
    fm_status st = plan_reduce(name, a, dim, &pl);
    if (!st)
        st = check_reduce_out(name, a, &pl, out);
    if (!st && pl.r == 0 && pl.nres > 0) {
        char s[FM_SHAPE_STR_MAX];
        st = fm_error(FM_EVALUE, "%s: reducing an empty dimension of %s", name,
                      fm_shape_str(a, s, sizeof s));
    }
    int64_t *res = NULL;
    if (!st && !(res = malloc((size_t)(pl.nres > 0 ? pl.nres : 1) * 8)))
        st = fm_error(FM_ENOMEM, "%s: out of memory", name);
    if (!st && pl.nres > 0) {
        int64_t strides[2][FM_MAX_DIMS];
        memcpy(strides, pl.ostride, sizeof strides);
        fmi_iter it;
        fmi_init(&it, 2, pl.nouter, pl.oshape, strides);
        int64_t n = fmi_inner(&it), s0 = fmi_istride(&it, 0), s1 = fmi_istride(&it, 1);
        do {
            for (int64_t j = 0; j < n; j++)
                for (int64_t l = 0; l < pl.L; l++) {
                    void *pa = fmi_ptr(&pl.a, it.off[0] + j * s0 + l * pl.sL);
                    int64_t k = a->dtype == FM_FLOAT32 ? arg_f32(is_max, pa, pl.r, pl.sr)
                              : a->dtype == FM_FLOAT64 ? arg_f64(is_max, pa, pl.r, pl.sr)
                                                       : arg_i64(is_max, pa, pl.r, pl.sr);
                    res[it.off[1] + j * s1 + l] = k + base;
                }
        } while (fmi_next(&it));
        st = store_results(out, res, FM_INT64);
    }
    free(res);
    free(pl.copy);
    return st;
}

/* ---- sum_to ------------------------------------------------------------- */

#define DEF_ACC(NAME, T, SUM1D)                                              \
    static inline __attribute__((always_inline)) void NAME##_body(           \
        int64_t n, double *acc, int64_t sacc, const T *a, int64_t sa)        \
    {                                                                        \
        if (sacc == 0) {                                                     \
            acc[0] += SUM1D(a, n, sa);                                       \
        } else if (sacc == 1 && sa == 1) {                                   \
            double *restrict A = acc;                                        \
            const T *restrict X = a;                                         \
            for (int64_t i = 0; i < n; i++)                                  \
                A[i] += (double)X[i];                                        \
        } else {                                                             \
            for (int64_t i = 0; i < n; i++)                                  \
                acc[i * sacc] += (double)a[i * sa];                          \
        }                                                                    \
    }                                                                        \
    FM_CLONE_DISPATCH(NAME, (int64_t n, double *acc, int64_t sacc, const T *a, \
                             int64_t sa), (n, acc, sacc, a, sa))
DEF_ACC(acc_f32, float, sum1d_f32)
DEF_ACC(acc_f64, double, sum1d_f64)

fm_status fm_sum_to(const fm_tensor *a, fm_tensor *out)
{
    char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX];
    if (a->dtype != out->dtype || !fm_dtype_is_float(a->dtype))
        return fm_error(FM_ETYPE, "sum_to: needs one float dtype, got %s and %s",
                        fm_dtype_name(a->dtype), fm_dtype_name(out->dtype));
    bool ok = out->ndim <= a->ndim;
    int lead = a->ndim - out->ndim;
    for (int i = 0; ok && i < out->ndim; i++)
        ok = out->shape[i] == 1 || out->shape[i] == a->shape[i + lead];
    if (!ok)
        return fm_error(FM_ESHAPE, "sum_to: shape %s does not broadcast to %s",
                        fm_shape_str(out, s1, sizeof s1), fm_shape_str(a, s2, sizeof s2));
    int64_t nout = fm_tensor_numel(out);
    if (nout == fm_tensor_numel(a) && nout > 0) {
        /* nothing to sum: a's trailing dims have out's sizes */
        fm_tensor v = *a;
        v.ndim = out->ndim;
        for (int i = 0; i < out->ndim; i++) {
            v.shape[i] = a->shape[i + lead];
            v.stride[i] = a->stride[i + lead];
        }
        return fm_copy(out, &v);
    }
    double *buf = calloc((size_t)(nout > 0 ? nout : 1), sizeof(double));
    if (!buf)
        return fm_error(FM_ENOMEM, "sum_to: out of memory");
    fm_tensor acc;
    fm_tensor_init(&acc, buf, FM_FLOAT64, out->ndim, out->shape);
    int64_t strides[2][FM_MAX_DIMS];
    fmi_bstride(&acc, a->ndim, strides[0]);
    memcpy(strides[1], a->stride, sizeof strides[1]);
    fmi_iter it;
    fmi_init(&it, 2, a->ndim, a->shape, strides);
    if (it.numel > 0) {
        int64_t n = fmi_inner(&it), s0 = fmi_istride(&it, 0), s1i = fmi_istride(&it, 1);
        do {
            if (a->dtype == FM_FLOAT32)
                acc_f32(n, buf + it.off[0], s0, fmi_ptr(a, it.off[1]), s1i);
            else
                acc_f64(n, buf + it.off[0], s0, fmi_ptr(a, it.off[1]), s1i);
        } while (fmi_next(&it));
    }
    fm_status st = fm_copy(out, &acc);
    free(buf);
    return st;
}

/* ---- softmax ------------------------------------------------------------ */

/* Stable softmax of one lane: exp(x - max) / sum, or x - max - log(sum). */
#define DEF_SOFTMAX(NAME, T)                                                   \
    static void NAME(bool lg, const T *a, int64_t sa, T *o, int64_t so, int64_t n) \
    {                                                                          \
        double m = -INFINITY;                                                  \
        for (int64_t i = 0; i < n; i++)                                        \
            m = dmax(m, (double)a[i * sa]);                                    \
        double s = 0;                                                          \
        for (int64_t i = 0; i < n; i++)                                        \
            s += exp((double)a[i * sa] - m);                                   \
        double ls = log(s), inv = 1.0 / s;                                     \
        for (int64_t i = 0; i < n; i++) {                                      \
            double d = (double)a[i * sa] - m;                                  \
            o[i * so] = (T)(lg ? d - ls : exp(d) * inv);                       \
        }                                                                      \
    }
DEF_SOFTMAX(softmax_f32, float)
DEF_SOFTMAX(softmax_f64, double)

fm_status fm_softmax(const fm_tensor *a, int dim, bool log, fm_tensor *out)
{
    const char *name = log ? "log_softmax" : "softmax";
    if (a->dtype != out->dtype || !fm_dtype_is_float(a->dtype))
        return fm_error(FM_ETYPE, "%s: needs one float dtype, got %s and %s", name,
                        fm_dtype_name(a->dtype), fm_dtype_name(out->dtype));
    if (!fm_tensor_same_shape(a, out)) {
        char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: output shape %s differs from input shape %s", name,
                        fm_shape_str(out, s1, sizeof s1), fm_shape_str(a, s2, sizeof s2));
    }
    fm_tensor av = *a, ov = *out;
    if (a->ndim == 0) { /* a scalar is a 1-element vector */
        av.ndim = ov.ndim = 1;
        av.shape[0] = ov.shape[0] = 1;
        av.stride[0] = ov.stride[0] = 1;
        dim = 0;
    }
    int d;
    fm_status st = fm_dim_normalize(av.ndim, dim, &d, name);
    if (st)
        return st;
    int64_t n = av.shape[d], sa = av.stride[d], so = ov.stride[d];
    int64_t shape[FM_MAX_DIMS], strides[2][FM_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < av.ndim; i++)
        if (i != d) {
            shape[nd] = av.shape[i];
            strides[0][nd] = av.stride[i];
            strides[1][nd++] = ov.stride[i];
        }
    fmi_iter it;
    fmi_init(&it, 2, nd, shape, strides);
    if (it.numel == 0 || n == 0)
        return FM_OK;
    int64_t m = fmi_inner(&it), s0 = fmi_istride(&it, 0), s1 = fmi_istride(&it, 1);
    do {
        for (int64_t j = 0; j < m; j++) {
            void *pa = fmi_ptr(&av, it.off[0] + j * s0);
            void *po = fmi_ptr(&ov, it.off[1] + j * s1);
            if (a->dtype == FM_FLOAT32)
                softmax_f32(log, pa, sa, po, so, n);
            else
                softmax_f64(log, pa, sa, po, so, n);
        }
    } while (fmi_next(&it));
    return FM_OK;
}
