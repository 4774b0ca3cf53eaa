/* test_uint8.c — the uint8 dtype: conversions both ways (float -> uint8
 * rounds to nearest with ties to even and clamps, NaN is an error; int64 ->
 * uint8 clamps), exact scalars (fill, arange), element access, the ops that
 * work on bytes (index_select, gather, cat, where, allclose) and the ones
 * that must refuse them with FM_ETYPE (never misread the bytes). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/fm.h"
#include "ops/ops.h"
#include "core/rng.h"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, " [%s]\n", fm_last_error()); } } while (0)

static void test_basics(void)
{
    CHECK(fm_dtype_size(FM_UINT8) == 1, "size");
    CHECK(strcmp(fm_dtype_name(FM_UINT8), "uint8") == 0, "name");
    CHECK(!fm_dtype_is_float(FM_UINT8), "not a float");
    size_t nbytes;
    int64_t shape[2] = {3, 5};
    CHECK(fm_shape_nbytes(FM_UINT8, 2, shape, &nbytes) == FM_OK && nbytes == 15, "nbytes");
    CHECK(fm_shape_nbytes((fm_dtype)FM_DTYPE_COUNT, 2, shape, &nbytes) == FM_ETYPE,
          "unknown dtype");
    fm_tensor t;
    fm_tensor_alloc(&t, FM_UINT8, 2, shape);
    for (int64_t i = 0; i < 15; i++)
        fm_tensor_set(&t, i, (double)(i * 20) - 30.4); /* clamps at both ends */
    CHECK(fm_tensor_get(&t, 0) == 0 && fm_tensor_get(&t, 2) == 10 &&
          fm_tensor_get(&t, 14) == 250 && ((uint8_t *)t.data)[14] == 250, "get/set");
    fm_tensor_set(&t, 0, NAN);
    fm_tensor_set(&t, 1, 1e9);
    CHECK(fm_tensor_get(&t, 0) == 0 && fm_tensor_get(&t, 1) == 255, "set NaN -> 0, big -> 255");
    fm_tensor_free(&t);
}

static void test_from_float(void)
{
    const double in[] = {-3, -0.4, 0.4, 0.5, 1.5, 2.5, 127.49, 254.5, 254.6, 255.4, 300,
                         INFINITY, -INFINITY};
    const uint8_t want[] = {0, 0, 0, 0, 2, 2, 127, 254, 255, 255, 255, 255, 0};
    int64_t n = (int64_t)(sizeof in / sizeof in[0]);
    fm_tensor f, d, u;
    fm_tensor_alloc(&f, FM_FLOAT32, 1, &n);
    fm_tensor_alloc(&d, FM_FLOAT64, 1, &n);
    fm_tensor_alloc(&u, FM_UINT8, 1, &n);
    for (int64_t i = 0; i < n; i++) {
        ((float *)f.data)[i] = (float)in[i];
        ((double *)d.data)[i] = in[i];
    }
    CHECK(fm_copy(&u, &d) == FM_OK && memcmp(u.data, want, (size_t)n) == 0, "float64 -> uint8");
    memset(u.data, 7, (size_t)n);
    CHECK(fm_copy(&u, &f) == FM_OK && memcmp(u.data, want, (size_t)n) == 0, "float32 -> uint8");
    /* back to float: exact */
    CHECK(fm_copy(&f, &u) == FM_OK && ((float *)f.data)[4] == 2 && ((float *)f.data)[8] == 255,
          "uint8 -> float32");
    ((double *)d.data)[3] = NAN;
    fm_status st = fm_copy(&u, &d);
    CHECK(st == FM_EVALUE && strstr(fm_last_error(), "NaN") && strstr(fm_last_error(), "uint8"),
          "NaN -> uint8 is an error");
    /* a strided source (every other element) */
    fm_tensor v = f;
    v.shape[0] = (n + 1) / 2;
    v.stride[0] = 2;
    fm_tensor w = u;
    w.shape[0] = v.shape[0];
    CHECK(fm_copy(&w, &v) == FM_OK && ((uint8_t *)u.data)[2] == want[4], "strided copy");
    fm_tensor_free(&f);
    fm_tensor_free(&d);
    fm_tensor_free(&u);
}

static void test_int64_and_scalars(void)
{
    int64_t n = 5;
    fm_tensor i, u;
    fm_tensor_alloc(&i, FM_INT64, 1, &n);
    fm_tensor_alloc(&u, FM_UINT8, 1, &n);
    const int64_t iv[] = {-1000, -1, 7, 255, (int64_t)1 << 40};
    memcpy(i.data, iv, sizeof iv);
    CHECK(fm_copy(&u, &i) == FM_OK && memcmp(u.data, (const uint8_t[]){0, 0, 7, 255, 255}, 5) == 0,
          "int64 -> uint8 clamps");
    CHECK(fm_copy(&i, &u) == FM_OK && ((int64_t *)i.data)[2] == 7, "uint8 -> int64");
    CHECK(fm_fill(&u, 9) == FM_OK && ((uint8_t *)u.data)[4] == 9, "fill");
    CHECK(fm_fill(&u, 256) == FM_EVALUE, "fill 256 refused");
    CHECK(fm_fill(&u, -1) == FM_EVALUE, "fill -1 refused");
    CHECK(fm_fill(&u, 2.5) == FM_EVALUE, "fill 2.5 refused");
    CHECK(fm_fill(&u, NAN) == FM_EVALUE, "fill NaN refused");
    CHECK(fm_arange(&u, 250, 1) == FM_OK && ((uint8_t *)u.data)[4] == 254, "arange");
    CHECK(fm_arange(&u, 252, 1) == FM_EVALUE, "arange past 255 refused");
    int64_t sq[2] = {2, 2};
    fm_tensor e;
    fm_tensor_alloc(&e, FM_UINT8, 2, sq);
    CHECK(fm_eye(&e) == FM_OK && memcmp(e.data, (const uint8_t[]){1, 0, 0, 1}, 4) == 0, "eye");
    fm_rng rng;
    fm_rng_seed(&rng, 7);
    CHECK(fm_rng_randint(&rng, &u, 250, 255) == FM_OK, "randint into uint8");
    for (int k = 0; k < 5; k++)
        CHECK(((uint8_t *)u.data)[k] >= 250, "randint range");
    CHECK(fm_rng_randint(&rng, &u, 0, 256) == FM_EVALUE, "randint past 255 refused");
    CHECK(fm_rng_normal(&rng, &u, 0, 1) == FM_ETYPE, "randn into uint8 refused");
    fm_tensor_free(&e);
    fm_tensor_free(&i);
    fm_tensor_free(&u);
}

/* Arithmetic, comparisons and reductions refuse uint8 instead of reading
 * its bytes as another type. */
static void test_refused(void)
{
    int64_t n = 4, one = 1;
    fm_tensor a, b, out, idx, red, arg;
    fm_tensor_alloc(&a, FM_UINT8, 1, &n);
    fm_tensor_alloc(&b, FM_UINT8, 1, &n);
    fm_tensor_alloc(&out, FM_UINT8, 1, &n);
    fm_tensor_alloc(&idx, FM_INT64, 1, &n);
    fm_tensor_alloc(&red, FM_UINT8, 0, NULL);
    fm_tensor_alloc(&arg, FM_INT64, 0, NULL);
    fm_fill(&a, 3);
    fm_fill(&b, 4);
    for (int k = 0; k < 4; k++)
        ((int64_t *)idx.data)[k] = k;
    for (int op = 0; op < FM_BINOP_COUNT; op++) {
        CHECK(fm_binary((fm_binop)op, &a, &b, &out) == FM_ETYPE, "%s", fm_binop_name((fm_binop)op));
        CHECK(fm_binary_scalar((fm_binop)op, &a, 2, false, &out) == FM_ETYPE, "%s scalar",
              fm_binop_name((fm_binop)op));
    }
    for (int op = 0; op < FM_UNOP_COUNT; op++)
        CHECK(fm_unary((fm_unop)op, &a, &out) == FM_ETYPE, "%s", fm_unop_name((fm_unop)op));
    for (int op = 0; op < FM_REDUCEOP_COUNT; op++)
        CHECK(fm_reduce((fm_reduceop)op, &a, -1, 0, &red) == FM_ETYPE, "%s",
              fm_reduceop_name((fm_reduceop)op));
    CHECK(fm_argreduce(true, &a, -1, 0, &arg) == FM_ETYPE, "argmax");
    CHECK(fm_clamp(&a, 0, 1, &out) == FM_ETYPE, "clamp");
    CHECK(fm_axpy(1, &b, &out) == FM_ETYPE, "axpy");
    CHECK(fm_scatter_add(&out, 0, &idx, 0, &b) == FM_ETYPE, "scatter_add");
    CHECK(fm_index_add(&out, 0, &idx, 0, &b) == FM_ETYPE, "index_add");
    fm_tensor m;
    fm_tensor_init(&m, a.data, FM_UINT8, 2, (int64_t[]){2, 2});
    fm_tensor mo;
    fm_tensor_alloc(&mo, FM_UINT8, 2, (int64_t[]){2, 2});
    CHECK(fm_gemm(&m, &m, false, false, 1, 0, &mo) == FM_ETYPE, "gemm");
    CHECK(fm_softmax(&a, 0, false, &out) == FM_ETYPE, "softmax");
    fm_tensor s1;
    fm_tensor_alloc(&s1, FM_UINT8, 1, &one);
    CHECK(fm_sum_to(&a, &s1) == FM_ETYPE, "sum_to");
    fm_tensor_free(&s1);
    fm_tensor_free(&mo);
    fm_tensor_free(&a);
    fm_tensor_free(&b);
    fm_tensor_free(&out);
    fm_tensor_free(&idx);
    fm_tensor_free(&red);
    fm_tensor_free(&arg);
}

/* The ops that only move bytes work on uint8. */
static void test_moves(void)
{
    int64_t s[2] = {3, 2}, k = 2;
    fm_tensor a, idx, sel, parts, cond, w, f;
    fm_tensor_alloc(&a, FM_UINT8, 2, s);
    memcpy(a.data, (const uint8_t[]){10, 11, 20, 21, 30, 31}, 6);
    fm_tensor_alloc(&idx, FM_INT64, 1, &k);
    ((int64_t *)idx.data)[0] = 2;
    ((int64_t *)idx.data)[1] = 0;
    fm_tensor_alloc(&sel, FM_UINT8, 2, (int64_t[]){2, 2});
    CHECK(fm_index_select(&a, 0, &idx, 0, &sel) == FM_OK &&
          memcmp(sel.data, (const uint8_t[]){30, 31, 10, 11}, 4) == 0, "index_select rows");
    fm_tensor_alloc(&parts, FM_UINT8, 2, (int64_t[]){3, 4});
    const fm_tensor *two[] = {&a, &a};
    CHECK(fm_cat(two, 2, 1, &parts) == FM_OK && ((uint8_t *)parts.data)[5] == 21 &&
          ((uint8_t *)parts.data)[6] == 20, "cat");
    fm_tensor_alloc(&cond, FM_UINT8, 1, (int64_t[]){2});
    memcpy(cond.data, (const uint8_t[]){0, 5}, 2);
    fm_tensor_alloc(&w, FM_UINT8, 2, s);
    fm_tensor zero;
    fm_tensor_alloc(&zero, FM_UINT8, 0, NULL);
    fm_fill(&zero, 0);
    CHECK(fm_where(&cond, &a, &zero, &w) == FM_OK &&
          memcmp(w.data, (const uint8_t[]){0, 11, 0, 21, 0, 31}, 6) == 0, "where");
    fm_tensor_alloc(&f, FM_FLOAT32, 2, s);
    fm_copy(&f, &a);
    bool close = false;
    CHECK(fm_allclose(&a, &f, 0, 0, &close) == FM_OK && close, "allclose uint8 vs float");
    fm_tensor_free(&a);
    fm_tensor_free(&idx);
    fm_tensor_free(&sel);
    fm_tensor_free(&parts);
    fm_tensor_free(&cond);
    fm_tensor_free(&w);
    fm_tensor_free(&zero);
    fm_tensor_free(&f);
}

int main(void)
{
    test_basics();
    test_from_float();
    test_int64_and_scalars();
    test_refused();
    test_moves();
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    else
        printf("test_uint8: all passed\n");
    return failures != 0;
}
