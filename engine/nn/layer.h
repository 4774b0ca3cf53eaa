/* layer.h — the layer as the unit of the network engine (docs/design.md,
 * "Networks: the layer is the unit").
 *
 * A layer is a small value (fm_layer: its kind and configuration) plus
 * parameter tensors the caller owns. Every kind provides, through one table
 * of kinds (layer.c, designated initialisers, a static assert on its length):
 *   check        the configuration is valid (channels > 0, groups divide, ...)
 *   nparams      how many parameter tensors, and param_shape of each
 *   shape        the output shape for given inputs, or an error naming the
 *                layer and the shapes (channels that do not match, a kernel
 *                larger than the padded input, ...)
 *   saved_numel  elements forward keeps for backward (0: none; the inputs
 *                themselves are always handed to backward again)
 *   forward      out = layer(in); keeps `saved` when it is not NULL
 *   backward     ACCUMULATES: grad_in[i] += d<grad_out, out>/d in[i] and
 *                grad_params[j] += d<grad_out, out>/d params[j] (as llm.c's
 *                backward: dinp += local_grad * dout); a tensor whose data is
 *                NULL is not wanted and is skipped
 *   jvp          the tangent forward: out = layer(in) and
 *                tan_out = d/de layer(in + e tan_in; params + e tan_params)
 *                at e = 0; a tangent whose data is NULL is zero, tan_params
 *                may be NULL (all zero). Keeps `saved` like forward.
 *
 * Conventions: every tensor passed in is contiguous and has the layer's
 * dtype (float32 or float64; embedding indices are int64), image tensors are
 * NCHW. Work is split into parts along the batch (dim 0) by shape alone
 * (fm_nn_parts), run on the worker pool (fm_nn_parallel), so results do not
 * depend on the thread count; sums over the batch (parameter gradients) add
 * the parts in a fixed order. Scratch memory comes from fm_nn_scratch
 * (per-thread, grown to the largest request and reused: planned from the
 * shapes seen, never freed per call).
 */
#ifndef FM_NN_LAYER_H
#define FM_NN_LAYER_H

#include "core/fm.h"
#include "ops/act.h"
#include "nn/mlp.h"

typedef enum {
    FM_LAYER_LINEAR = 0,  /* (..., in) -> (..., out): x W + b, W (in, out)  */
    FM_LAYER_CONV2D,      /* (N, Cin, H, W) -> (N, Cout, Ho, Wo), W (Cout, Cin, k, k) */
    FM_LAYER_GROUP_NORM,  /* (N, C, ...) normalised per (n, group), affine, act */
    FM_LAYER_LAYER_NORM,  /* (..., D) normalised per row, affine             */
    FM_LAYER_ACT,         /* elementwise activation                          */
    FM_LAYER_UPSAMPLE,    /* nearest, (N, C, H, W) -> (N, C, fH, fW)          */
    FM_LAYER_AVG_POOL,    /* f x f windows, stride f (floor)                 */
    FM_LAYER_CONCAT,      /* along dim 1 (channels), ninputs inputs          */
    FM_LAYER_ATTENTION,   /* softmax attention over positions, qkv input     */
    FM_LAYER_EMBEDDING,   /* int64 indices (...) -> (..., dim) rows of W     */
    FM_LAYER_MLP,         /* the fused MLP (nn/mlp.h) as one layer           */
    FM_LAYER_MLP_TANGENT, /* (x, tx) -> J_x mlp(x) tx, differentiable        */
    FM_LAYER_KIND_COUNT
} fm_layer_kind;

#define FM_LAYER_MAX_INPUTS 16
#define FM_LAYER_MAX_PARAMS (2 * FM_MLP_MAX_LAYERS)

/* The configuration; each kind reads the fields its comment names. */
typedef struct {
    fm_layer_kind kind;
    fm_dtype dtype;      /* float32 or float64 (parameters, inputs, outputs) */
    int64_t in, out;     /* linear: features; conv2d: Cin, Cout;
                            group/layer norm, attention: channels (in);
                            embedding: rows (in) and dim (out) */
    int64_t kernel, stride, padding; /* conv2d (dilation 1, groups 1) */
    int64_t groups;      /* group norm */
    int64_t heads;       /* attention: heads dividing the channels */
    int64_t factor;      /* upsample, avg pool */
    double eps;          /* group / layer norm (torch: 1e-5) */
    fm_act act;          /* act; group norm: applied after the affine */
    bool bias;           /* linear, conv2d */
    int ninputs;         /* concat: 2 .. FM_LAYER_MAX_INPUTS; others: 1 */
    int64_t index_base;  /* embedding: the number of the first row (Lua: 1) */
    fm_mlp mlp;          /* mlp, mlp_tangent */
} fm_layer;

/* Everything one call of a kind's function sees. */
typedef struct {
    const fm_layer *layer;
    const fm_tensor *params;      /* nparams tensors */
    int nin;
    const fm_tensor *in;          /* nin inputs */
    fm_tensor *out;               /* forward/jvp: written; backward: the output */
    fm_tensor *saved;             /* kept by forward/jvp (NULL: not kept), read by backward */
    const fm_tensor *grad_out;    /* backward */
    fm_tensor *grad_in;           /* backward: nin, accumulated; data NULL = skip */
    fm_tensor *grad_params;       /* backward: nparams, accumulated; data NULL = skip */
    const fm_tensor *tan_in;      /* jvp: nin tangents; data NULL = zero */
    const fm_tensor *tan_params;  /* jvp: NULL, or nparams (data NULL = zero) */
    fm_tensor *tan_out;           /* jvp: written */
    void *state;                  /* mlp: its fm_mlp_work (kept activations) */
    bool keep;                    /* forward/jvp: keep what backward needs
                                     (saved is given when saved_numel > 0) */
    bool fresh_grads;             /* backward: grad_params hold garbage and are
                                     overwritten (kinds with .overwrites) */
} fm_layer_call;

typedef struct {
    const char *name;
    fm_status (*check)(const fm_layer *l);
    int (*nparams)(const fm_layer *l);
    void (*param_shape)(const fm_layer *l, int i, int *ndim, int64_t *shape);
    fm_status (*shape)(const fm_layer *l, int nin, const fm_tensor *in,
                       int *ndim, int64_t *shape);
    int64_t (*saved_numel)(const fm_layer *l, int nin, const fm_tensor *in);
    fm_status (*forward)(const fm_layer_call *c);
    fm_status (*backward)(const fm_layer_call *c);
    fm_status (*jvp)(const fm_layer_call *c);
    bool overwrites;  /* backward honours fresh_grads (else: always adds) */
} fm_layer_ops;

/* The kinds, defined one per file (nn/linear.c, nn/conv2d.c, ...). */
extern const fm_layer_ops fm_layer_linear_ops, fm_layer_conv2d_ops,
    fm_layer_group_norm_ops, fm_layer_layer_norm_ops, fm_layer_act_ops,
    fm_layer_upsample_ops, fm_layer_avg_pool_ops, fm_layer_concat_ops,
    fm_layer_attention_ops, fm_layer_embedding_ops, fm_layer_mlp_ops,
    fm_layer_mlp_tangent_ops;

/* The table entry of a kind (NULL for an unknown kind). */
const fm_layer_ops *fm_layer_ops_of(fm_layer_kind kind);
/* "linear" "conv2d" ... <-> kind. */
const char *fm_layer_kind_name(fm_layer_kind kind);
fm_status fm_layer_kind_parse(const char *name, fm_layer_kind *out);

/* A layer of `kind` with defaults (float32, eps 1e-5, bias, ninputs 1,
 * stride 1, factor 2, heads 1); the caller sets the fields, then checks. */
fm_layer fm_layer_default(fm_layer_kind kind);
fm_status fm_layer_check(const fm_layer *l);
int fm_layer_nparams(const fm_layer *l);
void fm_layer_param_shape(const fm_layer *l, int i, int *ndim, int64_t *shape);

/* Checked entry points (dtype, contiguity, counts and shapes, then the
 * kind's function). */
fm_status fm_layer_shape(const fm_layer *l, int nin, const fm_tensor *in,
                         int *ndim, int64_t *shape);
int64_t fm_layer_saved_numel(const fm_layer *l, int nin, const fm_tensor *in);
fm_status fm_layer_forward(const fm_layer_call *c);
fm_status fm_layer_backward(const fm_layer_call *c);
fm_status fm_layer_jvp(const fm_layer_call *c);

/* ---- helpers shared by the kinds (nn/workspace.c) ---------------------- */

/* Parts a batch of n is split into: 2 for n >= 2, else 1 (shape only). */
#define FM_NN_PARTS 2
int fm_nn_parts(int64_t n);
/* [lo, hi) of part p of `parts` over n. */
void fm_nn_part_range(int64_t n, int parts, int p, int64_t *lo, int64_t *hi);
/* fn(ctx, p) for p < parts: concurrently on the worker pool when the
 * engine's thread budget is >= 2 (OpenBLAS set to one thread meanwhile),
 * else one after the other. */
void fm_nn_parallel(int parts, void (*fn)(void *ctx, int part), void *ctx);
/* A 64-byte aligned block of at least `bytes` for the calling thread, valid
 * until its next call on this thread; NULL when out of memory. Grows to the
 * largest request and is kept. */
void *fm_nn_scratch(size_t bytes);
/* A second, independent block (for kinds that need two at once). */
void *fm_nn_scratch2(size_t bytes);

/* C (M, N) = op(A) op(B) + beta C on cblas_sgemm / dgemm (row-major). */
void fm_nn_gemm(fm_dtype dt, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                const void *A, int64_t lda, const void *B, int64_t ldb,
                double beta, void *C, int64_t ldc);

#endif
