/* metrics.c — distances between sample sets (docs/math.md §10). See metrics.h. */
#include "eval/metrics.h"
#include "eval/assign.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Two point sets copied to row-major doubles. */
typedef struct {
    double *x, *y;
    int64_t n, m, d;
} pair;

static void pair_free(pair *p) { free(p->x); free(p->y); }

/* NaN and inf are an error, as in w2 and fd (docs/reliability.md): a
 * distance of a sample set holding one is meaningless, not nan. */
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

static fm_status pair_load(const fm_tensor *a, const fm_tensor *b,
                           const char *op, pair *p)
{
    memset(p, 0, sizeof *p);
    char sa[FM_SHAPE_STR_MAX], sb[FM_SHAPE_STR_MAX];
    if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[1] ||
        a->shape[0] == 0 || b->shape[0] == 0 || a->shape[1] == 0)
        return fm_error(FM_ESHAPE, "%s: a %s and b %s must be non-empty (n, d) "
                        "and (m, d)", op, fm_shape_str(a, sa, sizeof sa),
                        fm_shape_str(b, sb, sizeof sb));
    fm_status st;
    if ((st = fm_points_to_f64(a, op, &p->x)) ||
        (st = fm_points_to_f64(b, op, &p->y))) {
        pair_free(p);
        return st;
    }
    p->n = a->shape[0];
    p->m = b->shape[0];
    p->d = a->shape[1];
    if ((st = check_finite(p->x, p->n, p->d, op, "a")) ||
        (st = check_finite(p->y, p->m, p->d, op, "b")))
        pair_free(p);
    return st;
}

static double sqdist(const double *u, const double *v, int64_t d)
{
    double s = 0.0;
    for (int64_t k = 0; k < d; k++) {
        double t = u[k] - v[k];
        s += t * t;
    }
    return s;
}

/* Kernel of a squared distance: sum of RBFs (coef[l] = -1 / (2 h_l^2)), or
 * the Euclidean distance when nb == 0. */
typedef struct {
    const double *coef;
    int nb;
} kernel;

static double kernel_eval(const kernel *k, double r2)
{
    if (k->nb == 0) return sqrt(r2);
    double s = 0.0;
    for (int l = 0; l < k->nb; l++) s += exp(k->coef[l] * r2);
    return s;
}

/* mean over all (i, j) of k(x_i, y_j), summed row by row (each row sum
 * separately, which keeps the rounding error at O(eps (n + m))). The same
 * loop for every pair of sets, so equal inputs give bit-equal means. */
static fm_status kernel_mean(const kernel *k, const double *x, int64_t n,
                             const double *y, int64_t m, int64_t d,
                             const char *op, double *out)
{
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if ((i & 255) == 0 && fm_interrupted())
            return fm_error(FM_EINTERRUPT, "%s: interrupted", op);
        const double *xi = x + i * d;
        double row = 0.0;
        for (int64_t j = 0; j < m; j++)
            row += kernel_eval(k, sqdist(xi, y + j * d, d));
        total += row;
    }
    *out = total / ((double)n * (double)m);
    return FM_OK;
}

/* k(a,a) + k(b,b) - 2 k(a,b) means: the MMD^2 / energy combination. */
static fm_status discrepancy(const kernel *k, const pair *p, const char *op,
                             double *out)
{
    double kxx, kyy, kxy;
    fm_status st;
    if ((st = kernel_mean(k, p->x, p->n, p->x, p->n, p->d, op, &kxx)) ||
        (st = kernel_mean(k, p->y, p->m, p->y, p->m, p->d, op, &kyy)) ||
        (st = kernel_mean(k, p->x, p->n, p->y, p->m, p->d, op, &kxy)))
        return st;
    *out = kxx + kyy - 2.0 * kxy;
    return FM_OK;
}

fm_status fm_metric_mmd(const fm_tensor *a, const fm_tensor *b,
                        const double *bandwidths, int nb, double *out)
{
    if (nb < 1 || nb > 64)
        return fm_error(FM_EVALUE, "mmd: need 1 to 64 bandwidths, got %d", nb);
    double coef[64];
    for (int l = 0; l < nb; l++) {
        double h = bandwidths[l];
        if (!(h > 0) || !isfinite(h))
            return fm_error(FM_EVALUE, "mmd: bandwidth %d is %g, must be "
                            "finite and > 0", l + 1, h);
        coef[l] = -1.0 / (2.0 * h * h);
    }
    pair p;
    fm_status st = pair_load(a, b, "mmd", &p);
    if (st) return st;
    kernel k = { coef, nb };
    /* MMD^2 = mean k(a,a') + mean k(b,b') - 2 mean k(a,b) */
    st = discrepancy(&k, &p, "mmd", out);
    pair_free(&p);
    return st;
}

fm_status fm_metric_energy(const fm_tensor *a, const fm_tensor *b,
                           double *out)
{
    pair p;
    fm_status st = pair_load(a, b, "energy", &p);
    if (st) return st;
    kernel k = { NULL, 0 };
    double v = 0.0;
    /* E|X-X'| + E|Y-Y'| - 2E|X-Y| is minus the energy distance */
    st = discrepancy(&k, &p, "energy", &v);
    *out = -v;
    pair_free(&p);
    return st;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Exact W2^2 between the empirical measures of sorted x (n) and y (m): the
 * quantile functions are constant on ((i)/n, (i+1)/n] and ((j)/m, (j+1)/m];
 * the breakpoints are merged in integer units of 1/(n m). */
static double w2sq_sorted(const double *x, int64_t n, const double *y,
                          int64_t m)
{
    if (n == m) {
        double s = 0.0;
        for (int64_t i = 0; i < n; i++) s += (x[i] - y[i]) * (x[i] - y[i]);
        return s / (double)n;
    }
    int64_t i = 0, j = 0, t = 0;
    double s = 0.0;
    while (i < n && j < m) {
        int64_t tx = (i + 1) * m, ty = (j + 1) * n;
        int64_t t1 = tx < ty ? tx : ty;
        double diff = x[i] - y[j];
        s += (double)(t1 - t) * diff * diff;
        t = t1;
        if (tx == t1) i++;
        if (ty == t1) j++;
    }
    return s / ((double)n * (double)m);
}

static void project(const double *x, int64_t n, int64_t d, const double *dir,
                    double *out)
{
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t k = 0; k < d; k++) s += x[i * d + k] * dir[k];
        out[i] = s;
    }
}

/* A uniform direction on the unit sphere: a normalised Gaussian vector
 * (redrawn in the measure-zero case of a zero vector). */
static void random_direction(fm_rng *rng, int64_t d, double *dir)
{
    double norm = 0.0;
    do {
        norm = 0.0;
        for (int64_t k = 0; k < d; k++) {
            dir[k] = fm_rng_normal01(rng);
            norm += dir[k] * dir[k];
        }
    } while (norm == 0.0);
    norm = sqrt(norm);
    for (int64_t k = 0; k < d; k++) dir[k] /= norm;
}

fm_status fm_metric_sliced_w2(const fm_tensor *a, const fm_tensor *b,
                              int nproj, fm_rng *rng, double *out)
{
    if (nproj < 1)
        return fm_error(FM_EVALUE, "sliced_w2: projections must be >= 1, got "
                        "%d", nproj);
    pair p;
    fm_status st = pair_load(a, b, "sliced_w2", &p);
    if (st) return st;
    double *dir = malloc((size_t)p.d * sizeof(double));
    double *px = malloc((size_t)p.n * sizeof(double));
    double *py = malloc((size_t)p.m * sizeof(double));
    if (!dir || !px || !py) {
        st = fm_error(FM_ENOMEM, "sliced_w2: out of memory");
        goto done;
    }
    double acc = 0.0;
    for (int l = 0; l < nproj; l++) {
        if (fm_interrupted()) {
            st = fm_error(FM_EINTERRUPT, "sliced_w2: interrupted");
            goto done;
        }
        random_direction(rng, p.d, dir);
        project(p.x, p.n, p.d, dir, px);
        project(p.y, p.m, p.d, dir, py);
        qsort(px, (size_t)p.n, sizeof(double), cmp_double);
        qsort(py, (size_t)p.m, sizeof(double), cmp_double);
        acc += w2sq_sorted(px, p.n, py, p.m);
    }
    *out = sqrt(acc / nproj);
done:
    free(dir); free(px); free(py);
    pair_free(&p);
    return st;
}

/* In 1-D the monotone (sorted) matching is optimal for the squared cost
 * (any crossing pair can be uncrossed without increasing it), so W2 needs a
 * sort instead of an O(n^3)-worst-case assignment. */
static fm_status w2_1d(const fm_tensor *a, const fm_tensor *b, double *out)
{
    pair p;
    fm_status st = pair_load(a, b, "w2", &p);
    if (st) return st;
    qsort(p.x, (size_t)p.n, sizeof(double), cmp_double);
    qsort(p.y, (size_t)p.m, sizeof(double), cmp_double);
    *out = sqrt(w2sq_sorted(p.x, p.n, p.y, p.m));
    pair_free(&p);
    return FM_OK;
}

fm_status fm_metric_w2(const fm_tensor *a, const fm_tensor *b, double *out)
{
    char sa[FM_SHAPE_STR_MAX], sb[FM_SHAPE_STR_MAX];
    if (a->ndim != 2 || b->ndim != 2 || a->shape[0] != b->shape[0] ||
        a->shape[1] != b->shape[1] || a->shape[0] == 0)
        return fm_error(FM_ESHAPE, "w2: a %s and b %s must be non-empty (n, d) "
                        "of the same shape", fm_shape_str(a, sa, sizeof sa),
                        fm_shape_str(b, sb, sizeof sb));
    int64_t n = a->shape[0];
    if (a->shape[1] == 1) return w2_1d(a, b, out);
    pair p;   /* name a non-finite point before the assignment sees its costs */
    fm_status fin = pair_load(a, b, "w2", &p);
    if (fin) return fin;
    pair_free(&p);
    int64_t *perm = malloc((size_t)n * sizeof(int64_t));
    if (!perm) return fm_error(FM_ENOMEM, "w2: out of memory");
    double cost = 0.0;
    fm_status st = fm_assign_points(a, b, perm, &cost);
    free(perm);
    if (st) return st;
    *out = sqrt(cost / (double)n);
    return FM_OK;
}

/* ---- median heuristic ---------------------------------------------------- */

static fm_status median_of(double *v, int64_t k, double *out)
{
    qsort(v, (size_t)k, sizeof(double), cmp_double);
    *out = k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
    return FM_OK;
}

fm_status fm_metric_median_dist(const fm_tensor *a, const fm_tensor *b,
                                double *out)
{
    pair p;
    fm_status st = pair_load(a, b, "median_dist", &p);
    if (st) return st;
    const int64_t total = p.n + p.m, cap = 1000;
    int64_t k = total < cap ? total : cap;
    if (k < 2) { /* one point in all: no pairs */
        pair_free(&p);
        return fm_error(FM_ESHAPE, "median_dist: need at least 2 points");
    }
    double *z = malloc((size_t)(k * p.d) * sizeof(double));
    double *dist = malloc((size_t)(k * (k - 1) / 2) * sizeof(double));
    if (!z || !dist) {
        st = fm_error(FM_ENOMEM, "median_dist: out of memory");
        goto done;
    }
    for (int64_t s = 0; s < k; s++) {
        int64_t idx = s * total / k; /* evenly spaced over the pool */
        const double *src = idx < p.n ? p.x + idx * p.d : p.y + (idx - p.n) * p.d;
        memcpy(z + s * p.d, src, (size_t)p.d * sizeof(double));
    }
    int64_t c = 0;
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = i + 1; j < k; j++)
            dist[c++] = sqrt(sqdist(z + i * p.d, z + j * p.d, p.d));
    st = median_of(dist, c, out);
done:
    free(z); free(dist);
    pair_free(&p);
    return st;
}
