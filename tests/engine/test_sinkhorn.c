/* test_sinkhorn.c — fm_sinkhorn against the 2 x 2 plan in closed form
 * (docs/math.md §4, "Entropic couplings"), exact column sums, the plan
 * rebuilt from the potentials, zero weights, tiny eps without overflow,
 * the non-convergence report and error codes; fm_plan_sample frequencies. */
#include "eval/sinkhorn.h"
#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* P11 of the 2 x 2 plan: P11 P22 / (P12 P21) = r with the marginals fixed,
 * the root in (max(0, a1 + b1 - 1), min(a1, b1)) of
 * (1 - r) p^2 + (s + r (a1 + b1)) p - r a1 b1 = 0, s = 1 - a1 - b1. */
static double p11(const double *c, double a1, double b1, double eps)
{
    double r = exp((c[1] + c[2] - c[0] - c[3]) / eps);
    double A = 1 - r, B = (1 - a1 - b1) + r * (a1 + b1), C = -r * a1 * b1;
    return 2 * C / (-B - sqrt(B * B - 4 * A * C));
}

static void test_closed_form(void)
{
    const double c[4] = { 0.3, 1.1, 0.9, 0.2 }, a[2] = { 3, 7 }, b[2] = { 6, 4 };
    const double eps_list[3] = { 2, 0.5, 0.1 };
    for (int k = 0; k < 3; k++) {
        fm_sinkhorn_opts o = { eps_list[k], 100000, 1e-14 };
        double P[4], f[2], g[2];
        fm_sinkhorn_info info;
        fm_status st = fm_sinkhorn(c, 2, 2, a, b, &o, P, f, g, &info);
        CHECK(st == FM_OK && info.converged, "eps %g: %s", o.eps, fm_last_error());
        double p = p11(c, 0.3, 0.6, o.eps);
        const double want[4] = { p, 0.3 - p, 0.6 - p, 0.1 + p };
        for (int i = 0; i < 4; i++)
            CHECK(fabs(P[i] - want[i]) <= 1e-13, "eps %g P[%d] %.17g want %.17g",
                  o.eps, i, P[i], want[i]);
        /* the potentials give the plan, the cost is <P, C> */
        double cost = 0;
        for (int i = 0; i < 4; i++) {
            double q = exp((f[i / 2] + g[i % 2] - c[i]) / o.eps);
            CHECK(fabs(q - P[i]) <= 1e-15, "potentials: %.17g vs %.17g", q, P[i]);
            cost += P[i] * c[i];
        }
        CHECK(fabs(cost - info.cost) <= 1e-15, "cost %.17g vs %.17g", info.cost, cost);
    }
}

/* eps far below the costs: exponents of -1e6 in the naive form, still
 * finite here; the plan of two far-apart pairs is the identity pairing. */
static void test_tiny_eps(void)
{
    const double c[4] = { 0, 1e4, 1e4, 0 };
    fm_sinkhorn_opts o = { 1e-2, 100, 1e-12 };
    double P[4];
    fm_sinkhorn_info info;
    CHECK(fm_sinkhorn(c, 2, 2, NULL, NULL, &o, P, NULL, NULL, &info) == FM_OK,
          "%s", fm_last_error());
    CHECK(info.converged && P[0] == 0.5 && P[3] == 0.5 && P[1] == 0 && P[2] == 0,
          "tiny eps: %g %g %g %g", P[0], P[1], P[2], P[3]);
}

static void test_zero_weights_and_report(void)
{
    double c[12];
    fm_rng r;
    fm_rng_seed(&r, 5);
    for (int i = 0; i < 12; i++) c[i] = 4 * fm_rng_uniform01(&r);
    const double a[3] = { 1, 0, 2 }, b[4] = { 1, 1, 0, 1 };
    fm_sinkhorn_opts o = { 0.05, 3, 0 };
    double P[12], f[3];
    fm_sinkhorn_info info;
    CHECK(fm_sinkhorn(c, 3, 4, a, b, &o, P, f, NULL, &info) == FM_OK, "%s",
          fm_last_error());
    CHECK(!info.converged && info.iters == 3 && info.err > 0, "report: %d %lld %g",
          info.converged, (long long)info.iters, info.err);
    CHECK(f[1] == -INFINITY, "zero weight potential %g", f[1]);
    for (int j = 0; j < 4; j++) {
        double col = P[j] + P[4 + j] + P[8 + j];
        CHECK(P[4 + j] == 0, "zero row: %g", P[4 + j]);
        CHECK(fabs(col - b[j] / 3) <= 1e-15, "column %d: %.17g", j, col);
    }
    for (int i = 0; i < 3; i++) CHECK(P[i * 4 + 2] == 0, "zero column");
}

static void test_errors(void)
{
    double c[4] = { 0, 1, 1, 0 }, P[4];
    fm_sinkhorn_info info;
    fm_sinkhorn_opts o = { 0, 10, 1e-9 };
    CHECK(fm_sinkhorn(c, 2, 2, NULL, NULL, &o, P, NULL, NULL, &info) == FM_EVALUE &&
          strstr(fm_last_error(), "eps") != NULL, "eps = 0: %s", fm_last_error());
    o.eps = 1;
    o.max_iters = 0;
    CHECK(fm_sinkhorn(c, 2, 2, NULL, NULL, &o, P, NULL, NULL, &info) == FM_EVALUE,
          "iters = 0");
    o.max_iters = 10;
    const double neg[2] = { 1, -1 };
    CHECK(fm_sinkhorn(c, 2, 2, neg, NULL, &o, P, NULL, NULL, &info) == FM_EVALUE &&
          strstr(fm_last_error(), "a[2]") != NULL, "negative weight: %s", fm_last_error());
    c[1] = NAN;
    CHECK(fm_sinkhorn(c, 2, 2, NULL, NULL, &o, P, NULL, NULL, &info) == FM_EVALUE &&
          strstr(fm_last_error(), "cost[1, 2]") != NULL, "NaN cost: %s", fm_last_error());
    CHECK(fm_sinkhorn(c, 0, 2, NULL, NULL, &o, P, NULL, NULL, &info) == FM_ESHAPE,
          "n = 0");
}

static void test_plan_sample(void)
{
    const double P[6] = { 0.1, 0.25, 0.05, 0.3, 0, 0.3 };
    enum { K = 100000 };
    static int64_t rows[K], cols[K];
    fm_rng r;
    fm_rng_seed(&r, 7);
    CHECK(fm_plan_sample(&r, P, 2, 3, K, 0, rows, cols) == FM_OK, "%s", fm_last_error());
    int count[6] = { 0 };
    for (int s = 0; s < K; s++) count[rows[s] * 3 + cols[s]]++;
    for (int i = 0; i < 6; i++) {
        double sd = sqrt(K * P[i] * (1 - P[i]));
        CHECK(fabs(count[i] - K * P[i]) <= 5 * sd, "cell %d: %d vs %g", i, count[i], K * P[i]);
    }
    const double bad[2] = { 0.5, -0.5 };
    CHECK(fm_plan_sample(&r, bad, 1, 2, 3, 0, rows, cols) == FM_EVALUE, "negative plan");
}

int main(void)
{
    test_closed_form();
    test_tiny_eps();
    test_zero_weights_and_report();
    test_errors();
    test_plan_sample();
    if (failures) fprintf(stderr, "%d failures\n", failures);
    else printf("test_sinkhorn: all passed\n");
    return failures != 0;
}
