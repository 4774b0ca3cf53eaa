/* test_half.c — float16 / bfloat16 <-> float32 (engine/io/half.c) against
 * references computed from the definitions in double: widening of all
 * 65536 patterns of each; narrowing of 3.7 M float32 patterns to float16
 * and 0.46 M to bfloat16 (every sign, exponent and kept mantissa, each with
 * the dropped bits 0, 1, just below / at / just above the tie, all ones and
 * a random value) against the nearest representable value, ties to even;
 * NaN rules; and the stored-type conversions of engine/io/stored.c (in
 * place, bool and int32 refusals). The NumPy / PyTorch peers are in
 * tests/lua/file_dtypes_spec.lua. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/fm.h"
#include "io/half.h"
#include "io/stored.h"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The value of a float16 pattern from IEEE 754's definition; 0x7c00 (inf)
 * is given the value 2^16 that an unbounded exponent would have, which is
 * how overflow rounds (65520, the midpoint above 65504, goes to it). */
static double f16_value(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    return h & 0x8000 ? -v : v;
}

/* bfloat16: 8 exponent bits (bias 127), 7 mantissa bits; 0x7f80 -> 2^128. */
static double bf16_value(uint16_t b)
{
    int e = (b >> 7) & 255, m = b & 127;
    double v = e == 0 ? ldexp(m, -133) : ldexp(128 + m, e - 134);
    return b & 0x8000 ? -v : v;
}

static void test_widen_all(void)
{
    int bad16 = 0, badbf = 0;
    for (uint32_t p = 0; p < 65536; p++) {
        uint16_t h = (uint16_t)p;
        float f = fm_f16_to_f32(h), g = fm_bf16_to_f32(h);
        bool sign = (h & 0x8000) != 0;
        if (((h >> 10) & 31) == 31) { /* inf / NaN: payload shifted, sign kept */
            bad16 += bits(f) != ((uint32_t)sign << 31 | 0x7f800000u | (uint32_t)(h & 1023) << 13);
        } else {
            bad16 += (double)f != f16_value(h) || (signbit(f) != 0) != sign;
        }
        if (((h >> 7) & 255) == 255)
            badbf += bits(g) != (uint32_t)h << 16;
        else
            badbf += (double)g != bf16_value(h) || (signbit(g) != 0) != sign;
    }
    CHECK(bad16 == 0, "float16 -> float32: %d of 65536 patterns differ", bad16);
    CHECK(badbf == 0, "bfloat16 -> float32: %d of 65536 patterns differ", badbf);
    CHECK(fm_f16_to_f32(0x0001) == ldexpf(1, -24) && fm_f16_to_f32(0x03ff) == 1023 * ldexpf(1, -24) &&
          fm_f16_to_f32(0x7bff) == 65504 && isinf(fm_f16_to_f32(0xfc00)) &&
          fm_f16_to_f32(0xfc00) < 0, "landmarks");
}

/* The nearest pattern to x among 0 .. top (sorted by value), ties to the
 * even pattern; value(top) is the overflow limit. */
static uint16_t nearest(double x, uint16_t top, double (*value)(uint16_t))
{
    double a = fabs(x);
    uint16_t sign = x < 0 || (x == 0 && signbit(x)) ? 0x8000 : 0;
    if (a >= value(top))
        return sign | top;
    uint16_t lo = 0, hi = top; /* value(lo) <= a < value(hi) */
    while (hi - lo > 1) {
        uint16_t mid = (uint16_t)((lo + hi) / 2);
        if (value(mid) <= a)
            lo = mid;
        else
            hi = mid;
    }
    double dlo = a - value(lo), dhi = value(hi) - a; /* exact in double */
    uint16_t r = dlo < dhi ? lo : dhi < dlo ? hi : (lo & 1) ? hi : lo;
    return sign | r;
}

/* Low bits appended to each kept prefix: zero, one, below / at / above the
 * tie, all ones, and one random value. */
static int check_narrowing(int kept_bits, int dropped, uint16_t (*narrow)(float),
                           uint16_t top, double (*value)(uint16_t), uint32_t *state)
{
    uint32_t tie = 1u << (dropped - 1), all = (1u << dropped) - 1;
    int bad = 0;
    for (uint32_t prefix = 0; prefix < (1u << kept_bits); prefix++) {
        *state = *state * 1664525u + 1013904223u;
        const uint32_t lows[] = {0, 1, tie - 1, tie, tie + 1, all, *state & all};
        for (size_t k = 0; k < sizeof lows / sizeof *lows; k++) {
            float x = from_bits(prefix << dropped | lows[k]);
            if (isnan(x))
                continue;
            uint16_t got = narrow(x), want = nearest(x, top, value);
            if (got != want && bad++ < 5)
                fprintf(stderr, "  %08x -> %04x, want %04x\n", bits(x), got, want);
        }
    }
    return bad;
}

static void test_narrow(void)
{
    uint32_t state = 1;
    /* float16 keeps 10 of the 23 mantissa bits: sign + 8 + 10 = 19 bits */
    int bad = check_narrowing(19, 13, fm_f32_to_f16, 0x7c00, f16_value, &state);
    CHECK(bad == 0, "float32 -> float16: %d patterns not the nearest even", bad);
    bad = check_narrowing(16, 16, fm_f32_to_bf16, 0x7f80, bf16_value, &state);
    CHECK(bad == 0, "float32 -> bfloat16: %d patterns not the nearest even", bad);
    CHECK(fm_f32_to_f16(65519.996f) == 0x7bff && fm_f32_to_f16(65520.0f) == 0x7c00 &&
          fm_f32_to_f16(-1e30f) == 0xfc00 && fm_f32_to_f16(ldexpf(1, -25)) == 0 &&
          fm_f32_to_f16(nextafterf(ldexpf(1, -25), 1)) == 1 &&
          fm_f32_to_f16(-0.0f) == 0x8000, "overflow, underflow, -0");
    /* every pattern but the NaNs' survives a round trip */
    int trip16 = 0, tripbf = 0;
    for (uint32_t p = 0; p < 65536; p++) {
        uint16_t h = (uint16_t)p;
        trip16 += fm_f32_to_f16(fm_f16_to_f32(h)) != h; /* NaN payloads too */
        bool nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        tripbf += fm_f32_to_bf16(fm_bf16_to_f32(h)) != (nan ? h | 0x40 : h);
    }
    CHECK(trip16 == 0 && tripbf == 0, "round trips: %d float16, %d bfloat16 differ",
          trip16, tripbf);
}

/* NaN: float16 keeps the sign and top 10 payload bits (0x7c01 when they are
 * all zero), as numpy; bfloat16 keeps the top 7 and sets the quiet bit. */
static void test_nan(void)
{
    CHECK(fm_f32_to_f16(from_bits(0x7fc00000u)) == 0x7e00, "quiet NaN");
    CHECK(fm_f32_to_f16(from_bits(0xffc00001u)) == 0xfe00, "negative NaN");
    CHECK(fm_f32_to_f16(from_bits(0x7f800001u)) == 0x7c01, "low payload stays a NaN");
    CHECK(fm_f32_to_f16(from_bits(0x7fa00000u)) == 0x7d00, "signalling payload kept");
    CHECK(fm_f32_to_bf16(from_bits(0x7f800001u)) == 0x7fc0, "bf16: quieted");
    CHECK(fm_f32_to_bf16(from_bits(0xffa10000u)) == 0xffe1, "bf16: sign and payload");
    CHECK(fm_f32_to_bf16(from_bits(0x7f7fffffu)) == 0x7f80, "bf16: overflow to inf");
}

static void test_stored(void)
{
    /* int32 widened in place from the top of an int64 buffer */
    int64_t buf[4];
    int32_t src[4] = {-7, 2147483647, INT32_MIN, 0};
    memcpy((char *)buf + 16, src, 16);
    CHECK(fm_stored_widen(FM_STORED_I32, FM_INT64, (char *)buf + 16, buf, 4) == -1 &&
          buf[0] == -7 && buf[1] == 2147483647 && buf[2] == INT32_MIN && buf[3] == 0,
          "int32 widened in place");
    buf[2] = (int64_t)INT32_MAX + 1;
    CHECK(fm_stored_narrow(FM_STORED_I32, FM_INT64, buf, buf, 4) == 2, "int32 range");
    /* float16 widened in place from the top of a float32 buffer, and back */
    float f[3];
    uint16_t h[3] = {0x3c00, 0xc000, 0x0001};
    memcpy((char *)f + 6, h, 6);
    CHECK(fm_stored_widen(FM_STORED_F16, FM_FLOAT32, (char *)f + 6, f, 3) == -1 &&
          f[0] == 1 && f[1] == -2 && f[2] == ldexpf(1, -24), "float16 widened in place");
    CHECK(fm_stored_narrow(FM_STORED_F16, FM_FLOAT32, f, f, 3) == -1 &&
          memcmp(f, h, 6) == 0, "float16 narrowed in place");
    uint8_t b[4] = {0, 1, 1, 3}, out[4];
    CHECK(fm_stored_widen(FM_STORED_BOOL, FM_UINT8, b, out, 4) == 3, "bool byte 3 refused");
    CHECK(fm_stored_narrow(FM_STORED_BOOL, FM_UINT8, b, out, 3) == -1 &&
          memcmp(out, b, 3) == 0, "bools written");
    CHECK(!fm_stored_fits(FM_STORED_F16, FM_FLOAT64) && !fm_stored_fits(FM_STORED_BOOL, FM_INT64) &&
          fm_stored_fits(FM_STORED_NATIVE, FM_FLOAT64) && fm_stored_fits(FM_STORED_BF16, FM_FLOAT32),
          "which dtypes each stored type takes");
    CHECK(fm_stored_size(FM_STORED_BF16, FM_FLOAT32) == 2 && fm_stored_size(FM_STORED_NATIVE,
          FM_FLOAT64) == 8 && strcmp(fm_stored_name(FM_STORED_BOOL, FM_UINT8), "bool") == 0,
          "sizes and names");
}

int main(void)
{
    test_widen_all();
    test_narrow();
    test_nan();
    test_stored();
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    else
        printf("test_half: all checks passed\n");
    return failures != 0;
}
