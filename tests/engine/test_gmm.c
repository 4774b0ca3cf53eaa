/* test_gmm.c — Gaussian mixtures and exact path marginals (docs/math.md §3). */
#include "paths/gmm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; printf("FAIL %s:%d: ", \
    __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static fm_rng rng;
static const char *names[] = {"linear", "sqrt", "cosine", "vp", "polynomial"};

/* A 2-D mixture with one full, correlated component (the general case). */
static const double W2[3] = {0.5, 0.3, 0.2};
static const double M2[6] = {-2, 0, 2, 1, 0, 3};
static const double S2[12] = {1, 0.6, 0.6, 0.5,  0.3, 0, 0, 0.3,  0.8, -0.3, -0.3, 0.4};

static fm_tensor mat(double *buf, int64_t n, int64_t d)
{
    fm_tensor t;
    fm_tensor_init(&t, buf, FM_FLOAT64, 2, (int64_t[]){n, d});
    return t;
}

/* Trapezoid quadrature of p over a box (spectrally accurate for Gaussians;
 * the box leaves < 1e-12 of mass outside): tolerance 1e-6. */
static void test_normalised(void)
{
    fm_gmm g;
    double w1[3] = {1, 2, 1}, m1[3] = {-3, 0, 4}, v1[3] = {0.5, 1, 2};
    CHECK(fm_gmm_init_raw(&g, 3, 1, w1, m1, v1, false) == FM_OK, "%s", fm_last_error());
    static double xs[4001], lp[4001];
    double h = 40.0 / 4000, sum = 0;
    for (int i = 0; i <= 4000; i++) xs[i] = -20 + i * h;
    fm_tensor X = mat(xs, 4001, 1), L;
    fm_tensor_init(&L, lp, FM_FLOAT64, 1, (int64_t[]){4001});
    fm_gmm_log_prob(&g, &X, &L);
    for (int i = 0; i <= 4000; i++) sum += exp(lp[i]) * h;
    CHECK(fabs(sum - 1) < 1e-6, "1-D integral %.12g", sum);
    fm_gmm_free(&g);

    CHECK(fm_gmm_init_raw(&g, 3, 2, W2, M2, S2, true) == FM_OK, "%s", fm_last_error());
    enum { G = 301 };
    static double pts[G * G * 2], lp2[G * G];
    double a = -9, step = 18.0 / (G - 1);
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            pts[2 * (i * G + j)] = a + i * step;
            pts[2 * (i * G + j) + 1] = a + 1 + j * step;
        }
    X = mat(pts, G * G, 2);
    fm_tensor_init(&L, lp2, FM_FLOAT64, 1, (int64_t[]){G * G});
    fm_gmm_log_prob(&g, &X, &L);
    sum = 0;
    for (int i = 0; i < G * G; i++) sum += exp(lp2[i]) * step * step;
    CHECK(fabs(sum - 1) < 1e-6, "2-D integral %.12g", sum);
    fm_gmm_free(&g);
}

/* Central differences of log p (h = 1e-5, error ~h^2 |d3 log p| ~ 1e-9):
 * tolerance 1e-6. */
static void fd_grad(const fm_gmm *g, const fm_path *p, double t, double *x,
                    int d, double *out)
{
    for (int j = 0; j < d; j++) {
        double h = 1e-5, x0 = x[j], lp, lm;
        fm_tensor X = mat(x, 1, d), L;
        fm_tensor_init(&L, &lp, FM_FLOAT64, 1, (int64_t[]){1});
        x[j] = x0 + h;
        if (p) fm_gmm_marginal(g, p, t, &X, &L, NULL, NULL); else fm_gmm_log_prob(g, &X, &L);
        fm_tensor_init(&L, &lm, FM_FLOAT64, 1, (int64_t[]){1});
        x[j] = x0 - h;
        if (p) fm_gmm_marginal(g, p, t, &X, &L, NULL, NULL); else fm_gmm_log_prob(g, &X, &L);
        x[j] = x0;
        out[j] = (lp - lm) / (2 * h);
    }
}

static void test_score(void)
{
    fm_gmm g;
    fm_gmm_init_raw(&g, 3, 2, W2, M2, S2, true);
    fm_schedule s;
    fm_path p;
    fm_schedule_named(&s, "cosine");
    fm_path_init(&p, &s);
    double xs[][2] = {{0, 0}, {-2.5, 0.7}, {3, 3}, {12, -9}};
    for (int i = 0; i < 4; i++) {
        double sc[2], fd[2];
        fm_tensor X = mat(xs[i], 1, 2), S = mat(sc, 1, 2);
        fm_gmm_score(&g, &X, &S);
        fd_grad(&g, NULL, 0, xs[i], 2, fd);
        for (int j = 0; j < 2; j++)
            CHECK(fabs(sc[j] - fd[j]) < 1e-6 * (1 + fabs(fd[j])), "score %d,%d: %g vs %g", i, j, sc[j], fd[j]);
        fm_gmm_marginal(&g, &p, 0.6, &X, NULL, &S, NULL);
        fd_grad(&g, &p, 0.6, xs[i], 2, fd);
        for (int j = 0; j < 2; j++)
            CHECK(fabs(sc[j] - fd[j]) < 1e-6 * (1 + fabs(fd[j])), "marginal score %d,%d", i, j);
    }
    /* far away, log-sum-exp keeps things finite */
    double far[2] = {1e3, -1e3}, sc[2], lp;
    fm_tensor X = mat(far, 1, 2), S = mat(sc, 1, 2), L;
    fm_tensor_init(&L, &lp, FM_FLOAT64, 1, (int64_t[]){1});
    fm_gmm_log_prob(&g, &X, &L);
    fm_gmm_score(&g, &X, &S);
    CHECK(isfinite(lp) && isfinite(sc[0]) && isfinite(sc[1]), "far point finite");
    fm_gmm_free(&g);
    /* errors */
    double bad[4] = {1, 2, 2, 1};
    CHECK(fm_gmm_init_raw(&g, 1, 2, NULL, M2, bad, true) == FM_EVALUE &&
          strstr(fm_last_error(), "not positive definite"), "not PD: %s", fm_last_error());
    double asym[4] = {1, 0.5, 0, 1};
    CHECK(fm_gmm_init_raw(&g, 1, 2, NULL, M2, asym, true) == FM_EVALUE &&
          strstr(fm_last_error(), "symmetric"), "asym: %s", fm_last_error());
    double negw[2] = {1, -1};
    CHECK(fm_gmm_init_raw(&g, 2, 1, negw, M2, NULL, false) == FM_EVALUE, "negative weight");
}

/* Sample moments vs exact, n = 2e5: the standard error of a mean is
 * sd/sqrt(n) <= 2.2/447 = 5e-3 and of a covariance entry <= ~1.5 * var /
 * sqrt(n) ~ 0.02; tolerances are 5 standard errors. Label frequencies:
 * sd sqrt(w(1-w)/n) ~ 1.1e-3, tolerance 6e-3. */
static void test_sample(fm_dtype dt)
{
    enum { N = 200000 };
    static double xs[N * 2];
    static float xf[N * 2];
    static int64_t lab[N];
    fm_gmm g;
    fm_gmm_init_raw(&g, 3, 2, W2, M2, S2, true);
    fm_tensor X = mat(xs, N, 2), Lb;
    if (dt == FM_FLOAT32) /* float32 draws its normals on the float path */
        fm_tensor_init(&X, xf, FM_FLOAT32, 2, (int64_t[]){N, 2});
    fm_tensor_init(&Lb, lab, FM_INT64, 1, (int64_t[]){N});
    CHECK(fm_gmm_sample(&g, &rng, &X, &Lb, 0) == FM_OK, "%s", fm_last_error());
    if (dt == FM_FLOAT32)
        for (int i = 0; i < 2 * N; i++) xs[i] = xf[i];
    double mu[2] = {0}, ex[2] = {0}, c[4] = {0}, ec[4] = {0}, freq[3] = {0};
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < 2; j++) mu[j] += xs[2 * i + j] / N;
        freq[lab[i]] += 1.0 / N;
    }
    for (int i = 0; i < N; i++)
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                c[2 * a + b] += (xs[2 * i + a] - mu[a]) * (xs[2 * i + b] - mu[b]) / N;
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 2; j++) ex[j] += W2[k] * M2[2 * k + j];
    for (int k = 0; k < 3; k++)
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                ec[2 * a + b] += W2[k] * (S2[4 * k + 2 * a + b] +
                    (M2[2 * k + a] - ex[a]) * (M2[2 * k + b] - ex[b]));
    for (int j = 0; j < 2; j++) CHECK(fabs(mu[j] - ex[j]) < 0.025, "mean %d: %g vs %g", j, mu[j], ex[j]);
    for (int j = 0; j < 4; j++) CHECK(fabs(c[j] - ec[j]) < 0.1, "cov %d: %g vs %g", j, c[j], ec[j]);
    for (int k = 0; k < 3; k++) CHECK(fabs(freq[k] - W2[k]) < 6e-3, "freq %d: %g", k, freq[k]);
    fm_gmm_free(&g);
}

/* The marginal at t = 1 is the data mixture; at t = 0 it is N(0, I) with
 * u_0(x) = dalpha_0 sum w m + dbeta_0 x; in between, the alpha-free velocity
 * equals docs/math.md's score form (1e-9 relative: only rounding differs). */
static void test_marginal_closed_forms(void)
{
    fm_gmm g;
    fm_gmm_init_raw(&g, 3, 2, W2, M2, S2, true);
    double x[8] = {0.3, -0.2, -2, 1, 4, 3, -1, -6}, lp[4], lp1[4], sc[8], sc1[8];
    double u[8];
    fm_tensor X = mat(x, 4, 2), S = mat(sc, 4, 2), S1 = mat(sc1, 4, 2), U = mat(u, 4, 2), L, L1;
    fm_tensor_init(&L, lp, FM_FLOAT64, 1, (int64_t[]){4});
    fm_tensor_init(&L1, lp1, FM_FLOAT64, 2, (int64_t[]){4, 1});
    fm_gmm_log_prob(&g, &X, &L1);
    fm_gmm_score(&g, &X, &S1);
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        fm_schedule s;
        fm_path p;
        fm_sched_val v;
        fm_schedule_named(&s, names[k]);
        fm_path_init(&p, &s);
        CHECK(fm_gmm_marginal(&g, &p, 1.0, &X, &L, &S, &U) == FM_OK, "%s", fm_last_error());
        for (int i = 0; i < 4; i++) CHECK(fabs(lp[i] - lp1[i]) < 1e-9, "%s t=1 logp", names[k]);
        for (int i = 0; i < 8; i++) CHECK(fabs(sc[i] - sc1[i]) < 1e-8, "%s t=1 score", names[k]);
        for (int i = 0; i < 8; i++) CHECK(isfinite(u[i]), "%s t=1 velocity finite", names[k]);
        fm_gmm_marginal(&g, &p, 0.0, &X, &L, &S, &U);
        fm_schedule_eval_safe(&s, 0.0, p.t_eps, &v);
        double mbar[2] = {0};
        for (int c = 0; c < 3; c++) for (int j = 0; j < 2; j++) mbar[j] += W2[c] * M2[2 * c + j];
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++) {
                double uj = 0, sj = 0; /* exact for linear, sqrt, cosine, poly (alpha_0 = 0) */
                if (k != 3) {
                    uj = v.dalpha * mbar[j] + v.dbeta * x[2 * i + j];
                    sj = -x[2 * i + j];
                    CHECK(fabs(u[2 * i + j] - uj) < 1e-12 && fabs(sc[2 * i + j] - sj) < 1e-12,
                          "%s t=0 u %g vs %g", names[k], u[2 * i + j], uj);
                }
                CHECK(isfinite(u[2 * i + j]), "%s t=0 finite", names[k]);
            }
        }
        for (double t = 0.2; t < 0.95; t += 0.25) {
            fm_gmm_marginal(&g, &p, t, &X, NULL, &S, &U);
            fm_schedule_eval(&s, t, &v);
            for (int i = 0; i < 8; i++) {
                double f = v.dalpha / v.alpha * x[i] +
                    (v.beta * v.beta * v.dalpha / v.alpha - v.dbeta * v.beta) * sc[i];
                CHECK(fabs(f - u[i]) < 1e-9 * (1 + fabs(f)), "%s t=%g u %g vs %g", names[k], t, u[i], f);
            }
        }
    }
    fm_gmm_free(&g);
}

/* u_t(x) = E[u(x|z) | x] by self-normalised importance sampling over
 * z ~ p_data (weights p_t(x|z)), M = 1e5 draws; tolerance 5 estimated
 * standard errors of the weighted mean (plus 1e-6). */
static void test_marginal_monte_carlo(void)
{
    enum { M = 100000 };
    static double zs[M * 2], lw[M];
    fm_gmm g;
    double S2d[6] = {0.5, 0.2, 0.3, 0.3, 0.8, 0.4};   /* diagonal variances */
    fm_gmm_init_raw(&g, 3, 2, W2, M2, S2d, false);
    fm_tensor Z = mat(zs, M, 2);
    fm_gmm_sample(&g, &rng, &Z, NULL, 0);
    const double pts[][3] = {{0.3, 0.1, -0.5}, {0.5, -1, 0.5}, {0.8, 1.5, 2.5}, {0.6, -2, 0}};
    for (size_t k = 0; k < 3; k++) {
        fm_schedule s;
        fm_path p;
        fm_schedule_named(&s, names[k]);
        fm_path_init(&p, &s);
        for (int q = 0; q < 4; q++) {
            double t = pts[q][0], x[2] = {pts[q][1], pts[q][2]}, u[2], top = -INFINITY;
            fm_sched_val v;
            fm_schedule_eval(&s, t, &v);
            fm_tensor X = mat(x, 1, 2), U = mat(u, 1, 2);
            fm_gmm_marginal(&g, &p, t, &X, NULL, NULL, &U);
            for (int i = 0; i < M; i++) {
                double r0 = x[0] - v.alpha * zs[2 * i], r1 = x[1] - v.alpha * zs[2 * i + 1];
                lw[i] = -(r0 * r0 + r1 * r1) / (2 * v.beta * v.beta);
                top = fmax(top, lw[i]);
            }
            double sw = 0, su[2] = {0}, se[2] = {0};
            for (int i = 0; i < M; i++) {
                lw[i] = exp(lw[i] - top);
                sw += lw[i];
                for (int j = 0; j < 2; j++)
                    su[j] += lw[i] * (v.dalpha * zs[2 * i + j] +
                             v.dbeta / v.beta * (x[j] - v.alpha * zs[2 * i + j]));
            }
            for (int j = 0; j < 2; j++) su[j] /= sw;
            for (int i = 0; i < M; i++)
                for (int j = 0; j < 2; j++) {
                    double uij = v.dalpha * zs[2 * i + j] +
                                 v.dbeta / v.beta * (x[j] - v.alpha * zs[2 * i + j]);
                    se[j] += lw[i] * lw[i] * (uij - su[j]) * (uij - su[j]);
                }
            for (int j = 0; j < 2; j++) {
                se[j] = sqrt(se[j]) / sw;
                CHECK(fabs(u[j] - su[j]) < 5 * se[j] + 1e-6, "%s t=%g x=(%g,%g) u[%d] %g vs MC %g +- %g",
                      names[k], t, x[0], x[1], j, u[j], su[j], se[j]);
                CHECK(se[j] < 0.05, "MC estimate too noisy to test (%g)", se[j]);
            }
        }
    }
    fm_gmm_free(&g);
}

/* Continuity equation d/dt p_t = -div(p_t u_t) by central differences
 * (h = 1e-4 in t and x: error ~h^2 * O(10) = 1e-7): tolerance 2e-6. */
static double pt_at(const fm_gmm *g, const fm_path *p, double t, double x0,
                    double x1, double *u)
{
    double x[2] = {x0, x1}, lp, uu[2];
    fm_tensor X = mat(x, 1, 2), U = mat(u ? u : uu, 1, 2), L;
    fm_tensor_init(&L, &lp, FM_FLOAT64, 1, (int64_t[]){1});
    fm_gmm_marginal(g, p, t, &X, &L, NULL, &U);
    return exp(lp);
}

static void test_continuity(void)
{
    fm_gmm g;
    fm_gmm_init_raw(&g, 3, 2, W2, M2, S2, true);
    const double xs[][2] = {{0, 0}, {-1.5, 0.5}, {1, 2}};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        fm_schedule s;
        fm_path p;
        fm_schedule_named(&s, names[k]);
        fm_path_init(&p, &s);
        for (double t = 0.3; t < 0.8; t += 0.4)
            for (int q = 0; q < 3; q++) {
                double h = 1e-4, a = xs[q][0], b = xs[q][1], u[2], div = 0;
                double dpdt = (pt_at(&g, &p, t + h, a, b, NULL) - pt_at(&g, &p, t - h, a, b, NULL)) / (2 * h);
                double pp = pt_at(&g, &p, t, a + h, b, u), fx = pp * u[0];
                pp = pt_at(&g, &p, t, a - h, b, u);
                div += (fx - pp * u[0]) / (2 * h);
                pp = pt_at(&g, &p, t, a, b + h, u);
                double fy = pp * u[1];
                pp = pt_at(&g, &p, t, a, b - h, u);
                div += (fy - pp * u[1]) / (2 * h);
                CHECK(fabs(dpdt + div) < 2e-6, "%s t=%g x%d: dp/dt %g, -div %g", names[k], t, q, dpdt, -div);
            }
    }
    fm_gmm_free(&g);
}

/* Not a pass/fail test: prints the cost of 100 marginal-velocity calls on
 * 10^4 points (d = 2, k = 8), the integrators' workload. */
static void bench_marginal(void)
{
    enum { N = 10000 };
    static double x[N * 2], u[N * 2];
    double m[16], w[8];
    for (int k = 0; k < 8; k++) {
        m[2 * k] = 5 * cos(k * M_PI / 4);
        m[2 * k + 1] = 5 * sin(k * M_PI / 4);
        w[k] = 1;
    }
    double var[16];
    for (int i = 0; i < 16; i++) var[i] = 0.1;
    fm_gmm g;
    fm_gmm_init_raw(&g, 8, 2, w, m, var, false);
    fm_tensor X = mat(x, N, 2), U = mat(u, N, 2);
    fm_rng_normal(&rng, &X, 0, 1);
    fm_schedule s;
    fm_path p;
    fm_schedule_linear(&s);
    fm_path_init(&p, &s);
    clock_t c0 = clock();
    for (int step = 0; step < 100; step++)
        fm_gmm_marginal(&g, &p, step / 100.0, &X, NULL, NULL, &U);
    printf("gmm.marginal velocity: 100 calls x 1e4 points (d 2, k 8): %.3f s\n",
           (double)(clock() - c0) / CLOCKS_PER_SEC);
    fm_gmm_free(&g);
}

int main(void)
{
    fm_rng_seed(&rng, 11);
    test_normalised();
    test_score();
    test_sample(FM_FLOAT64);
    test_sample(FM_FLOAT32);
    test_marginal_closed_forms();
    test_marginal_monte_carlo();
    test_continuity();
    bench_marginal();
    if (failures) printf("%d failure(s)\n", failures);
    else printf("test_gmm: all passed\n");
    return failures != 0;
}
