/* view.c — narrow, select, transpose, permute, reshape, expand, squeeze. */
#include "core/view.h"

#include <string.h>

fm_status fm_dim_normalize(int ndim, int64_t dim, int *out, const char *what)
{
    int64_t d = dim < 0 ? dim + ndim : dim;
    if (d < 0 || d >= ndim)
        return fm_error(FM_EINDEX, "%s: dimension %lld out of range for a %d-d tensor",
                        what, (long long)dim, ndim);
    *out = (int)d;
    return FM_OK;
}

fm_status fm_view_narrow(const fm_tensor *t, int dim, int64_t start,
                         int64_t length, fm_tensor *out)
{
    if (dim < 0 || dim >= t->ndim)
        return fm_error(FM_EINDEX, "narrow: dimension %d out of range", dim + 1);
    if (start < 0 || length < 0 || start > t->shape[dim] ||
        length > t->shape[dim] - start) /* no overflow for huge lengths */
        return fm_error(FM_EINDEX,
                        "narrow: %lld elements from %lld out of range for size %lld",
                        (long long)length, (long long)start, (long long)t->shape[dim]);
    *out = *t;
    out->data = (char *)t->data + start * t->stride[dim] * (int64_t)fm_dtype_size(t->dtype);
    out->shape[dim] = length;
    return FM_OK;
}

fm_status fm_view_select(const fm_tensor *t, int dim, int64_t index,
                         fm_tensor *out)
{
    if (dim < 0 || dim >= t->ndim)
        return fm_error(FM_EINDEX, "select: dimension %d out of range", dim + 1);
    if (index < 0 || index >= t->shape[dim])
        return fm_error(FM_EINDEX, "select: index %lld out of range for size %lld",
                        (long long)index + 1, (long long)t->shape[dim]);
    fm_tensor r = *t;
    r.data = (char *)t->data + index * t->stride[dim] * (int64_t)fm_dtype_size(t->dtype);
    for (int i = dim; i < t->ndim - 1; i++) {
        r.shape[i] = t->shape[i + 1];
        r.stride[i] = t->stride[i + 1];
    }
    r.ndim = t->ndim - 1;
    *out = r;
    return FM_OK;
}

fm_status fm_view_transpose(const fm_tensor *t, int d0, int d1, fm_tensor *out)
{
    if (d0 < 0 || d0 >= t->ndim || d1 < 0 || d1 >= t->ndim)
        return fm_error(FM_EINDEX, "transpose: dimensions %d, %d out of range for a %d-d tensor",
                        d0 + 1, d1 + 1, t->ndim);
    fm_tensor r = *t;
    r.shape[d0] = t->shape[d1];
    r.shape[d1] = t->shape[d0];
    r.stride[d0] = t->stride[d1];
    r.stride[d1] = t->stride[d0];
    *out = r;
    return FM_OK;
}

fm_status fm_view_permute(const fm_tensor *t, const int *perm, fm_tensor *out)
{
    bool seen[FM_MAX_DIMS] = {false};
    fm_tensor r = *t;
    for (int i = 0; i < t->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= t->ndim || seen[perm[i]])
            return fm_error(FM_EINDEX, "permute: not a permutation of 1..%d", t->ndim);
        seen[perm[i]] = true;
        r.shape[i] = t->shape[perm[i]];
        r.stride[i] = t->stride[perm[i]];
    }
    *out = r;
    return FM_OK;
}

fm_status fm_shape_infer(int64_t numel, int ndim, int64_t *shape)
{
    int infer = -1;
    int64_t known = 1;
    bool zero = false; /* a 0 size: the product is 0 whatever the others */
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == -1) {
            if (infer >= 0)
                return fm_error(FM_ESHAPE, "reshape: only one size may be -1");
            infer = i;
        } else if (shape[i] < 0) {
            return fm_error(FM_ESHAPE, "reshape: negative size %lld", (long long)shape[i]);
        } else if (shape[i] == 0) {
            zero = true;
        } else if (known > INT64_MAX / shape[i]) {
            return fm_error(FM_ESHAPE, "reshape: the sizes overflow 64 bits");
        } else {
            known *= shape[i];
        }
    }
    if (zero) {
        if (infer >= 0)
            return fm_error(FM_ESHAPE, "reshape: cannot infer -1 next to a size 0");
        known = 0;
    }
    if (infer >= 0) {
        if (numel % known != 0)
            return fm_error(FM_ESHAPE, "reshape: cannot infer -1 for %lld elements",
                            (long long)numel);
        shape[infer] = numel / known;
        known = numel;
    }
    if (known != numel)
        return fm_error(FM_ESHAPE, "reshape: %lld elements do not fit the new shape (%lld)",
                        (long long)numel, (long long)known);
    return FM_OK;
}

/* Reshape of a strided tensor without copying (the algorithm of NumPy's
 * _attempt_nocopy_reshape): split the old dims into runs that are contiguous
 * among themselves and match them against the new dims. */
fm_status fm_view_reshape(const fm_tensor *t, int ndim, const int64_t *shape_in,
                          fm_tensor *out)
{
    if (ndim < 0 || ndim > FM_MAX_DIMS)
        return fm_error(FM_ESHAPE, "reshape: 0 to %d dimensions, got %d", FM_MAX_DIMS, ndim);
    int64_t shape[FM_MAX_DIMS];
    if (ndim > 0) /* memcpy from NULL is UB even for 0 bytes */
        memcpy(shape, shape_in, sizeof(int64_t) * (size_t)ndim);
    fm_status st = fm_shape_infer(fm_tensor_numel(t), ndim, shape);
    if (st)
        return st;
    fm_tensor r = *t;
    r.ndim = ndim;
    if (fm_tensor_is_contiguous(t) || fm_tensor_numel(t) == 0) {
        int64_t s = 1;
        for (int i = ndim - 1; i >= 0; i--) {
            r.shape[i] = shape[i];
            r.stride[i] = s;
            s *= shape[i];
        }
        *out = r;
        return FM_OK;
    }
    /* drop size-1 old dims */
    int64_t os[FM_MAX_DIMS], ost[FM_MAX_DIMS];
    int on = 0;
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] != 1) {
            os[on] = t->shape[i];
            ost[on++] = t->stride[i];
        }
    int oi = 0, oj = 1, ni = 0, nj = 1;
    while (ni < ndim && oi < on) {
        int64_t np = shape[ni], op = os[oi];
        while (np != op) {
            if (np < op) np *= shape[nj++];
            else op *= os[oj++];
        }
        for (int k = oi; k < oj - 1; k++)
            if (ost[k] != os[k + 1] * ost[k + 1])
                return fm_error(FM_ELAYOUT, "reshape: this view cannot be reshaped "
                                "without a copy (call :contiguous() first)");
        r.stride[nj - 1] = ost[oj - 1];
        for (int k = nj - 1; k > ni; k--)
            r.stride[k - 1] = r.stride[k] * shape[k];
        ni = nj++;
        oi = oj++;
    }
    for (int k = ni; k < ndim; k++) /* trailing size-1 dims */
        r.stride[k] = 1;
    for (int i = 0; i < ndim; i++)
        r.shape[i] = shape[i];
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 1)
            r.stride[i] = i + 1 < ndim ? r.stride[i + 1] * shape[i + 1] : 1;
    *out = r;
    return FM_OK;
}

fm_status fm_view_expand(const fm_tensor *t, int ndim, const int64_t *shape,
                         fm_tensor *out)
{
    if (ndim < t->ndim || ndim > FM_MAX_DIMS)
        return fm_error(FM_ESHAPE, "expand: cannot expand a %d-d tensor to %d dimensions",
                        t->ndim, ndim);
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] > 0 && numel > INT64_MAX / shape[i])
            return fm_error(FM_ESHAPE, "expand: the sizes overflow 64 bits");
        numel *= shape[i] > 0 ? shape[i] : 1;
    }
    fm_tensor r = *t;
    r.ndim = ndim;
    int off = ndim - t->ndim;
    for (int i = ndim - 1; i >= 0; i--) {
        int j = i - off;
        int64_t size = j >= 0 ? t->shape[j] : 1;
        int64_t stride = j >= 0 ? t->stride[j] : 0;
        if (size == shape[i]) {
            r.shape[i] = size;
            r.stride[i] = stride;
        } else if (size == 1 && shape[i] >= 0) {
            r.shape[i] = shape[i];
            r.stride[i] = 0;
        } else {
            return fm_error(FM_ESHAPE, "expand: size %lld of dimension %d cannot become %lld",
                            (long long)size, i + 1, (long long)shape[i]);
        }
    }
    *out = r;
    return FM_OK;
}

fm_status fm_view_unsqueeze(const fm_tensor *t, int dim, fm_tensor *out)
{
    if (dim < 0 || dim > t->ndim || t->ndim >= FM_MAX_DIMS)
        return fm_error(FM_EINDEX, "unsqueeze: dimension %d out of range", dim + 1);
    fm_tensor r = *t;
    r.ndim = t->ndim + 1;
    for (int i = t->ndim; i > dim; i--) {
        r.shape[i] = t->shape[i - 1];
        r.stride[i] = t->stride[i - 1];
    }
    r.shape[dim] = 1;
    r.stride[dim] = dim < t->ndim ? t->stride[dim] * t->shape[dim] : 1;
    *out = r;
    return FM_OK;
}

fm_status fm_view_squeeze(const fm_tensor *t, int dim, fm_tensor *out)
{
    if (dim < 0 || dim >= t->ndim)
        return fm_error(FM_EINDEX, "squeeze: dimension %d out of range", dim + 1);
    if (t->shape[dim] != 1) {
        *out = *t;
        return FM_OK;
    }
    return fm_view_select(t, dim, 0, out);
}
