/* mlp_layer.c — the fused MLP (nn/mlp.h) as one layer kind: the layer's
 * forward, backward and tangent forward are fm_mlp_forward / _backward /
 * _jvp, with the fused MLP's own row-block, chunking and thread plan. What
 * backward needs stays in the caller's fm_mlp_work (c->state), as the MLP
 * keeps it per part and chunk. */
#include "nn/layer.h"

#include <string.h>

static fm_status check(const fm_layer *l)
{
    if (l->mlp.nlayers < 1 || l->mlp.dtype != l->dtype)
        return fm_error(FM_EVALUE, "mlp: the layer's network is not set up");
    return FM_OK;
}

static int nparams(const fm_layer *l) { return fm_mlp_nparams(&l->mlp); }

static void param_shape(const fm_layer *l, int i, int *ndim, int64_t *shape)
{
    fm_mlp_param_shape(&l->mlp, i, ndim, shape);
}

static fm_status shape(const fm_layer *l, int nin, const fm_tensor *in, int *ndim,
                       int64_t *sh)
{
    (void)nin;
    char buf[FM_SHAPE_STR_MAX];
    if (in->ndim != 2 || in->shape[1] != l->mlp.sizes[0])
        return fm_error(FM_ESHAPE, "mlp: input %s, the network takes (B, %lld)",
                        fm_shape_str(in, buf, sizeof buf), (long long)l->mlp.sizes[0]);
    *ndim = 2;
    sh[0] = in->shape[0];
    sh[1] = l->mlp.sizes[l->mlp.nlayers];
    return FM_OK;
}

static int64_t saved_numel(const fm_layer *l, int nin, const fm_tensor *in)
{
    (void)l; (void)nin; (void)in;
    return 0;
}

static fm_status need_state(const fm_layer_call *c)
{
    return c->state ? FM_OK
                    : fm_error(FM_EVALUE, "mlp: the layer call has no workspace");
}

static fm_status forward(const fm_layer_call *c)
{
    fm_status st = need_state(c);
    return st ? st : fm_mlp_forward(&c->layer->mlp, c->params, c->in, c->out,
                                    c->state, c->keep);
}

static fm_status backward(const fm_layer_call *c)
{
    const fm_mlp *m = &c->layer->mlp;
    fm_status st = need_state(c);
    if (st)
        return st;
    int np = fm_mlp_nparams(m);
    fm_tensor G[FM_LAYER_MAX_PARAMS];
    for (int i = 0; i < np; i++) {
        if (!c->grad_params || !c->grad_params[i].data)
            return fm_error(FM_EVALUE, "mlp: backward needs every parameter gradient");
        G[i] = c->grad_params[i];
    }
    fm_tensor gx, *pgx = NULL;
    size_t es = fm_dtype_size(m->dtype);
    if (c->grad_in && c->grad_in[0].data) { /* computed aside, then added */
        gx = c->grad_in[0];
        gx.data = fm_nn_scratch((size_t)fm_tensor_numel(&gx) * es);
        if (!gx.data)
            return fm_error(FM_ENOMEM, "mlp: out of memory for the input gradient");
        pgx = &gx;
    }
    st = fm_mlp_backward(m, c->params, c->state, c->grad_out, G, !c->fresh_grads, pgx);
    if (!st && pgx) {
        int64_t n = fm_tensor_numel(pgx);
        if (m->dtype == FM_FLOAT32) {
            float *d = c->grad_in[0].data;
            const float *s = gx.data;
            for (int64_t i = 0; i < n; i++) d[i] += s[i];
        } else {
            double *d = c->grad_in[0].data;
            const double *s = gx.data;
            for (int64_t i = 0; i < n; i++) d[i] += s[i];
        }
    }
    return st;
}

static fm_status jvp(const fm_layer_call *c)
{
    fm_status st = need_state(c);
    return st ? st : fm_mlp_jvp(&c->layer->mlp, c->params, c->in, &c->tan_in[0],
                                c->tan_params, c->out, c->tan_out, c->state);
}

const fm_layer_ops fm_layer_mlp_ops = {
    .name = "mlp", .check = check, .nparams = nparams,
    .param_shape = param_shape, .shape = shape, .saved_numel = saved_numel,
    .forward = forward, .backward = backward, .jvp = jvp, .overwrites = true,
};
