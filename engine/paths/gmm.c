/* gmm.c — Gaussian mixtures and their exact path marginals (docs/math.md §3).
 *
 * The marginal velocity without 1/alpha or 1/beta. For one component
 * z ~ N(m, S) and x | z ~ N(alpha z, beta^2 I) (write a, b, da, db):
 *   C = a^2 S + b^2 I = Cov(x),  Cov(z, x) = a S, so by Gaussian conditioning
 *   E[z | x] = m + a S v,  with v = C^{-1} (x - a m).
 * The conditional field is u(x|z) = (da - db a/b) z + (db/b) x
 *   = da z + (db/b) (x - a z), and since x - a m = C v = a^2 S v + b^2 v,
 *   x - a E[z|x] = b^2 v. Averaging over the posterior (component k with
 *   responsibility r_k(x) = w_k N(x; a m_k, C_k) / p_t(x)):
 *   u_t(x) = E[u(x|z) | x] = sum_k r_k [ da m_k + (a da S_k + b db I) v_k ].
 * No division by a or b: finite at t = 0 (r_k = w_k, C_k = I,
 * u = da sum_k w_k m_k + db x) and at t = 1 (C_k = S_k, positive definite).
 * It equals docs/math.md's (da/a) x + (b^2 da/a - db b) grad log p_t(x) because
 * grad log p_t = -sum_k r_k v_k and x = a m_k + a^2 S_k v_k + b^2 v_k.
 */
#include "paths/gmm.h"
#include "core/rng_internal.h"
#include "core/rows.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_2PI 1.8378770664093454836

/* In-place lower Cholesky factor of the d x d matrix A (upper part zeroed);
 * adds log det A to *logdet. Returns the failing pivot + 1, or 0. */
static int64_t cholesky(double *A, int64_t d, double *logdet)
{
    for (int64_t j = 0; j < d; j++) {
        double s = A[j * d + j];
        for (int64_t p = 0; p < j; p++) s -= A[j * d + p] * A[j * d + p];
        if (!(s > 0) || !isfinite(s)) return j + 1;
        double l = sqrt(s);
        A[j * d + j] = l;
        *logdet += 2 * log(l);
        for (int64_t i = j + 1; i < d; i++) {
            double v = A[i * d + j];
            for (int64_t p = 0; p < j; p++) v -= A[i * d + p] * A[j * d + p];
            A[i * d + j] = v / l;
            A[j * d + i] = 0;
        }
    }
    return 0;
}

static fm_status not_pd(const char *op, int64_t comp, int64_t pivot)
{
    return fm_error(FM_EVALUE, "%s: covariance %lld is not positive definite "
                    "(Cholesky fails at pivot %lld)", op, (long long)comp,
                    (long long)pivot);
}

/* ---- construction ------------------------------------------------------- */

static fm_status factor_all(fm_gmm *g)
{
    int64_t k = g->k, d = g->d;
    for (int64_t c = 0; c < k; c++) {
        g->logdet[c] = 0;
        if (g->full) {
            double *L = g->chol + c * d * d, *S = g->cov + c * d * d;
            for (int64_t i = 0; i < d; i++)
                for (int64_t j = 0; j < d; j++)
                    if (fabs(S[i * d + j] - S[j * d + i]) >
                        1e-12 * (fabs(S[i * d + j]) + fabs(S[j * d + i])))
                        return fm_error(FM_EVALUE, "gmm: covariance %lld is not "
                                        "symmetric at (%lld, %lld)", (long long)c,
                                        (long long)i, (long long)j);
            memcpy(L, S, (size_t)(d * d) * sizeof(double));
            int64_t piv = cholesky(L, d, &g->logdet[c]);
            if (piv) return not_pd("gmm", c, piv - 1);
        } else {
            for (int64_t j = 0; j < d; j++) {
                double v = g->cov[c * d + j];
                if (!(v > 0) || !isfinite(v)) return not_pd("gmm", c, j);
                g->chol[c * d + j] = sqrt(v);
                g->logdet[c] += log(v);
            }
        }
    }
    return FM_OK;
}

fm_status fm_gmm_init_raw(fm_gmm *g, int64_t k, int64_t d, const double *weights,
                          const double *means, const double *cov, bool full)
{
    memset(g, 0, sizeof *g);
    if (k < 1 || d < 1 || k > (1 << 20) || d > (1 << 12))
        return fm_error(FM_EVALUE, "gmm: need 1 <= k, 1 <= d (got k %lld, d %lld)",
                        (long long)k, (long long)d);
    int64_t cs = full ? k * d * d : k * d;
    double *buf = malloc((size_t)(3 * k + k * d + 2 * cs) * sizeof(double));
    if (!buf) return fm_error(FM_ENOMEM, "gmm: out of memory");
    *g = (fm_gmm){k, d, full, buf, buf + k, buf + 2 * k, buf + 2 * k + k * d,
                  buf + 2 * k + k * d + cs, buf + 2 * k + k * d + 2 * cs};
    double sum = 0;
    for (int64_t c = 0; c < k; c++) {
        double w = weights ? weights[c] : 1.0;
        if (!(w >= 0) || !isfinite(w)) {
            fm_gmm_free(g);
            return fm_error(FM_EVALUE, "gmm: weight %lld is %g (need >= 0)",
                            (long long)c, w);
        }
        g->w[c] = w;
        sum += w;
    }
    for (int64_t c = 0; c < k; c++) {
        g->w[c] /= sum;
        g->logw[c] = log(g->w[c]);
    }
    memcpy(g->mean, means, (size_t)(k * d) * sizeof(double));
    for (int64_t i = 0; i < cs; i++)
        g->cov[i] = cov ? cov[i] : (!full || (i % (d * d)) % (d + 1) == 0);
    fm_status st = sum > 0 ? factor_all(g)
                 : fm_error(FM_EVALUE, "gmm: weights sum to 0");
    for (int64_t i = 0; !st && i < k * d; i++)
        if (!isfinite(g->mean[i])) st = fm_error(FM_EVALUE, "gmm: mean not finite");
    if (st) fm_gmm_free(g);
    return st;
}

void fm_gmm_free(fm_gmm *g)
{
    free(g->w);
    memset(g, 0, sizeof *g);
}

static double *tensor_doubles(const fm_tensor *t)
{
    int64_t n = fm_tensor_numel(t);
    double *a = malloc((size_t)(n ? n : 1) * sizeof(double));
    for (int64_t i = 0; a && i < n; i++) a[i] = fm_tensor_get(t, i);
    return a;
}

fm_status fm_gmm_init(fm_gmm *g, const fm_tensor *weights, const fm_tensor *means,
                      const fm_tensor *cov)
{
    char b1[FM_SHAPE_STR_MAX], b2[FM_SHAPE_STR_MAX];
    memset(g, 0, sizeof *g);
    if (means->ndim != 2)
        return fm_error(FM_ESHAPE, "gmm: means must be (k, d), got %s",
                        fm_shape_str(means, b1, sizeof b1));
    int64_t k = means->shape[0], d = means->shape[1];
    bool full = cov && cov->ndim == 3;
    if (weights && (weights->ndim != 1 || weights->shape[0] != k))
        return fm_error(FM_ESHAPE, "gmm: weights must be (%lld,), got %s",
                        (long long)k, fm_shape_str(weights, b1, sizeof b1));
    if (cov && !(cov->ndim >= 2 && cov->ndim <= 3 && cov->shape[0] == k &&
                 cov->shape[1] == d && (!full || cov->shape[2] == d)))
        return fm_error(FM_ESHAPE, "gmm: cov must be (k, d) variances or "
                        "(k, d, d); means %s, cov %s",
                        fm_shape_str(means, b1, sizeof b1),
                        fm_shape_str(cov, b2, sizeof b2));
    double *w = weights ? tensor_doubles(weights) : NULL;
    double *m = tensor_doubles(means), *c = cov ? tensor_doubles(cov) : NULL;
    fm_status st = (weights && !w) || !m || (cov && !c)
                 ? fm_error(FM_ENOMEM, "gmm: out of memory")
                 : fm_gmm_init_raw(g, k, d, w, m, c, full);
    free(w);
    free(m);
    free(c);
    return st;
}

/* ---- sampling ----------------------------------------------------------- */

fm_status fm_gmm_sample(const fm_gmm *g, fm_rng *rng, fm_tensor *out,
                        fm_tensor *labels, int64_t base)
{
    fm_status st = fm_rows_check(out, "gmm.sample", "out");
    if (st) return st;
    int64_t n = out->shape[0], d = g->d;
    if (out->shape[1] != d)
        return fm_error(FM_ESHAPE, "gmm.sample: out must have %lld columns",
                        (long long)d);
    if (labels && (fm_tensor_numel(labels) != n || labels->dtype != FM_INT64))
        return fm_error(FM_ESHAPE, "gmm.sample: labels must be (%lld,) int64",
                        (long long)n);
    /* the draws in two batches: n uniforms (component choice), then n d
     * standard normals, in float32 on the vectorised path when the output
     * is float32 (rng_normal_f32.c), else in double */
    bool f32 = out->dtype == FM_FLOAT32;
    size_t nd = (size_t)(n * d);
    double *u = malloc(((size_t)n + (f32 ? 0 : nd) + (size_t)d) * sizeof(double));
    float *ef = f32 ? malloc((nd ? nd : 1) * sizeof(float)) : NULL;
    if (!u || (f32 && !ef)) {
        free(u);
        free(ef);
        return fm_error(FM_ENOMEM, "gmm.sample: out of memory");
    }
    double *ed = u + n, *x = u + n + (f32 ? 0 : nd);
    fm_tensor tu, te;
    int64_t ndl = (int64_t)nd;
    fm_tensor_init(&tu, u, FM_FLOAT64, 1, &n);
    fm_rng_uniform(rng, &tu, 0, 1);
    if (f32) {
        fmi_rng_normal_f32(rng, ef, ndl, 0, 1);
    } else {
        fm_tensor_init(&te, ed, FM_FLOAT64, 1, &ndl);
        fm_rng_normal(rng, &te, 0, 1);
    }
    for (int64_t i = 0; i < n; i++) {
        double acc = 0;
        int64_t c = 0;
        for (; c < g->k - 1; c++)
            if (u[i] < (acc += g->w[c])) break;
        while (g->w[c] == 0 && c > 0) c--;   /* rounding at the top end */
        const double *m = g->mean + c * d;
        const float *efi = f32 ? ef + i * d : NULL;
        const double *edi = f32 ? NULL : ed + i * d;
        for (int64_t j = 0; j < d; j++) {
            double v = m[j];
            if (g->full) {
                const double *L = g->chol + c * d * d + j * d;
                for (int64_t p = 0; p <= j; p++)
                    v += L[p] * (f32 ? (double)efi[p] : edi[p]);
            } else {
                v += g->chol[c * d + j] * (f32 ? (double)efi[j] : edi[j]);
            }
            x[j] = v;
        }
        fm_row_write(out, i, x);
        if (labels) fm_tensor_set(labels, i, (double)(c + base));
    }
    free(u);
    free(ef);
    return FM_OK;
}

/* ---- evaluation of a mixture of Gaussians, one point at a time ---------- */

typedef struct {
    int64_t k, d;
    bool full;
    const double *logw, *mu, *L, *logdet; /* L: (k, d, d) factors or (k, d) stds */
    const double *M, *dm;                 /* velocity only (see top of file) */
} mix;

/* Work space per point: lp (k), V (k, d), y (d). */
typedef struct { double *lp, *V, *y; } mix_work;

/* v = C^{-1} r through L (forward then back substitution); returns |L^-1 r|^2. */
static double whiten(const mix *m, int64_t c, const double *r, double *y,
                     double *v)
{
    int64_t d = m->d;
    double q = 0;
    if (!m->full) {
        const double *s = m->L + c * d;
        for (int64_t j = 0; j < d; j++) {
            y[j] = r[j] / s[j];
            q += y[j] * y[j];
            if (v) v[j] = y[j] / s[j];
        }
        return q;
    }
    const double *L = m->L + c * d * d;
    for (int64_t i = 0; i < d; i++) {
        double s = r[i];
        for (int64_t p = 0; p < i; p++) s -= L[i * d + p] * y[p];
        y[i] = s / L[i * d + i];
        q += y[i] * y[i];
    }
    if (v)
        for (int64_t i = d - 1; i >= 0; i--) {
            double s = y[i];
            for (int64_t p = i + 1; p < d; p++) s -= L[p * d + i] * v[p];
            v[i] = s / L[i * d + i];
        }
    return q;
}

/* log p(x) and, when asked, score and velocity at one point x. */
static double mix_point(const mix *m, const double *x, mix_work *w,
                        double *score, double *vel)
{
    int64_t k = m->k, d = m->d;
    bool need_v = score || vel;
    double top = -INFINITY;
    for (int64_t c = 0; c < k; c++) {
        double *r = w->V + c * d;   /* r, then v in place of it */
        for (int64_t j = 0; j < d; j++) r[j] = x[j] - m->mu[c * d + j];
        double q = whiten(m, c, r, w->y, need_v ? r : NULL);
        w->lp[c] = m->logw[c] - 0.5 * (d * LOG_2PI + m->logdet[c] + q);
        if (w->lp[c] > top) top = w->lp[c];
    }
    double sum = 0;
    for (int64_t c = 0; c < k; c++) sum += exp(w->lp[c] - top);
    double lse = top + log(sum);
    if (!need_v) return lse;
    if (score) memset(score, 0, (size_t)d * sizeof(double));
    if (vel) memset(vel, 0, (size_t)d * sizeof(double));
    for (int64_t c = 0; c < k; c++) {
        double r = exp(w->lp[c] - lse);
        const double *v = w->V + c * d;
        if (r == 0) continue;
        if (score)
            for (int64_t j = 0; j < d; j++) score[j] -= r * v[j];
        if (!vel) continue;
        for (int64_t j = 0; j < d; j++) {
            double mv;
            if (m->full) {
                const double *M = m->M + c * d * d + j * d;
                mv = 0;
                for (int64_t p = 0; p < d; p++) mv += M[p] * v[p];
            } else {
                mv = m->M[c * d + j] * v[j];
            }
            vel[j] += r * (m->dm[c * d + j] + mv);
        }
    }
    return lse;
}

static fm_status check_out(const fm_tensor *x, const fm_tensor *lp,
                           const fm_tensor *score, const fm_tensor *vel,
                           const char *op)
{
    char b1[FM_SHAPE_STR_MAX], b2[FM_SHAPE_STR_MAX];
    int64_t n = x->shape[0];
    fm_status st;
    if (lp && !(fm_tensor_numel(lp) == n && lp->ndim >= 1 && lp->shape[0] == n &&
                fm_dtype_is_float(lp->dtype)))
        return fm_error(FM_ESHAPE, "%s: log_prob out must be (%lld,) float, got %s",
                        op, (long long)n, fm_shape_str(lp, b1, sizeof b1));
    if (score && (st = fm_rows_check_same(x, score, op, "x", "score out"))) return st;
    if (vel && (st = fm_rows_check_same(x, vel, op, "x", "velocity out"))) return st;
    (void)b2;
    return FM_OK;
}

/* Runs mix_point over the rows of x. */
static fm_status mix_rows(const mix *m, const fm_tensor *x, fm_tensor *lp,
                          fm_tensor *score, fm_tensor *vel, const char *op)
{
    fm_status st = fm_rows_check(x, op, "x");
    if (st) return st;
    if (x->shape[1] != m->d)
        return fm_error(FM_ESHAPE, "%s: x has %lld columns, the mixture is %lld-"
                        "dimensional", op, (long long)x->shape[1], (long long)m->d);
    if ((st = check_out(x, lp, score, vel, op))) return st;
    int64_t k = m->k, d = m->d, n = x->shape[0];
    double *buf = malloc((size_t)(k + k * d + 4 * d) * sizeof(double));
    if (!buf) return fm_error(FM_ENOMEM, "%s: out of memory", op);
    mix_work w = {buf, buf + k, buf + k + k * d};
    double *xr = w.y + d, *sr = xr + d, *vr = sr + d;
    for (int64_t i = 0; i < n; i++) {
        fm_row_read(x, i, xr);
        double l = mix_point(m, xr, &w, score ? sr : NULL, vel ? vr : NULL);
        if (lp) fm_tensor_set(lp, i, l);
        if (score) fm_row_write(score, i, sr);
        if (vel) fm_row_write(vel, i, vr);
    }
    free(buf);
    return FM_OK;
}

static mix data_mix(const fm_gmm *g)
{
    return (mix){g->k, g->d, g->full, g->logw, g->mean, g->chol, g->logdet,
                 NULL, NULL};
}

fm_status fm_gmm_log_prob(const fm_gmm *g, const fm_tensor *x, fm_tensor *out)
{
    mix m = data_mix(g);
    return mix_rows(&m, x, out, NULL, NULL, "gmm.log_prob");
}

fm_status fm_gmm_score(const fm_gmm *g, const fm_tensor *x, fm_tensor *out)
{
    mix m = data_mix(g);
    return mix_rows(&m, x, NULL, out, NULL, "gmm.score");
}

/* ---- the path marginal at time t (docs/math.md §3) ---------------------- */

/* Per-t components: mean a m_k, factor of a^2 S_k + b^2 I, and the velocity
 * terms da m_k and a da S_k + b db I, all computed once per call. */
static fm_status marginal_mix(const fm_gmm *g, const fm_sched_val *v,
                              const fm_sched_val *dv, double *buf, mix *m)
{
    int64_t k = g->k, d = g->d, cs = g->full ? d * d : d;
    double a = v->alpha, b = v->beta, *mu = buf, *L = mu + k * d;
    double *logdet = L + k * cs, *M = logdet + k, *dm = M + k * cs;
    for (int64_t c = 0; c < k; c++) {
        const double *S = g->cov + c * cs;
        for (int64_t j = 0; j < d; j++) {
            mu[c * d + j] = a * g->mean[c * d + j];
            dm[c * d + j] = dv->dalpha * g->mean[c * d + j];
        }
        logdet[c] = 0;
        for (int64_t i = 0; i < cs; i++) {
            bool diag = !g->full || i % (d + 1) == 0;
            L[c * cs + i] = a * a * S[i] + (diag ? b * b : 0);
            M[c * cs + i] = dv->alpha * dv->dalpha * S[i] +
                             (diag ? dv->beta * dv->dbeta : 0);
        }
        if (g->full) {
            int64_t piv = cholesky(L + c * cs, d, &logdet[c]);
            if (piv) return not_pd("gmm.marginal", c, piv - 1);
        } else {
            for (int64_t j = 0; j < d; j++) {
                double var = L[c * d + j];
                if (!(var > 0)) return not_pd("gmm.marginal", c, j);
                logdet[c] += log(var);
                L[c * d + j] = sqrt(var);
            }
        }
    }
    *m = (mix){k, d, g->full, g->logw, mu, L, logdet, M, dm};
    return FM_OK;
}

fm_status fm_gmm_marginal(const fm_gmm *g, const fm_path *p, double t,
                          const fm_tensor *x, fm_tensor *log_prob,
                          fm_tensor *score, fm_tensor *velocity)
{
    /* log p_t and the score use alpha, beta at t exactly; the velocity terms
     * use the safe evaluation (clamped t where a derivative is infinite, as
     * dbeta at t = 1 for sqrt and vp: beta dbeta stays right there). */
    fm_sched_val v, dv;
    fm_status st = fm_schedule_eval(&p->sched, t, &v);
    if (!st) st = fm_schedule_eval_safe(&p->sched, t, p->t_eps, &dv);
    if (st) return st;
    if (!isfinite(v.alpha) || !isfinite(v.beta))
        return fm_error(FM_EVALUE, "gmm.marginal: schedule %s not finite at t = %g",
                        p->sched.name, t);
    int64_t k = g->k, d = g->d, cs = g->full ? d * d : d;
    double *buf = malloc((size_t)(2 * k * d + 2 * k * cs + k) * sizeof(double));
    if (!buf) return fm_error(FM_ENOMEM, "gmm.marginal: out of memory");
    mix m;
    if (!(st = marginal_mix(g, &v, &dv, buf, &m)))
        st = mix_rows(&m, x, log_prob, score, velocity, "gmm.marginal");
    free(buf);
    return st;
}
