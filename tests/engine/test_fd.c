/* test_fd.c — Fréchet distance of fitted Gaussians (docs/math.md §10)
 * against closed forms: commuting covariances (sum (sqrt a_i - sqrt b_i)^2
 * + |mu|^2), 2-D non-commuting ones (tr sqrt of a 2 x 2 PSD matrix is
 * sqrt(tr + 2 sqrt(det))), 1-D features; FD(x, x) = 0, symmetry, the
 * statistics against plain loops, float32 / strided inputs, rank-deficient
 * sets, and every error. */
#include "eval/fd.h"
#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static fm_tensor make(fm_dtype dt, int ndim, int64_t n, int64_t d)
{
    fm_tensor t;
    int64_t s[2] = { n, d };
    fm_tensor_alloc(&t, dt, ndim, s);
    return t;
}

static double *f64(fm_tensor *t) { return t->data; }

static bool rel_close(double got, double want, double tol, double scale)
{
    return fabs(got - want) <= tol * scale;
}

/* Correlated features x = z A + m (z standard normal, A random d x d),
 * so the covariance is a generic full matrix. */
static fm_tensor features(fm_dtype dt, int64_t n, int64_t d, uint64_t seed,
                          double shift)
{
    fm_rng r;
    fm_rng_seed(&r, seed);
    fm_tensor z = make(FM_FLOAT64, 2, n, d), a = make(FM_FLOAT64, 2, d, d);
    fm_tensor x = make(dt, 2, n, d);
    fm_rng_normal(&r, &z, 0, 1);
    fm_rng_normal(&r, &a, 0, 1.0 / sqrt((double)d));
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++) {
            double s = shift * (double)(k % 3);
            for (int64_t j = 0; j < d; j++) s += f64(&z)[i * d + j] * f64(&a)[j * d + k];
            fm_tensor_set(&x, i * d + k, s);
        }
    fm_tensor_free(&z); fm_tensor_free(&a);
    return x;
}

/* A random orthogonal Q (d x d): the eigenvectors of a random symmetric
 * matrix. */
static void random_orthogonal(double *q, int64_t d, uint64_t seed)
{
    fm_rng r;
    fm_rng_seed(&r, seed);
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j <= i; j++)
            q[i * d + j] = q[j * d + i] = fm_rng_normal01(&r);
    double *w = malloc((size_t)d * sizeof(double));
    CHECK(fm_sym_eig(q, d, true, w, "test") == FM_OK, "%s", fm_last_error());
    free(w);
}

/* c = Q diag(l) Q^T */
static void conjugate(const double *q, const double *l, int64_t d, double *c)
{
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < d; j++) {
            double s = 0;
            for (int64_t k = 0; k < d; k++) s += q[i * d + k] * l[k] * q[j * d + k];
            c[i * d + j] = s;
        }
}

/* S_a = Q diag(a) Q^T and S_b = Q diag(b) Q^T commute, so
 * (S_a^1/2 S_b S_a^1/2)^1/2 = Q diag(sqrt(a b)) Q^T and
 * FD = |mu_a - mu_b|^2 + sum (sqrt a_i - sqrt b_i)^2. Only rounding of
 * O(d) sums and of the eigensolver: 1e-12 relative to tr(S_a + S_b).
 * With singular, one eigenvalue of S_b is 0: S_b as stored is then off by
 * rounding (~1e-16 |S_b|), and the square root turns that into ~1e-8
 * sqrt|S_b| in tr M^1/2 (the problem's own conditioning at a singular
 * matrix, whatever the algorithm): tolerance 1e-7 relative. */
static void test_commuting(int64_t d, bool singular)
{
    fm_tensor mu_a = make(FM_FLOAT64, 1, d, 0), mu_b = make(FM_FLOAT64, 1, d, 0);
    fm_tensor ca = make(FM_FLOAT64, 2, d, d), cb = make(FM_FLOAT64, 2, d, d);
    double *q = malloc((size_t)(d * d) * sizeof(double));
    double *la = malloc((size_t)d * sizeof(double)), *lb = malloc((size_t)d * sizeof(double));
    double want = 0, scale = 0;
    for (int64_t k = 0; k < d; k++) {
        la[k] = 0.5 + (double)k / (double)d;
        lb[k] = singular && k == 0 ? 0.0 : 2.0 / (1.0 + (double)k);
        f64(&mu_a)[k] = 0.1 * (double)k;
        f64(&mu_b)[k] = -0.3;
        double dm = f64(&mu_a)[k] - f64(&mu_b)[k], ds = sqrt(la[k]) - sqrt(lb[k]);
        want += dm * dm + ds * ds;
        scale += la[k] + lb[k];
    }
    random_orthogonal(q, d, 11 + (uint64_t)d);
    conjugate(q, la, d, f64(&ca));
    conjugate(q, lb, d, f64(&cb));
    double got = -1, back = -1, tol = singular ? 1e-7 : 1e-12;
    CHECK(fm_fd_stats(&mu_a, &ca, &mu_b, &cb, &got) == FM_OK, "%s", fm_last_error());
    CHECK(rel_close(got, want, tol, scale), "commuting d=%lld%s: %.17g want %.17g",
          (long long)d, singular ? " singular" : "", got, want);
    CHECK(fm_fd_stats(&mu_b, &cb, &mu_a, &ca, &back) == FM_OK, "%s", fm_last_error());
    CHECK(rel_close(back, want, tol, scale), "swapped: %.17g want %.17g", back, want);
    free(q); free(la); free(lb);
    fm_tensor_free(&mu_a); fm_tensor_free(&mu_b);
    fm_tensor_free(&ca); fm_tensor_free(&cb);
}

/* In 2-D, a PSD M with eigenvalues m1, m2 has (sqrt m1 + sqrt m2)^2 =
 * tr M + 2 sqrt(det M), and M = S_a^1/2 S_b S_a^1/2 has tr M = tr(S_a S_b)
 * and det M = det S_a det S_b: a closed form for non-commuting S_a, S_b. */
static void test_noncommuting_2d(void)
{
    fm_tensor mu = make(FM_FLOAT64, 1, 2, 0);
    fm_tensor ca = make(FM_FLOAT64, 2, 2, 2), cb = make(FM_FLOAT64, 2, 2, 2);
    const double a[4] = { 2.0, 0.7, 0.7, 1.0 }, b[4] = { 0.5, -0.2, -0.2, 3.0 };
    memcpy(ca.data, a, sizeof a);
    memcpy(cb.data, b, sizeof b);
    f64(&mu)[0] = f64(&mu)[1] = 0.0;
    double tr_ab = a[0] * b[0] + a[1] * b[2] + a[2] * b[1] + a[3] * b[3];
    double det = (a[0] * a[3] - a[1] * a[2]) * (b[0] * b[3] - b[1] * b[2]);
    double want = a[0] + a[3] + b[0] + b[3] - 2 * sqrt(tr_ab + 2 * sqrt(det));
    double got = -1;
    CHECK(fm_fd_stats(&mu, &ca, &mu, &cb, &got) == FM_OK, "%s", fm_last_error());
    CHECK(rel_close(got, want, 1e-13, 6.5), "2-D: %.17g want %.17g", got, want);
    fm_tensor_free(&mu); fm_tensor_free(&ca); fm_tensor_free(&cb);
}

/* 1-D features: FD = (m_a - m_b)^2 + (s_a - s_b)^2 with s the unbiased
 * sample standard deviations, computed here by plain two-pass loops. */
static void sample_moments(const fm_tensor *x, double *m, double *s)
{
    int64_t n = x->shape[0];
    double sum = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) sum += fm_tensor_get(x, i);
    *m = sum / (double)n;
    for (int64_t i = 0; i < n; i++) ss += pow(fm_tensor_get(x, i) - *m, 2);
    *s = sqrt(ss / (double)(n - 1));
}

static void test_1d(void)
{
    fm_rng r;
    fm_rng_seed(&r, 21);
    fm_tensor a = make(FM_FLOAT64, 2, 500, 1), b = make(FM_FLOAT64, 2, 300, 1);
    fm_rng_normal(&r, &a, 1.0, 2.0);
    fm_rng_normal(&r, &b, -0.5, 0.5);
    double ma, sa, mb, sb, got = -1;
    sample_moments(&a, &ma, &sa);
    sample_moments(&b, &mb, &sb);
    double want = (ma - mb) * (ma - mb) + (sa - sb) * (sa - sb);
    CHECK(fm_metric_fd(&a, &b, &got) == FM_OK, "%s", fm_last_error());
    CHECK(rel_close(got, want, 1e-12, want), "1-D: %.17g want %.17g", got, want);
    fm_tensor_free(&a); fm_tensor_free(&b);
}

/* fm_gaussian_stats against plain loops (mean, then sum of centred
 * products / (n - 1)): 1e-12 relative to the largest variance. */
static void test_stats(void)
{
    const int64_t n = 700, d = 9;
    fm_tensor x = features(FM_FLOAT64, n, d, 31, 1.0);
    fm_tensor mu = make(FM_FLOAT64, 1, d, 0), cov = make(FM_FLOAT64, 2, d, d);
    CHECK(fm_gaussian_stats(&x, &mu, &cov) == FM_OK, "%s", fm_last_error());
    const double *xs = x.data;
    double m[9] = { 0 }, vmax = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++) m[k] += xs[i * d + k] / (double)n;
    for (int64_t k = 0; k < d; k++)
        CHECK(fabs(f64(&mu)[k] - m[k]) <= 1e-12, "mu[%lld]", (long long)k);
    for (int64_t j = 0; j < d; j++) vmax = fmax(vmax, f64(&cov)[j * d + j]);
    for (int64_t j = 0; j < d; j++)
        for (int64_t k = 0; k < d; k++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++)
                s += (xs[i * d + j] - m[j]) * (xs[i * d + k] - m[k]);
            s /= (double)(n - 1);
            CHECK(fabs(f64(&cov)[j * d + k] - s) <= 1e-12 * vmax,
                  "cov[%lld, %lld] %.17g want %.17g", (long long)j, (long long)k,
                  f64(&cov)[j * d + k], s);
        }
    fm_tensor bad = make(FM_FLOAT32, 1, d, 0);
    CHECK(fm_gaussian_stats(&x, &bad, &cov) == FM_ESHAPE, "float32 mu output accepted");
    fm_tensor_free(&bad);
    fm_tensor_free(&x); fm_tensor_free(&mu); fm_tensor_free(&cov);
}

/* x + c (every row shifted by c_k = h (k % 5 - 2)); returns |c|^2. The
 * covariance is unchanged up to rounding, so FD(x, x + c) = |c|^2: unlike
 * FD(x, x), which is clamped at 0, this shows the rounding of the
 * cancellation tr S + tr S - 2 tr S on either side of 0. */
static double shifted(const fm_tensor *x, double h, fm_tensor *out)
{
    int64_t n = x->shape[0], d = x->shape[1];
    *out = make(FM_FLOAT64, 2, n, d);
    double c2 = 0;
    for (int64_t k = 0; k < d; k++) c2 += pow(h * (double)(k % 5 - 2), 2);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++)
            fm_tensor_set(out, i * d + k, fm_tensor_get(x, i * d + k) +
                          h * (double)(k % 5 - 2));
    return c2;
}

/* FD(x, x) is 0 up to rounding of tr(S) + tr(S) - 2 tr(S): 1e-10 relative
 * to tr(S) (measured ~1e-14); FD(a, b) = FD(b, a) to 1e-10 relative; fd
 * equals fd_stats of gaussian_stats. */
static void test_self_and_symmetry(int64_t d, int64_t n)
{
    fm_tensor a = features(FM_FLOAT64, n, d, 41, 0.0);
    fm_tensor b = features(FM_FLOAT64, n + 17, d, 42, 0.5);
    double self = -1, ab = -1, ba = -1, st = -1, tr = 0;
    CHECK(fm_metric_fd(&a, &a, &self) == FM_OK, "%s", fm_last_error());
    CHECK(fm_metric_fd(&a, &b, &ab) == FM_OK, "%s", fm_last_error());
    CHECK(fm_metric_fd(&b, &a, &ba) == FM_OK, "%s", fm_last_error());
    fm_tensor mu_a = make(FM_FLOAT64, 1, d, 0), ca = make(FM_FLOAT64, 2, d, d);
    fm_tensor mu_b = make(FM_FLOAT64, 1, d, 0), cb = make(FM_FLOAT64, 2, d, d);
    fm_gaussian_stats(&a, &mu_a, &ca);
    fm_gaussian_stats(&b, &mu_b, &cb);
    for (int64_t k = 0; k < d; k++) tr += f64(&ca)[k * d + k];
    CHECK(fm_fd_stats(&mu_a, &ca, &mu_b, &cb, &st) == FM_OK, "%s", fm_last_error());
    fm_tensor as;
    double c2 = shifted(&a, 1e-4, &as), shift = -1;
    CHECK(fm_metric_fd(&a, &as, &shift) == FM_OK, "%s", fm_last_error());
    printf("d=%lld n=%lld: FD(a,a) = %.3g, FD(a,a+c) - |c|^2 = %.3g (tr S = "
           "%.4g), FD(a,b) = %.10g, FD(b,a) - FD(a,b) = %.3g\n", (long long)d,
           (long long)n, self, shift - c2, tr, ab, ba - ab);
    CHECK(self >= 0 && self <= 1e-10 * tr, "FD(a, a) = %.17g", self);
    CHECK(fabs(shift - c2) <= 1e-10 * tr, "FD(a, a + c) %.17g |c|^2 %.17g", shift, c2);
    fm_tensor_free(&as);
    CHECK(ab > 0 && rel_close(ba, ab, 1e-10, ab), "FD(a,b) %.17g FD(b,a) %.17g", ab, ba);
    CHECK(st == ab, "fd_stats %.17g fd %.17g", st, ab);
    fm_tensor_free(&a); fm_tensor_free(&b);
    fm_tensor_free(&mu_a); fm_tensor_free(&ca);
    fm_tensor_free(&mu_b); fm_tensor_free(&cb);
}

/* Inputs are converted to double first, so float32 features give the same
 * FD as a float64 copy of their values, and a transposed view (strides
 * (1, n)) the same as a contiguous copy: bit-equal. */
static void test_dtypes_and_strides(void)
{
    const int64_t n = 60, d = 5;
    fm_tensor a32 = features(FM_FLOAT32, n, d, 51, 0.0);
    fm_tensor b = features(FM_FLOAT64, n, d, 52, 1.0);
    fm_tensor a64 = make(FM_FLOAT64, 2, n, d), base = make(FM_FLOAT32, 2, d, n);
    for (int64_t i = 0; i < n * d; i++) fm_tensor_set(&a64, i, fm_tensor_get(&a32, i));
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++)
            fm_tensor_set(&base, k * n + i, fm_tensor_get(&a32, i * d + k));
    fm_tensor view = base;
    view.shape[0] = n; view.shape[1] = d; view.stride[0] = 1; view.stride[1] = n;
    double f32 = -1, f64v = -2, fv = -3;
    CHECK(fm_metric_fd(&a32, &b, &f32) == FM_OK, "%s", fm_last_error());
    CHECK(fm_metric_fd(&a64, &b, &f64v) == FM_OK, "%s", fm_last_error());
    CHECK(fm_metric_fd(&view, &b, &fv) == FM_OK, "%s", fm_last_error());
    CHECK(f32 == f64v && fv == f64v && f32 > 0, "float32 %.17g float64 %.17g "
          "strided %.17g", f32, f64v, fv);
    fm_tensor_free(&a32); fm_tensor_free(&b); fm_tensor_free(&a64); fm_tensor_free(&base);
}

/* n < d: rank-deficient covariances (rank n - 1), many zero eigenvalues
 * that round to +-eps. The result must be finite and >= 0, and FD(x, x)
 * tiny: the sqrt of eigenvalues at rounding level (~1e-16 tr) is ~1e-8,
 * summed over d of them: 1e-6 times d (measured: 2e-13). */
static void test_rank_deficient(void)
{
    const int64_t d = 40;
    fm_tensor a = features(FM_FLOAT64, 12, d, 61, 0.0);
    fm_tensor b = features(FM_FLOAT64, 25, d, 62, 0.3);
    fm_tensor as;
    double ab = -1, aa = -1, shift = -1, c2 = shifted(&a, 1e-2, &as);
    CHECK(fm_metric_fd(&a, &b, &ab) == FM_OK, "%s", fm_last_error());
    CHECK(fm_metric_fd(&a, &a, &aa) == FM_OK, "%s", fm_last_error());
    CHECK(fm_metric_fd(&a, &as, &shift) == FM_OK, "%s", fm_last_error());
    printf("rank-deficient: FD(a,b) = %.10g, FD(a,a) = %.3g, FD(a,a+c) - |c|^2 "
           "= %.3g\n", ab, aa, shift - c2);
    CHECK(isfinite(ab) && ab > 0, "FD(a, b) = %g", ab);
    CHECK(isfinite(aa) && aa >= 0 && aa <= 1e-6 * d, "FD(a, a) = %g", aa);
    CHECK(fabs(shift - c2) <= 1e-6 * d, "FD(a, a + c) %.17g |c|^2 %.17g", shift, c2);
    fm_tensor_free(&as);
    fm_tensor_free(&a); fm_tensor_free(&b);
}

static void expect_error(fm_status got, fm_status want, const char *needle,
                         const char *what)
{
    CHECK(got == want, "%s: status %s want %s", what, fm_status_name(got),
          fm_status_name(want));
    CHECK(strstr(fm_last_error(), needle) != NULL, "%s: message \"%s\" lacks "
          "\"%s\"", what, fm_last_error(), needle);
}

static void test_feature_errors(void)
{
    fm_tensor a = features(FM_FLOAT64, 10, 3, 71, 0.0);
    fm_tensor b4 = make(FM_FLOAT64, 2, 10, 4), one = make(FM_FLOAT64, 2, 1, 3);
    fm_tensor vec = make(FM_FLOAT64, 1, 10, 0), ints = make(FM_INT64, 2, 10, 3);
    fm_tensor nan = features(FM_FLOAT32, 10, 3, 72, 0.0);
    memset(b4.data, 0, fm_tensor_nbytes(&b4));
    memset(one.data, 0, fm_tensor_nbytes(&one));
    fm_tensor_set(&nan, 7, NAN);
    double v = 0;
    expect_error(fm_metric_fd(&a, &b4, &v), FM_ESHAPE, "same number of columns", "d");
    expect_error(fm_metric_fd(&a, &one, &v), FM_ESHAPE, "features_b needs at least 2", "n=1");
    expect_error(fm_metric_fd(&vec, &a, &v), FM_ESHAPE, "features_a must be (n, d)", "1-D");
    expect_error(fm_metric_fd(&a, &ints, &v), FM_ETYPE, "features_b must be float", "int64");
    expect_error(fm_metric_fd(&a, &nan, &v), FM_EVALUE, "features_b has a non-finite "
                 "value (nan) at row 3, column 2", "nan");
    fm_tensor_set(&nan, 7, INFINITY);
    expect_error(fm_metric_fd(&nan, &a, &v), FM_EVALUE, "features_a has a non-finite "
                 "value (inf)", "inf");
    for (int64_t i = 0; i < 30; i++) fm_tensor_set(&b4, i, 1e200 * fm_tensor_get(&a, i));
    b4.shape[1] = 3; /* (10, 3) of 1e200s: the squares overflow */
    expect_error(fm_metric_fd(&a, &b4, &v), FM_EVALUE, "covariance of features_b "
                 "overflows", "overflow");
    fm_tensor_free(&a); fm_tensor_free(&b4); fm_tensor_free(&one);
    fm_tensor_free(&vec); fm_tensor_free(&ints); fm_tensor_free(&nan);
}

/* Statistics errors: shapes, asymmetric and indefinite covariances (the
 * latter caught on cov_a's eigenvalues, or on S_a^1/2 S_b S_a^1/2 for
 * cov_b), and a LAPACK failure (LAPACKE's NaN check gives info = -5). */
static void test_stats_errors(void)
{
    fm_tensor mu = make(FM_FLOAT64, 1, 2, 0), mu3 = make(FM_FLOAT64, 1, 3, 0);
    fm_tensor eye = make(FM_FLOAT64, 2, 2, 2), c = make(FM_FLOAT64, 2, 2, 2);
    memset(mu.data, 0, 2 * sizeof(double));
    memset(mu3.data, 0, 3 * sizeof(double));
    const double id[4] = { 1, 0, 0, 1 }, asym[4] = { 1, 0.5, 0, 1 };
    const double indef[4] = { 1, 0, 0, -0.5 };
    memcpy(eye.data, id, sizeof id);
    double v = 0;
    expect_error(fm_fd_stats(&mu3, &eye, &mu, &eye, &v), FM_ESHAPE, "mu_a (3,)", "d");
    memcpy(c.data, asym, sizeof asym);
    expect_error(fm_fd_stats(&mu, &eye, &mu, &c, &v), FM_EVALUE, "cov_b is not symmetric", "asym");
    memcpy(c.data, indef, sizeof indef);
    expect_error(fm_fd_stats(&mu, &c, &mu, &eye, &v), FM_EVALUE,
                 "cov_a is not positive semi-definite", "indefinite a");
    expect_error(fm_fd_stats(&mu, &eye, &mu, &c, &v), FM_EVALUE,
                 "cov_b is not positive semi-definite", "indefinite b");
    const double huge[4] = { 1e300, 0, 0, 1e300 };
    memcpy(c.data, huge, sizeof huge);
    expect_error(fm_fd_stats(&mu, &c, &mu, &c, &v), FM_EVALUE, "overflows double",
                 "overflow");
    f64(&c)[0] = NAN;
    expect_error(fm_fd_stats(&mu, &eye, &mu, &c, &v), FM_EVALUE, "cov_b has a non-finite", "nan");
    double m[4] = { 1, NAN, NAN, 1 }, w[2];
    expect_error(fm_sym_eig(m, 2, true, w, "eig"), FM_EVALUE, "LAPACK dsyevd failed (info -5",
                 "lapack");
    fm_tensor_free(&mu); fm_tensor_free(&mu3); fm_tensor_free(&eye); fm_tensor_free(&c);
}

int main(void)
{
    test_commuting(1, false);
    test_commuting(7, false);
    test_commuting(64, false);
    test_commuting(7, true);
    test_commuting(64, true);
    test_noncommuting_2d();
    test_1d();
    test_stats();
    test_self_and_symmetry(16, 400);
    test_self_and_symmetry(64, 2000);
    test_dtypes_and_strides();
    test_rank_deficient();
    test_feature_errors();
    test_stats_errors();
    if (failures) { fprintf(stderr, "%d failures\n", failures); return 1; }
    puts("ok");
    return 0;
}
