/* mlp_internal.h — shared between mlp.c (layers, workspace, threads,
 * forward/backward/Euler) and mlp_kernels.c (per-element kernels and dtype
 * dispatch). Not part of the engine's public API. */
#ifndef FM_MLP_INTERNAL_H
#define FM_MLP_INTERNAL_H

#include "nn/mlp.h"
#include "nn/layer.h"

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
