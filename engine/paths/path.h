/* path.h — Gaussian conditional probability paths (docs/math.md §2).
 *
 * p_t(x | z) = N(alpha_t z, beta_t^2 I) for a schedule (schedule.h). Every
 * function works row by row on (n, d) float32/float64 tensors (any strides,
 * dtypes may differ; arithmetic in double) and takes the time as a tensor t:
 * a scalar (0-d or one element) for the whole batch, or (n,) / (n, 1) with one
 * time per row. Schedule values are computed once per call (scalar t) or once
 * per row. Outputs may alias inputs of the same shape and layout.
 *
 * Stability (the choice this module makes): formulas that divide by beta_t
 * (singular as t -> 1) or alpha_t (t -> 0), or use derivatives that are
 * infinite at an endpoint (sqrt, vp at t = 1), evaluate the schedule at
 * tc = clamp(t, t_eps, 1 - t_eps), t_eps = FM_PATH_T_EPS = 1e-5 by default
 * (fm_path.t_eps). Then 1/beta <= 1e5 for linear (316 for sqrt), so results
 * stay finite even in float32 at t = 0 and t = 1, and the clamp changes a
 * field by O(t_eps), far below the error of any integrator with fewer than
 * 10^5 steps. Near the endpoints these x-dependent forms are ill-conditioned
 * anyway (x - alpha z is 0/0 at t = 1): callers who know eps should use the
 * x-free form fm_path_velocity_eps (dalpha z + dbeta eps, exact at every t;
 * z - eps for linear), which clamps only where a derivative is infinite.
 * fm_path_sample uses the exact t (x_0 = eps, x_1 = z exactly).
 */
#ifndef FM_PATH_H
#define FM_PATH_H

#include "paths/schedule.h"

#define FM_PATH_T_EPS 1e-5

typedef struct {
    fm_schedule sched;
    double t_eps;   /* clamp of t in divided forms (see above); 0 disables */
} fm_path;

/* Copies the schedule; t_eps = FM_PATH_T_EPS. */
void fm_path_init(fm_path *p, const fm_schedule *sched);

/* A 0-d float64 tensor over *v, to pass one time as t. */
static inline fm_tensor fm_path_time(double *v)
{
    fm_tensor t = {0};
    t.data = v;
    t.dtype = FM_FLOAT64;
    return t;
}

/* out = alpha_t z + beta_t eps */
fm_status fm_path_sample(const fm_path *p, const fm_tensor *z,
                         const fm_tensor *eps, const fm_tensor *t,
                         fm_tensor *out);
/* Conditional velocity u_t(x | z) = (dalpha - dbeta/beta alpha) z
 * + (dbeta/beta) x (clamped t). */
fm_status fm_path_velocity(const fm_path *p, const fm_tensor *x,
                           const fm_tensor *z, const fm_tensor *t,
                           fm_tensor *out);
/* x-free conditional velocity dalpha z + dbeta eps (exact t unless a
 * derivative is infinite there). */
fm_status fm_path_velocity_eps(const fm_path *p, const fm_tensor *z,
                               const fm_tensor *eps, const fm_tensor *t,
                               fm_tensor *out);
/* Conditional score -(x - alpha z) / beta^2 (clamped t). */
fm_status fm_path_score(const fm_path *p, const fm_tensor *x,
                        const fm_tensor *z, const fm_tensor *t,
                        fm_tensor *out);

/* What a network predicts. */
typedef enum {
    FM_PRED_VELOCITY, FM_PRED_SCORE, FM_PRED_EPS, FM_PRED_DATA, FM_PRED_COUNT
} fm_pred;
const char *fm_pred_name(fm_pred k);   /* "velocity" "score" "eps" "data" */
fm_status fm_pred_parse(const char *name, fm_pred *out);

/* out = the `to` prediction equivalent to `pred` (a `from` prediction) at
 * (x, t), using x = alpha z + beta eps, u = dalpha z + dbeta eps,
 * s = -eps/beta (docs/math.md §2). Each is a linear map of (x, pred) with
 * per-row coefficients at the clamped t, so converting there and back is the
 * identity. from == to copies. */
fm_status fm_path_convert(const fm_path *p, fm_pred from, const fm_tensor *pred,
                          const fm_tensor *x, const fm_tensor *t, fm_pred to,
                          fm_tensor *out);

#endif
