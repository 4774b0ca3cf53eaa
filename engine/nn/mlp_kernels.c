/* mlp_kernels.c — the per-element kernels of the fused MLP (mlp.c) beside
 * the activations of ops/act.c: dz = dh * act'(z) fused with the bias
 * gradient, column sums, and layers with K <= 4 as hand loops. */
#include "nn/mlp_internal.h"
#include "core/clones_internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

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
FM_TARGET_CLONES DEFINE_DACT(float, f32)
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
FM_TARGET_CLONES DEFINE_COLSUM(float, f32)
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
FM_TARGET_CLONES DEFINE_SMALLK(float, f32)
DEFINE_SMALLK(double, f64)

/* ---- dtype dispatch ---------------------------------------------------- */

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
