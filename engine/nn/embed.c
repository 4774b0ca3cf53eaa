/* embed.c — the embedding layer kind (nn/layer.h): rows of a table.
 *
 * l->in = n rows, l->out = dim, l->index_base = b (the number of the first
 * row: 1 from Lua, 0 from C). Parameter W (n, dim). The input is an int64
 * tensor of any shape (the one input that does not have the layer's dtype);
 *   out[..., :] = W[idx - b, :]                    (shape (input..., dim))
 *   backward:   gW[idx - b, :] += grad_out[..., :] (no gradient for indices)
 *   jvp:        tan_out[..., :] = tW[idx - b, :]   (0 without tW)
 * Every index is checked against [b, b + n) before anything is written.
 *
 * No saved state, no scratch. The work is row copies (and adds) of dim
 * elements per index, a few hundred bytes each for the labels of a batch:
 * it runs on the calling thread, in index order, so the scatter-add of
 * backward (repeated indices add into the same row) is deterministic.
 */
#include "nn/layer.h"

#include <string.h>

static fm_status emb_check(const fm_layer *l)
{
    if (l->dtype != FM_FLOAT32 && l->dtype != FM_FLOAT64)
        return fm_error(FM_ETYPE, "embedding: dtype must be float32 or float64, "
                        "got %s", fm_dtype_name(l->dtype));
    if (l->in < 1 || l->out < 1)
        return fm_error(FM_EVALUE, "embedding: rows and dim must be >= 1, got "
                        "%lld rows of %lld", (long long)l->in, (long long)l->out);
    return FM_OK;
}

static int emb_nparams(const fm_layer *l) { (void)l; return 1; }

static void emb_param_shape(const fm_layer *l, int i, int *ndim, int64_t *shape)
{
    (void)i;
    *ndim = 2;
    shape[0] = l->in;
    shape[1] = l->out;
}

static fm_status emb_shape(const fm_layer *l, int nin, const fm_tensor *in,
                           int *ndim, int64_t *shape)
{
    fm_status st = emb_check(l);
    if (st)
        return st;
    if (nin != 1 || !in)
        return fm_error(FM_EVALUE, "embedding: takes 1 input (the indices), "
                        "got %d", nin);
    char buf[FM_SHAPE_STR_MAX];
    if (in[0].dtype != FM_INT64)
        return fm_error(FM_ETYPE, "embedding: the indices must be int64, got %s "
                        "(input %s)", fm_dtype_name(in[0].dtype),
                        fm_shape_str(&in[0], buf, sizeof buf));
    if (in[0].ndim + 1 > FM_MAX_DIMS)
        return fm_error(FM_ESHAPE, "embedding: input %s has %d dims, at most %d "
                        "(the output adds one)", fm_shape_str(&in[0], buf, sizeof buf),
                        in[0].ndim, FM_MAX_DIMS - 1);
    *ndim = in[0].ndim + 1;
    for (int i = 0; i < in[0].ndim; i++)
        shape[i] = in[0].shape[i];
    shape[in[0].ndim] = l->out;
    return FM_OK;
}

static int64_t emb_saved_numel(const fm_layer *l, int nin, const fm_tensor *in)
{
    (void)l; (void)nin; (void)in;
    return 0;
}

/* Checks the shapes of the call, the table's shape and every index. */
static fm_status emb_validate(const fm_layer_call *c, const char *op,
                              const fm_tensor *o, const char *oname)
{
    const fm_layer *l = c->layer;
    int nd;
    int64_t sh[FM_MAX_DIMS];
    fm_status st = emb_shape(l, c->nin, c->in, &nd, sh);
    if (st)
        return st;
    char b1[FM_SHAPE_STR_MAX], b2[FM_SHAPE_STR_MAX];
    bool ok = o && o->data && o->ndim == nd && o->dtype == l->dtype;
    for (int a = 0; ok && a < nd; a++)
        ok = o->shape[a] == sh[a];
    if (!ok)
        return fm_error(FM_ESHAPE, "embedding %s: %s must be %s (input..., %lld), "
                        "got %s (input %s)", op, oname, fm_dtype_name(l->dtype),
                        (long long)l->out, o ? fm_shape_str(o, b1, sizeof b1) : "none",
                        fm_shape_str(&c->in[0], b2, sizeof b2));
    const fm_tensor *W = c->params;
    if (!W || !W->data || W->ndim != 2 || W->shape[0] != l->in ||
        W->shape[1] != l->out || W->dtype != l->dtype)
        return fm_error(FM_ESHAPE, "embedding %s: W must be %s (%lld, %lld), got %s",
                        op, fm_dtype_name(l->dtype), (long long)l->in,
                        (long long)l->out, W ? fm_shape_str(W, b1, sizeof b1) : "none");
    const int64_t *idx = c->in[0].data;
    int64_t n = fm_tensor_numel(&c->in[0]), base = l->index_base, rows = l->in;
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < base || idx[i] - base >= rows)
            return fm_error(FM_EINDEX, "embedding: index %lld (element %lld of "
                            "input %s) is out of range [%lld, %lld] (%lld rows)",
                            (long long)idx[i], (long long)i,
                            fm_shape_str(&c->in[0], b1, sizeof b1), (long long)base,
                            (long long)(base + rows - 1), (long long)rows);
    return FM_OK;
}

/* dst[i, :] = src[idx[i] - base, :] for every index (src NULL: zeros). */
static void gather(const fm_layer_call *c, const void *src, void *dst)
{
    const fm_layer *l = c->layer;
    size_t row = (size_t)l->out * fm_dtype_size(l->dtype);
    const int64_t *idx = c->in[0].data;
    int64_t n = fm_tensor_numel(&c->in[0]);
    if (!src) {
        memset(dst, 0, (size_t)n * row);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        memcpy((char *)dst + (size_t)i * row,
               (const char *)src + (size_t)(idx[i] - l->index_base) * row, row);
}

static fm_status emb_forward(const fm_layer_call *c)
{
    fm_status st = emb_validate(c, "forward", c->out, "out");
    if (st)
        return st;
    gather(c, c->params[0].data, c->out->data);
    return FM_OK;
}

static fm_status emb_jvp(const fm_layer_call *c)
{
    fm_status st = emb_validate(c, "jvp", c->out, "out");
    if (!st)
        st = emb_validate(c, "jvp", c->tan_out, "tan_out");
    if (st)
        return st;
    const void *tW = c->tan_params ? c->tan_params[0].data : NULL;
    if (tW && !fm_tensor_same_shape(&c->tan_params[0], &c->params[0]))
        return fm_error(FM_ESHAPE, "embedding jvp: tW must have W's shape "
                        "(%lld, %lld)", (long long)c->layer->in,
                        (long long)c->layer->out);
    gather(c, c->params[0].data, c->out->data);
    gather(c, tW, c->tan_out->data);
    return FM_OK;
}

static void scatter_add_f32(int64_t n, int64_t dim, const int64_t *restrict idx,
                            int64_t base, const float *restrict g,
                            float *restrict gw)
{
    for (int64_t i = 0; i < n; i++) {
        float *restrict r = gw + (idx[i] - base) * dim;
        const float *restrict s = g + i * dim;
        for (int64_t e = 0; e < dim; e++)
            r[e] += s[e];
    }
}

static void scatter_add_f64(int64_t n, int64_t dim, const int64_t *restrict idx,
                            int64_t base, const double *restrict g,
                            double *restrict gw)
{
    for (int64_t i = 0; i < n; i++) {
        double *restrict r = gw + (idx[i] - base) * dim;
        const double *restrict s = g + i * dim;
        for (int64_t e = 0; e < dim; e++)
            r[e] += s[e];
    }
}

static fm_status emb_backward(const fm_layer_call *c)
{
    fm_status st = emb_validate(c, "backward", c->grad_out, "grad_out");
    if (st)
        return st;
    if (!c->grad_params || !c->grad_params[0].data)
        return FM_OK;  /* the indices have no gradient: grad_in is ignored */
    if (!fm_tensor_same_shape(&c->grad_params[0], &c->params[0]))
        return fm_error(FM_ESHAPE, "embedding backward: the gradient of W must "
                        "be (%lld, %lld)", (long long)c->layer->in,
                        (long long)c->layer->out);
    const fm_layer *l = c->layer;
    int64_t n = fm_tensor_numel(&c->in[0]);
    if (l->dtype == FM_FLOAT32)
        scatter_add_f32(n, l->out, c->in[0].data, l->index_base,
                        c->grad_out->data, c->grad_params[0].data);
    else
        scatter_add_f64(n, l->out, c->in[0].data, l->index_base,
                        c->grad_out->data, c->grad_params[0].data);
    return FM_OK;
}

const fm_layer_ops fm_layer_embedding_ops = {
    .name = "embedding",
    .check = emb_check,
    .nparams = emb_nparams,
    .param_shape = emb_param_shape,
    .shape = emb_shape,
    .saved_numel = emb_saved_numel,
    .forward = emb_forward,
    .backward = emb_backward,
    .jvp = emb_jvp,
};
