/* ops_index.c — index_select / index_add, gather / scatter_add, cat and
 * allclose. Every index is checked before anything is written; errors name
 * the bad index as the caller wrote it (base-based) and the dimension. */
#include "ops/ops.h"
#include "ops/internal.h"
#include "core/view.h"

#include <math.h>
#include <string.h>

static fm_status check_index_tensor(const char *op, const fm_tensor *idx, int ndim)
{
    if (idx->dtype != FM_INT64)
        return fm_error(FM_ETYPE, "%s: indices must be int64, got %s", op,
                        fm_dtype_name(idx->dtype));
    if (ndim >= 0 && idx->ndim != ndim) {
        char s[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: indices must be %d-d, got shape %s", op, ndim,
                        fm_shape_str(idx, s, sizeof s));
    }
    return FM_OK;
}

static fm_status check_dim(const char *op, const fm_tensor *a, int dim, int64_t base)
{
    if (dim < 0 || dim >= a->ndim)
        return fm_error(FM_EINDEX, "%s: dimension %lld out of range for a %d-d tensor", op,
                        (long long)(dim + base), a->ndim);
    return FM_OK;
}

static fm_status bad_index(const char *op, int64_t v, int dim, int64_t base, int64_t size)
{
    return fm_error(FM_EINDEX, "%s: index %lld out of range for dimension %lld of size %lld",
                    op, (long long)v, (long long)(dim + base), (long long)size);
}

/* Checks every element of idx lies in [base, base + size). */
static fm_status check_range(const char *op, const fm_tensor *idx, int dim,
                             int64_t base, int64_t size)
{
    int64_t strides[1][FM_MAX_DIMS];
    memcpy(strides[0], idx->stride, sizeof strides[0]);
    fmi_iter it;
    fmi_init(&it, 1, idx->ndim, idx->shape, strides);
    if (it.numel == 0)
        return FM_OK;
    int64_t n = fmi_inner(&it), s = fmi_istride(&it, 0);
    do {
        const int64_t *p = (const int64_t *)idx->data + it.off[0];
        for (int64_t i = 0; i < n; i++) {
            int64_t v = p[i * s];
            if (v < base || v - base >= size)
                return bad_index(op, v, dim, base, size);
        }
    } while (fmi_next(&it));
    return FM_OK;
}

/* out (or src) must be a with shape[dim] replaced by k. */
static fm_status check_selected_shape(const char *op, const fm_tensor *a, int dim,
                                      int64_t k, const fm_tensor *o)
{
    bool ok = o->ndim == a->ndim;
    for (int i = 0; ok && i < a->ndim; i++)
        ok = o->shape[i] == (i == dim ? k : a->shape[i]);
    if (ok)
        return FM_OK;
    char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX];
    return fm_error(FM_ESHAPE, "%s: shape %s does not match %s with %lld indices along dimension %d",
                    op, fm_shape_str(o, s1, sizeof s1), fm_shape_str(a, s2, sizeof s2),
                    (long long)k, dim + 1);
}

fm_status fm_index_select(const fm_tensor *a, int dim, const fm_tensor *idx,
                          int64_t base, fm_tensor *out)
{
    const char *op = "index_select";
    fm_status st = check_index_tensor(op, idx, 1);
    if (!st)
        st = check_dim(op, a, dim, base);
    if (!st && a->dtype != out->dtype)
        st = fm_error(FM_ETYPE, "%s: output dtype %s differs from input dtype %s", op,
                      fm_dtype_name(out->dtype), fm_dtype_name(a->dtype));
    int64_t k = idx->ndim == 1 ? idx->shape[0] : 0;
    if (!st)
        st = check_selected_shape(op, a, dim, k, out);
    if (!st)
        st = check_range(op, idx, dim, base, a->shape[dim]);
    if (st)
        return st;
    const int64_t *ix = idx->data;
    int64_t sx = idx->stride[0];
    if (dim == 0 && fm_tensor_is_contiguous(a) && fm_tensor_is_contiguous(out)) {
        /* rows are contiguous blocks */
        size_t row = fm_tensor_nbytes(a) / (size_t)(a->shape[0] ? a->shape[0] : 1);
        for (int64_t i = 0; i < k; i++)
            memcpy((char *)out->data + (size_t)i * row,
                   (const char *)a->data + (size_t)(ix[i * sx] - base) * row, row);
        return FM_OK;
    }
    for (int64_t i = 0; i < k; i++) {
        fm_tensor av, ov;
        fm_view_select(a, dim, ix[i * sx] - base, &av);
        fm_view_select(out, dim, i, &ov);
        if ((st = fm_copy(&ov, &av)))
            return st;
    }
    return FM_OK;
}

fm_status fm_index_add(fm_tensor *dst, int dim, const fm_tensor *idx,
                       int64_t base, const fm_tensor *src)
{
    const char *op = "index_add";
    fm_status st = check_index_tensor(op, idx, 1);
    if (!st)
        st = check_dim(op, dst, dim, base);
    if (!st && dst->dtype != src->dtype)
        st = fm_error(FM_ETYPE, "%s: source dtype %s differs from destination dtype %s", op,
                      fm_dtype_name(src->dtype), fm_dtype_name(dst->dtype));
    if (!st && dst->dtype == FM_UINT8)
        st = fm_error(FM_ETYPE, "%s: not defined for uint8", op);
    int64_t k = idx->ndim == 1 ? idx->shape[0] : 0;
    if (!st)
        st = check_selected_shape(op, dst, dim, k, src);
    if (!st)
        st = check_range(op, idx, dim, base, dst->shape[dim]);
    if (st)
        return st;
    const int64_t *ix = idx->data;
    if (dim == 0 && fm_dtype_is_float(dst->dtype) && fm_tensor_is_contiguous(dst)
        && fm_tensor_is_contiguous(src)) {
        /* rows are contiguous blocks: add them directly */
        int64_t row = dst->shape[0] ? fm_tensor_numel(dst) / dst->shape[0] : 0;
        for (int64_t i = 0; i < k; i++) {
            int64_t r = ix[i * idx->stride[0]] - base;
            if (dst->dtype == FM_FLOAT32) {
                float *restrict d = (float *)dst->data + r * row;
                const float *restrict s = (const float *)src->data + i * row;
                for (int64_t j = 0; j < row; j++)
                    d[j] += s[j];
            } else {
                double *restrict d = (double *)dst->data + r * row;
                const double *restrict s = (const double *)src->data + i * row;
                for (int64_t j = 0; j < row; j++)
                    d[j] += s[j];
            }
        }
        return FM_OK;
    }
    for (int64_t i = 0; i < k; i++) {
        fm_tensor dv, sv;
        fm_view_select(dst, dim, ix[i * idx->stride[0]] - base, &dv);
        fm_view_select(src, dim, i, &sv);
        if ((st = fm_binary(FM_ADD, &dv, &sv, &dv)))
            return st;
    }
    return FM_OK;
}

/* Shapes for gather / scatter_add: idx.shape[d] <= other.shape[d] (d != dim
 * unless all_dims). */
static fm_status check_gather_shape(const char *op, const fm_tensor *idx,
                                    const fm_tensor *other, int dim, bool all_dims)
{
    bool ok = idx->ndim == other->ndim;
    for (int d = 0; ok && d < idx->ndim; d++)
        if (all_dims || d != dim)
            ok = idx->shape[d] <= other->shape[d];
    if (ok)
        return FM_OK;
    char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX];
    return fm_error(FM_ESHAPE, "%s: index shape %s does not fit tensor shape %s (dimension %d)",
                    op, fm_shape_str(idx, s1, sizeof s1), fm_shape_str(other, s2, sizeof s2),
                    dim + 1);
}

/* Iterates idx's shape over x (dim stride 0: the index supplies it), idx
 * and y: gather copies x -> y, scatter adds y into x. */
static void gather_scatter(const fm_tensor *x, int dim, const fm_tensor *idx,
                           int64_t base, const fm_tensor *y, bool scatter)
{
    int64_t strides[3][FM_MAX_DIMS];
    memcpy(strides[0], x->stride, sizeof strides[0]);
    strides[0][dim] = 0;
    memcpy(strides[1], idx->stride, sizeof strides[1]);
    memcpy(strides[2], y->stride, sizeof strides[2]);
    fmi_iter it;
    fmi_init(&it, 3, idx->ndim, idx->shape, strides);
    if (it.numel == 0)
        return;
    int64_t n = fmi_inner(&it);
    int64_t sx = fmi_istride(&it, 0), si = fmi_istride(&it, 1), sy = fmi_istride(&it, 2);
    int64_t sd = x->stride[dim];
    do {
        const int64_t *pi = (const int64_t *)idx->data + it.off[1];
        for (int64_t j = 0; j < n; j++) {
            int64_t xo = it.off[0] + j * sx + (pi[j * si] - base) * sd;
            int64_t yo = it.off[2] + j * sy;
            if (!scatter) { /* y = out, x = a */
                memcpy(fmi_ptr(y, yo), fmi_ptr(x, xo), fm_dtype_size(x->dtype));
            } else {        /* x = dst, y = src */
                switch (x->dtype) {
                case FM_FLOAT32: ((float *)x->data)[xo] += ((const float *)y->data)[yo]; break;
                case FM_FLOAT64: ((double *)x->data)[xo] += ((const double *)y->data)[yo]; break;
                case FM_INT64:
                    ((int64_t *)x->data)[xo] = (int64_t)((uint64_t)((int64_t *)x->data)[xo]
                                                         + (uint64_t)((const int64_t *)y->data)[yo]);
                    break;
                case FM_UINT8: /* refused by fm_scatter_add */
                    break;
                }
            }
        }
    } while (fmi_next(&it));
}

fm_status fm_gather(const fm_tensor *a, int dim, const fm_tensor *idx,
                    int64_t base, fm_tensor *out)
{
    const char *op = "gather";
    fm_status st = check_index_tensor(op, idx, -1);
    if (!st)
        st = check_dim(op, a, dim, base);
    if (!st && a->dtype != out->dtype)
        st = fm_error(FM_ETYPE, "%s: output dtype %s differs from input dtype %s", op,
                      fm_dtype_name(out->dtype), fm_dtype_name(a->dtype));
    if (!st)
        st = check_gather_shape(op, idx, a, dim, false);
    if (!st && !fm_tensor_same_shape(idx, out)) {
        char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX];
        st = fm_error(FM_ESHAPE, "%s: output shape %s differs from index shape %s", op,
                      fm_shape_str(out, s1, sizeof s1), fm_shape_str(idx, s2, sizeof s2));
    }
    if (!st)
        st = check_range(op, idx, dim, base, a->shape[dim]);
    if (st)
        return st;
    gather_scatter(a, dim, idx, base, out, false);
    return FM_OK;
}

fm_status fm_scatter_add(fm_tensor *dst, int dim, const fm_tensor *idx,
                         int64_t base, const fm_tensor *src)
{
    const char *op = "scatter_add";
    fm_status st = check_index_tensor(op, idx, -1);
    if (!st)
        st = check_dim(op, dst, dim, base);
    if (!st && dst->dtype != src->dtype)
        st = fm_error(FM_ETYPE, "%s: source dtype %s differs from destination dtype %s", op,
                      fm_dtype_name(src->dtype), fm_dtype_name(dst->dtype));
    if (!st && dst->dtype == FM_UINT8)
        st = fm_error(FM_ETYPE, "%s: not defined for uint8", op);
    if (!st)
        st = check_gather_shape(op, idx, dst, dim, false);
    if (!st)
        st = check_gather_shape(op, idx, src, dim, true);
    if (!st)
        st = check_range(op, idx, dim, base, dst->shape[dim]);
    if (st)
        return st;
    gather_scatter(dst, dim, idx, base, src, true);
    return FM_OK;
}

/* ---- cat ---------------------------------------------------------------- */

fm_status fm_cat_shape(const fm_tensor *const *parts, int n, int dim,
                       int *ndim, int64_t *shape)
{
    if (n < 1)
        return fm_error(FM_EVALUE, "cat: needs at least one tensor");
    const fm_tensor *p0 = parts[0];
    if (dim < 0 || dim >= p0->ndim)
        return fm_error(FM_EINDEX, "cat: dimension %d out of range for a %d-d tensor",
                        dim + 1, p0->ndim);
    memcpy(shape, p0->shape, sizeof(int64_t) * (size_t)p0->ndim);
    shape[dim] = 0;
    for (int i = 0; i < n; i++) {
        const fm_tensor *p = parts[i];
        bool ok = p->ndim == p0->ndim;
        for (int d = 0; ok && d < p0->ndim; d++)
            ok = d == dim || p->shape[d] == p0->shape[d];
        if (!ok) {
            char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX];
            return fm_error(FM_ESHAPE, "cat: shape %s of tensor %d does not match %s outside dimension %d",
                            fm_shape_str(p, s1, sizeof s1), i + 1,
                            fm_shape_str(p0, s2, sizeof s2), dim + 1);
        }
        if (p->dtype != p0->dtype)
            return fm_error(FM_ETYPE, "cat: dtype %s of tensor %d differs from %s", 
                            fm_dtype_name(p->dtype), i + 1, fm_dtype_name(p0->dtype));
        shape[dim] += p->shape[dim];
    }
    *ndim = p0->ndim;
    return FM_OK;
}

fm_status fm_cat(const fm_tensor *const *parts, int n, int dim, fm_tensor *out)
{
    int nd;
    int64_t shape[FM_MAX_DIMS];
    fm_status st = fm_cat_shape(parts, n, dim, &nd, shape);
    if (st)
        return st;
    if (out->dtype != parts[0]->dtype)
        return fm_error(FM_ETYPE, "cat: output dtype %s differs from %s",
                        fm_dtype_name(out->dtype), fm_dtype_name(parts[0]->dtype));
    bool ok = out->ndim == nd;
    for (int d = 0; ok && d < nd; d++)
        ok = out->shape[d] == shape[d];
    if (!ok) {
        char s[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "cat: output shape %s does not fit the parts",
                        fm_shape_str(out, s, sizeof s));
    }
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        fm_tensor ov;
        fm_view_narrow(out, dim, at, parts[i]->shape[dim], &ov);
        if ((st = fm_copy(&ov, parts[i])))
            return st;
        at += parts[i]->shape[dim];
    }
    return FM_OK;
}

/* ---- allclose ----------------------------------------------------------- */

static inline double load_d(const void *p, fm_dtype dt, int64_t i)
{
    switch (dt) {
    case FM_FLOAT32: return ((const float *)p)[i];
    case FM_FLOAT64: return ((const double *)p)[i];
    case FM_INT64: return (double)((const int64_t *)p)[i];
    case FM_UINT8: return ((const uint8_t *)p)[i];
    }
    return NAN;
}

fm_status fm_allclose(const fm_tensor *a, const fm_tensor *b, double rtol,
                      double atol, bool *result)
{
    int nd;
    int64_t shape[FM_MAX_DIMS];
    fm_status st = fm_broadcast_shape(a, b, &nd, shape);
    if (st) {
        char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX];
        return fm_error(st, "allclose: shapes %s and %s do not broadcast",
                        fm_shape_str(a, s1, sizeof s1), fm_shape_str(b, s2, sizeof s2));
    }
    int64_t strides[2][FM_MAX_DIMS];
    fmi_bstride(a, nd, strides[0]);
    fmi_bstride(b, nd, strides[1]);
    fmi_iter it;
    fmi_init(&it, 2, nd, shape, strides);
    *result = true;
    if (it.numel == 0)
        return FM_OK;
    int64_t n = fmi_inner(&it), sa = fmi_istride(&it, 0), sb = fmi_istride(&it, 1);
    do {
        const void *pa = fmi_ptr(a, it.off[0]), *pb = fmi_ptr(b, it.off[1]);
        for (int64_t i = 0; i < n; i++) {
            double x = load_d(pa, a->dtype, i * sa), y = load_d(pb, b->dtype, i * sb);
            /* equal infinities are close; NaN is never close */
            if (!(x == y || fabs(x - y) <= atol + rtol * fabs(y))) {
                *result = false;
                return FM_OK;
            }
        }
    } while (fmi_next(&it));
    return FM_OK;
}
