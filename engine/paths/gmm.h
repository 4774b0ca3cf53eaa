/* gmm.h — Gaussian mixtures in any dimension and the exact marginals of a
 * Gaussian path started from them (docs/math.md §3).
 *
 * p(x) = sum_k w_k N(x; m_k, S_k), S_k diagonal (variances) or full
 * (symmetric positive definite, factored by Cholesky at init). log_prob and
 * score use log-sum-exp over components, so they stay finite far from the
 * data. Inputs x are (n, d) float32/float64 tensors with any strides; all
 * arithmetic is in double. Labels are int64 component indices + base (the
 * Lua bindings pass base 1).
 */
#ifndef FM_GMM_H
#define FM_GMM_H

#include "paths/path.h"
#include "core/rng.h"

typedef struct {
    int64_t k, d;
    bool full;          /* full covariances, else diagonal */
    double *w, *logw;   /* (k) normalised weights and their logs */
    double *mean;       /* (k, d) */
    double *cov;        /* (k, d, d) if full, else (k, d) variances */
    double *chol;       /* lower Cholesky factors (k, d, d), or (k, d) stds */
    double *logdet;     /* (k) log det S_k */
} fm_gmm;

/* From arrays (copied): weights (k) non-negative with a positive sum, NULL
 * for uniform; means (k*d); cov (k*d*d) if full else (k*d) variances, NULL
 * for identity. FM_EVALUE "gmm: covariance j is not positive definite ..."
 * when a factorisation fails. On failure g holds no memory. */
fm_status fm_gmm_init_raw(fm_gmm *g, int64_t k, int64_t d, const double *weights,
                          const double *means, const double *cov, bool full);
/* From tensors: weights (k,) or NULL, means (k, d), cov (k, d) variances,
 * (k, d, d) full or NULL (identity). */
fm_status fm_gmm_init(fm_gmm *g, const fm_tensor *weights, const fm_tensor *means,
                      const fm_tensor *cov);
void fm_gmm_free(fm_gmm *g);

/* out (n, d) float; labels (n,) int64 or NULL. */
fm_status fm_gmm_sample(const fm_gmm *g, fm_rng *rng, fm_tensor *out,
                        fm_tensor *labels, int64_t base);
/* out (n,) or (n, 1): log p(x). */
fm_status fm_gmm_log_prob(const fm_gmm *g, const fm_tensor *x, fm_tensor *out);
/* out (n, d): grad_x log p(x). */
fm_status fm_gmm_score(const fm_gmm *g, const fm_tensor *x, fm_tensor *out);

/* The exact marginal of path p at time t started from this mixture:
 * p_t = sum_k w_k N(alpha_t m_k, alpha_t^2 S_k + beta_t^2 I). Any of the
 * outputs may be NULL: log_prob (n,) or (n, 1), score (n, d) = grad log p_t,
 * velocity (n, d) = the marginal field u_t(x) in an alpha- and beta-free
 * posterior-average form (derived in gmm.c), finite at t = 0 and t = 1.
 * log p_t and the score use alpha_t, beta_t at t exactly; the velocity
 * terms use fm_schedule_eval_safe (t clamped into [t_eps, 1 - t_eps] only
 * where a derivative is infinite, e.g. dbeta at t = 1 for sqrt and vp, where
 * beta dbeta has a finite limit). Factorisations of
 * the k covariances happen once per call, not per point. */
fm_status fm_gmm_marginal(const fm_gmm *g, const fm_path *p, double t,
                          const fm_tensor *x, fm_tensor *log_prob,
                          fm_tensor *score, fm_tensor *velocity);

#endif
