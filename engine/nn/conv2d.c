/* conv2d.c — the conv2d layer kind (nn/layer.h): torch.nn.Conv2d with
 * dilation 1, groups 1, zero padding.
 *
 *   out[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v]
 *                            * x[n, c, i s + u - p, j s + v - p]
 *
 * x (N, Cin, H, W), W (Cout, Cin, k, k), b (Cout), out (N, Cout, Ho, Wo) with
 * Ho = (H + 2p - k) / s + 1 (floor), Wo likewise; x outside the image is 0.
 *
 * How: im2col on GEMM. With K = Cin k k and P = Ho Wo, the columns of nb
 * images of a chunk are laid side by side, col (K, nb P) with
 * col[(c k + u) k + v, m P + i Wo + j] = x[n0 + m, c, i s + u - p, j s + v - p],
 * and one GEMM gives the chunk's outputs, (Cout, nb P) = W (Cout, K) @ col,
 * scattered to NCHW with the bias added. nb is chosen from the shape alone
 * (conv_chunk): one image when P is large, several when the images are small
 * (7x7, 14x14) so that the GEMM is not thin. 1x1 kernels with stride 1 and
 * padding 0 use the image itself as col, one image per GEMM (no copy: at
 * 7x7, 64 -> 192, copying into chunks was 25% slower than thin GEMMs).
 * im2col copies whole output rows (one flat copy per kernel position for
 * "same" stride-1 convolutions); stride s >= 2 first splits each input
 * plane into its s x s phases so that every copy is contiguous (and flat
 * for "same" stride-2 downsampling).
 *
 *   backward (x handed in again, nothing saved; col recomputed per chunk):
 *     gW += dout_c (Cout, nb P) @ col^T,  gb += row sums of dout_c,
 *     gx += col2im(W^T @ dout_c)
 *   jvp: out = conv(x), tan = conv_W(tx) + conv_tW(x) + tb; col(x) and
 *     col(tx) side by side so one GEMM with W gives both, one more GEMM with
 *     tW on col(x) adds into the tangent half.
 *
 * Threads: the batch is split into fm_nn_parts parts run by fm_nn_parallel;
 * each part takes its col / chunk buffers from its thread's fm_nn_scratch.
 * Parameter gradients: part 0 accumulates into grad_params, part p >= 1 into
 * a zeroed block (the caller's fm_nn_scratch2) that is added after the parts
 * return, in part order, so results do not depend on the thread count.
 */
#include "nn/conv_internal.h"

#include <string.h>

/* ---- configuration and shapes ------------------------------------------ */

static fm_status conv_check(const fm_layer *l)
{
    if (l->dtype != FM_FLOAT32 && l->dtype != FM_FLOAT64)
        return fm_error(FM_ETYPE, "conv2d: dtype must be float32 or float64, "
                        "not %s", fm_dtype_name(l->dtype));
    if (l->in < 1 || l->out < 1 || l->kernel < 1)
        return fm_error(FM_EVALUE, "conv2d: channels and kernel must be >= 1 "
                        "(in %lld, out %lld, kernel %lld)", (long long)l->in,
                        (long long)l->out, (long long)l->kernel);
    if (l->stride < 1 || l->padding < 0)
        return fm_error(FM_EVALUE, "conv2d: stride must be >= 1 and padding "
                        ">= 0 (stride %lld, padding %lld)",
                        (long long)l->stride, (long long)l->padding);
    return FM_OK;
}

static int conv_nparams(const fm_layer *l) { return l->bias ? 2 : 1; }

static void conv_param_shape(const fm_layer *l, int i, int *ndim,
                             int64_t *shape)
{
    if (i == 0) {
        *ndim = 4;
        shape[0] = l->out;
        shape[1] = l->in;
        shape[2] = l->kernel;
        shape[3] = l->kernel;
    } else {
        *ndim = 1;
        shape[0] = l->out;
    }
}

static fm_status conv_shape(const fm_layer *l, int nin, const fm_tensor *in,
                            int *ndim, int64_t *shape)
{
    if (nin != 1)
        return fm_error(FM_ESHAPE, "conv2d: takes 1 input, got %d", nin);
    char buf[FM_SHAPE_STR_MAX];
    const fm_tensor *x = &in[0];
    if (x->ndim != 4)
        return fm_error(FM_ESHAPE, "conv2d: input must be 4-D (N, C, H, W), "
                        "got %s", fm_shape_str(x, buf, sizeof buf));
    if (x->shape[1] != l->in)
        return fm_error(FM_ESHAPE, "conv2d: input has %lld channels, the "
                        "layer expects %lld (input %s)",
                        (long long)x->shape[1], (long long)l->in,
                        fm_shape_str(x, buf, sizeof buf));
    int64_t k = l->kernel, p = l->padding, s = l->stride;
    int64_t H = x->shape[2], W = x->shape[3];
    if (H + 2 * p < k || W + 2 * p < k)
        return fm_error(FM_ESHAPE, "conv2d: kernel %lldx%lld is larger than "
                        "the padded input (%lld x %lld with padding %lld; "
                        "input %s)", (long long)k, (long long)k,
                        (long long)(H + 2 * p), (long long)(W + 2 * p),
                        (long long)p, fm_shape_str(x, buf, sizeof buf));
    *ndim = 4;
    shape[0] = x->shape[0];
    shape[1] = l->out;
    shape[2] = (H + 2 * p - k) / s + 1;
    shape[3] = (W + 2 * p - k) / s + 1;
    return FM_OK;
}

static int64_t conv_saved_numel(const fm_layer *l, int nin,
                                const fm_tensor *in)
{
    (void)l; (void)nin; (void)in;
    return 0;
}

static fm_status geom_of(const fm_layer_call *c, geom *g)
{
    const fm_layer *l = c->layer;
    int nd = 0;
    int64_t sh[FM_MAX_DIMS] = {0};
    fm_status st = conv_shape(l, c->nin, c->in, &nd, sh);
    if (st)
        return st;
    memset(g, 0, sizeof *g);
    g->dt = l->dtype;
    g->es = fm_dtype_size(l->dtype);
    g->N = c->in[0].shape[0];
    g->Cin = l->in;
    g->H = c->in[0].shape[2];
    g->W = c->in[0].shape[3];
    g->Cout = l->out;
    g->k = l->kernel;
    g->s = l->stride;
    g->p = l->padding;
    g->Ho = sh[2];
    g->Wo = sh[3];
    g->P = g->Ho * g->Wo;
    g->K = g->Cin * g->k * g->k;
    g->direct = g->k == 1 && g->s == 1 && g->p == 0;
    g->nb = fmi_conv_chunk(g);
    return FM_OK;
}

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

/* Bytes of the phase planes of one image plane (stride >= 2), else 0. */
static size_t phase_bytes(const geom *g)
{
    return g->s > 1 ? align64((size_t)(g->s * g->s * fmi_conv_phase_h(g) * fmi_conv_phase_w(g)) * g->es)
                     : 0;
}

/* ---- the parts --------------------------------------------------------- */

typedef struct {
    geom g;
    const fmi_conv_kernels *kn;
    int parts;
    const char *x, *w, *b;          /* input, W, b (NULL: no bias) */
    char *out;
    /* backward */
    const char *dout;
    char *gx;
    char *gw[FM_NN_PARTS], *gb[FM_NN_PARTS];  /* per part targets (NULL skip) */
    /* jvp */
    const char *tx, *tw, *tb;
    char *tout;
    fm_status st[FM_NN_PARTS];
} conv_ctx;

/* A part's scratch for chunks of up to nbmax images: the col block (colb
 * bytes, when need_col), a (Cout, nbmax P) block for a chunk's output or
 * dout (tmpb, when nbmax > 1), then the phase planes. *buf is NULL when
 * nothing is needed; false when out of memory. */
static bool part_scratch(const geom *g, int64_t nbmax, bool need_col,
                         char **buf, size_t *colb, size_t *tmpb)
{
    *colb = need_col ? align64((size_t)(g->K * nbmax * g->P) * g->es) : 0;
    *tmpb = nbmax > 1 ? align64((size_t)(g->Cout * nbmax * g->P) * g->es) : 0;
    size_t phb = need_col ? phase_bytes(g) : 0;
    *buf = NULL;
    if (*colb + *tmpb + phb == 0)
        return true;
    *buf = fm_nn_scratch(*colb + *tmpb + phb);
    return *buf != NULL;
}

static void forward_part(void *vc, int part)
{
    conv_ctx *c = vc;
    const geom *g = &c->g;
    const size_t es = g->es;
    int64_t lo, hi;
    fm_nn_part_range(g->N, c->parts, part, &lo, &hi);
    if (lo >= hi)
        return;
    const int64_t nbmax = g->nb < hi - lo ? g->nb : hi - lo;
    const bool need_col = !(g->direct && nbmax == 1);
    char *buf;
    size_t colb, tmpb;
    if (!part_scratch(g, nbmax, need_col, &buf, &colb, &tmpb)) {
        c->st[part] = FM_ENOMEM;
        return;
    }
    const int64_t xstep = g->Cin * g->H * g->W, ostep = g->Cout * g->P;
    for (int64_t n = lo; n < hi; n += nbmax) {
        const int64_t nb = hi - n < nbmax ? hi - n : nbmax;
        const int64_t ld = nb * g->P;
        const char *xn = c->x + (size_t)(n * xstep) * es;
        char *on = c->out + (size_t)(n * ostep) * es;
        const void *col = xn;
        if (need_col) {
            c->kn->im2col(g, xn, nb, buf, ld, buf + colb + tmpb);
            col = buf;
        }
        if (nb == 1) {
            fm_nn_gemm(g->dt, false, false, g->Cout, g->P, g->K, c->w, g->K,
                       col, ld, 0.0, on, g->P);
            if (c->b)
                c->kn->addbias(g->Cout, g->P, c->b, on);
        } else {
            char *tmp = buf + colb;
            fm_nn_gemm(g->dt, false, false, g->Cout, ld, g->K, c->w, g->K,
                       col, ld, 0.0, tmp, ld);
            c->kn->scatter(g, tmp, ld, nb, c->b, on);
        }
    }
}

static void backward_part(void *vc, int part)
{
    conv_ctx *c = vc;
    const geom *g = &c->g;
    const size_t es = g->es;
    int64_t lo, hi;
    fm_nn_part_range(g->N, c->parts, part, &lo, &hi);
    if (lo >= hi)
        return;
    char *gw = c->gw[part], *gb = c->gb[part];
    const int64_t nbmax = g->nb < hi - lo ? g->nb : hi - lo;
    /* col holds col(x) (for gW), then W^T dout (for gx), unless both are
     * the image / gx itself (1x1 s1 p0, one image per chunk) */
    const bool need_col = (gw || c->gx) && !(g->direct && nbmax == 1);
    char *buf;
    size_t colb, tmpb;
    if (!part_scratch(g, nbmax, need_col, &buf, &colb, &tmpb)) {
        c->st[part] = FM_ENOMEM;
        return;
    }
    const int64_t xstep = g->Cin * g->H * g->W, ostep = g->Cout * g->P;
    for (int64_t n = lo; n < hi; n += nbmax) {
        const int64_t nb = hi - n < nbmax ? hi - n : nbmax;
        const int64_t ld = nb * g->P;
        const char *xn = c->x + (size_t)(n * xstep) * es;
        const char *dn = c->dout + (size_t)(n * ostep) * es;
        const void *d = dn;          /* dout of the chunk, (Cout, ld) */
        if (nb > 1) {
            c->kn->gather(g, dn, nb, buf + colb, ld);
            d = buf + colb;
        }
        if (gb)
            c->kn->rowsum(g->Cout, ld, d, ld, gb);
        if (gw) {
            const void *col = xn;
            if (need_col) {
                c->kn->im2col(g, xn, nb, buf, ld, buf + colb + tmpb);
                col = buf;
            }
            fm_nn_gemm(g->dt, false, true, g->Cout, g->K, ld, d, ld, col, ld,
                       1.0, gw, g->K);
        }
        if (c->gx) {
            char *gxn = c->gx + (size_t)(n * xstep) * es;
            if (!need_col) {
                fm_nn_gemm(g->dt, true, false, g->Cin, g->P, g->Cout, c->w,
                           g->K, d, ld, 1.0, gxn, g->P);
            } else {
                fm_nn_gemm(g->dt, true, false, g->K, ld, g->Cout, c->w, g->K,
                           d, ld, 0.0, buf, ld);
                c->kn->col2im(g, buf, ld, nb, gxn, buf + colb + tmpb);
            }
        }
    }
}

static void jvp_part(void *vc, int part)
{
    conv_ctx *c = vc;
    const geom *g = &c->g;
    const size_t es = g->es;
    int64_t lo, hi;
    fm_nn_part_range(g->N, c->parts, part, &lo, &hi);
    if (lo >= hi)
        return;
    const int64_t nbmax = g->nb < hi - lo ? g->nb : hi - lo;
    const int64_t xstep = g->Cin * g->H * g->W, ostep = g->Cout * g->P;
    const size_t zb = (size_t)ostep * es;

    if (g->direct && nbmax == 1) {   /* plain GEMMs on the images */
        for (int64_t n = lo; n < hi; n++) {
            const char *xn = c->x + (size_t)(n * xstep) * es;
            char *on = c->out + (size_t)(n * ostep) * es;
            char *tn = c->tout + (size_t)(n * ostep) * es;
            fm_nn_gemm(g->dt, false, false, g->Cout, g->P, g->K, c->w, g->K,
                       xn, g->P, 0.0, on, g->P);
            if (c->b)
                c->kn->addbias(g->Cout, g->P, c->b, on);
            double beta = 0.0;
            if (c->tx) {
                fm_nn_gemm(g->dt, false, false, g->Cout, g->P, g->K, c->w,
                           g->K, c->tx + (size_t)(n * xstep) * es, g->P, 0.0,
                           tn, g->P);
                beta = 1.0;
            }
            if (c->tw) {
                fm_nn_gemm(g->dt, false, false, g->Cout, g->P, g->K, c->tw,
                           g->K, xn, g->P, beta, tn, g->P);
                beta = 1.0;
            }
            if (beta == 0.0)
                memset(tn, 0, zb);
            if (c->tb)
                c->kn->addbias(g->Cout, g->P, c->tb, tn);
        }
        return;
    }

    const int64_t ncol = c->tx ? 2 : 1;
    const size_t colb = align64((size_t)(g->K * ncol * nbmax * g->P) * es);
    const size_t tmpb = align64((size_t)(g->Cout * 2 * nbmax * g->P) * es);
    char *buf = fm_nn_scratch(colb + tmpb + phase_bytes(g));
    if (!buf) {
        c->st[part] = FM_ENOMEM;
        return;
    }
    char *tmp = buf + colb;
    for (int64_t n = lo; n < hi; n += nbmax) {
        const int64_t nb = hi - n < nbmax ? hi - n : nbmax;
        const int64_t w1 = nb * g->P;          /* columns of one half */
        const int64_t ldc = ncol * w1, ldt = 2 * w1;
        const char *xn = c->x + (size_t)(n * xstep) * es;
        char *on = c->out + (size_t)(n * ostep) * es;
        char *tn = c->tout + (size_t)(n * ostep) * es;
        c->kn->im2col(g, xn, nb, buf, ldc, tmp + tmpb);
        if (c->tx)
            c->kn->im2col(g, c->tx + (size_t)(n * xstep) * es, nb,
                          buf + (size_t)w1 * es, ldc, tmp + tmpb);
        /* tmp (Cout, 2 w1): [W col(x) | W col(tx) + tW col(x)] */
        fm_nn_gemm(g->dt, false, false, g->Cout, ldc, g->K, c->w, g->K, buf,
                   ldc, 0.0, tmp, ldt);
        char *tt = tmp + (size_t)w1 * es;
        if (c->tw)
            fm_nn_gemm(g->dt, false, false, g->Cout, w1, g->K, c->tw, g->K,
                       buf, ldc, c->tx ? 1.0 : 0.0, tt, ldt);
        c->kn->scatter(g, tmp, ldt, nb, c->b, on);
        if (c->tx || c->tw)
            c->kn->scatter(g, tt, ldt, nb, c->tb, tn);
        else if (c->tb)
            for (int64_t m = 0; m < nb; m++) {
                memset(tn + (size_t)m * zb, 0, zb);
                c->kn->addbias(g->Cout, g->P, c->tb, tn + (size_t)m * zb);
            }
        else
            memset(tn, 0, (size_t)nb * zb);
    }
}

static fm_status finish(const conv_ctx *c)
{
    for (int p = 0; p < c->parts; p++)
        if (c->st[p])
            return fm_error(c->st[p], "conv2d: out of memory for the column "
                            "buffer (%lld x %lld elements)",
                            (long long)c->g.K, (long long)(c->g.nb * c->g.P));
    return FM_OK;
}

static void ctx_init(conv_ctx *c, const fm_layer_call *call, const geom *g)
{
    memset(c, 0, sizeof *c);
    c->g = *g;
    c->kn = g->dt == FM_FLOAT32 ? &fmi_conv_kern_f32 : &fmi_conv_kern_f64;
    c->parts = fm_nn_parts(g->N);
    if (c->parts > FM_NN_PARTS)
        c->parts = FM_NN_PARTS;
    c->x = call->in[0].data;
    c->w = call->params[0].data;
    c->b = call->layer->bias ? call->params[1].data : NULL;
}

static fm_status conv_forward(const fm_layer_call *call)
{
    geom g;
    fm_status st = geom_of(call, &g);
    if (st)
        return st;
    conv_ctx c;
    ctx_init(&c, call, &g);
    c.out = call->out->data;
    if (g.N == 0)
        return FM_OK;
    fm_nn_parallel(c.parts, forward_part, &c);
    return finish(&c);
}

static fm_status conv_backward(const fm_layer_call *call)
{
    geom g;
    fm_status st = geom_of(call, &g);
    if (st)
        return st;
    conv_ctx c;
    ctx_init(&c, call, &g);
    c.dout = call->grad_out->data;
    c.gx = call->grad_in ? call->grad_in[0].data : NULL;
    char *gw = call->grad_params ? call->grad_params[0].data : NULL;
    char *gb = call->grad_params && call->layer->bias
                   ? call->grad_params[1].data : NULL;
    if (g.N == 0 || (!c.gx && !gw && !gb))
        return FM_OK;
    /* parts >= 1 accumulate into zeroed blocks of the caller's scratch2 */
    const int64_t nw = gw ? g.Cout * g.K : 0, nbias = gb ? g.Cout : 0;
    const size_t per = align64((size_t)nw * g.es) + align64((size_t)nbias * g.es);
    char *acc = NULL;
    if (c.parts > 1 && per) {
        acc = fm_nn_scratch2(per * (size_t)(c.parts - 1));
        if (!acc)
            return fm_error(FM_ENOMEM, "conv2d: out of memory for the "
                            "parameter gradients of the parts");
        memset(acc, 0, per * (size_t)(c.parts - 1));
    }
    for (int p = 0; p < c.parts; p++) {
        if (p == 0) {
            c.gw[p] = gw;
            c.gb[p] = gb;
        } else {
            char *a = acc + per * (size_t)(p - 1);
            c.gw[p] = gw ? a : NULL;
            c.gb[p] = gb ? a + align64((size_t)nw * g.es) : NULL;
        }
    }
    fm_nn_parallel(c.parts, backward_part, &c);
    st = finish(&c);
    if (st)
        return st;
    for (int p = 1; p < c.parts; p++) {
        if (gw)
            c.kn->add(nw, c.gw[p], gw);
        if (gb)
            c.kn->add(nbias, c.gb[p], gb);
    }
    return FM_OK;
}

static fm_status conv_jvp(const fm_layer_call *call)
{
    geom g;
    fm_status st = geom_of(call, &g);
    if (st)
        return st;
    conv_ctx c;
    ctx_init(&c, call, &g);
    c.out = call->out->data;
    c.tout = call->tan_out->data;
    c.tx = call->tan_in ? call->tan_in[0].data : NULL;
    if (call->tan_params) {
        c.tw = call->tan_params[0].data;
        c.tb = call->layer->bias ? call->tan_params[1].data : NULL;
    }
    if (g.N == 0)
        return FM_OK;
    fm_nn_parallel(c.parts, jvp_part, &c);
    return finish(&c);
}

const fm_layer_ops fm_layer_conv2d_ops = {
    .name = "conv2d",
    .check = conv_check,
    .nparams = conv_nparams,
    .param_shape = conv_param_shape,
    .shape = conv_shape,
    .saved_numel = conv_saved_numel,
    .forward = conv_forward,
    .backward = conv_backward,
    .jvp = conv_jvp,
};
