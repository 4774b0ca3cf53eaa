/* concat.c — the layer kind concat (nn/layer.h): k = l->ninputs inputs
 * (2 .. FM_LAYER_MAX_INPUTS) joined along dim 1 (channels), no parameters.
 *
 *   inputs x_i (N, C_i, *rest), the same N and the same trailing dims (any
 *   number of them, so (N, C_i) works too) -> out (N, sum_i C_i, *rest),
 *     out[n, o_i + c, ...] = x_i[n, c, ...],  o_i = C_0 + ... + C_{i-1}
 *   backward: grad_in[i][n, c, ...] += grad_out[n, o_i + c, ...]
 *   jvp: tan_out = concat of the tangents (a NULL one is zeros)
 *
 * With R = prod(rest), sample n of input i is one contiguous block of
 * C_i R elements, and so is its slice of the output: forward and jvp are
 * memcpy / memset of blocks, backward a contiguous add loop (float32 and
 * float64). Nothing is saved. The batch is split into parts (fm_nn_parts)
 * run on the worker pool. */
#include "nn/layer.h"
#include "core/fm.h"

#include <string.h>

static fm_status cat_check(const fm_layer *l)
{
    if (l->dtype != FM_FLOAT32 && l->dtype != FM_FLOAT64)
        return fm_error(FM_ETYPE, "concat: dtype must be float32 or float64, not %s",
                        fm_dtype_name(l->dtype));
    if (l->ninputs < 2 || l->ninputs > FM_LAYER_MAX_INPUTS)
        return fm_error(FM_EVALUE, "concat: ninputs must be 2 .. %d, got %d",
                        FM_LAYER_MAX_INPUTS, l->ninputs);
    return FM_OK;
}

static int cat_nparams(const fm_layer *l) { (void)l; return 0; }

static void cat_param_shape(const fm_layer *l, int i, int *ndim, int64_t *shape)
{
    (void)l; (void)i; (void)shape;
    *ndim = 0;
}

static int64_t cat_saved_numel(const fm_layer *l, int nin, const fm_tensor *in)
{
    (void)l; (void)nin; (void)in;
    return 0;
}

/* Inputs are numbered from 1 in messages (as the Lua side counts). */
static fm_status cat_shape(const fm_layer *l, int nin, const fm_tensor *in,
                           int *ndim, int64_t *shape)
{
    char a[FM_SHAPE_STR_MAX], b[FM_SHAPE_STR_MAX];
    if (l->ninputs < 2 || l->ninputs > FM_LAYER_MAX_INPUTS)
        return fm_error(FM_EVALUE, "concat: ninputs must be 2 .. %d, got %d",
                        FM_LAYER_MAX_INPUTS, l->ninputs);
    if (nin != l->ninputs)
        return fm_error(FM_EVALUE, "concat: the layer takes %d inputs, got %d",
                        l->ninputs, nin);
    int nd = in[0].ndim;
    for (int i = 0; i < nin; i++)
        if (in[i].ndim < 2)
            return fm_error(FM_ESHAPE,
                            "concat: input %d %s has no dim 1 (channels) to join along",
                            i + 1, fm_shape_str(&in[i], a, sizeof a));
    int64_t C = in[0].shape[1];
    for (int i = 1; i < nin; i++) {
        const fm_tensor *t = &in[i];
        const char *why = NULL;
        if (t->ndim != nd)
            why = "a different number of dims";
        else if (t->shape[0] != in[0].shape[0])
            why = "a different batch size (dim 0)";
        else
            for (int d = 2; d < nd; d++)
                if (t->shape[d] != in[0].shape[d])
                    why = "different dims after the channels";
        if (why)
            return fm_error(FM_ESHAPE, "concat: input %d %s and input 1 %s have %s",
                            i + 1, fm_shape_str(t, a, sizeof a),
                            fm_shape_str(&in[0], b, sizeof b), why);
        C += t->shape[1];
    }
    *ndim = nd;
    for (int d = 0; d < nd; d++)
        shape[d] = in[0].shape[d];
    shape[1] = C;
    return FM_OK;
}

/* The output shape, and `t` (out, grad_out or tan_out) has it. */
static fm_status cat_expect(const fm_layer_call *c, const fm_tensor *t,
                            const char *what)
{
    int nd;
    int64_t sh[FM_MAX_DIMS];
    fm_status st = cat_shape(c->layer, c->nin, c->in, &nd, sh);
    if (st)
        return st;
    bool ok = t->ndim == nd;
    for (int d = 0; ok && d < nd; d++)
        ok = t->shape[d] == sh[d];
    if (!ok) {
        char a[FM_SHAPE_STR_MAX], b[FM_SHAPE_STR_MAX];
        fm_tensor want = *t;
        want.ndim = nd;
        memcpy(want.shape, sh, sizeof(int64_t) * (size_t)nd);
        return fm_error(FM_ESHAPE, "concat: %s has shape %s, the inputs give %s",
                        what, fm_shape_str(t, a, sizeof a),
                        fm_shape_str(&want, b, sizeof b));
    }
    return FM_OK;
}

/* A tensor per input (grad_in or tan_in) of the input's shape, or NULL data. */
static fm_status cat_expect_each(const fm_layer_call *c, const fm_tensor *t,
                                 const char *what)
{
    for (int i = 0; i < c->nin; i++) {
        if (!t[i].data || fm_tensor_same_shape(&t[i], &c->in[i]))
            continue;
        char a[FM_SHAPE_STR_MAX], b[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "concat: %s %d has shape %s, input %d %s",
                        what, i + 1, fm_shape_str(&t[i], a, sizeof a), i + 1,
                        fm_shape_str(&c->in[i], b, sizeof b));
    }
    return FM_OK;
}

typedef enum { OP_COPY, OP_ADD } cat_op;

typedef struct {
    cat_op op;
    fm_dtype dt;
    int k;
    int64_t N, R, Ctot;
    int64_t C[FM_LAYER_MAX_INPUTS];
    /* COPY: parts[i] (NULL: zeros) -> whole (out); ADD: whole (grad_out)
     * slices += into parts[i] (NULL: skipped). */
    void *parts[FM_LAYER_MAX_INPUTS];
    void *whole;
    int nmaps;                /* jvp: 2 (out from in, tan_out from tan_in) */
    void *parts2[FM_LAYER_MAX_INPUTS];
    void *whole2;
} cat_job;

static void add_f32(float *restrict d, const float *restrict s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        d[i] += s[i];
}

static void add_f64(double *restrict d, const double *restrict s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        d[i] += s[i];
}

static void cat_part(void *ctx, int part)
{
    const cat_job *j = ctx;
    int64_t lo, hi;
    fm_nn_part_range(j->N, fm_nn_parts(j->N), part, &lo, &hi);
    size_t es = fm_dtype_size(j->dt);
    for (int m = 0; m < j->nmaps; m++) {
        void *const *parts = m ? j->parts2 : j->parts;
        char *whole = m ? j->whole2 : j->whole;
        for (int64_t n = lo; n < hi; n++) {
            int64_t off = n * j->Ctot * j->R;   /* elements into whole */
            for (int i = 0; i < j->k; i++) {
                int64_t len = j->C[i] * j->R;
                char *w = whole + (size_t)off * es;
                off += len;
                if (len == 0)
                    continue;
                if (j->op == OP_COPY) {
                    if (parts[i])
                        memcpy(w, (const char *)parts[i] + (size_t)(n * len) * es,
                               (size_t)len * es);
                    else
                        memset(w, 0, (size_t)len * es);
                } else if (parts[i]) {
                    char *g = (char *)parts[i] + (size_t)(n * len) * es;
                    if (j->dt == FM_FLOAT32)
                        add_f32((float *)g, (const float *)w, len);
                    else
                        add_f64((double *)g, (const double *)w, len);
                }
            }
        }
    }
}

static void cat_setup(const fm_layer_call *c, cat_job *j, cat_op op)
{
    memset(j, 0, sizeof *j);
    j->op = op;
    j->dt = c->layer->dtype;
    j->k = c->nin;
    j->N = c->in[0].shape[0];
    j->R = 1;
    for (int d = 2; d < c->in[0].ndim; d++)
        j->R *= c->in[0].shape[d];
    for (int i = 0; i < c->nin; i++) {
        j->C[i] = c->in[i].shape[1];
        j->Ctot += j->C[i];
    }
    j->nmaps = 1;
}

static void cat_run(cat_job *j)
{
    if (j->N == 0 || j->R == 0 || j->Ctot == 0)
        return;
    fm_nn_parallel(fm_nn_parts(j->N), cat_part, j);
}

static fm_status cat_forward(const fm_layer_call *c)
{
    fm_status st = cat_expect(c, c->out, "out");
    if (st)
        return st;
    cat_job j;
    cat_setup(c, &j, OP_COPY);
    for (int i = 0; i < c->nin; i++)
        j.parts[i] = c->in[i].data;
    j.whole = c->out->data;
    cat_run(&j);
    return FM_OK;
}

static fm_status cat_backward(const fm_layer_call *c)
{
    fm_status st = cat_expect(c, c->grad_out, "grad_out");
    if (st)
        return st;
    if (!c->grad_in)
        return FM_OK;
    if ((st = cat_expect_each(c, c->grad_in, "grad_in")))
        return st;
    cat_job j;
    cat_setup(c, &j, OP_ADD);
    for (int i = 0; i < c->nin; i++)
        j.parts[i] = c->grad_in[i].data;
    j.whole = c->grad_out->data;
    cat_run(&j);
    return FM_OK;
}

static fm_status cat_jvp(const fm_layer_call *c)
{
    fm_status st = cat_expect(c, c->out, "out");
    if (!st)
        st = cat_expect(c, c->tan_out, "tan_out");
    if (!st && c->tan_in)
        st = cat_expect_each(c, c->tan_in, "tangent");
    if (st)
        return st;
    cat_job j;
    cat_setup(c, &j, OP_COPY);
    for (int i = 0; i < c->nin; i++) {
        j.parts[i] = c->in[i].data;
        j.parts2[i] = c->tan_in ? c->tan_in[i].data : NULL;
    }
    j.whole = c->out->data;
    j.whole2 = c->tan_out->data;
    j.nmaps = 2;
    cat_run(&j);
    return FM_OK;
}

const fm_layer_ops fm_layer_concat_ops = {
    .name = "concat",
    .check = cat_check,
    .nparams = cat_nparams,
    .param_shape = cat_param_shape,
    .shape = cat_shape,
    .saved_numel = cat_saved_numel,
    .forward = cat_forward,
    .backward = cat_backward,
    .jvp = cat_jvp,
};
