/* mlp_internal.h — shared between mlp.c (layers, workspace, threads,
 * forward/backward/Euler) and mlp_kernels.c (per-element kernels and dtype
 * dispatch). Not part of the engine's public API. */
#ifndef FM_MLP_INTERNAL_H
#define FM_MLP_INTERNAL_H

#include "nn/mlp.h"

/* C (M, N) = op(A) op(B) + beta C through cblas_sgemm / dgemm. */
void fm_mlp_gemm(fm_dtype dt, bool ta, bool tb, int64_t M, int64_t N,
                 int64_t K, const void *A, int64_t lda, const void *B,
                 int64_t ldb, double beta, void *C, int64_t ldc);
/* z (rows, n) <- act(z + b) in place; d (may be NULL) <- act'(z + b). */
void fm_mlp_act_rows(fm_dtype dt, fm_act act, int64_t rows, int64_t n,
                     void *z, const void *b, void *d);
/* float32 SiLU rows in place on AVX-512 (mlp_silu_avx512.c), as
 * fm_mlp_act_rows; false (nothing done) when the CPU lacks AVX-512. */
bool fm_mlp_silu_avx512(int64_t rows, int64_t n, float *z, const float *b,
                        float *d);
/* z[i][:] = bias + sum_{k<K} x[i][k] W[k][:] for small K (bias may be NULL). */
void fm_mlp_smallk(fm_dtype dt, int64_t rows, int64_t K, const void *x,
                   int64_t ldx, const void *W, int64_t N, const void *bias,
                   void *z, int64_t ldz);
/* dh <- dh * d in place (rows, n; row stride ldh); db (+)= its column sums. */
void fm_mlp_dact(fm_dtype dt, int64_t rows, int64_t n, void *dh, int64_t ldh,
                 const void *d, void *db, bool acc);
/* db (+)= column sums of a (rows, n; row stride lda). */
void fm_mlp_colsum(fm_dtype dt, int64_t rows, int64_t n, const void *a,
                   int64_t lda, void *db, bool acc);

#endif
