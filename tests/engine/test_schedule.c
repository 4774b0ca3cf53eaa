/* test_schedule.c — named and custom schedules (docs/math.md §2). */
#include "paths/schedule.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; printf("FAIL %s:%d: ", \
    __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static const char *names[] = {"linear", "sqrt", "cosine", "vp", "polynomial"};

/* Closed-form derivatives vs central differences of the closed-form values.
 * FD step 1e-6 on [0.02, 0.98]: truncation h^2 |f'''|/6 with |f'''| <= 1e4
 * there (vp's beta near t = 1 is the worst) plus rounding 1e-16/1e-6, so a
 * 1e-6 relative tolerance (plus 1e-7 absolute) cannot be met by a wrong
 * formula yet leaves room for the FD error. */
static void test_derivatives(void)
{
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        fm_schedule s;
        CHECK(fm_schedule_named(&s, names[k]) == FM_OK, "named %s", names[k]);
        for (double t = 0.02; t <= 0.98; t += 0.03) {
            fm_sched_val v, lo, hi;
            double h = 1e-6;
            fm_schedule_eval(&s, t, &v);
            fm_schedule_eval(&s, t - h, &lo);
            fm_schedule_eval(&s, t + h, &hi);
            double fa = (hi.alpha - lo.alpha) / (2 * h);
            double fb = (hi.beta - lo.beta) / (2 * h);
            CHECK(fabs(fa - v.dalpha) <= 1e-7 + 1e-6 * fabs(v.dalpha),
                  "%s dalpha at %g: %.12g vs fd %.12g", names[k], t, v.dalpha, fa);
            CHECK(fabs(fb - v.dbeta) <= 1e-7 + 1e-6 * fabs(v.dbeta),
                  "%s dbeta at %g: %.12g vs fd %.12g", names[k], t, v.dbeta, fb);
        }
    }
}

static void test_named_values(void)
{
    fm_schedule s;
    fm_sched_val v;
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        fm_schedule_named(&s, names[k]);
        CHECK(fm_schedule_validate(&s) == FM_OK, "validate %s: %s", names[k],
              fm_last_error());
    }
    fm_schedule_linear(&s);
    fm_schedule_eval(&s, 0.25, &v);
    CHECK(v.alpha == 0.25 && v.beta == 0.75 && v.dalpha == 1 && v.dbeta == -1,
          "linear values");
    fm_schedule_sqrt(&s);
    fm_schedule_eval(&s, 0.75, &v);
    CHECK(v.alpha == 0.75 && v.beta == 0.5 && v.dbeta == -1.0, "sqrt values");
    /* vp: alpha_0 = exp(-T(1)/2), T(1) = 0.1 + 19.9/2 = 10.05 */
    fm_schedule_named(&s, "vp");
    fm_schedule_eval(&s, 0.0, &v);
    CHECK(fabs(v.alpha - exp(-5.025)) < 1e-15, "vp alpha_0 %g", v.alpha);
    fm_schedule_eval(&s, 0.37, &v);
    CHECK(fabs(v.alpha * v.alpha + v.beta * v.beta - 1) < 1e-14, "vp a^2+b^2");
    fm_schedule_polynomial(&s, 3);
    fm_schedule_eval(&s, 0.5, &v);
    CHECK(v.alpha == 0.125 && v.beta == 0.875 && v.dalpha == 0.75, "poly 3");
    CHECK(fm_schedule_polynomial(&s, -1) == FM_EVALUE, "poly n < 0");
    CHECK(fm_schedule_vp(&s, 5, 1) == FM_EVALUE, "vp b_min > b_max");
    CHECK(fm_schedule_named(&s, "nope") == FM_EVALUE &&
          strstr(fm_last_error(), "nope"), "unknown name");
    CHECK(fm_schedule_eval(&s, 1.5, &v) == FM_EVALUE, "t > 1 rejected");
    /* infinite endpoint derivative, and the safe evaluation */
    fm_schedule_sqrt(&s);
    fm_schedule_eval(&s, 1.0, &v);
    CHECK(isinf(v.dbeta), "sqrt dbeta(1) = -inf");
    fm_schedule_eval_safe(&s, 1.0, 1e-5, &v);
    CHECK(isfinite(v.dbeta) && fabs(v.beta - sqrt(1e-5)) < 1e-13, "eval_safe");
}

/* ---- custom schedules from callbacks ------------------------------------ */

static fm_status cb_sin(void *c, double t, double *o) { (void)c; *o = sin(M_PI_2 * t); return FM_OK; }
static fm_status cb_cos(void *c, double t, double *o) { (void)c; *o = t == 1 ? 0 : cos(M_PI_2 * t); return FM_OK; }
static fm_status cb_sq(void *c, double t, double *o) { (void)c; *o = t * t; return FM_OK; }
static fm_status cb_1msq(void *c, double t, double *o) { (void)c; *o = 1 - t * t; return FM_OK; }
static fm_status cb_bad0(void *c, double t, double *o) { (void)c; *o = 0.9 * (1 - t); return FM_OK; }
static fm_status cb_nan(void *c, double t, double *o) { (void)c; *o = t == 0.5 ? NAN : 1 - t; return FM_OK; }
static fm_status cb_zero(void *c, double t, double *o) { (void)c; *o = t >= 0.7 ? 0 : 1 - t / 0.7; return FM_OK; }
static fm_status cb_bump(void *c, double t, double *o) { (void)c; *o = t + 1.0 * sin(4 * M_PI * t) * t * (1 - t); return FM_OK; }
static fm_status cb_fail(void *c, double t, double *o) { (void)c; (void)t; (void)o; return fm_error(FM_EVALUE, "user error"); }
static fm_status cb_range(void *c, double t, double *o)
{
    int *bad = c;
    if (t < 0 || t > 1) (*bad)++;
    *o = t;
    return FM_OK;
}

static void test_custom(void)
{
    fm_schedule s;
    fm_sched_val v;
    /* FD derivatives: error ~1e-10 for smooth O(1) functions (schedule.h);
     * checked at interior and both one-sided ends. */
    CHECK(fm_schedule_custom(&s, "mycos", cb_sin, cb_cos, NULL, NULL, NULL) == FM_OK, "custom");
    double ts[] = {0, 1e-7, 0.3, 0.5, 1 - 1e-7, 1};
    for (int i = 0; i < 6; i++) {
        double t = ts[i];
        CHECK(fm_schedule_eval(&s, t, &v) == FM_OK, "eval custom");
        CHECK(fabs(v.dalpha - M_PI_2 * cos(M_PI_2 * t)) < 1e-9, "fd dalpha at %g: %.15g", t, v.dalpha);
        CHECK(fabs(v.dbeta + M_PI_2 * sin(M_PI_2 * t)) < 1e-9, "fd dbeta at %g: %.15g", t, v.dbeta);
    }
    CHECK(fm_schedule_validate(&s) == FM_OK, "custom cosine valid: %s", fm_last_error());
    fm_schedule_custom(&s, "quad", cb_sq, cb_1msq, NULL, NULL, NULL);
    fm_schedule_eval(&s, 1.0, &v);
    CHECK(fabs(v.dalpha - 2) < 1e-9 && fabs(v.dbeta + 2) < 1e-9, "one-sided at 1");
    /* user functions are never called outside [0, 1] */
    int bad = 0;
    fm_schedule_custom(&s, "r", cb_range, cb_1msq, NULL, NULL, &bad);
    fm_schedule_eval(&s, 0, &v);
    fm_schedule_eval(&s, 1, &v);
    fm_schedule_eval(&s, 1e-9, &v);
    CHECK(bad == 0 && fabs(v.dalpha - 1) < 1e-9, "callback range");
    /* given derivatives are used as they are */
    fm_schedule_custom(&s, "q2", cb_sq, cb_1msq, cb_sin, cb_cos, NULL);
    fm_schedule_eval(&s, 0.5, &v);
    CHECK(v.dalpha == sin(M_PI_4), "given dalpha used");
    /* the validator names the schedule and the offending t */
    fm_schedule_custom(&s, "shifted", cb_sq, cb_bad0, NULL, NULL, NULL);
    CHECK(fm_schedule_validate(&s) == FM_EVALUE && strstr(fm_last_error(), "shifted")
          && strstr(fm_last_error(), "t = 0"), "boundary: %s", fm_last_error());
    fm_schedule_custom(&s, "nanny", cb_sq, cb_nan, NULL, NULL, NULL);
    CHECK(fm_schedule_validate(&s) == FM_EVALUE && strstr(fm_last_error(), "nanny")
          && strstr(fm_last_error(), "t = 0.5"), "nan: %s", fm_last_error());
    fm_schedule_custom(&s, "early", cb_sq, cb_zero, NULL, NULL, NULL);
    CHECK(fm_schedule_validate(&s) == FM_EVALUE && strstr(fm_last_error(), "t = 0.7"),
          "beta = 0 inside: %s", fm_last_error());
    fm_schedule_custom(&s, "bumpy", cb_bump, cb_1msq, NULL, NULL, NULL);
    CHECK(fm_schedule_validate(&s) == FM_EVALUE && strstr(fm_last_error(), "bumpy")
          && strstr(fm_last_error(), "decrease"), "monotone: %s", fm_last_error());
    fm_schedule_custom(&s, "f", cb_fail, cb_1msq, NULL, NULL, NULL);
    CHECK(fm_schedule_eval(&s, 0.5, &v) == FM_EVALUE &&
          !strcmp(fm_last_error(), "user error"), "callback error passed on");
    CHECK(fm_schedule_custom(&s, "x", NULL, cb_1msq, NULL, NULL, NULL) == FM_EVALUE,
          "missing alpha");
}

int main(void)
{
    test_derivatives();
    test_named_values();
    test_custom();
    if (failures) printf("%d failure(s)\n", failures);
    else printf("test_schedule: all passed\n");
    return failures != 0;
}
