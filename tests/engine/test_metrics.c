/* test_metrics.c — sample-set distances (docs/math.md §10) against closed forms:
 * W2 of translates, zero self-distances, one-point sets, sliced W2 in 1-D
 * equal to exact W2, W2 of Gaussian samples near |mu|, strided inputs; NaN
 * and inf refused by every distance. */
#include "eval/metrics.h"
#include "eval/assign.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static fm_tensor make(fm_dtype dt, int64_t n, int64_t d)
{
    fm_tensor t;
    int64_t s[2] = { n, d };
    fm_tensor_alloc(&t, dt, 2, s);
    return t;
}

static double get(const fm_tensor *t, int64_t i, int64_t k)
{
    return fm_tensor_get(t, i * t->shape[1] + k);
}

/* b = a[pi] + t: W2 = |t| (test_assign.c explains why the optimal matching
 * undoes pi); everything float64, so only the rounding of the sums: 1e-12. */
static void test_w2_translate(void)
{
    fm_rng r;
    fm_rng_seed(&r, 3);
    const int64_t n = 400, d = 2;
    fm_tensor a = make(FM_FLOAT64, n, d), b = make(FM_FLOAT64, n, d), p;
    int64_t sp[1] = { n };
    fm_tensor_alloc(&p, FM_INT64, 1, sp);
    fm_rng_normal(&r, &a, 0, 1);
    fm_rng_permutation(&r, &p, 0);
    const double t[2] = { 0.75, -1.0 }; /* length 1.25 */
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < d; k++)
            fm_tensor_set(&b, ((int64_t *)p.data)[i] * d + k, get(&a, i, k) + t[k]);
    double w = -1;
    CHECK(fm_metric_w2(&a, &b, &w) == FM_OK, "%s", fm_last_error());
    CHECK(fabs(w - 1.25) <= 1e-12, "w2 %.17g want 1.25", w);
    fm_tensor_free(&a); fm_tensor_free(&b); fm_tensor_free(&p);
}

/* V-statistics of a set against itself are bit-exactly 0 (same loops). */
static void test_self_zero(void)
{
    fm_rng r;
    fm_rng_seed(&r, 4);
    fm_tensor a = make(FM_FLOAT32, 300, 3);
    fm_rng_normal(&r, &a, 0, 1);
    double h[3] = { 0.5, 1, 2 }, v = -1;
    CHECK(fm_metric_mmd(&a, &a, h, 3, &v) == FM_OK && v == 0.0, "mmd %g", v);
    CHECK(fm_metric_energy(&a, &a, &v) == FM_OK && v == 0.0, "energy %g", v);
    CHECK(fm_metric_w2(&a, &a, &v) == FM_OK && v == 0.0, "w2 %g", v);
    CHECK(fm_metric_sliced_w2(&a, &a, 20, &r, &v) == FM_OK && v == 0.0,
          "sliced %g", v);
    fm_tensor_free(&a);
}

/* One point each, x = 0 and y = s in 1-D: MMD^2 = sum_l 2 - 2 exp(-s^2 /
 * (2 h_l^2)), energy = 2|s|. Two-point set {0, 1} vs {0}: energy =
 * 2 * 1/2 - 1/2 (E|X-X'| over 4 pairs) = 0.5; unequal-size 1-D W2^2 =
 * (0 + 1)/2, so sliced W2 = sqrt(0.5). */
static void test_small_closed_forms(void)
{
    fm_tensor x = make(FM_FLOAT64, 1, 1), y = make(FM_FLOAT64, 1, 1);
    fm_tensor z = make(FM_FLOAT64, 2, 1);
    const double s = 1.5;
    fm_tensor_set(&x, 0, 0.0);
    fm_tensor_set(&y, 0, s);
    fm_tensor_set(&z, 0, 0.0);
    fm_tensor_set(&z, 1, 1.0);
    double h[2] = { 1.0, 3.0 }, v = -1, want;
    CHECK(fm_metric_mmd(&x, &y, h, 2, &v) == FM_OK, "%s", fm_last_error());
    want = 4 - 2 * exp(-s * s / 2) - 2 * exp(-s * s / 18);
    CHECK(fabs(v - want) <= 1e-15, "mmd %.17g want %.17g", v, want);
    CHECK(fm_metric_energy(&x, &y, &v) == FM_OK && fabs(v - 2 * s) <= 1e-15,
          "energy %g", v);
    CHECK(fm_metric_energy(&z, &x, &v) == FM_OK && fabs(v - 0.5) <= 1e-15,
          "energy {0,1} vs {0}: %g", v);
    fm_rng r;
    fm_rng_seed(&r, 5);
    CHECK(fm_metric_sliced_w2(&z, &x, 3, &r, &v) == FM_OK &&
          fabs(v - sqrt(0.5)) <= 1e-15, "sliced {0,1} vs {0}: %g", v);
    CHECK(fm_metric_w2(&z, &x, &v) == FM_ESHAPE, "w2 unequal sizes accepted");
    CHECK(strstr(fm_last_error(), "(2, 1)") && strstr(fm_last_error(), "(1, 1)"),
          "message %s", fm_last_error());
    h[1] = 0.0;
    CHECK(fm_metric_mmd(&x, &y, h, 2, &v) == FM_EVALUE, "zero bandwidth");
    fm_tensor_free(&x); fm_tensor_free(&y); fm_tensor_free(&z);
}

/* Exact W2 by assignment, for comparisons with the sorting shortcuts. */
static double w2_assign(const fm_tensor *a, const fm_tensor *b)
{
    int64_t n = a->shape[0];
    int64_t *perm = malloc((size_t)n * sizeof(int64_t));
    double cost = NAN;
    CHECK(fm_assign_points(a, b, perm, &cost) == FM_OK, "%s", fm_last_error());
    free(perm);
    return sqrt(cost / (double)n);
}

/* In 1-D the only directions are +-1 and W2 is invariant under x -> -x, so
 * sliced W2 equals the exact W2, and so does fm_metric_w2's sorting path:
 * both against the assignment (different summation orders: 1e-12). */
static void test_sliced_1d(void)
{
    fm_rng r;
    fm_rng_seed(&r, 6);
    fm_tensor a = make(FM_FLOAT64, 250, 1), b = make(FM_FLOAT64, 250, 1);
    fm_rng_normal(&r, &a, 0, 1);
    fm_rng_uniform(&r, &b, -1, 3);
    double sw = -1, w = -2, wa = w2_assign(&a, &b);
    CHECK(fm_metric_sliced_w2(&a, &b, 7, &r, &sw) == FM_OK, "%s", fm_last_error());
    CHECK(fm_metric_w2(&a, &b, &w) == FM_OK, "%s", fm_last_error());
    CHECK(fabs(sw - wa) <= 1e-12, "sliced %.17g exact %.17g", sw, wa);
    CHECK(fabs(w - wa) <= 1e-12, "w2 (sorted) %.17g exact %.17g", w, wa);
    fm_tensor_free(&a); fm_tensor_free(&b);
}

/* Samples a ~ N(0, I), b ~ N(0, I) and b + mu. For every coupling of the
 * two empirical measures E|X - Y - mu|^2 = E|X - Y|^2 - 2 mu.(abar - bbar)
 * + |mu|^2 (the marginals fix E[X - Y]), so the optimal coupling is the same
 * and W2^2(a, b + mu) = W2^2(a, b) - 2 mu.(abar - bbar) + |mu|^2 exactly
 * (checked to 1e-9 relative: sums of n terms). Statistically W2(a, b) is
 * the sampling noise: E W2^2(P_n, P) ~ log log n / n in 1-D and log n / n
 * in 2-D; measured 0.08 (1-D) and 0.22 (2-D) at n = 1000, so
 * W2(a, b + mu) must be within tol = 0.15 / 0.4 of |mu|. */
static void test_gaussian(int64_t d, int64_t n, double tol)
{
    fm_rng r;
    fm_rng_seed(&r, 100 + (uint64_t)d);
    fm_tensor a = make(FM_FLOAT64, n, d), b = make(FM_FLOAT64, n, d);
    fm_rng_normal(&r, &a, 0, 1);
    fm_rng_normal(&r, &b, 0, 1);
    double w0 = -1, w = -1;
    CHECK(fm_metric_w2(&a, &b, &w0) == FM_OK, "%s", fm_last_error());
    const double mu[2] = { 1.2, -1.6 };
    double len2 = 0, dot = 0;
    for (int64_t k = 0; k < d; k++) {
        double diff = 0;
        for (int64_t i = 0; i < n; i++) diff += get(&a, i, k) - get(&b, i, k);
        dot += mu[k] * diff / (double)n;
        len2 += mu[k] * mu[k];
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++)
            fm_tensor_set(&b, i * d + k, get(&b, i, k) + mu[k]);
    CHECK(fm_metric_w2(&a, &b, &w) == FM_OK, "%s", fm_last_error());
    double want2 = w0 * w0 - 2 * dot + len2;
    printf("gaussian d=%lld n=%lld: W2 noise %.4f, W2 %.4f vs |mu| %.4f\n",
           (long long)d, (long long)n, w0, w, sqrt(len2));
    CHECK(fabs(w * w - want2) <= 1e-9 * want2, "W2^2 %.17g want %.17g",
          w * w, want2);
    CHECK(fabs(w - sqrt(len2)) < tol, "W2 %g vs |mu| %g", w, sqrt(len2));
    if (d == 1) /* the sorting path against the assignment */
        CHECK(fabs(w - w2_assign(&a, &b)) <= 1e-12, "1-D w2 vs assignment");
    fm_tensor_free(&a); fm_tensor_free(&b);
}

/* A transposed view (strides (1, n)) gives the same values as a copy. */
static void test_strided(void)
{
    fm_rng r;
    fm_rng_seed(&r, 8);
    const int64_t n = 50, d = 3;
    fm_tensor base = make(FM_FLOAT32, d, n), c = make(FM_FLOAT32, n, d);
    fm_tensor b = make(FM_FLOAT64, n, d);
    fm_rng_normal(&r, &base, 0, 1);
    fm_rng_normal(&r, &b, 1, 1);
    fm_tensor v = base;
    v.shape[0] = n; v.shape[1] = d; v.stride[0] = 1; v.stride[1] = n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++)
            fm_tensor_set(&c, i * d + k, fm_tensor_get(&base, k * n + i));
    double h = 1.0, e1, e2, m1, m2, w1, w2;
    fm_metric_energy(&v, &b, &e1); fm_metric_energy(&c, &b, &e2);
    fm_metric_mmd(&v, &b, &h, 1, &m1);
    fm_metric_mmd(&c, &b, &h, 1, &m2);
    fm_metric_w2(&v, &b, &w1); fm_metric_w2(&c, &b, &w2);
    CHECK(e1 == e2 && m1 == m2 && w1 == w2, "strided differs");
    CHECK(e1 > 0 && m1 > 0 && w1 > 0, "nonzero distances expected");
    fm_tensor_free(&base); fm_tensor_free(&c); fm_tensor_free(&b);
}

/* NaN or inf in either set is FM_EVALUE naming the set, row and column, in
 * every distance (not a nan result); 1-D and 2-D. */
static void test_nonfinite(void)
{
    for (int64_t d = 1; d <= 2; d++) {
        fm_tensor a = make(FM_FLOAT32, 6, d), b = make(FM_FLOAT64, 6, d);
        for (int64_t i = 0; i < 6 * d; i++) {
            fm_tensor_set(&a, i, (double)i);
            fm_tensor_set(&b, i, 0.5 * (double)i);
        }
        for (int which = 0; which < 2; which++) {
            fm_tensor *t = which ? &b : &a;
            fm_tensor_set(t, 3 * d + d - 1, which ? INFINITY : NAN); /* row 4, last column */
            char want[96];
            snprintf(want, sizeof want, "%s has a non-finite value (%s) at row 4, column %lld",
                     which ? "b" : "a", which ? "inf" : "nan", (long long)d);
            double h = 1, v = 0;
            fm_rng r;
            fm_rng_seed(&r, 1);
            fm_status st[4] = { fm_metric_mmd(&a, &b, &h, 1, &v),
                                fm_metric_energy(&a, &b, &v),
                                fm_metric_sliced_w2(&a, &b, 5, &r, &v),
                                fm_metric_w2(&a, &b, &v) };
            const char *names[4] = { "mmd", "energy", "sliced_w2", "w2" };
            for (int k = 0; k < 4; k++) {
                CHECK(st[k] == FM_EVALUE, "%s d=%lld: status %d", names[k], (long long)d, st[k]);
            }
            CHECK(fm_metric_w2(&a, &b, &v) == FM_EVALUE && strstr(fm_last_error(), want),
                  "w2 message: %s (want %s)", fm_last_error(), want);
            CHECK(fm_metric_mmd(&a, &b, &h, 1, &v) == FM_EVALUE && strstr(fm_last_error(), want),
                  "mmd message: %s (want %s)", fm_last_error(), want);
            fm_tensor_set(t, 3 * d + d - 1, 1.0);
        }
        fm_tensor_free(&a); fm_tensor_free(&b);
    }
}

int main(void)
{
    test_nonfinite();
    test_w2_translate();
    test_self_zero();
    test_small_closed_forms();
    test_sliced_1d();
    test_gaussian(1, 1000, 0.15);
    test_gaussian(2, 1000, 0.4);
    test_strided();
    if (failures) { fprintf(stderr, "%d failures\n", failures); return 1; }
    puts("ok");
    return 0;
}
