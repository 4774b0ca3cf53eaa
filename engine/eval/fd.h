/* fd.h — the Fréchet distance between Gaussians fitted to two feature sets
 * (docs/math.md §10).
 *
 *   FD = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2)
 *
 * the squared 2-Wasserstein distance between N(mu_a, S_a) and N(mu_b, S_b).
 * Features are (n, d) float32 or float64 tensors (any strides), all finite,
 * n >= 2; every computation is in double. Covariances are unbiased (divided
 * by n - 1). The square roots come from LAPACK's symmetric
 * eigendecomposition (dsyevd), never from a general matrix square root.
 */
#ifndef FM_FD_H
#define FM_FD_H

#include "core/fm.h"

/* Mean mu (d,) and unbiased covariance cov (d, d) of the rows of x (n, d),
 * cov = (x - mu)^T (x - mu) / (n - 1). mu and cov are caller-allocated
 * contiguous float64 tensors. */
fm_status fm_gaussian_stats(const fm_tensor *x, fm_tensor *mu, fm_tensor *cov);

/* FD between N(mu_a, cov_a) and N(mu_b, cov_b): mu (d,), cov (d, d), float32
 * or float64, finite. A covariance must be symmetric (|c_ij - c_ji| <= 1e-4
 * max |c|) and positive semi-definite: negative eigenvalues of cov_a (and of
 * S_a^1/2 S_b S_a^1/2, which catches a non-PSD cov_b) down to -1e-4 times the
 * largest are rounding and count as 0; below that the call fails. Rounding
 * can leave the result a hair below 0; it is returned as 0. */
fm_status fm_fd_stats(const fm_tensor *mu_a, const fm_tensor *cov_a,
                      const fm_tensor *mu_b, const fm_tensor *cov_b,
                      double *out);

/* FD between the Gaussians fitted (fm_gaussian_stats) to a (n_a, d) and
 * b (n_b, d). */
fm_status fm_metric_fd(const fm_tensor *a, const fm_tensor *b, double *out);

/* Eigenvalues w (d, ascending) of the symmetric d x d row-major matrix a
 * (its upper triangle is read), by LAPACKE_dsyevd. With vectors, a is
 * overwritten by the orthonormal eigenvectors, as columns (a[i d + k] is
 * component i of vector k); without, a is destroyed. A LAPACK failure
 * (info != 0) is FM_EVALUE with what and info in the message. */
fm_status fm_sym_eig(double *a, int64_t d, bool vectors, double *w,
                     const char *what);

#endif
