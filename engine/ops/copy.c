/* ops_copy.c — copies between any layouts and dtypes (float -> int64
 * truncates toward zero, NaN or out-of-range values are errors; float ->
 * uint8 rounds to nearest and clamps to [0, 255], NaN is an error; int64 ->
 * uint8 clamps), fills, and the constructors arange, linspace and eye. */
#include "ops/ops.h"
#include "ops/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- copy and fill ------------------------------------------------------ */

#define DEF_CONV(NAME, TD, TS)                                                 \
    static bool NAME(int64_t n, void *pd, int64_t sd, const void *ps, int64_t ss) \
    {                                                                          \
        TD *d = pd;                                                            \
        const TS *s = ps;                                                      \
        if (sd == 1 && ss == 1) {                                              \
            TD *restrict D = d;                                                \
            const TS *restrict S = s;                                          \
            for (int64_t i = 0; i < n; i++)                                    \
                D[i] = (TD)S[i];                                               \
        } else {                                                               \
            for (int64_t i = 0; i < n; i++)                                    \
                d[i * sd] = (TD)s[i * ss];                                     \
        }                                                                      \
        return true;                                                           \
    }
DEF_CONV(conv_f32_f32, float, float)
DEF_CONV(conv_f32_f64, float, double)
DEF_CONV(conv_f32_i64, float, int64_t)
DEF_CONV(conv_f32_u8, float, uint8_t)
DEF_CONV(conv_f64_f32, double, float)
DEF_CONV(conv_f64_f64, double, double)
DEF_CONV(conv_f64_i64, double, int64_t)
DEF_CONV(conv_f64_u8, double, uint8_t)
DEF_CONV(conv_i64_i64, int64_t, int64_t)
DEF_CONV(conv_i64_u8, int64_t, uint8_t)
DEF_CONV(conv_u8_u8, uint8_t, uint8_t)

#define DEF_TOINT(NAME, TS)                                                    \
    static bool NAME(int64_t n, void *pd, int64_t sd, const void *ps, int64_t ss) \
    {                                                                          \
        int64_t *d = pd;                                                       \
        const TS *s = ps;                                                      \
        bool ok = true;                                                        \
        for (int64_t i = 0; i < n; i++) {                                      \
            int64_t r = 0;                                                     \
            ok &= fmi_to_i64(s[i * ss], &r);                                       \
            d[i * sd] = r;                                                     \
        }                                                                      \
        return ok;                                                             \
    }
DEF_TOINT(conv_i64_f32, float)
DEF_TOINT(conv_i64_f64, double)

/* float -> uint8: rounded and clamped (fmi_to_u8); false if a NaN was met */
#define DEF_TOBYTE(NAME, TS)                                                   \
    static bool NAME(int64_t n, void *pd, int64_t sd, const void *ps, int64_t ss) \
    {                                                                          \
        uint8_t *d = pd;                                                       \
        const TS *s = ps;                                                      \
        bool ok = true;                                                        \
        for (int64_t i = 0; i < n; i++) {                                      \
            uint8_t r = 0;                                                     \
            ok &= fmi_to_u8(s[i * ss], &r);                                    \
            d[i * sd] = r;                                                     \
        }                                                                      \
        return ok;                                                             \
    }
DEF_TOBYTE(conv_u8_f32, float)
DEF_TOBYTE(conv_u8_f64, double)

/* int64 -> uint8: clamped to [0, 255] */
static bool conv_u8_i64(int64_t n, void *pd, int64_t sd, const void *ps, int64_t ss)
{
    uint8_t *d = pd;
    const int64_t *s = ps;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = s[i * ss];
        d[i * sd] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    return true;
}

typedef bool (*conv_kernel)(int64_t n, void *d, int64_t sd, const void *s, int64_t ss);
/* conv_table[dst dtype][src dtype] */
static const conv_kernel conv_table[FM_DTYPE_COUNT][FM_DTYPE_COUNT] = {
    [FM_FLOAT32] = {[FM_FLOAT32] = conv_f32_f32, [FM_FLOAT64] = conv_f32_f64,
                    [FM_INT64] = conv_f32_i64, [FM_UINT8] = conv_f32_u8},
    [FM_FLOAT64] = {[FM_FLOAT32] = conv_f64_f32, [FM_FLOAT64] = conv_f64_f64,
                    [FM_INT64] = conv_f64_i64, [FM_UINT8] = conv_f64_u8},
    [FM_INT64] = {[FM_FLOAT32] = conv_i64_f32, [FM_FLOAT64] = conv_i64_f64,
                  [FM_INT64] = conv_i64_i64, [FM_UINT8] = conv_i64_u8},
    [FM_UINT8] = {[FM_FLOAT32] = conv_u8_f32, [FM_FLOAT64] = conv_u8_f64,
                  [FM_INT64] = conv_u8_i64, [FM_UINT8] = conv_u8_u8}};
_Static_assert(FM_DTYPE_COUNT == 4, "one conversion per pair of dtypes");

fm_status fm_copy(fm_tensor *dst, const fm_tensor *src)
{
    if ((unsigned)dst->dtype >= FM_DTYPE_COUNT || (unsigned)src->dtype >= FM_DTYPE_COUNT)
        return fm_error(FM_ETYPE, "copy: unknown dtype");
    fm_status st = fm_ops_check_bshape("copy", dst, src, dst);
    if (st)
        return st;
    int64_t strides[2][FM_MAX_DIMS];
    memcpy(strides[0], dst->stride, sizeof strides[0]);
    fmi_bstride(src, dst->ndim, strides[1]);
    fmi_iter it;
    fmi_init(&it, 2, dst->ndim, dst->shape, strides);
    if (it.numel == 0)
        return FM_OK;
    conv_kernel k = conv_table[dst->dtype][src->dtype];
    int64_t n = fmi_inner(&it), sd = fmi_istride(&it, 0), ss = fmi_istride(&it, 1);
    bool ok = true;
    do {
        void *pd = fmi_ptr(dst, it.off[0]);
        const void *ps = fmi_ptr(src, it.off[1]);
        if (dst->dtype == src->dtype && sd == 1 && ss == 1)
            memmove(pd, ps, (size_t)n * fm_dtype_size(dst->dtype));
        else
            ok &= k(n, pd, sd, ps, ss);
    } while (fmi_next(&it));
    if (!ok && dst->dtype == FM_UINT8)
        return fm_error(FM_EVALUE, "copy: NaN converting %s to uint8",
                        fm_dtype_name(src->dtype));
    if (!ok)
        return fm_error(FM_EVALUE, "copy: NaN, infinite or out-of-range value converting %s to int64",
                        fm_dtype_name(src->dtype));
    return FM_OK;
}

fm_status fm_fill(fm_tensor *dst, double value)
{
    fmi_scalar v;
    fm_tensor sc;
    if (!fmi_scalar_tensor(dst->dtype, value, false, &v, &sc))
        return fm_error(FM_EVALUE, "fill: %g is not representable as %s%s", value,
                        fm_dtype_name(dst->dtype),
                        dst->dtype == FM_UINT8 ? " (a whole number in [0, 255])" : "");
    return fm_copy(dst, &sc);
}

/* ---- constructors ------------------------------------------------------- */

static fm_status fill_1d(const char *op, fm_tensor *out, double start, double step,
                         int64_t n_last, double last)
{
    if (out->ndim != 1) {
        char s[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: output must be 1-d, got %s", op,
                        fm_shape_str(out, s, sizeof s));
    }
    int64_t n = out->shape[0], st = out->stride[0];
    for (int64_t i = 0; i < n; i++) {
        double v = i == n_last ? last : start + (double)i * step;
        switch (out->dtype) {
        case FM_FLOAT32: ((float *)out->data)[i * st] = (float)v; break;
        case FM_FLOAT64: ((double *)out->data)[i * st] = v; break;
        case FM_INT64:
            if (!fmi_to_i64(v, &((int64_t *)out->data)[i * st]))
                return fm_error(FM_EVALUE, "%s: value %g does not fit int64", op, v);
            break;
        case FM_UINT8:
            if (!fmi_exact_u8(v, &((uint8_t *)out->data)[i * st]))
                return fm_error(FM_EVALUE, "%s: value %g is not a whole number in [0, 255] "
                                "for uint8", op, v);
            break;
        }
    }
    return FM_OK;
}

fm_status fm_arange(fm_tensor *out, double start, double step)
{
    return fill_1d("arange", out, start, step, -1, 0);
}

fm_status fm_linspace(fm_tensor *out, double a, double b)
{
    int64_t n = out->ndim == 1 ? out->shape[0] : 0;
    double step = n > 1 ? (b - a) / (double)(n - 1) : 0;
    /* the last point is exactly b */
    return fill_1d("linspace", out, a, step, n > 1 ? n - 1 : -1, b);
}

fm_status fm_eye(fm_tensor *out)
{
    if (out->ndim != 2 || out->shape[0] != out->shape[1]) {
        char s[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "eye: output must be square (n, n), got %s",
                        fm_shape_str(out, s, sizeof s));
    }
    fm_status st = fm_fill(out, 0.0);
    if (st)
        return st;
    fm_tensor diag = *out;
    diag.ndim = 1;
    diag.stride[0] = out->stride[0] + out->stride[1];
    return fm_fill(&diag, 1.0);
}
