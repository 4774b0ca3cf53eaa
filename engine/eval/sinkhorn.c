/* sinkhorn.c — log-domain Sinkhorn and draws from a transport plan
 * (docs/math.md §4, "Entropic couplings"; the iteration is described in
 * sinkhorn.h). */
#include "eval/sinkhorn.h"
#include "core/pool.h"

#include <math.h>
#include <stdlib.h>

/* The scaled cost C / eps row-major (n x m) in ce and transposed in cet, so
 * that both half-updates read contiguous rows. */
static fm_status scaled_costs(const double *cost, int64_t n, int64_t m,
                              double eps, double *ce, double *cet)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) {
            double c = cost[i * m + j];
            if (!isfinite(c))
                return fm_error(FM_EVALUE, "sinkhorn: cost[%lld, %lld] is %g "
                                "(must be finite)", (long long)i + 1,
                                (long long)j + 1, c);
            ce[i * m + j] = cet[j * n + i] = c / eps;
        }
    return FM_OK;
}

/* log of the weights w (k) normalised to sum 1 (uniform for NULL) into lw;
 * name ("a" or "b") goes in the error. */
static fm_status log_weights(const double *w, int64_t k, const char *name,
                             double *lw)
{
    double total = 0;
    for (int64_t i = 0; w && i < k; i++) {
        if (!(w[i] >= 0) || !isfinite(w[i]))
            return fm_error(FM_EVALUE, "sinkhorn: weight %s[%lld] is %g (must "
                            "be finite and >= 0)", name, (long long)i + 1, w[i]);
        total += w[i];
    }
    if (w && !(total > 0))
        return fm_error(FM_EVALUE, "sinkhorn: the weights %s sum to 0", name);
    for (int64_t i = 0; i < k; i++)
        lw[i] = w ? (w[i] > 0 ? log(w[i] / total) : -INFINITY) : -log((double)k);
    return FM_OK;
}

/* logsumexp_j (h_j - row_j) over k entries, shifted by the maximum; -inf
 * when every term is -inf. */
static double row_lse(const double *h, const double *row, int64_t k)
{
    double mx = -INFINITY;
    for (int64_t j = 0; j < k; j++) {
        double v = h[j] - row[j];
        if (v > mx) mx = v;
    }
    if (mx == -INFINITY) return mx;
    double s = 0;
    for (int64_t j = 0; j < k; j++) s += exp(h[j] - row[j] - mx);
    return mx + log(s);
}

/* One half-update over the k rows of ce (each of length len):
 * out_i = lw_i - lse_j (other_j - ce_ij), and err_i = |exp(old_i + lse_i) - w_i|,
 * the row's marginal error under the old potential (old may equal out). The
 * rows are independent, so they are split among threads; each row's result
 * is the same however they are split. */
typedef struct {
    const double *ce, *lw, *other, *old;
    double *out, *err;
    int64_t k, len;
    int parts;
} half_job;

static void half_rows(void *ctx, int part)
{
    const half_job *j = ctx;
    long long lo, hi;
    fm_pool_range(j->k, j->parts, part, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        double l = row_lse(j->other, j->ce + i * j->len, j->len);
        double mass = j->old[i] == -INFINITY ? 0 : exp(j->old[i] + l);
        j->err[i] = fabs(mass - exp(j->lw[i]));
        j->out[i] = j->lw[i] == -INFINITY ? -INFINITY : j->lw[i] - l;
    }
}

/* Below this many entries a half-update (about a millisecond) is not worth
 * waking workers for: on the loaded 2-core VM a 128 x 128 SB-CFM plan took
 * 0.084 s on one thread and 0.197 s split in two. */
#define SINKHORN_SPLIT_MIN (1 << 18)

/* Runs one half-update (see half_rows) and returns the summed error, added
 * in row order so the result does not depend on the thread count; err is
 * scratch of k doubles. */
static double half_update(const double *ce, int64_t k, int64_t len,
                          const double *lw, const double *other,
                          const double *old, double *out, double *err)
{
    half_job j = { ce, lw, other, old, out, err, k, len, 1 };
    if (k * len >= SINKHORN_SPLIT_MIN) j.parts = fm_pool_threads();
    if (j.parts > k) j.parts = (int)k;
    fm_pool_run(j.parts, half_rows, &j);
    double total = 0;
    for (int64_t i = 0; i < k; i++) total += err[i];
    return total;
}

/* The plan P_ij = exp(F_i + G_j - ce_ij) and <P, C>. */
static double write_plan(const double *ce, const double *cost, int64_t n,
                         int64_t m, const double *F, const double *G,
                         double *plan)
{
    double total = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) {
            double p = exp(F[i] + G[j] - ce[i * m + j]);
            if (plan) plan[i * m + j] = p;
            total += p * cost[i * m + j];
        }
    return total;
}

static fm_status check_opts(int64_t n, int64_t m, const fm_sinkhorn_opts *o)
{
    if (n < 1 || m < 1)
        return fm_error(FM_ESHAPE, "sinkhorn: the cost must be n x m with "
                        "n, m >= 1, got %lld x %lld", (long long)n, (long long)m);
    if (!(o->eps > 0) || !isfinite(o->eps))
        return fm_error(FM_EVALUE, "sinkhorn: eps is %g (must be finite and > 0)",
                        o->eps);
    if (o->max_iters < 1)
        return fm_error(FM_EVALUE, "sinkhorn: iters is %lld (must be >= 1)",
                        (long long)o->max_iters);
    if (!(o->tol >= 0))
        return fm_error(FM_EVALUE, "sinkhorn: tol is %g (must be >= 0)", o->tol);
    return FM_OK;
}

/* The iteration over prepared buffers; F (n) and Fnext (n) are scratch,
 * F and G end as the potentials of the returned plan. Iteration k's F update
 * measures the row error of the plan after iteration k - 1; on stopping that
 * plan is kept (its columns are exact) and the new F is dropped. Polls
 * for Ctrl-C once per iteration. */
static fm_status iterate(const double *ce, const double *cet, int64_t n, int64_t m,
                    const double *la, const double *lb,
                    const fm_sinkhorn_opts *o, double *F, double *Fnext,
                    double *G, double *scratch, fm_sinkhorn_info *info)
{
    for (int64_t i = 0; i < n; i++) F[i] = 0;
    for (int64_t j = 0; j < m; j++) G[j] = 0;
    info->iters = 0;
    info->err = INFINITY;
    for (;;) {
        double err = half_update(ce, n, m, la, G, F, Fnext, scratch);
        if (info->iters > 0) {
            info->err = err;
            if (err <= o->tol || info->iters >= o->max_iters) break;
        }
        if (fm_interrupted())
            return fm_error(FM_EINTERRUPT, "sinkhorn: interrupted after %lld "
                            "iterations", (long long)info->iters);
        for (int64_t i = 0; i < n; i++) F[i] = Fnext[i];
        half_update(cet, m, n, lb, F, G, G, scratch);
        info->iters++;
    }
    info->converged = info->err <= o->tol;
    return FM_OK;
}

fm_status fm_sinkhorn(const double *cost, int64_t n, int64_t m,
                      const double *a, const double *b,
                      const fm_sinkhorn_opts *opts, double *plan, double *f,
                      double *g, fm_sinkhorn_info *info)
{
    fm_status st = check_opts(n, m, opts);
    if (st) return st;
    size_t nm = (size_t)n * (size_t)m;
    double *ce = malloc(2 * nm * sizeof(double));
    double *vec = malloc((size_t)(4 * n + 3 * m) * sizeof(double));
    if (!ce || !vec) {
        free(ce);
        free(vec);
        return fm_error(FM_ENOMEM, "sinkhorn: out of memory for %lld x %lld",
                        (long long)n, (long long)m);
    }
    double *la = vec, *F = la + n, *Fnext = F + n, *lb = Fnext + n, *G = lb + m;
    double *err = G + m; /* n + m scratch */
    if (!(st = scaled_costs(cost, n, m, opts->eps, ce, ce + nm)) &&
        !(st = log_weights(a, n, "a", la)) && !(st = log_weights(b, m, "b", lb))) {
        st = iterate(ce, ce + nm, n, m, la, lb, opts, F, Fnext, G, err, info);
    }
    if (!st) {
        info->cost = write_plan(ce, cost, n, m, F, G, plan);
        for (int64_t i = 0; f && i < n; i++) f[i] = opts->eps * F[i];
        for (int64_t j = 0; g && j < m; j++) g[j] = opts->eps * G[j];
    }
    free(ce);
    free(vec);
    return st;
}

fm_status fm_plan_sample(fm_rng *rng, const double *plan, int64_t n, int64_t m,
                         int64_t k, int64_t base, int64_t *rows, int64_t *cols)
{
    if (n < 1 || m < 1 || k < 0)
        return fm_error(FM_ESHAPE, "plan_sample: plan %lld x %lld, %lld draws",
                        (long long)n, (long long)m, (long long)k);
    fm_tensor p, out;
    int64_t pn[1] = { n * m }, kn[1] = { k };
    fm_tensor_init(&p, (void *)plan, FM_FLOAT64, 1, pn);
    fm_tensor_init(&out, rows, FM_INT64, 1, kn);
    fm_status st = fm_rng_multinomial(rng, &p, true, 0, &out);
    if (st) return st;
    for (int64_t s = 0; s < k; s++) { /* flat index -> (row, column) */
        cols[s] = rows[s] % m + base;
        rows[s] = rows[s] / m + base;
    }
    return FM_OK;
}
