/* activation.c — an elementwise activation as a layer (ops/act.h's
 * kernels): y = act(x); backward dx += g act'(x); jvp ty = act'(x) tx.
 * Large tensors are split in two halves on the worker pool (elementwise,
 * so the result does not depend on the split). */
#include "nn/layer.h"

#include <string.h>

static fm_status check(const fm_layer *l) { (void)l; return FM_OK; }
static int nparams(const fm_layer *l) { (void)l; return 0; }
static void param_shape(const fm_layer *l, int i, int *ndim, int64_t *shape)
{
    (void)l; (void)i; (void)shape;
    *ndim = 0;
}

static fm_status shape(const fm_layer *l, int nin, const fm_tensor *in, int *ndim,
                       int64_t *sh)
{
    (void)l; (void)nin;
    *ndim = in->ndim;
    memcpy(sh, in->shape, sizeof(int64_t) * (size_t)in->ndim);
    return FM_OK;
}

static int64_t saved_numel(const fm_layer *l, int nin, const fm_tensor *in)
{
    (void)l; (void)nin; (void)in;
    return 0;
}

typedef struct {
    const fm_layer_call *c;
    int mode;            /* 0 forward, 1 backward, 2 jvp */
    int64_t n;
} ctx;

/* The element range of part p: multiples of 64 elements (no shared lines). */
static void range(int64_t n, int parts, int p, int64_t *lo, int64_t *hi)
{
    int64_t blocks = (n + 63) / 64, a, b;
    fm_nn_part_range(blocks, parts, p, &a, &b);
    *lo = a * 64 < n ? a * 64 : n;
    *hi = b * 64 < n ? b * 64 : n;
}

static void part(void *vctx, int p)
{
    ctx *x = vctx;
    const fm_layer_call *c = x->c;
    fm_dtype dt = c->layer->dtype;
    fm_act act = c->layer->act;
    size_t es = fm_dtype_size(dt);
    int64_t lo, hi;
    range(x->n, x->n >= 65536 ? 2 : 1, p, &lo, &hi);
    if (lo >= hi)
        return;
#define AT(t) ((char *)(t)->data + lo * (int64_t)es)
    const char *in = AT(c->in);
    if (x->mode == 0) {
        fm_act_apply(dt, act, hi - lo, in, AT(c->out), NULL);
    } else if (x->mode == 1) {
        /* dx += g act'(x), through blocks of act' */
        double buf[512];
        int64_t blk = (int64_t)(sizeof buf / es);
        const char *g = AT(c->grad_out);
        char *dx = AT(&c->grad_in[0]);
        for (int64_t i = 0; i < hi - lo; i += blk) {
            int64_t m = hi - lo - i < blk ? hi - lo - i : blk;
            fm_act_apply(dt, act, m, in + i * (int64_t)es, NULL, buf);
            if (dt == FM_FLOAT32) {
                const float *gg = (const float *)g + i, *d = (const float *)buf;
                float *o = (float *)dx + i;
                for (int64_t j = 0; j < m; j++) o[j] += gg[j] * d[j];
            } else {
                const double *gg = (const double *)g + i;
                double *o = (double *)dx + i;
                for (int64_t j = 0; j < m; j++) o[j] += gg[j] * buf[j];
            }
        }
    } else {
        char *to = AT(c->tan_out);
        fm_act_apply(dt, act, hi - lo, in, AT(c->out), to);
        if (c->tan_in[0].data) {
            const char *tx = AT(&c->tan_in[0]);
            if (dt == FM_FLOAT32)
                for (int64_t j = 0; j < hi - lo; j++)
                    ((float *)to)[j] *= ((const float *)tx)[j];
            else
                for (int64_t j = 0; j < hi - lo; j++)
                    ((double *)to)[j] *= ((const double *)tx)[j];
        } else {
            memset(to, 0, (size_t)(hi - lo) * es);
        }
    }
#undef AT
}

static fm_status run(const fm_layer_call *c, int mode)
{
    ctx x = {c, mode, fm_tensor_numel(c->in)};
    fm_nn_parallel(x.n >= 65536 ? 2 : 1, part, &x);
    return FM_OK;
}

static fm_status forward(const fm_layer_call *c) { return run(c, 0); }
static fm_status backward(const fm_layer_call *c)
{
    return c->grad_in && c->grad_in[0].data ? run(c, 1) : FM_OK;
}
static fm_status jvp(const fm_layer_call *c) { return run(c, 2); }

const fm_layer_ops fm_layer_act_ops = {
    .name = "act", .check = check, .nparams = nparams,
    .param_shape = param_shape, .shape = shape, .saved_numel = saved_numel,
    .forward = forward, .backward = backward, .jvp = jvp,
};
