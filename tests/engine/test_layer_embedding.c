/* test_layer_embedding.c — the embedding layer kind (nn/embed.c), called
 * through fm_layer_embedding_ops directly: forward rows, backward against
 * central differences w.r.t. W (float64), jvp with and without tW, index
 * bases 0 and 1, float32, errors. */
#include "nn/layer.h"
#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); \
    printf("\n"); } } while (0)

static const fm_layer_ops *ops = &fm_layer_embedding_ops;

static fm_layer make_layer(fm_dtype dt, int64_t rows, int64_t dim, int64_t base)
{
    fm_layer l = {0};
    l.kind = FM_LAYER_EMBEDDING;
    l.dtype = dt;
    l.in = rows;
    l.out = dim;
    l.index_base = base;
    l.ninputs = 1;
    return l;
}

static void fill(fm_tensor *t, fm_rng *rng)
{
    for (int64_t e = 0; e < fm_tensor_numel(t); e++)
        fm_tensor_set(t, e, fm_rng_uniform01(rng) * 2 - 1);
}

static double sum_dot(const fm_tensor *a, const fm_tensor *w)
{
    double s = 0;
    for (int64_t e = 0; e < fm_tensor_numel(a); e++)
        s += fm_tensor_get(a, e) * fm_tensor_get(w, e);
    return s;
}

/* Everything for one (dtype, base, index shape): indices cover repeats. */
static void test_case(fm_dtype dt, int64_t base, int nd, const int64_t *ish,
                      fm_rng *rng)
{
    const int64_t rows = 5, dim = 3;
    fm_layer l = make_layer(dt, rows, dim, base);
    CHECK(ops->check(&l) == FM_OK, "check: %s", fm_last_error());
    CHECK(ops->nparams(&l) == 1, "nparams");
    int pnd;
    int64_t psh[2];
    ops->param_shape(&l, 0, &pnd, psh);
    CHECK(pnd == 2 && psh[0] == rows && psh[1] == dim, "param shape");
    CHECK(ops->saved_numel(&l, 1, NULL) == 0, "saved_numel");
    fm_tensor idx, W, tW, gW, out, tout, go;
    fm_tensor_alloc(&idx, FM_INT64, nd, ish);
    int64_t ni = fm_tensor_numel(&idx);
    int64_t *iv = idx.data;
    for (int64_t i = 0; i < ni; i++)
        iv[i] = base + (int64_t)(fm_rng_uniform01(rng) * rows);
    if (ni >= 2) {                 /* the first and last rows, and a repeat */
        iv[0] = base;
        iv[ni - 1] = base + rows - 1;
        if (ni >= 3) iv[1] = iv[0];
    }
    fm_tensor_alloc(&W, dt, 2, psh);
    fm_tensor_alloc(&tW, dt, 2, psh);
    fm_tensor_alloc(&gW, dt, 2, psh);
    fill(&W, rng);
    fill(&tW, rng);
    fill(&gW, rng);
    int ond;
    int64_t osh[FM_MAX_DIMS];
    CHECK(ops->shape(&l, 1, &idx, &ond, osh) == FM_OK, "shape: %s", fm_last_error());
    CHECK(ond == nd + 1 && osh[nd] == dim, "out ndim %d", ond);
    for (int a = 0; a < nd; a++)
        CHECK(osh[a] == ish[a], "out shape dim %d", a);
    fm_tensor_alloc(&out, dt, ond, osh);
    fm_tensor_alloc(&tout, dt, ond, osh);
    fm_tensor_alloc(&go, dt, ond, osh);
    fill(&go, rng);
    fm_layer_call c = {0};
    c.layer = &l;
    c.params = &W;
    c.nin = 1;
    c.in = &idx;
    c.out = &out;
    CHECK(ops->forward(&c) == FM_OK, "forward: %s", fm_last_error());
    int bad = 0;
    for (int64_t i = 0; i < ni; i++)
        for (int64_t e = 0; e < dim; e++)
            bad += fm_tensor_get(&out, i * dim + e) !=
                   fm_tensor_get(&W, (iv[i] - base) * dim + e);
    CHECK(bad == 0, "forward: %d wrong elements", bad);
    /* backward: gW accumulates; check against central differences of
     * s(W) = sum(out * go). s is linear in W: the difference quotient is
     * exact up to rounding ~1e-16 |s| / eps ~1e-10 (eps 1e-6), tolerance
     * 1e-8 (float64). float32: compare to the exact sums of grad rows. */
    int64_t nw = rows * dim;
    double *g0 = malloc(sizeof(double) * nw);
    for (int64_t e = 0; e < nw; e++)
        g0[e] = fm_tensor_get(&gW, e);
    fm_tensor gin = idx;
    gin.data = NULL;               /* indices have no gradient */
    c.grad_out = &go;
    c.grad_in = &gin;
    c.grad_params = &gW;
    CHECK(ops->backward(&c) == FM_OK, "backward: %s", fm_last_error());
    double worst = 0;
    if (dt == FM_FLOAT64) {
        const double eps = 1e-6;
        for (int64_t e = 0; e < nw; e++) {
            double w0 = fm_tensor_get(&W, e);
            fm_tensor_set(&W, e, w0 + eps);
            ops->forward(&c);
            double sp = sum_dot(&out, &go);
            fm_tensor_set(&W, e, w0 - eps);
            ops->forward(&c);
            double sm = sum_dot(&out, &go);
            fm_tensor_set(&W, e, w0);
            double fd = (sp - sm) / (2 * eps);
            double err = fabs(fm_tensor_get(&gW, e) - g0[e] - fd) / (1 + fabs(fd));
            if (!(err <= worst)) worst = err;
        }
        CHECK(worst <= 1e-8, "backward fd err %g", worst);
    } else {
        for (int64_t e = 0; e < nw; e++) {
            double want = g0[e];
            for (int64_t i = 0; i < ni; i++)
                if (iv[i] - base == e / dim)
                    want += fm_tensor_get(&go, i * dim + e % dim);
            double err = fabs(fm_tensor_get(&gW, e) - want);
            if (!(err <= worst)) worst = err;
        }
        CHECK(worst <= 1e-5, "float32 backward err %g", worst);
    }
    ops->forward(&c);
    /* jvp with tW: tan_out = tW rows = (f(W + e tW) - f(W - e tW)) / 2e */
    fm_tensor out2, op, om, Wp;
    fm_tensor_alloc(&out2, dt, ond, osh);
    fm_tensor_alloc(&op, dt, ond, osh);
    fm_tensor_alloc(&om, dt, ond, osh);
    fm_tensor_alloc(&Wp, dt, 2, psh);
    fm_tensor tin = idx;
    tin.data = NULL;
    fm_layer_call j = c;
    j.out = &out2;
    j.tan_in = &tin;
    j.tan_params = &tW;
    j.tan_out = &tout;
    CHECK(ops->jvp(&j) == FM_OK, "jvp: %s", fm_last_error());
    const double eps = dt == FM_FLOAT64 ? 1e-6 : 1e-2;
    fm_layer_call f = c;
    f.params = &Wp;
    for (int s = 0; s < 2; s++) {
        for (int64_t e = 0; e < nw; e++)
            fm_tensor_set(&Wp, e, fm_tensor_get(&W, e) +
                          (s ? -eps : eps) * fm_tensor_get(&tW, e));
        f.out = s ? &om : &op;
        ops->forward(&f);
    }
    double wj = 0, wo = 0;
    for (int64_t e = 0; e < fm_tensor_numel(&out); e++) {
        double fd = (fm_tensor_get(&op, e) - fm_tensor_get(&om, e)) / (2 * eps);
        double err = fabs(fm_tensor_get(&tout, e) - fd) / (1 + fabs(fd));
        if (!(err <= wj)) wj = err;
        double d = fabs(fm_tensor_get(&out2, e) - fm_tensor_get(&out, e));
        if (!(d <= wo)) wo = d;
    }
    /* linear in W: float64 exact to ~1e-10; float32 to ~1e-7 / 1e-2 */
    CHECK(wj <= (dt == FM_FLOAT64 ? 1e-8 : 1e-4), "jvp fd err %g", wj);
    CHECK(wo == 0, "jvp out != forward out (%g)", wo);
    /* jvp without tangents (tan_params NULL, or tW data NULL): zeros */
    for (int k = 0; k < 2; k++) {
        fm_tensor tnull = tW;
        tnull.data = NULL;
        j.tan_params = k ? &tnull : NULL;
        for (int64_t e = 0; e < fm_tensor_numel(&tout); e++)
            fm_tensor_set(&tout, e, NAN);
        CHECK(ops->jvp(&j) == FM_OK, "jvp without tW: %s", fm_last_error());
        int nz = 0;
        for (int64_t e = 0; e < fm_tensor_numel(&tout); e++)
            nz += fm_tensor_get(&tout, e) != 0;
        CHECK(nz == 0, "jvp without tW: %d nonzero", nz);
    }
    printf("embedding %s base %lld, %d-dim indices (%lld): backward err %.2g, "
           "jvp err %.2g\n", fm_dtype_name(dt), (long long)base, nd,
           (long long)ni, worst, wj);
    free(g0);
    fm_tensor_free(&idx);
    fm_tensor_free(&W);
    fm_tensor_free(&tW);
    fm_tensor_free(&gW);
    fm_tensor_free(&out);
    fm_tensor_free(&tout);
    fm_tensor_free(&go);
    fm_tensor_free(&out2);
    fm_tensor_free(&op);
    fm_tensor_free(&om);
    fm_tensor_free(&Wp);
}

static void test_errors(void)
{
    fm_layer l = make_layer(FM_FLOAT64, 4, 2, 1);
    int64_t ish[1] = {3}, wsh[2] = {4, 2}, osh[2] = {3, 2};
    fm_tensor idx, W, out, fidx;
    fm_tensor_alloc(&idx, FM_INT64, 1, ish);
    fm_tensor_alloc(&fidx, FM_FLOAT64, 1, ish);
    fm_tensor_alloc(&W, FM_FLOAT64, 2, wsh);
    fm_tensor_alloc(&out, FM_FLOAT64, 2, osh);
    memset(W.data, 0, fm_tensor_nbytes(&W));
    int64_t *iv = idx.data;
    iv[0] = 1; iv[1] = 4; iv[2] = 5;  /* 5 is past [1, 4] */
    fm_layer_call c = {0};
    c.layer = &l;
    c.params = &W;
    c.nin = 1;
    c.in = &idx;
    c.out = &out;
    CHECK(ops->forward(&c) == FM_EINDEX, "index 5 of [1, 4]");
    printf("error (index): %s\n", fm_last_error());
    CHECK(strstr(fm_last_error(), "index 5") && strstr(fm_last_error(), "[1, 4]"),
          "message names the index and the range");
    iv[2] = 0;                        /* below the base */
    CHECK(ops->forward(&c) == FM_EINDEX, "index 0 of [1, 4]");
    l.index_base = 0;
    iv[1] = -1;
    CHECK(ops->forward(&c) == FM_EINDEX, "index -1 of [0, 3]");
    fm_tensor go = out, gW = W;
    c.grad_out = &go;
    c.grad_params = &gW;
    CHECK(ops->backward(&c) == FM_EINDEX, "backward checks indices too");
    iv[1] = 3;
    CHECK(ops->forward(&c) == FM_OK, "base 0 in range: %s", fm_last_error());
    /* wrong dtype of the indices */
    c.in = &fidx;
    CHECK(ops->forward(&c) == FM_ETYPE, "float64 indices");
    printf("error (dtype): %s\n", fm_last_error());
    int nd;
    int64_t sh[FM_MAX_DIMS];
    CHECK(ops->shape(&l, 1, &fidx, &nd, sh) == FM_ETYPE, "shape float64 indices");
    /* nin != 1 */
    fm_tensor two[2] = {idx, idx};
    CHECK(ops->shape(&l, 2, two, &nd, sh) == FM_EVALUE, "nin 2");
    printf("error (nin): %s\n", fm_last_error());
    /* bad configuration, wrong W */
    fm_layer bad = make_layer(FM_FLOAT64, 0, 2, 1);
    CHECK(ops->check(&bad) == FM_EVALUE, "0 rows");
    bad = make_layer(FM_INT64, 4, 2, 1);
    CHECK(ops->check(&bad) == FM_ETYPE, "int64 layer");
    c.in = &idx;
    fm_tensor W2 = W;
    W2.shape[0] = 3;
    c.params = &W2;
    CHECK(ops->forward(&c) == FM_ESHAPE, "W of 3 rows");
    printf("error (W): %s\n", fm_last_error());
    /* out of the wrong shape; backward without a W gradient; tW's shape */
    c.params = &W;
    fm_tensor o2 = out;
    o2.shape[1] = 3;
    c.out = &o2;
    CHECK(ops->forward(&c) == FM_ESHAPE, "out (3, 3)");
    printf("error (out): %s\n", fm_last_error());
    c.out = &out;
    c.grad_params = NULL;
    CHECK(ops->backward(&c) == FM_OK, "backward without gW: %s", fm_last_error());
    fm_tensor gw2 = W;
    gw2.shape[0] = 3;
    c.grad_params = &gw2;
    CHECK(ops->backward(&c) == FM_ESHAPE, "gW of 3 rows");
    c.tan_out = &out;
    c.tan_params = &gw2;
    CHECK(ops->jvp(&c) == FM_ESHAPE, "tW of 3 rows");
    int64_t big[FM_MAX_DIMS] = {1, 1, 1, 1, 1, 1, 1, 1};
    fm_tensor i8;
    fm_tensor_init(&i8, idx.data, FM_INT64, FM_MAX_DIMS, big);
    CHECK(ops->shape(&l, 1, &i8, &nd, sh) == FM_ESHAPE, "%d-dim indices",
          FM_MAX_DIMS);
    fm_tensor_free(&idx);
    fm_tensor_free(&fidx);
    fm_tensor_free(&W);
    fm_tensor_free(&out);
}

int main(void)
{
    fm_rng rng;
    fm_rng_seed(&rng, 4242);
    int64_t s1[1] = {7}, s2[2] = {2, 3}, s0[1] = {0};
    test_case(FM_FLOAT64, 0, 1, s1, &rng);
    test_case(FM_FLOAT64, 1, 1, s1, &rng);
    test_case(FM_FLOAT64, 1, 2, s2, &rng);
    test_case(FM_FLOAT64, 0, 0, NULL, &rng);   /* a scalar index -> (dim) */
    test_case(FM_FLOAT64, 1, 1, s0, &rng);     /* no indices -> (0, dim) */
    test_case(FM_FLOAT32, 1, 2, s2, &rng);
    test_case(FM_FLOAT32, 0, 1, s1, &rng);
    test_errors();
    printf("%s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures != 0;
}
