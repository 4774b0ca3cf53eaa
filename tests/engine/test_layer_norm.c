/* test_layer_norm.c — the group_norm and layer_norm layer kinds (nn/norm.c),
 * called through their ops structs directly: forward against a naive double
 * reference (two-pass moments), backward and jvp against central finite
 * differences in float64, float32 against float64, backward without saved
 * moments, accumulation (+=), thread-count independence, and the errors. */
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

static double act_ref(fm_act a, double v)
{
    return a == FM_ACT_SILU ? v / (1 + exp(-v)) : v;
}

/* ---- a test case: layer, parameters, input ---------------------------- */

typedef struct {
    fm_layer l;
    const fm_layer_ops *ops;
    int nd;
    int64_t shape[FM_MAX_DIMS];
    fm_tensor x, p[2];          /* input, gamma, beta */
} tcase;

static void fill(fm_tensor *t, fm_rng *rng, double scale, double shift)
{
    for (int64_t e = 0; e < fm_tensor_numel(t); e++)
        fm_tensor_set(t, e, fm_rng_normal01(rng) * scale + shift);
}

static void tcase_make(tcase *tc, fm_layer_kind kind, fm_dtype dt, int64_t C,
                       int64_t G, fm_act act, int nd, const int64_t *shape,
                       fm_rng *rng)
{
    memset(tc, 0, sizeof *tc);
    tc->l.kind = kind;
    tc->l.dtype = dt;
    tc->l.in = C;
    tc->l.groups = G;
    tc->l.eps = 1e-5;
    tc->l.act = act;
    tc->l.ninputs = 1;
    tc->ops = kind == FM_LAYER_GROUP_NORM ? &fm_layer_group_norm_ops
                                          : &fm_layer_layer_norm_ops;
    tc->nd = nd;
    memcpy(tc->shape, shape, sizeof(int64_t) * nd);
    fm_tensor_alloc(&tc->x, dt, nd, shape);
    fill(&tc->x, rng, 1.3, 0.4);
    int64_t ps[1] = {C};
    for (int i = 0; i < 2; i++) {
        fm_tensor_alloc(&tc->p[i], dt, 1, ps);
        fill(&tc->p[i], rng, 0.5, i == 0 ? 1.0 : 0.0);
    }
}

static void tcase_free(tcase *tc)
{
    fm_tensor_free(&tc->x);
    fm_tensor_free(&tc->p[0]);
    fm_tensor_free(&tc->p[1]);
}

static void alloc_like(fm_tensor *t, const fm_tensor *like)
{
    fm_tensor_alloc(t, like->dtype, like->ndim, like->shape);
    memset(t->data, 0, fm_tensor_nbytes(t));
}

static void alloc_saved(const tcase *tc, fm_tensor *s)
{
    int64_t n = tc->ops->saved_numel(&tc->l, 1, &tc->x);
    fm_tensor_alloc(s, tc->l.dtype, 1, &n);
}

static fm_status run_forward(const tcase *tc, const fm_tensor *x,
                             const fm_tensor *p, fm_tensor *out,
                             fm_tensor *saved)
{
    fm_layer_call c = {0};
    c.layer = &tc->l;
    c.params = p;
    c.nin = 1;
    c.in = x;
    c.out = out;
    c.saved = saved;
    return tc->ops->forward(&c);
}

/* N, C, G, S of the case as the kernels see them. */
static void dims(const tcase *tc, int64_t *N, int64_t *C, int64_t *G,
                 int64_t *S)
{
    *C = tc->l.in;
    if (tc->l.kind == FM_LAYER_LAYER_NORM) {
        *N = fm_tensor_numel(&tc->x) / tc->l.in;
        *G = 1;
        *S = 1;
    } else {
        *N = tc->shape[0];
        *G = tc->l.groups;
        *S = 1;
        for (int d = 2; d < tc->nd; d++) *S *= tc->shape[d];
    }
}

/* Naive reference in double: two-pass moments per (n, g). */
static void ref_forward(const tcase *tc, double *out)
{
    int64_t N, C, G, S;
    dims(tc, &N, &C, &G, &S);
    int64_t Cg = C / G, M = Cg * S;
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = 0; g < G; g++) {
            int64_t off = (n * C + g * Cg) * S;
            double mean = 0, var = 0;
            for (int64_t i = 0; i < M; i++) mean += fm_tensor_get(&tc->x, off + i);
            mean /= M;
            for (int64_t i = 0; i < M; i++) {
                double d = fm_tensor_get(&tc->x, off + i) - mean;
                var += d * d;
            }
            var /= M;
            double rstd = 1 / sqrt(var + tc->l.eps);
            for (int64_t i = 0; i < M; i++) {
                int64_t c = g * Cg + i / S;
                double z = (fm_tensor_get(&tc->x, off + i) - mean) * rstd *
                               fm_tensor_get(&tc->p[0], c) +
                           fm_tensor_get(&tc->p[1], c);
                out[off + i] = act_ref(tc->l.act, z);
            }
        }
}

static void test_forward_ref(tcase *tc, const char *what)
{
    int64_t n = fm_tensor_numel(&tc->x);
    fm_tensor out, saved;
    alloc_like(&out, &tc->x);
    alloc_saved(tc, &saved);
    double *ref = malloc(sizeof(double) * n);
    ref_forward(tc, ref);
    fm_status st = run_forward(tc, &tc->x, tc->p, &out, &saved);
    CHECK(st == FM_OK, "%s forward: %s", what, fm_last_error());
    double tol = tc->l.dtype == FM_FLOAT64 ? 1e-12 : 2e-5, err = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(fm_tensor_get(&out, i) - ref[i]) / (1 + fabs(ref[i]));
        if (e > err) err = e;
    }
    CHECK(err < tol, "%s forward vs reference: err %g", what, err);
    /* the same output without saved */
    fm_tensor out2;
    alloc_like(&out2, &tc->x);
    st = run_forward(tc, &tc->x, tc->p, &out2, NULL);
    CHECK(st == FM_OK && memcmp(out.data, out2.data, fm_tensor_nbytes(&out)) == 0,
          "%s forward without saved differs", what);
    fm_tensor_free(&out);
    fm_tensor_free(&out2);
    fm_tensor_free(&saved);
    free(ref);
}

/* s = sum(out * w) by the layer's forward. */
static double objective(const tcase *tc, const fm_tensor *x, const fm_tensor *p,
                        const double *w)
{
    fm_tensor out;
    alloc_like(&out, x);
    fm_status st = run_forward(tc, x, p, &out, NULL);
    CHECK(st == FM_OK, "objective forward: %s", fm_last_error());
    double s = 0;
    for (int64_t i = 0; i < fm_tensor_numel(&out); i++)
        s += fm_tensor_get(&out, i) * w[i];
    fm_tensor_free(&out);
    return s;
}

/* Backward of s = sum(out w) against central differences, float64.
 * eps 1e-6: the truncation error is eps^2 f''' / 6 ~ 1e-12 (the values are
 * O(1), rstd ~ 1 except for the tiny groups, where it is checked too), the
 * rounding error of s (~1e-15 |s|, |s| < 100) divided by 2 eps is ~1e-8; so
 * 1e-6 |g| + 1e-6 separates real errors (a missing term is O(1)) from noise.
 * The noise grows with the elements s sums: 5e-8 for the group of 1080, 4e-7
 * for one of 2112 tried once
 * (3e-9 with eps 1e-4: the difference quotient's rounding, not the code).
 * The gradients start at 0.25 to check that backward accumulates. */
static void test_gradcheck(tcase *tc, const char *what, fm_rng *rng)
{
    int64_t n = fm_tensor_numel(&tc->x), C = tc->l.in;
    double *w = malloc(sizeof(double) * n);
    for (int64_t i = 0; i < n; i++) w[i] = fm_rng_normal01(rng);
    fm_tensor out, saved, dout, gx, gp[2];
    alloc_like(&out, &tc->x);
    alloc_like(&dout, &tc->x);
    alloc_like(&gx, &tc->x);
    alloc_saved(tc, &saved);
    for (int i = 0; i < 2; i++) alloc_like(&gp[i], &tc->p[i]);
    for (int64_t i = 0; i < n; i++) {
        fm_tensor_set(&dout, i, w[i]);
        fm_tensor_set(&gx, i, 0.25);
    }
    for (int j = 0; j < 2; j++)
        for (int64_t i = 0; i < C; i++) fm_tensor_set(&gp[j], i, 0.25);
    fm_status st = run_forward(tc, &tc->x, tc->p, &out, &saved);
    CHECK(st == FM_OK, "%s forward: %s", what, fm_last_error());
    fm_layer_call c = {0};
    c.layer = &tc->l;
    c.params = tc->p;
    c.nin = 1;
    c.in = &tc->x;
    c.out = &out;
    c.saved = &saved;
    c.grad_out = &dout;
    c.grad_in = &gx;
    c.grad_params = gp;
    st = tc->ops->backward(&c);
    CHECK(st == FM_OK, "%s backward: %s", what, fm_last_error());

    const double eps = 1e-6;
    double maxerr = 0;
    fm_tensor *targets[3] = {&tc->x, &tc->p[0], &tc->p[1]};
    fm_tensor *grads[3] = {&gx, &gp[0], &gp[1]};
    for (int k = 0; k < 3; k++)
        for (int64_t i = 0; i < fm_tensor_numel(targets[k]); i++) {
            double v = fm_tensor_get(targets[k], i);
            fm_tensor_set(targets[k], i, v + eps);
            double sp = objective(tc, &tc->x, tc->p, w);
            fm_tensor_set(targets[k], i, v - eps);
            double sm = objective(tc, &tc->x, tc->p, w);
            fm_tensor_set(targets[k], i, v);
            double fd = (sp - sm) / (2 * eps);
            double g = fm_tensor_get(grads[k], i) - 0.25;
            double e = fabs(g - fd) / (1 + fabs(fd));
            if (e > maxerr) maxerr = e;
            CHECK(e < 1e-6, "%s grad %s[%lld]: backward %.10g, fd %.10g", what,
                  k == 0 ? "x" : k == 1 ? "gamma" : "beta", (long long)i, g, fd);
        }

    /* backward without saved (moments recomputed) gives the same */
    fm_tensor gx2, gp2[2];
    alloc_like(&gx2, &tc->x);
    for (int i = 0; i < 2; i++) alloc_like(&gp2[i], &tc->p[i]);
    c.saved = NULL;
    c.grad_in = &gx2;
    c.grad_params = gp2;
    st = tc->ops->backward(&c);
    CHECK(st == FM_OK, "%s backward without saved: %s", what, fm_last_error());
    double e2 = 0;
    for (int64_t i = 0; i < n; i++)
        e2 = fmax(e2, fabs(fm_tensor_get(&gx2, i) - fm_tensor_get(&gx, i) + 0.25));
    for (int j = 0; j < 2; j++)
        for (int64_t i = 0; i < C; i++)
            e2 = fmax(e2, fabs(fm_tensor_get(&gp2[j], i) -
                               fm_tensor_get(&gp[j], i) + 0.25));
    CHECK(e2 < 1e-12, "%s backward without saved differs by %g", what, e2);

    /* only gamma wanted (grad_in and beta skipped) */
    fm_tensor skip[2] = {gp2[0], gp2[1]}, noin = gx2;
    noin.data = NULL;
    skip[1].data = NULL;
    memset(gp2[0].data, 0, fm_tensor_nbytes(&gp2[0]));
    c.saved = &saved;
    c.grad_in = &noin;
    c.grad_params = skip;
    st = tc->ops->backward(&c);
    double e3 = 0;
    for (int64_t i = 0; i < C; i++)
        e3 = fmax(e3, fabs(fm_tensor_get(&gp2[0], i) - fm_tensor_get(&gp[0], i) + 0.25));
    CHECK(st == FM_OK && e3 < 1e-12, "%s backward gamma only: %g", what, e3);

    printf("  %-34s backward vs fd: max rel err %.2e\n", what, maxerr);
    fm_tensor_free(&gx2);
    for (int i = 0; i < 2; i++) { fm_tensor_free(&gp[i]); fm_tensor_free(&gp2[i]); }
    fm_tensor_free(&out);
    fm_tensor_free(&saved);
    fm_tensor_free(&dout);
    fm_tensor_free(&gx);
    free(w);
}

/* jvp against (f(x + e v; p + e vp) - f(x - e v; p - e vp)) / 2e, float64,
 * with tangents of x, gamma and beta; then each tangent alone (the others
 * NULL) and tan_params NULL. Same tolerance argument as the gradcheck. */
static void jvp_fd(tcase *tc, const fm_tensor *tx, const fm_tensor *tp,
                   double *fd)
{
    const double eps = 1e-6;
    int64_t n = fm_tensor_numel(&tc->x), C = tc->l.in;
    fm_tensor xs, ps[2], op, om;
    alloc_like(&xs, &tc->x);
    alloc_like(&op, &tc->x);
    alloc_like(&om, &tc->x);
    for (int j = 0; j < 2; j++) alloc_like(&ps[j], &tc->p[j]);
    for (int sgn = -1; sgn <= 1; sgn += 2) {
        for (int64_t i = 0; i < n; i++)
            fm_tensor_set(&xs, i, fm_tensor_get(&tc->x, i) +
                          (tx && tx->data ? sgn * eps * fm_tensor_get(tx, i) : 0));
        for (int j = 0; j < 2; j++)
            for (int64_t i = 0; i < C; i++)
                fm_tensor_set(&ps[j], i, fm_tensor_get(&tc->p[j], i) +
                              (tp && tp[j].data ? sgn * eps * fm_tensor_get(&tp[j], i) : 0));
        run_forward(tc, &xs, ps, sgn > 0 ? &op : &om, NULL);
    }
    for (int64_t i = 0; i < n; i++)
        fd[i] = (fm_tensor_get(&op, i) - fm_tensor_get(&om, i)) / (2 * eps);
    fm_tensor_free(&xs);
    fm_tensor_free(&op);
    fm_tensor_free(&om);
    for (int j = 0; j < 2; j++) fm_tensor_free(&ps[j]);
}

static void test_jvp(tcase *tc, const char *what, fm_rng *rng)
{
    int64_t n = fm_tensor_numel(&tc->x);
    fm_tensor tx, tp[2], out, tan, fout, saved, fsaved;
    alloc_like(&tx, &tc->x);
    fill(&tx, rng, 1, 0);
    for (int j = 0; j < 2; j++) {
        alloc_like(&tp[j], &tc->p[j]);
        fill(&tp[j], rng, 1, 0);
    }
    alloc_like(&out, &tc->x);
    alloc_like(&tan, &tc->x);
    alloc_like(&fout, &tc->x);
    alloc_saved(tc, &saved);
    alloc_saved(tc, &fsaved);
    run_forward(tc, &tc->x, tc->p, &fout, &fsaved);
    double *fd = malloc(sizeof(double) * n);
    fm_tensor nx = tx, np[2] = {tp[0], tp[1]};
    nx.data = NULL;
    for (int mode = 0; mode < 5; mode++) {
        /* 0: all tangents, 1: x only (tan_params NULL), 2: gamma only,
         * 3: beta only, 4: params only (tan_in NULL) */
        fm_tensor pt[2] = {np[0], np[1]};
        const fm_tensor *tin = mode == 0 || mode == 1 ? &tx : &nx;
        if (mode == 2) pt[1].data = NULL;
        if (mode == 3) pt[0].data = NULL;
        fm_layer_call c = {0};
        c.layer = &tc->l;
        c.params = tc->p;
        c.nin = 1;
        c.in = &tc->x;
        c.out = &out;
        c.saved = &saved;
        c.tan_in = tin;
        c.tan_params = mode == 1 ? NULL : pt;
        c.tan_out = &tan;
        fm_status st = tc->ops->jvp(&c);
        CHECK(st == FM_OK, "%s jvp: %s", what, fm_last_error());
        jvp_fd(tc, tin, mode == 1 ? NULL : pt, fd);
        double maxerr = 0;
        for (int64_t i = 0; i < n; i++) {
            double e = fabs(fm_tensor_get(&tan, i) - fd[i]) / (1 + fabs(fd[i]));
            if (e > maxerr) maxerr = e;
        }
        CHECK(maxerr < 1e-6, "%s jvp mode %d vs fd: err %g", what, mode, maxerr);
        double oe = 0;
        for (int64_t i = 0; i < n; i++)
            oe = fmax(oe, fabs(fm_tensor_get(&out, i) - fm_tensor_get(&fout, i)));
        for (int64_t i = 0; i < fm_tensor_numel(&saved); i++)
            oe = fmax(oe, fabs(fm_tensor_get(&saved, i) - fm_tensor_get(&fsaved, i)));
        CHECK(oe < 1e-13, "%s jvp out/saved differ from forward's by %g", what, oe);
        if (mode == 0)
            printf("  %-34s jvp vs fd:      max rel err %.2e\n", what, maxerr);
    }
    free(fd);
    fm_tensor_free(&tx);
    fm_tensor_free(&tp[0]);
    fm_tensor_free(&tp[1]);
    fm_tensor_free(&out);
    fm_tensor_free(&tan);
    fm_tensor_free(&fout);
    fm_tensor_free(&saved);
    fm_tensor_free(&fsaved);
}

/* float32 forward, backward and jvp against float64 on the same values. */
static void test_f32(fm_layer_kind kind, int64_t C, int64_t G, fm_act act,
                     int nd, const int64_t *shape, const char *what)
{
    fm_rng r1, r2;
    fm_rng_seed(&r1, 7);
    r2 = r1;
    tcase a, b;
    tcase_make(&a, kind, FM_FLOAT32, C, G, act, nd, shape, &r1);
    tcase_make(&b, kind, FM_FLOAT64, C, G, act, nd, shape, &r2);
    /* the same (float-rounded) values in both */
    for (int64_t i = 0; i < fm_tensor_numel(&a.x); i++)
        fm_tensor_set(&b.x, i, fm_tensor_get(&a.x, i));
    for (int j = 0; j < 2; j++)
        for (int64_t i = 0; i < C; i++)
            fm_tensor_set(&b.p[j], i, fm_tensor_get(&a.p[j], i));
    tcase *t2[2] = {&a, &b};
    fm_tensor out[2], sv[2], dout[2], gx[2], gp[2][2], tan[2], tx[2];
    fm_rng r3;
    fm_rng_seed(&r3, 11);
    for (int k = 0; k < 2; k++) {
        alloc_like(&out[k], &t2[k]->x);
        alloc_like(&dout[k], &t2[k]->x);
        alloc_like(&gx[k], &t2[k]->x);
        alloc_like(&tan[k], &t2[k]->x);
        alloc_like(&tx[k], &t2[k]->x);
        alloc_saved(t2[k], &sv[k]);
        for (int j = 0; j < 2; j++) alloc_like(&gp[k][j], &t2[k]->p[j]);
    }
    for (int64_t i = 0; i < fm_tensor_numel(&a.x); i++) {
        double w = fm_rng_normal01(&r3), v = fm_rng_normal01(&r3);
        for (int k = 0; k < 2; k++) {
            fm_tensor_set(&dout[k], i, w);
            fm_tensor_set(&tx[k], i, v);
        }
    }
    for (int k = 0; k < 2; k++) {
        run_forward(t2[k], &t2[k]->x, t2[k]->p, &out[k], &sv[k]);
        fm_layer_call c = {0};
        c.layer = &t2[k]->l;
        c.params = t2[k]->p;
        c.nin = 1;
        c.in = &t2[k]->x;
        c.out = &out[k];
        c.saved = &sv[k];
        c.grad_out = &dout[k];
        c.grad_in = &gx[k];
        c.grad_params = gp[k];
        CHECK(t2[k]->ops->backward(&c) == FM_OK, "%s f32 backward: %s", what,
              fm_last_error());
        fm_tensor o2;
        alloc_like(&o2, &t2[k]->x);
        c.out = &o2;
        c.tan_in = &tx[k];
        c.tan_out = &tan[k];
        c.tan_params = NULL;
        CHECK(t2[k]->ops->jvp(&c) == FM_OK, "%s f32 jvp: %s", what,
              fm_last_error());
        fm_tensor_free(&o2);
    }
    double ef = 0, eb = 0, ej = 0;
    for (int64_t i = 0; i < fm_tensor_numel(&a.x); i++) {
        ef = fmax(ef, fabs(fm_tensor_get(&out[0], i) - fm_tensor_get(&out[1], i)));
        eb = fmax(eb, fabs(fm_tensor_get(&gx[0], i) - fm_tensor_get(&gx[1], i)));
        ej = fmax(ej, fabs(fm_tensor_get(&tan[0], i) - fm_tensor_get(&tan[1], i)));
    }
    for (int j = 0; j < 2; j++)
        for (int64_t i = 0; i < C; i++)
            eb = fmax(eb, fabs(fm_tensor_get(&gp[0][j], i) -
                               fm_tensor_get(&gp[1][j], i)) /
                              (1 + fabs(fm_tensor_get(&gp[1][j], i))));
    CHECK(ef < 1e-5, "%s float32 forward differs by %g", what, ef);
    CHECK(eb < 2e-5, "%s float32 backward differs by %g", what, eb);
    CHECK(ej < 2e-5, "%s float32 jvp differs by %g", what, ej);
    printf("  %-34s f32 vs f64: fwd %.1e bwd %.1e jvp %.1e\n", what, ef, eb, ej);
    for (int k = 0; k < 2; k++) {
        fm_tensor_free(&out[k]);
        fm_tensor_free(&dout[k]);
        fm_tensor_free(&gx[k]);
        fm_tensor_free(&tan[k]);
        fm_tensor_free(&tx[k]);
        fm_tensor_free(&sv[k]);
        for (int j = 0; j < 2; j++) fm_tensor_free(&gp[k][j]);
    }
    tcase_free(&a);
    tcase_free(&b);
}

/* Results do not depend on the thread count (1 vs 2 workers), bit for bit. */
static void test_threads(fm_rng *rng)
{
    int64_t sh[4] = {5, 8, 6, 7};
    tcase tc;
    tcase_make(&tc, FM_LAYER_GROUP_NORM, FM_FLOAT32, 8, 4, FM_ACT_SILU, 4, sh, rng);
    fm_tensor out[2], dout, gx[2], gp[2][2], sv;
    alloc_like(&dout, &tc.x);
    fill(&dout, rng, 1, 0);
    alloc_saved(&tc, &sv);
    int nt0 = openblas_get_num_threads();
    for (int k = 0; k < 2; k++) {
        openblas_set_num_threads(k + 1);
        alloc_like(&out[k], &tc.x);
        alloc_like(&gx[k], &tc.x);
        for (int j = 0; j < 2; j++) alloc_like(&gp[k][j], &tc.p[j]);
        run_forward(&tc, &tc.x, tc.p, &out[k], &sv);
        fm_layer_call c = {0};
        c.layer = &tc.l;
        c.params = tc.p;
        c.nin = 1;
        c.in = &tc.x;
        c.out = &out[k];
        c.saved = &sv;
        c.grad_out = &dout;
        c.grad_in = &gx[k];
        c.grad_params = gp[k];
        tc.ops->backward(&c);
    }
    openblas_set_num_threads(nt0);
    bool same = memcmp(out[0].data, out[1].data, fm_tensor_nbytes(&out[0])) == 0 &&
                memcmp(gx[0].data, gx[1].data, fm_tensor_nbytes(&gx[0])) == 0 &&
                memcmp(gp[0][0].data, gp[1][0].data, fm_tensor_nbytes(&gp[0][0])) == 0 &&
                memcmp(gp[0][1].data, gp[1][1].data, fm_tensor_nbytes(&gp[0][1])) == 0;
    CHECK(same, "results differ between 1 and 2 threads");
    for (int k = 0; k < 2; k++) {
        fm_tensor_free(&out[k]);
        fm_tensor_free(&gx[k]);
        for (int j = 0; j < 2; j++) fm_tensor_free(&gp[k][j]);
    }
    fm_tensor_free(&dout);
    fm_tensor_free(&sv);
    tcase_free(&tc);
}

/* Inputs far from zero (mean 1000, std 1e-2): the shifted moments keep the
 * variance; float32 against float64. */
static void test_offset(void)
{
    int64_t sh[3] = {2, 4, 50};
    fm_rng r1, r2;
    fm_rng_seed(&r1, 3);
    r2 = r1;
    tcase a, b;
    tcase_make(&a, FM_LAYER_GROUP_NORM, FM_FLOAT32, 4, 2, FM_ACT_NONE, 3, sh, &r1);
    tcase_make(&b, FM_LAYER_GROUP_NORM, FM_FLOAT64, 4, 2, FM_ACT_NONE, 3, sh, &r2);
    for (int64_t i = 0; i < fm_tensor_numel(&a.x); i++) {
        fm_tensor_set(&a.x, i, 1000 + 0.01 * fm_rng_normal01(&r1));
        fm_tensor_set(&b.x, i, fm_tensor_get(&a.x, i));
    }
    double *ref = malloc(sizeof(double) * 400);
    ref_forward(&b, ref);
    fm_tensor o;
    alloc_like(&o, &a.x);
    run_forward(&a, &a.x, a.p, &o, NULL);
    double e = 0;
    for (int64_t i = 0; i < 400; i++) e = fmax(e, fabs(fm_tensor_get(&o, i) - ref[i]));
    /* x - mean is exact in float32 here up to ulp(1000) = 6e-5, i.e. 6e-3 of
     * a standard deviation */
    CHECK(e < 2e-2, "offset input: float32 err %g", e);
    printf("  offset inputs (mean 1000, std 0.01): float32 err %.1e\n", e);
    fm_tensor_free(&o);
    free(ref);
    tcase_free(&a);
    tcase_free(&b);
}

static void test_errors(void)
{
    fm_layer l = {0};
    l.kind = FM_LAYER_GROUP_NORM;
    l.dtype = FM_FLOAT64;
    l.in = 12;
    l.groups = 8;
    l.eps = 1e-5;
    l.ninputs = 1;
    const fm_layer_ops *g = &fm_layer_group_norm_ops, *ln = &fm_layer_layer_norm_ops;
    fm_status st = g->check(&l);
    CHECK(st == FM_EVALUE, "8 groups of 12 channels: status %d", st);
    CHECK(strstr(fm_last_error(), "8 groups do not divide 12 channels") != NULL,
          "message: %s", fm_last_error());
    printf("  error message: %s\n", fm_last_error());
    l.groups = 0;
    CHECK(g->check(&l) == FM_EVALUE, "0 groups accepted");
    l.groups = 4;
    CHECK(g->check(&l) == FM_OK, "valid group norm rejected: %s", fm_last_error());
    l.eps = -1;
    CHECK(g->check(&l) == FM_EVALUE, "negative eps accepted");
    l.eps = 1e-5;
    l.dtype = FM_INT64;
    CHECK(g->check(&l) == FM_ETYPE, "int64 dtype accepted");
    l.dtype = FM_FLOAT64;
    l.in = 0;
    CHECK(g->check(&l) == FM_EVALUE, "0 channels accepted");
    l.in = 12;

    CHECK(g->nparams(&l) == 2, "group norm nparams");
    int nd;
    int64_t sh[FM_MAX_DIMS];
    g->param_shape(&l, 1, &nd, sh);
    CHECK(nd == 1 && sh[0] == 12, "group norm param shape");

    fm_tensor x;
    int64_t xs[4] = {2, 3, 5, 5};
    fm_tensor_init(&x, NULL, FM_FLOAT64, 4, xs);
    st = g->shape(&l, 1, &x, &nd, sh);
    CHECK(st == FM_ESHAPE && strstr(fm_last_error(), "3 channels") &&
          strstr(fm_last_error(), "(2, 3, 5, 5)"), "channels: %s", fm_last_error());
    printf("  error message: %s\n", fm_last_error());
    int64_t xs1[1] = {12};
    fm_tensor_init(&x, NULL, FM_FLOAT64, 1, xs1);
    st = g->shape(&l, 1, &x, &nd, sh);
    CHECK(st == FM_ESHAPE, "1-D input: status %d", st);
    printf("  error message: %s\n", fm_last_error());
    int64_t xs2[3] = {2, 12, 7};
    fm_tensor_init(&x, NULL, FM_FLOAT64, 3, xs2);
    st = g->shape(&l, 1, &x, &nd, sh);
    CHECK(st == FM_OK && nd == 3 && sh[0] == 2 && sh[1] == 12 && sh[2] == 7,
          "shape (2, 12, 7)");
    CHECK(g->saved_numel(&l, 1, &x) == 2 * 2 * 4, "saved numel");
    fm_tensor two[2] = {x, x};
    st = g->shape(&l, 2, two, &nd, sh);
    CHECK(st == FM_EVALUE, "two inputs: status %d", st);
    printf("  error message: %s\n", fm_last_error());

    /* forward with the wrong channels returns the error too */
    int64_t xs3[3] = {2, 8, 3};
    fm_tensor xt, out, p[2];
    fm_tensor_alloc(&xt, FM_FLOAT64, 3, xs3);
    fm_tensor_alloc(&out, FM_FLOAT64, 3, xs3);
    int64_t ps[1] = {12};
    fm_tensor_alloc(&p[0], FM_FLOAT64, 1, ps);
    fm_tensor_alloc(&p[1], FM_FLOAT64, 1, ps);
    fm_layer_call c = {0};
    c.layer = &l;
    c.params = p;
    c.nin = 1;
    c.in = &xt;
    c.out = &out;
    CHECK(g->forward(&c) == FM_ESHAPE, "forward with 8 channels, layer 12");
    CHECK(g->jvp(&c) == FM_ESHAPE, "jvp with 8 channels, layer 12");
    l.groups = 8;
    CHECK(g->forward(&c) == FM_EVALUE, "forward with 8 groups of 12");
    l.groups = 4;
    l.in = 8;  /* params of 12: a size error */
    CHECK(g->forward(&c) == FM_ESHAPE, "gamma of 12 for 8 channels");
    printf("  error message: %s\n", fm_last_error());
    c.nin = 2;
    CHECK(g->forward(&c) == FM_EVALUE, "forward with nin 2");
    fm_tensor_free(&xt);
    fm_tensor_free(&out);
    fm_tensor_free(&p[0]);
    fm_tensor_free(&p[1]);

    /* layer norm */
    fm_layer m = {0};
    m.kind = FM_LAYER_LAYER_NORM;
    m.dtype = FM_FLOAT32;
    m.in = 5;
    m.eps = 1e-5;
    m.ninputs = 1;
    CHECK(ln->check(&m) == FM_OK, "valid layer norm rejected: %s", fm_last_error());
    m.act = FM_ACT_SILU;
    CHECK(ln->check(&m) == FM_EVALUE, "layer norm with an activation accepted");
    m.act = FM_ACT_NONE;
    int64_t ls[2] = {4, 6};
    fm_tensor_init(&x, NULL, FM_FLOAT32, 2, ls);
    st = ln->shape(&m, 1, &x, &nd, sh);
    CHECK(st == FM_ESHAPE && strstr(fm_last_error(), "(4, 6)"),
          "layer norm last dim: %s", fm_last_error());
    printf("  error message: %s\n", fm_last_error());
    int64_t ls2[3] = {2, 3, 5};
    fm_tensor_init(&x, NULL, FM_FLOAT32, 3, ls2);
    st = ln->shape(&m, 1, &x, &nd, sh);
    CHECK(st == FM_OK && nd == 3 && sh[2] == 5, "layer norm shape");
    CHECK(ln->saved_numel(&m, 1, &x) == 12, "layer norm saved numel");
    CHECK(ln->nparams(&m) == 2, "layer norm nparams");
    CHECK(ln->shape(&m, 2, two, &nd, sh) == FM_EVALUE, "layer norm nin 2");
}

static void run_case(fm_layer_kind kind, int64_t C, int64_t G, fm_act act,
                     int nd, const int64_t *shape, fm_rng *rng)
{
    char what[96];
    int k = snprintf(what, sizeof what, "%s%s (", kind == FM_LAYER_GROUP_NORM
                     ? "gn" : "ln", act == FM_ACT_SILU ? "+silu" : "");
    for (int d = 0; d < nd; d++)
        k += snprintf(what + k, sizeof what - k, "%s%lld", d ? ", " : "",
                      (long long)shape[d]);
    if (kind == FM_LAYER_GROUP_NORM)
        snprintf(what + k, sizeof what - k, ") G=%lld", (long long)G);
    else
        snprintf(what + k, sizeof what - k, ")");
    tcase tc;
    tcase_make(&tc, kind, FM_FLOAT64, C, G, act, nd, shape, rng);
    test_forward_ref(&tc, what);
    test_gradcheck(&tc, what, rng);
    test_jvp(&tc, what, rng);
    tcase_free(&tc);
    tcase_make(&tc, kind, FM_FLOAT32, C, G, act, nd, shape, rng);
    test_forward_ref(&tc, what);
    tcase_free(&tc);
    test_f32(kind, C, G, act, nd, shape, what);
}

int main(void)
{
    fm_rng rng;
    fm_rng_seed(&rng, 1234);
    static const struct { int nd; int64_t shape[5]; int64_t G; } gn[] = {
        {4, {2, 6, 3, 5}, 3},   /* odd spatial */
        {3, {1, 4, 7}, 2},      /* batch 1, (N, C, L) */
        {2, {3, 8}, 4},         /* (N, C): S = 1 */
        {2, {3, 24}, 2},        /* S = 1, groups of 12 channels */
        {4, {2, 6, 3, 5}, 6},   /* G = C */
        {4, {2, 6, 3, 5}, 1},   /* G = 1 */
        {4, {2, 4, 4, 6}, 2},   /* even spatial */
        {5, {3, 4, 2, 3, 2}, 2},/* three trailing dims, odd batch */
        {4, {1, 2, 27, 20}, 1}, /* a group of 1080: a block of 1024, 32 + 24 */
        {2, {3, 80}, 2},        /* S = 1, 40 channels: lanes and a tail */
        {2, {2, 5}, 5},         /* G = C with S = 1: groups of one element */
    };
    for (int a = 0; a < 2; a++) {
        fm_act act = a ? FM_ACT_SILU : FM_ACT_NONE;
        for (size_t i = 0; i < sizeof gn / sizeof gn[0]; i++)
            run_case(FM_LAYER_GROUP_NORM, gn[i].shape[1], gn[i].G, act,
                     gn[i].nd, gn[i].shape, &rng);
    }
    static const struct { int nd; int64_t shape[3]; } ln[] = {
        {2, {4, 5}}, {3, {2, 3, 6}}, {2, {3, 19}}, {1, {7}}, {2, {2, 77}},
    };
    for (size_t i = 0; i < sizeof ln / sizeof ln[0]; i++)
        run_case(FM_LAYER_LAYER_NORM, ln[i].shape[ln[i].nd - 1], 1, FM_ACT_NONE,
                 ln[i].nd, ln[i].shape, &rng);
    test_threads(&rng);
    test_offset();
    test_errors();
    if (failures)
        printf("%d failures\n", failures);
    else
        printf("all passed\n");
    return failures != 0;
}
