/* intrinsic_dim.h — nearest-neighbour distances and the Levina–Bickel
 * estimate of the intrinsic dimension of a point set (docs/math.md §10,
 * "Intrinsic dimension").
 *
 * Points are an (n, d) float tensor (float32 or float64, any strides); all
 * arithmetic is in double.
 */
#ifndef FM_INTRINSIC_DIM_H
#define FM_INTRINSIC_DIM_H

#include "core/fm.h"

/* out (n * k, row-major): for each point, the Euclidean distances to its k
 * nearest other points, ascending (the point itself excluded; ties in any
 * order). Exact, by brute force over all pairs: O(n^2 (d + k)). Needs
 * 1 <= k < n and finite coordinates. */
fm_status fm_knn_dist(const fm_tensor *x, int64_t k, double *out);

/* The Levina–Bickel estimate with k neighbours. local (n, may be NULL)
 * receives each point's m_k(x_i) = [(1/(k-1)) sum_{j<k} log(T_k / T_j)]^-1;
 * *dim the estimate over the set: the mean of the inverses, inverted
 * (MacKay and Ghahramani's correction) when average_inverse, else the mean
 * of m_k. Needs 2 <= k < n; a point with a zero distance among its k
 * nearest (a duplicate) is an error naming it. */
fm_status fm_intrinsic_dim(const fm_tensor *x, int64_t k, int average_inverse,
                           double *local, double *dim);

#endif
