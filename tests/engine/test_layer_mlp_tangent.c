/* test_layer_mlp_tangent.c — the layer kind mlp_tangent (nn/mlp_tangent.c):
 * ty = J_x mlp(x) tx. Forward against central differences of a naive MLP
 * along tx; backward (the gradients of <g, ty> with respect to every
 * parameter, x and tx) against central differences of the layer's own
 * forward, in float64 for every activation and depth; float32 against
 * float64; the errors. A central difference with e = 1e-6 errs by
 * O(e^2 f''') + O(1e-16 / e) ~ 1e-10 here, hence 1e-7. */
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

#define B 5
#define MAXP 8
static fm_rng rng;

typedef struct {
    fm_layer l;
    fm_tensor P[MAXP];
    fm_tensor x, tx, out;
} setup;

static void fill(fm_tensor *t)
{
    for (int64_t i = 0; i < fm_tensor_numel(t); i++)
        fm_tensor_set(t, i, fm_rng_uniform01(&rng) * 2 - 1);
}

static void mk(setup *s, fm_dtype dt, int n, const int64_t *sizes, fm_act act)
{
    memset(s, 0, sizeof *s);
    s->l = fm_layer_default(FM_LAYER_MLP_TANGENT);
    s->l.dtype = dt;
    if (fm_mlp_init(&s->l.mlp, n, sizes, act, dt) != FM_OK) abort();
    for (int i = 0; i < fm_layer_nparams(&s->l); i++) {
        int nd;
        int64_t sh[2];
        fm_layer_param_shape(&s->l, i, &nd, sh);
        if (fm_tensor_alloc(&s->P[i], dt, nd, sh) != FM_OK) abort();
        fill(&s->P[i]);
    }
    int64_t xs[2] = {B, sizes[0]}, os[2] = {B, sizes[n - 1]};
    if (fm_tensor_alloc(&s->x, dt, 2, xs) || fm_tensor_alloc(&s->tx, dt, 2, xs) ||
        fm_tensor_alloc(&s->out, dt, 2, os))
        abort();
    fill(&s->x);
    fill(&s->tx);
}

static void release(setup *s)
{
    for (int i = 0; i < fm_layer_nparams(&s->l); i++) fm_tensor_free(&s->P[i]);
    fm_tensor_free(&s->x);
    fm_tensor_free(&s->tx);
    fm_tensor_free(&s->out);
}

static fm_status run_forward(setup *s, fm_tensor *saved)
{
    fm_tensor in[2] = {s->x, s->tx};
    fm_layer_call c = {.layer = &s->l, .params = s->P, .nin = 2, .in = in,
                       .out = &s->out, .saved = saved, .keep = saved != NULL};
    return fm_layer_forward(&c);
}

static double act_of(fm_act a, double v)
{
    switch (a) {
    case FM_ACT_SILU: return v / (1 + exp(-v));
    case FM_ACT_TANH: return tanh(v);
    case FM_ACT_SIGMOID: return 1 / (1 + exp(-v));
    case FM_ACT_RELU: return v > 0 ? v : 0;
    case FM_ACT_GELU: {
        double u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
        return v / (1 + exp(-2 * u));
    }
    default: return v;
    }
}

/* naive mlp(x + e tx), row r, output j */
static double naive(const setup *s, int64_t r, int64_t j, double e)
{
    const fm_mlp *m = &s->l.mlp;
    double h[64], z[64];
    for (int64_t k = 0; k < m->sizes[0]; k++)
        h[k] = fm_tensor_get(&s->x, r * m->sizes[0] + k) +
               e * fm_tensor_get(&s->tx, r * m->sizes[0] + k);
    for (int l = 0; l < m->nlayers; l++) {
        int64_t K = m->sizes[l], N = m->sizes[l + 1];
        for (int64_t n = 0; n < N; n++) {
            z[n] = fm_tensor_get(&s->P[2 * l + 1], n);
            for (int64_t k = 0; k < K; k++) z[n] += h[k] * fm_tensor_get(&s->P[2 * l], k * N + n);
        }
        for (int64_t n = 0; n < N; n++) h[n] = l < m->nlayers - 1 ? act_of(m->act, z[n]) : z[n];
    }
    return h[j];
}

/* <g, ty> of the layer's forward */
static double pairing(setup *s, const fm_tensor *g)
{
    if (run_forward(s, NULL) != FM_OK) abort();
    double sum = 0;
    for (int64_t i = 0; i < fm_tensor_numel(g); i++)
        sum += fm_tensor_get(g, i) * fm_tensor_get(&s->out, i);
    return sum;
}

/* max |analytic - central difference| over every element of t */
static double fd_error(setup *s, fm_tensor *t, const fm_tensor *grad, const fm_tensor *g)
{
    double e = 1e-6, worst = 0;
    for (int64_t i = 0; i < fm_tensor_numel(t); i++) {
        double v = fm_tensor_get(t, i);
        fm_tensor_set(t, i, v + e);
        double up = pairing(s, g);
        fm_tensor_set(t, i, v - e);
        double dn = pairing(s, g);
        fm_tensor_set(t, i, v);
        double d = fabs((up - dn) / (2 * e) - fm_tensor_get(grad, i));
        if (d > worst) worst = d;
    }
    return worst;
}

static void test_case(int n, const int64_t *sizes, fm_act act)
{
    setup s;
    mk(&s, FM_FLOAT64, n, sizes, act);
    int64_t ns = fm_layer_saved_numel(&s.l, 2, (fm_tensor[]){s.x, s.tx});
    fm_tensor saved;
    memset(&saved, 0, sizeof saved);
    if (ns > 0 && fm_tensor_alloc(&saved, FM_FLOAT64, 1, &ns) != FM_OK) abort();
    CHECK(run_forward(&s, ns > 0 ? &saved : NULL) == FM_OK, "forward");
    double e = 1e-6, worst = 0;
    int64_t O = sizes[n - 1];
    for (int64_t r = 0; r < B; r++)
        for (int64_t j = 0; j < O; j++) {
            double fd = (naive(&s, r, j, e) - naive(&s, r, j, -e)) / (2 * e);
            double d = fabs(fd - fm_tensor_get(&s.out, r * O + j));
            if (d > worst) worst = d;
        }
    CHECK(worst < 1e-7, "%s depth %d: forward error %g", fm_act_name(act), n - 1, worst);
    /* backward of <g, ty> */
    fm_tensor g, gin[2], gp[MAXP];
    int64_t os[2] = {B, O};
    if (fm_tensor_alloc(&g, FM_FLOAT64, 2, os) != FM_OK) abort();
    fill(&g);
    for (int i = 0; i < 2; i++) {
        if (fm_tensor_alloc(&gin[i], FM_FLOAT64, 2, s.x.shape) != FM_OK) abort();
        memset(gin[i].data, 0, fm_tensor_nbytes(&gin[i]));
    }
    int np = fm_layer_nparams(&s.l);
    for (int i = 0; i < np; i++) {
        if (fm_tensor_alloc(&gp[i], FM_FLOAT64, s.P[i].ndim, s.P[i].shape) != FM_OK) abort();
        memset(gp[i].data, 0, fm_tensor_nbytes(&gp[i]));
    }
    fm_tensor in[2] = {s.x, s.tx};
    fm_layer_call c = {.layer = &s.l, .params = s.P, .nin = 2, .in = in, .out = &s.out,
                       .saved = ns > 0 ? &saved : NULL, .grad_out = &g, .grad_in = gin,
                       .grad_params = gp};
    CHECK(fm_layer_backward(&c) == FM_OK, "backward");
    for (int i = 0; i < np; i++) {
        double err = fd_error(&s, &s.P[i], &gp[i], &g);
        CHECK(err < 1e-7, "%s depth %d: parameter %d gradient error %g", fm_act_name(act),
              n - 1, i + 1, err);
    }
    CHECK(fd_error(&s, &s.x, &gin[0], &g) < 1e-7, "%s: x gradient", fm_act_name(act));
    CHECK(fd_error(&s, &s.tx, &gin[1], &g) < 1e-7, "%s: tx gradient", fm_act_name(act));
    for (int i = 0; i < np; i++) fm_tensor_free(&gp[i]);
    for (int i = 0; i < 2; i++) fm_tensor_free(&gin[i]);
    fm_tensor_free(&g);
    if (ns > 0) fm_tensor_free(&saved);
    release(&s);
}

/* float32 forward equals float64's to float32 precision */
static void test_float32(void)
{
    int64_t sizes[] = {4, 16, 16, 3};
    setup a, b;
    fm_rng_seed(&rng, 3);
    mk(&a, FM_FLOAT64, 4, sizes, FM_ACT_SILU);
    fm_rng_seed(&rng, 3);
    mk(&b, FM_FLOAT32, 4, sizes, FM_ACT_SILU);
    CHECK(run_forward(&a, NULL) == FM_OK && run_forward(&b, NULL) == FM_OK, "forwards");
    double worst = 0;
    for (int64_t i = 0; i < fm_tensor_numel(&a.out); i++) {
        double d = fabs(fm_tensor_get(&a.out, i) - fm_tensor_get(&b.out, i));
        if (d > worst) worst = d;
    }
    CHECK(worst < 1e-5, "float32 vs float64: %g", worst);
    release(&a);
    release(&b);
}

static void test_errors(void)
{
    int64_t sizes[] = {3, 8, 2};
    setup s;
    mk(&s, FM_FLOAT64, 3, sizes, FM_ACT_TANH);
    int64_t bad[2] = {B, 4};
    fm_tensor t4;
    if (fm_tensor_alloc(&t4, FM_FLOAT64, 2, bad) != FM_OK) abort();
    fm_tensor in[2] = {s.x, t4};
    fm_layer_call c = {.layer = &s.l, .params = s.P, .nin = 2, .in = in, .out = &s.out};
    CHECK(fm_layer_forward(&c) == FM_ESHAPE, "a tangent of another shape is refused");
    c.nin = 1;
    CHECK(fm_layer_forward(&c) == FM_EVALUE, "one input is refused");
    fm_tensor in2[2] = {s.x, s.tx};
    fm_tensor g;
    int64_t os[2] = {B, 2};
    if (fm_tensor_alloc(&g, FM_FLOAT64, 2, os) != FM_OK) abort();
    fm_layer_call cb = {.layer = &s.l, .params = s.P, .nin = 2, .in = in2, .out = &s.out,
                        .grad_out = &g};
    CHECK(fm_layer_backward(&cb) == FM_EVALUE, "backward without kept activations is refused");
    CHECK(fm_layer_jvp(&cb) != FM_OK, "no tangent of the tangent");
    fm_tensor_free(&g);
    fm_tensor_free(&t4);
    release(&s);
}

int main(void)
{
    fm_rng_seed(&rng, 42);
    const fm_act acts[] = {FM_ACT_SILU, FM_ACT_TANH, FM_ACT_GELU, FM_ACT_SIGMOID, FM_ACT_RELU};
    const int64_t d1[] = {3, 2}, d2[] = {3, 7, 2}, d4[] = {4, 6, 5, 7, 3};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        test_case(2, d1, acts[a]);
        test_case(3, d2, acts[a]);
        test_case(5, d4, acts[a]);
    }
    test_float32();
    test_errors();
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("test_layer_mlp_tangent: all passed\n");
    return 0;
}
