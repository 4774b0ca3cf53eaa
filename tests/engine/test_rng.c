/* test_rng.c — Philox4x32-10 known answers (Random123 kat_vectors), seeding
 * and counter bookkeeping, and the distributions: uniform and normal moments,
 * randint ends and (absence of) modulo bias, permutations, multinomial
 * frequencies.
 *
 * Tolerances: every statistic is checked at 6 standard errors (two-sided
 * p ~ 2e-9 for a correct generator) or, for chi-square statistics, at the
 * 1 - 1e-6 quantile of the chi-square law (scipy.stats.chi2.isf(1e-6, df):
 * df 2 -> 27.63, 3 -> 30.66, 5 -> 35.89). The seed is fixed, so the tests
 * are deterministic; the bounds say a correct generator passes them for all
 * but a negligible fraction of seeds, while a biased one (e.g. modulo bias,
 * a Box-Muller slip, an off-by-one end) fails by many standard errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fm.h"
#include "core/rng.h"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

static void test_kat(void)
{
    /* Random123 examples/kat_vectors: philox4x32 10 CTR[4] KEY[2] -> OUT[4] */
    static const uint32_t v[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
         0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
         0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int k = 0; k < 3; k++) {
        uint32_t out[4];
        fm_philox4x32_10(v[k], v[k] + 4, out);
        CHECK(memcmp(out, v[k] + 6, sizeof out) == 0, "KAT %d: %08x %08x %08x %08x", k,
              out[0], out[1], out[2], out[3]);
    }
    /* the generator's stream is that block function: key 0, counter 0 */
    fm_rng r = {0, 0};
    CHECK(fm_rng_u32(&r) == 0x6627e8d5 && r.counter == 1, "stream block 0");
}

static void test_seeding(void)
{
    fm_rng a, b;
    fm_rng_seed(&a, 42);
    fm_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        CHECK(fm_rng_u32(&a) == fm_rng_u32(&b), "same seed, draw %d", i);
    fm_rng_seed(&b, 43);
    fm_rng_seed(&a, 42);
    int same = 0;
    for (int i = 0; i < 100; i++)
        same += fm_rng_u32(&a) == fm_rng_u32(&b);
    CHECK(same < 3, "seeds 42 and 43 agree on %d of 100 draws", same);
    /* counter bookkeeping: n values use ceil(n / 2) blocks; saving and
     * restoring (key, counter) replays the stream */
    double buf[7];
    fm_tensor t;
    int64_t n = 7;
    fm_tensor_init(&t, buf, FM_FLOAT64, 1, &n);
    fm_rng_seed(&a, 7);
    fm_rng saved = a;
    fm_rng_normal(&a, &t, 0, 1);
    CHECK(a.counter == 4, "7 normals use 4 blocks, counter %llu", (unsigned long long)a.counter);
    double first = buf[0];
    a = saved;
    CHECK(fm_rng_normal01(&a) == first, "restored state replays");
    /* value i depends only on block counter + i / 2 (thread-split invariance) */
    fm_rng_seed(&a, 9);
    a.counter = 1000;
    fm_rng_uniform(&a, &t, 0, 1);
    fm_rng c = {a.key, 1003};
    double u = fm_rng_uniform01(&c);
    CHECK(u == buf[6], "element 6 comes from block 1003");
}

static void moments(const double *x, int64_t n, double *m, double *c2, double *c3, double *c4)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += x[i];
    *m = s / (double)n;
    double a2 = 0, a3 = 0, a4 = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] - *m;
        a2 += d * d;
        a3 += d * d * d;
        a4 += d * d * d * d;
    }
    *c2 = a2 / (double)n;
    *c3 = a3 / (double)n;
    *c4 = a4 / (double)n;
}

#define N 1000000

static void test_uniform(void)
{
    static double x[N];
    int64_t n = N;
    fm_tensor t;
    fm_tensor_init(&t, x, FM_FLOAT64, 1, &n);
    fm_rng r;
    fm_rng_seed(&r, 1);
    CHECK(fm_rng_uniform(&r, &t, 0, 1) == FM_OK, "uniform");
    double m, v, c3, c4, lo = 1, hi = 0;
    moments(x, n, &m, &v, &c3, &c4);
    for (int64_t i = 0; i < n; i++) {
        lo = fmin(lo, x[i]);
        hi = fmax(hi, x[i]);
    }
    /* mean 1/2, sd of the mean sqrt(1/12 / N); variance 1/12, sd of the
     * sample variance sqrt((mu4 - sigma^4) / N) = sqrt((1/80 - 1/144) / N) */
    CHECK(fabs(m - 0.5) < 6 * sqrt(1.0 / 12 / N), "uniform mean %g", m);
    CHECK(fabs(v - 1.0 / 12) < 6 * sqrt((1.0 / 80 - 1.0 / 144) / N), "uniform var %g", v);
    CHECK(lo >= 0 && hi < 1 && lo < 1e-4 && hi > 1 - 1e-4, "uniform range [%g, %g]", lo, hi);
    /* float32 on [-2, 3): inside the half-open interval */
    static float f[N];
    fm_tensor tf;
    fm_tensor_init(&tf, f, FM_FLOAT32, 1, &n);
    fm_rng_uniform(&r, &tf, -2, 3);
    int outside = 0;
    for (int64_t i = 0; i < n; i++)
        outside += !(f[i] >= -2.0f && f[i] < 3.0f);
    CHECK(outside == 0, "%d float32 uniforms outside [-2, 3)", outside);
    int64_t k = 2;
    int64_t ibuf[2];
    fm_tensor ti;
    fm_tensor_init(&ti, ibuf, FM_INT64, 1, &k);
    CHECK(fm_rng_uniform(&r, &ti, 0, 1) == FM_ETYPE, "uniform into int64 refused");
    CHECK(fm_rng_uniform(&r, &t, 1, 0) == FM_EVALUE, "reversed bounds refused");
}

/* Moments and the 3-sigma tail of n standard normal draws. Standard errors:
 * mean 1/sqrt(N), variance sqrt(2/N), third moment sqrt(15/N), fourth
 * moment sqrt((105 - 9)/N); the tail P(|z| > 3) = 0.0026998 (scipy
 * 2 * norm.sf(3)) has a binomial sd. */
static void check_standard_normal(const double *x, int64_t n, const char *what)
{
    double m, v, c3, c4;
    moments(x, n, &m, &v, &c3, &c4);
    CHECK(fabs(m) < 6 / sqrt(N), "%s normal mean %g", what, m);
    CHECK(fabs(v - 1) < 6 * sqrt(2.0 / N), "%s normal var %g", what, v);
    CHECK(fabs(c3) < 6 * sqrt(15.0 / N), "%s normal skew %g", what, c3);
    CHECK(fabs(c4 - 3) < 6 * sqrt(96.0 / N), "%s normal 4th moment %g", what, c4);
    int64_t tail = 0;
    for (int64_t i = 0; i < n; i++)
        tail += fabs(x[i]) > 3;
    double p = 0.0026997960632601866, e = p * N;
    CHECK(fabs((double)tail - e) < 6 * sqrt(e * (1 - p)), "%s tail count %lld vs %g",
          what, (long long)tail, e);
}

static void test_normal(void)
{
    static double x[N];
    int64_t n = N;
    fm_tensor t;
    fm_tensor_init(&t, x, FM_FLOAT64, 1, &n);
    fm_rng r;
    fm_rng_seed(&r, 2);
    CHECK(fm_rng_normal(&r, &t, 0, 1) == FM_OK, "normal");
    check_standard_normal(x, n, "f64");
    fm_rng_normal(&r, &t, 5, 0.5);
    double m, v, c3, c4;
    moments(x, n, &m, &v, &c3, &c4);
    CHECK(fabs(m - 5) < 6 * 0.5 / sqrt(N) && fabs(v - 0.25) < 6 * 0.25 * sqrt(2.0 / N),
          "N(5, 0.5^2): mean %g var %g", m, v);
}

static double chi2(const int64_t *count, const double *p, int k, int64_t n)
{
    double c = 0;
    for (int j = 0; j < k; j++) {
        double e = p[j] * (double)n;
        c += ((double)count[j] - e) * ((double)count[j] - e) / e;
    }
    return c;
}

static void test_randint(void)
{
    static int64_t x[600000];
    int64_t n = 600000;
    fm_tensor t;
    fm_tensor_init(&t, x, FM_INT64, 1, &n);
    fm_rng r;
    fm_rng_seed(&r, 3);
    CHECK(fm_rng_randint(&r, &t, -2, 3) == FM_OK, "randint");
    int64_t count[6] = {0};
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < -2 || x[i] > 3)
            bad++;
        else
            count[x[i] + 2]++;
    }
    double p[6] = {1. / 6, 1. / 6, 1. / 6, 1. / 6, 1. / 6, 1. / 6};
    CHECK(bad == 0 && count[0] > 0 && count[5] > 0, "both ends reached, %d outside", bad);
    CHECK(chi2(count, p, 6, n) < 35.89, "randint chi2 %g (df 5)", chi2(count, p, 6, n));
    /* modulo bias: for range 3 * 2^61, (64 random bits) mod range would give
     * values below 2^62 three preimages and the others two: P = 3/4 instead
     * of 2/3, 30 standard errors away */
    int64_t m = 30000, below = 0;
    fm_tensor tm;
    fm_tensor_init(&tm, x, FM_INT64, 1, &m);
    CHECK(fm_rng_randint(&r, &tm, 0, (int64_t)(3ULL << 61) - 1) == FM_OK, "wide range");
    for (int64_t i = 0; i < m; i++)
        below += x[i] < ((int64_t)1 << 62);
    double frac = (double)below / (double)m;
    CHECK(fabs(frac - 2.0 / 3) < 6 * sqrt(2.0 / 9 / (double)m), "no modulo bias: %g below 2^62", frac);
    /* the full int64 range (hi - lo overflows int64) */
    CHECK(fm_rng_randint(&r, &tm, INT64_MIN, INT64_MAX) == FM_OK, "full range");
    int64_t neg = 0;
    for (int64_t i = 0; i < m; i++)
        neg += x[i] < 0;
    CHECK(fabs((double)neg / (double)m - 0.5) < 6 * 0.5 / sqrt((double)m), "full range sign %lld", (long long)neg);
    CHECK(fm_rng_randint(&r, &tm, 5, 5) == FM_OK && x[0] == 5 && x[m - 1] == 5, "lo == hi");
    CHECK(fm_rng_randint(&r, &tm, 5, 4) == FM_EVALUE, "empty range refused");
}

static void test_permutation(void)
{
    int64_t n = 1000, p[1000];
    fm_tensor t;
    fm_tensor_init(&t, p, FM_INT64, 1, &n);
    fm_rng r;
    fm_rng_seed(&r, 4);
    CHECK(fm_rng_permutation(&r, &t, 1) == FM_OK, "permutation");
    char seen[1001] = {0};
    int ok = 1, fixed = 0;
    for (int64_t i = 0; i < n; i++) {
        if (p[i] < 1 || p[i] > n || seen[p[i]])
            ok = 0;
        else
            seen[p[i]] = 1;
        fixed += p[i] == i + 1;
    }
    CHECK(ok, "1..1000 each exactly once");
    CHECK(fixed < 10, "%d fixed points (Poisson(1) expected)", fixed);
    /* all 6 orders of 3 elements equally likely */
    int64_t three = 3, q[3], count[6] = {0}, draws = 60000;
    fm_tensor t3;
    fm_tensor_init(&t3, q, FM_INT64, 1, &three);
    for (int64_t s = 0; s < draws; s++) {
        fm_rng_permutation(&r, &t3, 0);
        count[q[0] * 2 + (q[1] > q[2])]++;
    }
    double pr[6] = {1. / 6, 1. / 6, 1. / 6, 1. / 6, 1. / 6, 1. / 6};
    CHECK(chi2(count, pr, 6, draws) < 35.89, "permutation orders chi2 %g", chi2(count, pr, 6, draws));
}

static void test_multinomial(void)
{
    double w[4] = {1, 0, 2, 7};
    int64_t k = 4, n = 100000;
    static int64_t o[100000];
    fm_tensor tw, to;
    fm_tensor_init(&tw, w, FM_FLOAT64, 1, &k);
    fm_tensor_init(&to, o, FM_INT64, 1, &n);
    fm_rng r;
    fm_rng_seed(&r, 5);
    CHECK(fm_rng_multinomial(&r, &tw, true, 1, &to) == FM_OK, "multinomial");
    int64_t count[4] = {0};
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        if (o[i] < 1 || o[i] > 4)
            bad++;
        else
            count[o[i] - 1]++;
    }
    CHECK(bad == 0 && count[1] == 0, "zero weight never drawn (%lld), %d outside", (long long)count[1], bad);
    int64_t c3[3] = {count[0], count[2], count[3]};
    double p3[3] = {0.1, 0.2, 0.7};
    CHECK(chi2(c3, p3, 3, n) < 27.63, "multinomial chi2 %g (df 2)", chi2(c3, p3, 3, n));
    /* without replacement: 3 draws of 3 non-zero weights are a permutation
     * of them; the first draw follows the weights */
    int64_t three = 3, q[3], first[4] = {0}, rows = 30000;
    fm_tensor tq;
    fm_tensor_init(&tq, q, FM_INT64, 1, &three);
    int notperm = 0;
    for (int64_t s = 0; s < rows; s++) {
        fm_rng_multinomial(&r, &tw, false, 0, &tq);
        notperm += q[0] + q[1] + q[2] != 5 || q[0] == q[1] || q[1] == q[2] || q[0] == q[2] ||
                   q[0] == 1 || q[1] == 1 || q[2] == 1;
        first[q[0]]++;
    }
    int64_t f3[3] = {first[0], first[2], first[3]};
    CHECK(notperm == 0, "%d draws without replacement repeat or pick weight 0", notperm);
    CHECK(chi2(f3, p3, 3, rows) < 27.63, "first draw chi2 %g", chi2(f3, p3, 3, rows));
    int64_t four = 4;
    fm_tensor t4;
    fm_tensor_init(&t4, q, FM_INT64, 1, &four);
    CHECK(fm_rng_multinomial(&r, &tw, false, 0, &t4) == FM_EVALUE, "4 draws of 3 non-zero weights refused");
    w[0] = -1;
    CHECK(fm_rng_multinomial(&r, &tw, true, 0, &to) == FM_EVALUE, "negative weight refused");
    w[0] = NAN;
    CHECK(fm_rng_multinomial(&r, &tw, true, 0, &to) == FM_EVALUE, "NaN weight refused");
}

/* float32 normals take a vectorised float path (rng_normal_f32.c): same
 * blocks, same transform in float arithmetic. Against the double path at the
 * same seed: |z32 - z64| <= 4e-6 (1 + |z64|) (measured worst 2.0e-6 over
 * these 10^6: a few float ulps from ln, sqrt, cos/sin and the products),
 * except where u1 < 2^-20, since the float path reads 32 bits of u1 and the
 * double path 53, which then differ in the 12th bit (probability ~1e-6 per
 * pair, so a handful at most here). Moments and the 3-sigma tail of the
 * float draws as for double; odd lengths match the even draw's prefix and
 * advance the counter the same way. */
static void test_normal_f32(void)
{
    static float x[N];
    static double y[N];
    int64_t n = N;
    fm_tensor t32, t64;
    fm_tensor_init(&t32, x, FM_FLOAT32, 1, &n);
    fm_tensor_init(&t64, y, FM_FLOAT64, 1, &n);
    fm_rng a, b;
    fm_rng_seed(&a, 5);
    fm_rng_seed(&b, 5);
    CHECK(fm_rng_normal(&a, &t32, 0, 1) == FM_OK, "normal f32");
    CHECK(fm_rng_normal(&b, &t64, 0, 1) == FM_OK, "normal f64");
    CHECK(a.counter == b.counter, "counters %llu vs %llu",
          (unsigned long long)a.counter, (unsigned long long)b.counter);
    int64_t loose = 0;
    static double xd[N];
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)x[i] - y[i]);
        if (d > 4e-6 * (1 + fabs(y[i])))
            loose++;
        xd[i] = x[i];
    }
    CHECK(loose <= 4, "%lld of %d float normals differ from double beyond "
          "float rounding", (long long)loose, N);
    check_standard_normal(xd, n, "f32");
    /* odd length: the prefix of the even draw, same counter advance */
    float odd[7], even[8];
    int64_t n7 = 7, n8 = 8;
    fm_tensor to, te;
    fm_tensor_init(&to, odd, FM_FLOAT32, 1, &n7);
    fm_tensor_init(&te, even, FM_FLOAT32, 1, &n8);
    fm_rng_seed(&a, 9);
    fm_rng_seed(&b, 9);
    fm_rng_normal(&a, &to, 1.5, 2);
    fm_rng_normal(&b, &te, 1.5, 2);
    CHECK(memcmp(odd, even, sizeof odd) == 0 && a.counter == 4 && b.counter == 4,
          "odd-length float draw");
}

int main(void)
{
    test_kat();
    test_seeding();
    test_normal_f32();
    test_uniform();
    test_normal();
    test_randint();
    test_permutation();
    test_multinomial();
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    else
        printf("test_rng: all passed\n");
    return failures != 0;
}
