/* conv_kernels.c — the per-dtype copies of the conv2d layer kind (conv2d.c):
 * im2col and col2im (one flat copy per kernel position for stride 1, phase
 * planes for stride >= 2), the scatter/gather of a chunk of images between
 * NCHW and the GEMM's (Cout, nb P) layout, bias and row sums. */
#include "nn/conv_internal.h"
#include "core/clones_internal.h"

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


int64_t fmi_conv_chunk(const geom *g)
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
int64_t fmi_conv_phase_h(const geom *g) { return (g->H + g->s - 1) / g->s; }
int64_t fmi_conv_phase_w(const geom *g) { return (g->W + g->s - 1) / g->s; }
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
#if defined(__GNUC__) && !defined(__clang__)
#define NO_LOOP_PATTERNS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LOOP_PATTERNS
#endif
#define VEC_CLONES FM_TARGET_CLONES NO_LOOP_PATTERNS

#define CONV_KERNELS(T, S)                                                     \
/* ph[qr][qc][t][r] = xp[t s + qr][r s + qc] (0 outside) */                    \
static inline void split_##S(const geom *g, const T *restrict xp,             \
                             T *restrict ph)                                   \
{                                                                              \
    const int64_t H = g->H, W = g->W, s = g->s;                                \
    const int64_t hs = fmi_conv_phase_h(g), ws = fmi_conv_phase_w(g), hw = hs * ws;              \
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
    const int64_t hs = fmi_conv_phase_h(g), ws = fmi_conv_phase_w(g), hw = hs * ws;              \
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
    const int64_t hs = g->s > 1 ? fmi_conv_phase_h(g) : H, ws = g->s > 1 ? fmi_conv_phase_w(g) : W; \
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
    const int64_t hs = g->s > 1 ? fmi_conv_phase_h(g) : H, ws = g->s > 1 ? fmi_conv_phase_w(g) : W; \
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


const fmi_conv_kernels fmi_conv_kern_f32 = {im2col_f32, col2im_f32, scatter_f32,
                                 gather_f32, addbias_f32, rowsum_f32, add_f32};
const fmi_conv_kernels fmi_conv_kern_f64 = {im2col_f64, col2im_f64, scatter_f64,
                                 gather_f64, addbias_f64, rowsum_f64, add_f64};

