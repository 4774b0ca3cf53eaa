/* linear.c — the linear layer: y = x W + b over the last dimension
 * (x (..., in), W (in, out), b (out); W is the transpose of torch's
 * nn.Linear.weight, so that forward is one row-major GEMM).
 *   backward: dx += g W^T, dW += x^T g, db += column sums of g
 *   jvp:      ty = tx W + x tW + tb
 * OpenBLAS threads its own GEMMs; the rows are not split further. */
#include "nn/layer.h"

#include <string.h>

static fm_status check(const fm_layer *l)
{
    if (l->in < 1 || l->out < 1)
        return fm_error(FM_EVALUE, "linear: sizes must be >= 1, got %lld -> %lld",
                        (long long)l->in, (long long)l->out);
    return FM_OK;
}

static int nparams(const fm_layer *l) { return l->bias ? 2 : 1; }

static void param_shape(const fm_layer *l, int i, int *ndim, int64_t *shape)
{
    if (i == 0) {
        *ndim = 2;
        shape[0] = l->in;
        shape[1] = l->out;
    } else {
        *ndim = 1;
        shape[0] = l->out;
    }
}

static fm_status shape(const fm_layer *l, int nin, const fm_tensor *in, int *ndim,
                       int64_t *sh)
{
    (void)nin;
    char buf[FM_SHAPE_STR_MAX];
    if (in->ndim < 1 || in->shape[in->ndim - 1] != l->in)
        return fm_error(FM_ESHAPE, "linear: input %s, the layer takes (..., %lld)",
                        fm_shape_str(in, buf, sizeof buf), (long long)l->in);
    *ndim = in->ndim;
    memcpy(sh, in->shape, sizeof(int64_t) * (size_t)in->ndim);
    sh[in->ndim - 1] = l->out;
    return FM_OK;
}

static int64_t saved_numel(const fm_layer *l, int nin, const fm_tensor *in)
{
    (void)l; (void)nin; (void)in;
    return 0;
}

static int64_t rows_of(const fm_layer *l, const fm_tensor *x)
{
    return fm_tensor_numel(x) / l->in;
}

/* y (rows, out) = b broadcast over rows (or 0). */
static void set_bias(const fm_layer *l, int64_t rows, const fm_tensor *b, void *y)
{
    size_t es = fm_dtype_size(l->dtype), row = (size_t)l->out * es;
    for (int64_t i = 0; i < rows; i++) {
        if (b)
            memcpy((char *)y + (size_t)i * row, b->data, row);
        else
            memset((char *)y + (size_t)i * row, 0, row);
    }
}

static fm_status forward(const fm_layer_call *c)
{
    const fm_layer *l = c->layer;
    int64_t rows = rows_of(l, c->in);
    set_bias(l, rows, l->bias ? &c->params[1] : NULL, c->out->data);
    fm_nn_gemm(l->dtype, false, false, rows, l->out, l->in, c->in->data, l->in,
               c->params[0].data, l->out, 1.0, c->out->data, l->out);
    return FM_OK;
}

/* db += column sums of g (rows, n). */
static void colsum_add(fm_dtype dt, int64_t rows, int64_t n, const void *g, void *db)
{
    for (int64_t i = 0; i < rows; i++) {
        if (dt == FM_FLOAT32) {
            const float *r = (const float *)g + i * n;
            float *d = db;
            for (int64_t j = 0; j < n; j++) d[j] += r[j];
        } else {
            const double *r = (const double *)g + i * n;
            double *d = db;
            for (int64_t j = 0; j < n; j++) d[j] += r[j];
        }
    }
}

static fm_status backward(const fm_layer_call *c)
{
    const fm_layer *l = c->layer;
    int64_t rows = rows_of(l, c->in);
    const void *g = c->grad_out->data;
    if (c->grad_in && c->grad_in[0].data)
        fm_nn_gemm(l->dtype, false, true, rows, l->in, l->out, g, l->out,
                   c->params[0].data, l->out, 1.0, c->grad_in[0].data, l->in);
    if (c->grad_params && c->grad_params[0].data)
        fm_nn_gemm(l->dtype, true, false, l->in, l->out, rows, c->in->data, l->in,
                   g, l->out, 1.0, c->grad_params[0].data, l->out);
    if (l->bias && c->grad_params && c->grad_params[1].data)
        colsum_add(l->dtype, rows, l->out, g, c->grad_params[1].data);
    return FM_OK;
}

static fm_status jvp(const fm_layer_call *c)
{
    const fm_layer *l = c->layer;
    int64_t rows = rows_of(l, c->in);
    forward(c);
    const fm_tensor *tp = c->tan_params;
    bool tb = l->bias && tp && tp[1].data;
    set_bias(l, rows, tb ? &tp[1] : NULL, c->tan_out->data);
    if (c->tan_in[0].data)
        fm_nn_gemm(l->dtype, false, false, rows, l->out, l->in, c->tan_in[0].data,
                   l->in, c->params[0].data, l->out, 1.0, c->tan_out->data, l->out);
    if (tp && tp[0].data)
        fm_nn_gemm(l->dtype, false, false, rows, l->out, l->in, c->in->data, l->in,
                   tp[0].data, l->out, 1.0, c->tan_out->data, l->out);
    return FM_OK;
}

const fm_layer_ops fm_layer_linear_ops = {
    .name = "linear", .check = check, .nparams = nparams,
    .param_shape = param_shape, .shape = shape, .saved_numel = saved_numel,
    .forward = forward, .backward = backward, .jvp = jvp,
};
