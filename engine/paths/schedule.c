/* schedule.c — named and custom noise schedules (docs/math.md §2). */
#include "paths/schedule.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void base_init(fm_schedule *s, fm_schedule_kind kind, const char *name)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    snprintf(s->name, sizeof s->name, "%s", name ? name : "custom");
    s->fd_step = FM_SCHEDULE_FD_STEP;
    s->tol0 = FM_SCHEDULE_BOUNDARY_TOL;
}

void fm_schedule_linear(fm_schedule *s) { base_init(s, FM_SCHED_LINEAR, "linear"); }
void fm_schedule_sqrt(fm_schedule *s) { base_init(s, FM_SCHED_SQRT, "sqrt"); }
void fm_schedule_cosine(fm_schedule *s) { base_init(s, FM_SCHED_COSINE, "cosine"); }

fm_status fm_schedule_vp(fm_schedule *s, double b_min, double b_max)
{
    if (!(b_min >= 0 && b_max >= b_min && isfinite(b_max)) ||
        !(b_min + 0.5 * (b_max - b_min) > 0))
        return fm_error(FM_EVALUE, "schedule vp: need 0 <= b_min <= b_max, "
                        "b_max > 0 (got b_min %g, b_max %g)", b_min, b_max);
    base_init(s, FM_SCHED_VP, "vp");
    s->b_min = b_min;
    s->b_max = b_max;
    /* alpha_0 = exp(-T(1)/2) > 0: the documented boundary tolerance */
    s->tol0 = exp(-0.5 * (b_min + 0.5 * (b_max - b_min))) + 1e-6;
    return FM_OK;
}

fm_status fm_schedule_polynomial(fm_schedule *s, double n)
{
    if (!(n > 0 && isfinite(n)))
        return fm_error(FM_EVALUE, "schedule polynomial: need n > 0 (got %g)", n);
    base_init(s, FM_SCHED_POLYNOMIAL, "polynomial");
    s->n = n;
    return FM_OK;
}

fm_status fm_schedule_custom(fm_schedule *s, const char *name,
                             fm_schedule_fn alpha, fm_schedule_fn beta,
                             fm_schedule_fn dalpha, fm_schedule_fn dbeta,
                             void *ctx)
{
    if (!alpha || !beta)
        return fm_error(FM_EVALUE, "schedule %s: alpha and beta functions "
                        "are required", name ? name : "custom");
    base_init(s, FM_SCHED_CUSTOM, name);
    s->alpha = alpha;
    s->beta = beta;
    s->dalpha = dalpha;
    s->dbeta = dbeta;
    s->ctx = ctx;
    return FM_OK;
}

fm_status fm_schedule_named(fm_schedule *s, const char *name)
{
    if (!name) name = "(null)";
    if (!strcmp(name, "linear")) { fm_schedule_linear(s); return FM_OK; }
    if (!strcmp(name, "sqrt")) { fm_schedule_sqrt(s); return FM_OK; }
    if (!strcmp(name, "cosine")) { fm_schedule_cosine(s); return FM_OK; }
    if (!strcmp(name, "vp")) return fm_schedule_vp(s, 0.1, 20.0);
    if (!strcmp(name, "polynomial")) return fm_schedule_polynomial(s, 2.0);
    return fm_error(FM_EVALUE, "schedule: unknown name '%s' (expected linear, "
                    "sqrt, cosine, vp or polynomial)", name);
}

/* vp: with s = 1 - t, T(s) = s b_min + s^2 (b_max - b_min)/2 and
 * T'(s) = b_min + s (b_max - b_min); d/dt alpha = alpha T'(s)/2.
 * beta = sqrt(-expm1(-T)) keeps precision as t -> 1 (T -> 0), and
 * dbeta = -alpha dalpha / beta (from alpha^2 + beta^2 = 1). */
static void eval_vp(const fm_schedule *s, double t, fm_sched_val *v)
{
    double u = 1.0 - t;
    double T = u * s->b_min + 0.5 * u * u * (s->b_max - s->b_min);
    double dT = s->b_min + u * (s->b_max - s->b_min);
    v->alpha = exp(-0.5 * T);
    v->beta = sqrt(-expm1(-T));
    v->dalpha = 0.5 * v->alpha * dT;
    v->dbeta = v->beta > 0 ? -v->alpha * v->dalpha / v->beta : -INFINITY;
}

static void eval_named(const fm_schedule *s, double t, fm_sched_val *v)
{
    const double h = 0.5 * M_PI;
    switch (s->kind) {
    case FM_SCHED_LINEAR:
        *v = (fm_sched_val){t, 1.0 - t, 1.0, -1.0};
        break;
    case FM_SCHED_SQRT: {
        double b = sqrt(1.0 - t);
        *v = (fm_sched_val){t, b, 1.0, b > 0 ? -0.5 / b : -INFINITY};
        break;
    }
    case FM_SCHED_COSINE:
        *v = (fm_sched_val){sin(h * t), t == 1.0 ? 0.0 : cos(h * t),
                            h * cos(h * t), -h * sin(h * t)};
        break;
    case FM_SCHED_VP:
        eval_vp(s, t, v);
        break;
    case FM_SCHED_POLYNOMIAL: {
        double p = pow(t, s->n);
        double dp = t > 0 ? s->n * pow(t, s->n - 1.0)
                          : (s->n == 1.0 ? 1.0 : (s->n > 1.0 ? 0.0 : INFINITY));
        *v = (fm_sched_val){p, 1.0 - p, dp, -dp};
        break;
    }
    case FM_SCHED_CUSTOM:
        break;
    }
}

/* Numerical derivative of f at t on [0, 1] (see schedule.h). */
static fm_status fd_derivative(const fm_schedule *s, fm_schedule_fn f,
                               double t, double ft, double *out)
{
    double h = s->fd_step, a, b;
    fm_status st;
    if (t - h >= 0 && t + h <= 1) {
        if ((st = f(s->ctx, t - h, &a)) || (st = f(s->ctx, t + h, &b)))
            return st;
        *out = (b - a) / (2 * h);
        return FM_OK;
    }
    double sgn = t - h < 0 ? 1.0 : -1.0;    /* step inward */
    if ((st = f(s->ctx, t + sgn * h, &a)) || (st = f(s->ctx, t + 2 * sgn * h, &b)))
        return st;
    *out = sgn * (-3 * ft + 4 * a - b) / (2 * h);
    return FM_OK;
}

static const char *num_name(double x)
{
    return isnan(x) ? "nan" : x > 0 ? "inf" : "-inf";
}

/* A custom schedule is checked where it is used, not only on the grid of
 * fm_schedule_validate (docs/reliability.md, "Bad numbers"): alpha and beta
 * must be finite on [0, 1], their derivatives on (0, 1) (an endpoint may
 * have an infinite slope; fm_schedule_eval_safe clamps t then). */
static fm_status eval_custom(const fm_schedule *s, double t, fm_sched_val *v)
{
    fm_status st;
    if ((st = s->alpha(s->ctx, t, &v->alpha)) || (st = s->beta(s->ctx, t, &v->beta)))
        return st;
    if (!isfinite(v->alpha) || !isfinite(v->beta))
        return fm_error(FM_EVALUE, "schedule %s: %s is %s at t = %.9g: a schedule must "
                        "be finite on [0, 1]", s->name, isfinite(v->alpha) ? "beta" : "alpha",
                        num_name(isfinite(v->alpha) ? v->beta : v->alpha), t);
    st = s->dalpha ? s->dalpha(s->ctx, t, &v->dalpha)
                   : fd_derivative(s, s->alpha, t, v->alpha, &v->dalpha);
    if (!st)
        st = s->dbeta ? s->dbeta(s->ctx, t, &v->dbeta)
                      : fd_derivative(s, s->beta, t, v->beta, &v->dbeta);
    if (st) return st;
    if (t > 0 && t < 1 && (!isfinite(v->dalpha) || !isfinite(v->dbeta)))
        return fm_error(FM_EVALUE, "schedule %s: %s is %s at t = %.9g: the derivatives "
                        "must be finite on (0, 1)%s", s->name,
                        isfinite(v->dalpha) ? "dbeta" : "dalpha",
                        num_name(isfinite(v->dalpha) ? v->dbeta : v->dalpha), t,
                        s->dalpha || s->dbeta ? "" : " (numerical: the schedule is not "
                        "finite next to t)");
    return FM_OK;
}

fm_status fm_schedule_eval(const fm_schedule *s, double t, fm_sched_val *v)
{
    if (!(t >= 0.0 && t <= 1.0))
        return fm_error(FM_EVALUE, "schedule %s: t = %g outside [0, 1]",
                        s->name, t);
    if (s->kind == FM_SCHED_CUSTOM)
        return eval_custom(s, t, v);
    eval_named(s, t, v);
    return FM_OK;
}

static bool val_finite(const fm_sched_val *v)
{
    return isfinite(v->alpha) && isfinite(v->beta) && isfinite(v->dalpha) &&
           isfinite(v->dbeta);
}

fm_status fm_schedule_eval_safe(const fm_schedule *s, double t, double t_eps,
                                fm_sched_val *v)
{
    fm_status st = fm_schedule_eval(s, t, v);
    if (st || val_finite(v)) return st;
    double tc = fmin(fmax(t, t_eps), 1.0 - t_eps);
    return fm_schedule_eval(s, tc, v);
}

static fm_status check_boundaries(const fm_schedule *s)
{
    fm_sched_val v0, v1;
    fm_status st;
    if ((st = fm_schedule_eval(s, 0.0, &v0)) || (st = fm_schedule_eval(s, 1.0, &v1)))
        return st;
    if (!(fabs(v0.alpha) <= s->tol0 && fabs(v0.beta - 1.0) <= s->tol0))
        return fm_error(FM_EVALUE, "schedule %s: at t = 0 need alpha = 0, "
                        "beta = 1 (tolerance %g), got alpha = %.9g, beta = %.9g",
                        s->name, s->tol0, v0.alpha, v0.beta);
    if (!(fabs(v1.alpha - 1.0) <= FM_SCHEDULE_BOUNDARY_TOL &&
          fabs(v1.beta) <= FM_SCHEDULE_BOUNDARY_TOL))
        return fm_error(FM_EVALUE, "schedule %s: at t = 1 need alpha = 1, "
                        "beta = 0 (tolerance %g), got alpha = %.9g, beta = %.9g",
                        s->name, FM_SCHEDULE_BOUNDARY_TOL, v1.alpha, v1.beta);
    return FM_OK;
}

static fm_status check_point(const fm_schedule *s, double t, bool interior,
                             const fm_sched_val *v, const fm_sched_val *prev)
{
    if (!isfinite(v->alpha) || !isfinite(v->beta))
        return fm_error(FM_EVALUE, "schedule %s: alpha or beta not finite at "
                        "t = %.6g (alpha = %g, beta = %g)", s->name, t,
                        v->alpha, v->beta);
    if (interior && (!isfinite(v->dalpha) || !isfinite(v->dbeta)))
        return fm_error(FM_EVALUE, "schedule %s: derivative not finite at "
                        "t = %.6g (dalpha = %g, dbeta = %g)", s->name, t,
                        v->dalpha, v->dbeta);
    if (interior && !(v->beta > 0))
        return fm_error(FM_EVALUE, "schedule %s: beta must be > 0 on (0, 1), "
                        "got %g at t = %.6g", s->name, v->beta, t);
    if (prev && (v->alpha < prev->alpha - 1e-12 || v->beta > prev->beta + 1e-12))
        return fm_error(FM_EVALUE, "schedule %s: alpha must not decrease and "
                        "beta must not increase; violated at t = %.6g",
                        s->name, t);
    return FM_OK;
}

fm_status fm_schedule_validate(const fm_schedule *s)
{
    fm_status st = check_boundaries(s);
    if (st) return st;
    fm_sched_val v, prev;
    const int n = 1000;   /* grid of n + 1 = 1001 points */
    for (int i = 0; i <= n; i++) {
        double t = (double)i / n;
        if ((st = fm_schedule_eval(s, t, &v))) return st;
        if ((st = check_point(s, t, i > 0 && i < n, &v, i ? &prev : NULL)))
            return st;
        prev = v;
    }
    return FM_OK;
}
