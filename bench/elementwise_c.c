/* elementwise_c.c — ns/element of float32 elementwise ops on 1M elements,
 * allocating a fresh output per op (as the Lua bindings do), and of the chain
 * y = sqrt(exp(x * 2 + 1) - x). Compare with NumPy:
 *   /usr/bin/python3 bench/elementwise_numpy.py
 * Build: cc -O3 -Iengine bench/elementwise_c.c build/libfm_engine.a \
 *        $(pkg-config --libs openblas) -lm -o /tmp/bench_ew */
#include "ops/ops.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#define N (1 << 20)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static fm_tensor fresh(void)
{
    fm_tensor t;
    int64_t n = N;
    fm_tensor_alloc(&t, FM_FLOAT32, 1, &n);
    return t;
}

typedef void (*step)(const fm_tensor *x, fm_tensor *y);
static void s_add(const fm_tensor *x, fm_tensor *y) { fm_binary(FM_ADD, x, x, y); }
static void s_mul_s(const fm_tensor *x, fm_tensor *y) { fm_binary_scalar(FM_MUL, x, 2.0, false, y); }
static void s_exp(const fm_tensor *x, fm_tensor *y) { fm_unary(FM_EXP, x, y); }
static void s_log(const fm_tensor *x, fm_tensor *y) { fm_unary(FM_LOG, x, y); }
static void s_tanh(const fm_tensor *x, fm_tensor *y) { fm_unary(FM_TANH, x, y); }
static void s_sigmoid(const fm_tensor *x, fm_tensor *y) { fm_unary(FM_SIGMOID, x, y); }
static void s_sin(const fm_tensor *x, fm_tensor *y) { fm_unary(FM_SIN, x, y); }
static void s_sqrt(const fm_tensor *x, fm_tensor *y) { fm_unary(FM_SQRT, x, y); }

static double best_of(step f, const fm_tensor *x, int reps)
{
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        fm_tensor y = fresh();
        f(x, &y);
        fm_tensor_free(&y);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

static void chain(const fm_tensor *x)
{
    fm_tensor a = fresh(), b = fresh(), c = fresh(), d = fresh(), e = fresh();
    fm_binary_scalar(FM_MUL, x, 2.0, false, &a);
    fm_binary_scalar(FM_ADD, &a, 1.0, false, &b);
    fm_unary(FM_EXP, &b, &c);
    fm_binary(FM_SUB, &c, x, &d);
    fm_unary(FM_SQRT, &d, &e);
    fm_tensor_free(&a);
    fm_tensor_free(&b);
    fm_tensor_free(&c);
    fm_tensor_free(&d);
    fm_tensor_free(&e);
}

int main(int argc, char **argv)
{
    /* --keep-heap: stop glibc returning freed 4 MB blocks to the kernel, so a
     * fresh output does not page-fault (what NumPy's temporaries avoid) */
    if (argc > 1 && strcmp(argv[1], "--keep-heap") == 0) {
        mallopt(M_MMAP_THRESHOLD, 256 << 20);
        mallopt(M_TRIM_THRESHOLD, 512 << 20);
    }
    fm_tensor x = fresh();
    for (int64_t i = 0; i < N; i++)
        ((float *)x.data)[i] = (float)(i % 1000) / 1000.0f;
    struct { const char *name; step f; } cases[] = {
        {"x+x", s_add}, {"x*2", s_mul_s}, {"exp", s_exp}, {"log", s_log},
        {"tanh", s_tanh}, {"sigmoid", s_sigmoid}, {"sin", s_sin}, {"sqrt", s_sqrt}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        printf("%-8s %6.3f ns/element\n", cases[i].name,
               1e9 * best_of(cases[i].f, &x, 30) / N);
    double best = 1e9;
    for (int r = 0; r < 30; r++) {
        double t0 = now();
        chain(&x);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    printf("chain    %6.3f ns/element (sqrt(exp(x*2+1)-x), 5 ops)\n", 1e9 * best / N);

    /* training shapes: (n, d) op (d,), (n, d) op (n, 1), bias gradient */
    fm_tensor m, row, col, y, rs;
    int64_t md[2] = {4096, 256}, rd[1] = {256}, cd[2] = {4096, 1};
    fm_tensor_init(&m, x.data, FM_FLOAT32, 2, md);
    fm_tensor_alloc(&row, FM_FLOAT32, 1, rd);
    fm_tensor_alloc(&col, FM_FLOAT32, 2, cd);
    fm_tensor_alloc(&rs, FM_FLOAT32, 1, rd);
    fm_fill(&row, 0.5);
    fm_fill(&col, 0.25);
    double tb[4] = {1e9, 1e9, 1e9, 1e9};
    for (int r = 0; r < 30; r++) {
        double t0 = now();
        fm_tensor_alloc(&y, FM_FLOAT32, 2, md);
        fm_binary(FM_ADD, &m, &row, &y);
        double t1 = now();
        fm_binary(FM_MUL, &m, &col, &y);
        double t2 = now();
        fm_reduce(FM_SUM, &m, 0, 0, &rs);
        double t3 = now();
        fm_sum_to(&m, &rs);
        double t4 = now();
        fm_tensor_free(&y);
        double d[4] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
        for (int k = 0; k < 4; k++)
            tb[k] = d[k] < tb[k] ? d[k] : tb[k];
    }
    const char *names[4] = {"(n,d)+(d,)", "(n,d)*(n,1)", "sum rows", "sum_to (d,)"};
    for (int k = 0; k < 4; k++)
        printf("%-12s %6.3f ns/element (n=4096, d=256)\n", names[k], 1e9 * tb[k] / N);
    fm_tensor_free(&row);
    fm_tensor_free(&col);
    fm_tensor_free(&rs);
    fm_tensor_free(&x);
    return 0;
}
