/* ode.c — fixed-step (Euler, midpoint, Heun, RK4, Dormand–Prince 5th-order
 * solution) and adaptive Dormand–Prince 5(4) ODE solvers (docs/math.md §5). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "integrate/internal.h"

fm_status fm_ode_method_parse(const char *name, fm_ode_method *out)
{
    static const char *const names[] = {
        [FM_ODE_EULER] = "euler", [FM_ODE_MIDPOINT] = "midpoint",
        [FM_ODE_HEUN] = "heun", [FM_ODE_RK4] = "rk4", [FM_ODE_DOPRI5] = "dopri5"};
    _Static_assert(sizeof names / sizeof names[0] == FM_ODE_DOPRI5 + 1,
                   "one name per ODE method");
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(name, names[i]) == 0) { *out = (fm_ode_method)i; return FM_OK; }
    return fm_error(FM_EVALUE, "ode: unknown method '%s' (euler, midpoint, heun, rk4, dopri5)",
                    name);
}

fm_ode_opts fm_ode_opts_default(void)
{
    fm_ode_opts o;
    memset(&o, 0, sizeof o);
    o.t1 = 1;
    o.nsteps = 100;
    o.rtol = 1e-5;
    o.atol = 1e-6;
    o.max_steps = 10000;
    return o;
}

typedef struct {
    fm_field f;
    fm_ode_stats *st;
    fm_tensor *k;      /* work buffers */
} solver;

static fm_status ev(solver *s, const fm_tensor *x, double t, fm_tensor *out)
{
    s->st->nfe++;
    return s->f.fn(s->f.ctx, x, t, out);
}

#define TRY(e) do { fm_status st_ = (e); if (st_ != FM_OK) return st_; } while (0)

/* Dormand–Prince 5(4) tableau (Hairer, Nørsett & Wanner, Table 5.2). */
static const double DP_C[7] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
static const double DP_A[7][6] = {
    {0},
    {1.0 / 5},
    {3.0 / 40, 9.0 / 40},
    {44.0 / 45, -56.0 / 15, 32.0 / 9},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
    {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
/* 5th-order weights = row 6 of A; error = b5 - b4 */
static const double DP_E[7] = {71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920,
                               -17253.0 / 339200, 22.0 / 525, -1.0 / 40};

/* One Dormand–Prince step from (x, t) with k[0] = f(x, t) already set:
 * k[7] = x + h sum b5 k, k[1..6] the stages (k[6] = f(x_new, t + h), FSAL),
 * k[8] the error estimate h sum e k. */
static fm_status dp_step(solver *s, const fm_tensor *x, double t, double h)
{
    fm_tensor *k = s->k;
    const fm_tensor *kp[7];
    double c[7];
    for (int i = 0; i < 7; i++) kp[i] = &k[i];
    for (int i = 1; i < 7; i++) {
        for (int j = 0; j < i; j++) c[j] = h * DP_A[i][j];
        fm_tensor *dst = i == 6 ? &k[7] : &k[8];
        fm_ilin(dst, x, i, c, kp);
        TRY(ev(s, dst, t + DP_C[i] * h, &k[i]));
    }
    for (int j = 0; j < 7; j++) c[j] = h * DP_E[j];
    fm_tensor zero = k[8];
    memset(zero.data, 0, fm_tensor_nbytes(&zero));
    fm_ilin(&k[8], &zero, 7, c, kp);
    return FM_OK;
}

/* One fixed step x <- x + ... from t to t + h. */
static fm_status fixed_step(solver *s, fm_ode_method m, fm_tensor *x, double t, double h)
{
    fm_tensor *k = s->k;
    const fm_tensor *kp[4] = {&k[0], &k[1], &k[2], &k[3]};
    TRY(ev(s, x, t, &k[0]));
    switch (m) {
    case FM_ODE_EULER:
        fm_ilin(x, x, 1, (double[]){h}, kp);
        return FM_OK;
    case FM_ODE_MIDPOINT:
        fm_ilin(&k[4], x, 1, (double[]){h / 2}, kp);
        TRY(ev(s, &k[4], t + h / 2, &k[1]));
        fm_ilin(x, x, 1, (double[]){h}, kp + 1);
        return FM_OK;
    case FM_ODE_HEUN:
        fm_ilin(&k[4], x, 1, (double[]){h}, kp);
        TRY(ev(s, &k[4], t + h, &k[1]));
        fm_ilin(x, x, 2, (double[]){h / 2, h / 2}, kp);
        return FM_OK;
    case FM_ODE_RK4:
        fm_ilin(&k[4], x, 1, (double[]){h / 2}, kp);
        TRY(ev(s, &k[4], t + h / 2, &k[1]));
        fm_ilin(&k[4], x, 1, (double[]){h / 2}, kp + 1);
        TRY(ev(s, &k[4], t + h / 2, &k[2]));
        fm_ilin(&k[4], x, 1, (double[]){h}, kp + 2);
        TRY(ev(s, &k[4], t + h, &k[3]));
        fm_ilin(x, x, 4, (double[]){h / 6, h / 3, h / 3, h / 6}, kp);
        return FM_OK;
    case FM_ODE_DOPRI5:
        TRY(dp_step(s, x, t, h));
        memcpy(x->data, k[7].data, fm_tensor_nbytes(x));
        return FM_OK;
    }
    return FM_EVALUE;
}

static fm_status solve_fixed(solver *s, fm_ode_method m, fm_tensor *x,
                             const fm_ode_opts *o, fm_tensor *traj)
{
    double *g;
    int64_t ng, r = 0;
    TRY(fm_igrid(o, &g, &ng, "ode.solve"));
    fm_status st = fm_icheck_finite(x, "ode.solve", 0, g[0], g[0]);
    fm_irecord(o, g[0], x, traj, &r);
    for (int64_t i = 0; i + 1 < ng && st == FM_OK; i++) {
        if (fm_interrupted()) {
            st = fm_error(FM_EINTERRUPT, "ode.solve: interrupted at t = %g", g[i]);
            break;
        }
        st = fixed_step(s, m, x, g[i], g[i + 1] - g[i]);
        if (st == FM_OK) st = fm_icheck_finite(x, "ode.solve", i + 1, g[i], g[i + 1]);
        s->st->accepted++;
        fm_irecord(o, g[i + 1], x, traj, &r);
    }
    free(g);
    return st;
}

/* RMS norm of v / (atol + rtol * max(|a|, |b|)) (Hairer's error norm). */
static double err_norm(const fm_tensor *v, const fm_tensor *a, const fm_tensor *b,
                       double rtol, double atol)
{
    int64_t n = fm_tensor_numel(v);
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        double sc = atol + rtol * fmax(fabs(fm_tensor_get(a, i)),
                                       b ? fabs(fm_tensor_get(b, i)) : 0);
        double e = fm_tensor_get(v, i) / sc;
        s += e * e;
    }
    return n ? sqrt(s / (double)n) : 0;
}

/* Hairer, Nørsett & Wanner, II.4 "starting step size"; k[0] = f(x0, t0). */
static fm_status initial_step(solver *s, const fm_tensor *x, double t, double dir,
                              const fm_ode_opts *o, double *h)
{
    fm_tensor *k = s->k;
    double d0 = err_norm(x, x, NULL, o->rtol, o->atol);
    double d1 = err_norm(&k[0], x, NULL, o->rtol, o->atol);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    const fm_tensor *kp[1] = {&k[0]};
    fm_ilin(&k[7], x, 1, (double[]){dir * h0}, kp);
    TRY(ev(s, &k[7], t + dir * h0, &k[1]));
    fm_ilin(&k[8], &k[1], 1, (double[]){-1}, kp);
    double d2 = err_norm(&k[8], x, NULL, o->rtol, o->atol) / h0;
    double mx = fmax(d1, d2);
    double h1 = mx <= 1e-15 ? fmax(1e-6, h0 * 1e-3) : pow(0.01 / mx, 1.0 / 5);
    *h = fmin(100 * h0, h1);
    return FM_OK;
}

static fm_status solve_dopri5(solver *s, fm_tensor *x, const fm_ode_opts *o,
                              fm_tensor *traj)
{
    double t0 = o->times ? o->times[0] : o->t0;
    double t1 = o->times ? o->times[o->ntimes - 1] : o->t1;
    double dir = t1 > t0 ? 1 : -1, span = fabs(t1 - t0), t = t0, h;
    fm_tensor *k = s->k;
    int64_t r = 0;
    if (!(o->rtol >= 0 && o->atol >= 0 && o->rtol + o->atol > 0 && isfinite(o->rtol) &&
          isfinite(o->atol)))
        return fm_error(FM_EVALUE, "ode.solve: dopri5 needs finite rtol, atol >= 0, not both 0 "
                        "(got rtol = %g, atol = %g); adaptive = false runs it on a fixed grid",
                        o->rtol, o->atol);
    if (o->max_steps < 1 || !(o->h0 >= 0 && isfinite(o->h0)))
        return fm_error(FM_EVALUE, "ode.solve: dopri5 needs max_steps >= 1 and a finite h0 >= 0 "
                        "(got %lld, %g)", (long long)o->max_steps, o->h0);
    TRY(fm_icheck_finite(x, "ode.solve", 0, t, t));
    fm_irecord(o, t, x, traj, &r);
    TRY(ev(s, x, t, &k[0]));
    if (o->h0 > 0) h = o->h0;
    else TRY(initial_step(s, x, t, dir, o, &h));
    bool nonfinite = false; /* the last rejection was for a NaN/inf estimate */
    while (dir * (t1 - t) > 1e-12 * span) {
        if (fm_interrupted())
            return fm_error(FM_EINTERRUPT, "ode.solve: interrupted at t = %g", t);
        if (s->st->accepted + s->st->rejected >= o->max_steps)
            return fm_error(FM_EVALUE, "ode.solve: dopri5 reached max_steps = %lld at t = %g "
                            "(raise max_steps or loosen rtol/atol)",
                            (long long)o->max_steps, t);
        double target = r < o->nrec ? o->rec_t[r] : t1;
        if (dir * (target - t) <= 1e-12 * span) target = t1;
        bool clip = h >= fabs(target - t);
        double hs = clip ? fabs(target - t) : h;
        TRY(dp_step(s, x, t, dir * hs));
        double err = err_norm(&k[8], x, &k[7], o->rtol, o->atol);
        nonfinite = !isfinite(err);
        if (nonfinite) err = 1e10;
        double fac = err == 0 ? 10 : fmin(10, fmax(0.2, 0.9 * pow(err, -0.2)));
        if (err <= 1) {
            s->st->accepted++;
            double told = t;
            t = clip ? target : t + dir * hs;
            TRY(fm_icheck_finite(&k[7], "ode.solve", s->st->accepted, told, t));
            memcpy(x->data, k[7].data, fm_tensor_nbytes(x));
            memcpy(k[0].data, k[6].data, fm_tensor_nbytes(x)); /* FSAL */
            fm_irecord(o, t, x, traj, &r);
            h = hs * fac;
        } else {
            s->st->rejected++;
            h = hs * fmin(1, fac);
        }
        if (h < 1e-14 * span)
            return nonfinite
                ? fm_error(FM_EVALUE, "ode.solve: step %lld (t = %g): dopri5 step size underflow: "
                           "the field gives NaN or inf at every step size tried",
                           (long long)s->st->accepted + 1, t)
                : fm_error(FM_EVALUE, "ode.solve: dopri5 step size underflow at t = %g", t);
    }
    return FM_OK;
}

fm_status fm_ode_solve(fm_ode_method method, fm_field f, const fm_tensor *x0,
                       const fm_ode_opts *o, fm_tensor *x1, fm_tensor *traj,
                       fm_ode_stats *stats)
{
    fm_ode_stats dummy;
    if (!stats) stats = &dummy;
    memset(stats, 0, sizeof *stats);
    TRY(fm_icheck(x0, x1, traj, o->nrec, "ode.solve"));
    fm_ibufs w;
    int nbuf = method == FM_ODE_DOPRI5 ? 10 : 6;
    TRY(fm_ibufs_alloc(&w, x0, nbuf, "ode.solve"));
    solver s = {f, stats, w.b};
    fm_tensor *x = &w.b[nbuf - 1];
    fm_status st = fm_copy(x, x0);
    /* adaptive dopri5 unless its fixed grid was asked for */
    bool adaptive = method == FM_ODE_DOPRI5 && !o->fixed_grid;
    if (st == FM_OK)
        st = adaptive ? solve_dopri5(&s, x, o, traj) : solve_fixed(&s, method, x, o, traj);
    if (st == FM_OK) st = fm_copy(x1, x);
    fm_ibufs_free(&w);
    return st;
}
