/* mlp_internal.h — shared by mlp.c (layers, workspace, threads,
 * forward/backward/Euler), mlp_jvp.c (the tangent forward) and mlp_kernels.c
 * (per-element kernels and dtype
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

/* ---- shared by mlp.c and mlp_jvp.c --------------------------------------- */

/* Regions of the block for `rows` rows, in elements of the dtype:
 * X copy (rows, in); per hidden layer l = 1..n-1: H_l and D_l (rows, h_l);
 * two scratch blocks S0, S1 (rows, maxw); a transposed small W (<= 4 rows);
 * an output block y (rows, out) and a folded first bias b0 (sizes[1]). */
typedef struct {
    void *x, *h[FM_MLP_MAX_LAYERS], *d[FM_MLP_MAX_LAYERS], *s0, *s1, *wt,
         *y, *b0;
} regions;

/* Rows per chunk of a training part: forward and backward run chunk by
 * chunk, so that a chunk's activations stay in the core's L2 from one layer
 * to the next (512 x 256 floats are 0.5 MiB) instead of streaming from L3
 * between the GEMM and the activation pass; the weight gradients accumulate
 * over chunks. A function of the shapes only (results do not depend on
 * threads). The C step at W256/B4096 went from 19.0-20.0 to 18.4-19.4 ms
 * (three runs each; the VM's noise is of the same size). */
#define TRAIN_CHUNK_ROWS 512

/* Carves the regions for `rows` rows out of base (NULL: only sizes them);
 * returns the bytes they take. */
size_t fmi_mlp_carve(const fm_mlp *m, int64_t rows, char *base, regions *r);
size_t fmi_mlp_part_bytes(const fm_mlp *m, int64_t rows);
/* The kept regions of r from row row0 on (x, h_l, d_l; scratch unchanged). */
regions fmi_mlp_shift_rows(const fm_mlp *m, const regions *r, int64_t row0);
/* x-like operand check: 2-D, dtype, cols columns, rows rows (-1: any). */
fm_status fmi_mlp_check_rows(const fm_mlp *mlp, const fm_tensor *t, int64_t rows,
                             int64_t cols, const char *op, const char *name);
int64_t fmi_mlp_ld(const fm_tensor *t);
/* Parts of a training batch (a function of B only) and part p's rows. */
int fmi_mlp_train_parts(int64_t B);
void fmi_mlp_part_range(int64_t B, int parts, int p, int64_t *lo, int64_t *hi);

#endif
