/* langevin.c — unadjusted Langevin (ULA) and Metropolis-adjusted Langevin
 * (MALA) (docs/math.md §1): x <- x + (h/2) grad log p(x) + sqrt(h) xi. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "integrate/internal.h"

#define TRY(e) do { fm_status st_ = (e); if (st_ != FM_OK) return st_; } while (0)

/* Per-row log q(to | from) = -|to - from - (h/2) s(from)|^2 / (2h) + const. */
static double log_q(const fm_tensor *to, const fm_tensor *from, const fm_tensor *sfrom,
                    double h, int64_t row, int64_t d)
{
    double s = 0;
    for (int64_t j = row * d; j < (row + 1) * d; j++) {
        double e = fm_tensor_get(to, j) - fm_tensor_get(from, j) - h / 2 * fm_tensor_get(sfrom, j);
        s += e * e;
    }
    return -s / (2 * h);
}

/* MALA accept step on rows: k[0] s(x), k[1] proposal y, k[2] s(y); lp and
 * lq hold log p(x), log p(y). Accepted rows copy y and s(y) into x, s(x). */
static void mh_accept(fm_tensor *x, fm_tensor *k, fm_tensor *lpx, fm_tensor *lpy,
                      double h, fm_rng *rng, int64_t *accepted)
{
    int64_t n = x->ndim ? x->shape[0] : 1, d = fm_tensor_numel(x) / (n ? n : 1);
    size_t es = fm_dtype_size(x->dtype);
    for (int64_t i = 0; i < n; i++) {
        double a = fm_tensor_get(lpy, i) - fm_tensor_get(lpx, i)
                 + log_q(x, &k[1], &k[2], h, i, d) - log_q(&k[1], x, &k[0], h, i, d);
        if (!(log(fm_rng_uniform01(rng)) < a)) continue;
        memcpy((char *)x->data + es * (size_t)(i * d), (char *)k[1].data + es * (size_t)(i * d),
               es * (size_t)d);
        memcpy((char *)k[0].data + es * (size_t)(i * d), (char *)k[2].data + es * (size_t)(i * d),
               es * (size_t)d);
        fm_tensor_set(lpx, i, fm_tensor_get(lpy, i));
        (*accepted)++;
    }
}

static fm_status run(fm_field score, fm_logp_fn log_prob, void *lctx, double t,
                     double h, int64_t nsteps, fm_rng *rng, fm_tensor *x,
                     fm_tensor *k, fm_tensor *lpx, fm_tensor *lpy, int64_t *accepted)
{
    const fm_tensor *kp[3] = {&k[0], &k[1], &k[2]};
    TRY(fm_icheck_finite(x, "langevin", 0, t, t));
    TRY(score.fn(score.ctx, x, t, &k[0]));
    if (log_prob) TRY(log_prob(lctx, x, t, lpx));
    for (int64_t s = 0; s < nsteps; s++) {
        if (fm_interrupted())
            return fm_error(FM_EINTERRUPT, "langevin: interrupted at step %lld", (long long)s + 1);
        TRY(fm_rng_normal(rng, &k[3], 0, sqrt(h)));
        if (!log_prob) {
            fm_ilin(x, x, 2, (double[]){h / 2, 1}, (const fm_tensor *[]){kp[0], &k[3]});
            TRY(fm_icheck_finite(x, "langevin", s + 1, t, t));
            if (s + 1 < nsteps) TRY(score.fn(score.ctx, x, t, &k[0]));
            continue;
        }
        fm_ilin(&k[1], x, 2, (double[]){h / 2, 1}, (const fm_tensor *[]){kp[0], &k[3]});
        TRY(score.fn(score.ctx, &k[1], t, &k[2]));
        TRY(log_prob(lctx, &k[1], t, lpy));
        mh_accept(x, k, lpx, lpy, h, rng, accepted);
    }
    return FM_OK;
}

fm_status fm_langevin(fm_field score, fm_logp_fn log_prob, void *logp_ctx,
                      double t, double step, int64_t nsteps, fm_rng *rng,
                      fm_tensor *x, int64_t *accepted)
{
    int64_t acc = 0;
    if (!fm_dtype_is_float(x->dtype) || !fm_tensor_is_contiguous(x))
        return fm_error(FM_ETYPE, "langevin: x must be a contiguous float tensor");
    if (!(step > 0) || !isfinite(step) || nsteps < 0)
        return fm_error(FM_EVALUE, "langevin: step = %g must be > 0 and steps = %lld >= 0",
                        step, (long long)nsteps);
    int64_t n = x->ndim ? x->shape[0] : 1;
    fm_ibufs w;
    TRY(fm_ibufs_alloc(&w, x, 4, "langevin"));
    double *lp = malloc(sizeof *lp * (size_t)(2 * n + 1));
    fm_status st = lp ? FM_OK : fm_error(FM_ENOMEM, "langevin: out of memory");
    fm_tensor lpx, lpy;
    if (st == FM_OK) {
        fm_tensor_init(&lpx, lp, FM_FLOAT64, 1, &n);
        fm_tensor_init(&lpy, lp + n, FM_FLOAT64, 1, &n);
        st = run(score, log_prob, logp_ctx, t, step, nsteps, rng, x, w.b, &lpx, &lpy, &acc);
    }
    free(lp);
    fm_ibufs_free(&w);
    if (accepted) *accepted = acc;
    return st;
}
