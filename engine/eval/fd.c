/* fd.c — Fréchet distance of fitted Gaussians (docs/math.md §10). See fd.h.
 *
 * Covariances by one cblas_dsyrk of the centred features, products by
 * cblas_dgemm, square roots by LAPACKE_dsyevd (symmetric eigenvalues, so
 * every square root is of a non-negative real number). */
#include "eval/fd.h"
#include "eval/assign.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Largest asymmetry |c_ij - c_ji| of a covariance, relative to max |c|, and
 * most negative eigenvalue, relative to the largest |eigenvalue|, taken as
 * rounding (float32 statistics computed elsewhere round at ~1e-7 per entry,
 * summed over d terms). */
#define FD_SYM_TOL 1e-4
#define FD_PSD_TOL 1e-4

/* ---- checks and copies -------------------------------------------------- */

static bool all_finite(const double *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return false;
    return true;
}

static fm_status check_finite(const double *x, int64_t n, int64_t d,
                              const char *op, const char *name)
{
    for (int64_t i = 0; i < n * d; i++)
        if (!isfinite(x[i]))
            return fm_error(FM_EVALUE, "%s: %s has a non-finite value (%s) at "
                            "row %lld, column %lld (counting from 1)", op, name,
                            isnan(x[i]) ? "nan" : x[i] > 0 ? "inf" : "-inf",
                            (long long)(i / d + 1), (long long)(i % d + 1));
    return FM_OK;
}

static fm_status check_float(const fm_tensor *t, const char *op,
                             const char *name)
{
    if (!fm_dtype_is_float(t->dtype))
        return fm_error(FM_ETYPE, "%s: %s must be float32 or float64, got %s",
                        op, name, fm_dtype_name(t->dtype));
    return FM_OK;
}

/* A (n, d) float tensor, all finite, into a malloc'd row-major double copy. */
static fm_status load_f64(const fm_tensor *t, const char *op, const char *name,
                          double **out)
{
    *out = NULL;
    fm_status st = check_float(t, op, name);
    if (st || (st = fm_points_to_f64(t, op, out))) return st;
    st = check_finite(*out, t->shape[0], t->shape[1], op, name);
    if (st) { free(*out); *out = NULL; }
    return st;
}

/* Features must be (n, d) with n >= 2 (a covariance needs two rows) and
 * sizes BLAS can index (int). */
static fm_status check_features(const fm_tensor *x, const char *op,
                                const char *name)
{
    char s[FM_SHAPE_STR_MAX];
    if (x->ndim != 2 || x->shape[1] < 1)
        return fm_error(FM_ESHAPE, "%s: %s must be (n, d) features with "
                        "d >= 1, got %s", op, name, fm_shape_str(x, s, sizeof s));
    if (x->shape[0] < 2)
        return fm_error(FM_ESHAPE, "%s: %s needs at least 2 rows for a "
                        "covariance, got %s", op, name, fm_shape_str(x, s, sizeof s));
    if (x->shape[0] > INT_MAX || x->shape[1] > INT_MAX / x->shape[1])
        return fm_error(FM_ESHAPE, "%s: %s %s is too large for BLAS", op, name,
                        fm_shape_str(x, s, sizeof s));
    return check_float(x, op, name);
}

/* ---- Gaussian statistics ------------------------------------------------- */

static void column_means(const double *x, int64_t n, int64_t d, double *mu)
{
    memset(mu, 0, (size_t)d * sizeof *mu);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++) mu[k] += x[i * d + k];
    for (int64_t k = 0; k < d; k++) mu[k] /= (double)n;
}

/* The lower triangle of a row-major d x d matrix from its upper one. */
static void mirror_upper(double *c, int64_t d)
{
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < i; j++) c[i * d + j] = c[j * d + i];
}

/* mu and the unbiased cov = (x - mu)^T (x - mu) / (n - 1) of x (n, d);
 * x is centred in place first (two passes: no cancellation between
 * E[x x^T] and mu mu^T). */
static void stats_of(double *x, int64_t n, int64_t d, double *mu, double *cov)
{
    column_means(x, n, d, mu);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++) x[i * d + k] -= mu[k];
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n,
                1.0 / (double)(n - 1), x, (int)d, 0.0, cov, (int)d);
    mirror_upper(cov, d);
}

/* Checked features into mu (d) and cov (d * d), caller-allocated. */
static fm_status features_stats(const fm_tensor *x, const char *op,
                                const char *name, double *mu, double *cov)
{
    double *buf;
    fm_status st = check_features(x, op, name);
    if (st || (st = load_f64(x, op, name, &buf))) return st;
    int64_t d = x->shape[1];
    stats_of(buf, x->shape[0], d, mu, cov);
    free(buf);
    if (!all_finite(mu, d) || !all_finite(cov, d * d))
        return fm_error(FM_EVALUE, "%s: the mean or covariance of %s overflows "
                        "double (values too large)", op, name);
    return FM_OK;
}

static bool is_f64_contiguous(const fm_tensor *t, int ndim, const int64_t *shape)
{
    if (t->dtype != FM_FLOAT64 || t->ndim != ndim || !fm_tensor_is_contiguous(t))
        return false;
    for (int k = 0; k < ndim; k++)
        if (t->shape[k] != shape[k]) return false;
    return true;
}

fm_status fm_gaussian_stats(const fm_tensor *x, fm_tensor *mu, fm_tensor *cov)
{
    const char *op = "gaussian_stats";
    fm_status st = check_features(x, op, "features");
    if (st) return st;
    int64_t d = x->shape[1], sm[1] = { d }, sc[2] = { d, d };
    if (!is_f64_contiguous(mu, 1, sm) || !is_f64_contiguous(cov, 2, sc)) {
        char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: outputs mu %s and cov %s must be "
                        "contiguous float64 (%lld) and (%lld, %lld)", op,
                        fm_shape_str(mu, s1, sizeof s1),
                        fm_shape_str(cov, s2, sizeof s2), (long long)d,
                        (long long)d, (long long)d);
    }
    return features_stats(x, op, "features", mu->data, cov->data);
}

/* ---- eigenvalues --------------------------------------------------------- */

fm_status fm_sym_eig(double *a, int64_t d, bool vectors, double *w,
                     const char *what)
{
    if (d < 1 || d > INT_MAX)
        return fm_error(FM_ESHAPE, "%s: matrix size %lld out of range", what,
                        (long long)d);
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, vectors ? 'V' : 'N',
                                     'U', (lapack_int)d, a, (lapack_int)d, w);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return fm_error(FM_ENOMEM, "%s: out of memory in LAPACK dsyevd "
                        "(d = %lld)", what, (long long)d);
    if (info != 0)
        return fm_error(FM_EVALUE, "%s: LAPACK dsyevd failed (info %d: %s)",
                        what, (int)info, info < 0
                        ? "an invalid argument, such as a NaN in the matrix"
                        : "the eigenvalues did not converge");
    return FM_OK;
}

/* Ascending eigenvalues w of a matrix that should be PSD: fails if the
 * smallest is below -FD_PSD_TOL times the largest magnitude. */
static fm_status check_psd(const double *w, int64_t d, const char *op,
                           const char *name)
{
    double scale = fmax(fabs(w[0]), fabs(w[d - 1]));
    if (w[0] < -FD_PSD_TOL * scale)
        return fm_error(FM_EVALUE, "%s: %s is not positive semi-definite "
                        "(eigenvalue %g, largest magnitude %g)", op, name,
                        w[0], scale);
    return FM_OK;
}

/* ---- the distance -------------------------------------------------------- */

/* W = V diag(sqrt(max(l, 0))): the columns of V scaled (negative l, from
 * rounding, count as 0). */
static void scale_columns_sqrt(double *v, const double *l, int64_t d)
{
    for (int64_t i = 0; i < d; i++)
        for (int64_t k = 0; k < d; k++) v[i * d + k] *= sqrt(fmax(l[k], 0.0));
}

static void symmetrise(double *c, int64_t d)
{
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < i; j++) {
            double m = 0.5 * (c[i * d + j] + c[j * d + i]);
            c[i * d + j] = c[j * d + i] = m;
        }
}

/* tr((S_a^1/2 S_b S_a^1/2)^1/2) (docs/math.md §10, the stable square root).
 * With S_a = V L V^T, S_a^1/2 = V L^1/2 V^T and
 *   M = S_a^1/2 S_b S_a^1/2 = V N V^T,  N = W^T S_b W,  W = V L^1/2,
 * so M and N have the same eigenvalues (V is orthogonal) and N needs two
 * products instead of three. N is PSD when S_b is; its trace square root is
 * sum sqrt(max(eig(N), 0)). cov_a is destroyed. */
static fm_status trace_sqrt_product(double *cov_a, const double *cov_b,
                                    int64_t d, const char *op, double *out)
{
    const int n = (int)d;
    double *l = malloc((size_t)d * sizeof(double));
    double *t = malloc((size_t)(d * d) * sizeof(double));
    double *nm = malloc((size_t)(d * d) * sizeof(double));
    fm_status st = FM_OK;
    if (!l || !t || !nm) {
        st = fm_error(FM_ENOMEM, "%s: out of memory (d = %lld)", op, (long long)d);
        goto done;
    }
    if ((st = fm_sym_eig(cov_a, d, true, l, op)) ||
        (st = check_psd(l, d, op, "cov_a")))
        goto done;
    scale_columns_sqrt(cov_a, l, d); /* cov_a now holds W */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0,
                cov_b, n, cov_a, n, 0.0, t, n);           /* T = S_b W */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0,
                cov_a, n, t, n, 0.0, nm, n);              /* N = W^T T */
    symmetrise(nm, d);
    if (!all_finite(nm, d * d)) {
        st = fm_error(FM_EVALUE, "%s: S_a^1/2 S_b S_a^1/2 overflows double "
                      "(covariances too large)", op);
        goto done;
    }
    if ((st = fm_sym_eig(nm, d, false, l, op)) ||
        (st = check_psd(l, d, op, "cov_b")))
        goto done;
    double s = 0.0;
    for (int64_t k = 0; k < d; k++) s += sqrt(fmax(l[k], 0.0));
    *out = s;
done:
    free(l); free(t); free(nm);
    return st;
}

static double trace(const double *c, int64_t d)
{
    double s = 0.0;
    for (int64_t k = 0; k < d; k++) s += c[k * d + k];
    return s;
}

/* FD from double statistics (docs/math.md §10); cov_a is destroyed. */
static fm_status fd_of_stats(const double *mu_a, double *cov_a,
                             const double *mu_b, const double *cov_b,
                             int64_t d, const char *op, double *out)
{
    double dmu = 0.0;
    for (int64_t k = 0; k < d; k++)
        dmu += (mu_a[k] - mu_b[k]) * (mu_a[k] - mu_b[k]);
    double tr_a = trace(cov_a, d), tr_b = trace(cov_b, d), tr_sqrt = 0.0;
    fm_status st = trace_sqrt_product(cov_a, cov_b, d, op, &tr_sqrt);
    if (st) return st;
    double fd = dmu + tr_a + tr_b - 2.0 * tr_sqrt;
    if (!isfinite(fd))
        return fm_error(FM_EVALUE, "%s: the distance is not finite (the "
                        "statistics overflow double)", op);
    *out = fd > 0.0 ? fd : 0.0;
    return FM_OK;
}

/* Two (d * d) and two (d) double buffers. */
typedef struct {
    double *mu_a, *cov_a, *mu_b, *cov_b;
} stats_pair;

static void stats_pair_free(stats_pair *p)
{
    free(p->mu_a); free(p->cov_a); free(p->mu_b); free(p->cov_b);
}

static fm_status stats_pair_alloc(stats_pair *p, int64_t d, const char *op)
{
    size_t v = (size_t)d * sizeof(double), m = v * (size_t)d;
    p->mu_a = malloc(v); p->mu_b = malloc(v);
    p->cov_a = malloc(m); p->cov_b = malloc(m);
    if (p->mu_a && p->mu_b && p->cov_a && p->cov_b) return FM_OK;
    stats_pair_free(p);
    return fm_error(FM_ENOMEM, "%s: out of memory (d = %lld)", op, (long long)d);
}

fm_status fm_metric_fd(const fm_tensor *a, const fm_tensor *b, double *out)
{
    const char *op = "fd";
    fm_status st;
    if ((st = check_features(a, op, "features_a")) ||
        (st = check_features(b, op, "features_b")))
        return st;
    if (a->shape[1] != b->shape[1]) {
        char sa[FM_SHAPE_STR_MAX], sb[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: features_a %s and features_b %s must "
                        "have the same number of columns d", op,
                        fm_shape_str(a, sa, sizeof sa), fm_shape_str(b, sb, sizeof sb));
    }
    int64_t d = a->shape[1];
    stats_pair p;
    if ((st = stats_pair_alloc(&p, d, op))) return st;
    if (!(st = features_stats(a, op, "features_a", p.mu_a, p.cov_a)) &&
        !(st = features_stats(b, op, "features_b", p.mu_b, p.cov_b)))
        st = fd_of_stats(p.mu_a, p.cov_a, p.mu_b, p.cov_b, d, op, out);
    stats_pair_free(&p);
    return st;
}

/* ---- from given statistics ----------------------------------------------- */

/* mu (d,) into m; cov (d, d), finite and symmetric, into c (symmetrised). */
static fm_status load_stats(const fm_tensor *mu, const fm_tensor *cov,
                            const char *op, const char *mu_name,
                            const char *cov_name, double *m, double *c)
{
    int64_t d = mu->shape[0];
    fm_tensor col = *mu; /* (d,) viewed as (d, 1) */
    col.ndim = 2; col.shape[1] = 1; col.stride[1] = 1;
    double *buf;
    fm_status st = load_f64(&col, op, mu_name, &buf);
    if (st) return st;
    memcpy(m, buf, (size_t)d * sizeof(double));
    free(buf);
    if ((st = load_f64(cov, op, cov_name, &buf))) return st;
    memcpy(c, buf, (size_t)(d * d) * sizeof(double));
    free(buf);
    double big = 0.0, worst = 0.0;
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < d; j++) {
            big = fmax(big, fabs(c[i * d + j]));
            worst = fmax(worst, fabs(c[i * d + j] - c[j * d + i]));
        }
    if (worst > FD_SYM_TOL * big)
        return fm_error(FM_EVALUE, "%s: %s is not symmetric (|c_ij - c_ji| "
                        "up to %g, entries up to %g)", op, cov_name, worst, big);
    symmetrise(c, d);
    return FM_OK;
}

static fm_status check_stats_shapes(const fm_tensor *mu_a, const fm_tensor *cov_a,
                                    const fm_tensor *mu_b, const fm_tensor *cov_b,
                                    const char *op)
{
    int64_t d = mu_a->ndim == 1 ? mu_a->shape[0] : -1;
    const fm_tensor *t[4] = { mu_a, cov_a, mu_b, cov_b };
    bool ok = d >= 1 && d <= 46340; /* d * d fits an int for BLAS */
    for (int k = 0; k < 4 && ok; k++) {
        int nd = k % 2 ? 2 : 1;
        ok = t[k]->ndim == nd && t[k]->shape[0] == d && (nd == 1 || t[k]->shape[1] == d);
    }
    if (ok) return FM_OK;
    char s[4][FM_SHAPE_STR_MAX];
    for (int k = 0; k < 4; k++) fm_shape_str(t[k], s[k], sizeof s[k]);
    return fm_error(FM_ESHAPE, "%s: mu_a %s, cov_a %s, mu_b %s, cov_b %s must "
                    "be (d,), (d, d), (d,), (d, d) with one d >= 1", op, s[0],
                    s[1], s[2], s[3]);
}

fm_status fm_fd_stats(const fm_tensor *mu_a, const fm_tensor *cov_a,
                      const fm_tensor *mu_b, const fm_tensor *cov_b,
                      double *out)
{
    const char *op = "fd_stats";
    fm_status st = check_stats_shapes(mu_a, cov_a, mu_b, cov_b, op);
    if (st) return st;
    int64_t d = mu_a->shape[0];
    stats_pair p;
    if ((st = stats_pair_alloc(&p, d, op))) return st;
    if (!(st = load_stats(mu_a, cov_a, op, "mu_a", "cov_a", p.mu_a, p.cov_a)) &&
        !(st = load_stats(mu_b, cov_b, op, "mu_b", "cov_b", p.mu_b, p.cov_b)))
        st = fd_of_stats(p.mu_a, p.cov_a, p.mu_b, p.cov_b, d, op, out);
    stats_pair_free(&p);
    return st;
}
