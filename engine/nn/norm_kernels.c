/* norm_kernels.c — the per-dtype kernels of the normalisation kinds
 * (norm_internal.h; the maths and the plan are in norm.c's header comment):
 * moments with a shifted, lane-blocked sum, the forward and JVP writes and
 * the backward reductions, along a channel's S positions (_ch) or along the
 * channels with gamma per element (_el). */
#include "nn/norm_internal.h"
#include "core/clones_internal.h"

#include <math.h>
#include <string.h>

#define LANES 32
#define BLOCK 1024


/* The reductions run in LANES independent sums of type ACC (float for
 * float32: twice the vector width and no conversions) over blocks of BLOCK
 * elements, each block's lane sums added in double: a float lane adds at
 * most BLOCK / LANES = 32 terms. The sums are of values shifted by the
 * group's first element (stats) or the mean, so they do not cancel. */
#define DEFINE_KERNELS(T, ACC, SUF)                                              \
    static FM_TARGET_CLONES void stats_##SUF(const void *xv, int64_t n,       \
                                       double *mean, double *var)             \
    {                                                                          \
        const T *restrict x = xv;                                              \
        if (n <= 0) { *mean = 0; *var = 0; return; }                           \
        const T k = x[0];                                                      \
        double S = 0, Q = 0;                                                   \
        int64_t i = 0;                                                         \
        while (i + LANES <= n) {                                               \
            ACC s[LANES] = {0}, q[LANES] = {0};                                  \
            int64_t e = n - i > BLOCK ? i + BLOCK : n;                         \
            for (; i + LANES <= e; i += LANES)                                 \
                for (int j = 0; j < LANES; j++) {                              \
                    ACC d = (ACC)(x[i + j] - k);                                   \
                    s[j] += d;                                                 \
                    q[j] += d * d;                                             \
                }                                                              \
            for (int j = 0; j < LANES; j++) { S += s[j]; Q += q[j]; }          \
        }                                                                      \
        for (; i < n; i++) {                                                   \
            double d = (double)x[i] - (double)k;                               \
            S += d;                                                            \
            Q += d * d;                                                        \
        }                                                                      \
        double mu = S / (double)n, v = Q / (double)n - mu * mu;                \
        *mean = (double)k + mu;                                                \
        *var = v > 0 ? v : 0;                                                  \
    }                                                                          \
    static FM_TARGET_CLONES void jstats_##SUF(const void *xv, const void *tv, \
                                        int64_t n, double *r)                 \
    {                                                                          \
        const T *restrict x = xv, *restrict tx = tv;                           \
        if (n <= 0) { r[0] = r[1] = r[2] = r[3] = 0; return; }                 \
        const T k = x[0];                                                      \
        double S = 0, Q = 0, Tt = 0, U = 0;                                    \
        int64_t i = 0;                                                         \
        while (i + LANES <= n) {                                               \
            ACC s[LANES] = {0}, q[LANES] = {0}, t[LANES] = {0}, u[LANES] = {0};  \
            int64_t e = n - i > BLOCK ? i + BLOCK : n;                         \
            for (; i + LANES <= e; i += LANES)                                 \
                for (int j = 0; j < LANES; j++) {                              \
                    ACC d = (ACC)(x[i + j] - k), f = tx[i + j];                    \
                    s[j] += d;                                                 \
                    q[j] += d * d;                                             \
                    t[j] += f;                                                 \
                    u[j] += f * d;                                             \
                }                                                              \
            for (int j = 0; j < LANES; j++) {                                  \
                S += s[j]; Q += q[j]; Tt += t[j]; U += u[j];                   \
            }                                                                  \
        }                                                                      \
        for (; i < n; i++) {                                                   \
            double d = (double)x[i] - (double)k, f = tx[i];                    \
            S += d; Q += d * d; Tt += f; U += f * d;                           \
        }                                                                      \
        double mu = S / (double)n, v = Q / (double)n - mu * mu;                \
        double mt = Tt / (double)n;                                            \
        r[0] = (double)k + mu;                                                 \
        r[1] = v > 0 ? v : 0;                                                  \
        r[2] = mt;                                                             \
        r[3] = U / (double)n - mu * mt;  /* mean(tx (x - mean)) */             \
    }                                                                          \
    static FM_TARGET_CLONES void fwd_ch_##SUF(const void *xv, void *ov, int64_t n,  \
                                        double m, double a, double b)         \
    {                                                                          \
        const T *restrict x = xv;                                              \
        T *restrict o = ov;                                                    \
        const T m_ = (T)m, a_ = (T)a, b_ = (T)b;                               \
        for (int64_t i = 0; i < n; i++)                                        \
            o[i] = (x[i] - m_) * a_ + b_;                                      \
    }                                                                          \
    static FM_TARGET_CLONES void fwd_el_##SUF(const void *xv, void *ov, int64_t n,  \
                                        double m, double r, const void *gv,   \
                                        const void *bv)                       \
    {                                                                          \
        const T *restrict x = xv, *restrict g = gv, *restrict b = bv;          \
        T *restrict o = ov;                                                    \
        const T m_ = (T)m, r_ = (T)r;                                          \
        for (int64_t i = 0; i < n; i++)                                        \
            o[i] = (x[i] - m_) * r_ * g[i] + b[i];                             \
    }                                                                          \
    static FM_TARGET_CLONES void red_ch_##SUF(const void *dv, const void *xv, \
                                        int64_t n, double m, double *r)       \
    {                                                                          \
        const T *restrict dz = dv, *restrict x = xv;                           \
        const T m_ = (T)m;                                                     \
        double Sa = 0, Sb = 0;                                                 \
        int64_t i = 0;                                                         \
        while (i + LANES <= n) {                                               \
            ACC a[LANES] = {0}, b[LANES] = {0};                                  \
            int64_t e = n - i > BLOCK ? i + BLOCK : n;                         \
            for (; i + LANES <= e; i += LANES)                                 \
                for (int j = 0; j < LANES; j++) {                              \
                    ACC d = dz[i + j];                                           \
                    a[j] += d;                                                 \
                    b[j] += d * (ACC)(x[i + j] - m_);                            \
                }                                                              \
            for (int j = 0; j < LANES; j++) { Sa += a[j]; Sb += b[j]; }        \
        }                                                                      \
        for (; i < n; i++) {                                                   \
            Sa += dz[i];                                                       \
            Sb += (double)dz[i] * (double)(x[i] - m_);                         \
        }                                                                      \
        r[0] = Sa;                                                             \
        r[1] = Sb;                                                             \
    }                                                                          \
    static FM_TARGET_CLONES void red_el_##SUF(const void *dv, const void *xv, \
                                        int64_t n, double m, double rs,       \
                                        const void *gv, double *restrict pb,  \
                                        double *restrict pg, double *r)       \
    {                                                                          \
        const T *restrict dz = dv, *restrict x = xv, *restrict g = gv;         \
        const T m_ = (T)m;                                                     \
        double P = 0, Q = 0;                                                   \
        int64_t i = 0;                                                         \
        while (i + LANES <= n) {                                               \
            ACC p[LANES] = {0}, q[LANES] = {0};                                  \
            int64_t e = n - i > BLOCK ? i + BLOCK : n;                         \
            for (; i + LANES <= e; i += LANES)                                 \
                for (int j = 0; j < LANES; j++) {                              \
                    ACC dg = (ACC)dz[i + j] * g[i + j];                            \
                    p[j] += dg;                                                \
                    q[j] += dg * (ACC)(x[i + j] - m_);                           \
                }                                                              \
            for (int j = 0; j < LANES; j++) { P += p[j]; Q += q[j]; }          \
        }                                                                      \
        for (; i < n; i++) {                                                   \
            double dg = (double)dz[i] * g[i];                                  \
            P += dg;                                                           \
            Q += dg * (double)(x[i] - m_);                                     \
        }                                                                      \
        r[0] = P;                                                              \
        r[1] = Q * rs;                                                         \
        if (pb) {                                                              \
            const T rs_ = (T)rs;                                               \
            for (i = 0; i < n; i++) {                                          \
                T d = dz[i];                                                   \
                pb[i] += d;                                                    \
                pg[i] += d * ((x[i] - m_) * rs_);                              \
            }                                                                  \
        }                                                                      \
    }                                                                          \
    static FM_TARGET_CLONES void dx_ch_##SUF(void *ov, const void *dv,        \
                                       const void *xv, int64_t n, double m,   \
                                       double a, double c0, double w)         \
    {                                                                          \
        T *restrict o = ov;                                                    \
        const T *restrict dz = dv, *restrict x = xv;                           \
        const T m_ = (T)m, a_ = (T)a, c_ = (T)c0, w_ = (T)w;                   \
        for (int64_t i = 0; i < n; i++)                                        \
            o[i] += a_ * dz[i] + c_ + w_ * (x[i] - m_);                        \
    }                                                                          \
    static FM_TARGET_CLONES void dx_el_##SUF(void *ov, const void *dv,        \
                                       const void *xv, int64_t n, double m,   \
                                       double r, const void *gv, double c0,   \
                                       double w)                              \
    {                                                                          \
        T *restrict o = ov;                                                    \
        const T *restrict dz = dv, *restrict x = xv, *restrict g = gv;         \
        const T m_ = (T)m, r_ = (T)r, c_ = (T)c0, w_ = (T)w;                   \
        for (int64_t i = 0; i < n; i++)                                        \
            o[i] += r_ * g[i] * dz[i] + c_ + w_ * (x[i] - m_);                 \
    }                                                                          \
    static FM_TARGET_CLONES void jvp_ch_##SUF(const void *xv, const void *tv, \
                                        void *ov, void *pv, int64_t n,        \
                                        double m, double r, double g,         \
                                        double b, double A, double B,         \
                                        double C0)                            \
    {                                                                          \
        const T *restrict x = xv, *restrict tx = tv;                           \
        T *restrict o = ov, *restrict p = pv;                                  \
        const T m_ = (T)m, r_ = (T)r, g_ = (T)g, b_ = (T)b;                    \
        const T A_ = (T)A, B_ = (T)B, C_ = (T)C0;                              \
        for (int64_t i = 0; i < n; i++) {                                      \
            T xh = (x[i] - m_) * r_;                                           \
            o[i] = xh * g_ + b_;                                               \
            p[i] = A_ * tx[i] + B_ * xh + C_;                                  \
        }                                                                      \
    }                                                                          \
    static FM_TARGET_CLONES void jvp_el_##SUF(const void *xv, const void *tv, \
                                        void *ov, void *pv, int64_t n,        \
                                        double m, double r, const void *gv,   \
                                        const void *bv, const void *tgv,      \
                                        const void *tbv, double mt,           \
                                        double mtx)                           \
    {                                                                          \
        const T *restrict x = xv, *restrict tx = tv, *restrict g = gv;         \
        const T *restrict b = bv, *restrict tg = tgv, *restrict tb = tbv;      \
        T *restrict o = ov, *restrict p = pv;                                  \
        const T m_ = (T)m, r_ = (T)r, mt_ = (T)mt, mtx_ = (T)mtx;              \
        for (int64_t i = 0; i < n; i++) {                                      \
            T xh = (x[i] - m_) * r_;                                           \
            o[i] = xh * g[i] + b[i];                                           \
            p[i] = g[i] * r_ * (tx[i] - mt_ - xh * mtx_) + tg[i] * xh + tb[i]; \
        }                                                                      \
    }                                                                          \
    static FM_TARGET_CLONES void mul_##SUF(void *tv, const void *dv, int64_t n)     \
    {                                                                          \
        T *restrict t = tv;                                                    \
        const T *restrict d = dv;                                              \
        for (int64_t i = 0; i < n; i++)                                        \
            t[i] *= d[i];                                                      \
    }                                                                          \
    const norm_kern fmi_norm_kern_##SUF = {                                     \
        .stats = stats_##SUF, .jstats = jstats_##SUF, .fwd_ch = fwd_ch_##SUF, \
        .fwd_el = fwd_el_##SUF, .red_ch = red_ch_##SUF,                       \
        .red_el = red_el_##SUF, .dx_ch = dx_ch_##SUF, .dx_el = dx_el_##SUF,   \
        .jvp_ch = jvp_ch_##SUF, .jvp_el = jvp_el_##SUF, .mul = mul_##SUF,     \
    };

DEFINE_KERNELS(float, float, f32)
DEFINE_KERNELS(double, double, f64)
