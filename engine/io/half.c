/* half.c — float16 and bfloat16 <-> float32, on bit patterns (half.h).
 *
 * float32: sign, 8 exponent bits (bias 127), 23 mantissa bits.
 * float16: sign, 5 exponent bits (bias 15), 10 mantissa bits; exponent 0
 * holds the subnormals m * 2^-24, exponent 31 infinity and NaN.
 * bfloat16: the top 16 bits of a float32 (8 exponent bits, 7 mantissa).
 */
#include "io/half.h"

#include <string.h>

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float fm_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) /* infinity, or NaN with its payload in the top bits */
        return from_bits(sign | 0x7f800000u | man << 13);
    if (exp != 0) /* normal: rebias 15 -> 127 */
        return from_bits(sign | (exp + 112) << 23 | man << 13);
    if (man == 0)
        return from_bits(sign);
    /* subnormal m * 2^-24: shift the leading 1 up to the implicit bit;
     * m = 0x200 (2^-15) takes one shift and gets exponent field 112 */
    uint32_t e = 113;
    while (!(man & 0x400u)) {
        man <<= 1;
        e--;
    }
    return from_bits(sign | e << 23 | (man & 0x3ffu) << 13);
}

float fm_bf16_to_f32(uint16_t b)
{
    return from_bits((uint32_t)b << 16);
}

/* q = m >> shift rounded to nearest, ties to the even q. */
static uint32_t shift_rne(uint32_t m, int shift)
{
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    return q + (rem > half || (rem == half && (q & 1)));
}

/* Magnitudes of 65520 (65504 + half its ulp) and more round to infinity.
 * A NaN keeps its sign and the top 10 bits of its payload; one whose payload
 * is only in the low bits becomes 0x7c01, so it stays a NaN (both as
 * numpy's float32 -> float16 cast). */
uint16_t fm_f32_to_f16(float f)
{
    uint32_t x = to_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = (x >> 23) & 0xffu, man = x & 0x7fffffu;
    if (exp == 0xff) {
        uint32_t h = 0x7c00u | man >> 13;
        return (uint16_t)(sign | (man && h == 0x7c00u ? 0x7c01u : h));
    }
    int e = (int)exp - 112; /* the float16 exponent field, if it were normal */
    if (e >= 31)
        return sign | 0x7c00u;
    if (e <= 0) {
        /* |x| = M * 2^(exp - 150) = (M >> (126 - exp)) units of 2^-24; below
         * 2^-25 (e < -10) even a tie rounds to 0. q = 0x400 (rounded up from
         * the largest subnormal) is the smallest normal, as its bits say. */
        if (e < -10)
            return sign;
        return (uint16_t)(sign | shift_rne(man | 0x800000u, 14 - e));
    }
    /* normal: a carry out of the mantissa bumps the exponent, up to 0x7c00 */
    return (uint16_t)(sign | shift_rne((uint32_t)e << 23 | man, 13));
}

/* A NaN keeps its sign and top payload bits and gets the quiet bit (so
 * that truncating the payload never leaves an infinity); finite values
 * round to nearest even, overflowing to infinity. */
uint16_t fm_f32_to_bf16(float f)
{
    uint32_t x = to_bits(f);
    if ((x & 0x7f800000u) == 0x7f800000u && (x & 0x7fffffu))
        return (uint16_t)(x >> 16 | 0x0040u);
    return (uint16_t)shift_rne(x, 16);
}
