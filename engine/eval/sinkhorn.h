/* sinkhorn.h — entropic optimal transport by Sinkhorn iterations in the log
 * domain (docs/math.md §4, "Entropic couplings"), and draws from a plan.
 *
 * Given an n x m cost C and weights a (n), b (m), the plan minimising
 *   <P, C> + eps KL(P | a b^T)   over P >= 0 with P 1 = a, P^T 1 = b
 * is P_ij = exp((f_i + g_j - C_ij) / eps). The potentials are updated in
 * turn (with F = f / eps, G = g / eps):
 *   F_i <- log a_i - logsumexp_j (G_j - C_ij / eps)
 *   G_j <- log b_j - logsumexp_i (F_i - C_ij / eps)
 * Each update makes one marginal exact; every exponent is shifted by its
 * row's maximum, so nothing overflows however small eps is. After a G
 * update the column sums are b exactly (to rounding); the iteration stops
 * when the row sums are within tol of a in L1 (sum_i |(P 1)_i - a_i|), an
 * error that the next F update gets for free.
 */
#ifndef FM_SINKHORN_H
#define FM_SINKHORN_H

#include "core/fm.h"
#include "core/rng.h"

typedef struct {
    double eps;        /* > 0, in the units of the cost */
    int64_t max_iters; /* >= 1 (one iteration = an F and a G update) */
    double tol;        /* >= 0: stop when the L1 row-marginal error <= tol */
} fm_sinkhorn_opts;

typedef struct {
    int64_t iters;  /* iterations done */
    double err;     /* the L1 row-marginal error of the returned plan */
    int converged;  /* err <= tol within max_iters */
    double cost;    /* <P, C> */
} fm_sinkhorn_info;

/* cost: row-major n x m, finite. a (n) and b (m): finite, >= 0, each with a
 * positive sum, or NULL for uniform; they are normalised to sum 1. Zero
 * weights give zero rows (columns) in the plan. plan (n * m, row-major),
 * f (n) and g (m) (either may be NULL) receive the plan and the potentials
 * eps F, eps G (-inf for zero weights). Not converging is not an error:
 * info->converged says so. n, m >= 1. */
fm_status fm_sinkhorn(const double *cost, int64_t n, int64_t m,
                      const double *a, const double *b,
                      const fm_sinkhorn_opts *opts, double *plan, double *f,
                      double *g, fm_sinkhorn_info *info);

/* k index pairs (rows[s], cols[s]) drawn independently with probability
 * plan_ij / sum(plan) (plan row-major n x m, finite, >= 0, not all 0), on
 * rng; indices are base-based. */
fm_status fm_plan_sample(fm_rng *rng, const double *plan, int64_t n, int64_t m,
                         int64_t k, int64_t base, int64_t *rows, int64_t *cols);

#endif
