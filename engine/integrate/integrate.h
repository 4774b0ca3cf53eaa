/* integrate.h — ODE, SDE and Langevin integrators over a field callback
 * (docs/math.md §1, §5).
 *
 * A field is a C callback out = f(x, t) over the whole batch x (n, d); it
 * returns a status (a Lua field stores its error and returns FM_EVALUE, the
 * binding raises it after the solver has freed its buffers). The state is
 * one contiguous float32/float64 tensor of any shape; x0 is read, x1 is
 * written (x1 may alias x0). Work buffers are malloc'd once per solve and
 * freed before returning. Every solver polls fm_interrupted() once per step
 * and returns FM_EINTERRUPT.
 *
 * Time grids: either uniform (nsteps steps from t0 to t1, t1 < t0 for
 * backward integration) or explicit (times[0..ntimes-1], monotone). The
 * trajectory is recorded at nrec times rec_t (each inside [t0, t1]; a record
 * time that is not a grid time is hit exactly: the fixed-step solvers split
 * the step, dopri5 clips its step) into traj (nrec, numel of x) when traj is
 * not NULL.
 */
#ifndef FM_INTEGRATE_H
#define FM_INTEGRATE_H
#include "core/fm.h"
#include "core/rng.h"

typedef fm_status (*fm_field_fn)(void *ctx, const fm_tensor *x, double t,
                                 fm_tensor *out);
typedef struct {
    fm_field_fn fn;
    void *ctx;
} fm_field;

typedef enum {
    FM_ODE_EULER = 0, FM_ODE_MIDPOINT, FM_ODE_HEUN, FM_ODE_RK4, FM_ODE_DOPRI5
} fm_ode_method;
/* "euler" "midpoint" "heun" "rk4" "dopri5" */
fm_status fm_ode_method_parse(const char *name, fm_ode_method *out);

typedef struct {
    double t0, t1;
    int64_t nsteps;        /* uniform grid (fixed-step methods) */
    const double *times;   /* or an explicit grid (ntimes >= 2), else NULL */
    int64_t ntimes;
    double rtol, atol;     /* dopri5: finite, >= 0, not both 0 */
    int64_t max_steps;     /* dopri5: accepted + rejected steps, >= 1 */
    double h0;             /* dopri5: first step (0 = Hairer's selection), finite */
    bool fixed_grid;       /* dopri5: its 5th-order solution on the fixed grid,
                            * no error control (rtol/atol ignored) */
    const double *rec_t;   /* record times (sorted along the direction) */
    int64_t nrec;
} fm_ode_opts;

typedef struct {
    int64_t nfe, accepted, rejected;
} fm_ode_stats;

/* Default options: t0 = 0, t1 = 1, 100 steps, rtol 1e-5, atol 1e-6,
 * max_steps 10000, adaptive dopri5. One rule for all methods: a fixed grid
 * needs nsteps >= 1 (or an explicit times list), and adaptive dopri5 needs
 * tolerances that can be met (rtol = atol = 0 is an error, not a request for
 * fixed steps: that is fixed_grid). */
fm_ode_opts fm_ode_opts_default(void);

fm_status fm_ode_solve(fm_ode_method method, fm_field f, const fm_tensor *x0,
                       const fm_ode_opts *o, fm_tensor *x1, fm_tensor *traj,
                       fm_ode_stats *stats);

/* ---- SDE: dX = b(X, t) dt + g(t) dW (diagonal noise, docs/math.md §1) -- */
typedef enum { FM_SDE_EM = 0, FM_SDE_HEUN } fm_sde_method;
/* "euler_maruyama" (or "em", "euler") and "heun". */
fm_status fm_sde_method_parse(const char *name, fm_sde_method *out);

/* The diffusion coefficient g(t) >= 0: a callback or, when fn is NULL, the
 * constant value. */
typedef struct {
    fm_status (*fn)(void *ctx, double t, double *out);
    void *ctx;
    double value;
} fm_diffusion;

/* Uses the grid and record fields of o (rtol/atol ignored). Brownian
 * increments from rng: dW ~ N(0, |h| I) per step. Heun is the stochastic
 * Heun (improved Euler) method for additive noise: predictor
 * x~ = x + h b(x, t) + g(t) dW, corrector
 * x' = x + h/2 (b(x, t) + b(x~, t + h)) + (g(t) + g(t + h))/2 dW. */
fm_status fm_sde_solve(fm_sde_method method, fm_field drift, fm_diffusion g,
                       fm_rng *rng, const fm_tensor *x0, const fm_ode_opts *o,
                       fm_tensor *x1, fm_tensor *traj, fm_ode_stats *stats);

/* ---- Langevin (docs/math.md §1) ---------------------------------------------
 * score: grad log p (the t argument is the level passed through unchanged);
 * log_prob (MALA only): out (n,) log p(x) up to a constant. ULA:
 * x <- x + (h/2) score(x) + sqrt(h) xi. MALA adds a per-sample
 * Metropolis-Hastings test; accepted counts accepted proposals over all
 * samples and steps. */
typedef fm_status (*fm_logp_fn)(void *ctx, const fm_tensor *x, double t,
                                fm_tensor *out);
fm_status fm_langevin(fm_field score, fm_logp_fn log_prob, void *logp_ctx,
                      double t, double step, int64_t nsteps, fm_rng *rng,
                      fm_tensor *x, int64_t *accepted);
#endif
