/* intrinsic_dim.c — k nearest neighbours and the Levina–Bickel intrinsic
 * dimension (docs/math.md §10). See intrinsic_dim.h. */
#include "eval/intrinsic_dim.h"
#include "eval/assign.h"

#include <math.h>
#include <stdlib.h>

/* Inserts r2 into the ascending list best[0..k) if it is smaller than the
 * largest entry (a k-long insertion step; k is small). */
static void keep_smallest(double *best, int64_t k, double r2)
{
    if (!(r2 < best[k - 1])) return;
    int64_t j = k - 1;
    while (j > 0 && best[j - 1] > r2) {
        best[j] = best[j - 1];
        j--;
    }
    best[j] = r2;
}

static fm_status load_points(const fm_tensor *x, int64_t k, int64_t kmin,
                             const char *op, double **p)
{
    char s[FM_SHAPE_STR_MAX];
    if (x->ndim != 2 || x->shape[1] == 0)
        return fm_error(FM_ESHAPE, "%s: points (n, d) expected, got %s", op,
                        fm_shape_str(x, s, sizeof s));
    if (k < kmin || k >= x->shape[0])
        return fm_error(FM_EVALUE, "%s: k = %lld neighbours needs %lld <= k < n "
                        "(n = %lld points)", op, (long long)k, (long long)kmin,
                        (long long)x->shape[0]);
    fm_status st = fm_points_to_f64(x, op, p);
    if (st) return st;
    int64_t n = x->shape[0], d = x->shape[1];
    for (int64_t i = 0; i < n * d; i++)
        if (!isfinite((*p)[i])) {
            free(*p);
            return fm_error(FM_EVALUE, "%s: x has a non-finite value at row %lld, "
                            "column %lld (counting from 1)", op,
                            (long long)(i / d + 1), (long long)(i % d + 1));
        }
    return FM_OK;
}

/* Squared distances of the k nearest other points of every row of p. */
static void knn_sq(const double *p, int64_t n, int64_t d, int64_t k, double *out)
{
    for (int64_t i = 0; i < n; i++) {
        double *best = out + i * k;
        for (int64_t j = 0; j < k; j++) best[j] = INFINITY;
        const double *u = p + i * d;
        for (int64_t m = 0; m < n; m++) {
            if (m == i) continue;
            const double *v = p + m * d;
            double r2 = 0.0;
            for (int64_t c = 0; c < d; c++) {
                double t = u[c] - v[c];
                r2 += t * t;
            }
            keep_smallest(best, k, r2);
        }
    }
}

fm_status fm_knn_dist(const fm_tensor *x, int64_t k, double *out)
{
    double *p = NULL;
    fm_status st = load_points(x, k, 1, "knn", &p);
    if (st) return st;
    int64_t n = x->shape[0];
    knn_sq(p, n, x->shape[1], k, out);
    for (int64_t i = 0; i < n * k; i++) out[i] = sqrt(out[i]);
    free(p);
    return FM_OK;
}

fm_status fm_intrinsic_dim(const fm_tensor *x, int64_t k, int average_inverse,
                           double *local, double *dim)
{
    double *p = NULL;
    fm_status st = load_points(x, k, 2, "intrinsic_dim", &p);
    if (st) return st;
    int64_t n = x->shape[0];
    double *t2 = malloc((size_t)(n * k) * sizeof *t2);
    if (!t2) {
        free(p);
        return fm_error(FM_ENOMEM, "intrinsic_dim: out of memory for %lld x %lld "
                        "distances", (long long)n, (long long)k);
    }
    knn_sq(p, n, x->shape[1], k, t2);
    free(p);
    double sum_m = 0.0, sum_inv = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double *r2 = t2 + i * k;
        if (!(r2[0] > 0.0)) {
            free(t2);
            return fm_error(FM_EVALUE, "intrinsic_dim: point %lld has a duplicate "
                            "(distance 0 to a neighbour); remove duplicates first",
                            (long long)(i + 1));
        }
        /* (1/(k-1)) sum_{j<k} log(T_k / T_j), with T = sqrt(r2): half the
         * log of the squared ratio (math.md §10) */
        double s = 0.0;
        for (int64_t j = 0; j < k - 1; j++) s += 0.5 * log(r2[k - 1] / r2[j]);
        double inv = s / (double)(k - 1);
        /* all k neighbours at one distance: the local dimension is infinite */
        double m = inv > 0.0 ? 1.0 / inv : INFINITY;
        if (local) local[i] = m;
        sum_m += m;
        sum_inv += inv;
    }
    free(t2);
    *dim = average_inverse ? (sum_inv > 0.0 ? (double)n / sum_inv : INFINITY)
                           : sum_m / (double)n;
    return FM_OK;
}
