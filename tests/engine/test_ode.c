/* test_ode.c — ODE/SDE/Langevin integrators (docs/math.md §1, §5) on problems
 * with closed-form answers. */
#include "integrate/integrate.h"
#include "ops/ops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; printf("FAIL %s:%d: ", \
    __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

/* x' = A x, A = [[-0.5, 2], [-2, -0.5]] (damped rotation): x(t) =
 * e^{-t/2} R(-2t) x0 with R the rotation matrix. Applied to every row. */
static fm_status lin_field(void *ctx, const fm_tensor *x, double t, fm_tensor *out)
{
    (void)t;
    int *calls = ctx;
    (*calls)++;
    const double *a = x->data;
    double *o = out->data;
    for (int64_t i = 0; i < x->shape[0]; i++) {
        o[2 * i] = -0.5 * a[2 * i] + 2 * a[2 * i + 1];
        o[2 * i + 1] = -2 * a[2 * i] - 0.5 * a[2 * i + 1];
    }
    return FM_OK;
}

static void exact(double t0, double t1, const double x0[2], double out[2])
{
    double s = t1 - t0, e = exp(-0.5 * s), c = cos(2 * s), n = sin(2 * s);
    out[0] = e * (c * x0[0] + n * x0[1]);
    out[1] = e * (-n * x0[0] + c * x0[1]);
}

static double err_at(fm_ode_method m, int64_t steps, double t0, double t1, bool fixed)
{
    double x0[2] = {1, 0.5}, x1[2], ex[2];
    int calls = 0;
    fm_tensor X0, X1;
    fm_tensor_init(&X0, x0, FM_FLOAT64, 2, (int64_t[]){1, 2});
    fm_tensor_init(&X1, x1, FM_FLOAT64, 2, (int64_t[]){1, 2});
    fm_ode_opts o = fm_ode_opts_default();
    o.t0 = t0; o.t1 = t1; o.nsteps = steps;
    o.fixed_grid = fixed;
    fm_ode_stats st;
    fm_status s = fm_ode_solve(m, (fm_field){lin_field, &calls}, &X0, &o, &X1, NULL, &st);
    CHECK(s == FM_OK, "%s", fm_last_error());
    CHECK(st.nfe == calls, "nfe %lld vs %d calls", (long long)st.nfe, calls);
    exact(t0, t1, x0, ex);
    return hypot(x1[0] - ex[0], x1[1] - ex[1]);
}

/* Order p from the errors at N and 2N steps: log2(e_N / e_2N). The steps are
 * chosen in the asymptotic range and above round-off (dopri5: errors 1e-7 to
 * 1e-9 at 8/16 steps on [0, 2]). Tolerance ±0.3 (issue 5). */
static void test_orders(void)
{
    static const int order[5] = {1, 2, 2, 4, 5};
    static const int64_t n[5] = {400, 100, 100, 40, 16};
    static const char *nm[5] = {"euler", "midpoint", "heun", "rk4", "dopri5"};
    for (int m = 0; m < 5; m++)
        for (int dir = 0; dir < 2; dir++) {
            double a = dir ? 2 : 0, b = dir ? 0 : 2;
            double e1 = err_at((fm_ode_method)m, n[m], a, b, true);
            double e2 = err_at((fm_ode_method)m, 2 * n[m], a, b, true);
            double p = log2(e1 / e2);
            printf("%-8s %s order %.3f (errors %.3g, %.3g)\n", nm[m],
                   dir ? "backward" : "forward", p, e1, e2);
            CHECK(fabs(p - order[m]) < 0.3, "%s order %.3f, expected %d", nm[m], p, order[m]);
        }
}

/* Adaptive dopri5: the global error follows the tolerance (within a factor
 * 100 of rtol: local control does not bound global error exactly) and the
 * statistics add up (nfe = 6 per step + 2 start + 1 initial-step probe). */
static void test_dopri5_adaptive(void)
{
    double x0[2] = {1, 0.5}, x1[2], ex[2];
    double rec_t[3] = {0, 0.77, 2}, trajbuf[6];
    int calls = 0;
    fm_tensor X0, X1, T;
    fm_tensor_init(&X0, x0, FM_FLOAT64, 2, (int64_t[]){1, 2});
    fm_tensor_init(&X1, x1, FM_FLOAT64, 2, (int64_t[]){1, 2});
    fm_tensor_init(&T, trajbuf, FM_FLOAT64, 3, (int64_t[]){3, 1, 2});
    for (int k = 0; k < 3; k++) {
        fm_ode_opts o = fm_ode_opts_default();
        o.t1 = 2; o.rtol = pow(10, -4 - 2 * k); o.atol = o.rtol * 1e-2;
        o.rec_t = rec_t; o.nrec = 3;
        fm_ode_stats st;
        calls = 0;
        CHECK(fm_ode_solve(FM_ODE_DOPRI5, (fm_field){lin_field, &calls}, &X0, &o, &X1, &T,
                           &st) == FM_OK, "%s", fm_last_error());
        exact(0, 2, x0, ex);
        double e = hypot(x1[0] - ex[0], x1[1] - ex[1]);
        printf("dopri5 rtol %.0e: error %.3g, nfe %lld, accepted %lld, rejected %lld\n",
               o.rtol, e, (long long)st.nfe, (long long)st.accepted, (long long)st.rejected);
        CHECK(e < 100 * o.rtol, "dopri5 error %g at rtol %g", e, o.rtol);
        CHECK(st.nfe == calls && st.nfe == 6 * (st.accepted + st.rejected) + 2,
              "nfe %lld", (long long)st.nfe);
        exact(0, 0.77, x0, ex);
        CHECK(fabs(trajbuf[2] - ex[0]) < 100 * o.rtol && trajbuf[0] == 1 && trajbuf[4] == x1[0],
              "recorded trajectory");
    }
}

static fm_status stop_field(void *ctx, const fm_tensor *x, double t, fm_tensor *out)
{
    (void)ctx; (void)t;
    fm_interrupt_request();
    return fm_copy(out, x);
}

static void test_interrupt(void)
{
    double x0[2] = {1, 2}, x1[2];
    fm_tensor X0, X1;
    fm_tensor_init(&X0, x0, FM_FLOAT64, 2, (int64_t[]){1, 2});
    fm_tensor_init(&X1, x1, FM_FLOAT64, 2, (int64_t[]){1, 2});
    fm_ode_opts o = fm_ode_opts_default();
    fm_ode_stats st;
    fm_status s = fm_ode_solve(FM_ODE_EULER, (fm_field){stop_field, NULL}, &X0, &o, &X1,
                               NULL, &st);
    CHECK(s == FM_EINTERRUPT && st.nfe == 1, "status %d nfe %lld", s, (long long)st.nfe);
    fm_interrupt_clear();
    o.nsteps = 0;
    CHECK(fm_ode_solve(FM_ODE_EULER, (fm_field){lin_field, NULL}, &X0, &o, &X1, NULL, NULL)
          == FM_EVALUE, "steps 0 rejected");
    /* adaptive dopri5 with tolerances it cannot meet is an error (not fixed
     * steps: that is fixed_grid), as are NaN tolerances */
    int calls = 0;
    o = fm_ode_opts_default();
    o.rtol = o.atol = 0;
    CHECK(fm_ode_solve(FM_ODE_DOPRI5, (fm_field){lin_field, &calls}, &X0, &o, &X1, NULL, NULL)
          == FM_EVALUE && strstr(fm_last_error(), "not both 0"), "rtol = atol = 0: %s",
          fm_last_error());
    o.fixed_grid = true;
    CHECK(fm_ode_solve(FM_ODE_DOPRI5, (fm_field){lin_field, &calls}, &X0, &o, &X1, NULL, &st)
          == FM_OK && st.accepted == o.nsteps, "fixed grid: %s", fm_last_error());
    o = fm_ode_opts_default();
    o.rtol = NAN;
    CHECK(fm_ode_solve(FM_ODE_DOPRI5, (fm_field){lin_field, &calls}, &X0, &o, &X1, NULL, NULL)
          == FM_EVALUE, "NaN rtol rejected");
}

int main(void)
{
    test_orders();
    test_dopri5_adaptive();
    test_interrupt();
    if (failures) printf("%d failures\n", failures);
    return failures != 0;
}
