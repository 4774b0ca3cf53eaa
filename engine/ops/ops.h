/* ops.h — tensor operations of libfm: elementwise with NumPy broadcasting,
 * reductions, matrix products on cblas, indexing, concatenation.
 *
 * Every function writes into an output the caller allocated (see fm.h): the
 * caller computes the output shape with the matching *_shape helper.
 * Dimensions are 0-based. Index tensors are FM_INT64; functions that read or
 * write indices take `base`, the number that denotes the first element (the
 * Lua bindings pass 1, C users pass 0).
 *
 * dtypes: arithmetic needs a and b of the same float dtype (float32 or
 * float64); the output has that dtype. FM_INT64 tensors support copy/fill,
 * comparisons, add/sub/mul (exact integer arithmetic), neg/abs, sum/max/min/
 * argmax/argmin, cat and index_select. FM_UINT8 tensors support copy/fill
 * (conversions as fm_copy says), index_select, gather, cat and where (as
 * data or as the condition), but no arithmetic, comparison or reduction.
 * Anything else returns FM_ETYPE with a message naming the operation and
 * the dtypes.
 */
#ifndef FM_OPS_H
#define FM_OPS_H

#include "core/fm.h"

/* ---- elementwise ------------------------------------------------------- */

typedef enum {
    FM_ADD, FM_SUB, FM_MUL, FM_DIV, FM_POW, FM_MAXIMUM, FM_MINIMUM, FM_ATAN2,
    /* comparisons: 1 where true, 0 where false, in the inputs' dtype */
    FM_EQ, FM_NE, FM_LT, FM_LE, FM_GT, FM_GE,
    FM_BINOP_COUNT
} fm_binop;

typedef enum {
    FM_NEG, FM_EXP, FM_LOG, FM_SQRT, FM_SIN, FM_COS, FM_TANH, FM_SIGMOID,
    FM_SILU, FM_RELU, FM_GELU /* tanh approximation, as torch approximate="tanh" */,
    FM_SOFTPLUS /* log(1+exp(x)), stable */, FM_ABS, FM_SIGN, FM_SQUARE,
    FM_RECIPROCAL, FM_LOG1P, FM_EXPM1, FM_FLOOR, FM_CEIL, FM_ROUND,
    /* derivatives, used by autograd rules: f'(x) for the activation */
    FM_SIGMOID_GRAD, FM_SILU_GRAD, FM_GELU_GRAD, FM_TANH_GRAD, FM_RELU_GRAD,
    FM_SOFTPLUS_GRAD,
    FM_ISNAN, FM_ISFINITE,
    FM_UNOP_COUNT
} fm_unop;

const char *fm_binop_name(fm_binop op);   /* "add", "sub", ... */
const char *fm_unop_name(fm_unop op);     /* "exp", "silu", ... */

/* Shape of broadcasting a with b (NumPy rules, aligned at the last dim). */
fm_status fm_broadcast_shape(const fm_tensor *a, const fm_tensor *b, int *ndim,
                             int64_t *shape);
/* The dtype a op b computes in, by NumPy's promotion rules (promote.c,
 * docs/tensors.md): FM_ETYPE when uint8 is mixed with another dtype. */
fm_status fm_promote(fm_binop op, fm_dtype a, fm_dtype b, fm_dtype *out);
/* The dtype of tensor op number (either order); the number is weak: only a
 * non-integer number (a Lua float) turns int64 into float64. */
fm_dtype fm_promote_scalar(fm_binop op, fm_dtype t, bool float_scalar);
/* out = a op b, broadcasting; out has the broadcast shape and a's dtype.
 * out may alias a or b when it has the same shape and layout (in place). */
fm_status fm_binary(fm_binop op, const fm_tensor *a, const fm_tensor *b,
                    fm_tensor *out);
/* out = a op s (scalar_first: out = s op a); out has a's shape and dtype. */
fm_status fm_binary_scalar(fm_binop op, const fm_tensor *a, double s,
                           bool scalar_first, fm_tensor *out);
/* out = op(a); same shape and dtype; out may alias a. */
fm_status fm_unary(fm_unop op, const fm_tensor *a, fm_tensor *out);
/* out = min(max(a, lo), hi); lo = -inf or hi = inf for one side. */
fm_status fm_clamp(const fm_tensor *a, double lo, double hi, fm_tensor *out);
/* out = cond != 0 ? a : b, all three broadcast to out's shape;
 * a, b and out share a dtype, cond may be any dtype. */
fm_status fm_where(const fm_tensor *cond, const fm_tensor *a,
                   const fm_tensor *b, fm_tensor *out);
/* out = a + alpha * b (axpy, same shape, broadcasting b), used by optimisers. */
fm_status fm_axpy(double alpha, const fm_tensor *b, fm_tensor *out);

/* dst[...] = src[...]: src broadcast to dst's shape, any strides and dtypes
 * (converting; float -> int64 truncates toward zero, NaN is an error; float
 * -> uint8 rounds to nearest, ties to even, and clamps to [0, 255], NaN is
 * an error; int64 -> uint8 clamps). fm_fill into uint8 (and arange,
 * linspace) needs whole numbers in [0, 255]. */
fm_status fm_copy(fm_tensor *dst, const fm_tensor *src);
fm_status fm_fill(fm_tensor *dst, double value);
/* arange: out[i] = start + i * step; linspace: n points from a to b inclusive. */
fm_status fm_arange(fm_tensor *out, double start, double step);
fm_status fm_linspace(fm_tensor *out, double a, double b);
/* out (n, n) = identity. */
fm_status fm_eye(fm_tensor *out);

/* ---- reductions -------------------------------------------------------- */

typedef enum {
    FM_SUM, FM_MEAN, FM_MAX, FM_MIN, FM_PROD,
    FM_VAR,   /* param = correction (1 = unbiased, 0 = population) */
    FM_NORM,  /* param = p (2 = Euclidean); p = inf for max |x| */
    FM_LOGSUMEXP,
    FM_REDUCEOP_COUNT
} fm_reduceop;

const char *fm_reduceop_name(fm_reduceop op);

/* Output shape of reducing dim (dim = -1: all, giving a 0-d tensor). With
 * keepdim the reduced dim stays with size 1. */
fm_status fm_reduce_shape(const fm_tensor *a, int dim, bool keepdim,
                          int *ndim, int64_t *shape);
/* Reduce over dim (-1 = all). out has the shape fm_reduce_shape gives (with
 * or without keepdim: only the element count and order matter) and a's dtype.
 * Sums accumulate in double. Reducing an empty dim: sum 0, prod 1, mean and
 * var NaN, max/min FM_EVALUE. */
fm_status fm_reduce(fm_reduceop op, const fm_tensor *a, int dim, double param,
                    fm_tensor *out);
/* Index (base-based) of the max (is_max) or min along dim (-1: flat index).
 * out is FM_INT64. First occurrence wins; NaN counts as larger than all. */
fm_status fm_argreduce(bool is_max, const fm_tensor *a, int dim, int64_t base,
                       fm_tensor *out);
/* out = sum of a over the dims in which out is broadcast: out's shape must
 * broadcast to a's shape (the adjoint of broadcasting; used by autograd). */
fm_status fm_sum_to(const fm_tensor *a, fm_tensor *out);
/* Softmax / log-softmax along dim (stable). */
fm_status fm_softmax(const fm_tensor *a, int dim, bool log, fm_tensor *out);

/* ---- linear algebra ---------------------------------------------------- */

/* out = alpha * op(a) op(b) + beta * out, op(x) = x or x^T (ta/tb).
 * a, b, out 2-D, same float dtype. Strided views with a unit stride in either
 * dim go to cblas directly (no copy); other layouts are copied first. */
fm_status fm_gemm(const fm_tensor *a, const fm_tensor *b, bool ta, bool tb,
                  double alpha, double beta, fm_tensor *out);
/* Batched: a (B, n, k), b (B, k, m) -> out (B, n, m). */
fm_status fm_bmm(const fm_tensor *a, const fm_tensor *b, fm_tensor *out);
/* out (n, m) = ||a_i - b_j||^2 for a (n, d), b (m, d); exact zero diagonal
 * when a and b are the same tensor; never negative. */
fm_status fm_cdist2(const fm_tensor *a, const fm_tensor *b, fm_tensor *out);

/* ---- indexing ---------------------------------------------------------- */

/* out = a with dim restricted to idx (1-D int64): out.shape[dim] = numel(idx). */
fm_status fm_index_select(const fm_tensor *a, int dim, const fm_tensor *idx,
                          int64_t base, fm_tensor *out);
/* dst[..., idx[i], ...] += src[..., i, ...] along dim (adjoint of index_select). */
fm_status fm_index_add(fm_tensor *dst, int dim, const fm_tensor *idx,
                       int64_t base, const fm_tensor *src);
/* out[i][j][k] = a[i][idx[i][j][k]][k] (dim = 1), as torch.gather; idx has
 * a's ndim and out has idx's shape; idx.shape[d] <= a.shape[d] for d != dim. */
fm_status fm_gather(const fm_tensor *a, int dim, const fm_tensor *idx,
                    int64_t base, fm_tensor *out);
/* dst[i][idx[i][j][k]][k] += src[i][j][k] (dim = 1), as torch.scatter_add_. */
fm_status fm_scatter_add(fm_tensor *dst, int dim, const fm_tensor *idx,
                         int64_t base, const fm_tensor *src);
/* Concatenate n tensors along dim (all other sizes equal, one dtype). */
fm_status fm_cat_shape(const fm_tensor *const *parts, int n, int dim,
                       int *ndim, int64_t *shape);
fm_status fm_cat(const fm_tensor *const *parts, int n, int dim, fm_tensor *out);

/* ---- checks ------------------------------------------------------------ */

/* True if |a - b| <= atol + rtol |b| everywhere (broadcasting); NaN != NaN. */
fm_status fm_allclose(const fm_tensor *a, const fm_tensor *b, double rtol,
                      double atol, bool *result);

#endif
