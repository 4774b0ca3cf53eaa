/* test_layer_resample.c — the layer kinds upsample and avg_pool
 * (nn/resample.c), called through their ops structs directly: forward
 * against naive reference loops, backward and jvp against central finite
 * differences in float64, float32 against float64, the jvp's out against
 * forward's, results independent of the thread count, and the errors. */
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

static fm_rng rng;

static fm_layer mk(fm_layer_kind kind, fm_dtype dt, int64_t f)
{
    fm_layer l;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    l.dtype = dt;
    l.factor = f;
    l.ninputs = 1;
    return l;
}

static const fm_layer_ops *ops_of(fm_layer_kind k)
{
    return k == FM_LAYER_UPSAMPLE ? &fm_layer_upsample_ops : &fm_layer_avg_pool_ops;
}

static void alloc4(fm_tensor *t, fm_dtype dt, const int64_t *sh)
{
    fm_tensor_alloc(t, dt, 4, sh);
}

static void fill(fm_tensor *t, const double *v)
{
    for (int64_t i = 0; i < fm_tensor_numel(t); i++)
        fm_tensor_set(t, i, v[i]);
}

static double *rand_vec(int64_t n)
{
    double *v = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        v[i] = fm_rng_uniform01(&rng) * 2 - 1;
    return v;
}

/* Naive references on double arrays. */
static void ref_up(const double *x, int64_t N, int64_t C, int64_t H, int64_t W,
                   int64_t f, double *o)
{
    int64_t Ho = H * f, Wo = W * f;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < Ho; i++)
                for (int64_t j = 0; j < Wo; j++)
                    o[((n * C + c) * Ho + i) * Wo + j] =
                        x[((n * C + c) * H + i / f) * W + j / f];
}

static void ref_pool(const double *x, int64_t N, int64_t C, int64_t H, int64_t W,
                     int64_t f, double *o)
{
    int64_t Ho = H / f, Wo = W / f;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < Ho; i++)
                for (int64_t j = 0; j < Wo; j++) {
                    double s = 0;
                    for (int64_t a = 0; a < f; a++)
                        for (int64_t b = 0; b < f; b++)
                            s += x[((n * C + c) * H + i * f + a) * W + j * f + b];
                    o[((n * C + c) * Ho + i) * Wo + j] = s / (double)(f * f);
                }
}

static fm_status fwd(const fm_layer *l, const fm_tensor *x, fm_tensor *out)
{
    fm_layer_call c;
    memset(&c, 0, sizeof c);
    c.layer = l;
    c.nin = 1;
    c.in = x;
    c.out = out;
    return ops_of(l->kind)->forward(&c);
}

static double max_diff(const fm_tensor *t, const double *ref)
{
    double m = 0;
    for (int64_t i = 0; i < fm_tensor_numel(t); i++) {
        double d = fabs(fm_tensor_get(t, i) - ref[i]);
        if (!(d <= m))
            m = d;
    }
    return m;
}

/* s(x) = sum(out(x) * w) in float64 */
static double dot_out(const fm_layer *l, fm_tensor *x, fm_tensor *out,
                      const double *w)
{
    fwd(l, x, out);
    const double *o = out->data;
    double s = 0;
    for (int64_t i = 0; i < fm_tensor_numel(out); i++)
        s += o[i] * w[i];
    return s;
}

static void test_case(fm_layer_kind kind, int64_t N, int64_t C, int64_t H,
                      int64_t W, int64_t f)
{
    const char *name = kind == FM_LAYER_UPSAMPLE ? "upsample" : "avg_pool";
    const fm_layer_ops *ops = ops_of(kind);
    fm_layer l = mk(kind, FM_FLOAT64, f);
    int64_t ish[4] = { N, C, H, W };
    fm_tensor x;
    alloc4(&x, FM_FLOAT64, ish);
    int64_t nx = fm_tensor_numel(&x);
    double *xv = rand_vec(nx);
    fill(&x, xv);

    CHECK(ops->check(&l) == FM_OK, "%s check f=%lld: %s", name, (long long)f,
          fm_last_error());
    CHECK(ops->nparams(&l) == 0, "%s nparams", name);
    CHECK(ops->saved_numel(&l, 1, &x) == 0, "%s saved_numel", name);
    int nd = 0;
    int64_t osh[FM_MAX_DIMS];
    fm_status st = ops->shape(&l, 1, &x, &nd, osh);
    CHECK(st == FM_OK, "%s shape: %s", name, fm_last_error());
    int64_t eh = kind == FM_LAYER_UPSAMPLE ? H * f : H / f;
    int64_t ew = kind == FM_LAYER_UPSAMPLE ? W * f : W / f;
    CHECK(nd == 4 && osh[0] == N && osh[1] == C && osh[2] == eh && osh[3] == ew,
          "%s shape (%lld, %lld, %lld, %lld) f=%lld", name, (long long)N,
          (long long)C, (long long)H, (long long)W, (long long)f);

    fm_tensor out, out2, tout;
    alloc4(&out, FM_FLOAT64, osh);
    alloc4(&out2, FM_FLOAT64, osh);
    alloc4(&tout, FM_FLOAT64, osh);
    int64_t no = fm_tensor_numel(&out);
    double *ref = malloc(sizeof(double) * (size_t)no);

    /* forward against the naive loops (the same sums in the same order, so
     * equal up to the last bit; 1e-15 leaves room for a compiler's FMA) */
    CHECK(fwd(&l, &x, &out) == FM_OK, "%s forward: %s", name, fm_last_error());
    if (kind == FM_LAYER_UPSAMPLE)
        ref_up(xv, N, C, H, W, f, ref);
    else
        ref_pool(xv, N, C, H, W, f, ref);
    CHECK(max_diff(&out, ref) <= 1e-15, "%s forward vs reference: %g", name,
          max_diff(&out, ref));

    /* jvp: out equal to forward's, tan_out = the map of the tangent, and
     * against central differences. Both maps are linear, so the difference
     * quotient is exact up to rounding: |x|, |v| <= 1 give out-errors of
     * ~1e-16, divided by 2e = 2e-6 that is ~1e-10; 1e-6 is far above that
     * and far below any real error (O(1)). */
    double *vv = rand_vec(nx);
    fm_tensor v;
    alloc4(&v, FM_FLOAT64, ish);
    fill(&v, vv);
    fm_layer_call c;
    memset(&c, 0, sizeof c);
    c.layer = &l;
    c.nin = 1;
    c.in = &x;
    c.out = &out2;
    c.tan_in = &v;
    c.tan_out = &tout;
    CHECK(ops->jvp(&c) == FM_OK, "%s jvp: %s", name, fm_last_error());
    CHECK(memcmp(out.data, out2.data, sizeof(double) * (size_t)no) == 0,
          "%s jvp out differs from forward's", name);
    {
        const double eps = 1e-6;
        fm_tensor xp, xm, op, om;
        alloc4(&xp, FM_FLOAT64, ish);
        alloc4(&xm, FM_FLOAT64, ish);
        alloc4(&op, FM_FLOAT64, osh);
        alloc4(&om, FM_FLOAT64, osh);
        for (int64_t i = 0; i < nx; i++) {
            ((double *)xp.data)[i] = xv[i] + eps * vv[i];
            ((double *)xm.data)[i] = xv[i] - eps * vv[i];
        }
        fwd(&l, &xp, &op);
        fwd(&l, &xm, &om);
        double m = 0;
        for (int64_t i = 0; i < no; i++) {
            double fd = (((double *)op.data)[i] - ((double *)om.data)[i]) / (2 * eps);
            double d = fabs(fd - ((double *)tout.data)[i]);
            if (!(d <= m)) m = d;
        }
        CHECK(m <= 1e-6, "%s jvp vs central differences: %g", name, m);
        fm_tensor_free(&xp); fm_tensor_free(&xm);
        fm_tensor_free(&op); fm_tensor_free(&om);
    }
    /* a NULL tangent (tan_in NULL, or its data NULL) is zero */
    for (int k = 0; k < 2; k++) {
        fm_tensor vnull = v;
        vnull.data = NULL;
        c.tan_in = k == 0 ? NULL : &vnull;
        for (int64_t i = 0; i < no; i++)
            ((double *)tout.data)[i] = 7;
        CHECK(ops->jvp(&c) == FM_OK, "%s jvp NULL tangent: %s", name, fm_last_error());
        double m = 0;
        for (int64_t i = 0; i < no; i++)
            m = fmax(m, fabs(((double *)tout.data)[i]));
        CHECK(m == 0, "%s jvp NULL tangent (%d) gives nonzero %g", name, k, m);
        CHECK(memcmp(out.data, out2.data, sizeof(double) * (size_t)no) == 0,
              "%s jvp (NULL tangent) out differs from forward's", name);
    }

    /* backward accumulates: grad_in starts at g0, ends at g0 + d s / d x for
     * s = sum(out * w); every input element against central differences
     * (linear in x: exact up to rounding as above, so 1e-6 again) */
    double *wv = rand_vec(no);
    fm_tensor w, gi;
    alloc4(&w, FM_FLOAT64, osh);
    fill(&w, wv);
    alloc4(&gi, FM_FLOAT64, ish);
    double *g0 = rand_vec(nx);
    fill(&gi, g0);
    memset(&c, 0, sizeof c);
    c.layer = &l;
    c.nin = 1;
    c.in = &x;
    c.out = &out;
    c.grad_out = &w;
    c.grad_in = &gi;
    CHECK(ops->backward(&c) == FM_OK, "%s backward: %s", name, fm_last_error());
    {
        const double eps = 1e-6;
        fm_tensor xe, oe;
        alloc4(&xe, FM_FLOAT64, ish);
        alloc4(&oe, FM_FLOAT64, osh);
        memcpy(xe.data, xv, sizeof(double) * (size_t)nx);
        double m = 0;
        for (int64_t i = 0; i < nx; i++) {
            double *xd = xe.data;
            xd[i] = xv[i] + eps;
            double sp = dot_out(&l, &xe, &oe, wv);
            xd[i] = xv[i] - eps;
            double sm = dot_out(&l, &xe, &oe, wv);
            xd[i] = xv[i];
            double fd = (sp - sm) / (2 * eps);
            double got = ((double *)gi.data)[i] - g0[i];
            m = fmax(m, fabs(fd - got));
        }
        CHECK(m <= 1e-6, "%s backward vs central differences: %g", name, m);
        fm_tensor_free(&xe);
        fm_tensor_free(&oe);
    }
    if (kind == FM_LAYER_AVG_POOL && (H % f || W % f)) {
        /* the rows / columns that fill no window get no gradient */
        double m = 0;
        for (int64_t p = 0; p < N * C; p++)
            for (int64_t i = 0; i < H; i++)
                for (int64_t j = 0; j < W; j++)
                    if (i >= H / f * f || j >= W / f * f) {
                        int64_t e = (p * H + i) * W + j;
                        m = fmax(m, fabs(((double *)gi.data)[e] - g0[e]));
                    }
        CHECK(m == 0, "%s: dropped rows/columns got gradient %g", name, m);
    }
    /* grad_in with NULL data is skipped */
    {
        fm_tensor gnull = gi;
        gnull.data = NULL;
        c.grad_in = &gnull;
        CHECK(ops->backward(&c) == FM_OK, "%s backward NULL grad_in: %s", name,
              fm_last_error());
    }

    /* float32 against float64 (forward, jvp, backward); the inputs are
     * rounded to float32 for both, so what differs is float32 arithmetic:
     * sums of <= 9 terms of size <= 1, relative error ~1e-7 */
    {
        fm_layer l32 = mk(kind, FM_FLOAT32, f);
        fm_tensor x32, v32, w32, o32, t32, g32, x64r, v64r, w64r;
        alloc4(&x32, FM_FLOAT32, ish);
        alloc4(&v32, FM_FLOAT32, ish);
        alloc4(&g32, FM_FLOAT32, ish);
        alloc4(&x64r, FM_FLOAT64, ish);
        alloc4(&v64r, FM_FLOAT64, ish);
        alloc4(&w32, FM_FLOAT32, osh);
        alloc4(&o32, FM_FLOAT32, osh);
        alloc4(&t32, FM_FLOAT32, osh);
        alloc4(&w64r, FM_FLOAT64, osh);
        fill(&x32, xv);
        fill(&v32, vv);
        fill(&w32, wv);
        for (int64_t i = 0; i < nx; i++) {
            fm_tensor_set(&x64r, i, fm_tensor_get(&x32, i));
            fm_tensor_set(&v64r, i, fm_tensor_get(&v32, i));
        }
        for (int64_t i = 0; i < no; i++)
            fm_tensor_set(&w64r, i, fm_tensor_get(&w32, i));
        memset(g32.data, 0, sizeof(float) * (size_t)nx);
        fm_layer_call c32;
        memset(&c32, 0, sizeof c32);
        c32.layer = &l32;
        c32.nin = 1;
        c32.in = &x32;
        c32.out = &o32;
        c32.tan_in = &v32;
        c32.tan_out = &t32;
        c32.grad_out = &w32;
        c32.grad_in = &g32;
        CHECK(ops->jvp(&c32) == FM_OK, "%s f32 jvp: %s", name, fm_last_error());
        CHECK(ops->backward(&c32) == FM_OK, "%s f32 backward: %s", name, fm_last_error());
        fm_layer_call c64 = c32;
        fm_tensor gz;
        alloc4(&gz, FM_FLOAT64, ish);
        memset(gz.data, 0, sizeof(double) * (size_t)nx);
        c64.layer = &l;
        c64.in = &x64r;
        c64.out = &out2;
        c64.tan_in = &v64r;
        c64.tan_out = &tout;
        c64.grad_out = &w64r;
        c64.grad_in = &gz;
        ops->jvp(&c64);
        ops->backward(&c64);
        double mo = 0, mt = 0, mg = 0;
        for (int64_t i = 0; i < no; i++) {
            mo = fmax(mo, fabs(fm_tensor_get(&o32, i) - ((double *)out2.data)[i]));
            mt = fmax(mt, fabs(fm_tensor_get(&t32, i) - ((double *)tout.data)[i]));
        }
        for (int64_t i = 0; i < nx; i++)
            mg = fmax(mg, fabs(fm_tensor_get(&g32, i) - ((double *)gz.data)[i]));
        CHECK(mo <= 1e-5 && mt <= 1e-5 && mg <= 1e-5,
              "%s float32 vs float64: out %g tan %g grad %g", name, mo, mt, mg);
        fm_tensor_free(&x32); fm_tensor_free(&v32); fm_tensor_free(&w32);
        fm_tensor_free(&o32); fm_tensor_free(&t32); fm_tensor_free(&g32);
        fm_tensor_free(&x64r); fm_tensor_free(&v64r); fm_tensor_free(&w64r);
        fm_tensor_free(&gz);
    }

    printf("%-8s (%lld, %lld, %lld, %lld) f=%lld -> (%lld, %lld, %lld, %lld) ok\n",
           name, (long long)N, (long long)C, (long long)H, (long long)W,
           (long long)f, (long long)osh[0], (long long)osh[1],
           (long long)osh[2], (long long)osh[3]);
    fm_tensor_free(&x); fm_tensor_free(&out); fm_tensor_free(&out2);
    fm_tensor_free(&tout); fm_tensor_free(&v); fm_tensor_free(&w);
    fm_tensor_free(&gi);
    free(xv); free(vv); free(wv); free(g0); free(ref);
}

/* One thread and two give the same bits (the parts are fixed by N). */
static void test_threads(fm_layer_kind kind)
{
    const fm_layer_ops *ops = ops_of(kind);
    fm_layer l = mk(kind, FM_FLOAT32, 2);
    int64_t ish[4] = { 5, 3, 8, 10 }, osh[4];
    int nd;
    fm_tensor x, o1, o2, g, gi1, gi2;
    alloc4(&x, FM_FLOAT32, ish);
    ops->shape(&l, 1, &x, &nd, osh);
    alloc4(&o1, FM_FLOAT32, osh);
    alloc4(&o2, FM_FLOAT32, osh);
    alloc4(&g, FM_FLOAT32, osh);
    alloc4(&gi1, FM_FLOAT32, ish);
    alloc4(&gi2, FM_FLOAT32, ish);
    double *xv = rand_vec(fm_tensor_numel(&x)), *gv = rand_vec(fm_tensor_numel(&g));
    fill(&x, xv);
    fill(&g, gv);
    memset(gi1.data, 0, fm_tensor_nbytes(&gi1));
    memset(gi2.data, 0, fm_tensor_nbytes(&gi2));
    int nt = openblas_get_num_threads();
    fm_layer_call c;
    memset(&c, 0, sizeof c);
    c.layer = &l;
    c.nin = 1;
    c.in = &x;
    c.grad_out = &g;
    openblas_set_num_threads(1);
    c.out = &o1;
    c.grad_in = &gi1;
    ops->forward(&c);
    ops->backward(&c);
    openblas_set_num_threads(2);
    c.out = &o2;
    c.grad_in = &gi2;
    ops->forward(&c);
    ops->backward(&c);
    openblas_set_num_threads(nt);
    CHECK(memcmp(o1.data, o2.data, fm_tensor_nbytes(&o1)) == 0 &&
          memcmp(gi1.data, gi2.data, fm_tensor_nbytes(&gi1)) == 0,
          "%s: results depend on the thread count", ops->name);
    fm_tensor_free(&x); fm_tensor_free(&o1); fm_tensor_free(&o2);
    fm_tensor_free(&g); fm_tensor_free(&gi1); fm_tensor_free(&gi2);
    free(xv); free(gv);
}

static void expect_err(fm_status got, fm_status want, const char *what,
                       const char *needle1, const char *needle2)
{
    const char *msg = fm_last_error();
    CHECK(got == want, "%s: status %s, want %s (%s)", what, fm_status_name(got),
          fm_status_name(want), msg);
    CHECK(strstr(msg, needle1) != NULL && (!needle2 || strstr(msg, needle2)),
          "%s: message \"%s\" lacks \"%s\"/\"%s\"", what, msg, needle1,
          needle2 ? needle2 : "");
}

static void test_errors(void)
{
    int nd;
    int64_t sh[FM_MAX_DIMS];
    fm_tensor x3, x4, small_h, small_w, o;
    int64_t s3[3] = { 2, 3, 4 };
    fm_tensor_alloc(&x3, FM_FLOAT64, 3, s3);
    int64_t s4[4] = { 2, 3, 4, 4 }, sh_h[4] = { 1, 2, 2, 5 }, sh_w[4] = { 1, 2, 5, 2 };
    alloc4(&x4, FM_FLOAT64, s4);
    alloc4(&small_h, FM_FLOAT64, sh_h);
    alloc4(&small_w, FM_FLOAT64, sh_w);
    memset(x3.data, 0, fm_tensor_nbytes(&x3));
    memset(x4.data, 0, fm_tensor_nbytes(&x4));
    memset(small_h.data, 0, fm_tensor_nbytes(&small_h));
    memset(small_w.data, 0, fm_tensor_nbytes(&small_w));
    fm_layer up = mk(FM_LAYER_UPSAMPLE, FM_FLOAT64, 2);
    fm_layer pool = mk(FM_LAYER_AVG_POOL, FM_FLOAT64, 3);

    expect_err(fm_layer_upsample_ops.shape(&up, 1, &x3, &nd, sh), FM_ESHAPE,
               "upsample 3-D", "upsample", "(2, 3, 4)");
    printf("error message shown: %s\n", fm_last_error());
    expect_err(fm_layer_avg_pool_ops.shape(&pool, 1, &x3, &nd, sh), FM_ESHAPE,
               "avg_pool 3-D", "avg_pool", "(2, 3, 4)");
    expect_err(fwd(&up, &x3, &x4), FM_ESHAPE, "upsample forward 3-D", "upsample",
               "(2, 3, 4)");
    expect_err(fm_layer_avg_pool_ops.shape(&pool, 1, &small_h, &nd, sh), FM_ESHAPE,
               "avg_pool H < f", "avg_pool", "(1, 2, 2, 5)");
    printf("error message shown: %s\n", fm_last_error());
    expect_err(fm_layer_avg_pool_ops.shape(&pool, 1, &small_w, &nd, sh), FM_ESHAPE,
               "avg_pool W < f", "avg_pool", "(1, 2, 5, 2)");
    /* upsample has no minimum size */
    CHECK(fm_layer_upsample_ops.shape(&up, 1, &small_h, &nd, sh) == FM_OK,
          "upsample small: %s", fm_last_error());
    fm_tensor two[2] = { x4, x4 };
    expect_err(fm_layer_upsample_ops.shape(&up, 2, two, &nd, sh), FM_EVALUE,
               "upsample nin 2", "upsample", "2");
    expect_err(fm_layer_avg_pool_ops.shape(&pool, 2, two, &nd, sh), FM_EVALUE,
               "avg_pool nin 2", "avg_pool", "2");
    {
        fm_layer_call c;
        memset(&c, 0, sizeof c);
        c.layer = &up;
        c.nin = 2;
        c.in = two;
        c.out = &x4;
        expect_err(fm_layer_upsample_ops.forward(&c), FM_EVALUE,
                   "upsample forward nin 2", "upsample", NULL);
    }
    /* an out of the wrong shape */
    alloc4(&o, FM_FLOAT64, s4);
    expect_err(fwd(&up, &x4, &o), FM_ESHAPE, "upsample wrong out", "upsample",
               "(2, 3, 4, 4)");
    printf("error message shown: %s\n", fm_last_error());
    {
        fm_layer_call c;
        memset(&c, 0, sizeof c);
        c.layer = &pool;
        c.nin = 1;
        c.in = &x4;
        c.out = &o;
        c.grad_out = &o;
        c.grad_in = &x4;
        expect_err(fm_layer_avg_pool_ops.backward(&c), FM_ESHAPE,
                   "avg_pool wrong grad_out", "avg_pool", "grad_out");
        c.tan_out = &o;
        expect_err(fm_layer_avg_pool_ops.jvp(&c), FM_ESHAPE,
                   "avg_pool wrong out in jvp", "avg_pool", "out");
    }
    /* check(): factor >= 1 */
    for (int k = 0; k < 2; k++) {
        const fm_layer_ops *ops = k ? &fm_layer_avg_pool_ops : &fm_layer_upsample_ops;
        fm_layer l = mk(k ? FM_LAYER_AVG_POOL : FM_LAYER_UPSAMPLE, FM_FLOAT32, 0);
        expect_err(ops->check(&l), FM_EVALUE, "factor 0", ops->name, "0");
        l.factor = -3;
        expect_err(ops->check(&l), FM_EVALUE, "factor -3", ops->name, "-3");
        expect_err(ops->shape(&l, 1, &x4, &nd, sh), FM_EVALUE, "shape factor -3",
                   ops->name, "-3");
        l.factor = 1;
        CHECK(ops->check(&l) == FM_OK, "%s factor 1: %s", ops->name, fm_last_error());
        l.dtype = FM_INT64;
        expect_err(ops->check(&l), FM_ETYPE, "int64 dtype", ops->name, "int64");
    }
    printf("error message shown: %s\n", fm_last_error());
    fm_tensor_free(&x3); fm_tensor_free(&x4); fm_tensor_free(&small_h);
    fm_tensor_free(&small_w); fm_tensor_free(&o);
}

int main(void)
{
    fm_rng_seed(&rng, 1234);
    static const int64_t shapes[][4] = {
        { 2, 3, 4, 6 }, { 3, 2, 5, 7 }, { 1, 1, 5, 7 }, { 1, 2, 3, 3 }, { 4, 1, 6, 9 },
    };
    for (int k = 0; k < 2; k++) {
        fm_layer_kind kind = k ? FM_LAYER_AVG_POOL : FM_LAYER_UPSAMPLE;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int64_t f = 1; f <= 3; f++) {
                const int64_t *q = shapes[s];
                if (kind == FM_LAYER_AVG_POOL && (q[2] < f || q[3] < f))
                    continue;
                test_case(kind, q[0], q[1], q[2], q[3], f);
            }
        test_threads(kind);
    }
    /* the docs' examples: avg pool on 5 x 7 with f = 2 gives 2 x 3 */
    {
        fm_layer l = mk(FM_LAYER_AVG_POOL, FM_FLOAT64, 2);
        fm_tensor x;
        int64_t s[4] = { 1, 1, 5, 7 }, o[FM_MAX_DIMS];
        int nd;
        alloc4(&x, FM_FLOAT64, s);
        CHECK(fm_layer_avg_pool_ops.shape(&l, 1, &x, &nd, o) == FM_OK && o[2] == 2
              && o[3] == 3, "avg_pool 5x7 f=2 shape");
        fm_tensor_free(&x);
    }
    test_errors();
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}
