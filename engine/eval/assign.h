/* assign.h — exact linear sum assignment (docs/math.md §10: exact W2 between two
 * equal-size point sets is an optimal assignment).
 *
 * fm_assign_solve: given a dense row-major n x m cost matrix (n <= m), finds
 * the injective map row -> column minimising the total cost, by successive
 * shortest augmenting paths with dual potentials (Jonker–Volgenant; the
 * rectangular variant of Crouse 2016, "On implementing 2D rectangular
 * assignment algorithms", the method of SciPy's linear_sum_assignment).
 * O(n^2 m) worst case, O(n + m) extra memory besides the matrix.
 * Costs may be negative; NaN or infinite costs give FM_EVALUE.
 */
#ifndef FM_ASSIGN_H
#define FM_ASSIGN_H

#include "core/fm.h"

/* col_for_row (n,) receives the 0-based column of each row; total (may be
 * NULL) the summed cost. n == 0 is allowed (total 0). */
fm_status fm_assign_solve(const double *cost, int64_t n, int64_t m,
                          int64_t *col_for_row, double *total);

/* Optimal matching of two (n, d) point sets (float32 or float64, any strides)
 * under the squared Euclidean cost, computed in double: a[i] is paired with
 * b[perm[i]] (0-based); cost (may be NULL) receives the summed squared
 * distances of the matching. */
fm_status fm_assign_points(const fm_tensor *a, const fm_tensor *b,
                           int64_t *perm, double *cost);

/* The (n, m) squared Euclidean distance matrix between the rows of a (n, d)
 * and b (m, d), into out (row-major, n * m doubles). Shared with metrics.c. */
fm_status fm_assign_sqdist(const fm_tensor *a, const fm_tensor *b,
                           double *out);

/* Copies a float (n, d) tensor (any strides) into a new malloc'd row-major
 * double array *out (freed by the caller with free; NULL when n * d == 0).
 * op names the operation in error messages. */
fm_status fm_points_to_f64(const fm_tensor *t, const char *op, double **out);

#endif
