/* mlp_kernels.c — the per-element kernels of the fused MLP (mlp.c):
 * activations with act'(z) stored beside act(z), dz = dh * act'(z) fused
 * with the bias gradient, column sums, layers with K <= 4 as hand loops, and
 * dispatch on the dtype (float32 / float64) to cblas.
 *
 * float32 uses the vectorisable exp, sigmoid and tanh of ops_vmath.h (the
 * generic ops' own), float64 uses libm (gradchecks).
 */
#include "nn/mlp_internal.h"
#include "ops/vmath.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* ---- activations ------------------------------------------------------ */

static const char *const act_names[] = {"none", "silu", "relu", "tanh",
                                        "gelu", "sigmoid"};

fm_status fm_act_parse(const char *name, fm_act *out)
{
    for (int i = 0; i < (int)(sizeof act_names / sizeof act_names[0]); i++)
        if (name && strcmp(name, act_names[i]) == 0) {
            *out = (fm_act)i;
            return FM_OK;
        }
    return fm_error(FM_EVALUE, "mlp: unknown activation '%s' (none, silu, "
                    "relu, tanh, gelu, sigmoid)", name ? name : "(null)");
}

const char *fm_act_name(fm_act act)
{
    return (unsigned)act < sizeof act_names / sizeof act_names[0]
               ? act_names[act] : "?";
}

#define VEC_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

static inline float sigm_f32(float z) { return fmv_sigmoid(z); }
static inline double sigm_f64(double z) { return 1.0 / (1.0 + exp(-z)); }

#define GELU_C 0.7978845608028654   /* sqrt(2 / pi) */
#define GELU_A 0.044715

/* h[j] = act(z[j] + b[j]) and, if d, d[j] = act'(z[j] + b[j]), for j < n.
 * h may alias z. Two copies: float (fast exp) and double (libm). */
#define DEFINE_ACT_ROW(T, SUF, SIGM, TANH)                                     \
    static void act_row_##SUF(fm_act act, int64_t n, const T *z, const T *b,  \
                              T *h, T *d)                                     \
    {                                                                          \
        switch (act) {                                                         \
        case FM_ACT_NONE: case FM_ACT_COUNT:                                   \
            for (int64_t j = 0; j < n; j++) h[j] = z[j] + b[j];                \
            if (d) for (int64_t j = 0; j < n; j++) d[j] = 1;                   \
            break;                                                             \
        case FM_ACT_RELU:                                                      \
            if (d) for (int64_t j = 0; j < n; j++) {                           \
                T v = z[j] + b[j];                                             \
                d[j] = v > 0 ? (T)1 : (T)0;                                    \
                h[j] = v > 0 ? v : (T)0;                                       \
            } else for (int64_t j = 0; j < n; j++) {                           \
                T v = z[j] + b[j];                                             \
                h[j] = v > 0 ? v : (T)0;                                       \
            }                                                                  \
            break;                                                             \
        case FM_ACT_SILU: /* h = v s(v), h' = s (1 + v (1 - s)) */             \
            if (d) for (int64_t j = 0; j < n; j++) {                           \
                T v = z[j] + b[j], s = SIGM(v);                                \
                h[j] = v * s;                                                  \
                d[j] = s * (1 + v * (1 - s));                                  \
            } else for (int64_t j = 0; j < n; j++) {                           \
                T v = z[j] + b[j];                                             \
                h[j] = v * SIGM(v);                                            \
            }                                                                  \
            break;                                                             \
        case FM_ACT_SIGMOID:                                                   \
            for (int64_t j = 0; j < n; j++) {                                  \
                T s = SIGM(z[j] + b[j]);                                       \
                h[j] = s;                                                      \
                if (d) d[j] = s * (1 - s);                                     \
            }                                                                  \
            break;                                                             \
        case FM_ACT_TANH:                                                      \
            for (int64_t j = 0; j < n; j++) {                                  \
                T t = TANH(z[j] + b[j]);                                       \
                h[j] = t;                                                      \
                if (d) d[j] = 1 - t * t;                                       \
            }                                                                  \
            break;                                                             \
        case FM_ACT_GELU: /* v s(2u), u = c (v + a v^3) */                     \
            for (int64_t j = 0; j < n; j++) {                                  \
                T v = z[j] + b[j];                                             \
                T u = (T)GELU_C * (v + (T)GELU_A * v * v * v);                 \
                T s = SIGM(2 * u);                                             \
                h[j] = v * s;                                                  \
                if (d) d[j] = s + v * 2 * s * (1 - s) * (T)GELU_C *            \
                                  (1 + 3 * (T)GELU_A * v * v);                 \
            }                                                                  \
            break;                                                             \
        }                                                                      \
    }

VEC_CLONES DEFINE_ACT_ROW(float, f32, sigm_f32, fmv_tanh)
DEFINE_ACT_ROW(double, f64, sigm_f64, tanh)

/* dz[i][j] = dh[i][j] * d[i][j] in place, db[j] (+)= sum_i dz[i][j]. */
#define DEFINE_DACT(T, SUF)                                                    \
    static void dact_##SUF(int64_t rows, int64_t n, T *dh, int64_t ldh,       \
                           const T *d, T *db, bool acc)                        \
    {                                                                          \
        if (!acc) for (int64_t j = 0; j < n; j++) db[j] = 0;                   \
        for (int64_t i = 0; i < rows; i++) {                                   \
            T *r = dh + i * ldh;                                               \
            const T *dr = d + i * n;                                           \
            for (int64_t j = 0; j < n; j++) {                                  \
                T v = r[j] * dr[j];                                            \
                r[j] = v;                                                      \
                db[j] += v;                                                    \
            }                                                                  \
        }                                                                      \
    }
VEC_CLONES DEFINE_DACT(float, f32)
DEFINE_DACT(double, f64)

/* Column sums of a (rows, n) block into db (overwrite or accumulate). */
#define DEFINE_COLSUM(T, SUF)                                                  \
    static void colsum_##SUF(int64_t rows, int64_t n, const T *a, int64_t lda, \
                             T *db, bool acc)                                  \
    {                                                                          \
        if (!acc) for (int64_t j = 0; j < n; j++) db[j] = 0;                   \
        for (int64_t i = 0; i < rows; i++)                                     \
            for (int64_t j = 0; j < n; j++) db[j] += a[i * lda + j];           \
    }
VEC_CLONES DEFINE_COLSUM(float, f32)
DEFINE_COLSUM(double, f64)

/* Small-K layer: z[i][:] = bias + sum_{k<K} x[i][k] W[k][:] (K <= 4; bias
 * may be NULL for zero). */
#define DEFINE_SMALLK(T, SUF)                                                  \
    static void smallk_##SUF(int64_t rows, int64_t K, const T *x, int64_t ldx,\
                             const T *W, int64_t N, const T *bias, T *z,       \
                             int64_t ldz)                                      \
    {                                                                          \
        for (int64_t i = 0; i < rows; i++) {                                   \
            const T *xr = x + i * ldx;                                         \
            T *zr = z + i * ldz;                                               \
            for (int64_t j = 0; j < N; j++) zr[j] = bias ? bias[j] : 0;        \
            for (int64_t k = 0; k < K; k++) {                                  \
                T xk = xr[k];                                                  \
                const T *w = W + k * N;                                        \
                for (int64_t j = 0; j < N; j++) zr[j] += xk * w[j];            \
            }                                                                  \
        }                                                                      \
    }
VEC_CLONES DEFINE_SMALLK(float, f32)
DEFINE_SMALLK(double, f64)

/* ---- dtype dispatch ---------------------------------------------------- */

void fm_mlp_gemm(fm_dtype dt, bool ta, bool tb, int64_t M, int64_t N,
                 int64_t K, const void *A, int64_t lda, const void *B,
                 int64_t ldb, double beta, void *C, int64_t ldc)
{
    enum CBLAS_TRANSPOSE a = ta ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE b = tb ? CblasTrans : CblasNoTrans;
    if (dt == FM_FLOAT32)
        cblas_sgemm(CblasRowMajor, a, b, (int)M, (int)N, (int)K, 1.0f, A,
                    (int)lda, B, (int)ldb, (float)beta, C, (int)ldc);
    else
        cblas_dgemm(CblasRowMajor, a, b, (int)M, (int)N, (int)K, 1.0, A,
                    (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

void fm_mlp_act_rows(fm_dtype dt, fm_act act, int64_t rows, int64_t n,
                     void *z, const void *b, void *d)
{
    if (dt == FM_FLOAT32 && act == FM_ACT_SILU &&
        fm_mlp_silu_avx512(rows, n, z, b, d))
        return;
    for (int64_t i = 0; i < rows; i++) {
        if (dt == FM_FLOAT32) {
            float *zr = (float *)z + i * n;
            act_row_f32(act, n, zr, b, zr, d ? (float *)d + i * n : NULL);
        } else {
            double *zr = (double *)z + i * n;
            act_row_f64(act, n, zr, b, zr, d ? (double *)d + i * n : NULL);
        }
    }
}

void fm_mlp_smallk(fm_dtype dt, int64_t rows, int64_t K, const void *x,
                   int64_t ldx, const void *W, int64_t N, const void *bias,
                   void *z, int64_t ldz)
{
    if (dt == FM_FLOAT32)
        smallk_f32(rows, K, x, ldx, W, N, bias, z, ldz);
    else
        smallk_f64(rows, K, x, ldx, W, N, bias, z, ldz);
}

void fm_mlp_dact(fm_dtype dt, int64_t rows, int64_t n, void *dh, int64_t ldh,
                 const void *d, void *db, bool acc)
{
    if (dt == FM_FLOAT32)
        dact_f32(rows, n, dh, ldh, d, db, acc);
    else
        dact_f64(rows, n, dh, ldh, d, db, acc);
}

void fm_mlp_colsum(fm_dtype dt, int64_t rows, int64_t n, const void *a,
                   int64_t lda, void *db, bool acc)
{
    if (dt == FM_FLOAT32)
        colsum_f32(rows, n, a, lda, db, acc);
    else
        colsum_f64(rows, n, a, lda, db, acc);
}
