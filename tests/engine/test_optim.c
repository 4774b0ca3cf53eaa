/* test_optim.c — optimiser updates against scalar arithmetic in double
 * written out from PyTorch's documented algorithms, and closed forms. */
#include "nn/optim.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); \
    printf("\n"); } } while (0)

#define N 5
static const double P0[N] = {0.5, -1.25, 2.0, 0.0, -0.3};
static double grad_at(int k, int i) { return sin(1.3 * k + 0.7 * i) + 0.1 * i; }

static fm_tensor vec(fm_dtype dt, void *data)
{
    fm_tensor t;
    int64_t n = N;
    fm_tensor_init(&t, data, dt, 1, &n);
    return t;
}

/* float32 state drifts from the double reference by ~1e-7 per step relative
 * to |p| ~ 1, so 1e-6 relative (+1e-6 absolute for values near 0) after 4
 * steps; float64 must agree to 1e-12. */
static void compare(const char *what, fm_dtype dt, const void *got,
                    const double *want)
{
    double tol = dt == FM_FLOAT32 ? 1e-6 : 1e-12, worst = 0;
    for (int i = 0; i < N; i++) {
        double g = dt == FM_FLOAT32 ? ((const float *)got)[i] : ((const double *)got)[i];
        double e = fabs(g - want[i]) / (fabs(want[i]) + 1);
        if (e > worst) worst = e;
    }
    CHECK(worst <= tol, "%s %s: err %g", what, fm_dtype_name(dt), worst);
}

static void test_adam(fm_dtype dt, bool decoupled, double wd)
{
    fm_adam_opts o = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                      .weight_decay = wd, .decoupled = decoupled};
    float pf[N], gf[N], mf[N] = {0}, vf[N] = {0};
    double pd[N], gd[N], md[N] = {0}, vd[N] = {0};
    double rp[N], rm[N] = {0}, rv[N] = {0};
    for (int i = 0; i < N; i++) rp[i] = pd[i] = pf[i] = (float)P0[i];
    fm_tensor p = vec(dt, dt == FM_FLOAT32 ? (void *)pf : pd),
              g = vec(dt, dt == FM_FLOAT32 ? (void *)gf : gd),
              m = vec(dt, dt == FM_FLOAT32 ? (void *)mf : md),
              v = vec(dt, dt == FM_FLOAT32 ? (void *)vf : vd);
    for (int k = 1; k <= 4; k++) {
        for (int i = 0; i < N; i++) gf[i] = (float)(gd[i] = grad_at(k, i));
        CHECK(fm_optim_adam(&p, &g, &m, &v, &o, k) == FM_OK, "adam");
        for (int i = 0; i < N; i++) {  /* torch.optim.Adam / AdamW docs */
            double gi = (double)(float)grad_at(k, i);
            if (dt == FM_FLOAT64) gi = grad_at(k, i);
            if (decoupled) rp[i] *= 1 - o.lr * wd;
            else gi += wd * rp[i];
            rm[i] = 0.9 * rm[i] + 0.1 * gi;
            rv[i] = 0.999 * rv[i] + 0.001 * gi * gi;
            double mh = rm[i] / (1 - pow(0.9, k)), vh = rv[i] / (1 - pow(0.999, k));
            rp[i] -= o.lr * mh / (sqrt(vh) + 1e-8);
        }
        if (k == 1 && wd == 0) {  /* closed form: p1 = p0 - lr g / (|g| + eps) */
            double cf[N];
            for (int i = 0; i < N; i++) {
                double gi = dt == FM_FLOAT32 ? (double)gf[i] : gd[i];
                cf[i] = (double)(float)P0[i] - o.lr * gi / (fabs(gi) + 1e-8);
            }
            compare("adam first step closed form", dt, p.data, cf);
        }
    }
    compare(decoupled ? "adamw" : "adam", dt, p.data, rp);
    compare("adam exp_avg", dt, m.data, rm);
    compare("adam exp_avg_sq", dt, v.data, rv);
}

static void test_sgd(fm_dtype dt, double mom, double damp, double wd, bool nest)
{
    fm_sgd_opts o = {.lr = 0.1, .momentum = mom, .dampening = damp,
                     .weight_decay = wd, .nesterov = nest};
    float pf[N], gf[N], bf[N];
    double pd[N], gd[N], bd[N], rp[N], rb[N];
    for (int i = 0; i < N; i++) rp[i] = pd[i] = pf[i] = (float)P0[i];
    fm_tensor p = vec(dt, dt == FM_FLOAT32 ? (void *)pf : pd),
              g = vec(dt, dt == FM_FLOAT32 ? (void *)gf : gd),
              b = vec(dt, dt == FM_FLOAT32 ? (void *)bf : bd);
    for (int k = 1; k <= 4; k++) {
        for (int i = 0; i < N; i++) gf[i] = (float)(gd[i] = grad_at(k, i));
        CHECK(fm_optim_sgd(&p, &g, mom != 0 ? &b : NULL, &o, k == 1) == FM_OK,
              "sgd: %s", fm_last_error());
        for (int i = 0; i < N; i++) {  /* torch.optim.SGD docs */
            double d = (dt == FM_FLOAT32 ? (double)gf[i] : gd[i]) + wd * rp[i];
            if (mom != 0) {
                rb[i] = k == 1 ? d : mom * rb[i] + (1 - damp) * d;
                d = nest ? d + mom * rb[i] : rb[i];
            }
            rp[i] -= 0.1 * d;
        }
    }
    compare("sgd", dt, p.data, rp);
}

static void test_misc(void)
{
    float a[N], b[N];
    double c[3] = {3, 0, 4};
    for (int i = 0; i < N; i++) { a[i] = (float)P0[i]; b[i] = 1.0f; }
    fm_tensor ta = vec(FM_FLOAT32, a), tb = vec(FM_FLOAT32, b), tc;
    int64_t three = 3;
    fm_tensor_init(&tc, c, FM_FLOAT64, 1, &three);
    /* norm over a float32 and a float64 tensor: sqrt(sum P0^2 + 25) */
    fm_tensor both[2] = {ta, tc};
    double norm, want = 25;
    for (int i = 0; i < N; i++) want += (double)a[i] * a[i];
    want = sqrt(want);
    CHECK(fm_optim_grad_norm(both, 2, &norm) == FM_OK &&
          fabs(norm - want) <= 1e-12 * want, "grad_norm %g vs %g", norm, want);
    CHECK(fabs(fm_optim_clip_coef(10, 1) - 1 / (10 + 1e-6)) < 1e-15, "clip");
    CHECK(fm_optim_clip_coef(0.5, 1) == 1, "clip below max");
    fm_optim_scale(&tc, 1, 0.5);
    CHECK(c[0] == 1.5 && c[2] == 2, "scale");
    /* EMA twice with decay 0.9 toward 1: avg = 1 + (p0 - 1) 0.81 */
    fm_optim_ema(&ta, &tb, 0.9);
    fm_optim_ema(&ta, &tb, 0.9);
    double ref[N];
    for (int i = 0; i < N; i++) ref[i] = 1 + ((double)(float)P0[i] - 1) * 0.81;
    compare("ema", FM_FLOAT32, a, ref);
    /* errors */
    fm_tensor bad;
    int64_t four = 4;
    fm_tensor_init(&bad, b, FM_FLOAT32, 1, &four);
    fm_adam_opts o = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    CHECK(fm_optim_adam(&ta, &bad, &ta, &ta, &o, 1) == FM_ESHAPE, "adam shape");
    CHECK(fm_optim_adam(&ta, &tb, &ta, &tc, &o, 1) == FM_ETYPE, "adam dtype");
    CHECK(fm_optim_adam(&ta, &tb, &ta, &ta, &o, 0) == FM_EVALUE, "adam step 0");
    fm_sgd_opts so = {.lr = 0.1, .momentum = 0.9};
    CHECK(fm_optim_sgd(&ta, &tb, NULL, &so, true) == FM_EVALUE, "sgd no buffer");
}

/* Large tensors are split between the pool's threads (optim.c): the result
 * must be bit-identical to the one-thread pass, for an odd length whose
 * halves are not multiples of the 16-element alignment. */
static void test_split_matches_serial(fm_dtype dt)
{
    int64_t n = 50001;
    size_t es = fm_dtype_size(dt), bytes = (size_t)n * es;
    char *buf[2][5];
    for (int run = 0; run < 2; run++)
        for (int k = 0; k < 5; k++)
            buf[run][k] = calloc(1, bytes);
    for (int64_t i = 0; i < n; i++)
        for (int run = 0; run < 2; run++) {
            double p = sin(0.37 * (double)i), g = cos(0.11 * (double)i);
            if (dt == FM_FLOAT32) {
                ((float *)buf[run][0])[i] = (float)p;
                ((float *)buf[run][1])[i] = (float)g;
            } else {
                ((double *)buf[run][0])[i] = p;
                ((double *)buf[run][1])[i] = g;
            }
        }
    int saved = openblas_get_num_threads();
    for (int run = 0; run < 2; run++) {
        openblas_set_num_threads(run == 0 ? 1 : 2);
        fm_tensor t[5];
        for (int k = 0; k < 5; k++)
            fm_tensor_init(&t[k], buf[run][k], dt, 1, &n);
        fm_adam_opts ao = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8,
                           .weight_decay = 0.1, .decoupled = true};
        fm_sgd_opts so = {.lr = 1e-2, .momentum = 0.9, .nesterov = true};
        for (int64_t step = 1; step <= 3; step++) {
            CHECK(!fm_optim_adam(&t[0], &t[1], &t[2], &t[3], &ao, step), "adam");
            CHECK(!fm_optim_sgd(&t[0], &t[1], &t[4], &so, step == 1), "sgd");
        }
    }
    openblas_set_num_threads(saved);
    for (int k = 0; k < 5; k++) {
        CHECK(memcmp(buf[0][k], buf[1][k], bytes) == 0,
              "split update differs from serial (%s, tensor %d)",
              fm_dtype_name(dt), k);
        free(buf[0][k]);
        free(buf[1][k]);
    }
}

int main(void)
{
    test_split_matches_serial(FM_FLOAT32);
    test_split_matches_serial(FM_FLOAT64);
    for (int dt = 0; dt < 2; dt++) {
        test_adam((fm_dtype)dt, false, 0);
        test_adam((fm_dtype)dt, false, 0.1);
        test_adam((fm_dtype)dt, true, 0.1);
        test_sgd((fm_dtype)dt, 0, 0, 0, false);
        test_sgd((fm_dtype)dt, 0.9, 0, 0.01, false);
        test_sgd((fm_dtype)dt, 0.9, 0.2, 0, false);
        test_sgd((fm_dtype)dt, 0.9, 0, 0.01, true);
    }
    test_misc();
    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("test_optim: all passed\n");
    return 0;
}
