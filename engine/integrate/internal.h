/* integrate_internal.h — helpers shared by ode.c, sde.c and langevin.c:
 * contiguous work buffers shaped like the state, linear combinations on
 * them, the merged time grid and trajectory recording. */
#ifndef FM_INTEGRATE_INTERNAL_H
#define FM_INTEGRATE_INTERNAL_H
#include "integrate/integrate.h"
#include "ops/ops.h"

/* A block of nbuf contiguous tensors shaped like x (one malloc). */
typedef struct {
    void *block;
    fm_tensor *b;
    int nbuf;
} fm_ibufs;
fm_status fm_ibufs_alloc(fm_ibufs *w, const fm_tensor *x, int nbuf, const char *op);
void fm_ibufs_free(fm_ibufs *w);

/* out = x + sum_j c[j] k[j] elementwise over contiguous tensors of one
 * dtype; out may alias x or any k[j]. */
void fm_ilin(fm_tensor *out, const fm_tensor *x, int m, const double *c,
             const fm_tensor *const *k);

/* The grid of o merged with its record times: *g (malloc'd) of *ng times,
 * monotone from t0 to t1. Checks the options (op names the caller). */
fm_status fm_igrid(const fm_ode_opts *o, double **g, int64_t *ng, const char *op);

/* Records x into traj row *r while rec_t[*r] matches t (within 1e-9 of the
 * span); traj may be NULL. */
void fm_irecord(const fm_ode_opts *o, double t, const fm_tensor *x,
                fm_tensor *traj, int64_t *r);
/* FM_OK when every element of the contiguous float tensor x is finite;
 * otherwise FM_EVALUE "<op>: step <step> (t = <t0> -> <t>): non-finite state
 * (x[row, col] = nan) ..." naming the first bad element (1-based, as Lua
 * counts; a flat index for states that are not (n, d)); step 0 is the
 * initial state (at t). The integrators call it once per step
 * (docs/reliability.md, "Bad numbers"). */
fm_status fm_icheck_finite(const fm_tensor *x, const char *op, int64_t step, double t0,
                           double t);
/* Checks the state / output / trajectory tensors of a solve. */
fm_status fm_icheck(const fm_tensor *x0, const fm_tensor *x1,
                    const fm_tensor *traj, int64_t nrec, const char *op);
#endif
