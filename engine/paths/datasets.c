/* datasets.c — 2-D toy data sets (see datasets.h for sources and defaults). */
#include "paths/datasets.h"
#include "core/rows.h"

#include <math.h>
#include <string.h>

static const char *kind_names[] = {
    [FM_DATA_GAUSSIANS8] = "gaussians8",
    [FM_DATA_MOONS] = "moons",
    [FM_DATA_CIRCLES] = "circles",
    [FM_DATA_CHECKERBOARD] = "checkerboard",
    [FM_DATA_SPIRALS] = "spirals",
    [FM_DATA_SWISSROLL] = "swissroll",
    [FM_DATA_PINWHEEL] = "pinwheel",
};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == FM_DATA_COUNT, "one name per data set");

const char *fm_dataset_name(fm_dataset_kind kind)
{
    return (unsigned)kind < FM_DATA_COUNT ? kind_names[kind] : "?";
}

fm_status fm_dataset_defaults(fm_dataset *ds, const char *name)
{
    static const fm_dataset defaults[] = {
        [FM_DATA_GAUSSIANS8] = {FM_DATA_GAUSSIANS8, 8, 5.0, 0.31622776601683794, 0, 0, 1, 0},
        [FM_DATA_MOONS] = {FM_DATA_MOONS, 2, 0, 0.2, 0, 0, 3, -1},
        [FM_DATA_CIRCLES] = {FM_DATA_CIRCLES, 2, 0, 0.08, 0.5, 0, 3, 0},
        [FM_DATA_CHECKERBOARD] = {FM_DATA_CHECKERBOARD, 8, 0, 0, 0, 0, 2, 0},
        [FM_DATA_SPIRALS] = {FM_DATA_SPIRALS, 2, 0, 0.1, 0, 0, 1.0 / 3.0, 0},
        [FM_DATA_SWISSROLL] = {FM_DATA_SWISSROLL, 4, 0, 1.0, 0, 0, 0.2, 0},
        [FM_DATA_PINWHEEL] = {FM_DATA_PINWHEEL, 5, 0, 0.3, 0.1, 0.25, 2, 0},
    };
    _Static_assert(sizeof defaults / sizeof defaults[0] == FM_DATA_COUNT,
                   "one default per data set");
    for (int k = 0; k < FM_DATA_COUNT; k++)
        if (name && !strcmp(name, kind_names[k])) {
            *ds = defaults[k];
            return FM_OK;
        }
    return fm_error(FM_EVALUE, "dataset: unknown name '%s' (expected gaussians8, "
                    "moons, circles, checkerboard, spirals, swissroll or "
                    "pinwheel)", name ? name : "");
}

int64_t fm_dataset_num_classes(const fm_dataset *ds)
{
    switch (ds->kind) {
    case FM_DATA_GAUSSIANS8: case FM_DATA_PINWHEEL: return ds->count;
    case FM_DATA_CHECKERBOARD: return 8;
    case FM_DATA_SWISSROLL: return 4;
    default: return 2;
    }
}

/* One point (before scale and shift) and its label. */
static int64_t draw(const fm_dataset *ds, fm_rng *r, double *p)
{
    double u = fm_rng_uniform01(r);
    switch (ds->kind) {
    case FM_DATA_GAUSSIANS8: {
        int64_t c = (int64_t)(u * ds->count);
        double a = 2 * M_PI * c / ds->count;
        p[0] = ds->radius * cos(a) + ds->noise * fm_rng_normal01(r);
        p[1] = ds->radius * sin(a) + ds->noise * fm_rng_normal01(r);
        return c;
    }
    case FM_DATA_MOONS: {   /* sklearn: outer (cos, sin), inner (1-cos, .5-sin) */
        int64_t c = u < 0.5;
        double th = M_PI * fm_rng_uniform01(r);
        p[0] = c ? 1 - cos(th) : cos(th);
        p[1] = c ? 0.5 - sin(th) : sin(th);
        p[0] += ds->noise * fm_rng_normal01(r);
        p[1] += ds->noise * fm_rng_normal01(r);
        return c;
    }
    case FM_DATA_CIRCLES: {
        int64_t c = u < 0.5;
        double th = 2 * M_PI * fm_rng_uniform01(r), rad = c ? ds->factor : 1;
        p[0] = rad * cos(th) + ds->noise * fm_rng_normal01(r);
        p[1] = rad * sin(th) + ds->noise * fm_rng_normal01(r);
        return c;
    }
    case FM_DATA_CHECKERBOARD: {  /* FFJORD: x1 in [-2, 2), x2 in the dark squares */
        double x1 = 4 * u - 2;
        int64_t row = (int64_t)(2 * fm_rng_uniform01(r));     /* 0 or 1 */
        double x2 = fm_rng_uniform01(r) - 2.0 * row + fmod(floor(x1) + 4, 2);
        p[0] = x1;
        p[1] = x2;
        return (int64_t)(floor(x1) + 2) * 2 + row;
    }
    case FM_DATA_SPIRALS: {   /* FFJORD 2spirals, arm 1 is arm 0 negated */
        int64_t c = u < 0.5;
        double n = sqrt(fm_rng_uniform01(r)) * 540 * (2 * M_PI) / 360;
        double x = -cos(n) * n + 0.5 * fm_rng_uniform01(r);
        double y = sin(n) * n + 0.5 * fm_rng_uniform01(r);
        double sgn = c ? -1 : 1, sn = ds->noise / ds->scale; /* noise after / 3 */
        p[0] = sgn * x + sn * fm_rng_normal01(r);
        p[1] = sgn * y + sn * fm_rng_normal01(r);
        return c;
    }
    case FM_DATA_SWISSROLL: {  /* t = 1.5 pi (1 + 2 u), (t cos t, t sin t) */
        double t = 1.5 * M_PI * (1 + 2 * u);
        p[0] = t * cos(t) + ds->noise * fm_rng_normal01(r);
        p[1] = t * sin(t) + ds->noise * fm_rng_normal01(r);
        return (int64_t)(4 * u) < 4 ? (int64_t)(4 * u) : 3;
    }
    case FM_DATA_PINWHEEL: {
        int64_t c = (int64_t)(u * ds->count);
        double f0 = 1 + ds->noise * fm_rng_normal01(r);
        double f1 = ds->factor * fm_rng_normal01(r);
        double a = 2 * M_PI * c / ds->count + ds->rate * exp(f0);
        p[0] = f0 * cos(a) + f1 * sin(a);
        p[1] = -f0 * sin(a) + f1 * cos(a);
        return c;
    }
    default:
        return 0;
    }
}

fm_status fm_dataset_sample(const fm_dataset *ds, fm_rng *rng, fm_tensor *out,
                            fm_tensor *labels, int64_t base)
{
    fm_status st = fm_rows_check(out, "dataset.sample", "out");
    if (st) return st;
    int64_t n = out->shape[0];
    if (out->shape[1] != 2)
        return fm_error(FM_ESHAPE, "dataset.sample: out must be (n, 2)");
    if (labels && (labels->dtype != FM_INT64 || fm_tensor_numel(labels) != n))
        return fm_error(FM_ESHAPE, "dataset.sample: labels must be (%lld,) int64",
                        (long long)n);
    if ((unsigned)ds->kind >= FM_DATA_COUNT || !isfinite(ds->scale) ||
        !isfinite(ds->shift) || !(ds->noise >= 0) ||
        ((ds->kind == FM_DATA_GAUSSIANS8 || ds->kind == FM_DATA_PINWHEEL) &&
         ds->count < 1) || (ds->kind == FM_DATA_SPIRALS && ds->scale == 0))
        return fm_error(FM_EVALUE, "dataset %s: bad parameters (count %lld, "
                        "noise %g, scale %g)", fm_dataset_name(ds->kind),
                        (long long)ds->count, ds->noise, ds->scale);
    double p[2];
    for (int64_t i = 0; i < n; i++) {
        int64_t c = draw(ds, rng, p);
        p[0] = p[0] * ds->scale + ds->shift;
        p[1] = p[1] * ds->scale + ds->shift;
        fm_row_write(out, i, p);
        if (labels) fm_tensor_set(labels, i, (double)(c + base));
    }
    return FM_OK;
}
