/* test_layer_attention.c — the attention layer kind (nn/attention.c), called
 * through fm_layer_attention_ops directly: forward against a naive loop
 * reference, backward and jvp against central differences in float64,
 * float32 against float64, saved A, thread independence, errors. */
#include "nn/layer.h"
#include "core/rng.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); \
    printf("\n"); } } while (0)

static const fm_layer_ops *ops = &fm_layer_attention_ops;

static fm_layer make_layer(fm_dtype dt, int64_t C, int64_t h)
{
    fm_layer l = {0};
    l.kind = FM_LAYER_ATTENTION;
    l.dtype = dt;
    l.in = C;
    l.heads = h;
    l.ninputs = 1;
    return l;
}

/* Naive reference in double: x (N, 3C, P) -> o (N, C, P). */
static void ref_forward(int64_t N, int64_t C, int64_t h, int64_t P,
                        const double *x, double *o)
{
    int64_t d = C / h;
    double *S = malloc(sizeof(double) * P);
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < h; j++) {
            const double *q = x + n * 3 * C * P + j * d * P;
            const double *k = q + C * P, *v = q + 2 * C * P;
            for (int64_t i = 0; i < P; i++) {
                double mx = -INFINITY, sum = 0;
                for (int64_t m = 0; m < P; m++) {
                    double s = 0;
                    for (int64_t c = 0; c < d; c++)
                        s += q[c * P + i] * k[c * P + m];
                    S[m] = s / sqrt((double)d);
                    if (S[m] > mx) mx = S[m];
                }
                for (int64_t m = 0; m < P; m++) {
                    S[m] = exp(S[m] - mx);
                    sum += S[m];
                }
                for (int64_t c = 0; c < d; c++) {
                    double acc = 0;
                    for (int64_t m = 0; m < P; m++)
                        acc += S[m] / sum * v[c * P + m];
                    o[n * C * P + (j * d + c) * P + i] = acc;
                }
            }
        }
    free(S);
}

typedef struct {
    fm_layer l;
    int nd;
    int64_t ish[FM_MAX_DIMS], osh[FM_MAX_DIMS];
    int64_t N, C, h, P;
    fm_tensor x, out, saved;
} setup;

/* A layer and input of (N, 3C, sp...) with random values in [-1.5, 1.5). */
static void setup_make(setup *s, fm_dtype dt, int64_t N, int64_t C, int64_t h,
                       int nsp, const int64_t *sp, fm_rng *rng)
{
    memset(s, 0, sizeof *s);
    s->l = make_layer(dt, C, h);
    s->N = N; s->C = C; s->h = h; s->P = 1;
    s->ish[0] = N; s->ish[1] = 3 * C;
    for (int i = 0; i < nsp; i++) {
        s->ish[2 + i] = sp[i];
        s->P *= sp[i];
    }
    s->nd = 2 + nsp;
    fm_tensor_alloc(&s->x, dt, s->nd, s->ish);
    for (int64_t e = 0; e < fm_tensor_numel(&s->x); e++)
        fm_tensor_set(&s->x, e, (fm_rng_uniform01(rng) * 2 - 1) * 1.5);
    int ond;
    CHECK(ops->shape(&s->l, 1, &s->x, &ond, s->osh) == FM_OK, "shape: %s",
          fm_last_error());
    CHECK(ond == s->nd && s->osh[1] == C, "shape: ndim %d", ond);
    fm_tensor_alloc(&s->out, dt, s->nd, s->osh);
    int64_t ns = ops->saved_numel(&s->l, 1, &s->x);
    CHECK(ns == N * h * s->P * s->P, "saved_numel %lld", (long long)ns);
    fm_tensor_alloc(&s->saved, dt, 1, &ns);
}

static void setup_free(setup *s)
{
    fm_tensor_free(&s->x);
    fm_tensor_free(&s->out);
    fm_tensor_free(&s->saved);
}

static fm_status run_forward(const setup *s, const fm_tensor *x, fm_tensor *out,
                             fm_tensor *saved)
{
    fm_layer_call c = {0};
    c.layer = &s->l;
    c.nin = 1;
    c.in = x;
    c.out = out;
    c.saved = saved;
    return ops->forward(&c);
}

static double max_abs_diff(const fm_tensor *a, const fm_tensor *b)
{
    double w = 0;
    for (int64_t e = 0; e < fm_tensor_numel(a); e++) {
        double d = fabs(fm_tensor_get(a, e) - fm_tensor_get(b, e));
        if (!(d <= w)) w = d;
    }
    return w;
}

static double sum_dot(const fm_tensor *a, const double *w)
{
    double s = 0;
    for (int64_t e = 0; e < fm_tensor_numel(a); e++)
        s += fm_tensor_get(a, e) * w[e];
    return s;
}

/* Forward against the reference (float64), float32 against float64, and the
 * saved probabilities (rows sum to 1). */
static void test_forward(int64_t N, int64_t C, int64_t h, int nsp,
                         const int64_t *sp, fm_rng *rng)
{
    setup s, s32;
    setup_make(&s, FM_FLOAT64, N, C, h, nsp, sp, rng);
    setup_make(&s32, FM_FLOAT32, N, C, h, nsp, sp, rng);
    int64_t nx = fm_tensor_numel(&s.x), no = fm_tensor_numel(&s.out);
    double *xd = malloc(sizeof(double) * nx), *od = malloc(sizeof(double) * no);
    for (int64_t e = 0; e < nx; e++) {
        /* the float64 input holds float32 values, so both see the same x */
        fm_tensor_set(&s32.x, e, fm_tensor_get(&s.x, e));
        fm_tensor_set(&s.x, e, fm_tensor_get(&s32.x, e));
        xd[e] = fm_tensor_get(&s.x, e);
    }
    ref_forward(N, C, h, s.P, xd, od);
    CHECK(run_forward(&s, &s.x, &s.out, &s.saved) == FM_OK, "%s", fm_last_error());
    double w = 0;
    for (int64_t e = 0; e < no; e++) {
        double d = fabs(fm_tensor_get(&s.out, e) - od[e]);
        if (!(d <= w)) w = d;
    }
    /* the same sums in another order: a few ulps of values of size ~1 */
    CHECK(w <= 1e-13, "forward N=%lld C=%lld h=%lld P=%lld vs reference: %g",
          (long long)N, (long long)C, (long long)h, (long long)s.P, w);
    /* saved: rows of A sum to 1 */
    double wr = 0;
    for (int64_t r = 0; r < N * h * s.P; r++) {
        double sum = 0;
        for (int64_t m = 0; m < s.P; m++)
            sum += fm_tensor_get(&s.saved, r * s.P + m);
        if (fabs(sum - 1) > wr) wr = fabs(sum - 1);
    }
    CHECK(wr <= 1e-13, "saved rows sum to 1: %g", wr);
    /* without saved: the same output */
    fm_tensor o2;
    fm_tensor_alloc(&o2, FM_FLOAT64, s.nd, s.osh);
    CHECK(run_forward(&s, &s.x, &o2, NULL) == FM_OK, "%s", fm_last_error());
    CHECK(max_abs_diff(&o2, &s.out) == 0, "forward without saved differs");
    fm_tensor_free(&o2);
    /* float32: inputs ~1.5, d <= 4 products; fmv_exp ~2 ulp; ~1e-6 typical */
    CHECK(run_forward(&s32, &s32.x, &s32.out, NULL) == FM_OK, "%s", fm_last_error());
    double w32 = max_abs_diff(&s32.out, &s.out);
    CHECK(w32 <= 1e-5, "float32 vs float64: %g", w32);
    printf("forward N=%lld C=%lld h=%lld P=%lld: ref err %.2g, float32 err %.2g\n",
           (long long)N, (long long)C, (long long)h, (long long)s.P, w, w32);
    free(xd);
    free(od);
    setup_free(&s);
    setup_free(&s32);
}

/* Backward against central differences of s(x) = sum(out * w), float64.
 * eps = 1e-6: truncation ~eps^2 |s'''| ~1e-12 (x, w of size ~1, P <= 49
 * terms), rounding ~1e-16 |s| / eps ~1e-9 at most (|s| <= ~100), so
 * 1e-6 (1 + |g|) has a margin of 1000. grad_in starts at a random g0 to check
 * that backward accumulates. With `use_saved`, A comes from forward's saved,
 * else backward recomputes it. */
static void test_backward(int64_t N, int64_t C, int64_t h, int nsp,
                          const int64_t *sp, bool use_saved, fm_rng *rng)
{
    setup s;
    setup_make(&s, FM_FLOAT64, N, C, h, nsp, sp, rng);
    int64_t nx = fm_tensor_numel(&s.x), no = fm_tensor_numel(&s.out);
    double *w = malloc(sizeof(double) * no), *g0 = malloc(sizeof(double) * nx);
    fm_tensor go, gi;
    fm_tensor_alloc(&go, FM_FLOAT64, s.nd, s.osh);
    fm_tensor_alloc(&gi, FM_FLOAT64, s.nd, s.ish);
    for (int64_t e = 0; e < no; e++) {
        w[e] = fm_rng_uniform01(rng) * 2 - 1;
        fm_tensor_set(&go, e, w[e]);
    }
    for (int64_t e = 0; e < nx; e++) {
        g0[e] = fm_rng_uniform01(rng) - 0.5;
        fm_tensor_set(&gi, e, g0[e]);
    }
    CHECK(run_forward(&s, &s.x, &s.out, use_saved ? &s.saved : NULL) == FM_OK,
          "%s", fm_last_error());
    fm_layer_call c = {0};
    c.layer = &s.l;
    c.nin = 1;
    c.in = &s.x;
    c.out = &s.out;
    c.saved = use_saved ? &s.saved : NULL;
    c.grad_out = &go;
    c.grad_in = &gi;
    CHECK(ops->backward(&c) == FM_OK, "backward: %s", fm_last_error());
    const double eps = 1e-6;
    double worst = 0;
    fm_tensor o2;
    fm_tensor_alloc(&o2, FM_FLOAT64, s.nd, s.osh);
    for (int64_t e = 0; e < nx; e++) {
        double x0 = fm_tensor_get(&s.x, e);
        fm_tensor_set(&s.x, e, x0 + eps);
        run_forward(&s, &s.x, &o2, NULL);
        double sp_ = sum_dot(&o2, w);
        fm_tensor_set(&s.x, e, x0 - eps);
        run_forward(&s, &s.x, &o2, NULL);
        double sm = sum_dot(&o2, w);
        fm_tensor_set(&s.x, e, x0);
        double fd = (sp_ - sm) / (2 * eps);
        double g = fm_tensor_get(&gi, e) - g0[e];
        double err = fabs(g - fd) / (1 + fabs(fd));
        if (!(err <= worst)) worst = err;
    }
    CHECK(worst <= 1e-6, "backward N=%lld C=%lld h=%lld P=%lld saved=%d: err %g",
          (long long)N, (long long)C, (long long)h, (long long)s.P, use_saved,
          worst);
    printf("backward N=%lld C=%lld h=%lld P=%lld saved=%d: fd err %.2g\n",
           (long long)N, (long long)C, (long long)h, (long long)s.P, use_saved,
           worst);
    /* grad_in data NULL: skipped, returns OK */
    fm_tensor gnull = gi;
    gnull.data = NULL;
    c.grad_in = &gnull;
    CHECK(ops->backward(&c) == FM_OK, "backward without grad_in: %s",
          fm_last_error());
    fm_tensor_free(&o2);
    fm_tensor_free(&go);
    fm_tensor_free(&gi);
    free(w);
    free(g0);
    setup_free(&s);
}

/* jvp against (f(x + e t) - f(x - e t)) / 2e, float64; its out and saved
 * equal forward's. eps = 1e-6: truncation ~1e-12, rounding ~1e-10 per
 * element, tolerance 1e-6 (1 + |fd|). */
static void test_jvp(int64_t N, int64_t C, int64_t h, int nsp, const int64_t *sp,
                     fm_rng *rng)
{
    setup s;
    setup_make(&s, FM_FLOAT64, N, C, h, nsp, sp, rng);
    int64_t nx = fm_tensor_numel(&s.x), no = fm_tensor_numel(&s.out);
    fm_tensor t, to, o2, xp, xm, op, om, sv2;
    fm_tensor_alloc(&t, FM_FLOAT64, s.nd, s.ish);
    fm_tensor_alloc(&xp, FM_FLOAT64, s.nd, s.ish);
    fm_tensor_alloc(&xm, FM_FLOAT64, s.nd, s.ish);
    fm_tensor_alloc(&to, FM_FLOAT64, s.nd, s.osh);
    fm_tensor_alloc(&o2, FM_FLOAT64, s.nd, s.osh);
    fm_tensor_alloc(&op, FM_FLOAT64, s.nd, s.osh);
    fm_tensor_alloc(&om, FM_FLOAT64, s.nd, s.osh);
    fm_tensor_alloc(&sv2, FM_FLOAT64, 1, s.saved.shape);
    const double eps = 1e-6;
    for (int64_t e = 0; e < nx; e++) {
        double te = fm_rng_uniform01(rng) * 2 - 1, x0 = fm_tensor_get(&s.x, e);
        fm_tensor_set(&t, e, te);
        fm_tensor_set(&xp, e, x0 + eps * te);
        fm_tensor_set(&xm, e, x0 - eps * te);
    }
    CHECK(run_forward(&s, &s.x, &s.out, &s.saved) == FM_OK, "%s", fm_last_error());
    run_forward(&s, &xp, &op, NULL);
    run_forward(&s, &xm, &om, NULL);
    fm_layer_call c = {0};
    c.layer = &s.l;
    c.nin = 1;
    c.in = &s.x;
    c.out = &o2;
    c.saved = &sv2;
    c.tan_in = &t;
    c.tan_out = &to;
    CHECK(ops->jvp(&c) == FM_OK, "jvp: %s", fm_last_error());
    CHECK(max_abs_diff(&o2, &s.out) == 0, "jvp out != forward out");
    CHECK(max_abs_diff(&sv2, &s.saved) == 0, "jvp saved != forward saved");
    double worst = 0;
    for (int64_t e = 0; e < no; e++) {
        double fd = (fm_tensor_get(&op, e) - fm_tensor_get(&om, e)) / (2 * eps);
        double err = fabs(fm_tensor_get(&to, e) - fd) / (1 + fabs(fd));
        if (!(err <= worst)) worst = err;
    }
    CHECK(worst <= 1e-6, "jvp N=%lld C=%lld h=%lld P=%lld: err %g", (long long)N,
          (long long)C, (long long)h, (long long)s.P, worst);
    printf("jvp N=%lld C=%lld h=%lld P=%lld: fd err %.2g\n", (long long)N,
           (long long)C, (long long)h, (long long)s.P, worst);
    /* a zero tangent (data NULL), no saved: tan_out = 0, out as forward */
    fm_tensor tnull = t;
    tnull.data = NULL;
    for (int64_t e = 0; e < no; e++)
        fm_tensor_set(&to, e, NAN);
    c.tan_in = &tnull;
    c.saved = NULL;
    CHECK(ops->jvp(&c) == FM_OK, "jvp zero tangent: %s", fm_last_error());
    double mx = 0;
    for (int64_t e = 0; e < no; e++)
        if (!(fabs(fm_tensor_get(&to, e)) <= mx)) mx = fabs(fm_tensor_get(&to, e));
    CHECK(mx == 0, "jvp zero tangent: tan_out %g", mx);
    CHECK(max_abs_diff(&o2, &s.out) == 0, "jvp (zero tangent) out != forward");
    /* tan_in NULL altogether: the same */
    c.tan_in = NULL;
    CHECK(ops->jvp(&c) == FM_OK, "jvp tan_in NULL: %s", fm_last_error());
    fm_tensor_free(&t);
    fm_tensor_free(&xp);
    fm_tensor_free(&xm);
    fm_tensor_free(&to);
    fm_tensor_free(&o2);
    fm_tensor_free(&op);
    fm_tensor_free(&om);
    fm_tensor_free(&sv2);
    setup_free(&s);
}

/* float32 backward and jvp agree with float64 on the same values (the
 * float32 softmax derivative kernels): ~1e-6 typical, 1e-5 tolerance. */
static void test_f32_grads(fm_rng *rng)
{
    int64_t sp[2] = {7, 7};
    setup s[2];
    setup_make(&s[1], FM_FLOAT64, 3, 4, 2, 2, sp, rng);
    setup_make(&s[0], FM_FLOAT32, 3, 4, 2, 2, sp, rng);
    int64_t nx = fm_tensor_numel(&s[0].x), no = fm_tensor_numel(&s[0].out);
    fm_tensor go[2], gi[2], t[2], to[2];
    for (int k = 0; k < 2; k++) {
        fm_dtype dt = k ? FM_FLOAT64 : FM_FLOAT32;
        fm_tensor_alloc(&go[k], dt, s[k].nd, s[k].osh);
        fm_tensor_alloc(&to[k], dt, s[k].nd, s[k].osh);
        fm_tensor_alloc(&gi[k], dt, s[k].nd, s[k].ish);
        fm_tensor_alloc(&t[k], dt, s[k].nd, s[k].ish);
        memset(gi[k].data, 0, fm_tensor_nbytes(&gi[k]));
    }
    for (int64_t e = 0; e < nx; e++) {
        fm_tensor_set(&s[1].x, e, fm_tensor_get(&s[0].x, e));
        fm_tensor_set(&t[0], e, fm_rng_uniform01(rng) * 2 - 1);
        fm_tensor_set(&t[1], e, fm_tensor_get(&t[0], e));
    }
    for (int64_t e = 0; e < no; e++) {
        fm_tensor_set(&go[0], e, fm_rng_uniform01(rng) * 2 - 1);
        fm_tensor_set(&go[1], e, fm_tensor_get(&go[0], e));
    }
    for (int k = 0; k < 2; k++) {
        fm_layer_call c = {0};
        c.layer = &s[k].l;
        c.nin = 1;
        c.in = &s[k].x;
        c.out = &s[k].out;
        c.saved = &s[k].saved;
        c.tan_in = &t[k];
        c.tan_out = &to[k];
        CHECK(ops->jvp(&c) == FM_OK, "jvp: %s", fm_last_error());
        c.grad_out = &go[k];
        c.grad_in = &gi[k];
        CHECK(ops->backward(&c) == FM_OK, "backward: %s", fm_last_error());
    }
    double wg = max_abs_diff(&gi[0], &gi[1]), wt = max_abs_diff(&to[0], &to[1]);
    CHECK(wg <= 1e-5 && wt <= 1e-5, "float32 vs float64: grad %g, tangent %g",
          wg, wt);
    printf("float32 vs float64: backward %.2g, jvp %.2g\n", wg, wt);
    for (int k = 0; k < 2; k++) {
        fm_tensor_free(&go[k]);
        fm_tensor_free(&gi[k]);
        fm_tensor_free(&t[k]);
        fm_tensor_free(&to[k]);
        setup_free(&s[k]);
    }
}

/* The result does not depend on the engine's thread budget. */
static void test_threads(fm_rng *rng)
{
    int64_t sp[2] = {7, 7};
    setup s;
    setup_make(&s, FM_FLOAT32, 5, 8, 2, 2, sp, rng);
    fm_tensor o1;
    fm_tensor_alloc(&o1, FM_FLOAT32, s.nd, s.osh);
    int nt = openblas_get_num_threads();
    openblas_set_num_threads(1);
    run_forward(&s, &s.x, &o1, NULL);
    openblas_set_num_threads(2);
    run_forward(&s, &s.x, &s.out, NULL);
    openblas_set_num_threads(nt);
    CHECK(max_abs_diff(&o1, &s.out) == 0, "1 vs 2 threads differ");
    fm_tensor_free(&o1);
    setup_free(&s);
}

static void test_errors(fm_rng *rng)
{
    int64_t sp[2] = {2, 3};
    setup s;
    setup_make(&s, FM_FLOAT64, 2, 4, 2, 2, sp, rng);
    int nd;
    int64_t sh[FM_MAX_DIMS];
    /* heads do not divide channels */
    fm_layer bad = make_layer(FM_FLOAT64, 4, 3);
    CHECK(ops->check(&bad) == FM_EVALUE, "check 3 heads of 4");
    printf("error (heads): %s\n", fm_last_error());
    CHECK(strstr(fm_last_error(), "attention"), "message names the kind");
    CHECK(ops->shape(&bad, 1, &s.x, &nd, sh) == FM_EVALUE, "shape 3 heads of 4");
    bad.heads = 0;
    CHECK(ops->check(&bad) == FM_EVALUE, "check 0 heads");
    bad = make_layer(FM_INT64, 4, 1);
    CHECK(ops->check(&bad) == FM_ETYPE, "check int64 layer");
    CHECK(ops->check(&s.l) == FM_OK, "check ok: %s", fm_last_error());
    /* input channels != 3C */
    fm_layer l5 = make_layer(FM_FLOAT64, 5, 1);
    CHECK(ops->shape(&l5, 1, &s.x, &nd, sh) == FM_ESHAPE, "shape 12 vs 15");
    printf("error (channels): %s\n", fm_last_error());
    CHECK(strstr(fm_last_error(), "(2, 12, 2, 3)"), "message names the shape");
    CHECK(run_forward(&(setup){.l = l5}, &s.x, &s.out, NULL) == FM_ESHAPE,
          "forward 12 vs 15");
    /* fewer than 3 dims */
    fm_tensor x2 = s.x;
    x2.ndim = 2;
    CHECK(ops->shape(&s.l, 1, &x2, &nd, sh) == FM_ESHAPE, "shape of 2 dims");
    printf("error (dims): %s\n", fm_last_error());
    CHECK(run_forward(&s, &x2, &s.out, NULL) == FM_ESHAPE, "forward of 2 dims");
    /* nin != 1 */
    fm_tensor two[2] = {s.x, s.x};
    CHECK(ops->shape(&s.l, 2, two, &nd, sh) == FM_EVALUE, "shape nin 2");
    printf("error (nin): %s\n", fm_last_error());
    fm_layer_call c = {0};
    c.layer = &s.l;
    c.nin = 2;
    c.in = two;
    c.out = &s.out;
    CHECK(ops->forward(&c) == FM_EVALUE, "forward nin 2");
    /* input dtype != layer dtype */
    fm_tensor x32;
    fm_tensor_alloc(&x32, FM_FLOAT32, s.nd, s.ish);
    CHECK(ops->shape(&s.l, 1, &x32, &nd, sh) == FM_ETYPE, "shape float32 input");
    fm_tensor_free(&x32);
    /* an output of the wrong shape */
    fm_tensor o3 = s.out;
    o3.shape[3] = 2;
    c.nin = 1;
    c.out = &o3;
    CHECK(ops->forward(&c) == FM_ESHAPE, "forward into a wrong out");
    printf("error (out): %s\n", fm_last_error());
    /* saved too small, grad_in / tan_in of the wrong shape */
    c.out = &s.out;
    fm_tensor sv = s.saved;
    sv.shape[0] -= 1;
    c.saved = &sv;
    CHECK(ops->forward(&c) == FM_ESHAPE, "saved too small");
    printf("error (saved): %s\n", fm_last_error());
    c.saved = NULL;
    fm_tensor gbad = s.x;
    gbad.shape[0] = 1;
    c.grad_out = &s.out;
    c.grad_in = &gbad;
    CHECK(ops->backward(&c) == FM_ESHAPE, "grad_in of the wrong shape");
    c.tan_in = &gbad;
    c.tan_out = &s.out;
    CHECK(ops->jvp(&c) == FM_ESHAPE, "tan_in of the wrong shape");
    bad = make_layer(FM_FLOAT64, 0, 1);
    CHECK(ops->check(&bad) == FM_EVALUE, "0 channels");
    /* an empty batch: nothing to do */
    fm_tensor x0 = s.x, o0 = s.out;
    x0.shape[0] = 0;
    o0.shape[0] = 0;
    c.in = &x0;
    c.out = &o0;
    CHECK(ops->forward(&c) == FM_OK, "empty batch: %s", fm_last_error());
    CHECK(ops->saved_numel(&s.l, 0, NULL) == 0, "saved_numel without input");
    /* the ops with no parameters */
    int pnd = -1;
    ops->param_shape(&s.l, 0, &pnd, sh);
    CHECK(pnd == 0, "param_shape");
    CHECK(ops->nparams(&s.l) == 0, "nparams");
    CHECK(strcmp(ops->name, "attention") == 0, "name");
    setup_free(&s);
}

int main(void)
{
    fm_rng rng;
    fm_rng_seed(&rng, 12345);
    int64_t sp23[2] = {2, 3}, sp77[2] = {7, 7}, sp5[1] = {5}, sp3d[3] = {1, 3, 2};
    /* forward: h 1 and 2, P 6 and 49, batch 1 and 3, 1-D and 3-D spatial */
    test_forward(1, 4, 1, 2, sp23, &rng);
    test_forward(3, 4, 2, 2, sp23, &rng);
    test_forward(1, 6, 2, 2, sp77, &rng);
    test_forward(3, 4, 1, 2, sp77, &rng);
    test_forward(2, 6, 3, 1, sp5, &rng);
    test_forward(3, 2, 2, 3, sp3d, &rng);
    /* backward */
    test_backward(1, 4, 1, 2, sp23, true, &rng);
    test_backward(3, 4, 2, 2, sp23, true, &rng);
    test_backward(3, 4, 2, 2, sp23, false, &rng);
    test_backward(1, 4, 2, 2, sp77, true, &rng);
    test_backward(3, 2, 1, 2, sp77, false, &rng);
    test_backward(2, 6, 3, 1, sp5, true, &rng);
    /* jvp */
    test_jvp(1, 4, 1, 2, sp23, &rng);
    test_jvp(3, 4, 2, 2, sp23, &rng);
    test_jvp(1, 4, 2, 2, sp77, &rng);
    test_jvp(3, 4, 1, 2, sp77, &rng);
    test_jvp(2, 6, 3, 3, sp3d, &rng);
    test_f32_grads(&rng);
    test_threads(&rng);
    test_errors(&rng);
    printf("%s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures != 0;
}
