/* tensor.c — the fm_tensor view descriptor: sizes, layout, element access. */
#include "core/fm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t fm_dtype_size(fm_dtype dtype)
{
    switch (dtype) {
    case FM_FLOAT32: return 4;
    case FM_FLOAT64: return 8;
    case FM_INT64: return 8;
    case FM_UINT8: return 1;
    }
    return 8;
}

const char *fm_dtype_name(fm_dtype dtype)
{
    switch (dtype) {
    case FM_FLOAT32: return "float32";
    case FM_FLOAT64: return "float64";
    case FM_INT64: return "int64";
    case FM_UINT8: return "uint8";
    }
    return "?";
}

bool fm_dtype_is_float(fm_dtype dtype)
{
    return dtype == FM_FLOAT32 || dtype == FM_FLOAT64;
}

int64_t fm_tensor_numel(const fm_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

size_t fm_tensor_nbytes(const fm_tensor *t)
{
    return (size_t)fm_tensor_numel(t) * fm_dtype_size(t->dtype);
}

bool fm_tensor_is_contiguous(const fm_tensor *t)
{
    int64_t expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != expect)
            return false;
        expect *= t->shape[i];
    }
    return true;
}

bool fm_tensor_same_shape(const fm_tensor *a, const fm_tensor *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    return true;
}

fm_status fm_shape_nbytes(fm_dtype dtype, int ndim, const int64_t *shape,
                          size_t *nbytes)
{
    if (ndim < 0 || ndim > FM_MAX_DIMS)
        return fm_error(FM_ESHAPE, "a tensor has 0 to %d dimensions, got %d",
                        FM_MAX_DIMS, ndim);
    if ((unsigned)dtype >= FM_DTYPE_COUNT)
        return fm_error(FM_ETYPE, "unknown dtype %d", (int)dtype);
    double total = (double)fm_dtype_size(dtype);
    size_t n = fm_dtype_size(dtype);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return fm_error(FM_ESHAPE, "size of dimension %d is negative (%lld)",
                            i + 1, (long long)shape[i]);
        total *= (double)shape[i];
        n *= (size_t)shape[i];
    }
    if (total > 6.0e10)
        return fm_error(FM_ENOMEM, "tensor of %.3g bytes is too large", total);
    /* a size 0 makes total 0, but the other sizes must still multiply
     * without overflow wherever numel or strides are computed */
    double nonzero = 1;
    for (int i = 0; i < ndim; i++)
        nonzero *= shape[i] > 0 ? (double)shape[i] : 1.0;
    if (nonzero > 0x1p62)
        return fm_error(FM_ESHAPE, "sizes of an empty tensor overflow 64 bits");
    *nbytes = n;
    return FM_OK;
}

fm_status fm_tensor_init(fm_tensor *t, void *data, fm_dtype dtype, int ndim,
                         const int64_t *shape)
{
    size_t nbytes;
    fm_status st = fm_shape_nbytes(dtype, ndim, shape, &nbytes);
    if (st)
        return st;
    memset(t, 0, sizeof *t);
    t->data = data;
    t->dtype = dtype;
    t->ndim = ndim;
    int64_t stride = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        t->shape[i] = shape[i];
        t->stride[i] = stride;
        stride *= shape[i];
    }
    return FM_OK;
}

char *fm_shape_str(const fm_tensor *t, char *buf, size_t size)
{
    size_t used = 0;
    used += (size_t)snprintf(buf + used, size - used, "(");
    for (int i = 0; i < t->ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld",
                                 (long long)t->shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, t->ndim == 1 ? ",)" : ")");
    return buf;
}

fm_status fm_tensor_alloc(fm_tensor *t, fm_dtype dtype, int ndim,
                          const int64_t *shape)
{
    size_t nbytes;
    fm_status st = fm_shape_nbytes(dtype, ndim, shape, &nbytes);
    if (st)
        return st;
    size_t rounded = (nbytes + 63) / 64 * 64;
    void *data = aligned_alloc(64, rounded ? rounded : 64);
    if (!data)
        return fm_error(FM_ENOMEM, "out of memory allocating %zu bytes", nbytes);
    return fm_tensor_init(t, data, dtype, ndim, shape);
}

void fm_tensor_free(fm_tensor *t)
{
    free(t->data);
    t->data = NULL;
}

/* Offset in elements of the element with flat row-major index i. */
static int64_t element_offset(const fm_tensor *t, int64_t i)
{
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        int64_t k = i % t->shape[d];
        i /= t->shape[d];
        off += k * t->stride[d];
    }
    return off;
}

double fm_tensor_get(const fm_tensor *t, int64_t i)
{
    int64_t off = element_offset(t, i);
    switch (t->dtype) {
    case FM_FLOAT32: return ((const float *)t->data)[off];
    case FM_FLOAT64: return ((const double *)t->data)[off];
    case FM_INT64: return (double)((const int64_t *)t->data)[off];
    case FM_UINT8: return ((const uint8_t *)t->data)[off];
    }
    return NAN;
}

/* v as a byte: rounded to nearest (ties to even), clamped, NaN -> 0. */
static uint8_t to_byte(double v)
{
    if (!(v > 0))
        return 0;
    return v >= 255 ? 255 : (uint8_t)nearbyint(v);
}

void fm_tensor_set(fm_tensor *t, int64_t i, double v)
{
    int64_t off = element_offset(t, i);
    switch (t->dtype) {
    case FM_FLOAT32: ((float *)t->data)[off] = (float)v; break;
    case FM_FLOAT64: ((double *)t->data)[off] = v; break;
    case FM_INT64: ((int64_t *)t->data)[off] = (int64_t)v; break;
    case FM_UINT8: ((uint8_t *)t->data)[off] = to_byte(v); break;
    }
}
