/* mlp_tangent.c — the tangent of the fused MLP as a layer of its own, so that
 * reverse mode can go through a forward-mode product (docs/math.md §7,
 * "Reverse over forward"; TVM's loss differentiates a JVP).
 *
 * Inputs x and tx (B, inputs), the MLP's parameters; output
 * ty = J_x mlp(x) tx (B, outputs). With z_1 = x W_0 + b_0, tz_1 = tx W_0,
 * h_l = act(z_l), th_l = act'(z_l) tz_l, z_{l+1} = h_l W_l + b_l,
 * tz_{l+1} = th_l W_l, ty = tz_L. Forward keeps z_l and tz_l of the hidden
 * layers. Backward, from Gtz_L = g and Gz_L = 0, per layer l (input h_l):
 *   dW_l += h_l^T Gz_{l+1} + th_l^T Gtz_{l+1},  db_l += colsum Gz_{l+1}
 *   Gh = Gz_{l+1} W_l^T,  Gth = Gtz_{l+1} W_l^T
 *   Gtz_l = act'(z_l) Gth,  Gz_l = act'(z_l) Gh + act''(z_l) tz_l Gth
 * and at l = 0, dx += Gz_1 W_0^T, dtx += Gtz_1 W_0^T. OpenBLAS threads the
 * GEMMs; the rows are not split further. */
#include "nn/layer.h"
#include "nn/mlp_internal.h"

#include <string.h>

static fm_status check(const fm_layer *l)
{
    if (l->mlp.nlayers < 1 || l->mlp.dtype != l->dtype)
        return fm_error(FM_EVALUE, "mlp_tangent: the layer's network is not set up");
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
    char a[FM_SHAPE_STR_MAX], b[FM_SHAPE_STR_MAX];
    (void)nin;
    if (in[0].ndim != 2 || in[0].shape[1] != l->mlp.sizes[0] ||
        !fm_tensor_same_shape(&in[0], &in[1]))
        return fm_error(FM_ESHAPE, "mlp_tangent: inputs %s and %s, the network "
                        "takes two (B, %lld)", fm_shape_str(&in[0], a, sizeof a),
                        fm_shape_str(&in[1], b, sizeof b), (long long)l->mlp.sizes[0]);
    *ndim = 2;
    sh[0] = in[0].shape[0];
    sh[1] = l->mlp.sizes[l->mlp.nlayers];
    return FM_OK;
}

static int64_t hidden_sum(const fm_mlp *m)
{
    int64_t s = 0;
    for (int l = 1; l < m->nlayers; l++) s += m->sizes[l];
    return s;
}

static int64_t hidden_max(const fm_mlp *m)
{
    int64_t s = 1;
    for (int l = 1; l < m->nlayers; l++) s = m->sizes[l] > s ? m->sizes[l] : s;
    return s;
}

/* z_l and tz_l of every hidden layer, B rows each */
static int64_t saved_numel(const fm_layer *l, int nin, const fm_tensor *in)
{
    (void)nin;
    return 2 * in[0].shape[0] * hidden_sum(&l->mlp);
}

/* where z_l (and after it tz_l) of hidden layer l (1-based) starts in saved */
static char *saved_at(const fm_mlp *m, char *base, int64_t B, int l)
{
    int64_t off = 0;
    for (int k = 1; k < l; k++) off += 2 * B * m->sizes[k];
    return base + off * (int64_t)fm_dtype_size(m->dtype);
}

/* h = act(z), th = act'(z) tz over n elements */
static void act_tangent(fm_dtype dt, fm_act act, int64_t n, const void *z,
                        const void *tz, void *h, void *th)
{
    fm_act_apply(dt, act, n, z, h, th);
    if (dt == FM_FLOAT32) {
        float *t = th;
        const float *s = tz;
        for (int64_t j = 0; j < n; j++) t[j] *= s[j];
    } else {
        double *t = th;
        const double *s = tz;
        for (int64_t j = 0; j < n; j++) t[j] *= s[j];
    }
}

/* y (rows, n) += b broadcast over rows */
static void add_bias(fm_dtype dt, int64_t rows, int64_t n, const void *b, void *y)
{
    for (int64_t i = 0; i < rows; i++) {
        if (dt == FM_FLOAT32) {
            float *r = (float *)y + i * n;
            const float *v = b;
            for (int64_t j = 0; j < n; j++) r[j] += v[j];
        } else {
            double *r = (double *)y + i * n;
            const double *v = b;
            for (int64_t j = 0; j < n; j++) r[j] += v[j];
        }
    }
}

/* [z; tz] (2B, N) = [in; tin] W (+ b on z). in and tin are one stacked
 * (2B, K) block past the first layer, so that each layer is one GEMM. */
static void layer_forward(fm_dtype dt, int64_t B, int64_t N, int64_t K, const void *in,
                          const void *tin, const void *W, const void *b, char *z)
{
    size_t es = fm_dtype_size(dt);
    char *tz = z + (size_t)(B * N) * es;
    if ((const char *)tin == (const char *)in + (size_t)(B * K) * es) {
        fm_nn_gemm(dt, false, false, 2 * B, N, K, in, K, W, N, 0.0, z, N);
    } else {
        fm_nn_gemm(dt, false, false, B, N, K, in, K, W, N, 0.0, z, N);
        fm_nn_gemm(dt, false, false, B, N, K, tin, K, W, N, 0.0, tz, N);
    }
    add_bias(dt, B, N, b, z);
}

static fm_status forward(const fm_layer_call *c)
{
    const fm_mlp *m = &c->layer->mlp;
    fm_dtype dt = m->dtype;
    size_t es = fm_dtype_size(dt);
    int64_t B = c->in[0].shape[0], H = hidden_max(m);
    char *buf = fm_nn_scratch((size_t)(2 * B * H) * es);
    char *tmp = c->saved ? NULL : fm_nn_scratch2((size_t)(2 * B * H) * es);
    if (!buf || (!c->saved && !tmp))
        return fm_error(FM_ENOMEM, "mlp_tangent: out of memory for %lld rows", (long long)B);
    const void *in = c->in[0].data, *tin = c->in[1].data;
    for (int l = 0; l < m->nlayers; l++) {
        int64_t K = m->sizes[l], N = m->sizes[l + 1];
        const void *W = c->params[2 * l].data;
        if (l == m->nlayers - 1) {
            fm_nn_gemm(dt, false, false, B, N, K, tin, K, W, N, 0.0, c->out->data, N);
            break;
        }
        char *z = c->saved ? saved_at(m, c->saved->data, B, l + 1) : tmp;
        char *tz = z + (size_t)(B * N) * es;
        layer_forward(dt, B, N, K, in, tin, W, c->params[2 * l + 1].data, z);
        char *h = buf, *th = buf + (size_t)(B * N) * es; /* stacked (2B, N) */
        act_tangent(dt, m->act, B * N, z, tz, h, th);
        in = h;
        tin = th;
    }
    return FM_OK;
}

/* Gtz <- a' Gth, Gz <- a' Gh + a'' tz Gth (Gh NULL: zero), with a', a''
 * written first into Gtz and Gz */
static void reverse_act(fm_dtype dt, fm_act act, int64_t n, const void *z,
                        const void *tz, const void *Gh, const void *Gth, void *Gz,
                        void *Gtz)
{
    fm_act_second(dt, act, n, z, Gtz, Gz);
    if (dt == FM_FLOAT32) {
        float *gz = Gz, *gtz = Gtz;
        const float *t = tz, *gh = Gh, *gth = Gth;
        for (int64_t j = 0; j < n; j++) {
            float a = gtz[j], b = gz[j];
            gtz[j] = a * gth[j];
            gz[j] = (gh ? a * gh[j] : 0.0f) + b * t[j] * gth[j];
        }
    } else {
        double *gz = Gz, *gtz = Gtz;
        const double *t = tz, *gh = Gh, *gth = Gth;
        for (int64_t j = 0; j < n; j++) {
            double a = gtz[j], b = gz[j];
            gtz[j] = a * gth[j];
            gz[j] = (gh ? a * gh[j] : 0.0) + b * t[j] * gth[j];
        }
    }
}

static void *grad_data(const fm_tensor *g, int i)
{
    return g && g[i].data ? g[i].data : NULL;
}

/* The top layer L-1 (Gz_L = 0, Gtz_L = g): dW += th^T g, Gth = g W^T. */
static void top_backward(const fm_layer_call *c, int64_t B, const void *thin, void *Gth)
{
    const fm_mlp *m = &c->layer->mlp;
    int l = m->nlayers - 1;
    int64_t K = m->sizes[l], N = m->sizes[l + 1];
    const void *g = c->grad_out->data, *W = c->params[2 * l].data;
    void *dW = grad_data(c->grad_params, 2 * l);
    if (dW) fm_nn_gemm(m->dtype, true, false, K, N, B, thin, K, g, N, 1.0, dW, N);
    if (Gth) fm_nn_gemm(m->dtype, false, true, B, K, N, g, N, W, N, 0.0, Gth, K);
}

static fm_status backward(const fm_layer_call *c)
{
    const fm_mlp *m = &c->layer->mlp;
    if (!c->saved && m->nlayers > 1)
        return fm_error(FM_EVALUE, "mlp_tangent: backward needs the kept activations");
    fm_dtype dt = m->dtype;
    size_t es = fm_dtype_size(dt);
    int64_t B = c->in[0].shape[0], H = hidden_max(m);
    size_t blk = (size_t)(2 * B * H) * es;
    char *buf = fm_nn_scratch(3 * blk);
    if (!buf)
        return fm_error(FM_ENOMEM, "mlp_tangent: out of memory for %lld rows", (long long)B);
    /* stacked (2B, width) blocks: [h; th], [Gz; Gtz], [Gh; Gth] */
    char *HS = buf, *GS = buf + blk, *GHS = buf + 2 * blk;
    int L = m->nlayers;
    if (L == 1) {
        void *dtx = grad_data(c->grad_in, 1);
        top_backward(c, B, c->in[1].data, NULL);
        if (dtx) {
            int64_t K = m->sizes[0], N = m->sizes[1];
            fm_nn_gemm(dt, false, true, B, K, N, c->grad_out->data, N, c->params[0].data,
                       N, 1.0, dtx, K);
        }
        return FM_OK;
    }
    bool top = true;
    for (int l = L - 1; l >= 1; l--) {
        int64_t K = m->sizes[l], N = m->sizes[l + 1];
        const char *z = saved_at(m, c->saved->data, B, l), *tz = z + (size_t)(B * K) * es;
        act_tangent(dt, m->act, B * K, z, tz, HS, HS + (size_t)(B * K) * es);
        char *Gh = GHS, *Gth = GHS + (size_t)(B * K) * es;
        if (top) {
            top_backward(c, B, HS + (size_t)(B * K) * es, Gth);
        } else {
            const void *W = c->params[2 * l].data;
            void *dW = grad_data(c->grad_params, 2 * l), *db = grad_data(c->grad_params, 2 * l + 1);
            if (dW) fm_nn_gemm(dt, true, false, K, N, 2 * B, HS, K, GS, N, 1.0, dW, N);
            if (db) fm_mlp_colsum(dt, B, N, GS, N, db, true);
            fm_nn_gemm(dt, false, true, 2 * B, K, N, GS, N, W, N, 0.0, GHS, K);
        }
        /* GS <- [Gz_l; Gtz_l] (2B, K) */
        reverse_act(dt, m->act, B * K, z, tz, top ? NULL : Gh, Gth, GS,
                    GS + (size_t)(B * K) * es);
        top = false;
    }
    /* the first layer: inputs x and tx */
    int64_t K = m->sizes[0], N = m->sizes[1];
    const void *W = c->params[0].data, *Gz = GS, *Gtz = GS + (size_t)(B * N) * es;
    void *dW = grad_data(c->grad_params, 0), *db = grad_data(c->grad_params, 1);
    void *dx = grad_data(c->grad_in, 0), *dtx = grad_data(c->grad_in, 1);
    if (dW) {
        fm_nn_gemm(dt, true, false, K, N, B, c->in[0].data, K, Gz, N, 1.0, dW, N);
        fm_nn_gemm(dt, true, false, K, N, B, c->in[1].data, K, Gtz, N, 1.0, dW, N);
    }
    if (db) fm_mlp_colsum(dt, B, N, Gz, N, db, true);
    if (dx) fm_nn_gemm(dt, false, true, B, K, N, Gz, N, W, N, 1.0, dx, K);
    if (dtx) fm_nn_gemm(dt, false, true, B, K, N, Gtz, N, W, N, 1.0, dtx, K);
    return FM_OK;
}

/* The tangent of the tangent is not needed by any caller: refused. */
static fm_status jvp(const fm_layer_call *c)
{
    (void)c;
    return fm_error(FM_EVALUE, "mlp_tangent: no tangent forward (second-order "
                    "forward mode is not supported)");
}

const fm_layer_ops fm_layer_mlp_tangent_ops = {
    .name = "mlp_tangent", .check = check, .nparams = nparams,
    .param_shape = param_shape, .shape = shape, .saved_numel = saved_numel,
    .forward = forward, .backward = backward, .jvp = jvp,
};
