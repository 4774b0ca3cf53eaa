/* norm.c — the normalisation layer kinds (nn/layer.h): group norm and layer
 * norm, one engine for both.
 *
 * group_norm (torch.nn.GroupNorm(G, C, eps), then l->act): x (N, C, *),
 * S = the product of the trailing dims (1 for (N, C)); each (n, g) holds the
 * M = (C/G) S contiguous elements of channels g C/G .. (g+1) C/G - 1:
 *   mean, var = biased moments of the group, rstd = 1 / sqrt(var + eps)
 *   xhat = (x - mean) rstd, z = xhat gamma_c + beta_c, out = act(z)
 * layer_norm (torch.nn.LayerNorm(D)): x (..., D) is the same computation
 * with rows as N, C = D, G = 1, S = 1 (gamma per element of the row).
 *
 * Backward (dz = dout act'(z), z recomputed from x and the saved moments;
 * means over the group's M elements):
 *   dbeta_c += sum dz, dgamma_c += sum dz xhat
 *   dx += rstd (dz gamma - mean(dz gamma) - xhat mean(dz gamma xhat))
 * JVP: tz = gamma rstd (tx - mean(tx) - xhat mean(tx xhat)) + tgamma xhat
 *      + tbeta, tan_out = act'(z) tz.
 *
 * How: per group one pass for the moments (sums of x - x0 and (x - x0)^2,
 * shifted by the group's first element x0 so that the variance does not
 * cancel; float32 sums 32 terms per float lane, then in double, see
 * DEFINE_KERNELS), then one pass writing (x - mean) (rstd gamma) + beta, the
 * activation applied to the block while it is in cache. mean and rstd are
 * rounded to the dtype before use, so forward, jvp and a backward that reads
 * them from saved or recomputes them see the same values. Backward: one pass
 * for the per-channel sums of dz and dz (x - mean), one for dx. With S = 1
 * the kernels run along the channels (gamma per element) instead of along
 * a channel's S positions. saved (layer dtype): mean (N G) then rstd (N G),
 * index n G + g. Parts split the batch (rows for layer norm, fm_nn_parts);
 * each part sums its dgamma, dbeta in double in its own buffer, the buffers
 * are added to the gradients in part order after the parts return. Scratch
 * (fm_nn_scratch, per part): backward with an activation 2 M (z, dz), jvp
 * M + max(M, C) (act'(z), zeros for absent tangents).
 */
#include "nn/layer.h"
#include "nn/norm_internal.h"

#include <math.h>
#include <string.h>

/* ---- the driver, shared by both kinds ---------------------------------- */

static double get_d(fm_dtype dt, const void *p, int64_t i)
{
    return dt == FM_FLOAT32 ? (double)((const float *)p)[i]
                            : ((const double *)p)[i];
}

static void set_d(fm_dtype dt, void *p, int64_t i, double v)
{
    if (dt == FM_FLOAT32)
        ((float *)p)[i] = (float)v;
    else
        ((double *)p)[i] = v;
}

/* Rounds v to the dtype (the value forward's kernels see). */
static double round_d(fm_dtype dt, double v)
{
    return dt == FM_FLOAT32 ? (double)(float)v : v;
}

typedef struct {
    const norm_kern *K;
    fm_dtype dt;
    fm_act act;
    size_t es;                   /* element size */
    int64_t N, C, G, S, Cg, M;   /* M = Cg S: elements of a group */
    double eps;
    const char *x, *gamma, *beta;
    char *out;                   /* forward, jvp */
    char *smean, *srstd;         /* saved (NULL: not kept / recomputed) */
    const char *dout;            /* backward */
    char *dx;                    /* backward, NULL: not wanted */
    bool want_p;                 /* backward: dgamma or dbeta wanted */
    double *pbuf;                /* backward: part p's dbeta at pbuf + 2 C p,
                                    dgamma C after it */
    const char *tx, *tg, *tb;    /* jvp tangents (NULL: zero) */
    char *tan;
    fm_status st[FM_NN_PARTS];
} norm_ctx;

#define PTR(base, i) ((base) + (size_t)(i) * cx->es)

/* mean and rstd of group (n, g), rounded to the dtype, from saved or x. */
static void group_moments(const norm_ctx *cx, int64_t ng, const char *xb,
                          double *mean, double *rstd)
{
    if (cx->smean) {
        *mean = get_d(cx->dt, cx->smean, ng);
        *rstd = get_d(cx->dt, cx->srstd, ng);
        return;
    }
    double m, v;
    cx->K->stats(xb, cx->M, &m, &v);
    *mean = round_d(cx->dt, m);
    *rstd = round_d(cx->dt, 1.0 / sqrt(v + cx->eps));
}

static void forward_part(void *ctx, int p)
{
    norm_ctx *cx = ctx;
    const norm_kern *K = cx->K;
    int64_t lo, hi;
    fm_nn_part_range(cx->N, fm_nn_parts(cx->N), p, &lo, &hi);
    for (int64_t n = lo; n < hi; n++)
        for (int64_t g = 0; g < cx->G; g++) {
            int64_t ng = n * cx->G + g, c0 = g * cx->Cg;
            const char *xb = PTR(cx->x, (n * cx->C + c0) * cx->S);
            char *ob = PTR(cx->out, (n * cx->C + c0) * cx->S);
            double m, v;
            K->stats(xb, cx->M, &m, &v);
            m = round_d(cx->dt, m);
            double r = round_d(cx->dt, 1.0 / sqrt(v + cx->eps));
            if (cx->smean) {
                set_d(cx->dt, cx->smean, ng, m);
                set_d(cx->dt, cx->srstd, ng, r);
            }
            if (cx->S == 1)
                K->fwd_el(xb, ob, cx->Cg, m, r, PTR(cx->gamma, c0),
                          PTR(cx->beta, c0));
            else
                for (int64_t c = 0; c < cx->Cg; c++)
                    K->fwd_ch(PTR(xb, c * cx->S), PTR(ob, c * cx->S), cx->S, m,
                              r * get_d(cx->dt, cx->gamma, c0 + c),
                              get_d(cx->dt, cx->beta, c0 + c));
            if (cx->act != FM_ACT_NONE)
                fm_act_apply(cx->dt, cx->act, cx->M, ob, ob, NULL);
        }
}

static void backward_part(void *ctx, int p)
{
    norm_ctx *cx = ctx;
    const norm_kern *K = cx->K;
    const int64_t C = cx->C, S = cx->S, Cg = cx->Cg, M = cx->M;
    int64_t lo, hi;
    fm_nn_part_range(cx->N, fm_nn_parts(cx->N), p, &lo, &hi);
    char *zb = NULL, *dzb = NULL;
    if (cx->act != FM_ACT_NONE && hi > lo) {
        zb = fm_nn_scratch(2 * (size_t)M * cx->es);
        if (!zb) {
            cx->st[p] = FM_ENOMEM;
            return;
        }
        dzb = PTR(zb, M);
    }
    double *pb = cx->want_p ? cx->pbuf + 2 * C * p : NULL;
    double *pg = pb ? pb + C : NULL;
    for (int64_t n = lo; n < hi; n++)
        for (int64_t g = 0; g < cx->G; g++) {
            int64_t ng = n * cx->G + g, c0 = g * Cg, off = (n * C + c0) * S;
            const char *xb = PTR(cx->x, off), *dz = PTR(cx->dout, off);
            const char *gam = PTR(cx->gamma, c0);
            double m, r;
            group_moments(cx, ng, xb, &m, &r);
            if (cx->act != FM_ACT_NONE) {
                /* dz = dout act'(z), z recomputed as forward did */
                if (S == 1)
                    K->fwd_el(xb, zb, Cg, m, r, gam, PTR(cx->beta, c0));
                else
                    for (int64_t c = 0; c < Cg; c++)
                        K->fwd_ch(PTR(xb, c * S), PTR(zb, c * S), S, m,
                                  r * get_d(cx->dt, cx->gamma, c0 + c),
                                  get_d(cx->dt, cx->beta, c0 + c));
                memcpy(dzb, dz, (size_t)M * cx->es);
                fm_act_backward(cx->dt, cx->act, M, zb, dzb);
                dz = dzb;
            }
            /* P = sum dz gamma, Q = sum dz gamma xhat over the group */
            double P = 0, Q = 0;
            if (S == 1) {
                double rr[2];
                K->red_el(dz, xb, Cg, m, r, gam, pb ? pb + c0 : NULL,
                          pg ? pg + c0 : NULL, rr);
                P = rr[0];
                Q = rr[1];
            } else {
                for (int64_t c = 0; c < Cg; c++) {
                    double rr[2], gc = get_d(cx->dt, cx->gamma, c0 + c);
                    K->red_ch(PTR(dz, c * S), PTR(xb, c * S), S, m, rr);
                    double bsum = rr[1] * r;  /* sum dz xhat */
                    P += gc * rr[0];
                    Q += gc * bsum;
                    if (pb) {
                        pb[c0 + c] += rr[0];
                        pg[c0 + c] += bsum;
                    }
                }
            }
            if (!cx->dx)
                continue;
            /* dx += r gamma dz - r P / M - r^2 Q / M (x - m) */
            double cc = -r * P / (double)M, w = -r * r * Q / (double)M;
            char *dxb = PTR(cx->dx, off);
            if (S == 1)
                K->dx_el(dxb, dz, xb, Cg, m, r, gam, cc, w);
            else
                for (int64_t c = 0; c < Cg; c++)
                    K->dx_ch(PTR(dxb, c * S), PTR(dz, c * S), PTR(xb, c * S), S,
                             m, r * get_d(cx->dt, cx->gamma, c0 + c), cc, w);
        }
}

static void jvp_part(void *ctx, int p)
{
    norm_ctx *cx = ctx;
    const norm_kern *K = cx->K;
    const int64_t C = cx->C, S = cx->S, Cg = cx->Cg, M = cx->M;
    int64_t lo, hi;
    fm_nn_part_range(cx->N, fm_nn_parts(cx->N), p, &lo, &hi);
    if (hi <= lo)
        return;
    int64_t nz = M > C ? M : C;
    char *db = fm_nn_scratch(((size_t)M + (size_t)nz) * cx->es);
    if (!db) {
        cx->st[p] = FM_ENOMEM;
        return;
    }
    char *zeros = PTR(db, M);
    memset(zeros, 0, (size_t)nz * cx->es);
    for (int64_t n = lo; n < hi; n++)
        for (int64_t g = 0; g < cx->G; g++) {
            int64_t ng = n * cx->G + g, c0 = g * Cg, off = (n * C + c0) * S;
            const char *xb = PTR(cx->x, off);
            const char *txb = cx->tx ? PTR(cx->tx, off) : zeros;
            char *ob = PTR(cx->out, off), *tb = PTR(cx->tan, off);
            double mom[4];
            K->jstats(xb, txb, M, mom);
            double m = round_d(cx->dt, mom[0]);
            double r = round_d(cx->dt, 1.0 / sqrt(mom[1] + cx->eps));
            if (cx->smean) {
                set_d(cx->dt, cx->smean, ng, m);
                set_d(cx->dt, cx->srstd, ng, r);
            }
            /* mean(tx) and mean(tx xhat); mom[3] is about the exact mean */
            double mt = mom[2], mtx = r * (mom[3] - (m - mom[0]) * mt);
            if (S == 1)
                K->jvp_el(xb, txb, ob, tb, Cg, m, r, PTR(cx->gamma, c0),
                          PTR(cx->beta, c0), cx->tg ? PTR(cx->tg, c0) : zeros,
                          cx->tb ? PTR(cx->tb, c0) : zeros, mt, mtx);
            else
                for (int64_t c = 0; c < Cg; c++) {
                    double gc = get_d(cx->dt, cx->gamma, c0 + c);
                    double tgc = cx->tg ? get_d(cx->dt, cx->tg, c0 + c) : 0;
                    double tbc = cx->tb ? get_d(cx->dt, cx->tb, c0 + c) : 0;
                    double gr = gc * r;
                    K->jvp_ch(PTR(xb, c * S), PTR(txb, c * S), PTR(ob, c * S),
                              PTR(tb, c * S), S, m, r, gc,
                              get_d(cx->dt, cx->beta, c0 + c), gr,
                              tgc - gr * mtx, tbc - gr * mt);
                }
            if (cx->act != FM_ACT_NONE) {
                fm_act_apply(cx->dt, cx->act, M, ob, ob, db);
                K->mul(tb, db, M);
            }
        }
}

/* ---- validation -------------------------------------------------------- */

static fm_status check_common(const char *name, const fm_layer *l)
{
    if (l->dtype != FM_FLOAT32 && l->dtype != FM_FLOAT64)
        return fm_error(FM_ETYPE, "%s: dtype must be float32 or float64, got "
                        "%s", name, fm_dtype_name(l->dtype));
    if (l->in <= 0)
        return fm_error(FM_EVALUE, "%s: %lld channels, must be > 0", name,
                        (long long)l->in);
    if (!(l->eps >= 0) || isinf(l->eps))
        return fm_error(FM_EVALUE, "%s: eps must be finite and >= 0, got %g",
                        name, l->eps);
    if ((unsigned)l->act >= FM_ACT_COUNT)
        return fm_error(FM_EVALUE, "%s: unknown activation %d", name,
                        (int)l->act);
    return FM_OK;
}

static fm_status gn_check(const fm_layer *l)
{
    fm_status st = check_common("group_norm", l);
    if (st)
        return st;
    if (l->groups <= 0)
        return fm_error(FM_EVALUE, "group_norm: %lld groups, must be > 0",
                        (long long)l->groups);
    if (l->in % l->groups != 0)
        return fm_error(FM_EVALUE, "group_norm: %lld groups do not divide "
                        "%lld channels", (long long)l->groups,
                        (long long)l->in);
    return FM_OK;
}

static fm_status ln_check(const fm_layer *l)
{
    fm_status st = check_common("layer_norm", l);
    if (st)
        return st;
    if (l->act != FM_ACT_NONE)
        return fm_error(FM_EVALUE, "layer_norm: takes no activation (got %s); "
                        "follow it with an act layer", fm_act_name(l->act));
    return FM_OK;
}

static int norm_nparams(const fm_layer *l)
{
    (void)l;
    return 2;
}

static void norm_param_shape(const fm_layer *l, int i, int *ndim,
                             int64_t *shape)
{
    (void)i;
    *ndim = 1;
    shape[0] = l->in;
}

static fm_status gn_shape(const fm_layer *l, int nin, const fm_tensor *in,
                          int *ndim, int64_t *shape)
{
    char buf[FM_SHAPE_STR_MAX];
    if (nin != 1 || !in)
        return fm_error(FM_EVALUE, "group_norm: takes 1 input, got %d", nin);
    if (in->ndim < 2)
        return fm_error(FM_ESHAPE, "group_norm: input %s has %d dims, expects "
                        "(N, C, ...) with at least 2", fm_shape_str(in, buf,
                        sizeof buf), in->ndim);
    if (in->shape[1] != l->in)
        return fm_error(FM_ESHAPE, "group_norm: input has %lld channels, the "
                        "layer expects %lld (input %s)",
                        (long long)in->shape[1], (long long)l->in,
                        fm_shape_str(in, buf, sizeof buf));
    *ndim = in->ndim;
    memcpy(shape, in->shape, sizeof(int64_t) * (size_t)in->ndim);
    return FM_OK;
}

static fm_status ln_shape(const fm_layer *l, int nin, const fm_tensor *in,
                          int *ndim, int64_t *shape)
{
    char buf[FM_SHAPE_STR_MAX];
    if (nin != 1 || !in)
        return fm_error(FM_EVALUE, "layer_norm: takes 1 input, got %d", nin);
    if (in->ndim < 1)
        return fm_error(FM_ESHAPE, "layer_norm: input is a scalar, expects "
                        "(..., %lld)", (long long)l->in);
    if (in->shape[in->ndim - 1] != l->in)
        return fm_error(FM_ESHAPE, "layer_norm: input %s has last dim %lld, "
                        "the layer expects %lld", fm_shape_str(in, buf,
                        sizeof buf), (long long)in->shape[in->ndim - 1],
                        (long long)l->in);
    *ndim = in->ndim;
    memcpy(shape, in->shape, sizeof(int64_t) * (size_t)in->ndim);
    return FM_OK;
}

/* N, G, S as the driver sees them (input already checked). */
static void dims_of(bool layer, const fm_layer *l, const fm_tensor *in,
                    int64_t *N, int64_t *G, int64_t *S)
{
    if (layer) {
        *N = fm_tensor_numel(in) / l->in;
        *G = 1;
        *S = 1;
    } else {
        *N = in->shape[0];
        *G = l->groups;
        *S = 1;
        for (int d = 2; d < in->ndim; d++)
            *S *= in->shape[d];
    }
}

static int64_t gn_saved_numel(const fm_layer *l, int nin, const fm_tensor *in)
{
    if (nin < 1 || !in || in->ndim < 2 || l->groups <= 0)
        return 0;
    return 2 * in->shape[0] * l->groups;
}

static int64_t ln_saved_numel(const fm_layer *l, int nin, const fm_tensor *in)
{
    if (nin < 1 || !in || l->in <= 0)
        return 0;
    return 2 * (fm_tensor_numel(in) / l->in);
}

static fm_status need(const char *name, const char *what, const fm_tensor *t,
                      fm_dtype dt, int64_t numel)
{
    if (!t || !t->data)
        return fm_error(FM_EVALUE, "%s: %s is missing", name, what);
    if (t->dtype != dt)
        return fm_error(FM_ETYPE, "%s: %s is %s, the layer is %s", name, what,
                        fm_dtype_name(t->dtype), fm_dtype_name(dt));
    if (fm_tensor_numel(t) != numel) {
        char buf[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: %s %s has %lld elements, expected "
                        "%lld", name, what, fm_shape_str(t, buf, sizeof buf),
                        (long long)fm_tensor_numel(t), (long long)numel);
    }
    return FM_OK;
}

/* Validates the call and fills the driver's context. */
static fm_status setup(bool layer, const fm_layer_call *c, norm_ctx *cx)
{
    const fm_layer *l = c->layer;
    const char *name = layer ? "layer_norm" : "group_norm";
    fm_status st = layer ? ln_check(l) : gn_check(l);
    if (st)
        return st;
    int nd;
    int64_t shape[FM_MAX_DIMS];
    st = layer ? ln_shape(l, c->nin, c->in, &nd, shape)
               : gn_shape(l, c->nin, c->in, &nd, shape);
    if (st)
        return st;
    int64_t numel = fm_tensor_numel(c->in);
    if ((st = need(name, "input", c->in, l->dtype, numel)) ||
        (st = need(name, "gamma", c->params ? &c->params[0] : NULL, l->dtype,
                   l->in)) ||
        (st = need(name, "beta", c->params ? &c->params[1] : NULL, l->dtype,
                   l->in)))
        return st;
    memset(cx, 0, sizeof *cx);
    cx->dt = l->dtype;
    cx->K = l->dtype == FM_FLOAT32 ? &fmi_norm_kern_f32 : &fmi_norm_kern_f64;
    cx->act = layer ? FM_ACT_NONE : l->act;
    cx->es = fm_dtype_size(l->dtype);
    cx->C = l->in;
    dims_of(layer, l, c->in, &cx->N, &cx->G, &cx->S);
    cx->Cg = cx->C / cx->G;
    cx->M = cx->Cg * cx->S;
    cx->eps = l->eps;
    cx->x = c->in->data;
    cx->gamma = c->params[0].data;
    cx->beta = c->params[1].data;
    if (c->saved && c->saved->data) {
        int64_t ns = 2 * cx->N * cx->G;
        if ((st = need(name, "saved", c->saved, l->dtype, ns)))
            return st;
        cx->smean = c->saved->data;
        cx->srstd = PTR(cx->smean, cx->N * cx->G);
    }
    return FM_OK;
}

static fm_status parts_status(const norm_ctx *cx, const char *name)
{
    for (int p = 0; p < FM_NN_PARTS; p++)
        if (cx->st[p])
            return fm_error(cx->st[p], "%s: out of memory for scratch", name);
    return FM_OK;
}

static fm_status norm_forward(bool layer, const fm_layer_call *c)
{
    norm_ctx cx;
    const char *name = layer ? "layer_norm" : "group_norm";
    fm_status st = setup(layer, c, &cx);
    if (st || (st = need(name, "out", c->out, cx.dt, fm_tensor_numel(c->in))))
        return st;
    cx.out = c->out->data;
    fm_nn_parallel(fm_nn_parts(cx.N), forward_part, &cx);
    return parts_status(&cx, name);
}

static fm_status norm_backward(bool layer, const fm_layer_call *c)
{
    norm_ctx cx;
    const char *name = layer ? "layer_norm" : "group_norm";
    fm_status st = setup(layer, c, &cx);
    if (st)
        return st;
    int64_t numel = fm_tensor_numel(c->in);
    if ((st = need(name, "grad_out", c->grad_out, cx.dt, numel)))
        return st;
    cx.dout = c->grad_out->data;
    fm_tensor *gx = c->grad_in && c->grad_in[0].data ? &c->grad_in[0] : NULL;
    fm_tensor *gg = c->grad_params && c->grad_params[0].data
                        ? &c->grad_params[0] : NULL;
    fm_tensor *gb = c->grad_params && c->grad_params[1].data
                        ? &c->grad_params[1] : NULL;
    if ((gx && (st = need(name, "grad_in", gx, cx.dt, numel))) ||
        (gg && (st = need(name, "grad gamma", gg, cx.dt, cx.C))) ||
        (gb && (st = need(name, "grad beta", gb, cx.dt, cx.C))))
        return st;
    if (!gx && !gg && !gb)
        return FM_OK;
    cx.dx = gx ? gx->data : NULL;
    cx.want_p = gg || gb;
    int parts = fm_nn_parts(cx.N);
    if (cx.want_p) {
        size_t nb = sizeof(double) * 2 * (size_t)cx.C * (size_t)parts;
        cx.pbuf = fm_nn_scratch2(nb);
        if (!cx.pbuf)
            return fm_error(FM_ENOMEM, "%s: out of memory for scratch", name);
        memset(cx.pbuf, 0, nb);
    }
    fm_nn_parallel(parts, backward_part, &cx);
    if ((st = parts_status(&cx, name)))
        return st;
    if (cx.want_p)
        for (int64_t i = 0; i < cx.C; i++) {
            double db = 0, dg = 0;
            for (int p = 0; p < parts; p++) {
                db += cx.pbuf[2 * cx.C * p + i];
                dg += cx.pbuf[2 * cx.C * p + cx.C + i];
            }
            if (gb)
                set_d(cx.dt, gb->data, i, get_d(cx.dt, gb->data, i) + db);
            if (gg)
                set_d(cx.dt, gg->data, i, get_d(cx.dt, gg->data, i) + dg);
        }
    return FM_OK;
}

static fm_status norm_jvp(bool layer, const fm_layer_call *c)
{
    norm_ctx cx;
    const char *name = layer ? "layer_norm" : "group_norm";
    fm_status st = setup(layer, c, &cx);
    if (st)
        return st;
    int64_t numel = fm_tensor_numel(c->in);
    if ((st = need(name, "out", c->out, cx.dt, numel)) ||
        (st = need(name, "tan_out", c->tan_out, cx.dt, numel)))
        return st;
    cx.out = c->out->data;
    cx.tan = c->tan_out->data;
    if (c->tan_in && c->tan_in[0].data) {
        if ((st = need(name, "tan_in", &c->tan_in[0], cx.dt, numel)))
            return st;
        cx.tx = c->tan_in[0].data;
    }
    if (c->tan_params) {
        if (c->tan_params[0].data) {
            if ((st = need(name, "tan gamma", &c->tan_params[0], cx.dt, cx.C)))
                return st;
            cx.tg = c->tan_params[0].data;
        }
        if (c->tan_params[1].data) {
            if ((st = need(name, "tan beta", &c->tan_params[1], cx.dt, cx.C)))
                return st;
            cx.tb = c->tan_params[1].data;
        }
    }
    fm_nn_parallel(fm_nn_parts(cx.N), jvp_part, &cx);
    return parts_status(&cx, name);
}

static fm_status gn_forward(const fm_layer_call *c) { return norm_forward(false, c); }
static fm_status gn_backward(const fm_layer_call *c) { return norm_backward(false, c); }
static fm_status gn_jvp(const fm_layer_call *c) { return norm_jvp(false, c); }
static fm_status ln_forward(const fm_layer_call *c) { return norm_forward(true, c); }
static fm_status ln_backward(const fm_layer_call *c) { return norm_backward(true, c); }
static fm_status ln_jvp(const fm_layer_call *c) { return norm_jvp(true, c); }

const fm_layer_ops fm_layer_group_norm_ops = {
    .name = "group_norm",
    .check = gn_check,
    .nparams = norm_nparams,
    .param_shape = norm_param_shape,
    .shape = gn_shape,
    .saved_numel = gn_saved_numel,
    .forward = gn_forward,
    .backward = gn_backward,
    .jvp = gn_jvp,
};

const fm_layer_ops fm_layer_layer_norm_ops = {
    .name = "layer_norm",
    .check = ln_check,
    .nparams = norm_nparams,
    .param_shape = norm_param_shape,
    .shape = ln_shape,
    .saved_numel = ln_saved_numel,
    .forward = ln_forward,
    .backward = ln_backward,
    .jvp = ln_jvp,
};
