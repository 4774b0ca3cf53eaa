/* mlp_c.c — C micro-benchmark of the fused MLP (engine/mlp.h, optim.h).
 *
 * The fm_train.py workload in C: 8 gaussians (radius 4, std 0.5), x0 ~ N(0,I),
 * t ~ U(0,1), xt = (1-t) x0 + t x1, MLP [xt, t] 3 -> W -> W -> W -> 2 SiLU,
 * loss mean_i |v - (x1 - x0)|^2, Adam lr 1e-3; one step = sample + forward +
 * backward + Adam. Also Euler sampling (100 steps) point-steps/s and
 * cblas_sgemm GFLOP/s for the GEMM-bound limit. Prints `name value unit`.
 *
 * Usage: mlp_c [threads (0 = OpenBLAS default)] [seconds per repeat]
 */
#include "nn/mlp.h"
#include "nn/optim.h"
#include "core/rng.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median3(double *r, int n)
{
    qsort(r, n, sizeof *r, cmp);
    return r[n / 2];
}

static double secs = 0.5;
#define REPEATS 3

static double sgemm_gflops(int M, int N, int K, bool ta)
{
    float *A = calloc((size_t)M * K, 4), *B = calloc((size_t)K * N, 4),
          *C = calloc((size_t)M * N, 4);
    double r[REPEATS];
    for (int rep = 0; rep < REPEATS; rep++) {
        long it = 0;
        double t0 = now(), t;
        do {
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                        CblasNoTrans, M, N, K, 1.0f, A, ta ? M : K, B, N, 0.0f,
                        C, N);
            it++;
        } while ((t = now() - t0) < secs / 2);
        r[rep] = 2.0 * M * N * K * it / t / 1e9;
    }
    free(A); free(B); free(C);
    return median3(r, REPEATS);
}

typedef struct {
    fm_mlp m;
    fm_tensor p[8], g[8], s1[8], s2[8];
} model;

static void model_make(model *md, int64_t width, fm_rng *rng)
{
    int64_t sizes[] = {3, width, width, width, 2};
    fm_mlp_init(&md->m, 5, sizes, FM_ACT_SILU, FM_FLOAT32);
    for (int i = 0; i < 8; i++) {
        int nd;
        int64_t sh[2];
        fm_mlp_param_shape(&md->m, i, &nd, sh);
        fm_tensor_alloc(&md->p[i], FM_FLOAT32, nd, sh);
        fm_tensor_alloc(&md->g[i], FM_FLOAT32, nd, sh);
        fm_tensor_alloc(&md->s1[i], FM_FLOAT32, nd, sh);
        fm_tensor_alloc(&md->s2[i], FM_FLOAT32, nd, sh);
        double a = 1 / sqrt((double)sizes[i / 2]);  /* torch Linear init */
        fm_rng_uniform(rng, &md->p[i], -a, a);
        memset(md->s1[i].data, 0, fm_tensor_nbytes(&md->s1[i]));
        memset(md->s2[i].data, 0, fm_tensor_nbytes(&md->s2[i]));
    }
}

static void model_free(model *md)
{
    for (int i = 0; i < 8; i++) {
        fm_tensor_free(&md->p[i]); fm_tensor_free(&md->g[i]);
        fm_tensor_free(&md->s1[i]); fm_tensor_free(&md->s2[i]);
    }
}

typedef struct {
    int64_t B;
    fm_tensor x0, eps, t, idx, in, out, target, gout;
} batch;

static fm_tensor mk(fm_dtype dt, int nd, int64_t a, int64_t b)
{
    fm_tensor t;
    int64_t sh[2] = {a, b};
    fm_tensor_alloc(&t, dt, nd, sh);
    return t;
}

static void batch_make(batch *b, int64_t B)
{
    b->B = B;
    b->x0 = mk(FM_FLOAT32, 2, B, 2); b->eps = mk(FM_FLOAT32, 2, B, 2);
    b->t = mk(FM_FLOAT32, 1, B, 0); b->idx = mk(FM_INT64, 1, B, 0);
    b->in = mk(FM_FLOAT32, 2, B, 3); b->out = mk(FM_FLOAT32, 2, B, 2);
    b->target = mk(FM_FLOAT32, 2, B, 2); b->gout = mk(FM_FLOAT32, 2, B, 2);
}

static void batch_free(batch *b)
{
    fm_tensor *ts[] = {&b->x0, &b->eps, &b->t, &b->idx, &b->in, &b->out,
                       &b->target, &b->gout};
    for (int i = 0; i < 8; i++) fm_tensor_free(ts[i]);
}

static float cx[8], cy[8];

/* One training step; returns the loss. */
static double train_step(model *md, batch *b, fm_mlp_work *w, fm_rng *rng,
                         int64_t step)
{
    int64_t B = b->B;
    fm_rng_normal(rng, &b->x0, 0, 1);
    fm_rng_normal(rng, &b->eps, 0, 0.5);
    fm_rng_uniform(rng, &b->t, 0, 1);
    fm_rng_randint(rng, &b->idx, 0, 7);
    const float *x0 = b->x0.data, *e = b->eps.data, *t = b->t.data;
    const int64_t *id = b->idx.data;
    float *in = b->in.data, *tg = b->target.data;
    for (int64_t i = 0; i < B; i++) {
        float x1a = cx[id[i]] + e[2 * i], x1b = cy[id[i]] + e[2 * i + 1];
        in[3 * i] = (1 - t[i]) * x0[2 * i] + t[i] * x1a;
        in[3 * i + 1] = (1 - t[i]) * x0[2 * i + 1] + t[i] * x1b;
        in[3 * i + 2] = t[i];
        tg[2 * i] = x1a - x0[2 * i];
        tg[2 * i + 1] = x1b - x0[2 * i + 1];
    }
    fm_mlp_forward(&md->m, md->p, &b->in, &b->out, w, true);
    const float *v = b->out.data;
    float *go = b->gout.data;
    double loss = 0;
    for (int64_t k = 0; k < 2 * B; k++) {
        float r = v[k] - tg[k];
        loss += (double)r * r;
        go[k] = 2.0f / (float)B * r;
    }
    fm_mlp_backward(&md->m, md->p, w, &b->gout, md->g, false, NULL);
    fm_adam_opts o = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    for (int i = 0; i < 8; i++)
        fm_optim_adam(&md->p[i], &md->g[i], &md->s1[i], &md->s2[i], &o, step);
    return loss / B;
}

static void bench_train(int64_t width, int64_t B, double gflops)
{
    fm_rng rng;
    fm_rng_seed(&rng, 0);
    model md;
    model_make(&md, width, &rng);
    batch b;
    batch_make(&b, B);
    fm_mlp_work w;
    fm_mlp_work_init(&w);
    int64_t step = 1;
    double loss0 = 0, loss = 0;
    for (int i = 0; i < 20; i++) loss0 = train_step(&md, &b, &w, &rng, step++);
    double r[REPEATS];
    for (int rep = 0; rep < REPEATS; rep++) {
        long it = 0;
        double t0 = now(), t;
        do {
            loss = train_step(&md, &b, &w, &rng, step++);
            it++;
        } while ((t = now() - t0) < secs);
        r[rep] = it / t;
    }
    double med = median3(r, REPEATS);
    double flop = 6.0 * B * fm_mlp_numel(&md.m);
    double limit = gflops * 1e9 / flop;
    printf("# loss after warmup %.4f, final %.4f (%lld steps)\n", loss0, loss,
           (long long)step);
    printf("c_train_w%lld_b%lld_steps_per_s %.1f steps/s\n", (long long)width,
           (long long)B, med);
    printf("c_train_w%lld_b%lld_us_per_step %.1f us\n", (long long)width,
           (long long)B, 1e6 / med);
    printf("c_train_w%lld_b%lld_frac_of_gemm_limit %.3f ratio  # limit %.0f "
           "steps/s at %.1f GFLOP/s\n", (long long)width, (long long)B,
           med / limit, limit, gflops);
    fm_mlp_work_free(&w);
    batch_free(&b);
    model_free(&md);
}

static void bench_euler(int64_t width, int64_t N, int64_t block, double gflops)
{
    fm_rng rng;
    fm_rng_seed(&rng, 1);
    model md;
    model_make(&md, width, &rng);
    fm_tensor x = mk(FM_FLOAT32, 2, N, 2), x0 = mk(FM_FLOAT32, 2, N, 2);
    fm_rng_normal(&rng, &x0, 0, 1);
    fm_mlp_work w;
    fm_mlp_work_init(&w);
    fm_mlp_euler_block = block;
    const int S = 100;
    double r[REPEATS];
    memcpy(x.data, x0.data, fm_tensor_nbytes(&x));
    fm_mlp_euler(&md.m, md.p, &x, 0, 1, S, &w);  /* warm-up */
    for (int rep = 0; rep < REPEATS; rep++) {
        memcpy(x.data, x0.data, fm_tensor_nbytes(&x));
        double t0 = now();
        fm_mlp_euler(&md.m, md.p, &x, 0, 1, S, &w);
        r[rep] = (double)N * S / (now() - t0);
    }
    double med = median3(r, REPEATS);
    double limit = gflops * 1e9 / (2.0 * fm_mlp_numel(&md.m));
    printf("c_euler_w%lld_n%lld_block%lld_point_steps_per_s %.4g point-steps/s"
           "  # frac_of_gemm_limit %.3f (limit %.3g)\n", (long long)width,
           (long long)N, (long long)block, med, med / limit, limit);
    fm_mlp_euler_block = 0;
    fm_mlp_work_free(&w);
    fm_tensor_free(&x);
    fm_tensor_free(&x0);
    model_free(&md);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    if (argc > 2) secs = atof(argv[2]);
    const char *only = argc > 3 ? argv[3] : "all";
    if (threads > 0) openblas_set_num_threads(threads);
    printf("# openblas threads %d, OPENBLAS_CORETYPE=%s\n",
           openblas_get_num_threads(),
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)");
    for (int k = 0; k < 8; k++) {
        cx[k] = (float)(4 * cos(k * 2 * M_PI / 8));
        cy[k] = (float)(4 * sin(k * 2 * M_PI / 8));
    }
    double g4096 = sgemm_gflops(4096, 256, 256, false);
    printf("sgemm_4096x256x256_gflops %.1f GFLOP/s\n", g4096);
    if (!strcmp(only, "all") || !strcmp(only, "gemm")) {
        printf("sgemm_256x256x256_gflops %.1f GFLOP/s\n", sgemm_gflops(256, 256, 256, false));
        printf("sgemm_256x256x256_tn_gflops %.1f GFLOP/s\n", sgemm_gflops(256, 256, 256, true));
        printf("sgemm_256x64x64_gflops %.1f GFLOP/s\n", sgemm_gflops(256, 64, 64, false));
        printf("sgemm_512x256x256_gflops %.1f GFLOP/s\n", sgemm_gflops(512, 256, 256, false));
    }
    if (!strcmp(only, "all") || !strcmp(only, "train")) {
        bench_train(64, 256, g4096);
        bench_train(256, 256, g4096);
        bench_train(256, 1024, g4096);
        bench_train(256, 4096, g4096);
    }
    if (!strcmp(only, "all") || !strcmp(only, "euler")) {
        int64_t blocks[] = {128, 256, 512, 1024, 2048};
        for (int i = 0; i < 5; i++) bench_euler(256, 10000, blocks[i], g4096);
        bench_euler(256, 100000, 0, g4096);
    }
    return 0;
}
