/* ops_vmath.h — float32 exp, log, tanh, sin, cos written with selects and
 * integer bit tricks only (no calls, no branches) so that gcc -O3 vectorises
 * loops over them; glibc's scalar expf & co. do not vectorise.
 *
 * The polynomials are Cephes' (S. Moshier, public domain): range reduction to
 * |r| <= ln2/2 (exp), mantissa in [sqrt(1/2), sqrt(2)) (log), quadrant of
 * pi/4 with three-part Cody-Waite pi/4 (sin, cos). Max error about 1-2 ulp
 * against correctly rounded results (checked in tests/engine/test_ops.c).
 * sin/cos are accurate for |x| <= 8192 only: callers fall back to libm for
 * blocks holding larger or non-finite inputs (fm_vtrig_ok). */
#ifndef FM_OPS_VMATH_H
#define FM_OPS_VMATH_H

#include <stdint.h>
#include <string.h>
#include <math.h>

static inline float fmv_bits2f(int32_t i) { float f; memcpy(&f, &i, 4); return f; }
static inline int32_t fmv_f2bits(float f) { int32_t i; memcpy(&i, &f, 4); return i; }

static inline float fmv_exp(float x)
{
    /* clamp so the integer conversion is defined; beyond it exp over/underflows */
    float xc = x > -104.0f ? x : -104.0f;
    xc = xc < 89.0f ? xc : 89.0f;
    const float shifter = 12582912.0f; /* 1.5 * 2^23: round to nearest */
    float kf = (xc * 1.44269504088896341f + shifter) - shifter;
    int32_t k = (int32_t)kf;
    float r = (xc - kf * 0.693359375f) - kf * -2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    float y = p * (r * r) + r + 1.0f;
    /* 2^k as two factors so k in [-150, 129] stays within normal floats */
    int32_t k1 = k / 2, k2 = k - k1;
    y = y * fmv_bits2f((k1 + 127) << 23) * fmv_bits2f((k2 + 127) << 23);
    return x == x ? y : x;
}

/* ln(1 + m) + e ln 2 for m in [sqrt(1/2) - 1, sqrt(2) - 1) (Cephes logf's
 * polynomial, ln 2 in two parts); also log1p(m) for such m with e = 0. */
static inline float fmv_log_core(float m, float e)
{
    float z = m * m;
    float y = 7.0376836292E-2f;
    y = y * m - 1.1514610310E-1f;
    y = y * m + 1.1676998740E-1f;
    y = y * m - 1.2420140846E-1f;
    y = y * m + 1.4249322787E-1f;
    y = y * m - 1.6668057665E-1f;
    y = y * m + 2.0000714765E-1f;
    y = y * m - 2.4999993993E-1f;
    y = y * m + 3.3333331174E-1f;
    y = y * m * z;
    y += -2.12194440e-4f * e;
    y += -0.5f * z;
    return m + y + 0.693359375f * e;
}

static inline float fmv_log(float x)
{
    /* subnormals: scale by 2^23 first */
    int sub = x < 1.17549435e-38f;
    float xs = sub ? x * 8388608.0f : x;
    int32_t bits = fmv_f2bits(xs);
    float e = (float)(((bits >> 23) & 0xff) - 126 - (sub ? 23 : 0));
    float m = fmv_bits2f((bits & 0x007fffff) | 0x3f000000); /* [0.5, 1) */
    int lo = m < 0.707106781186547524f;
    e = lo ? e - 1.0f : e;
    m = lo ? m + m - 1.0f : m - 1.0f;
    float r = fmv_log_core(m, e);
    r = x == 0.0f ? -INFINITY : r;
    r = x < 0.0f ? NAN : r;
    r = x == INFINITY ? x : r;
    return x == x ? r : x;
}

static inline float fmv_tanh(float x)
{
    float ax = x < 0 ? -x : x;
    float z = x * x;
    float small = ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z
                     - 5.37397155531E-2f) * z + 1.33314422036E-1f) * z
                   - 3.33332819422E-1f) * z * x + x;
    float e = fmv_exp(2.0f * ax);
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0 ? -big : big;
    return ax < 0.625f ? small : big;
}

static inline float fmv_sigmoid(float x) { return 1.0f / (1.0f + fmv_exp(-x)); }

/* Cephes sinf / cosf polynomials for |z| <= pi/4. */
static inline float fmv_sin_poly(float z)
{
    float zz = z * z;
    return ((-1.9515295891E-4f * zz + 8.3321608736E-3f) * zz
            - 1.6666654611E-1f) * zz * z + z;
}

static inline float fmv_cos_poly(float z)
{
    float zz = z * z;
    return ((2.443315711809948E-005f * zz - 1.388731625493765E-003f) * zz
            + 4.166664568298827E-002f) * zz * zz - 0.5f * zz + 1.0f;
}

/* sin (quadrant shift q = 0) or cos (q = 2) of ax = |x| <= 8192. */
static inline float fmv_trig_core(float ax, int32_t q)
{
    int32_t j = (int32_t)(ax * 1.27323954473516f); /* 4/pi */
    j = (j + 1) & ~1;
    float y = (float)j;
    float z = ((ax - y * 0.78515625f) - y * 2.4187564849853515625e-4f)
              - y * 3.77489497744594108e-8f;
    j = (j + q) & 7;
    float pc = fmv_cos_poly(z), ps = fmv_sin_poly(z);
    float r = (j & 2) ? pc : ps;
    return (j & 4) ? -r : r;
}

static inline float fmv_sin(float x)
{
    float ax = x < 0 ? -x : x;
    float r = fmv_trig_core(ax, 0);
    return x < 0 ? -r : r;
}

static inline float fmv_cos(float x)
{
    float ax = x < 0 ? -x : x;
    return fmv_trig_core(ax, 2);
}

/* True if every element of a[0..n) is finite with |a| <= 8192. */
static inline int fmv_trig_ok(const float *a, int64_t n)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad |= !(a[i] <= 8192.0f && a[i] >= -8192.0f);
    return !bad;
}

#endif
