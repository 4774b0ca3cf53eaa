/* attention.c — the attention layer kind (nn/layer.h): softmax attention over
 * positions, no parameters.
 *
 * Input qkv (N, 3C, *spatial), P = product of the spatial sizes; channels
 * [0, C) are q, [C, 2C) k, [2C, 3C) v (torch's qkv.reshape(N, 3, C, P)
 * .unbind(1)). With h heads, d = C / h, head j uses channels [j d, (j+1) d)
 * of each; per (n, j) q, k, v are (d, P) row-major matrices and
 *   S = q^T k / sqrt(d)  (P, P),   A = softmax over the rows of S,
 *   o = v A^T            (d, P),   o[:, i] = sum_m A[i, m] v[:, m].
 * Output (N, C, *spatial). Backward (dO the output gradient):
 *   dv += dO A,  dA = dO^T v,  dS = A * (dA - rowsum(dA * A)) / sqrt(d),
 *   dq += k dS^T,  dk += q dS.
 * JVP (tangents tq, tk, tv):
 *   tS = (tq^T k + q^T tk) / sqrt(d),  tA = A * (tS - rowsum(A * tS)),
 *   to = tv A^T + v tA^T.
 *
 * Memory: `saved` holds A for every (n, j) (N h P^2 elements); without it
 * A lives in per-thread scratch (fm_nn_scratch), and backward recomputes it
 * when it was not kept. The second P x P matrix (dA, tS) is fm_nn_scratch2.
 * Threads: the batch is split in fm_nn_parts(N) parts run by fm_nn_parallel;
 * every (n, j) is independent (no parameters), so no sums across parts. All
 * matrix products are fm_nn_gemm; the row passes (softmax and its
 * derivative) are plain loops, float32 exp from ops/vmath.h.
 */
#include "nn/layer.h"
#include "ops/vmath.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- row kernels ------------------------------------------------------- */

/* Row reductions with 8 lanes (a fixed order, so the same result on every
 * thread) that gcc vectorises; a plain float loop stays scalar. */
#define ROW_KERNELS(T, SFX, EXP)                                               \
static inline T max_##SFX(const T *restrict r, int64_t P)                      \
{                                                                              \
    T a[8], mx = r[0];                                                         \
    for (int u = 0; u < 8; u++)                                                \
        a[u] = r[0];                                                           \
    int64_t m = 0;                                                             \
    for (; m + 8 <= P; m += 8)                                                 \
        for (int u = 0; u < 8; u++)                                            \
            a[u] = r[m + u] > a[u] ? r[m + u] : a[u];                          \
    for (; m < P; m++)                                                         \
        mx = r[m] > mx ? r[m] : mx;                                            \
    for (int u = 0; u < 8; u++)                                                \
        mx = a[u] > mx ? a[u] : mx;                                            \
    return mx;                                                                 \
}                                                                              \
static inline T sum_##SFX(const T *restrict x, int64_t P)                      \
{                                                                              \
    T a[8] = {0}, s = 0;                                                       \
    int64_t m = 0;                                                             \
    for (; m + 8 <= P; m += 8)                                                 \
        for (int u = 0; u < 8; u++)                                            \
            a[u] += x[m + u];                                                  \
    for (; m < P; m++)                                                         \
        s += x[m];                                                             \
    for (int u = 0; u < 8; u++)                                                \
        s += a[u];                                                             \
    return s;                                                                  \
}                                                                              \
static inline T dot_##SFX(const T *restrict x, const T *restrict y, int64_t P) \
{                                                                              \
    T a[8] = {0}, s = 0;                                                       \
    int64_t m = 0;                                                             \
    for (; m + 8 <= P; m += 8)                                                 \
        for (int u = 0; u < 8; u++)                                            \
            a[u] += x[m + u] * y[m + u];                                       \
    for (; m < P; m++)                                                         \
        s += x[m] * y[m];                                                      \
    for (int u = 0; u < 8; u++)                                                \
        s += a[u];                                                             \
    return s;                                                                  \
}                                                                              \
/* S (P, P) <- softmax over each row of s * S (s > 0). */                      \
static void softmax_##SFX(int64_t P, T *restrict S, T s)                      \
{                                                                              \
    for (int64_t i = 0; i < P; i++) {                                          \
        T *restrict r = S + i * P;                                             \
        T smx = s * max_##SFX(r, P);                                           \
        for (int64_t m = 0; m < P; m++)                                        \
            r[m] = EXP(s * r[m] - smx);                                        \
        T inv = (T)1 / sum_##SFX(r, P);                                        \
        for (int64_t m = 0; m < P; m++)                                        \
            r[m] *= inv;                                                       \
    }                                                                          \
}                                                                              \
/* G (P, P) <- s * A * (G - rowsum(A * G)): the softmax's derivative          \
 * (backward: G = dA; jvp: G = the unscaled tS). */                            \
static void dsoftmax_##SFX(int64_t P, const T *restrict A, T *restrict G, T s) \
{                                                                              \
    for (int64_t i = 0; i < P; i++) {                                          \
        const T *restrict a = A + i * P;                                       \
        T *restrict g = G + i * P;                                             \
        T dot = dot_##SFX(a, g, P);                                            \
        for (int64_t m = 0; m < P; m++)                                        \
            g[m] = s * a[m] * (g[m] - dot);                                    \
    }                                                                          \
}

ROW_KERNELS(float, f32, fmv_exp)
ROW_KERNELS(double, f64, exp)

/* ---- configuration and shapes ------------------------------------------ */

static fm_status att_check(const fm_layer *l)
{
    if (l->dtype != FM_FLOAT32 && l->dtype != FM_FLOAT64)
        return fm_error(FM_ETYPE, "attention: dtype must be float32 or float64, "
                        "got %s", fm_dtype_name(l->dtype));
    if (l->in < 1)
        return fm_error(FM_EVALUE, "attention: channels must be >= 1, got %lld",
                        (long long)l->in);
    if (l->heads < 1 || l->in % l->heads != 0)
        return fm_error(FM_EVALUE, "attention: %lld heads do not divide %lld "
                        "channels", (long long)l->heads, (long long)l->in);
    return FM_OK;
}

static int att_nparams(const fm_layer *l) { (void)l; return 0; }

static void att_param_shape(const fm_layer *l, int i, int *ndim, int64_t *shape)
{
    (void)l; (void)i; (void)shape;
    *ndim = 0;
}

static fm_status att_shape(const fm_layer *l, int nin, const fm_tensor *in,
                           int *ndim, int64_t *shape)
{
    fm_status st = att_check(l);
    if (st)
        return st;
    if (nin != 1 || !in)
        return fm_error(FM_EVALUE, "attention: takes 1 input (qkv), got %d", nin);
    char buf[FM_SHAPE_STR_MAX];
    if (in[0].dtype != l->dtype)
        return fm_error(FM_ETYPE, "attention: input is %s, the layer is %s "
                        "(input %s)", fm_dtype_name(in[0].dtype),
                        fm_dtype_name(l->dtype), fm_shape_str(&in[0], buf, sizeof buf));
    if (in[0].ndim < 3)
        return fm_error(FM_ESHAPE, "attention: input must be (N, 3C, *spatial) "
                        "with at least one spatial dim, got %s",
                        fm_shape_str(&in[0], buf, sizeof buf));
    if (in[0].shape[1] != 3 * l->in)
        return fm_error(FM_ESHAPE, "attention: input has %lld channels, the layer "
                        "expects 3 * %lld = %lld (q, k, v; input %s)",
                        (long long)in[0].shape[1], (long long)l->in,
                        (long long)(3 * l->in), fm_shape_str(&in[0], buf, sizeof buf));
    *ndim = in[0].ndim;
    for (int i = 0; i < in[0].ndim; i++)
        shape[i] = in[0].shape[i];
    shape[1] = l->in;
    return FM_OK;
}

static int64_t positions(const fm_tensor *t)
{
    int64_t P = 1;
    for (int i = 2; i < t->ndim; i++)
        P *= t->shape[i];
    return P;
}

static int64_t att_saved_numel(const fm_layer *l, int nin, const fm_tensor *in)
{
    if (nin < 1 || !in || in[0].ndim < 3)
        return 0;
    int64_t P = positions(&in[0]);
    return in[0].shape[0] * l->heads * P * P;
}

/* ---- the parts --------------------------------------------------------- */

enum { OP_FORWARD, OP_BACKWARD, OP_JVP };

typedef struct {
    const fm_layer_call *c;
    int op;
    fm_dtype dt;
    size_t es;            /* element size */
    int64_t N, C, h, d, P;
    double s;             /* 1 / sqrt(d) */
    bool keep;            /* c->saved holds A */
    fm_status st[FM_NN_PARTS];
} att_ctx;

#define AT(base, off) ((void *)((char *)(base) + (size_t)(off) * x->es))

static void softmax_dt(const att_ctx *x, void *S)
{
    if (x->dt == FM_FLOAT32)
        softmax_f32(x->P, S, (float)x->s);
    else
        softmax_f64(x->P, S, x->s);
}

static void dsoftmax_dt(const att_ctx *x, const void *A, void *G)
{
    if (x->dt == FM_FLOAT32)
        dsoftmax_f32(x->P, A, G, (float)x->s);
    else
        dsoftmax_f64(x->P, A, G, x->s);
}

static void att_part(void *ctx, int part)
{
    att_ctx *x = ctx;
    const fm_layer_call *c = x->c;
    int64_t lo, hi;
    fm_nn_part_range(x->N, fm_nn_parts(x->N), part, &lo, &hi);
    const int64_t P = x->P, d = x->d, C = x->C, PP = P * P;
    const fm_dtype dt = x->dt;
    size_t mat = (size_t)PP * x->es;
    void *Ascr = NULL, *G = NULL;
    if (!x->keep || x->op != OP_FORWARD) {
        /* A when it is not kept; backward and jvp need a second matrix */
        if (!x->keep && !(Ascr = fm_nn_scratch(mat))) {
            x->st[part] = FM_ENOMEM;
            return;
        }
        if (x->op != OP_FORWARD && !(G = fm_nn_scratch2(mat))) {
            x->st[part] = FM_ENOMEM;
            return;
        }
    }
    const void *qkv = c->in[0].data;
    const void *tqkv = x->op == OP_JVP && c->tan_in ? c->tan_in[0].data : NULL;
    void *gin = x->op == OP_BACKWARD && c->grad_in ? c->grad_in[0].data : NULL;
    if (x->op == OP_BACKWARD && !gin)
        return;
    for (int64_t n = lo; n < hi; n++) {
        for (int64_t j = 0; j < x->h; j++) {
            int64_t oq = n * 3 * C * P + j * d * P;  /* q of head j */
            int64_t ok = oq + C * P, ov = oq + 2 * C * P;
            int64_t oo = n * C * P + j * d * P;      /* its output rows */
            const void *q = AT(qkv, oq), *k = AT(qkv, ok), *v = AT(qkv, ov);
            void *A = x->keep ? AT(c->saved->data, (n * x->h + j) * PP) : Ascr;
            if (x->op != OP_BACKWARD || !x->keep) {
                /* A = softmax(q^T k / sqrt(d)) */
                fm_nn_gemm(dt, true, false, P, P, d, q, P, k, P, 0.0, A, P);
                softmax_dt(x, A);
            }
            if (x->op == OP_FORWARD || x->op == OP_JVP)
                /* o = v A^T */
                fm_nn_gemm(dt, false, true, d, P, P, v, P, A, P, 0.0,
                           AT(c->out->data, oo), P);
            if (x->op == OP_BACKWARD) {
                const void *dO = AT(c->grad_out->data, oo);
                /* dv += dO A; dA = dO^T v; dS; dq += k dS^T; dk += q dS */
                fm_nn_gemm(dt, false, false, d, P, P, dO, P, A, P, 1.0,
                           AT(gin, ov), P);
                fm_nn_gemm(dt, true, false, P, P, d, dO, P, v, P, 0.0, G, P);
                dsoftmax_dt(x, A, G);
                fm_nn_gemm(dt, false, true, d, P, P, k, P, G, P, 1.0,
                           AT(gin, oq), P);
                fm_nn_gemm(dt, false, false, d, P, P, q, P, G, P, 1.0,
                           AT(gin, ok), P);
            } else if (x->op == OP_JVP) {
                void *to = AT(c->tan_out->data, oo);
                if (!tqkv) {
                    memset(to, 0, (size_t)(d * P) * x->es);
                    continue;
                }
                const void *tq = AT(tqkv, oq), *tk = AT(tqkv, ok),
                           *tv = AT(tqkv, ov);
                /* tS = tq^T k + q^T tk (unscaled), tA = A * (s tS - ...) */
                fm_nn_gemm(dt, true, false, P, P, d, tq, P, k, P, 0.0, G, P);
                fm_nn_gemm(dt, true, false, P, P, d, q, P, tk, P, 1.0, G, P);
                dsoftmax_dt(x, A, G);
                /* to = tv A^T + v tA^T */
                fm_nn_gemm(dt, false, true, d, P, P, tv, P, A, P, 0.0, to, P);
                fm_nn_gemm(dt, false, true, d, P, P, v, P, G, P, 1.0, to, P);
            }
        }
    }
}

/* Validates the call (the kind's own check: a direct call must not read out
 * of bounds), then runs the parts. */
static fm_status att_run(const fm_layer_call *c, int op)
{
    const fm_layer *l = c->layer;
    int nd;
    int64_t sh[FM_MAX_DIMS];
    fm_status st = att_shape(l, c->nin, c->in, &nd, sh);
    if (st)
        return st;
    const char *opname = op == OP_FORWARD ? "forward" : op == OP_BACKWARD
                         ? "backward" : "jvp";
    const fm_tensor *outs[2] = {
        op == OP_BACKWARD ? c->grad_out : c->out,
        op == OP_JVP ? c->tan_out : NULL };
    for (int i = 0; i < 2; i++) {
        const fm_tensor *t = outs[i];
        if (i == 1 && op != OP_JVP)
            break;
        bool ok = t && t->data && t->ndim == nd && t->dtype == l->dtype;
        for (int a = 0; ok && a < nd; a++)
            ok = t->shape[a] == sh[a];
        if (!ok) {
            char b1[FM_SHAPE_STR_MAX], b2[FM_SHAPE_STR_MAX];
            return fm_error(FM_ESHAPE, "attention %s: %s must be %s of shape "
                            "(%lld, %lld, ...), got %s (input %s)", opname,
                            op == OP_BACKWARD ? "grad_out" : i ? "tan_out" : "out",
                            fm_dtype_name(l->dtype), (long long)sh[0],
                            (long long)sh[1],
                            t ? fm_shape_str(t, b1, sizeof b1) : "none",
                            fm_shape_str(&c->in[0], b2, sizeof b2));
        }
    }
    if (op == OP_BACKWARD && c->grad_in && c->grad_in[0].data &&
        !fm_tensor_same_shape(&c->grad_in[0], &c->in[0]))
        return fm_error(FM_ESHAPE, "attention backward: grad_in must have the "
                        "input's shape");
    if (op == OP_JVP && c->tan_in && c->tan_in[0].data &&
        !fm_tensor_same_shape(&c->tan_in[0], &c->in[0]))
        return fm_error(FM_ESHAPE, "attention jvp: tan_in must have the "
                        "input's shape");
    att_ctx x = {0};
    x.c = c;
    x.op = op;
    x.dt = l->dtype;
    x.es = fm_dtype_size(l->dtype);
    x.N = c->in[0].shape[0];
    x.C = l->in;
    x.h = l->heads;
    x.d = l->in / l->heads;
    x.P = positions(&c->in[0]);
    x.s = 1.0 / sqrt((double)x.d);
    int64_t need = att_saved_numel(l, 1, c->in);
    x.keep = c->saved && c->saved->data && fm_tensor_numel(c->saved) >= need;
    if (c->saved && c->saved->data && !x.keep)
        return fm_error(FM_ESHAPE, "attention %s: saved has %lld elements, "
                        "needs %lld", opname, (long long)fm_tensor_numel(c->saved),
                        (long long)need);
    if (x.N == 0 || x.P == 0)
        return FM_OK;
    int parts = fm_nn_parts(x.N);
    fm_nn_parallel(parts, att_part, &x);
    for (int p = 0; p < parts; p++)
        if (x.st[p])
            return fm_error(FM_ENOMEM, "attention %s: no scratch memory for "
                            "%lld x %lld positions", opname, (long long)x.P,
                            (long long)x.P);
    return FM_OK;
}

static fm_status att_forward(const fm_layer_call *c) { return att_run(c, OP_FORWARD); }
static fm_status att_backward(const fm_layer_call *c) { return att_run(c, OP_BACKWARD); }
static fm_status att_jvp(const fm_layer_call *c) { return att_run(c, OP_JVP); }

const fm_layer_ops fm_layer_attention_ops = {
    .name = "attention",
    .check = att_check,
    .nparams = att_nparams,
    .param_shape = att_param_shape,
    .shape = att_shape,
    .saved_numel = att_saved_numel,
    .forward = att_forward,
    .backward = att_backward,
    .jvp = att_jvp,
};
