/* resample.c — the layer kinds upsample and avg_pool (nn/layer.h), no
 * parameters, factor f = l->factor >= 1, NCHW.
 *
 *   upsample (nearest, torch F.interpolate(x, scale_factor=f, mode="nearest")
 *   for an integer f): (N, C, H, W) -> (N, C, fH, fW),
 *     out[n, c, i, j] = x[n, c, i / f, j / f]
 *   backward: grad_in[n, c, i, j] += sum over the f x f block
 *     grad_out[n, c, f i + a, f j + b], 0 <= a, b < f
 *   avg_pool (torch nn.AvgPool2d(f): kernel = stride = f, no padding,
 *   floor): (N, C, H, W) -> (N, C, H / f, W / f),
 *     out[n, c, i, j] = (sum_{a, b < f} x[n, c, f i + a, f j + b]) / f^2
 *   (summed row by row, then divided, as torch does); rows / columns past
 *   f (H / f) or f (W / f) are ignored (their gradient is zero)
 *   backward: each window's input elements += grad_out / f^2
 *
 * Both maps are linear, so jvp is the same map applied to the tangent
 * (zero when it is NULL). Nothing is saved. The batch is split into parts
 * (fm_nn_parts) run on the worker pool; a part walks its (n, c) planes with
 * contiguous row loops (memory-bound, vectorised by the compiler), for
 * float32 and float64 from one macro. */
#include "nn/layer.h"
#include "core/fm.h"

#include <string.h>

typedef enum { OP_UP_FWD, OP_UP_BWD, OP_POOL_FWD, OP_POOL_BWD } rs_op;

/* ---- kernels on planes [p0, p1) --------------------------------------- */

#define RS_KERNELS(T, SUF)                                                     \
    static void up_fwd_##SUF(const T *restrict x, T *restrict o, int64_t np,  \
                             int64_t H, int64_t W, int64_t f)                  \
    {                                                                          \
        int64_t Wo = W * f;                                                    \
        for (int64_t p = 0; p < np; p++) {                                     \
            for (int64_t i = 0; i < H; i++) {                                  \
                const T *restrict xr = x + (p * H + i) * W;                   \
                T *restrict orow = o + (p * H + i) * f * Wo;                   \
                if (f == 2) {                                                  \
                    for (int64_t j = 0; j < W; j++) {                          \
                        orow[2 * j] = xr[j];                                   \
                        orow[2 * j + 1] = xr[j];                               \
                    }                                                          \
                } else {                                                       \
                    for (int64_t j = 0; j < W; j++)                            \
                        for (int64_t b = 0; b < f; b++)                        \
                            orow[j * f + b] = xr[j];                           \
                }                                                              \
                for (int64_t a = 1; a < f; a++)                                \
                    memcpy(orow + a * Wo, orow, sizeof(T) * (size_t)Wo);       \
            }                                                                  \
        }                                                                      \
    }                                                                          \
    static void up_bwd_##SUF(const T *restrict g, T *restrict gi, int64_t np, \
                             int64_t H, int64_t W, int64_t f)                  \
    {                                                                          \
        int64_t Wo = W * f;                                                    \
        for (int64_t p = 0; p < np; p++) {                                     \
            for (int64_t i = 0; i < H; i++) {                                  \
                T *restrict gr = gi + (p * H + i) * W;                         \
                const T *restrict g0 = g + (p * H + i) * f * Wo;               \
                if (f == 2) {                                                  \
                    const T *restrict g1 = g0 + Wo;                            \
                    for (int64_t j = 0; j < W; j++)                            \
                        gr[j] += (g0[2 * j] + g0[2 * j + 1])                   \
                                 + (g1[2 * j] + g1[2 * j + 1]);                \
                } else {                                                       \
                    for (int64_t j = 0; j < W; j++) {                          \
                        T s = 0;                                               \
                        for (int64_t a = 0; a < f; a++)                        \
                            for (int64_t b = 0; b < f; b++)                    \
                                s += g0[a * Wo + j * f + b];                   \
                        gr[j] += s;                                            \
                    }                                                          \
                }                                                              \
            }                                                                  \
        }                                                                      \
    }                                                                          \
    /* H, W: the input's; Ho = H / f, Wo = W / f */                            \
    static void pool_fwd_##SUF(const T *restrict x, T *restrict o,            \
                               int64_t np, int64_t H, int64_t W, int64_t f)    \
    {                                                                          \
        int64_t Ho = H / f, Wo = W / f;                                        \
        T div = (T)(f * f);                                                    \
        for (int64_t p = 0; p < np; p++) {                                     \
            for (int64_t i = 0; i < Ho; i++) {                                 \
                const T *restrict x0 = x + (p * H + i * f) * W;                \
                T *restrict orow = o + (p * Ho + i) * Wo;                      \
                if (f == 2) {                                                  \
                    const T *restrict x1 = x0 + W;                             \
                    for (int64_t j = 0; j < Wo; j++)                           \
                        orow[j] = (x0[2 * j] + x0[2 * j + 1] + x1[2 * j]       \
                                   + x1[2 * j + 1]) / div;                     \
                } else {                                                       \
                    for (int64_t j = 0; j < Wo; j++) {                         \
                        T s = 0;                                               \
                        for (int64_t a = 0; a < f; a++)                        \
                            for (int64_t b = 0; b < f; b++)                    \
                                s += x0[a * W + j * f + b];                    \
                        orow[j] = s / div;                                     \
                    }                                                          \
                }                                                              \
            }                                                                  \
        }                                                                      \
    }                                                                          \
    static void pool_bwd_##SUF(const T *restrict g, T *restrict gi,           \
                               int64_t np, int64_t H, int64_t W, int64_t f)    \
    {                                                                          \
        int64_t Ho = H / f, Wo = W / f;                                        \
        T div = (T)(f * f);                                                    \
        for (int64_t p = 0; p < np; p++) {                                     \
            for (int64_t i = 0; i < Ho; i++) {                                 \
                const T *restrict gr = g + (p * Ho + i) * Wo;                  \
                for (int64_t a = 0; a < f; a++) {                              \
                    T *restrict r = gi + (p * H + i * f + a) * W;              \
                    if (f == 2) {                                              \
                        for (int64_t j = 0; j < Wo; j++) {                     \
                            T d = gr[j] / div;                                 \
                            r[2 * j] += d;                                     \
                            r[2 * j + 1] += d;                                 \
                        }                                                      \
                    } else {                                                   \
                        for (int64_t j = 0; j < Wo; j++) {                     \
                            T d = gr[j] / div;                                 \
                            for (int64_t b = 0; b < f; b++)                    \
                                r[j * f + b] += d;                             \
                        }                                                      \
                    }                                                          \
                }                                                              \
            }                                                                  \
        }                                                                      \
    }

RS_KERNELS(float, f32)
RS_KERNELS(double, f64)

/* ---- parts ------------------------------------------------------------ */

typedef struct {
    rs_op op;
    fm_dtype dt;
    int64_t N, C, H, W, f;   /* the input's N, C, H, W */
    int n;                   /* maps to run: 1, or 2 for jvp (out and tan_out) */
    const void *src[2];      /* NULL src: zero the destination (forward only) */
    void *dst[2];
} rs_job;

static void rs_part(void *ctx, int part)
{
    const rs_job *j = ctx;
    int64_t lo, hi;
    fm_nn_part_range(j->N, fm_nn_parts(j->N), part, &lo, &hi);
    int64_t p0 = lo * j->C, np = (hi - lo) * j->C;
    int64_t f = j->f, H = j->H, W = j->W;
    /* elements per plane of the source and destination */
    int64_t in_pl = H * W, out_pl;
    if (j->op == OP_UP_FWD || j->op == OP_UP_BWD)
        out_pl = H * f * W * f;
    else
        out_pl = (H / f) * (W / f);
    bool bwd = j->op == OP_UP_BWD || j->op == OP_POOL_BWD;
    int64_t src_pl = bwd ? out_pl : in_pl, dst_pl = bwd ? in_pl : out_pl;
    size_t es = fm_dtype_size(j->dt);
    for (int k = 0; k < j->n; k++) {
        char *d = (char *)j->dst[k] + (size_t)(p0 * dst_pl) * es;
        if (!j->src[k]) {
            memset(d, 0, (size_t)(np * dst_pl) * es);
            continue;
        }
        const char *s = (const char *)j->src[k] + (size_t)(p0 * src_pl) * es;
        if (j->dt == FM_FLOAT32) {
            switch (j->op) {
            case OP_UP_FWD: up_fwd_f32((const float *)s, (float *)d, np, H, W, f); break;
            case OP_UP_BWD: up_bwd_f32((const float *)s, (float *)d, np, H, W, f); break;
            case OP_POOL_FWD: pool_fwd_f32((const float *)s, (float *)d, np, H, W, f); break;
            case OP_POOL_BWD: pool_bwd_f32((const float *)s, (float *)d, np, H, W, f); break;
            }
        } else {
            switch (j->op) {
            case OP_UP_FWD: up_fwd_f64((const double *)s, (double *)d, np, H, W, f); break;
            case OP_UP_BWD: up_bwd_f64((const double *)s, (double *)d, np, H, W, f); break;
            case OP_POOL_FWD: pool_fwd_f64((const double *)s, (double *)d, np, H, W, f); break;
            case OP_POOL_BWD: pool_bwd_f64((const double *)s, (double *)d, np, H, W, f); break;
            }
        }
    }
}

/* ---- the ops ---------------------------------------------------------- */

static const char *kind_name(const fm_layer *l)
{
    return l->kind == FM_LAYER_UPSAMPLE ? "upsample" : "avg_pool";
}

static fm_status rs_check(const fm_layer *l)
{
    if (l->dtype != FM_FLOAT32 && l->dtype != FM_FLOAT64)
        return fm_error(FM_ETYPE, "%s: dtype must be float32 or float64, not %s",
                        kind_name(l), fm_dtype_name(l->dtype));
    if (l->factor < 1)
        return fm_error(FM_EVALUE, "%s: factor must be >= 1, got %lld",
                        kind_name(l), (long long)l->factor);
    return FM_OK;
}

static int rs_nparams(const fm_layer *l) { (void)l; return 0; }

static void rs_param_shape(const fm_layer *l, int i, int *ndim, int64_t *shape)
{
    (void)l; (void)i; (void)shape;
    *ndim = 0;
}

static int64_t rs_saved_numel(const fm_layer *l, int nin, const fm_tensor *in)
{
    (void)l; (void)nin; (void)in;
    return 0;
}

static fm_status rs_shape(const fm_layer *l, int nin, const fm_tensor *in,
                          int *ndim, int64_t *shape)
{
    const char *name = kind_name(l);
    char b[FM_SHAPE_STR_MAX];
    if (l->factor < 1)
        return fm_error(FM_EVALUE, "%s: factor must be >= 1, got %lld", name,
                        (long long)l->factor);
    if (nin != 1)
        return fm_error(FM_EVALUE, "%s: takes 1 input, got %d", name, nin);
    if (in[0].ndim != 4)
        return fm_error(FM_ESHAPE, "%s: input must be 4-D (N, C, H, W), got %s",
                        name, fm_shape_str(&in[0], b, sizeof b));
    int64_t f = l->factor, H = in[0].shape[2], W = in[0].shape[3];
    shape[0] = in[0].shape[0];
    shape[1] = in[0].shape[1];
    if (l->kind == FM_LAYER_UPSAMPLE) {
        if ((H > 0 && f > INT64_MAX / H) || (W > 0 && f > INT64_MAX / W))
            return fm_error(FM_ESHAPE, "%s: factor %lld is too large for input %s",
                            name, (long long)f, fm_shape_str(&in[0], b, sizeof b));
        shape[2] = H * f;
        shape[3] = W * f;
    } else {
        if (H < f || W < f)
            return fm_error(FM_ESHAPE,
                            "%s: input %s is smaller than the %lld x %lld window",
                            name, fm_shape_str(&in[0], b, sizeof b),
                            (long long)f, (long long)f);
        shape[2] = H / f;
        shape[3] = W / f;
    }
    *ndim = 4;
    return FM_OK;
}

/* The output shape, and `t` (out, grad_out or tan_out) has it. */
static fm_status rs_expect(const fm_layer_call *c, const fm_tensor *t,
                           const char *what)
{
    int nd;
    int64_t sh[FM_MAX_DIMS];
    fm_status st = rs_shape(c->layer, c->nin, c->in, &nd, sh);
    if (st)
        return st;
    bool ok = t->ndim == nd;
    for (int d = 0; ok && d < nd; d++)
        ok = t->shape[d] == sh[d];
    if (!ok) {
        char a[FM_SHAPE_STR_MAX], b[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: %s has shape %s, input %s gives (%lld, %lld, %lld, %lld)",
                        kind_name(c->layer), what, fm_shape_str(t, a, sizeof a),
                        fm_shape_str(&c->in[0], b, sizeof b), (long long)sh[0],
                        (long long)sh[1], (long long)sh[2], (long long)sh[3]);
    }
    return FM_OK;
}

static void rs_run(const fm_layer_call *c, rs_op op, int n, const void *s0,
                   void *d0, const void *s1, void *d1)
{
    const fm_tensor *x = &c->in[0];
    rs_job j = { .op = op, .dt = c->layer->dtype, .N = x->shape[0],
                 .C = x->shape[1], .H = x->shape[2], .W = x->shape[3],
                 .f = c->layer->factor, .n = n, .src = { s0, s1 },
                 .dst = { d0, d1 } };
    if (j.N * j.C == 0)
        return;
    fm_nn_parallel(fm_nn_parts(j.N), rs_part, &j);
}

static rs_op fwd_op(const fm_layer *l)
{
    return l->kind == FM_LAYER_UPSAMPLE ? OP_UP_FWD : OP_POOL_FWD;
}

static fm_status rs_forward(const fm_layer_call *c)
{
    fm_status st = rs_expect(c, c->out, "out");
    if (st)
        return st;
    rs_run(c, fwd_op(c->layer), 1, c->in[0].data, c->out->data, NULL, NULL);
    return FM_OK;
}

static fm_status rs_backward(const fm_layer_call *c)
{
    fm_status st = rs_expect(c, c->grad_out, "grad_out");
    if (st)
        return st;
    if (!c->grad_in || !c->grad_in[0].data)
        return FM_OK;
    if (!fm_tensor_same_shape(&c->grad_in[0], &c->in[0])) {
        char a[FM_SHAPE_STR_MAX], b[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: grad_in has shape %s, the input %s",
                        kind_name(c->layer),
                        fm_shape_str(&c->grad_in[0], a, sizeof a),
                        fm_shape_str(&c->in[0], b, sizeof b));
    }
    rs_op op = c->layer->kind == FM_LAYER_UPSAMPLE ? OP_UP_BWD : OP_POOL_BWD;
    rs_run(c, op, 1, c->grad_out->data, c->grad_in[0].data, NULL, NULL);
    return FM_OK;
}

static fm_status rs_jvp(const fm_layer_call *c)
{
    fm_status st = rs_expect(c, c->out, "out");
    if (!st)
        st = rs_expect(c, c->tan_out, "tan_out");
    if (st)
        return st;
    const void *tx = c->tan_in ? c->tan_in[0].data : NULL;
    if (tx && !fm_tensor_same_shape(&c->tan_in[0], &c->in[0])) {
        char a[FM_SHAPE_STR_MAX], b[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: tangent has shape %s, the input %s",
                        kind_name(c->layer),
                        fm_shape_str(&c->tan_in[0], a, sizeof a),
                        fm_shape_str(&c->in[0], b, sizeof b));
    }
    /* one pass over the parts for both maps; a NULL tangent zeroes tan_out */
    rs_run(c, fwd_op(c->layer), 2, c->in[0].data, c->out->data, tx,
           c->tan_out->data);
    return FM_OK;
}

const fm_layer_ops fm_layer_upsample_ops = {
    .name = "upsample",
    .check = rs_check,
    .nparams = rs_nparams,
    .param_shape = rs_param_shape,
    .shape = rs_shape,
    .saved_numel = rs_saved_numel,
    .forward = rs_forward,
    .backward = rs_backward,
    .jvp = rs_jvp,
};

const fm_layer_ops fm_layer_avg_pool_ops = {
    .name = "avg_pool",
    .check = rs_check,
    .nparams = rs_nparams,
    .param_shape = rs_param_shape,
    .shape = rs_shape,
    .saved_numel = rs_saved_numel,
    .forward = rs_forward,
    .backward = rs_backward,
    .jvp = rs_jvp,
};
