/* test_mlp.c — fused MLP against a naive double reference, central finite
 * differences in float64, and step-by-step Euler. */
#include "nn/mlp.h"
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
    switch (a) {
    case FM_ACT_NONE: return v;
    case FM_ACT_SILU: return v / (1 + exp(-v));
    case FM_ACT_RELU: return v > 0 ? v : 0;
    case FM_ACT_TANH: return tanh(v);
    case FM_ACT_GELU:
        return 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    case FM_ACT_SIGMOID: return 1 / (1 + exp(-v));
    case FM_ACT_COUNT: break;
    }
    return NAN;
}

/* Naive reference: y (B, out) from double parameter arrays. */
static void ref_forward(const fm_mlp *m, double **P, int64_t B, const double *x,
                        double *y)
{
    int64_t maxw = 0;
    for (int l = 0; l <= m->nlayers; l++)
        if (m->sizes[l] > maxw) maxw = m->sizes[l];
    double *a = malloc(sizeof(double) * maxw), *b = malloc(sizeof(double) * maxw);
    for (int64_t i = 0; i < B; i++) {
        memcpy(a, x + i * m->sizes[0], sizeof(double) * m->sizes[0]);
        for (int l = 0; l < m->nlayers; l++) {
            int64_t K = m->sizes[l], N = m->sizes[l + 1];
            for (int64_t j = 0; j < N; j++) {
                double s = P[2 * l + 1][j];
                for (int64_t k = 0; k < K; k++) s += a[k] * P[2 * l][k * N + j];
                b[j] = l == m->nlayers - 1 ? s : act_ref(m->act, s);
            }
            memcpy(a, b, sizeof(double) * N);
        }
        memcpy(y + i * m->sizes[m->nlayers], a, sizeof(double) * m->sizes[m->nlayers]);
    }
    free(a);
    free(b);
}

typedef struct {
    fm_mlp m;
    fm_tensor p[2 * FM_MLP_MAX_LAYERS], g[2 * FM_MLP_MAX_LAYERS];
    double *pd[2 * FM_MLP_MAX_LAYERS];  /* double copies for the reference */
} net;

static void net_make(net *n, int ns, const int64_t *sizes, fm_act act,
                     fm_dtype dt, fm_rng *rng)
{
    fm_mlp_init(&n->m, ns, sizes, act, dt);
    for (int i = 0; i < fm_mlp_nparams(&n->m); i++) {
        int nd;
        int64_t sh[2];
        fm_mlp_param_shape(&n->m, i, &nd, sh);
        fm_tensor_alloc(&n->p[i], dt, nd, sh);
        fm_tensor_alloc(&n->g[i], dt, nd, sh);
        int64_t ne = fm_tensor_numel(&n->p[i]);
        n->pd[i] = malloc(sizeof(double) * ne);
        for (int64_t e = 0; e < ne; e++) {
            double v = (fm_rng_uniform01(rng) * 2 - 1) * 0.9;
            fm_tensor_set(&n->p[i], e, v);
            n->pd[i][e] = fm_tensor_get(&n->p[i], e);  /* rounded value */
        }
    }
}

static void net_free(net *n)
{
    for (int i = 0; i < fm_mlp_nparams(&n->m); i++) {
        fm_tensor_free(&n->p[i]);
        fm_tensor_free(&n->g[i]);
        free(n->pd[i]);
    }
}

static fm_tensor mat(fm_dtype dt, int64_t r, int64_t c)
{
    fm_tensor t;
    int64_t sh[2] = {r, c};
    fm_tensor_alloc(&t, dt, 2, sh);
    return t;
}

static void fill(fm_tensor *t, fm_rng *rng, double scale, double *copy)
{
    for (int64_t e = 0; e < fm_tensor_numel(t); e++) {
        fm_tensor_set(t, e, fm_rng_normal01(rng) * scale);
        if (copy) copy[e] = fm_tensor_get(t, e);
    }
}

/* Forward vs reference. float32 tolerance: |err| <= 2e-5 (1 + |y|): inputs
 * and weights are exactly the reference's, layers have K <= 9 terms of size
 * <= 3, so rounding is ~K * 6e-8 per layer, the polynomial exp ~1 ulp and
 * tanh via 2 s(2v) - 1 loses ~1e-7 absolute; 3 layers amplify by <= ~10. */
static void test_forward(int ns, const int64_t *sizes, fm_act act, fm_dtype dt,
                         fm_rng *rng)
{
    net n;
    net_make(&n, ns, sizes, act, dt, rng);
    int64_t B = 11, in = sizes[0], out = sizes[ns - 1];
    fm_tensor x = mat(dt, B, in), y = mat(dt, B, out);
    double *xd = malloc(sizeof(double) * B * in), *yd = malloc(sizeof(double) * B * out);
    fill(&x, rng, 1.5, xd);
    fm_mlp_work w;
    fm_mlp_work_init(&w);
    for (int keep = 0; keep < 2; keep++) {
        fm_status st = fm_mlp_forward(&n.m, n.p, &x, &y, &w, keep);
        CHECK(st == FM_OK, "forward: %s", fm_last_error());
        ref_forward(&n.m, n.pd, B, xd, yd);
        double tol = dt == FM_FLOAT32 ? 2e-5 : 1e-12, worst = 0;
        for (int64_t e = 0; e < B * out; e++) {
            double err = fabs(fm_tensor_get(&y, e) - yd[e]) / (1 + fabs(yd[e]));
            if (err > worst) worst = err;
        }
        CHECK(worst <= tol, "forward %s %s keep=%d: err %g > %g",
              fm_act_name(act), fm_dtype_name(dt), keep, worst, tol);
    }
    fm_mlp_work_free(&w);
    fm_tensor_free(&x);
    fm_tensor_free(&y);
    free(xd);
    free(yd);
    net_free(&n);
}

/* L = sum(G * mlp(x)); gradients by central differences in float64 with
 * h = 1e-5: truncation ~h^2 |f'''| ~1e-10, rounding ~1e-16 / h ~1e-11, so
 * 1e-6 (1 + |g|) leaves a wide margin (relu: a kink within h of a random
 * pre-activation has probability ~1e-5 per unit). */
static double loss_d(net *n, const fm_tensor *x, const fm_tensor *G,
                     fm_tensor *y, fm_mlp_work *w)
{
    fm_mlp_forward(&n->m, n->p, x, y, w, false);
    double s = 0;
    for (int64_t e = 0; e < fm_tensor_numel(y); e++)
        s += fm_tensor_get(G, e) * fm_tensor_get(y, e);
    return s;
}

static void test_gradcheck(int ns, const int64_t *sizes, fm_act act, fm_rng *rng)
{
    net n;
    net_make(&n, ns, sizes, act, FM_FLOAT64, rng);
    int64_t B = 5, in = sizes[0], out = sizes[ns - 1];
    fm_tensor x = mat(FM_FLOAT64, B, in), y = mat(FM_FLOAT64, B, out),
              G = mat(FM_FLOAT64, B, out), gx = mat(FM_FLOAT64, B, in);
    fill(&x, rng, 1.0, NULL);
    fill(&G, rng, 1.0, NULL);
    fm_mlp_work w;
    fm_mlp_work_init(&w);
    fm_mlp_forward(&n.m, n.p, &x, &y, &w, true);
    fm_status st = fm_mlp_backward(&n.m, n.p, &w, &G, n.g, false, &gx);
    CHECK(st == FM_OK, "backward: %s", fm_last_error());
    const double h = 1e-5;
    double worst = 0;
    for (int i = 0; i <= fm_mlp_nparams(&n.m); i++) {
        fm_tensor *t = i < fm_mlp_nparams(&n.m) ? &n.p[i] : &x;
        fm_tensor *g = i < fm_mlp_nparams(&n.m) ? &n.g[i] : &gx;
        for (int64_t e = 0; e < fm_tensor_numel(t); e++) {
            double v = fm_tensor_get(t, e);
            fm_tensor_set(t, e, v + h);
            double lp = loss_d(&n, &x, &G, &y, &w);
            fm_tensor_set(t, e, v - h);
            double lm = loss_d(&n, &x, &G, &y, &w);
            fm_tensor_set(t, e, v);
            double fd = (lp - lm) / (2 * h), an = fm_tensor_get(g, e);
            double err = fabs(fd - an) / (1 + fabs(fd));
            if (err > worst) worst = err;
        }
    }
    CHECK(worst <= 1e-6, "gradcheck %s: err %g", fm_act_name(act), worst);
    /* accumulate adds: a second backward with accumulate doubles grads */
    fm_mlp_forward(&n.m, n.p, &x, &y, &w, true);
    double g0 = fm_tensor_get(&n.g[0], 1), gb = fm_tensor_get(&n.g[1], 0);
    fm_mlp_backward(&n.m, n.p, &w, &G, n.g, true, NULL);
    CHECK(fabs(fm_tensor_get(&n.g[0], 1) - 2 * g0) <= 1e-12 * (1 + fabs(g0)) &&
          fabs(fm_tensor_get(&n.g[1], 0) - 2 * gb) <= 1e-12 * (1 + fabs(gb)),
          "accumulate did not add");
    fm_mlp_work_free(&w);
    fm_tensor_free(&x);
    fm_tensor_free(&y);
    fm_tensor_free(&G);
    fm_tensor_free(&gx);
    net_free(&n);
}

/* float32 backward vs float64 backward on the same (rounded) values:
 * 1e-4 (1 + |g|) covers float32 sums over B = 37 rows and the fast exp. */
static void test_backward_f32(int ns, const int64_t *sizes, fm_act act, fm_rng *rng)
{
    net a, b;
    fm_rng r2 = *rng;
    net_make(&a, ns, sizes, act, FM_FLOAT32, rng);
    net_make(&b, ns, sizes, act, FM_FLOAT64, &r2);
    int64_t B = 37, in = sizes[0], out = sizes[ns - 1];
    fm_tensor xa = mat(FM_FLOAT32, B, in), xb = mat(FM_FLOAT64, B, in),
              ya = mat(FM_FLOAT32, B, out), yb = mat(FM_FLOAT64, B, out),
              Ga = mat(FM_FLOAT32, B, out), Gb = mat(FM_FLOAT64, B, out),
              gxa = mat(FM_FLOAT32, B, in), gxb = mat(FM_FLOAT64, B, in);
    fill(&xa, rng, 1.0, NULL);
    fill(&Ga, rng, 1.0, NULL);
    for (int64_t e = 0; e < B * in; e++) fm_tensor_set(&xb, e, fm_tensor_get(&xa, e));
    for (int64_t e = 0; e < B * out; e++) fm_tensor_set(&Gb, e, fm_tensor_get(&Ga, e));
    fm_mlp_work wa, wb;
    fm_mlp_work_init(&wa);
    fm_mlp_work_init(&wb);
    fm_mlp_forward(&a.m, a.p, &xa, &ya, &wa, true);
    fm_mlp_forward(&b.m, b.p, &xb, &yb, &wb, true);
    fm_mlp_backward(&a.m, a.p, &wa, &Ga, a.g, false, &gxa);
    fm_mlp_backward(&b.m, b.p, &wb, &Gb, b.g, false, &gxb);
    double worst = 0;
    for (int i = 0; i <= fm_mlp_nparams(&a.m); i++) {
        fm_tensor *ga = i < fm_mlp_nparams(&a.m) ? &a.g[i] : &gxa;
        fm_tensor *gb = i < fm_mlp_nparams(&a.m) ? &b.g[i] : &gxb;
        for (int64_t e = 0; e < fm_tensor_numel(ga); e++) {
            double u = fm_tensor_get(ga, e), v = fm_tensor_get(gb, e);
            double err = fabs(u - v) / (1 + fabs(v));
            if (err > worst) worst = err;
        }
    }
    CHECK(worst <= 1e-4, "backward f32 %s: err %g", fm_act_name(act), worst);
    fm_mlp_work_free(&wa);
    fm_mlp_work_free(&wb);
    fm_tensor *ts[] = {&xa, &xb, &ya, &yb, &Ga, &Gb, &gxa, &gxb};
    for (int i = 0; i < 8; i++) fm_tensor_free(ts[i]);
    net_free(&a);
    net_free(&b);
}

/* Euler equals step-by-step field evaluations (same arithmetic, so 1e-6
 * only allows for a different blocking), and field_eval equals forward on
 * cat(x, t) (t folded into the bias: float32 rounding, 2e-5 (1 + |y|)). */
static void test_euler(fm_rng *rng)
{
    int64_t sizes[] = {3, 16, 16, 2};
    net n;
    net_make(&n, 4, sizes, FM_ACT_SILU, FM_FLOAT32, rng);
    int64_t N = 23;
    fm_tensor x = mat(FM_FLOAT32, N, 2), xs = mat(FM_FLOAT32, N, 2),
              v = mat(FM_FLOAT32, N, 2), xt = mat(FM_FLOAT32, N, 3),
              y = mat(FM_FLOAT32, N, 2);
    fill(&x, rng, 1.0, NULL);
    memcpy(xs.data, x.data, fm_tensor_nbytes(&x));
    fm_mlp_work w;
    fm_mlp_work_init(&w);
    /* field_eval vs forward on [x, t] */
    for (int64_t i = 0; i < N; i++) {
        for (int k = 0; k < 2; k++) fm_tensor_set(&xt, i * 3 + k, fm_tensor_get(&x, i * 2 + k));
        fm_tensor_set(&xt, i * 3 + 2, 0.3);
    }
    fm_mlp_forward(&n.m, n.p, &xt, &y, &w, false);
    fm_status st = fm_mlp_field_eval(&n.m, n.p, &x, 0.3, &v, &w);
    CHECK(st == FM_OK, "field_eval: %s", fm_last_error());
    double worst = 0;
    for (int64_t e = 0; e < N * 2; e++) {
        double a = fm_tensor_get(&v, e), b = fm_tensor_get(&y, e);
        if (fabs(a - b) / (1 + fabs(b)) > worst) worst = fabs(a - b) / (1 + fabs(b));
    }
    CHECK(worst <= 2e-5, "field_eval vs forward: %g", worst);
    /* step by step */
    int steps = 7;
    double t0 = 0.1, t1 = 0.9, h = (t1 - t0) / steps;
    for (int k = 0; k < steps; k++) {
        fm_mlp_field_eval(&n.m, n.p, &xs, t0 + k * h, &v, &w);
        for (int64_t e = 0; e < N * 2; e++)
            ((float *)xs.data)[e] += (float)h * ((float *)v.data)[e];
    }
    for (int blk = 0; blk <= 5; blk += 5) {  /* default, and 5 (remainder 3) */
        fm_tensor xe = mat(FM_FLOAT32, N, 2);
        memcpy(xe.data, x.data, fm_tensor_nbytes(&x));
        fm_mlp_euler_block = blk;
        st = fm_mlp_euler(&n.m, n.p, &xe, t0, t1, steps, &w);
        CHECK(st == FM_OK, "euler: %s", fm_last_error());
        worst = 0;
        for (int64_t e = 0; e < N * 2; e++) {
            double a = fm_tensor_get(&xe, e), b = fm_tensor_get(&xs, e);
            if (fabs(a - b) / (1 + fabs(b)) > worst) worst = fabs(a - b) / (1 + fabs(b));
        }
        CHECK(worst <= 1e-6, "euler block %d vs steps: %g", blk, worst);
        fm_tensor_free(&xe);
    }
    fm_mlp_euler_block = 0;
    /* errors */
    CHECK(fm_mlp_euler(&n.m, n.p, &xt, 0, 1, 3, &w) == FM_ESHAPE, "euler shape");
    CHECK(fm_mlp_forward(&n.m, n.p, &x, &y, &w, false) == FM_ESHAPE, "fwd shape");
    CHECK(fm_mlp_backward(&n.m, n.p, &w, &y, n.g, false, NULL) == FM_EVALUE,
          "backward without kept forward");
    fm_act a;
    CHECK(fm_act_parse("gelu", &a) == FM_OK && a == FM_ACT_GELU, "parse");
    CHECK(fm_act_parse("swish", &a) == FM_EVALUE, "parse bad");
    fm_mlp_work_free(&w);
    fm_tensor *ts[] = {&x, &xs, &v, &xt, &y};
    for (int i = 0; i < 5; i++) fm_tensor_free(ts[i]);
    net_free(&n);
}

static bool same_bytes(const fm_tensor *a, const fm_tensor *b)
{
    return memcmp(a->data, b->data, fm_tensor_nbytes(a)) == 0;
}

/* One training forward + backward (accumulating into grads preset to 0.5)
 * with OpenBLAS allowed `threads` threads; results in g[], gx, y. */
static void train_once(net *n, const fm_tensor *x, const fm_tensor *G,
                       fm_tensor *y, fm_tensor *gx, fm_tensor *g, int threads,
                       fm_mlp_work *w)
{
    openblas_set_num_threads(threads);
    for (int i = 0; i < fm_mlp_nparams(&n->m); i++)
        for (int64_t e = 0; e < fm_tensor_numel(&g[i]); e++)
            fm_tensor_set(&g[i], e, 0.5);
    fm_status st = fm_mlp_forward(&n->m, n->p, x, y, w, true);
    if (!st) st = fm_mlp_backward(&n->m, n->p, w, G, g, true, gx);
    CHECK(st == FM_OK, "train_once: %s", fm_last_error());
}

/* Threads (mlp.h): row blocks give bit-identical results with 1 and 2
 * threads (rows are independent and each block is computed the same way);
 * the training split in halves depends on B only, so 1 and 2 threads agree
 * bit for bit, and the split differs from the unsplit batch only by the
 * order of float sums (and GEMM kernels for other row counts): float64 1e-12 (1 + |g|), float32 1e-4 (1 + |g|) as
 * in test_backward_f32 (sums over B = 300 rows, terms of size <= ~10). */
static void test_threads(fm_rng *rng)
{
    int prev = openblas_get_num_threads();
    int64_t sizes[] = {3, 24, 20, 2};
    /* Euler, field_eval, inference forward: 1000 rows in blocks of 64 */
    net n;
    net_make(&n, 4, sizes, FM_ACT_SILU, FM_FLOAT32, rng);
    int64_t N = 1000;
    fm_tensor x = mat(FM_FLOAT32, N, 2), x3 = mat(FM_FLOAT32, N, 3),
              e[2], f[2], o[2];
    fill(&x, rng, 1.0, NULL);
    fill(&x3, rng, 1.0, NULL);
    fm_mlp_work w;
    fm_mlp_work_init(&w);
    fm_mlp_euler_block = 64;
    for (int k = 0; k < 2; k++) {
        openblas_set_num_threads(k + 1);
        e[k] = mat(FM_FLOAT32, N, 2);
        f[k] = mat(FM_FLOAT32, N, 2);
        o[k] = mat(FM_FLOAT32, N, 2);
        memcpy(e[k].data, x.data, fm_tensor_nbytes(&x));
        CHECK(fm_mlp_euler(&n.m, n.p, &e[k], 0, 1, 5, &w) == FM_OK,
              "euler threads %d: %s", k + 1, fm_last_error());
        CHECK(fm_mlp_field_eval(&n.m, n.p, &x, 0.3, &f[k], &w) == FM_OK,
              "field threads %d: %s", k + 1, fm_last_error());
        CHECK(fm_mlp_forward(&n.m, n.p, &x3, &o[k], &w, false) == FM_OK,
              "forward threads %d: %s", k + 1, fm_last_error());
    }
    fm_mlp_euler_block = 0;
    CHECK(same_bytes(&e[0], &e[1]), "euler: 1 and 2 threads differ");
    CHECK(same_bytes(&f[0], &f[1]), "field_eval: 1 and 2 threads differ");
    CHECK(same_bytes(&o[0], &o[1]), "forward: 1 and 2 threads differ");
    for (int k = 0; k < 2; k++) {
        fm_tensor_free(&e[k]);
        fm_tensor_free(&f[k]);
        fm_tensor_free(&o[k]);
    }
    fm_tensor_free(&x);
    fm_tensor_free(&x3);
    net_free(&n);
    /* training: B = 300 split in halves (150 + 150) vs unsplit */
    for (int dt = 0; dt < 2; dt++) {
        fm_rng r2 = *rng, r3 = *rng;
        net a, b, c;   /* same parameters: 2 threads, 1 thread, unsplit */
        net_make(&a, 4, sizes, FM_ACT_SILU, (fm_dtype)dt, rng);
        net_make(&b, 4, sizes, FM_ACT_SILU, (fm_dtype)dt, &r2);
        net_make(&c, 4, sizes, FM_ACT_SILU, (fm_dtype)dt, &r3);
        int64_t B = 300;
        fm_tensor xb = mat((fm_dtype)dt, B, 3), G = mat((fm_dtype)dt, B, 2),
                  y[3], gx[3];
        fill(&xb, rng, 1.0, NULL);
        fill(&G, rng, 1.0, NULL);
        net *nets[3] = {&a, &b, &c};
        for (int k = 0; k < 3; k++) {
            y[k] = mat((fm_dtype)dt, B, 2);
            gx[k] = mat((fm_dtype)dt, B, 3);
            fm_mlp_split_rows = k == 2 ? 100000 : 0;
            train_once(nets[k], &xb, &G, &y[k], &gx[k], nets[k]->g,
                       k == 0 ? 2 : 1, &w);
        }
        fm_mlp_split_rows = 0;
        bool same = same_bytes(&y[0], &y[1]) && same_bytes(&gx[0], &gx[1]);
        for (int i = 0; i < fm_mlp_nparams(&a.m); i++)
            same = same && same_bytes(&a.g[i], &b.g[i]);
        CHECK(same, "training split %s: 1 and 2 threads differ",
              fm_dtype_name((fm_dtype)dt));
        double worst = 0, tol = dt == FM_FLOAT32 ? 1e-4 : 1e-12;
        int np = fm_mlp_nparams(&a.m);
        for (int i = 0; i <= np + 1; i++) {  /* grads, grad_x, output */
            fm_tensor *ga = i < np ? &a.g[i] : i == np ? &gx[0] : &y[0];
            fm_tensor *gc = i < np ? &c.g[i] : i == np ? &gx[2] : &y[2];
            for (int64_t k = 0; k < fm_tensor_numel(ga); k++) {
                double u = fm_tensor_get(ga, k), v = fm_tensor_get(gc, k);
                if (fabs(u - v) / (1 + fabs(v)) > worst)
                    worst = fabs(u - v) / (1 + fabs(v));
            }
        }
        CHECK(worst <= tol, "training split %s vs unsplit: %g",
              fm_dtype_name((fm_dtype)dt), worst);
        for (int k = 0; k < 3; k++) {
            fm_tensor_free(&y[k]);
            fm_tensor_free(&gx[k]);
        }
        fm_tensor_free(&xb);
        fm_tensor_free(&G);
        net_free(&a);
        net_free(&b);
        net_free(&c);
    }
    fm_mlp_work_free(&w);
    openblas_set_num_threads(prev);
}

int main(void)
{
    fm_rng rng;
    fm_rng_seed(&rng, 42);
    /* K = 3 input (hand loop), hidden 7 and 5 (GEMM), output 2 (hand-loop
     * transpose in backward); and K = 6 (GEMM input), output 5 (GEMM). */
    int64_t s1[] = {3, 7, 5, 2}, s2[] = {6, 9, 5}, s3[] = {2, 3};
    for (int a = 0; a <= FM_ACT_SIGMOID; a++) {
        for (int dt = 0; dt < 2; dt++) {
            test_forward(4, s1, (fm_act)a, (fm_dtype)dt, &rng);
            test_forward(3, s2, (fm_act)a, (fm_dtype)dt, &rng);
        }
        test_forward(2, s3, (fm_act)a, FM_FLOAT32, &rng);
        test_gradcheck(4, s1, (fm_act)a, &rng);
        test_gradcheck(3, s2, (fm_act)a, &rng);
        test_gradcheck(2, s3, (fm_act)a, &rng);
        test_backward_f32(4, s1, (fm_act)a, &rng);
        test_backward_f32(3, s2, (fm_act)a, &rng);
    }
    test_euler(&rng);
    test_threads(&rng);
    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("test_mlp: all passed\n");
    return 0;
}
