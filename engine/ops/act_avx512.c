/* act_avx512.c — float32 SiLU rows on AVX-512 (ops/act.c's fast path for the fused MLP).
 *
 * The portable loop in mlp_kernels.c vectorises, but its 1 / (1 + e^-v)
 * is a vdivps; here the reciprocal is rcp14 refined by one Newton step
 * (s <- s (2 - den s), relative error ~2^-28, below float rounding), and
 * 2^n is applied with vscalefps. The exp is the same Cephes polynomial as
 * mlp_kernels.c. 128 x 256 rows with act' kept: 16.7 -> 11.1 us on the
 * 2-core VM (Zen 4), about 3% of a W256/B256 training step.
 *
 *   h = v s(v),   act'(v) = s (1 + v (1 - s)) = s + h (1 - s),   v = z + b.
 */
#include "ops/act_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

/* exp(x), x clamped to [-87, 87]: x = n ln2 + r, Cephes degree-6 in r. */
AVX512 static inline __m512 exp_ps(__m512 x)
{
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(87.0f)),
                      _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(
        _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r),
                        _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

AVX512 static void silu_rows(int64_t rows, int64_t n, float *z,
                             const float *b, float *d)
{
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
    for (int64_t i = 0; i < rows; i++) {
        float *zr = z + i * n, *dr = d ? d + i * n : NULL;
        for (int64_t j = 0; j < n; j += 16) {
            __mmask16 m = n - j >= 16 ? (__mmask16)0xffff
                                      : (__mmask16)((1u << (n - j)) - 1);
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, zr + j),
                                     _mm512_maskz_loadu_ps(m, b + j));
            __m512 den = _mm512_add_ps(exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), v)), one);
            __m512 s = _mm512_rcp14_ps(den);
            s = _mm512_mul_ps(s, _mm512_fnmadd_ps(den, s, two));
            __m512 h = _mm512_mul_ps(v, s);
            _mm512_mask_storeu_ps(zr + j, m, h);
            if (dr)
                _mm512_mask_storeu_ps(dr + j, m,
                                      _mm512_fmadd_ps(h, _mm512_sub_ps(one, s), s));
        }
    }
}

bool fmi_act_silu_avx512(int64_t rows, int64_t n, float *z, const float *b,
                        float *d)
{
    if (!__builtin_cpu_supports("avx512f"))
        return false;
    silu_rows(rows, n, z, b, d);
    return true;
}

#else

bool fmi_act_silu_avx512(int64_t rows, int64_t n, float *z, const float *b,
                        float *d)
{
    (void)rows; (void)n; (void)z; (void)b; (void)d;
    return false;
}

#endif
