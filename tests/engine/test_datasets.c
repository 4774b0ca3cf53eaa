/* test_datasets.c — moments of the 2-D toy sets against exact values. */
#include "paths/datasets.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; printf("FAIL %s:%d: ", \
    __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

enum { N = 100000 };
static double xs[N * 2];
static int64_t lab[N];
static fm_rng rng;

typedef struct { double m[2], sq, sd[2]; int64_t lmin, lmax; } moments;

static moments sample(const char *name, fm_dataset *ds)
{
    fm_tensor X, L;
    moments mo = {{0, 0}, 0, {0, 0}, 1 << 30, -1};
    CHECK(fm_dataset_defaults(ds, name) == FM_OK, "defaults %s", name);
    fm_tensor_init(&X, xs, FM_FLOAT64, 2, (int64_t[]){N, 2});
    fm_tensor_init(&L, lab, FM_INT64, 1, (int64_t[]){N});
    CHECK(fm_dataset_sample(ds, &rng, &X, &L, 0) == FM_OK, "%s: %s", name, fm_last_error());
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < 2; j++) mo.m[j] += xs[2 * i + j] / N;
        mo.sq += (xs[2 * i] * xs[2 * i] + xs[2 * i + 1] * xs[2 * i + 1]) / N;
        if (lab[i] < mo.lmin) mo.lmin = lab[i];
        if (lab[i] > mo.lmax) mo.lmax = lab[i];
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 2; j++)
            mo.sd[j] += (xs[2 * i + j] - mo.m[j]) * (xs[2 * i + j] - mo.m[j]) / N;
    for (int j = 0; j < 2; j++) mo.sd[j] = sqrt(mo.sd[j]);
    CHECK(mo.lmin == 0 && mo.lmax == fm_dataset_num_classes(ds) - 1,
          "%s labels in [%lld, %lld]", name, (long long)mo.lmin, (long long)mo.lmax);
    return mo;
}

/* Means within 5 standard errors (sd / sqrt(N)); E|x|^2 within 5 standard
 * errors, bounded by 5 * E|x|^2 * 2 / sqrt(N) (fourth moments of these
 * bounded-ish sets are a few times the squared second moment). */
static void check_mean(const char *name, const moments *mo, double m0, double m1)
{
    double se0 = mo->sd[0] / sqrt(N), se1 = mo->sd[1] / sqrt(N);
    CHECK(fabs(mo->m[0] - m0) < 5 * se0 && fabs(mo->m[1] - m1) < 5 * se1,
          "%s mean (%g, %g) vs (%g, %g)", name, mo->m[0], mo->m[1], m0, m1);
}

static void check_sq(const char *name, const moments *mo, double sq)
{
    CHECK(fabs(mo->sq - sq) < 10 * sq / sqrt(N), "%s E|x|^2 %g vs %g", name, mo->sq, sq);
}

int main(void)
{
    fm_dataset ds;
    moments mo;
    fm_rng_seed(&rng, 3);

    /* 8 gaussians, radius 5, variance 0.1: E|x|^2 = 25 + 2 * 0.1; each point
     * is within 6 std of its labelled centre */
    mo = sample("gaussians8", &ds);
    check_mean("gaussians8", &mo, 0, 0);
    check_sq("gaussians8", &mo, 25.2);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double a = 2 * M_PI * lab[i] / 8;
        worst = fmax(worst, hypot(xs[2 * i] - 5 * cos(a), xs[2 * i + 1] - 5 * sin(a)));
    }
    CHECK(worst < 6 * sqrt(0.1), "gaussians8 point far from its centre: %g", worst);

    /* moons: before scaling E[x] = (0 + 1)/2, E[y] = (2/pi + 0.5 - 2/pi)/2;
     * then * 3 - 1 */
    mo = sample("moons", &ds);
    check_mean("moons", &mo, 0.5, -0.25);

    /* circles: E|x|^2 = 9 (0.5 (1 + 0.25) + 2 * 0.08^2) */
    mo = sample("circles", &ds);
    check_mean("circles", &mo, 0, 0);
    check_sq("circles", &mo, 9 * (0.625 + 2 * 0.0064));

    /* checkerboard: each coordinate uniform on [-4, 4) (variance 16/3), and
     * every point on a dark square: floor(x/2) + floor(y/2) even */
    mo = sample("checkerboard", &ds);
    check_mean("checkerboard", &mo, 0, 0);
    check_sq("checkerboard", &mo, 2 * 64.0 / 12);
    int off = 0;
    for (int i = 0; i < N; i++) {
        long s = (long)floor(xs[2 * i] / 2) + (long)floor(xs[2 * i + 1] / 2);
        if (s % 2 != 0 || fabs(xs[2 * i]) > 4 || fabs(xs[2 * i + 1]) > 4) off++;
    }
    CHECK(off == 0, "checkerboard: %d points off the dark squares", off);

    /* spirals: the arms are mirror images, so the mean is 0; radius <= 3pi/3 + ~1 */
    mo = sample("spirals", &ds);
    check_mean("spirals", &mo, 0, 0);
    CHECK(mo.sq > 1 && mo.sq < 12, "spirals E|x|^2 %g", mo.sq);

    /* swissroll, t ~ U[1.5 pi, 4.5 pi]: E[t cos t] = 6 pi / (3 pi) = 2,
     * E[t sin t] = 2 / (3 pi); E[t^2] = (4.5^3 - 1.5^3) pi^2 / (3 * 3) = 9.75
     * pi^2; plus noise 2 * 1; all / 5 */
    mo = sample("swissroll", &ds);
    check_mean("swissroll", &mo, 0.4, 2 / (3 * M_PI) / 5);
    check_sq("swissroll", &mo, (9.75 * M_PI * M_PI + 2) / 25);

    /* pinwheel: 5-fold symmetric, so mean 0; E|x|^2 = 4 (1 + 0.3^2 + 0.1^2) */
    mo = sample("pinwheel", &ds);
    check_mean("pinwheel", &mo, 0, 0);
    check_sq("pinwheel", &mo, 4 * 1.1);

    /* configuration and errors */
    fm_dataset_defaults(&ds, "gaussians8");
    ds.count = 4;
    ds.radius = 2;
    fm_tensor X;
    fm_tensor_init(&X, xs, FM_FLOAT64, 2, (int64_t[]){1000, 2});
    fm_dataset_sample(&ds, &rng, &X, NULL, 0);
    for (int i = 0; i < 1000; i++)
        CHECK(fabs(hypot(xs[2 * i], xs[2 * i + 1]) - 2) < 6 * sqrt(0.1), "radius 2");
    CHECK(fm_dataset_defaults(&ds, "blobs") == FM_EVALUE && strstr(fm_last_error(), "blobs"),
          "unknown name");
    fm_tensor_init(&X, xs, FM_FLOAT64, 2, (int64_t[]){10, 3});
    CHECK(fm_dataset_sample(&ds, &rng, &X, NULL, 0) == FM_ESHAPE, "3 columns");
    if (failures) printf("%d failure(s)\n", failures);
    else printf("test_datasets: all passed\n");
    return failures != 0;
}
