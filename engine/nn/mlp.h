/* mlp.h — a fused multilayer perceptron: forward, backward, Euler sampling.
 *
 * The network: sizes[0] inputs -> sizes[1] -> ... -> sizes[n] outputs, with
 * n linear layers and the activation applied after every layer but the last:
 *     h_0 = x,  z_l = h_{l-1} W_l + b_l,  h_l = act(z_l),  y = z_n.
 *
 * Parameter layout (chosen, documented, used by the bindings too):
 *   params[2l]   = W_l, shape (sizes[l], sizes[l+1]), so forward is X @ W
 *                  (this is the transpose of torch.nn.Linear.weight);
 *   params[2l+1] = b_l, shape (sizes[l+1],).
 * Parameters and gradients are caller-owned tensors (float32 or float64, the
 * dtype of the mlp), contiguous. x, out, grad_out, grad_x are 2-D with unit
 * column stride (any row stride).
 *
 * The workspace caches the activations kept for backward (h_l and act'(z_l))
 * and scratch rows; it grows when a larger batch arrives and is released by
 * fm_mlp_work_free (engine-owned malloc: it is a cache, not tensor memory).
 */
#ifndef FM_MLP_H
#define FM_MLP_H

#include "core/fm.h"
#include "ops/act.h"

/* fm_act, the activation applied after every layer but the last: ops/act.h */

#define FM_MLP_MAX_LAYERS 32

typedef struct {
    int nlayers;                           /* linear layers (>= 1) */
    int64_t sizes[FM_MLP_MAX_LAYERS + 1];  /* nlayers + 1 widths */
    fm_act act;
    fm_dtype dtype;                        /* FM_FLOAT32 or FM_FLOAT64 */
} fm_mlp;

/* nsizes = nlayers + 1 >= 2 widths, each >= 1. */
fm_status fm_mlp_init(fm_mlp *mlp, int nsizes, const int64_t *sizes,
                      fm_act act, fm_dtype dtype);
/* Number of parameter tensors (2 * nlayers) and of scalars. */
int fm_mlp_nparams(const fm_mlp *mlp);
int64_t fm_mlp_numel(const fm_mlp *mlp);
/* Shape of parameter tensor i (0 <= i < 2 * nlayers): ndim 2 or 1. */
fm_status fm_mlp_param_shape(const fm_mlp *mlp, int i, int *ndim,
                             int64_t shape[2]);
/* Checks the dtype, shape and contiguity of 2 * nlayers tensors. */
fm_status fm_mlp_check_params(const fm_mlp *mlp, const fm_tensor *params,
                              const char *what);

typedef struct {
    void *buf;          /* one 64-byte aligned block */
    size_t bytes;
    int64_t batch;      /* rows the kept activations refer to (0: none) */
    int64_t cap_rows;   /* rows each part of the block is sized for */
    int parts;          /* parts (one per thread) the block is carved into */
    fm_mlp layout;      /* the mlp the block was carved for */
    bool kept;          /* forward kept what backward needs */
} fm_mlp_work;

void fm_mlp_work_init(fm_mlp_work *work);
void fm_mlp_work_free(fm_mlp_work *work);

/* Threads. Work is split into parts that run concurrently on the engine's
 * persistent worker pool (pool.h), each calling OpenBLAS with one thread,
 * when the pool's budget fm_pool_threads() is >= 2 (OpenBLAS's threads,
 * OPENBLAS_NUM_THREADS, at most the usable CPUs); otherwise the parts run
 * one after the other on the caller's thread. The parts and their order of summation depend only on the
 * shapes, never on the thread count or on timing, so results are identical
 * with 1 or 2 threads.
 *  - fm_mlp_euler, fm_mlp_field_eval and inference forward: row blocks are
 *    shared among min(threads, blocks, FM_MLP_MAX_THREADS) threads; rows are
 *    independent, so results are bit-identical to an unthreaded run.
 *  - training (forward with keep_for_backward, then backward): a batch of
 *    B >= fm_mlp_split_rows rows is split into two halves (rows [0, B/2) and
 *    [B/2, B)); each half runs forward and backward on its own, and the
 *    weight/bias gradients are half0 + half1 (half0 accumulated into the
 *    gradient first when accumulate is set). This may differ from an unsplit
 *    batch in the last bits of the float sums, but not between runs. */
#define FM_MLP_MAX_THREADS 8
/* Smallest batch split in halves for training (values < 1: the default,
 * 128). Settable for benchmarks. */
extern int64_t fm_mlp_split_rows;

/* out (B, outputs) = mlp(x (B, inputs)). keep_for_backward stores what
 * fm_mlp_backward needs (a copy of x, h_l and act'(z_l)) in work. */
fm_status fm_mlp_forward(const fm_mlp *mlp, const fm_tensor *params,
                         const fm_tensor *x, fm_tensor *out,
                         fm_mlp_work *work, bool keep_for_backward);

/* Backpropagates grad_out (B, outputs) through the last kept forward.
 * grad_params (2 * nlayers tensors shaped as params) are overwritten, or
 * added into when accumulate is true. grad_x (B, inputs) may be NULL. */
fm_status fm_mlp_backward(const fm_mlp *mlp, const fm_tensor *params,
                          fm_mlp_work *work, const fm_tensor *grad_out,
                          fm_tensor *grad_params, bool accumulate,
                          fm_tensor *grad_x);

/* The tangent forward (docs/math.md, forward mode): out = mlp(x) and
 * tout = d/de mlp(x + e tx; params + e tparams) at e = 0, with tx (NULL:
 * zero) shaped like x and tparams NULL or 2 * nlayers tensors (data NULL:
 * zero). Runs the training forward (keeping what fm_mlp_backward needs in
 * work, so a backward may follow), then one tangent pass over the kept
 * activations: tz_l = th_{l-1} W_l + h_{l-1} tW_l + tb_l,
 * th_l = act'(z_l) tz_l. */
fm_status fm_mlp_jvp(const fm_mlp *mlp, const fm_tensor *params,
                     const fm_tensor *x, const fm_tensor *tx,
                     const fm_tensor *tparams, fm_tensor *out, fm_tensor *tout,
                     fm_mlp_work *work);

/* A network trained on [x, t] as a field (docs/design.md: net input = cat(x, t),
 * so inputs = d + 1 and outputs = d): out (N, d) = mlp([x, t]). */
fm_status fm_mlp_field_eval(const fm_mlp *mlp, const fm_tensor *params,
                            const fm_tensor *x, double t, fm_tensor *out,
                            fm_mlp_work *work);

/* Euler integration in place (docs/math.md §1, flow ODE dX = u_t(X) dt):
 * x <- x + h * mlp([x, t_k]), t_k = t0 + k h, h = (t1 - t0) / steps, for
 * k = 0 .. steps-1. Rows are independent, so they are processed in blocks of
 * FM_MLP_EULER_BLOCK rows that run all steps while their activations stay in
 * cache. Polls fm_interrupted() between blocks. */
fm_status fm_mlp_euler(const fm_mlp *mlp, const fm_tensor *params,
                       fm_tensor *x, double t0, double t1, int64_t steps,
                       fm_mlp_work *work);

/* Rows per block in fm_mlp_euler, fm_mlp_field_eval and inference forward
 * (values < 1 mean the default, 512: two 512 x 256 float32 activation blocks
 * fill the 1 MiB L2). bench/mlp_c sweeps 128..2048: with the blocks shared
 * by 2 threads, 256..1024 are within noise (93-96% of the GEMM-bound limit
 * at 10k points), 2048 falls to 80% (5 blocks for 2 threads). Settable for
 * benchmarks. */
extern int64_t fm_mlp_euler_block;

#endif
