/* rng_normal_f32.c — standard normals for float32 tensors, 16 at a time.
 *
 * The Box-Muller transform of fm_rng_normal's double path (rng.c), on the
 * same Philox blocks (block i gives elements 2i and 2i+1), in float32
 * arithmetic and over 16 blocks at a time so that every loop vectorises:
 *   u1 = (2^32 - b0) 2^-32 in (0, 1]   (never 0: the tail ends at 6.66 sigma,
 *                                       beyond it lies a mass of 3e-11),
 *   u2 = b2 2^-32 in [0, 1),
 *   r = sqrt(-2 ln u1),  (z0, z1) = r (cos 2 pi u2, sin 2 pi u2).
 * The double path uses 53 bits of (b0, b1) and of (b2, b3), so the two agree
 * to float rounding except where u1 is tiny (test_rng checks both). ln is
 * Cephes logf; cos and sin come from 4 u2 = q + f, |f| <= 1/2 (exact), the
 * Cephes minimax sinf/cosf of theta = f pi/2 in [-pi/4, pi/4], and a turn by
 * q quarter turns. 512 normals: 14 -> 3 us on the 2-core VM.
 */
#include "rng_internal.h"

#include <math.h>
#include <string.h>

#define VEC_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

enum { LANES = FM_PHILOX_LANES };

static inline float bits_to_float(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static inline uint32_t float_to_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* Cephes logf's core: ln(1 + m) + e ln 2 for m in [sqrt(1/2) - 1,
 * sqrt(2) - 1), with ln 2 split in two parts. */
static inline float log_core(float m, float e)
{
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y += -2.12194440e-4f * e;
    y += -0.5f * z;
    return m + y + 0.693359375f * e;
}

/* ln x for normal floats x in (0, 1] (Cephes logf). */
static inline float log_f32(float x)
{
    uint32_t bits = float_to_bits(x);
    float e = (float)((int32_t)((bits >> 23) & 0xff) - 126);
    float m = bits_to_float((bits & 0x007fffffu) | 0x3f000000u); /* [0.5, 1) */
    bool low = m < 0.707106781186547524f;
    e = low ? e - 1.0f : e;
    m = low ? m + m - 1.0f : m - 1.0f;
    return log_core(m, e);
}

/* ln(1 - b 2^-32) for a 32-bit word b: near 1 from -u itself (log1p: no
 * rounding of 1 - u to 24 bits, which would make small radii coarse), else
 * from 1 - u = (2^32 - b) 2^-32, which is never 0. */
static inline float log_one_minus(uint32_t b)
{
    float u = (float)b * 0x1p-32f;
    float near_one = log_core(-u, 0.0f);
    float general = log_f32(((float)~b + 1.0f) * 0x1p-32f);
    return u <= 0.29289321881345248f ? near_one : general;
}

/* n <= LANES pairs from the words of n blocks into out (2 n floats, or
 * 2 n - 1 when `odd`: the last block's second normal is dropped). */
VEC_CLONES
static void box_muller(const uint32_t w[4][LANES], int n, bool odd,
                       float mean, float std, float *out)
{
    float z0[LANES], z1[LANES];
    for (int l = 0; l < LANES; l++) {
        float v = (float)w[2][l] * 0x1p-30f;             /* 4 u2 in [0, 4] */
        float q = nearbyintf(v);
        float th = (v - q) * 1.57079632679489662f;       /* [-pi/4, pi/4] */
        float t2 = th * th;
        float s = ((-1.9515295891e-4f * t2 + 8.3321608736e-3f) * t2 -
                   1.6666654611e-1f) * t2 * th + th;
        float c = ((2.443315711809948e-5f * t2 - 1.388731625493765e-3f) * t2 +
                   4.166664568298827e-2f) * t2 * t2 - 0.5f * t2 + 1.0f;
        int qi = (int)q & 3;
        float cc = (qi & 1) ? s : c, ss = (qi & 1) ? c : s;
        cc = (qi == 1 || qi == 2) ? -cc : cc;
        ss = qi >= 2 ? -ss : ss;
        float r = sqrtf(-2.0f * log_one_minus(w[0][l]));
        z0[l] = mean + std * (r * cc);
        z1[l] = mean + std * (r * ss);
    }
    for (int l = 0; l < n; l++) {
        out[2 * l] = z0[l];
        if (!odd || l + 1 < n)
            out[2 * l + 1] = z1[l];
    }
}

void fmi_rng_normal_f32(fm_rng *rng, float *out, int64_t n, float mean,
                        float std)
{
    uint64_t base = rng->counter;
    int64_t blocks = (n + 1) / 2;
    uint32_t w[4][LANES];
    for (int64_t b = 0; b < blocks; b += LANES) {
        int k = blocks - b < LANES ? (int)(blocks - b) : LANES;
        fmi_philox_lanes(rng->key, base + (uint64_t)b, w);
        box_muller(w, k, b + k == blocks && n % 2 == 1, mean, std, out + 2 * b);
    }
    rng->counter = base + (uint64_t)blocks;
}
