/* test_layer_conv2d.c — the conv2d layer kind (nn/conv2d.c) called through
 * its ops struct: forward against a naive direct convolution, backward and
 * jvp against central finite differences in float64, float32 against
 * float64, skipped gradients, thread-count independence, and the errors. */
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

static const fm_layer_ops *ops = &fm_layer_conv2d_ops;

typedef struct {
    int64_t N, Cin, Cout, H, W, k, s, p;
    bool bias;
    const char *what;
} cfg;

static fm_layer make_layer(const cfg *c, fm_dtype dt)
{
    fm_layer l = {0};
    l.kind = FM_LAYER_CONV2D;
    l.dtype = dt;
    l.in = c->Cin;
    l.out = c->Cout;
    l.kernel = c->k;
    l.stride = c->s;
    l.padding = c->p;
    l.bias = c->bias;
    l.ninputs = 1;
    return l;
}

static void fill(fm_tensor *t, fm_rng *rng)
{
    int64_t n = fm_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        fm_tensor_set(t, i, fm_rng_uniform01(rng) * 2 - 1);
}

static void set_all(fm_tensor *t, double v)
{
    int64_t n = fm_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        fm_tensor_set(t, i, v);
}

static void copy_to(fm_tensor *dst, const fm_tensor *src)
{
    int64_t n = fm_tensor_numel(src);
    for (int64_t i = 0; i < n; i++)
        fm_tensor_set(dst, i, fm_tensor_get(src, i));
}

static double max_abs(const fm_tensor *t)
{
    double m = 0;
    int64_t n = fm_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs(fm_tensor_get(t, i)));
    return m;
}

static double max_diff(const fm_tensor *a, const fm_tensor *b)
{
    double m = 0;
    int64_t n = fm_tensor_numel(a);
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs(fm_tensor_get(a, i) - fm_tensor_get(b, i)));
    return m;
}

static bool bitwise_equal(const fm_tensor *a, const fm_tensor *b)
{
    return memcmp(a->data, b->data, fm_tensor_nbytes(a)) == 0;
}

/* Direct convolution in double, straight from the definition. */
static void ref_forward(const cfg *c, const fm_tensor *x, const fm_tensor *w,
                        const fm_tensor *b, int64_t Ho, int64_t Wo,
                        fm_tensor *out)
{
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t o = 0; o < c->Cout; o++)
            for (int64_t i = 0; i < Ho; i++)
                for (int64_t j = 0; j < Wo; j++) {
                    double s = b ? fm_tensor_get(b, o) : 0;
                    for (int64_t ci = 0; ci < c->Cin; ci++)
                        for (int64_t u = 0; u < c->k; u++)
                            for (int64_t v = 0; v < c->k; v++) {
                                int64_t ih = i * c->s + u - c->p;
                                int64_t iw = j * c->s + v - c->p;
                                if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W)
                                    continue;
                                s += fm_tensor_get(w, ((o * c->Cin + ci) * c->k + u) * c->k + v)
                                   * fm_tensor_get(x, ((n * c->Cin + ci) * c->H + ih) * c->W + iw);
                            }
                    fm_tensor_set(out, ((n * c->Cout + o) * Ho + i) * Wo + j, s);
                }
}

/* Everything one configuration needs in one dtype. */
typedef struct {
    fm_layer l;
    int np;
    fm_tensor x, out, P[2], gx, gP[2], tx, tP[2], tout, dout;
    int64_t Ho, Wo;
} setup;

static void setup_make(setup *S, const cfg *c, fm_dtype dt)
{
    memset(S, 0, sizeof *S);
    S->l = make_layer(c, dt);
    S->np = ops->nparams(&S->l);
    int64_t xs[4] = {c->N, c->Cin, c->H, c->W};
    fm_tensor_alloc(&S->x, dt, 4, xs);
    fm_tensor_alloc(&S->gx, dt, 4, xs);
    fm_tensor_alloc(&S->tx, dt, 4, xs);
    int nd;
    int64_t os[4];
    fm_status st = ops->shape(&S->l, 1, &S->x, &nd, os);
    CHECK(st == FM_OK && nd == 4, "%s: shape failed: %s", c->what, fm_last_error());
    S->Ho = os[2];
    S->Wo = os[3];
    fm_tensor_alloc(&S->out, dt, 4, os);
    fm_tensor_alloc(&S->tout, dt, 4, os);
    fm_tensor_alloc(&S->dout, dt, 4, os);
    for (int i = 0; i < S->np; i++) {
        int pn;
        int64_t ps[4];
        ops->param_shape(&S->l, i, &pn, ps);
        fm_tensor_alloc(&S->P[i], dt, pn, ps);
        fm_tensor_alloc(&S->gP[i], dt, pn, ps);
        fm_tensor_alloc(&S->tP[i], dt, pn, ps);
    }
}

static void setup_free(setup *S)
{
    fm_tensor_free(&S->x); fm_tensor_free(&S->gx); fm_tensor_free(&S->tx);
    fm_tensor_free(&S->out); fm_tensor_free(&S->tout); fm_tensor_free(&S->dout);
    for (int i = 0; i < S->np; i++) {
        fm_tensor_free(&S->P[i]); fm_tensor_free(&S->gP[i]); fm_tensor_free(&S->tP[i]);
    }
}

static fm_status run_forward(setup *S, const fm_tensor *x, const fm_tensor *P,
                             fm_tensor *out)
{
    fm_layer_call call = {0};
    call.layer = &S->l;
    call.params = P;
    call.nin = 1;
    call.in = x;
    call.out = out;
    return ops->forward(&call);
}

static fm_status run_backward(setup *S, fm_tensor *gx, fm_tensor *gP)
{
    fm_layer_call call = {0};
    call.layer = &S->l;
    call.params = S->P;
    call.nin = 1;
    call.in = &S->x;
    call.out = &S->out;
    call.grad_out = &S->dout;
    call.grad_in = gx;
    call.grad_params = gP;
    return ops->backward(&call);
}

static fm_status run_jvp(setup *S, const fm_tensor *tx, const fm_tensor *tP,
                         fm_tensor *out, fm_tensor *tout)
{
    fm_layer_call call = {0};
    call.layer = &S->l;
    call.params = S->P;
    call.nin = 1;
    call.in = &S->x;
    call.out = out;
    call.tan_in = tx;
    call.tan_params = tP;
    call.tan_out = tout;
    return ops->jvp(&call);
}

/* s = sum(out * dout) with the current x and params (float64). */
static double objective(setup *S)
{
    run_forward(S, &S->x, S->P, &S->out);
    double s = 0;
    const double *o = S->out.data, *w = S->dout.data;
    for (int64_t i = 0; i < fm_tensor_numel(&S->out); i++)
        s += o[i] * w[i];
    return s;
}

/* The gradient of s in t (one of S's tensors) by central differences,
 * compared with g (the backward's, its prefill removed). conv2d is linear
 * in x, in W and in b (bilinear in (x, W)), so s is linear in each single
 * element and the central difference has no truncation error at all: only
 * rounding, about |s| 1e-16 / eps = 1e-10 for |s| ~ 1 and eps = 1e-6. The
 * tolerance 1e-6 (absolute, relative above 1) is far above that and far
 * below any real error (which would be O(1) in some element). */
static void check_grad_fd(setup *S, fm_tensor *t, const fm_tensor *g,
                          double prefill, const char *what, const char *name)
{
    const double eps = 1e-6;
    double *d = t->data, worst = 0;
    /* the many small forwards run on one thread (no pool wake-ups on a
     * loaded machine); results do not depend on it (checked below) */
    int nt = openblas_get_num_threads();
    openblas_set_num_threads(1);
    for (int64_t i = 0; i < fm_tensor_numel(t); i++) {
        double v = d[i];
        d[i] = v + eps;
        double sp = objective(S);
        d[i] = v - eps;
        double sm = objective(S);
        d[i] = v;
        double fd = (sp - sm) / (2 * eps);
        double an = ((const double *)g->data)[i] - prefill;
        worst = fmax(worst, fabs(an - fd) / fmax(1, fabs(fd)));
    }
    openblas_set_num_threads(nt);
    CHECK(worst < 1e-6, "%s: backward d/d%s vs finite differences: %.3g",
          what, name, worst);
}

/* jvp against (f(x + e v, P + e tP) - f(x - e v, P - e tP)) / 2e. f is
 * bilinear in (x, W) and linear in b, so f(x + e v; W + e V) = W x
 * + e (W v + V x) + e^2 V v: the e^2 term cancels in the central difference,
 * which is exact up to rounding (~1e-10 for eps 1e-6); tolerance 1e-6. */
static void check_jvp_fd(setup *S, bool use_tx, bool use_tP, bool use_tb,
                         const char *what, const char *variant)
{
    const double eps = 1e-6;
    int64_t nx = fm_tensor_numel(&S->x), no = fm_tensor_numel(&S->out);
    fm_tensor outj, tan, op, om;
    fm_tensor_alloc(&outj, FM_FLOAT64, 4, S->out.shape);
    fm_tensor_alloc(&tan, FM_FLOAT64, 4, S->out.shape);
    fm_tensor_alloc(&op, FM_FLOAT64, 4, S->out.shape);
    fm_tensor_alloc(&om, FM_FLOAT64, 4, S->out.shape);
    set_all(&tan, 12345.0);   /* must be overwritten */

    fm_tensor txz = S->tx, tPz[2] = {S->tP[0], S->tP[1]};
    if (!use_tx)
        txz.data = NULL;
    if (!use_tb && S->np > 1)
        tPz[1].data = NULL;
    fm_status st = run_jvp(S, &txz, use_tP ? tPz : NULL, &outj, &tan);
    CHECK(st == FM_OK, "%s %s: jvp failed: %s", what, variant, fm_last_error());

    /* out of jvp equals forward's */
    run_forward(S, &S->x, S->P, &S->out);
    double dout = max_diff(&outj, &S->out);
    CHECK(dout <= 1e-13 * fmax(1, max_abs(&S->out)),
          "%s %s: jvp out differs from forward by %.3g", what, variant, dout);

    /* perturbed copies */
    fm_tensor xp, xm, Pp[2], Pm[2];
    fm_tensor_alloc(&xp, FM_FLOAT64, 4, S->x.shape);
    fm_tensor_alloc(&xm, FM_FLOAT64, 4, S->x.shape);
    const double *x = S->x.data, *tx = S->tx.data;
    for (int64_t i = 0; i < nx; i++) {
        double v = use_tx ? tx[i] : 0;
        ((double *)xp.data)[i] = x[i] + eps * v;
        ((double *)xm.data)[i] = x[i] - eps * v;
    }
    for (int j = 0; j < S->np; j++) {
        fm_tensor_alloc(&Pp[j], FM_FLOAT64, S->P[j].ndim, S->P[j].shape);
        fm_tensor_alloc(&Pm[j], FM_FLOAT64, S->P[j].ndim, S->P[j].shape);
        bool on = use_tP && (j == 0 || use_tb);
        const double *p = S->P[j].data, *tp = S->tP[j].data;
        for (int64_t i = 0; i < fm_tensor_numel(&S->P[j]); i++) {
            double v = on ? tp[i] : 0;
            ((double *)Pp[j].data)[i] = p[i] + eps * v;
            ((double *)Pm[j].data)[i] = p[i] - eps * v;
        }
    }
    run_forward(S, &xp, Pp, &op);
    run_forward(S, &xm, Pm, &om);
    double worst = 0;
    for (int64_t i = 0; i < no; i++) {
        double fd = (((double *)op.data)[i] - ((double *)om.data)[i]) / (2 * eps);
        double an = ((double *)tan.data)[i];
        worst = fmax(worst, fabs(an - fd) / fmax(1, fabs(fd)));
    }
    CHECK(worst < 1e-6, "%s %s: jvp vs finite differences: %.3g", what,
          variant, worst);
    fm_tensor_free(&xp); fm_tensor_free(&xm);
    for (int j = 0; j < S->np; j++) {
        fm_tensor_free(&Pp[j]); fm_tensor_free(&Pm[j]);
    }
    fm_tensor_free(&outj); fm_tensor_free(&tan);
    fm_tensor_free(&op); fm_tensor_free(&om);
}

static void test_config(const cfg *c, fm_rng *rng)
{
    setup S;
    setup_make(&S, c, FM_FLOAT64);
    int64_t eHo = (c->H + 2 * c->p - c->k) / c->s + 1;
    int64_t eWo = (c->W + 2 * c->p - c->k) / c->s + 1;
    CHECK(S.Ho == eHo && S.Wo == eWo, "%s: output %lldx%lld, expected %lldx%lld",
          c->what, (long long)S.Ho, (long long)S.Wo, (long long)eHo, (long long)eWo);
    CHECK(ops->saved_numel(&S.l, 1, &S.x) == 0, "%s: saved_numel", c->what);
    CHECK(ops->check(&S.l) == FM_OK, "%s: check: %s", c->what, fm_last_error());
    fill(&S.x, rng);
    for (int i = 0; i < S.np; i++)
        fill(&S.P[i], rng);
    fill(&S.dout, rng);
    fill(&S.tx, rng);
    for (int i = 0; i < S.np; i++)
        fill(&S.tP[i], rng);

    /* forward vs the direct reference */
    fm_tensor ref;
    fm_tensor_alloc(&ref, FM_FLOAT64, 4, S.out.shape);
    fm_status st = run_forward(&S, &S.x, S.P, &S.out);
    CHECK(st == FM_OK, "%s: forward failed: %s", c->what, fm_last_error());
    ref_forward(c, &S.x, &S.P[0], c->bias ? &S.P[1] : NULL, S.Ho, S.Wo, &ref);
    double e = max_diff(&S.out, &ref);
    CHECK(e <= 1e-12 * fmax(1, max_abs(&ref)), "%s: forward vs direct: %.3g",
          c->what, e);

    /* backward: accumulates onto a prefill */
    const double pre = 0.25;
    set_all(&S.gx, pre);
    for (int i = 0; i < S.np; i++)
        set_all(&S.gP[i], pre);
    st = run_backward(&S, &S.gx, S.gP);
    CHECK(st == FM_OK, "%s: backward failed: %s", c->what, fm_last_error());
    check_grad_fd(&S, &S.x, &S.gx, pre, c->what, "x");
    check_grad_fd(&S, &S.P[0], &S.gP[0], pre, c->what, "W");
    if (c->bias)
        check_grad_fd(&S, &S.P[1], &S.gP[1], pre, c->what, "b");

    /* skipped gradients: only x, only the params, only W */
    {
        fm_tensor gx2, gP2[2];
        fm_tensor_alloc(&gx2, FM_FLOAT64, 4, S.x.shape);
        for (int i = 0; i < S.np; i++)
            fm_tensor_alloc(&gP2[i], FM_FLOAT64, S.P[i].ndim, S.P[i].shape);
        fm_tensor nx = gx2, nP[2] = {gP2[0], gP2[1]};
        nx.data = NULL;
        for (int i = 0; i < S.np; i++) nP[i].data = NULL;
        set_all(&gx2, pre);
        run_backward(&S, &gx2, nP);
        CHECK(bitwise_equal(&gx2, &S.gx), "%s: grad x alone differs", c->what);
        for (int i = 0; i < S.np; i++) set_all(&gP2[i], pre);
        run_backward(&S, &nx, gP2);
        for (int i = 0; i < S.np; i++)
            CHECK(bitwise_equal(&gP2[i], &S.gP[i]), "%s: grad param %d alone differs",
                  c->what, i);
        if (c->bias) {
            fm_tensor only_w[2] = {gP2[0], nP[1]};
            set_all(&gP2[0], pre);
            run_backward(&S, NULL, only_w);  /* grad_in NULL as a whole */
            CHECK(bitwise_equal(&gP2[0], &S.gP[0]), "%s: grad W alone differs", c->what);
        }
        fm_tensor_free(&gx2);
        for (int i = 0; i < S.np; i++) fm_tensor_free(&gP2[i]);
    }

    /* jvp: all tangents, each alone, tan_params NULL, none */
    check_jvp_fd(&S, true, true, true, c->what, "(x, W, b)");
    check_jvp_fd(&S, true, false, false, c->what, "(x)");
    check_jvp_fd(&S, false, true, true, c->what, "(W, b)");
    check_jvp_fd(&S, false, true, false, c->what, "(W)");
    check_jvp_fd(&S, true, true, false, c->what, "(x, W)");
    check_jvp_fd(&S, false, false, false, c->what, "(none)");

    /* thread-count independence: one thread gives the same bits */
    {
        fm_tensor o1, g1x, g1P[2], t1o, t1;
        fm_tensor_alloc(&o1, FM_FLOAT64, 4, S.out.shape);
        fm_tensor_alloc(&t1o, FM_FLOAT64, 4, S.out.shape);
        fm_tensor_alloc(&t1, FM_FLOAT64, 4, S.out.shape);
        fm_tensor_alloc(&g1x, FM_FLOAT64, 4, S.x.shape);
        for (int i = 0; i < S.np; i++)
            fm_tensor_alloc(&g1P[i], FM_FLOAT64, S.P[i].ndim, S.P[i].shape);
        int nt = openblas_get_num_threads();
        fm_tensor jo;
        fm_tensor_alloc(&jo, FM_FLOAT64, 4, S.out.shape);
        run_forward(&S, &S.x, S.P, &S.out);
        run_jvp(&S, &S.tx, S.tP, &jo, &S.tout);
        openblas_set_num_threads(1);
        run_forward(&S, &S.x, S.P, &o1);
        set_all(&g1x, pre);
        for (int i = 0; i < S.np; i++) set_all(&g1P[i], pre);
        run_backward(&S, &g1x, g1P);
        run_jvp(&S, &S.tx, S.tP, &t1o, &t1);
        openblas_set_num_threads(nt);
        CHECK(bitwise_equal(&o1, &S.out), "%s: forward depends on threads", c->what);
        CHECK(bitwise_equal(&t1, &S.tout) && bitwise_equal(&t1o, &jo),
              "%s: jvp depends on threads", c->what);
        fm_tensor_free(&jo);
        CHECK(bitwise_equal(&g1x, &S.gx), "%s: grad x depends on threads", c->what);
        for (int i = 0; i < S.np; i++)
            CHECK(bitwise_equal(&g1P[i], &S.gP[i]), "%s: grad %d depends on threads",
                  c->what, i);
        fm_tensor_free(&o1); fm_tensor_free(&t1o); fm_tensor_free(&t1);
        fm_tensor_free(&g1x);
        for (int i = 0; i < S.np; i++) fm_tensor_free(&g1P[i]);
    }

    /* float32 against float64 on the same (float32-rounded) values */
    {
        setup F;
        setup_make(&F, c, FM_FLOAT32);
        copy_to(&F.x, &S.x); copy_to(&F.dout, &S.dout); copy_to(&F.tx, &S.tx);
        copy_to(&S.x, &F.x); copy_to(&S.dout, &F.dout); copy_to(&S.tx, &F.tx);
        for (int i = 0; i < S.np; i++) {
            copy_to(&F.P[i], &S.P[i]); copy_to(&S.P[i], &F.P[i]);
            copy_to(&F.tP[i], &S.tP[i]); copy_to(&S.tP[i], &F.tP[i]);
        }
        run_forward(&S, &S.x, S.P, &S.out);
        st = run_forward(&F, &F.x, F.P, &F.out);
        CHECK(st == FM_OK, "%s: f32 forward: %s", c->what, fm_last_error());
        double sc = fmax(1, max_abs(&S.out));
        e = max_diff(&F.out, &S.out) / sc;
        CHECK(e < 1e-5, "%s: float32 forward vs float64: %.3g", c->what, e);

        set_all(&S.gx, 0); set_all(&F.gx, 0);
        for (int i = 0; i < S.np; i++) { set_all(&S.gP[i], 0); set_all(&F.gP[i], 0); }
        run_backward(&S, &S.gx, S.gP);
        st = run_backward(&F, &F.gx, F.gP);
        CHECK(st == FM_OK, "%s: f32 backward: %s", c->what, fm_last_error());
        /* parameter gradients sum N Ho Wo terms: tolerance relative to the
         * largest gradient, 1e-5 of it */
        e = max_diff(&F.gx, &S.gx) / fmax(1, max_abs(&S.gx));
        CHECK(e < 1e-5, "%s: float32 grad x vs float64: %.3g", c->what, e);
        for (int i = 0; i < S.np; i++) {
            e = max_diff(&F.gP[i], &S.gP[i]) / fmax(1, max_abs(&S.gP[i]));
            CHECK(e < 1e-5, "%s: float32 grad %d vs float64: %.3g", c->what, i, e);
        }
        run_jvp(&S, &S.tx, S.tP, &S.out, &S.tout);
        st = run_jvp(&F, &F.tx, F.tP, &F.out, &F.tout);
        CHECK(st == FM_OK, "%s: f32 jvp: %s", c->what, fm_last_error());
        e = max_diff(&F.tout, &S.tout) / fmax(1, max_abs(&S.tout));
        CHECK(e < 1e-5, "%s: float32 jvp vs float64: %.3g", c->what, e);
        e = max_diff(&F.out, &S.out) / sc;
        CHECK(e < 1e-5, "%s: float32 jvp out vs float64: %.3g", c->what, e);
        setup_free(&F);
    }
    fm_tensor_free(&ref);
    setup_free(&S);
    printf("ok  %-34s N=%lld %lld->%lld %lldx%lld k%lld s%lld p%lld%s -> %lldx%lld\n",
           c->what, (long long)c->N, (long long)c->Cin, (long long)c->Cout,
           (long long)c->H, (long long)c->W, (long long)c->k, (long long)c->s,
           (long long)c->p, c->bias ? " bias" : "", (long long)eHo, (long long)eWo);
}

static void test_errors(void)
{
    cfg c = {2, 3, 4, 5, 5, 3, 1, 0, true, "errors"};
    fm_layer l = make_layer(&c, FM_FLOAT64);
    int nd;
    int64_t sh[4];
    fm_tensor x;
    int64_t xs[4] = {2, 2, 5, 5};
    fm_tensor_alloc(&x, FM_FLOAT64, 4, xs);
    fm_status st = ops->shape(&l, 1, &x, &nd, sh);
    CHECK(st == FM_ESHAPE && strstr(fm_last_error(), "conv2d")
          && strstr(fm_last_error(), "(2, 2, 5, 5)"),
          "wrong channels: %d %s", st, fm_last_error());
    printf("wrong channels: %s\n", fm_last_error());
    fm_tensor_free(&x);

    /* forward reports the same error */
    {
        int64_t ws[4] = {4, 3, 3, 3}, bs[1] = {4}, os[4] = {2, 4, 3, 3};
        fm_tensor P[2], out;
        fm_tensor_alloc(&P[0], FM_FLOAT64, 4, ws);
        fm_tensor_alloc(&P[1], FM_FLOAT64, 1, bs);
        fm_tensor_alloc(&out, FM_FLOAT64, 4, os);
        fm_tensor_alloc(&x, FM_FLOAT64, 4, xs);
        fm_layer_call call = {0};
        call.layer = &l; call.params = P; call.nin = 1; call.in = &x; call.out = &out;
        CHECK(ops->forward(&call) == FM_ESHAPE, "forward with wrong channels");
        call.grad_out = &out; call.grad_in = &x; call.grad_params = P;
        CHECK(ops->backward(&call) == FM_ESHAPE, "backward with wrong channels");
        call.tan_in = &x; call.tan_out = &out;
        CHECK(ops->jvp(&call) == FM_ESHAPE, "jvp with wrong channels");
        fm_tensor_free(&P[0]); fm_tensor_free(&P[1]); fm_tensor_free(&out);
        fm_tensor_free(&x);
    }

    int64_t small[4] = {1, 3, 2, 6};   /* H = 2 < k = 3, padding 0 */
    fm_tensor_alloc(&x, FM_FLOAT64, 4, small);
    st = ops->shape(&l, 1, &x, &nd, sh);
    CHECK(st == FM_ESHAPE && strstr(fm_last_error(), "conv2d"),
          "kernel larger than input: %d %s", st, fm_last_error());
    printf("kernel too large: %s\n", fm_last_error());
    l.padding = 1;   /* 2 + 2 >= 3: fits */
    st = ops->shape(&l, 1, &x, &nd, sh);
    CHECK(st == FM_OK && sh[2] == 2 && sh[3] == 6, "padded fit: %d %s", st,
          fm_last_error());
    l.padding = 0;
    fm_tensor_free(&x);
    int64_t wide[4] = {1, 3, 6, 1};   /* W = 1 < k = 3 */
    fm_tensor_alloc(&x, FM_FLOAT64, 4, wide);
    st = ops->shape(&l, 1, &x, &nd, sh);
    CHECK(st == FM_ESHAPE, "kernel wider than input: %d %s", st, fm_last_error());
    fm_tensor_free(&x);

    int64_t three[3] = {3, 5, 5};
    fm_tensor_alloc(&x, FM_FLOAT64, 3, three);
    st = ops->shape(&l, 1, &x, &nd, sh);
    CHECK(st == FM_ESHAPE && strstr(fm_last_error(), "conv2d")
          && strstr(fm_last_error(), "(3, 5, 5)"),
          "not 4-D: %d %s", st, fm_last_error());
    printf("not 4-D: %s\n", fm_last_error());
    fm_tensor_free(&x);

    int64_t ok[4] = {1, 3, 5, 5};
    fm_tensor two[2];
    fm_tensor_alloc(&two[0], FM_FLOAT64, 4, ok);
    fm_tensor_alloc(&two[1], FM_FLOAT64, 4, ok);
    st = ops->shape(&l, 2, two, &nd, sh);
    CHECK(st == FM_ESHAPE && strstr(fm_last_error(), "conv2d"),
          "two inputs: %d %s", st, fm_last_error());
    fm_tensor_free(&two[0]);
    fm_tensor_free(&two[1]);

    /* check(): the configuration */
    fm_layer b = l;
    CHECK(ops->check(&b) == FM_OK, "valid layer: %s", fm_last_error());
    b = l; b.in = 0;
    CHECK(ops->check(&b) == FM_EVALUE, "in = 0");
    b = l; b.out = 0;
    CHECK(ops->check(&b) == FM_EVALUE, "out = 0");
    b = l; b.kernel = 0;
    CHECK(ops->check(&b) == FM_EVALUE, "kernel = 0");
    b = l; b.stride = 0;
    CHECK(ops->check(&b) == FM_EVALUE, "stride = 0");
    b = l; b.padding = -1;
    CHECK(ops->check(&b) == FM_EVALUE && strstr(fm_last_error(), "conv2d"),
          "padding = -1");
    printf("bad padding: %s\n", fm_last_error());

    /* nparams / param_shape */
    CHECK(ops->nparams(&l) == 2, "nparams with bias");
    b = l; b.bias = false;
    CHECK(ops->nparams(&b) == 1, "nparams without bias");
    ops->param_shape(&l, 0, &nd, sh);
    CHECK(nd == 4 && sh[0] == 4 && sh[1] == 3 && sh[2] == 3 && sh[3] == 3,
          "W shape");
    ops->param_shape(&l, 1, &nd, sh);
    CHECK(nd == 1 && sh[0] == 4, "b shape");
    CHECK(strcmp(ops->name, "conv2d") == 0, "name");
}

int main(void)
{
    fm_rng rng;
    fm_rng_seed(&rng, 20240607);
    /* Chunking (conv2d.c): nb = ceil(1024 / (Ho Wo)) images per GEMM, at most
     * the part's images (the batch is split in 2 parts for N >= 2), so
     * N = 2 runs one image per GEMM, N = 5 at 3x3 chunks of 2 and 3, N = 8
     * at 20x20 (nb 3) chunks of 3 and 1; 1x1 s1 p0 is always one image per
     * GEMM on the image itself. */
    const cfg cfgs[] = {
        {2, 3, 4, 6, 6, 3, 1, 1, true,  "k3 s1 p1 even"},
        {2, 3, 4, 5, 7, 3, 1, 1, false, "k3 s1 p1 odd, no bias"},
        {2, 2, 3, 7, 7, 3, 2, 1, true,  "k3 s2 p1 odd"},
        {2, 2, 3, 8, 8, 3, 2, 1, false, "k3 s2 p1 even, no bias"},
        {2, 2, 3, 7, 8, 3, 2, 1, true,  "k3 s2 p1 7x8"},
        {2, 2, 3, 8, 7, 3, 2, 0, true,  "k3 s2 p0 8x7"},
        {3, 4, 5, 6, 5, 1, 1, 0, true,  "1x1 N=3"},
        {1, 3, 2, 5, 7, 1, 1, 0, true,  "1x1 batch 1"},
        {2, 3, 2, 6, 6, 1, 1, 0, false, "1x1 N=2, no bias"},
        {2, 2, 3, 6, 6, 2, 2, 0, true,  "k2 s2 p0"},
        {2, 2, 3, 7, 5, 2, 2, 0, true,  "k2 s2 p0 odd"},
        {5, 2, 3, 3, 3, 3, 1, 1, true,  "chunked 3x3 N=5"},
        {5, 3, 2, 4, 3, 3, 1, 1, false, "chunked 4x3 N=5, no bias"},
        {8, 1, 2, 20, 20, 3, 1, 1, true, "chunked 20x20, partial chunk"},
        {6, 2, 3, 7, 7, 3, 2, 1, true,  "chunked s2 7x7 N=6"},
        {3, 1, 2, 32, 32, 3, 1, 1, true, "P = 1024: one image per GEMM"},
        {1, 2, 2, 5, 5, 3, 1, 1, true,  "batch 1"},
        {1, 2, 3, 5, 4, 3, 2, 1, false, "batch 1 s2, no bias"},
        {2, 2, 2, 9, 8, 5, 3, 2, true,  "k5 s3 p2"},
        {2, 2, 2, 1, 3, 3, 1, 1, true,  "kernel = padded height"},
        {3, 2, 3, 4, 4, 3, 1, 0, true,  "k3 p0"},
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
        test_config(&cfgs[i], &rng);
    test_errors();
    if (failures)
        printf("%d failure(s)\n", failures);
    else
        printf("all conv2d tests passed\n");
    return failures != 0;
}
