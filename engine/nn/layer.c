/* layer.c — the table of layer kinds (nn/layer.h) and the checked entry
 * points every caller goes through: counts, dtypes, contiguity and shapes
 * are verified here once, so each kind's functions see valid arguments. */
#include "nn/layer.h"

#include <string.h>

static const fm_layer_ops *const kinds[FM_LAYER_KIND_COUNT] = {
    [FM_LAYER_LINEAR] = &fm_layer_linear_ops,
    [FM_LAYER_CONV2D] = &fm_layer_conv2d_ops,
    [FM_LAYER_GROUP_NORM] = &fm_layer_group_norm_ops,
    [FM_LAYER_LAYER_NORM] = &fm_layer_layer_norm_ops,
    [FM_LAYER_ACT] = &fm_layer_act_ops,
    [FM_LAYER_UPSAMPLE] = &fm_layer_upsample_ops,
    [FM_LAYER_AVG_POOL] = &fm_layer_avg_pool_ops,
    [FM_LAYER_CONCAT] = &fm_layer_concat_ops,
    [FM_LAYER_ATTENTION] = &fm_layer_attention_ops,
    [FM_LAYER_EMBEDDING] = &fm_layer_embedding_ops,
    [FM_LAYER_MLP] = &fm_layer_mlp_ops,
    [FM_LAYER_MLP_TANGENT] = &fm_layer_mlp_tangent_ops,
};
_Static_assert(sizeof kinds / sizeof kinds[0] == FM_LAYER_KIND_COUNT,
               "one entry per layer kind");

const fm_layer_ops *fm_layer_ops_of(fm_layer_kind kind)
{
    return (unsigned)kind < FM_LAYER_KIND_COUNT ? kinds[kind] : NULL;
}

const char *fm_layer_kind_name(fm_layer_kind kind)
{
    const fm_layer_ops *o = fm_layer_ops_of(kind);
    return o ? o->name : "?";
}

fm_status fm_layer_kind_parse(const char *name, fm_layer_kind *out)
{
    for (int k = 0; k < FM_LAYER_KIND_COUNT; k++)
        if (name && strcmp(name, kinds[k]->name) == 0) {
            *out = (fm_layer_kind)k;
            return FM_OK;
        }
    return fm_error(FM_EVALUE, "layer: unknown kind '%s'", name ? name : "(null)");
}

fm_layer fm_layer_default(fm_layer_kind kind)
{
    fm_layer l;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    l.dtype = FM_FLOAT32;
    l.eps = 1e-5;
    l.bias = true;
    l.ninputs = 1;
    l.stride = 1;
    l.factor = 2;
    l.heads = 1;
    l.groups = 1;
    l.kernel = 1;
    return l;
}

fm_status fm_layer_check(const fm_layer *l)
{
    const fm_layer_ops *o = fm_layer_ops_of(l->kind);
    if (!o)
        return fm_error(FM_EVALUE, "layer: unknown kind %d", (int)l->kind);
    if (l->dtype != FM_FLOAT32 && l->dtype != FM_FLOAT64)
        return fm_error(FM_ETYPE, "%s: dtype must be float32 or float64", o->name);
    if (l->kind != FM_LAYER_CONCAT && l->kind != FM_LAYER_MLP_TANGENT && l->ninputs != 1)
        return fm_error(FM_EVALUE, "%s: takes one input", o->name);
    if ((unsigned)l->act >= FM_ACT_COUNT)
        return fm_error(FM_EVALUE, "%s: bad activation %d", o->name, (int)l->act);
    return o->check(l);
}

int fm_layer_nparams(const fm_layer *l) { return kinds[l->kind]->nparams(l); }

void fm_layer_param_shape(const fm_layer *l, int i, int *ndim, int64_t *shape)
{
    kinds[l->kind]->param_shape(l, i, ndim, shape);
}

static int expected_inputs(const fm_layer *l)
{
    if (l->kind == FM_LAYER_MLP_TANGENT)
        return 2; /* x and its tangent */
    return l->kind == FM_LAYER_CONCAT ? l->ninputs : 1;
}

/* Inputs: count, dtype (embedding: int64), contiguity. */
static fm_status check_inputs(const fm_layer *l, int nin, const fm_tensor *in)
{
    const char *name = kinds[l->kind]->name;
    if (nin != expected_inputs(l))
        return fm_error(FM_EVALUE, "%s: %d inputs given, %d expected", name, nin,
                        expected_inputs(l));
    fm_dtype want = l->kind == FM_LAYER_EMBEDDING ? FM_INT64 : l->dtype;
    for (int i = 0; i < nin; i++) {
        if (in[i].dtype != want)
            return fm_error(FM_ETYPE, "%s: input %d is %s, the layer takes %s", name,
                            i + 1, fm_dtype_name(in[i].dtype), fm_dtype_name(want));
        if (!fm_tensor_is_contiguous(&in[i]))
            return fm_error(FM_ELAYOUT, "%s: input %d is not contiguous", name, i + 1);
    }
    return FM_OK;
}

fm_status fm_layer_shape(const fm_layer *l, int nin, const fm_tensor *in,
                         int *ndim, int64_t *shape)
{
    fm_status st = fm_layer_check(l);
    if (!st) st = check_inputs(l, nin, in);
    if (!st) st = kinds[l->kind]->shape(l, nin, in, ndim, shape);
    return st;
}

int64_t fm_layer_saved_numel(const fm_layer *l, int nin, const fm_tensor *in)
{
    return kinds[l->kind]->saved_numel(l, nin, in);
}

/* t has (ndim, shape), dtype dt and is contiguous; what names it. */
static fm_status check_like(const char *name, const char *what, int i,
                            const fm_tensor *t, fm_dtype dt, int ndim,
                            const int64_t *shape)
{
    char got[FM_SHAPE_STR_MAX], want[FM_SHAPE_STR_MAX];
    fm_tensor ref;
    memset(&ref, 0, sizeof ref);
    ref.ndim = ndim;
    memcpy(ref.shape, shape, sizeof(int64_t) * (size_t)ndim);
    if (t->dtype != dt)
        return fm_error(FM_ETYPE, "%s: %s %d is %s, expected %s", name, what, i + 1,
                        fm_dtype_name(t->dtype), fm_dtype_name(dt));
    if (!fm_tensor_same_shape(t, &ref))
        return fm_error(FM_ESHAPE, "%s: %s %d has shape %s, expected %s", name, what,
                        i + 1, fm_shape_str(t, got, sizeof got),
                        fm_shape_str(&ref, want, sizeof want));
    if (!fm_tensor_is_contiguous(t))
        return fm_error(FM_ELAYOUT, "%s: %s %d is not contiguous", name, what, i + 1);
    return FM_OK;
}

static fm_status check_params(const fm_layer *l, const fm_tensor *p,
                              const char *what)
{
    int n = fm_layer_nparams(l);
    for (int i = 0; i < n; i++) {
        if (!p[i].data)
            continue;
        int nd;
        int64_t sh[FM_MAX_DIMS];
        fm_layer_param_shape(l, i, &nd, sh);
        fm_status st = check_like(kinds[l->kind]->name, what, i, &p[i], l->dtype, nd, sh);
        if (st)
            return st;
    }
    return FM_OK;
}

/* Parameters, inputs, the output (and, for backward, grad_out) and the
 * saved tensor of a call; the output shape into (*ndim, shape). */
static fm_status check_call(const fm_layer_call *c, int *ndim, int64_t *shape)
{
    const fm_layer *l = c->layer;
    const char *name = kinds[l->kind]->name;
    fm_status st = fm_layer_shape(l, c->nin, c->in, ndim, shape);
    if (!st && fm_layer_nparams(l) > 0 && !c->params)
        st = fm_error(FM_EVALUE, "%s: parameters missing", name);
    if (!st && fm_layer_nparams(l) > 0) {
        for (int i = 0; i < fm_layer_nparams(l) && !st; i++)
            if (!c->params[i].data)
                st = fm_error(FM_EVALUE, "%s: parameter %d missing", name, i + 1);
        if (!st) st = check_params(l, c->params, "parameter");
    }
    if (!st && c->out)
        st = check_like(name, "output", 0, c->out, l->dtype, *ndim, shape);
    if (!st && c->saved) {
        int64_t n = fm_layer_saved_numel(l, c->nin, c->in);
        if (fm_tensor_numel(c->saved) != n || c->saved->dtype != l->dtype ||
            !fm_tensor_is_contiguous(c->saved))
            st = fm_error(FM_ESHAPE, "%s: saved state of %lld elements, expected %lld",
                          name, (long long)fm_tensor_numel(c->saved), (long long)n);
    }
    return st;
}

fm_status fm_layer_forward(const fm_layer_call *c)
{
    int nd;
    int64_t sh[FM_MAX_DIMS];
    fm_status st = check_call(c, &nd, sh);
    if (!st && !c->out)
        st = fm_error(FM_EVALUE, "%s: no output", kinds[c->layer->kind]->name);
    return st ? st : kinds[c->layer->kind]->forward(c);
}

fm_status fm_layer_backward(const fm_layer_call *c)
{
    const fm_layer *l = c->layer;
    const char *name = kinds[l->kind]->name;
    int nd;
    int64_t sh[FM_MAX_DIMS];
    fm_status st = check_call(c, &nd, sh);
    if (!st && !c->grad_out)
        st = fm_error(FM_EVALUE, "%s: backward without grad_out", name);
    if (!st) st = check_like(name, "grad_out", 0, c->grad_out, l->dtype, nd, sh);
    if (!st && fm_layer_saved_numel(l, c->nin, c->in) > 0 && !c->saved)
        st = fm_error(FM_EVALUE, "%s: backward needs the state its forward kept", name);
    for (int i = 0; !st && c->grad_in && i < c->nin; i++)
        if (c->grad_in[i].data)
            st = check_like(name, "input gradient", i, &c->grad_in[i], l->dtype,
                            c->in[i].ndim, c->in[i].shape);
    if (!st && c->grad_params)
        st = check_params(l, c->grad_params, "parameter gradient");
    return st ? st : kinds[l->kind]->backward(c);
}

fm_status fm_layer_jvp(const fm_layer_call *c)
{
    const fm_layer *l = c->layer;
    const char *name = kinds[l->kind]->name;
    int nd;
    int64_t sh[FM_MAX_DIMS];
    fm_status st = check_call(c, &nd, sh);
    if (!st && (!c->out || !c->tan_out || !c->tan_in))
        st = fm_error(FM_EVALUE, "%s: jvp needs out, tan_in and tan_out", name);
    if (!st) st = check_like(name, "output tangent", 0, c->tan_out, l->dtype, nd, sh);
    for (int i = 0; !st && i < c->nin; i++)
        if (c->tan_in[i].data)
            st = check_like(name, "input tangent", i, &c->tan_in[i], l->dtype,
                            c->in[i].ndim, c->in[i].shape);
    if (!st && c->tan_params)
        st = check_params(l, c->tan_params, "parameter tangent");
    return st ? st : kinds[l->kind]->jvp(c);
}
