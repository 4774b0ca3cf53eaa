/* metrics.h — distances between two sample sets (docs/math.md §10).
 *
 * Inputs are (n, d) and (m, d) float tensors (float32 or float64, any
 * strides); all arithmetic is in double. Pairwise sums are streamed (no
 * n x m matrix) except for the exact W2, which needs the n x n cost matrix.
 * All estimators are V-statistics of the two empirical measures, so the
 * distance of a set to itself is exactly 0.
 */
#ifndef FM_METRICS_H
#define FM_METRICS_H

#include "core/fm.h"
#include "core/rng.h"

/* Squared maximum mean discrepancy, biased (V-statistic) estimate:
 *   MMD^2 = mean_{i,i'} k(a_i, a_i') + mean_{j,j'} k(b_j, b_j')
 *           - 2 mean_{i,j} k(a_i, b_j),
 * with k(x, y) = sum_{l < nb} exp(-|x - y|^2 / (2 h_l^2)). This is the
 * squared RKHS distance between the kernel mean embeddings of the two
 * empirical measures, hence >= 0 (up to rounding) and 0 for identical sets.
 * Bandwidths must be finite and > 0, nb >= 1. */
fm_status fm_metric_mmd(const fm_tensor *a, const fm_tensor *b,
                        const double *bandwidths, int nb, double *out);

/* Median of the pairwise Euclidean distances |z_i - z_j| (i < j) over the
 * pooled sample z = a ∪ b, for the median-heuristic bandwidth. Pools of more
 * than 1000 points use 1000 points taken at evenly spaced indices (the
 * result is deterministic). */
fm_status fm_metric_median_dist(const fm_tensor *a, const fm_tensor *b,
                                double *out);

/* Energy distance (V-statistic): 2 E|X - Y| - E|X - X'| - E|Y - Y'|, the
 * expectations over the empirical measures (diagonal pairs included). */
fm_status fm_metric_energy(const fm_tensor *a, const fm_tensor *b,
                           double *out);

/* Sliced 2-Wasserstein distance: sqrt of the mean over nproj random unit
 * directions theta (isotropic: normalised Gaussian vectors from rng) of
 * W2^2(theta.a, theta.b), each 1-D W2^2 exact: the integral over t in (0, 1)
 * of (F_a^-1(t) - F_b^-1(t))^2 for the empirical quantile functions, which
 * for n == m is the mean squared difference of the sorted projections. */
fm_status fm_metric_sliced_w2(const fm_tensor *a, const fm_tensor *b,
                              int nproj, fm_rng *rng, double *out);

/* Exact 2-Wasserstein distance between two equal-size sets (uniform
 * weights): sqrt(min over permutations s of mean_i |a_i - b_s(i)|^2), by
 * optimal assignment (assign.h); for d == 1 by sorting (the monotone
 * matching is optimal). */
fm_status fm_metric_w2(const fm_tensor *a, const fm_tensor *b, double *out);

#endif
