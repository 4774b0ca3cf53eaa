/* conv2d.c — the conv2d layer kind (nn/layer.h): torch.nn.Conv2d with
 * dilation 1, groups 1, zero padding.
 *
 *   out[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v]
 *                            * x[n, c, i s + u - p, j s + v - p]
 *
 * x (N, Cin, H, W), W (Cout, Cin, k, k), b (Cout), out (N, Cout, Ho, Wo) with
 * Ho = (H + 2p - k) / s + 1 (floor), Wo likewise; x outside the image is 0.
 *
 * How: im2col on GEMM. With K = Cin k k and P = Ho Wo, the columns of nb
 * images of a chunk are laid side by side, col (K, nb P) with
 * col[(c k + u) k + v, m P + i Wo + j] = x[n0 + m, c, i s + u - p, j s + v - p],
 * and one GEMM gives the chunk's outputs, (Cout, nb P) = W (Cout, K) @ col,
 * scattered to NCHW with the bias added. nb is chosen from the shape alone
 * (conv_chunk): one image when P is large, several when the images are small
 * (7x7, 14x14) so that the GEMM is not thin. 1x1 kernels with stride 1 and
 * padding 0 use the image itself as col, one image per GEMM (no copy: at
 * 7x7, 64 -> 192, copying into chunks was 25% slower than thin GEMMs).
 * im2col copies whole output rows (one flat copy per kernel position for
 * "same" stride-1 convolutions); stride s >= 2 first splits each input
 * plane into its s x s phases so that every copy is contiguous (and flat
 * for "same" stride-2 downsampling).
 *
 *   backward (x handed in again, nothing saved; col recomputed per chunk):
 *     gW += dout_c (Cout, nb P) @ col^T,  gb += row sums of dout_c,
 *     gx += col2im(W^T @ dout_c)
 *   jvp: out = conv(x), tan = conv_W(tx) + conv_tW(x) + tb; col(x) and
 *     col(tx) side by side so one GEMM with W gives both, one more GEMM with
 *     tW on col(x) adds into the tangent half.
 *
 * Threads: the batch is split into fm_nn_parts parts run by fm_nn_parallel;
 * each part takes its col / chunk buffers from its thread's fm_nn_scratch.
 * Parameter gradients: part 0 accumulates into grad_params, part p >= 1 into
 * a zeroed block (the caller's fm_nn_scratch2) that is added after the parts
 * return, in part order, so results do not depend on the thread count.
 */
#include "nn/layer.h"

#include <string.h>

/* Chunking: nb images per GEMM so that nb P is about CONV_COLS columns,
 * and the col block (K nb P elements, doubled in jvp) at most CONV_COL_BYTES.
 * 1 MiB (a core's L2 on the Zen 4 VM) keeps the block in L2 between im2col
 * and the GEMM: UNet-S training steps took 0.90x (C = 16) and 0.95x (C = 32)
 * of their time with 2 MiB, forwards 0.93x; 512 KiB was no better than 2 MiB
 * (paired whole-process runs, medians). */
#ifndef CONV_COLS
#define CONV_COLS 1024
#endif
#ifndef CONV_COL_BYTES
#define CONV_COL_BYTES (1u << 20)
#endif

typedef struct {
    fm_dtype dt;
    size_t es;
    int64_t N, Cin, H, W, Cout, k, s, p, Ho, Wo, P, K, nb;
    bool direct;   /* 1x1, stride 1, padding 0: col of one image = the image */
} geom;

static int64_t conv_chunk(const geom *g)
{
    if (g->direct)   /* a copy into a chunk costs more than the GEMM gains */
        return 1;
    int64_t nb = (CONV_COLS + g->P - 1) / (g->P > 0 ? g->P : 1);
    int64_t per = g->K * g->P * (int64_t)g->es;
    int64_t cap = per > 0 ? (int64_t)CONV_COL_BYTES / per : nb;
    if (nb > cap)
        nb = cap;
    return nb < 1 ? 1 : nb;
}

/* Valid output columns [lo, hi) for kernel column v: 0 <= j s + v - p < W. */
static void col_range(const geom *g, int64_t v, int64_t *lo, int64_t *hi)
{
    int64_t a = g->p - v, b = g->W - 1 + g->p - v;
    int64_t l = a <= 0 ? 0 : (a + g->s - 1) / g->s;
    int64_t h = b < 0 ? 0 : b / g->s + 1;
    if (h > g->Wo)
        h = g->Wo;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

/* Valid output rows [lo, hi) for kernel row u: 0 <= i s + u - p < H. */
static void row_range(const geom *g, int64_t u, int64_t *lo, int64_t *hi)
{
    int64_t a = g->p - u, b = g->H - 1 + g->p - u;
    int64_t l = a <= 0 ? 0 : (a + g->s - 1) / g->s;
    int64_t h = b < 0 ? 0 : b / g->s + 1;
    if (h > g->Ho)
        h = g->Ho;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

/* Stride s >= 2 reads a plane through its s x s phases: phase (qr, qc) is
 * the (hs, ws) = (ceil(H / s), ceil(W / s)) plane of x[t s + qr, r s + qc]
 * (0 past the edge), so that kernel position (u, v) reads phase
 * ((u - p) mod s, (v - p) mod s) at row i + floor((u - p) / s), column
 * j + floor((v - p) / s): contiguous rows, and for a "same" output width
 * (Wo = ws) one flat block, as for stride 1, where the phase is the plane
 * itself (hs = H, ws = W). */
static int64_t phase_h(const geom *g) { return (g->H + g->s - 1) / g->s; }
static int64_t phase_w(const geom *g) { return (g->W + g->s - 1) / g->s; }
static int64_t floordiv(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* ---- per-dtype kernels -------------------------------------------------
 * im2col: col[r ld + m P + q] from images x (nb, Cin, H, W); ph: scratch
 * for the s s hs ws phase elements when s >= 2.
 * col2im: gx (nb, Cin, H, W) += the columns' contributions (the columns are
 * scratch: their padding positions are zeroed in place).
 * scatter: out[m, o, q] = t[o ld + m P + q] + (b ? b[o] : 0).
 * gather: t[o ld + m P + q] = d[m, o, q].
 * rowsum: g[o] += sum_q t[o ld + q], q < n.
 * add: y[i] += x[i]. */
/* AVX-512 / AVX2 / baseline copies of the loops; the short zero and copy
 * loops stay loops (not memset / memcpy calls of a few elements). */
#define VEC_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), \
                   optimize("no-tree-loop-distribute-patterns")))

#define CONV_KERNELS(T, S)                                                     \
/* ph[qr][qc][t][r] = xp[t s + qr][r s + qc] (0 outside) */                    \
static inline void split_##S(const geom *g, const T *restrict xp,             \
                             T *restrict ph)                                   \
{                                                                              \
    const int64_t H = g->H, W = g->W, s = g->s;                                \
    const int64_t hs = phase_h(g), ws = phase_w(g), hw = hs * ws;              \
    if (s == 2 && W % 2 == 0) {                                                \
        for (int64_t ih = 0; ih < H; ih++) {                                   \
            const int64_t qr = ih & 1, t = ih >> 1;                            \
            T *restrict e = ph + (qr * 2) * hw + t * ws;                       \
            T *restrict o = e + hw;                                            \
            const T *restrict xr = xp + ih * W;                                \
            for (int64_t r = 0; r < ws; r++) {                                 \
                e[r] = xr[2 * r];                                              \
                o[r] = xr[2 * r + 1];                                          \
            }                                                                  \
        }                                                                      \
        if (H % 2)                                                             \
            for (int64_t r = 0; r < 2 * ws; r++)                               \
                ph[2 * hw + (hs - 1) * ws + (r / ws) * hw + r % ws] = 0;       \
        return;                                                                \
    }                                                                          \
    for (int64_t qr = 0; qr < s; qr++)                                         \
        for (int64_t qc = 0; qc < s; qc++)                                     \
            for (int64_t t = 0; t < hs; t++) {                                 \
                T *restrict d = ph + (qr * s + qc) * hw + t * ws;              \
                const int64_t ih = t * s + qr;                                 \
                int64_t r = 0;                                                 \
                if (ih < H)                                                    \
                    for (; r * s + qc < W; r++) d[r] = xp[ih * W + r * s + qc];\
                for (; r < ws; r++) d[r] = 0;                                  \
            }                                                                  \
}                                                                              \
/* gp[t s + qr][r s + qc] += ph[qr][qc][t][r] */                               \
static inline void unsplit_##S(const geom *g, const T *restrict ph,           \
                               T *restrict gp)                                 \
{                                                                              \
    const int64_t H = g->H, W = g->W, s = g->s;                                \
    const int64_t hs = phase_h(g), ws = phase_w(g), hw = hs * ws;              \
    if (s == 2 && W % 2 == 0) {                                                \
        for (int64_t ih = 0; ih < H; ih++) {                                   \
            const int64_t qr = ih & 1, t = ih >> 1;                            \
            const T *restrict e = ph + (qr * 2) * hw + t * ws;                 \
            const T *restrict o = e + hw;                                      \
            T *restrict yr = gp + ih * W;                                      \
            for (int64_t r = 0; r < ws; r++) {                                 \
                yr[2 * r] += e[r];                                             \
                yr[2 * r + 1] += o[r];                                         \
            }                                                                  \
        }                                                                      \
        return;                                                                \
    }                                                                          \
    for (int64_t qr = 0; qr < s; qr++)                                         \
        for (int64_t qc = 0; qc < s; qc++)                                     \
            for (int64_t t = 0; t * s + qr < H; t++) {                         \
                const T *restrict d = ph + (qr * s + qc) * hw + t * ws;        \
                T *restrict yr = gp + (t * s + qr) * W;                        \
                for (int64_t r = 0; r * s + qc < W; r++) yr[r * s + qc] += d[r];\
            }                                                                  \
}                                                                              \
/* The phase and offsets kernel position (u, v) reads (see phase_h). */        \
static inline int64_t phase_of_##S(const geom *g, int64_t u, int64_t v,       \
                                   int64_t hs, int64_t ws, int64_t *off)       \
{                                                                              \
    const int64_t s = g->s, p = g->p;                                          \
    const int64_t ar = floordiv(u - p, s), ac = floordiv(v - p, s);            \
    const int64_t qr = (u - p) - ar * s, qc = (v - p) - ac * s;                \
    *off = ar * ws + ac;                                                       \
    return (qr * s + qc) * hs * ws;                                            \
}                                                                              \
/* One col row (kernel position u, v) of one plane: d[i Wo + j] =           \
 * phase[(i + ar) ws + j + ac] inside, 0 outside. */                           \
static inline void im2col_row_##S(const geom *g, int64_t u, int64_t v,        \
                                  const T *src, int64_t hs, int64_t ws,       \
                                  T *restrict d)                               \
{                                                                              \
    const int64_t Wo = g->Wo, P = g->P;                                        \
    int64_t i0, i1, lo, hi, off;                                               \
    row_range(g, u, &i0, &i1);                                                 \
    col_range(g, v, &lo, &hi);                                                 \
    if (i0 >= i1 || lo >= hi) {                                                \
        for (int64_t q = 0; q < P; q++) d[q] = 0;                              \
        return;                                                                \
    }                                                                          \
    const T *base = src + phase_of_##S(g, u, v, hs, ws, &off) + off;           \
    if (ws == Wo) {   /* rows of the phase = output rows: one flat copy */     \
        const int64_t f0 = i0 * Wo + lo, f1 = (i1 - 1) * Wo + hi;              \
        const T *restrict x0 = base + f0;                                      \
        for (int64_t q = 0; q < f0; q++) d[q] = 0;                             \
        for (int64_t q = f0; q < f1; q++) d[q] = x0[q - f0];                   \
        for (int64_t q = f1; q < P; q++) d[q] = 0;                             \
        for (int64_t i = i0; i < i1; i++) {                                    \
            for (int64_t j = 0; j < lo; j++) d[i * Wo + j] = 0;                \
            for (int64_t j = hi; j < Wo; j++) d[i * Wo + j] = 0;               \
        }                                                                      \
        return;                                                                \
    }                                                                          \
    for (int64_t q = 0; q < i0 * Wo; q++) d[q] = 0;                            \
    for (int64_t q = i1 * Wo; q < P; q++) d[q] = 0;                            \
    for (int64_t i = i0; i < i1; i++) {                                        \
        T *restrict dr = d + i * Wo;                                           \
        const T *restrict xr = base + i * ws;                                  \
        for (int64_t j = 0; j < lo; j++) dr[j] = 0;                            \
        for (int64_t j = lo; j < hi; j++) dr[j] = xr[j];                       \
        for (int64_t j = hi; j < Wo; j++) dr[j] = 0;                           \
    }                                                                          \
}                                                                              \
VEC_CLONES                                                                     \
static void im2col_##S(const geom *g, const void *xv, int64_t nb, void *cv,   \
                       int64_t ld, void *phv)                                  \
{                                                                              \
    const T *x = xv;                                                           \
    T *col = cv, *ph = phv;                                                    \
    const int64_t H = g->H, W = g->W, k = g->k, P = g->P, Cin = g->Cin;        \
    const int64_t hs = g->s > 1 ? phase_h(g) : H, ws = g->s > 1 ? phase_w(g) : W; \
    for (int64_t m = 0; m < nb; m++)                                           \
        for (int64_t c = 0; c < Cin; c++) {                                    \
            const T *src = x + (m * Cin + c) * H * W;                          \
            if (g->s > 1) {                                                    \
                split_##S(g, src, ph);                                         \
                src = ph;                                                      \
            }                                                                  \
            for (int64_t u = 0; u < k; u++)                                    \
                for (int64_t v = 0; v < k; v++)                                \
                    im2col_row_##S(g, u, v, src, hs, ws,                       \
                                   col + ((c * k + u) * k + v) * ld + m * P);  \
        }                                                                      \
}                                                                              \
/* phase[(i + ar) ws + j + ac] += d[i Wo + j] inside. */                       \
static inline void col2im_row_##S(const geom *g, int64_t u, int64_t v,        \
                                  T *restrict d, T *dst, int64_t hs,          \
                                  int64_t ws)                                  \
{                                                                              \
    const int64_t Wo = g->Wo;                                                  \
    int64_t i0, i1, lo, hi, off;                                               \
    row_range(g, u, &i0, &i1);                                                 \
    col_range(g, v, &lo, &hi);                                                 \
    if (i0 >= i1 || lo >= hi)                                                  \
        return;                                                                \
    T *base = dst + phase_of_##S(g, u, v, hs, ws, &off) + off;                 \
    if (ws == Wo) {   /* zero the padding columns, one flat add */             \
        for (int64_t i = i0; i < i1; i++) {                                    \
            for (int64_t j = 0; j < lo; j++) d[i * Wo + j] = 0;                \
            for (int64_t j = hi; j < Wo; j++) d[i * Wo + j] = 0;               \
        }                                                                      \
        const int64_t f0 = i0 * Wo + lo, f1 = (i1 - 1) * Wo + hi;              \
        T *restrict y0 = base + f0;                                            \
        for (int64_t q = f0; q < f1; q++) y0[q - f0] += d[q];                  \
        return;                                                                \
    }                                                                          \
    for (int64_t i = i0; i < i1; i++) {                                        \
        const T *restrict dr = d + i * Wo;                                     \
        T *restrict yr = base + i * ws;                                        \
        for (int64_t j = lo; j < hi; j++) yr[j] += dr[j];                      \
    }                                                                          \
}                                                                              \
VEC_CLONES                                                                     \
static void col2im_##S(const geom *g, void *cv, int64_t ld, int64_t nb,       \
                       void *gv, void *phv)                                    \
{                                                                              \
    T *col = cv, *ph = phv;                                                    \
    T *gx = gv;                                                                \
    const int64_t H = g->H, W = g->W, k = g->k, P = g->P, Cin = g->Cin;        \
    const int64_t hs = g->s > 1 ? phase_h(g) : H, ws = g->s > 1 ? phase_w(g) : W; \
    for (int64_t m = 0; m < nb; m++)                                           \
        for (int64_t c = 0; c < Cin; c++) {                                    \
            T *gp = gx + (m * Cin + c) * H * W, *dst = gp;                     \
            if (g->s > 1) {                                                    \
                memset(ph, 0, sizeof(T) * (size_t)(g->s * g->s * hs * ws));    \
                dst = ph;                                                      \
            }                                                                  \
            for (int64_t u = 0; u < k; u++)                                    \
                for (int64_t v = 0; v < k; v++)                                \
                    col2im_row_##S(g, u, v,                                    \
                                   col + ((c * k + u) * k + v) * ld + m * P,   \
                                   dst, hs, ws);                               \
            if (g->s > 1)                                                      \
                unsplit_##S(g, ph, gp);                                        \
        }                                                                      \
}                                                                              \
VEC_CLONES                                                                     \
static void scatter_##S(const geom *g, const void *tv, int64_t ld, int64_t nb,\
                        const void *bv, void *ov)                              \
{                                                                              \
    const T *t = tv, *b = bv;                                                  \
    T *out = ov;                                                               \
    const int64_t P = g->P, C = g->Cout;                                       \
    for (int64_t m = 0; m < nb; m++)                                           \
        for (int64_t o = 0; o < C; o++) {                                      \
            const T *restrict a = t + o * ld + m * P;                          \
            T *restrict y = out + (m * C + o) * P;                             \
            const T bo = b ? b[o] : (T)0;                                      \
            for (int64_t q = 0; q < P; q++) y[q] = a[q] + bo;                  \
        }                                                                      \
}                                                                              \
VEC_CLONES                                                                     \
static void gather_##S(const geom *g, const void *dv, int64_t nb, void *tv,   \
                       int64_t ld)                                             \
{                                                                              \
    const T *d = dv;                                                           \
    T *t = tv;                                                                 \
    const int64_t P = g->P, C = g->Cout;                                       \
    for (int64_t m = 0; m < nb; m++)                                           \
        for (int64_t o = 0; o < C; o++)                                        \
            memcpy(t + o * ld + m * P, d + (m * C + o) * P,                    \
                   sizeof(T) * (size_t)P);                                     \
}                                                                              \
VEC_CLONES                                                                     \
static void addbias_##S(int64_t rows, int64_t n, const void *bv, void *yv)    \
{                                                                              \
    const T *b = bv;                                                           \
    T *y = yv;                                                                 \
    for (int64_t o = 0; o < rows; o++) {                                       \
        T *restrict r = y + o * n;                                             \
        const T bo = b[o];                                                     \
        for (int64_t q = 0; q < n; q++) r[q] += bo;                            \
    }                                                                          \
}                                                                              \
VEC_CLONES                                                                     \
static void rowsum_##S(int64_t rows, int64_t n, const void *tv, int64_t ld,   \
                       void *gv)                                               \
{                                                                              \
    const T *t = tv;                                                           \
    T *gb = gv;                                                                \
    for (int64_t o = 0; o < rows; o++) {                                       \
        const T *restrict r = t + o * ld;                                      \
        T acc = 0;                                                             \
        for (int64_t q = 0; q < n; q++) acc += r[q];                           \
        gb[o] += acc;                                                          \
    }                                                                          \
}                                                                              \
VEC_CLONES                                                                     \
static void add_##S(int64_t n, const void *xv, void *yv)                      \
{                                                                              \
    const T *restrict x = xv;                                                  \
    T *restrict y = yv;                                                        \
    for (int64_t i = 0; i < n; i++) y[i] += x[i];                              \
}

CONV_KERNELS(float, f32)
CONV_KERNELS(double, f64)

typedef struct {
    void (*im2col)(const geom *, const void *, int64_t, void *, int64_t,
                   void *);
    void (*col2im)(const geom *, void *, int64_t, int64_t, void *, void *);
    void (*scatter)(const geom *, const void *, int64_t, int64_t, const void *,
                    void *);
    void (*gather)(const geom *, const void *, int64_t, void *, int64_t);
    void (*addbias)(int64_t, int64_t, const void *, void *);
    void (*rowsum)(int64_t, int64_t, const void *, int64_t, void *);
    void (*add)(int64_t, const void *, void *);
} kernels;

static const kernels kern_f32 = {im2col_f32, col2im_f32, scatter_f32,
                                 gather_f32, addbias_f32, rowsum_f32, add_f32};
static const kernels kern_f64 = {im2col_f64, col2im_f64, scatter_f64,
                                 gather_f64, addbias_f64, rowsum_f64, add_f64};

/* ---- configuration and shapes ------------------------------------------ */

static fm_status conv_check(const fm_layer *l)
{
    if (l->dtype != FM_FLOAT32 && l->dtype != FM_FLOAT64)
        return fm_error(FM_ETYPE, "conv2d: dtype must be float32 or float64, "
                        "not %s", fm_dtype_name(l->dtype));
    if (l->in < 1 || l->out < 1 || l->kernel < 1)
        return fm_error(FM_EVALUE, "conv2d: channels and kernel must be >= 1 "
                        "(in %lld, out %lld, kernel %lld)", (long long)l->in,
                        (long long)l->out, (long long)l->kernel);
    if (l->stride < 1 || l->padding < 0)
        return fm_error(FM_EVALUE, "conv2d: stride must be >= 1 and padding "
                        ">= 0 (stride %lld, padding %lld)",
                        (long long)l->stride, (long long)l->padding);
    return FM_OK;
}

static int conv_nparams(const fm_layer *l) { return l->bias ? 2 : 1; }

static void conv_param_shape(const fm_layer *l, int i, int *ndim,
                             int64_t *shape)
{
    if (i == 0) {
        *ndim = 4;
        shape[0] = l->out;
        shape[1] = l->in;
        shape[2] = l->kernel;
        shape[3] = l->kernel;
    } else {
        *ndim = 1;
        shape[0] = l->out;
    }
}

static fm_status conv_shape(const fm_layer *l, int nin, const fm_tensor *in,
                            int *ndim, int64_t *shape)
{
    if (nin != 1)
        return fm_error(FM_ESHAPE, "conv2d: takes 1 input, got %d", nin);
    char buf[FM_SHAPE_STR_MAX];
    const fm_tensor *x = &in[0];
    if (x->ndim != 4)
        return fm_error(FM_ESHAPE, "conv2d: input must be 4-D (N, C, H, W), "
                        "got %s", fm_shape_str(x, buf, sizeof buf));
    if (x->shape[1] != l->in)
        return fm_error(FM_ESHAPE, "conv2d: input has %lld channels, the "
                        "layer expects %lld (input %s)",
                        (long long)x->shape[1], (long long)l->in,
                        fm_shape_str(x, buf, sizeof buf));
    int64_t k = l->kernel, p = l->padding, s = l->stride;
    int64_t H = x->shape[2], W = x->shape[3];
    if (H + 2 * p < k || W + 2 * p < k)
        return fm_error(FM_ESHAPE, "conv2d: kernel %lldx%lld is larger than "
                        "the padded input (%lld x %lld with padding %lld; "
                        "input %s)", (long long)k, (long long)k,
                        (long long)(H + 2 * p), (long long)(W + 2 * p),
                        (long long)p, fm_shape_str(x, buf, sizeof buf));
    *ndim = 4;
    shape[0] = x->shape[0];
    shape[1] = l->out;
    shape[2] = (H + 2 * p - k) / s + 1;
    shape[3] = (W + 2 * p - k) / s + 1;
    return FM_OK;
}

static int64_t conv_saved_numel(const fm_layer *l, int nin,
                                const fm_tensor *in)
{
    (void)l; (void)nin; (void)in;
    return 0;
}

static fm_status geom_of(const fm_layer_call *c, geom *g)
{
    const fm_layer *l = c->layer;
    int nd = 0;
    int64_t sh[FM_MAX_DIMS] = {0};
    fm_status st = conv_shape(l, c->nin, c->in, &nd, sh);
    if (st)
        return st;
    memset(g, 0, sizeof *g);
    g->dt = l->dtype;
    g->es = fm_dtype_size(l->dtype);
    g->N = c->in[0].shape[0];
    g->Cin = l->in;
    g->H = c->in[0].shape[2];
    g->W = c->in[0].shape[3];
    g->Cout = l->out;
    g->k = l->kernel;
    g->s = l->stride;
    g->p = l->padding;
    g->Ho = sh[2];
    g->Wo = sh[3];
    g->P = g->Ho * g->Wo;
    g->K = g->Cin * g->k * g->k;
    g->direct = g->k == 1 && g->s == 1 && g->p == 0;
    g->nb = conv_chunk(g);
    return FM_OK;
}

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

/* Bytes of the phase planes of one image plane (stride >= 2), else 0. */
static size_t phase_bytes(const geom *g)
{
    return g->s > 1 ? align64((size_t)(g->s * g->s * phase_h(g) * phase_w(g)) * g->es)
                     : 0;
}

/* ---- the parts --------------------------------------------------------- */

typedef struct {
    geom g;
    const kernels *kn;
    int parts;
    const char *x, *w, *b;          /* input, W, b (NULL: no bias) */
    char *out;
    /* backward */
    const char *dout;
    char *gx;
    char *gw[FM_NN_PARTS], *gb[FM_NN_PARTS];  /* per part targets (NULL skip) */
    /* jvp */
    const char *tx, *tw, *tb;
    char *tout;
    fm_status st[FM_NN_PARTS];
} conv_ctx;

static void forward_part(void *vc, int part)
{
    conv_ctx *c = vc;
    const geom *g = &c->g;
    const size_t es = g->es;
    int64_t lo, hi;
    fm_nn_part_range(g->N, c->parts, part, &lo, &hi);
    if (lo >= hi)
        return;
    const int64_t nbmax = g->nb < hi - lo ? g->nb : hi - lo;
    const bool need_col = !(g->direct && nbmax == 1);
    const size_t colb = need_col ? align64((size_t)(g->K * nbmax * g->P) * es) : 0;
    const size_t tmpb = nbmax > 1 ? align64((size_t)(g->Cout * nbmax * g->P) * es) : 0;
    const size_t phb = need_col ? phase_bytes(g) : 0;
    char *buf = NULL;
    if (colb + tmpb + phb) {
        buf = fm_nn_scratch(colb + tmpb + phb);
        if (!buf) {
            c->st[part] = FM_ENOMEM;
            return;
        }
    }
    const int64_t xstep = g->Cin * g->H * g->W, ostep = g->Cout * g->P;
    for (int64_t n = lo; n < hi; n += nbmax) {
        const int64_t nb = hi - n < nbmax ? hi - n : nbmax;
        const int64_t ld = nb * g->P;
        const char *xn = c->x + (size_t)(n * xstep) * es;
        char *on = c->out + (size_t)(n * ostep) * es;
        const void *col = xn;
        if (need_col) {
            c->kn->im2col(g, xn, nb, buf, ld, buf + colb + tmpb);
            col = buf;
        }
        if (nb == 1) {
            fm_nn_gemm(g->dt, false, false, g->Cout, g->P, g->K, c->w, g->K,
                       col, ld, 0.0, on, g->P);
            if (c->b)
                c->kn->addbias(g->Cout, g->P, c->b, on);
        } else {
            char *tmp = buf + colb;
            fm_nn_gemm(g->dt, false, false, g->Cout, ld, g->K, c->w, g->K,
                       col, ld, 0.0, tmp, ld);
            c->kn->scatter(g, tmp, ld, nb, c->b, on);
        }
    }
}

static void backward_part(void *vc, int part)
{
    conv_ctx *c = vc;
    const geom *g = &c->g;
    const size_t es = g->es;
    int64_t lo, hi;
    fm_nn_part_range(g->N, c->parts, part, &lo, &hi);
    if (lo >= hi)
        return;
    char *gw = c->gw[part], *gb = c->gb[part];
    const int64_t nbmax = g->nb < hi - lo ? g->nb : hi - lo;
    /* col holds col(x) (for gW), then W^T dout (for gx), unless both are
     * the image / gx itself (1x1 s1 p0, one image per chunk) */
    const bool need_col = (gw || c->gx) && !(g->direct && nbmax == 1);
    const size_t colb = need_col ? align64((size_t)(g->K * nbmax * g->P) * es) : 0;
    const size_t tmpb = nbmax > 1 ? align64((size_t)(g->Cout * nbmax * g->P) * es) : 0;
    const size_t phb = need_col ? phase_bytes(g) : 0;
    char *buf = NULL;
    if (colb + tmpb + phb) {
        buf = fm_nn_scratch(colb + tmpb + phb);
        if (!buf) {
            c->st[part] = FM_ENOMEM;
            return;
        }
    }
    const int64_t xstep = g->Cin * g->H * g->W, ostep = g->Cout * g->P;
    for (int64_t n = lo; n < hi; n += nbmax) {
        const int64_t nb = hi - n < nbmax ? hi - n : nbmax;
        const int64_t ld = nb * g->P;
        const char *xn = c->x + (size_t)(n * xstep) * es;
        const char *dn = c->dout + (size_t)(n * ostep) * es;
        const void *d = dn;          /* dout of the chunk, (Cout, ld) */
        if (nb > 1) {
            c->kn->gather(g, dn, nb, buf + colb, ld);
            d = buf + colb;
        }
        if (gb)
            c->kn->rowsum(g->Cout, ld, d, ld, gb);
        if (gw) {
            const void *col = xn;
            if (need_col) {
                c->kn->im2col(g, xn, nb, buf, ld, buf + colb + tmpb);
                col = buf;
            }
            fm_nn_gemm(g->dt, false, true, g->Cout, g->K, ld, d, ld, col, ld,
                       1.0, gw, g->K);
        }
        if (c->gx) {
            char *gxn = c->gx + (size_t)(n * xstep) * es;
            if (!need_col) {
                fm_nn_gemm(g->dt, true, false, g->Cin, g->P, g->Cout, c->w,
                           g->K, d, ld, 1.0, gxn, g->P);
            } else {
                fm_nn_gemm(g->dt, true, false, g->K, ld, g->Cout, c->w, g->K,
                           d, ld, 0.0, buf, ld);
                c->kn->col2im(g, buf, ld, nb, gxn, buf + colb + tmpb);
            }
        }
    }
}

static void jvp_part(void *vc, int part)
{
    conv_ctx *c = vc;
    const geom *g = &c->g;
    const size_t es = g->es;
    int64_t lo, hi;
    fm_nn_part_range(g->N, c->parts, part, &lo, &hi);
    if (lo >= hi)
        return;
    const int64_t nbmax = g->nb < hi - lo ? g->nb : hi - lo;
    const int64_t xstep = g->Cin * g->H * g->W, ostep = g->Cout * g->P;
    const size_t zb = (size_t)ostep * es;

    if (g->direct && nbmax == 1) {   /* plain GEMMs on the images */
        for (int64_t n = lo; n < hi; n++) {
            const char *xn = c->x + (size_t)(n * xstep) * es;
            char *on = c->out + (size_t)(n * ostep) * es;
            char *tn = c->tout + (size_t)(n * ostep) * es;
            fm_nn_gemm(g->dt, false, false, g->Cout, g->P, g->K, c->w, g->K,
                       xn, g->P, 0.0, on, g->P);
            if (c->b)
                c->kn->addbias(g->Cout, g->P, c->b, on);
            double beta = 0.0;
            if (c->tx) {
                fm_nn_gemm(g->dt, false, false, g->Cout, g->P, g->K, c->w,
                           g->K, c->tx + (size_t)(n * xstep) * es, g->P, 0.0,
                           tn, g->P);
                beta = 1.0;
            }
            if (c->tw) {
                fm_nn_gemm(g->dt, false, false, g->Cout, g->P, g->K, c->tw,
                           g->K, xn, g->P, beta, tn, g->P);
                beta = 1.0;
            }
            if (beta == 0.0)
                memset(tn, 0, zb);
            if (c->tb)
                c->kn->addbias(g->Cout, g->P, c->tb, tn);
        }
        return;
    }

    const int64_t ncol = c->tx ? 2 : 1;
    const size_t colb = align64((size_t)(g->K * ncol * nbmax * g->P) * es);
    const size_t tmpb = align64((size_t)(g->Cout * 2 * nbmax * g->P) * es);
    char *buf = fm_nn_scratch(colb + tmpb + phase_bytes(g));
    if (!buf) {
        c->st[part] = FM_ENOMEM;
        return;
    }
    char *tmp = buf + colb;
    for (int64_t n = lo; n < hi; n += nbmax) {
        const int64_t nb = hi - n < nbmax ? hi - n : nbmax;
        const int64_t w1 = nb * g->P;          /* columns of one half */
        const int64_t ldc = ncol * w1, ldt = 2 * w1;
        const char *xn = c->x + (size_t)(n * xstep) * es;
        char *on = c->out + (size_t)(n * ostep) * es;
        char *tn = c->tout + (size_t)(n * ostep) * es;
        c->kn->im2col(g, xn, nb, buf, ldc, tmp + tmpb);
        if (c->tx)
            c->kn->im2col(g, c->tx + (size_t)(n * xstep) * es, nb,
                          buf + (size_t)w1 * es, ldc, tmp + tmpb);
        /* tmp (Cout, 2 w1): [W col(x) | W col(tx) + tW col(x)] */
        fm_nn_gemm(g->dt, false, false, g->Cout, ldc, g->K, c->w, g->K, buf,
                   ldc, 0.0, tmp, ldt);
        char *tt = tmp + (size_t)w1 * es;
        if (c->tw)
            fm_nn_gemm(g->dt, false, false, g->Cout, w1, g->K, c->tw, g->K,
                       buf, ldc, c->tx ? 1.0 : 0.0, tt, ldt);
        c->kn->scatter(g, tmp, ldt, nb, c->b, on);
        if (c->tx || c->tw)
            c->kn->scatter(g, tt, ldt, nb, c->tb, tn);
        else if (c->tb)
            for (int64_t m = 0; m < nb; m++) {
                memset(tn + (size_t)m * zb, 0, zb);
                c->kn->addbias(g->Cout, g->P, c->tb, tn + (size_t)m * zb);
            }
        else
            memset(tn, 0, (size_t)nb * zb);
    }
}

static fm_status finish(const conv_ctx *c)
{
    for (int p = 0; p < c->parts; p++)
        if (c->st[p])
            return fm_error(c->st[p], "conv2d: out of memory for the column "
                            "buffer (%lld x %lld elements)",
                            (long long)c->g.K, (long long)(c->g.nb * c->g.P));
    return FM_OK;
}

static void ctx_init(conv_ctx *c, const fm_layer_call *call, const geom *g)
{
    memset(c, 0, sizeof *c);
    c->g = *g;
    c->kn = g->dt == FM_FLOAT32 ? &kern_f32 : &kern_f64;
    c->parts = fm_nn_parts(g->N);
    if (c->parts > FM_NN_PARTS)
        c->parts = FM_NN_PARTS;
    c->x = call->in[0].data;
    c->w = call->params[0].data;
    c->b = call->layer->bias ? call->params[1].data : NULL;
}

static fm_status conv_forward(const fm_layer_call *call)
{
    geom g;
    fm_status st = geom_of(call, &g);
    if (st)
        return st;
    conv_ctx c;
    ctx_init(&c, call, &g);
    c.out = call->out->data;
    if (g.N == 0)
        return FM_OK;
    fm_nn_parallel(c.parts, forward_part, &c);
    return finish(&c);
}

static fm_status conv_backward(const fm_layer_call *call)
{
    geom g;
    fm_status st = geom_of(call, &g);
    if (st)
        return st;
    conv_ctx c;
    ctx_init(&c, call, &g);
    c.dout = call->grad_out->data;
    c.gx = call->grad_in ? call->grad_in[0].data : NULL;
    char *gw = call->grad_params ? call->grad_params[0].data : NULL;
    char *gb = call->grad_params && call->layer->bias
                   ? call->grad_params[1].data : NULL;
    if (g.N == 0 || (!c.gx && !gw && !gb))
        return FM_OK;
    /* parts >= 1 accumulate into zeroed blocks of the caller's scratch2 */
    const int64_t nw = gw ? g.Cout * g.K : 0, nbias = gb ? g.Cout : 0;
    const size_t per = align64((size_t)nw * g.es) + align64((size_t)nbias * g.es);
    char *acc = NULL;
    if (c.parts > 1 && per) {
        acc = fm_nn_scratch2(per * (size_t)(c.parts - 1));
        if (!acc)
            return fm_error(FM_ENOMEM, "conv2d: out of memory for the "
                            "parameter gradients of the parts");
        memset(acc, 0, per * (size_t)(c.parts - 1));
    }
    for (int p = 0; p < c.parts; p++) {
        if (p == 0) {
            c.gw[p] = gw;
            c.gb[p] = gb;
        } else {
            char *a = acc + per * (size_t)(p - 1);
            c.gw[p] = gw ? a : NULL;
            c.gb[p] = gb ? a + align64((size_t)nw * g.es) : NULL;
        }
    }
    fm_nn_parallel(c.parts, backward_part, &c);
    st = finish(&c);
    if (st)
        return st;
    for (int p = 1; p < c.parts; p++) {
        if (gw)
            c.kn->add(nw, c.gw[p], gw);
        if (gb)
            c.kn->add(nbias, c.gb[p], gb);
    }
    return FM_OK;
}

static fm_status conv_jvp(const fm_layer_call *call)
{
    geom g;
    fm_status st = geom_of(call, &g);
    if (st)
        return st;
    conv_ctx c;
    ctx_init(&c, call, &g);
    c.out = call->out->data;
    c.tout = call->tan_out->data;
    c.tx = call->tan_in ? call->tan_in[0].data : NULL;
    if (call->tan_params) {
        c.tw = call->tan_params[0].data;
        c.tb = call->layer->bias ? call->tan_params[1].data : NULL;
    }
    if (g.N == 0)
        return FM_OK;
    fm_nn_parallel(c.parts, jvp_part, &c);
    return finish(&c);
}

const fm_layer_ops fm_layer_conv2d_ops = {
    .name = "conv2d",
    .check = conv_check,
    .nparams = conv_nparams,
    .param_shape = conv_param_shape,
    .shape = conv_shape,
    .saved_numel = conv_saved_numel,
    .forward = conv_forward,
    .backward = conv_backward,
    .jvp = conv_jvp,
};
