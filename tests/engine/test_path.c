/* test_path.c — Gaussian conditional paths (docs/math.md §2). */
#include "paths/path.h"
#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; printf("FAIL %s:%d: ", \
    __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

enum { N = 16, D = 3 };
static const char *names[] = {"linear", "sqrt", "cosine", "vp", "polynomial"};
static fm_rng rng;

static fm_tensor mk(fm_dtype dt, int64_t n, int64_t d, bool randn)
{
    fm_tensor t;
    int64_t shape[2] = {n, d};
    fm_tensor_alloc(&t, dt, 2, shape);
    if (randn) fm_rng_normal(&rng, &t, 0, 1);
    return t;
}

static double maxdiff(const fm_tensor *a, const fm_tensor *b)
{
    double m = 0;
    for (int64_t i = 0; i < fm_tensor_numel(a); i++)
        m = fmax(m, fabs(fm_tensor_get(a, i) - fm_tensor_get(b, i)));
    return m;
}

static bool all_finite(const fm_tensor *a)
{
    for (int64_t i = 0; i < fm_tensor_numel(a); i++)
        if (!isfinite(fm_tensor_get(a, i))) return false;
    return true;
}

/* d/dt x_t (central difference in t, h = 1e-6) equals u_t(x_t | z), both
 * forms. FD error ~ h^2 |x'''| ~ 1e-12 * O(100) plus rounding 1e-16 / 1e-6 ~
 * 1e-10 relative to |x| ~ 3: tolerance 1e-6 (a wrong coefficient is O(1)). */
static void test_generates_path(void)
{
    fm_tensor z = mk(FM_FLOAT64, N, D, true), e = mk(FM_FLOAT64, N, D, true);
    fm_tensor x = mk(FM_FLOAT64, N, D, false), xp = mk(FM_FLOAT64, N, D, false);
    fm_tensor xm = mk(FM_FLOAT64, N, D, false), u = mk(FM_FLOAT64, N, D, false);
    fm_tensor u2 = mk(FM_FLOAT64, N, D, false), fd = mk(FM_FLOAT64, N, D, false);
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        fm_schedule s;
        fm_path p;
        fm_schedule_named(&s, names[k]);
        fm_path_init(&p, &s);
        for (double t = 0.1; t < 0.95; t += 0.2) {
            double h = 1e-6, tp = t + h, tm = t - h, tt = t;
            fm_tensor T = fm_path_time(&tt), Tp = fm_path_time(&tp), Tm = fm_path_time(&tm);
            fm_path_sample(&p, &z, &e, &T, &x);
            fm_path_sample(&p, &z, &e, &Tp, &xp);
            fm_path_sample(&p, &z, &e, &Tm, &xm);
            for (int64_t i = 0; i < N * D; i++)
                fm_tensor_set(&fd, i, (fm_tensor_get(&xp, i) - fm_tensor_get(&xm, i)) / (2 * h));
            CHECK(fm_path_velocity(&p, &x, &z, &T, &u) == FM_OK, "%s", fm_last_error());
            fm_path_velocity_eps(&p, &z, &e, &T, &u2);
            CHECK(maxdiff(&u, &fd) < 1e-6, "%s t=%g u(x|z) vs d/dt x_t: %g", names[k], t, maxdiff(&u, &fd));
            CHECK(maxdiff(&u2, &fd) < 1e-6, "%s t=%g x-free u vs d/dt x_t: %g", names[k], t, maxdiff(&u2, &fd));
        }
    }
    fm_tensor_free(&z); fm_tensor_free(&e); fm_tensor_free(&x); fm_tensor_free(&xp);
    fm_tensor_free(&xm); fm_tensor_free(&u); fm_tensor_free(&u2); fm_tensor_free(&fd);
}

/* score = finite-difference gradient of log N(x; alpha z, beta^2 I):
 * h = 1e-5, error h^2/beta^4 ~ 1e-9; tolerance 1e-6. */
static double log_normal(const double *x, const double *m, double s2)
{
    double q = 0;
    for (int j = 0; j < D; j++) q += (x[j] - m[j]) * (x[j] - m[j]);
    return -0.5 * q / s2 - 0.5 * D * log(2 * M_PI * s2);
}

static void test_score(void)
{
    fm_tensor z = mk(FM_FLOAT64, 1, D, true), x = mk(FM_FLOAT64, 1, D, true);
    fm_tensor sc = mk(FM_FLOAT64, 1, D, false);
    fm_schedule s;
    fm_path p;
    fm_schedule_named(&s, "cosine");
    fm_path_init(&p, &s);
    double t = 0.4, *zv = z.data, *xv = x.data, m[D];
    fm_sched_val v;
    fm_schedule_eval(&s, t, &v);
    for (int j = 0; j < D; j++) m[j] = v.alpha * zv[j];
    fm_tensor T = fm_path_time(&t);
    fm_path_score(&p, &x, &z, &T, &sc);
    for (int j = 0; j < D; j++) {
        double h = 1e-5, x0 = xv[j], lp, lm;
        xv[j] = x0 + h; lp = log_normal(xv, m, v.beta * v.beta);
        xv[j] = x0 - h; lm = log_normal(xv, m, v.beta * v.beta);
        xv[j] = x0;
        double g = (lp - lm) / (2 * h);
        CHECK(fabs(g - ((double *)sc.data)[j]) < 1e-6, "score[%d] %g vs fd %g", j,
              ((double *)sc.data)[j], g);
    }
    fm_tensor_free(&z); fm_tensor_free(&x); fm_tensor_free(&sc);
}

/* Per-row times ((n,) and (n, 1)) equal row-by-row scalar calls exactly. */
static void test_per_row(void)
{
    fm_tensor z = mk(FM_FLOAT64, N, D, true), x = mk(FM_FLOAT64, N, D, true);
    fm_tensor u = mk(FM_FLOAT64, N, D, false), t1, t2;
    int64_t n1[1] = {N}, n2[2] = {N, 1}, bad[1] = {N - 1};
    fm_tensor_alloc(&t1, FM_FLOAT64, 1, n1);
    fm_rng_uniform(&rng, &t1, 0, 1);
    fm_tensor_alloc(&t2, FM_FLOAT32, 2, n2);
    for (int i = 0; i < N; i++) fm_tensor_set(&t2, i, fm_tensor_get(&t1, i));
    fm_schedule s;
    fm_path p;
    fm_schedule_named(&s, "vp");
    fm_path_init(&p, &s);
    fm_path_velocity(&p, &x, &z, &t1, &u);
    double err = 0;
    for (int i = 0; i < N; i++) {
        fm_tensor zi, xi, ui;
        double ti = fm_tensor_get(&t1, i), r[D];
        zi = z; zi.data = (double *)z.data + i * D; zi.shape[0] = 1;
        xi = x; xi.data = (double *)x.data + i * D; xi.shape[0] = 1;
        fm_tensor_init(&ui, r, FM_FLOAT64, 2, (int64_t[]){1, D});
        fm_tensor T = fm_path_time(&ti);
        fm_path_velocity(&p, &xi, &zi, &T, &ui);
        for (int j = 0; j < D; j++) err = fmax(err, fabs(r[j] - ((double *)u.data)[i * D + j]));
    }
    CHECK(err == 0, "per-row t vs scalar calls: %g", err);
    CHECK(fm_path_score(&p, &x, &z, &t2, &u) == FM_OK, "(n,1) float32 t: %s", fm_last_error());
    fm_tensor tb;
    fm_tensor_alloc(&tb, FM_FLOAT64, 1, bad);
    CHECK(fm_path_score(&p, &x, &z, &tb, &u) == FM_ESHAPE && strstr(fm_last_error(), "t must"),
          "bad t shape: %s", fm_last_error());
    fm_tensor_free(&z); fm_tensor_free(&x); fm_tensor_free(&u);
    fm_tensor_free(&t1); fm_tensor_free(&t2); fm_tensor_free(&tb);
}

/* Every conversion maps the true prediction of one kind to the true one of
 * another (computed from z, eps). Relative tolerance 1e-9: the 2x2 solves
 * are well conditioned at t = 0.4 and cost a few ulps. */
static void truth(const fm_path *p, fm_pred k, const fm_tensor *z, const fm_tensor *e,
                  double t, fm_tensor *out)
{
    fm_sched_val v;
    fm_schedule_eval(&p->sched, t, &v);
    for (int64_t i = 0; i < fm_tensor_numel(z); i++) {
        double zi = fm_tensor_get(z, i), ei = fm_tensor_get(e, i), r;
        r = k == FM_PRED_DATA ? zi : k == FM_PRED_EPS ? ei
          : k == FM_PRED_SCORE ? -ei / v.beta : v.dalpha * zi + v.dbeta * ei;
        fm_tensor_set(out, i, r);
    }
}

static void test_convert(void)
{
    fm_tensor z = mk(FM_FLOAT64, N, D, true), e = mk(FM_FLOAT64, N, D, true);
    fm_tensor x = mk(FM_FLOAT64, N, D, false), a = mk(FM_FLOAT64, N, D, false);
    fm_tensor b = mk(FM_FLOAT64, N, D, false), c = mk(FM_FLOAT64, N, D, false);
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        fm_schedule s;
        fm_path p;
        fm_schedule_named(&s, names[k]);
        fm_path_init(&p, &s);
        double t = 0.4;
        fm_tensor T = fm_path_time(&t);
        fm_path_sample(&p, &z, &e, &T, &x);
        for (int f = 0; f < FM_PRED_COUNT; f++)
            for (int g = 0; g < FM_PRED_COUNT; g++) {
                truth(&p, f, &z, &e, t, &a);
                truth(&p, g, &z, &e, t, &b);
                CHECK(fm_path_convert(&p, f, &a, &x, &T, g, &c) == FM_OK, "%s", fm_last_error());
                CHECK(maxdiff(&b, &c) < 1e-9 * 10, "%s %s->%s: %g", names[k],
                      fm_pred_name(f), fm_pred_name(g), maxdiff(&b, &c));
            }
    }
    fm_pred k;
    CHECK(fm_pred_parse("score", &k) == FM_OK && k == FM_PRED_SCORE, "parse");
    CHECK(fm_pred_parse("x0", &k) == FM_EVALUE, "parse bad");
    fm_tensor_free(&z); fm_tensor_free(&e); fm_tensor_free(&x);
    fm_tensor_free(&a); fm_tensor_free(&b); fm_tensor_free(&c);
}

/* t = 0, 1e-7, 1 - 1e-7, 1: documented behaviour (path.h). */
static void test_endpoints(void)
{
    const double ts[] = {0, 1e-7, 1 - 1e-7, 1};
    for (int dt = 0; dt < 2; dt++) {
        fm_dtype dtype = dt ? FM_FLOAT32 : FM_FLOAT64;
        fm_tensor z = mk(dtype, N, D, true), e = mk(dtype, N, D, true);
        fm_tensor x = mk(dtype, N, D, false), u = mk(dtype, N, D, false);
        fm_tensor r = mk(dtype, N, D, false), r2 = mk(dtype, N, D, false);
        fm_tensor zme = mk(dtype, N, D, false);
        for (int i = 0; i < N * D; i++)
            fm_tensor_set(&zme, i, fm_tensor_get(&z, i) - fm_tensor_get(&e, i));
        for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
            fm_schedule s;
            fm_path p;
            fm_schedule_named(&s, names[k]);
            fm_path_init(&p, &s);
            for (int i = 0; i < 4; i++) {
                double t = ts[i];
                fm_tensor T = fm_path_time(&t);
                fm_path_sample(&p, &z, &e, &T, &x);
                if (t == 0 && k != 3) CHECK(maxdiff(&x, &e) == 0, "%s x_0 = eps", names[k]);
                if (t == 1) CHECK(maxdiff(&x, &z) == 0, "%s x_1 = z", names[k]);
                fm_path_velocity_eps(&p, &z, &e, &T, &u);
                CHECK(all_finite(&u), "%s velocity_eps finite at %g", names[k], t);
                if (k == 0) CHECK(maxdiff(&u, &zme) < (dt ? 1e-6 : 1e-15),
                                  "linear z - eps at %g", t);
                fm_path_velocity(&p, &x, &z, &T, &u);
                CHECK(all_finite(&u), "%s velocity finite at %g", names[k], t);
                /* t = 1e-7 is clamped to 1e-5: relative change ~1e-5 */
                if (k == 0 && t < 0.5) CHECK(maxdiff(&u, &zme) < 1e-4, "linear u at %g: %g", t, maxdiff(&u, &zme));
                fm_path_score(&p, &x, &z, &T, &u);
                CHECK(all_finite(&u), "%s score finite at %g", names[k], t);
                /* eps -> data -> eps round trip at the same clamped t:
                 * conditioning <= 1/t_eps = 1e5, so 1e5 * ulp */
                fm_path_convert(&p, FM_PRED_EPS, &e, &x, &T, FM_PRED_DATA, &r);
                fm_path_convert(&p, FM_PRED_DATA, &r, &x, &T, FM_PRED_EPS, &r2);
                CHECK(all_finite(&r) && maxdiff(&r2, &e) < (dt ? 0.1 : 1e-9),
                      "%s %s round trip at %g: %g", names[k], fm_dtype_name(dtype), t, maxdiff(&r2, &e));
                fm_path_convert(&p, FM_PRED_VELOCITY, &zme, &x, &T, FM_PRED_SCORE, &r);
                CHECK(all_finite(&r), "%s velocity->score finite at %g", names[k], t);
            }
        }
        fm_tensor_free(&z); fm_tensor_free(&e); fm_tensor_free(&x); fm_tensor_free(&u);
        fm_tensor_free(&r); fm_tensor_free(&r2); fm_tensor_free(&zme);
    }
}

int main(void)
{
    fm_rng_seed(&rng, 7);
    test_generates_path();
    test_score();
    test_per_row();
    test_convert();
    test_endpoints();
    if (failures) printf("%d failure(s)\n", failures);
    else printf("test_path: all passed\n");
    return failures != 0;
}
