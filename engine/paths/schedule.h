/* schedule.h — noise schedules (alpha_t, beta_t) of Gaussian paths (docs/math.md §2).
 *
 * A schedule gives, at t in [0, 1] (noise at 0, data at 1), the four numbers
 * alpha_t, beta_t, dalpha_t/dt, dbeta_t/dt in double precision. Named
 * schedules have closed-form derivatives; custom schedules wrap user
 * callbacks (the Lua binding passes a Lua function through `ctx`) and, when no
 * derivative callback is given, differentiate numerically (see fm_schedule_eval).
 *
 * Endpoint derivatives may be infinite where the maths says so (sqrt and vp
 * have dbeta -> -inf at t = 1): fm_schedule_eval_safe clamps t in that case.
 */
#ifndef FM_SCHEDULE_H
#define FM_SCHEDULE_H

#include "core/fm.h"

typedef enum {
    FM_SCHED_LINEAR, FM_SCHED_SQRT, FM_SCHED_COSINE, FM_SCHED_VP,
    FM_SCHED_POLYNOMIAL, FM_SCHED_CUSTOM
} fm_schedule_kind;

typedef struct {
    double alpha, beta, dalpha, dbeta;
} fm_sched_val;

/* A user function of t: writes f(t) into *out; returns FM_OK or a status
 * (with its message set by fm_error) that the schedule passes on. */
typedef fm_status (*fm_schedule_fn)(void *ctx, double t, double *out);

/* Central-difference step for custom schedules without derivatives:
 * truncation error ~ h^2 |f'''| / 6, rounding ~ eps |f| / h with
 * eps = 2.2e-16; the sum is smallest at h = cbrt(3 eps) ~ 8.7e-6, which gives
 * ~1e-10 absolute error for O(1) smooth schedules. */
#define FM_SCHEDULE_FD_STEP 8.7e-6
/* Tolerance of the boundary values alpha_0 = 0, beta_0 = 1, alpha_1 = 1,
 * beta_1 = 0 (for every schedule but vp, see fm_schedule_vp). */
#define FM_SCHEDULE_BOUNDARY_TOL 1e-6

typedef struct {
    fm_schedule_kind kind;
    char name[32];
    double b_min, b_max;   /* vp */
    double n;              /* polynomial exponent */
    fm_schedule_fn alpha, beta, dalpha, dbeta; /* custom; dalpha/dbeta may be NULL */
    void *ctx;             /* passed to the callbacks */
    double fd_step;        /* numerical derivative step (custom) */
    double tol0;           /* tolerance on alpha_0 and 1 - beta_0 */
} fm_schedule;

/* "linear", "sqrt", "cosine", "vp" (b_min 0.1, b_max 20), "polynomial"
 * (n = 2); FM_EVALUE for an unknown name. */
fm_status fm_schedule_named(fm_schedule *s, const char *name);
void fm_schedule_linear(fm_schedule *s);    /* alpha = t, beta = 1 - t */
void fm_schedule_sqrt(fm_schedule *s);      /* alpha = t, beta = sqrt(1 - t) */
void fm_schedule_cosine(fm_schedule *s);    /* sin(pi t/2), cos(pi t/2) */
/* alpha = exp(-T(1-t)/2), T(s) = s b_min + s^2 (b_max - b_min)/2,
 * beta = sqrt(1 - alpha^2). alpha_0 = exp(-T(1)/2) is not 0 (6.6e-3 with the
 * defaults; alpha_0^2 = 4.3e-5), so tol0 = alpha_0 + 1e-6 for this schedule.
 * Requires 0 <= b_min <= b_max and T(1) > 0. */
fm_status fm_schedule_vp(fm_schedule *s, double b_min, double b_max);
/* alpha = t^n, beta = 1 - t^n, n > 0. */
fm_status fm_schedule_polynomial(fm_schedule *s, double n);
/* User callbacks (alpha and beta required); name is copied (may be NULL). */
fm_status fm_schedule_custom(fm_schedule *s, const char *name,
                             fm_schedule_fn alpha, fm_schedule_fn beta,
                             fm_schedule_fn dalpha, fm_schedule_fn dbeta,
                             void *ctx);

/* Values at t (t outside [0, 1] is FM_EVALUE). Custom derivatives without a
 * callback: central differences with step fd_step, one-sided second order
 * ((-3 f(t) + 4 f(t+h) - f(t+2h)) / 2h, same O(h^2) error) when t - h < 0 or
 * t + h > 1, so user functions are only called on [0, 1]. */
fm_status fm_schedule_eval(const fm_schedule *s, double t, fm_sched_val *v);
/* As fm_schedule_eval, but if any value is not finite, evaluates at
 * min(max(t, t_eps), 1 - t_eps) instead (documented clamp). */
fm_status fm_schedule_eval_safe(const fm_schedule *s, double t, double t_eps,
                                fm_sched_val *v);

/* Checks: boundary values (within tol0 at t = 0, FM_SCHEDULE_BOUNDARY_TOL at
 * t = 1), alpha, beta and (on the open interval) their derivatives finite on
 * a grid of 1001 points, beta > 0 on the open interval, alpha non-decreasing
 * and beta non-increasing on the grid (slack 1e-12). FM_EVALUE with a message
 * naming the schedule and the offending t. */
fm_status fm_schedule_validate(const fm_schedule *s);

#endif
