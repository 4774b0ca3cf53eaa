/* stored.c — file element types other than the tensor's dtype (stored.h).
 * Every loop copies one element into a local before writing its result,
 * which is what makes the in-place layouts of stored.h safe. */
#include "io/stored.h"

#include <string.h>

#include "io/half.h"

typedef struct {
    const char *name;
    size_t size;
    fm_dtype dtype; /* the tensor dtype it converts to and from */
} stored_info;

static const stored_info INFO[FM_STORED_COUNT] = {
    [FM_STORED_NATIVE] = {NULL, 0, FM_FLOAT32},
    [FM_STORED_I32] = {"int32", 4, FM_INT64},
    [FM_STORED_F16] = {"float16", 2, FM_FLOAT32},
    [FM_STORED_BF16] = {"bfloat16", 2, FM_FLOAT32},
    [FM_STORED_BOOL] = {"bool", 1, FM_UINT8},
};
_Static_assert(sizeof INFO / sizeof *INFO == FM_STORED_COUNT, "one row per stored type");

static bool valid(fm_stored s)
{
    return (unsigned)s < FM_STORED_COUNT;
}

size_t fm_stored_size(fm_stored s, fm_dtype dtype)
{
    return s == FM_STORED_NATIVE || !valid(s) ? fm_dtype_size(dtype) : INFO[s].size;
}

const char *fm_stored_name(fm_stored s, fm_dtype dtype)
{
    return s == FM_STORED_NATIVE || !valid(s) ? fm_dtype_name(dtype) : INFO[s].name;
}

bool fm_stored_fits(fm_stored s, fm_dtype dtype)
{
    return s == FM_STORED_NATIVE || (valid(s) && INFO[s].dtype == dtype);
}

/* One element, file -> tensor (widen) or tensor -> file; false when the
 * value has no image (a BOOL byte > 1, an int64 outside int32). */
static bool convert_one(fm_stored s, bool widen, const unsigned char *in,
                        unsigned char *out, size_t native_size)
{
    uint16_t h;
    float f;
    int32_t w;
    int64_t v;
    switch (s) {
    case FM_STORED_NATIVE:
        memmove(out, in, native_size);
        return true;
    case FM_STORED_I32:
        if (widen) {
            memcpy(&w, in, 4);
            v = w;
            memcpy(out, &v, 8);
            return true;
        }
        memcpy(&v, in, 8);
        if (v < INT32_MIN || v > INT32_MAX)
            return false;
        w = (int32_t)v;
        memcpy(out, &w, 4);
        return true;
    case FM_STORED_F16:
    case FM_STORED_BF16:
        if (widen) {
            memcpy(&h, in, 2);
            f = s == FM_STORED_F16 ? fm_f16_to_f32(h) : fm_bf16_to_f32(h);
            memcpy(out, &f, 4);
            return true;
        }
        memcpy(&f, in, 4);
        h = s == FM_STORED_F16 ? fm_f32_to_f16(f) : fm_f32_to_bf16(f);
        memcpy(out, &h, 2);
        return true;
    case FM_STORED_BOOL:
        if (*in > 1)
            return false;
        *out = *in;
        return true;
    }
    return false;
}

static int64_t convert(fm_stored s, fm_dtype dtype, bool widen, const void *src,
                       void *dst, int64_t n)
{
    if (!fm_stored_fits(s, dtype))
        return 0;
    const unsigned char *in = src;
    unsigned char *out = dst;
    size_t es = fm_stored_size(s, dtype), ed = fm_dtype_size(dtype);
    size_t step_in = widen ? es : ed, step_out = widen ? ed : es;
    for (int64_t i = 0; i < n; i++, in += step_in, out += step_out)
        if (!convert_one(s, widen, in, out, ed))
            return i;
    return -1;
}

int64_t fm_stored_widen(fm_stored s, fm_dtype dtype, const void *src, void *dst,
                        int64_t n)
{
    return convert(s, dtype, true, src, dst, n);
}

int64_t fm_stored_narrow(fm_stored s, fm_dtype dtype, const void *src, void *dst,
                         int64_t n)
{
    return convert(s, dtype, false, src, dst, n);
}
