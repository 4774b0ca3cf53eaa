/* ops_internal.h — shared machinery of the ops_*.c files (not public API):
 * a strided N-d iterator over up to FMI_MAXOP operands that walks every
 * dimension but the innermost, which the caller's kernel loops over. */
#ifndef FM_OPS_INTERNAL_H
#define FM_OPS_INTERNAL_H

#include "core/fm.h"
#include "ops/ops.h"

#include <math.h>
#include <string.h>

#define FMI_MAXOP 4

typedef struct {
    int nop;
    int ndim;                          /* >= 1: the last dim is the inner loop */
    int64_t shape[FM_MAX_DIMS];
    int64_t stride[FMI_MAXOP][FM_MAX_DIMS];
    int64_t idx[FM_MAX_DIMS];
    int64_t off[FMI_MAXOP];            /* element offsets of the current row */
    int64_t numel;
} fmi_iter;

/* Strides of t as seen in a broadcast to (ndim, shape): aligned at the last
 * dim, zero where t has size 1 or lacks the dim. */
static inline void fmi_bstride(const fm_tensor *t, int ndim, int64_t *stride)
{
    int lead = ndim - t->ndim;
    for (int i = 0; i < ndim; i++) {
        int j = i - lead;
        stride[i] = (j < 0 || t->shape[j] == 1) ? 0 : t->stride[j];
    }
}

/* Sets up an iteration over shape (ndim dims) with per-operand strides;
 * drops size-1 dims, merges dims that are contiguous for every operand, and
 * moves a long dimension inside when the innermost one is tiny. */
static inline void fmi_init(fmi_iter *it, int nop, int ndim,
                            const int64_t *shape,
                            int64_t (*strides)[FM_MAX_DIMS])
{
    memset(it, 0, sizeof *it);
    it->nop = nop;
    it->numel = 1;
    int nd = 0;
    for (int i = 0; i < ndim; i++) {
        it->numel *= shape[i];
        if (shape[i] == 1)
            continue;
        if (nd > 0) {
            bool merge = true;
            for (int k = 0; k < nop; k++)
                if (it->stride[k][nd - 1] != strides[k][i] * shape[i])
                    merge = false;
            if (merge) {
                it->shape[nd - 1] *= shape[i];
                for (int k = 0; k < nop; k++)
                    it->stride[k][nd - 1] = strides[k][i];
                continue;
            }
        }
        it->shape[nd] = shape[i];
        for (int k = 0; k < nop; k++)
            it->stride[k][nd] = strides[k][i];
        nd++;
    }
    if (nd == 0) {
        it->shape[0] = 1;
        nd = 1;
    }
    /* (n, 2) + (2,): loop n times over 2 elements costs more than looping 2
     * times over n strided elements. */
    if (nd >= 2 && it->shape[nd - 1] < 8 && it->shape[nd - 2] > 4 * it->shape[nd - 1]) {
        int64_t t = it->shape[nd - 1];
        it->shape[nd - 1] = it->shape[nd - 2];
        it->shape[nd - 2] = t;
        for (int k = 0; k < nop; k++) {
            t = it->stride[k][nd - 1];
            it->stride[k][nd - 1] = it->stride[k][nd - 2];
            it->stride[k][nd - 2] = t;
        }
    }
    it->ndim = nd;
}

static inline int64_t fmi_inner(const fmi_iter *it) { return it->shape[it->ndim - 1]; }
static inline int64_t fmi_istride(const fmi_iter *it, int k)
{
    return it->stride[k][it->ndim - 1];
}

/* Advances to the next row; false when done. */
static inline bool fmi_next(fmi_iter *it)
{
    for (int d = it->ndim - 2; d >= 0; d--) {
        if (++it->idx[d] < it->shape[d]) {
            for (int k = 0; k < it->nop; k++)
                it->off[k] += it->stride[k][d];
            return true;
        }
        it->idx[d] = 0;
        for (int k = 0; k < it->nop; k++)
            it->off[k] -= it->stride[k][d] * (it->shape[d] - 1);
    }
    return false;
}

/* Element pointer helper. */
static inline void *fmi_ptr(const fm_tensor *t, int64_t off)
{
    return (char *)t->data + off * (int64_t)fm_dtype_size(t->dtype);
}

/* Hot kernels are compiled twice, for the x86-64 baseline (SSE2) and for
 * AVX2+FMA, and pick one per call from the CPU (NumPy does the same). Results
 * on an AVX2 machine may differ from SSE2-only machines in the last bit
 * (fused multiply-add), never between runs or thread counts. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(FM_NO_CLONES)
#define FM_TARGET_AVX2 __attribute__((target("avx2,fma")))
static inline bool fm_cpu_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#define FM_CLONE_DISPATCH(NAME, PARAMS, ARGS)                                  \
    FM_TARGET_AVX2 static void NAME##_avx2 PARAMS { NAME##_body ARGS; }        \
    static void NAME##_sse PARAMS { NAME##_body ARGS; }                        \
    static void NAME PARAMS                                                    \
    {                                                                          \
        if (fm_cpu_avx2())                                                     \
            NAME##_avx2 ARGS;                                                  \
        else                                                                   \
            NAME##_sse ARGS;                                                   \
    }
#else
#define FM_CLONE_DISPATCH(NAME, PARAMS, ARGS) \
    static void NAME PARAMS { NAME##_body ARGS; }

#endif

/* FM_ESHAPE naming op unless out has the broadcast shape of a and b. */
fm_status fm_ops_check_bshape(const char *op, const fm_tensor *a,
                            const fm_tensor *b, const fm_tensor *out);

/* float -> int64 conversion, truncating; false for NaN, inf, out of range. */
static inline bool fmi_to_i64(double v, int64_t *r)
{
    if (!(v > -9223372036854775808.0 && v < 9223372036854775808.0))
        return false;
    *r = (int64_t)v;
    return true;
}

/* float -> uint8 conversion of fm_copy: rounded to nearest (ties to even,
 * as x:round()), clamped to [0, 255]; false for NaN. */
static inline bool fmi_to_u8(double v, uint8_t *r)
{
    if (v != v)
        return false;
    *r = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)nearbyint(v);
    return true;
}

/* An exact byte: v whole and in [0, 255] (scalars written into uint8). */
static inline bool fmi_exact_u8(double v, uint8_t *r)
{
    if (!(v >= 0 && v <= 255 && v == floor(v)))
        return false;
    *r = (uint8_t)v;
    return true;
}

/* A scalar operand as a 0-d tensor of dtype dt over *storage (fills and
 * tensor-op-number). For int64, value is truncated toward zero, or must be
 * whole when `whole`; for uint8 it must be a whole number in [0, 255];
 * false when it is not representable (NaN, inf, out of range, or a fraction
 * with `whole`). */
typedef union { float f; double d; int64_t i; uint8_t u; } fmi_scalar;
static inline bool fmi_scalar_tensor(fm_dtype dt, double value, bool whole,
                                     fmi_scalar *storage, fm_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->data = storage;
    t->dtype = dt;
    switch (dt) {
    case FM_FLOAT32: storage->f = (float)value; return true;
    case FM_FLOAT64: storage->d = value; return true;
    case FM_INT64:
        return !(whole && value != floor(value)) && fmi_to_i64(value, &storage->i);
    case FM_UINT8:
        return fmi_exact_u8(value, &storage->u);
    }
    return false;
}

#endif
