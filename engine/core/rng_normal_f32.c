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
 * Cephes logf (ops_vmath.h); cos and sin come from 4 u2 = q + f, |f| <= 1/2 (exact), the
 * Cephes minimax sinf/cosf of theta = f pi/2 in [-pi/4, pi/4], and a turn by
 * q quarter turns. 512 normals: 14 -> 3 us on the 2-core VM.
 */
#include "ops/vmath.h"
#include "core/rng_internal.h"
#include "core/clones_internal.h"

#include <math.h>

enum { LANES = FM_PHILOX_LANES };

/* ln(1 - b 2^-32) for a 32-bit word b: near 1 from -u itself (log1p: no
 * rounding of 1 - u to 24 bits, which would make small radii coarse), else
 * from 1 - u = (2^32 - b) 2^-32, which is never 0. */
static inline float log_one_minus(uint32_t b)
{
    float u = (float)b * 0x1p-32f;
    float near_one = fmv_log_core(-u, 0.0f);
    float general = fmv_log(((float)~b + 1.0f) * 0x1p-32f);
    return u <= 0.29289321881345248f ? near_one : general;
}

/* n <= LANES pairs from the words of n blocks into out (2 n floats, or
 * 2 n - 1 when `odd`: the last block's second normal is dropped). */
FM_TARGET_CLONES
static void box_muller(const uint32_t w[4][LANES], int n, bool odd,
                       float mean, float std, float *out)
{
    float z0[LANES], z1[LANES];
    for (int l = 0; l < LANES; l++) {
        float v = (float)w[2][l] * 0x1p-30f;             /* 4 u2 in [0, 4] */
        float q = nearbyintf(v);
        float th = (v - q) * 1.57079632679489662f;       /* [-pi/4, pi/4] */
        float s = fmv_sin_poly(th), c = fmv_cos_poly(th);
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
