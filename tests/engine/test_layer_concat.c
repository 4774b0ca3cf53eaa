/* test_layer_concat.c — the layer kind concat (nn/concat.c), called through
 * its ops struct directly: forward against a naive reference loop, backward
 * and jvp (some tangents / gradients NULL) against central finite
 * differences in float64, float32 against float64, the jvp's out against
 * forward's, and the errors. */
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

#define K_MAX 4
static fm_rng rng;

static fm_layer mk(fm_dtype dt, int k)
{
    fm_layer l;
    memset(&l, 0, sizeof l);
    l.kind = FM_LAYER_CONCAT;
    l.dtype = dt;
    l.ninputs = k;
    return l;
}

static void rand_fill(fm_tensor *t, double *v)
{
    for (int64_t i = 0; i < fm_tensor_numel(t); i++) {
        v[i] = fm_rng_uniform01(&rng) * 2 - 1;
        fm_tensor_set(t, i, v[i]);
    }
}

static fm_status fwd(const fm_layer *l, int k, const fm_tensor *x, fm_tensor *out)
{
    fm_layer_call c;
    memset(&c, 0, sizeof c);
    c.layer = l;
    c.nin = k;
    c.in = x;
    c.out = out;
    return fm_layer_concat_ops.forward(&c);
}

/* out[n, o_i + c, r] = x_i[n, c, r]; a NULL x_i gives zeros */
static void ref_cat(int k, int64_t N, const int64_t *C, int64_t R,
                    double *const *x, double *o)
{
    int64_t Ct = 0;
    for (int i = 0; i < k; i++) Ct += C[i];
    for (int64_t n = 0; n < N; n++) {
        int64_t oc = 0;
        for (int i = 0; i < k; i++) {
            for (int64_t c = 0; c < C[i]; c++)
                for (int64_t r = 0; r < R; r++)
                    o[(n * Ct + oc + c) * R + r] =
                        x[i] ? x[i][(n * C[i] + c) * R + r] : 0;
            oc += C[i];
        }
    }
}

static double max_abs_diff(const double *a, const double *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (!(d <= m)) m = d;
    }
    return m;
}

/* k inputs of shape (N, C[i], rest[0..nr-1]) */
static void test_case(int k, int64_t N, const int64_t *C, int nr,
                      const int64_t *rest)
{
    const fm_layer_ops *ops = &fm_layer_concat_ops;
    fm_layer l = mk(FM_FLOAT64, k);
    int nd = 2 + nr;
    int64_t R = 1;
    for (int d = 0; d < nr; d++) R *= rest[d];
    fm_tensor x[K_MAX], v[K_MAX], gi[K_MAX];
    double *xv[K_MAX], *vv[K_MAX], *g0[K_MAX];
    int64_t nx[K_MAX], Ct = 0;
    for (int i = 0; i < k; i++) {
        int64_t sh[FM_MAX_DIMS] = { N, C[i] };
        for (int d = 0; d < nr; d++) sh[2 + d] = rest[d];
        fm_tensor_alloc(&x[i], FM_FLOAT64, nd, sh);
        fm_tensor_alloc(&v[i], FM_FLOAT64, nd, sh);
        fm_tensor_alloc(&gi[i], FM_FLOAT64, nd, sh);
        nx[i] = fm_tensor_numel(&x[i]);
        xv[i] = malloc(sizeof(double) * (size_t)(nx[i] + 1));
        vv[i] = malloc(sizeof(double) * (size_t)(nx[i] + 1));
        g0[i] = malloc(sizeof(double) * (size_t)(nx[i] + 1));
        rand_fill(&x[i], xv[i]);
        rand_fill(&v[i], vv[i]);
        rand_fill(&gi[i], g0[i]);
        Ct += C[i];
    }
    char desc[256];
    {
        int p = snprintf(desc, sizeof desc, "concat of %d: N %lld, C", k, (long long)N);
        for (int i = 0; i < k; i++)
            p += snprintf(desc + p, sizeof desc - (size_t)p, " %lld", (long long)C[i]);
        p += snprintf(desc + p, sizeof desc - (size_t)p, ", rest (");
        for (int d = 0; d < nr; d++)
            p += snprintf(desc + p, sizeof desc - (size_t)p, d ? ", %lld" : "%lld",
                          (long long)rest[d]);
        snprintf(desc + p, sizeof desc - (size_t)p, ")");
    }

    CHECK(ops->check(&l) == FM_OK, "%s: check: %s", desc, fm_last_error());
    CHECK(ops->nparams(&l) == 0, "%s: nparams", desc);
    CHECK(ops->saved_numel(&l, k, x) == 0, "%s: saved_numel", desc);
    int ond = 0;
    int64_t osh[FM_MAX_DIMS];
    CHECK(ops->shape(&l, k, x, &ond, osh) == FM_OK, "%s: shape: %s", desc,
          fm_last_error());
    bool sh_ok = ond == nd && osh[0] == N && osh[1] == Ct;
    for (int d = 0; d < nr; d++) sh_ok = sh_ok && osh[2 + d] == rest[d];
    CHECK(sh_ok, "%s: output shape", desc);

    fm_tensor out, out2, tout, w;
    fm_tensor_alloc(&out, FM_FLOAT64, nd, osh);
    fm_tensor_alloc(&out2, FM_FLOAT64, nd, osh);
    fm_tensor_alloc(&tout, FM_FLOAT64, nd, osh);
    fm_tensor_alloc(&w, FM_FLOAT64, nd, osh);
    int64_t no = fm_tensor_numel(&out);
    double *ref = malloc(sizeof(double) * (size_t)(no + 1));
    double *wv = malloc(sizeof(double) * (size_t)(no + 1));
    rand_fill(&w, wv);

    /* forward: a copy, exact */
    CHECK(fwd(&l, k, x, &out) == FM_OK, "%s: forward: %s", desc, fm_last_error());
    ref_cat(k, N, C, R, xv, ref);
    CHECK(max_abs_diff(out.data, ref, no) == 0, "%s: forward vs reference", desc);

    /* jvp with tangent 1 (0-based) NULL, and with tan_in NULL altogether */
    fm_layer_call c;
    memset(&c, 0, sizeof c);
    c.layer = &l;
    c.nin = k;
    c.in = x;
    c.out = &out2;
    c.tan_out = &tout;
    for (int mode = 0; mode < 3; mode++) {
        fm_tensor t[K_MAX];
        double *tv[K_MAX];
        for (int i = 0; i < k; i++) {
            t[i] = v[i];
            tv[i] = vv[i];
            if ((mode == 1 && i == 1) || (mode == 2 && i != 0)) {
                t[i].data = NULL;
                tv[i] = NULL;
            }
        }
        c.tan_in = mode == 2 && k == 2 ? NULL : t;
        if (c.tan_in == NULL) tv[0] = NULL;
        for (int64_t i = 0; i < no; i++) ((double *)tout.data)[i] = 7;
        for (int64_t i = 0; i < no; i++) ((double *)out2.data)[i] = 7;
        CHECK(ops->jvp(&c) == FM_OK, "%s: jvp: %s", desc, fm_last_error());
        CHECK(max_abs_diff(out.data, out2.data, no) == 0,
              "%s: jvp out differs from forward's (mode %d)", desc, mode);
        ref_cat(k, N, C, R, tv, ref);
        CHECK(max_abs_diff(tout.data, ref, no) == 0,
              "%s: jvp tangent vs reference (mode %d)", desc, mode);
        /* central differences along the tangent (zeros where NULL). concat
         * is linear: the quotient is exact up to rounding, |x|, |v| <= 1 so
         * ~1e-16 / 2e-6 = ~1e-10; 1e-6 is well above that, well below O(1)
         * errors */
        const double eps = 1e-6;
        fm_tensor xp[K_MAX], xm[K_MAX], op, om;
        for (int i = 0; i < k; i++) {
            fm_tensor_alloc(&xp[i], FM_FLOAT64, nd, x[i].shape);
            fm_tensor_alloc(&xm[i], FM_FLOAT64, nd, x[i].shape);
            for (int64_t e = 0; e < nx[i]; e++) {
                double d = tv[i] ? tv[i][e] : 0;
                ((double *)xp[i].data)[e] = xv[i][e] + eps * d;
                ((double *)xm[i].data)[e] = xv[i][e] - eps * d;
            }
        }
        fm_tensor_alloc(&op, FM_FLOAT64, nd, osh);
        fm_tensor_alloc(&om, FM_FLOAT64, nd, osh);
        fwd(&l, k, xp, &op);
        fwd(&l, k, xm, &om);
        double m = 0;
        for (int64_t e = 0; e < no; e++) {
            double fd = (((double *)op.data)[e] - ((double *)om.data)[e]) / (2 * eps);
            m = fmax(m, fabs(fd - ((double *)tout.data)[e]));
        }
        CHECK(m <= 1e-6, "%s: jvp vs central differences (mode %d): %g", desc, mode, m);
        for (int i = 0; i < k; i++) {
            fm_tensor_free(&xp[i]);
            fm_tensor_free(&xm[i]);
        }
        fm_tensor_free(&op);
        fm_tensor_free(&om);
    }

    /* backward accumulates into every grad_in; all elements against central
     * differences of s = sum(out * w) (linear again: tolerance 1e-6) */
    memset(&c, 0, sizeof c);
    c.layer = &l;
    c.nin = k;
    c.in = x;
    c.out = &out;
    c.grad_out = &w;
    c.grad_in = gi;
    CHECK(ops->backward(&c) == FM_OK, "%s: backward: %s", desc, fm_last_error());
    {
        const double eps = 1e-6;
        fm_tensor oe;
        fm_tensor_alloc(&oe, FM_FLOAT64, nd, osh);
        double m = 0;
        for (int i = 0; i < k; i++)
            for (int64_t e = 0; e < nx[i]; e++) {
                double *xd = x[i].data, s[2];
                for (int sgn = 0; sgn < 2; sgn++) {
                    xd[e] = xv[i][e] + (sgn ? -eps : eps);
                    fwd(&l, k, x, &oe);
                    s[sgn] = 0;
                    for (int64_t q = 0; q < no; q++)
                        s[sgn] += ((double *)oe.data)[q] * wv[q];
                }
                xd[e] = xv[i][e];
                double fd = (s[0] - s[1]) / (2 * eps);
                m = fmax(m, fabs(fd - (((double *)gi[i].data)[e] - g0[i][e])));
            }
        CHECK(m <= 1e-6, "%s: backward vs central differences: %g", desc, m);
        fm_tensor_free(&oe);
    }
    /* again with grad_in[0] NULL: the others get the same increment once more */
    {
        fm_tensor g2[K_MAX];
        double *before[K_MAX];
        for (int i = 0; i < k; i++) {
            g2[i] = gi[i];
            before[i] = malloc(sizeof(double) * (size_t)(nx[i] + 1));
            memcpy(before[i], gi[i].data, sizeof(double) * (size_t)nx[i]);
        }
        g2[0].data = NULL;
        c.grad_in = g2;
        CHECK(ops->backward(&c) == FM_OK, "%s: backward NULL: %s", desc, fm_last_error());
        double m = 0;
        for (int i = 1; i < k; i++)
            for (int64_t e = 0; e < nx[i]; e++) {
                double inc = before[i][e] - g0[i][e];
                double got = ((double *)gi[i].data)[e] - before[i][e];
                m = fmax(m, fabs(got - inc));
            }
        CHECK(m <= 1e-12, "%s: backward with grad_in[0] NULL: %g", desc, m);
        for (int i = 0; i < k; i++) free(before[i]);
    }

    /* float32 against float64: copies are exact, the gradient sums of two
     * float32 numbers are within a float32 rounding (~1e-7) */
    {
        fm_layer l32 = mk(FM_FLOAT32, k);
        fm_tensor x32[K_MAX], v32[K_MAX], g32[K_MAX], x64[K_MAX], v64[K_MAX],
            g64[K_MAX], o32, t32, w32, w64;
        for (int i = 0; i < k; i++) {
            fm_tensor_alloc(&x32[i], FM_FLOAT32, nd, x[i].shape);
            fm_tensor_alloc(&v32[i], FM_FLOAT32, nd, x[i].shape);
            fm_tensor_alloc(&g32[i], FM_FLOAT32, nd, x[i].shape);
            fm_tensor_alloc(&x64[i], FM_FLOAT64, nd, x[i].shape);
            fm_tensor_alloc(&v64[i], FM_FLOAT64, nd, x[i].shape);
            fm_tensor_alloc(&g64[i], FM_FLOAT64, nd, x[i].shape);
            for (int64_t e = 0; e < nx[i]; e++) {
                fm_tensor_set(&x32[i], e, xv[i][e]);
                fm_tensor_set(&v32[i], e, vv[i][e]);
                fm_tensor_set(&g32[i], e, g0[i][e]);
                fm_tensor_set(&x64[i], e, fm_tensor_get(&x32[i], e));
                fm_tensor_set(&v64[i], e, fm_tensor_get(&v32[i], e));
                fm_tensor_set(&g64[i], e, fm_tensor_get(&g32[i], e));
            }
        }
        fm_tensor_alloc(&o32, FM_FLOAT32, nd, osh);
        fm_tensor_alloc(&t32, FM_FLOAT32, nd, osh);
        fm_tensor_alloc(&w32, FM_FLOAT32, nd, osh);
        fm_tensor_alloc(&w64, FM_FLOAT64, nd, osh);
        for (int64_t e = 0; e < no; e++) {
            fm_tensor_set(&w32, e, wv[e]);
            fm_tensor_set(&w64, e, fm_tensor_get(&w32, e));
        }
        fm_layer_call c32;
        memset(&c32, 0, sizeof c32);
        c32.layer = &l32;
        c32.nin = k;
        c32.in = x32;
        c32.out = &o32;
        c32.tan_in = v32;
        c32.tan_out = &t32;
        c32.grad_out = &w32;
        c32.grad_in = g32;
        CHECK(ops->jvp(&c32) == FM_OK, "%s: f32 jvp: %s", desc, fm_last_error());
        CHECK(ops->backward(&c32) == FM_OK, "%s: f32 backward: %s", desc, fm_last_error());
        fm_layer_call c64 = c32;
        c64.layer = &l;
        c64.in = x64;
        c64.out = &out2;
        c64.tan_in = v64;
        c64.tan_out = &tout;
        c64.grad_out = &w64;
        c64.grad_in = g64;
        ops->jvp(&c64);
        ops->backward(&c64);
        double mo = 0, mt = 0, mg = 0;
        for (int64_t e = 0; e < no; e++) {
            mo = fmax(mo, fabs(fm_tensor_get(&o32, e) - fm_tensor_get(&out2, e)));
            mt = fmax(mt, fabs(fm_tensor_get(&t32, e) - fm_tensor_get(&tout, e)));
        }
        for (int i = 0; i < k; i++)
            for (int64_t e = 0; e < nx[i]; e++)
                mg = fmax(mg, fabs(fm_tensor_get(&g32[i], e) - fm_tensor_get(&g64[i], e)));
        CHECK(mo == 0 && mt == 0 && mg <= 1e-6,
              "%s: float32 vs float64: out %g tan %g grad %g", desc, mo, mt, mg);
        for (int i = 0; i < k; i++) {
            fm_tensor_free(&x32[i]); fm_tensor_free(&v32[i]); fm_tensor_free(&g32[i]);
            fm_tensor_free(&x64[i]); fm_tensor_free(&v64[i]); fm_tensor_free(&g64[i]);
        }
        fm_tensor_free(&o32); fm_tensor_free(&t32);
        fm_tensor_free(&w32); fm_tensor_free(&w64);
    }

    printf("%s ok\n", desc);
    for (int i = 0; i < k; i++) {
        fm_tensor_free(&x[i]); fm_tensor_free(&v[i]); fm_tensor_free(&gi[i]);
        free(xv[i]); free(vv[i]); free(g0[i]);
    }
    fm_tensor_free(&out); fm_tensor_free(&out2); fm_tensor_free(&tout);
    fm_tensor_free(&w);
    free(ref); free(wv);
}

static void expect_err(fm_status got, fm_status want, const char *what,
                       const char *n1, const char *n2, const char *n3)
{
    const char *msg = fm_last_error();
    CHECK(got == want, "%s: status %s, want %s (%s)", what, fm_status_name(got),
          fm_status_name(want), msg);
    CHECK(strstr(msg, n1) && (!n2 || strstr(msg, n2)) && (!n3 || strstr(msg, n3)),
          "%s: message \"%s\" lacks \"%s\" / \"%s\" / \"%s\"", what, msg, n1,
          n2 ? n2 : "", n3 ? n3 : "");
}

static void test_errors(void)
{
    const fm_layer_ops *ops = &fm_layer_concat_ops;
    int nd;
    int64_t sh[FM_MAX_DIMS];
    fm_layer l2 = mk(FM_FLOAT64, 2), l3 = mk(FM_FLOAT64, 3);
    int64_t a[4] = { 2, 3, 4, 5 }, bN[4] = { 3, 3, 4, 5 }, bT[4] = { 2, 3, 4, 6 },
            b3[3] = { 2, 3, 4 }, one[1] = { 6 };
    fm_tensor A, BN, BT, B3, B1, O;
    fm_tensor_alloc(&A, FM_FLOAT64, 4, a);
    fm_tensor_alloc(&BN, FM_FLOAT64, 4, bN);
    fm_tensor_alloc(&BT, FM_FLOAT64, 4, bT);
    fm_tensor_alloc(&B3, FM_FLOAT64, 3, b3);
    fm_tensor_alloc(&B1, FM_FLOAT64, 1, one);
    fm_tensor_alloc(&O, FM_FLOAT64, 4, a);

    fm_tensor in[3] = { A, A, A };
    expect_err(ops->shape(&l2, 3, in, &nd, sh), FM_EVALUE, "nin 3 for 2",
               "concat", "2", "3");
    expect_err(ops->shape(&l3, 2, in, &nd, sh), FM_EVALUE, "nin 2 for 3",
               "concat", "2", "3");
    printf("error message shown: %s\n", fm_last_error());
    in[1] = BN;
    expect_err(ops->shape(&l2, 2, in, &nd, sh), FM_ESHAPE, "different N",
               "concat: input 2 (3, 3, 4, 5)", "input 1 (2, 3, 4, 5)", "batch");
    printf("error message shown: %s\n", fm_last_error());
    in[1] = A;
    in[2] = BT;
    expect_err(ops->shape(&l3, 3, in, &nd, sh), FM_ESHAPE, "different trailing",
               "concat: input 3 (2, 3, 4, 6)", "input 1 (2, 3, 4, 5)", "after");
    printf("error message shown: %s\n", fm_last_error());
    in[2] = B3;
    expect_err(ops->shape(&l3, 3, in, &nd, sh), FM_ESHAPE, "different ndim",
               "concat: input 3 (2, 3, 4)", "input 1 (2, 3, 4, 5)", "dims");
    in[0] = B1;
    in[1] = B1;
    expect_err(ops->shape(&l2, 2, in, &nd, sh), FM_ESHAPE, "1-D", "concat",
               "input 1 (6,)", NULL);
    printf("error message shown: %s\n", fm_last_error());
    /* forward checks too, and the output shape */
    in[0] = A;
    in[1] = BN;
    expect_err(fwd(&l2, 2, in, &O), FM_ESHAPE, "forward different N", "concat",
               "input 2", NULL);
    in[1] = A;
    expect_err(fwd(&l2, 2, in, &O), FM_ESHAPE, "wrong out", "concat",
               "(2, 3, 4, 5)", "(2, 6, 4, 5)");
    printf("error message shown: %s\n", fm_last_error());
    {
        fm_layer_call c;
        memset(&c, 0, sizeof c);
        c.layer = &l2;
        c.nin = 2;
        c.in = in;
        c.grad_out = &O;
        expect_err(ops->backward(&c), FM_ESHAPE, "wrong grad_out", "concat",
                   "grad_out", NULL);
        c.out = &O;
        c.tan_out = &O;
        expect_err(ops->jvp(&c), FM_ESHAPE, "wrong out in jvp", "concat", "out", NULL);
    }
    /* check(): 2 <= ninputs <= FM_LAYER_MAX_INPUTS */
    int bad[] = { 0, 1, FM_LAYER_MAX_INPUTS + 1, -2 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fm_layer l = mk(FM_FLOAT32, bad[i]);
        expect_err(ops->check(&l), FM_EVALUE, "check ninputs", "concat", "ninputs", NULL);
    }
    printf("error message shown: %s\n", fm_last_error());
    for (int k = 2; k <= FM_LAYER_MAX_INPUTS; k++) {
        fm_layer l = mk(FM_FLOAT32, k);
        CHECK(ops->check(&l) == FM_OK, "check ninputs %d: %s", k, fm_last_error());
    }
    {
        fm_layer l = mk(FM_INT64, 2);
        expect_err(ops->check(&l), FM_ETYPE, "int64", "concat", "int64", NULL);
    }
    /* FM_LAYER_MAX_INPUTS inputs work */
    {
        fm_layer l = mk(FM_FLOAT32, FM_LAYER_MAX_INPUTS);
        fm_tensor xs[FM_LAYER_MAX_INPUTS], o;
        int64_t s[2] = { 3, 1 }, so[2] = { 3, FM_LAYER_MAX_INPUTS };
        for (int i = 0; i < FM_LAYER_MAX_INPUTS; i++) {
            fm_tensor_alloc(&xs[i], FM_FLOAT32, 2, s);
            for (int n = 0; n < 3; n++) fm_tensor_set(&xs[i], n, 100 * n + i);
        }
        fm_tensor_alloc(&o, FM_FLOAT32, 2, so);
        CHECK(fwd(&l, FM_LAYER_MAX_INPUTS, xs, &o) == FM_OK, "max inputs: %s",
              fm_last_error());
        bool ok = true;
        for (int n = 0; n < 3; n++)
            for (int i = 0; i < FM_LAYER_MAX_INPUTS; i++)
                ok = ok && fm_tensor_get(&o, n * FM_LAYER_MAX_INPUTS + i) == 100 * n + i;
        CHECK(ok, "max inputs: values");
        for (int i = 0; i < FM_LAYER_MAX_INPUTS; i++) fm_tensor_free(&xs[i]);
        fm_tensor_free(&o);
    }
    fm_tensor_free(&A); fm_tensor_free(&BN); fm_tensor_free(&BT);
    fm_tensor_free(&B3); fm_tensor_free(&B1); fm_tensor_free(&O);
}

int main(void)
{
    fm_rng_seed(&rng, 4321);
    { int64_t C[] = { 1, 2 }, r[] = { 3, 4 }; test_case(2, 2, C, 2, r); }
    { int64_t C[] = { 2, 1, 3 }, r[] = { 5, 3 }; test_case(3, 3, C, 2, r); }
    { int64_t C[] = { 3, 2 }, r[] = { 5, 7 }; test_case(2, 1, C, 2, r); }
    { int64_t C[] = { 3, 5 }; test_case(2, 4, C, 0, NULL); }
    { int64_t C[] = { 2, 1, 4 }; test_case(3, 1, C, 0, NULL); }
    { int64_t C[] = { 2, 3 }, r[] = { 5 }; test_case(2, 5, C, 1, r); }
    { int64_t C[] = { 0, 2, 1 }, r[] = { 3 }; test_case(3, 2, C, 1, r); }
    { int64_t C[] = { 1, 1, 2, 1 }, r[] = { 2, 3, 2 }; test_case(4, 3, C, 3, r); }
    test_errors();
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}
