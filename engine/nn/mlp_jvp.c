/* mlp_jvp.c — the fused MLP's tangent forward (nn/mlp.h, fm_mlp_jvp): the
 * training forward of mlp.c keeps h_l and act'(z_l) per part and chunk,
 * then one pass per chunk pushes the tangent through the kept activations
 * (docs/math.md §7, forward mode), on the same parts and threads. */
#include "nn/mlp.h"
#include "nn/mlp_internal.h"

#include <string.h>

/* Tangents of `rows` kept rows of one part (r shifted to the chunk): th_0 =
 * tx (NULL: zero), tz_l = th_{l-1} W_l + h_{l-1} tW_l + tb_l, th_l = d_l tz_l;
 * the last tz goes to tout. */
static void jvp_rows(const fm_mlp *m, const fm_tensor *P, const fm_tensor *TP,
                     const regions *r, int64_t rows, const void *tx,
                     int64_t ldtx, void *tout, int64_t ldto)
{
    fm_dtype dt = m->dtype;
    size_t es = fm_dtype_size(dt);
    int n = m->nlayers;
    const void *th = tx;
    int64_t ldth = ldtx;
    for (int l = 0; l < n; l++) {
        int64_t K = m->sizes[l], N = m->sizes[l + 1];
        bool last = l == n - 1;
        void *tz = last ? tout : (l % 2 == 0 ? r->s0 : r->s1);
        int64_t ldtz = last ? ldto : N;
        const fm_tensor *tw = TP && TP[2 * l].data ? &TP[2 * l] : NULL;
        const fm_tensor *tb = TP && TP[2 * l + 1].data ? &TP[2 * l + 1] : NULL;
        for (int64_t i = 0; i < rows; i++) {
            char *dst = (char *)tz + i * ldtz * (int64_t)es;
            if (tb) memcpy(dst, tb->data, (size_t)N * es);
            else memset(dst, 0, (size_t)N * es);
        }
        if (th)
            fm_nn_gemm(dt, false, false, rows, N, K, th, ldth, P[2 * l].data, N,
                       1.0, tz, ldtz);
        if (tw)
            fm_nn_gemm(dt, false, false, rows, N, K, l == 0 ? r->x : r->h[l], K,
                       tw->data, N, 1.0, tz, ldtz);
        if (!last) { /* th_l = act'(z_l) tz_l */
            for (int64_t i = 0; i < rows; i++) {
                if (dt == FM_FLOAT32) {
                    float *t = (float *)tz + i * ldtz;
                    const float *d = (const float *)r->d[l + 1] + i * N;
                    for (int64_t j = 0; j < N; j++) t[j] *= d[j];
                } else {
                    double *t = (double *)tz + i * ldtz;
                    const double *d = (const double *)r->d[l + 1] + i * N;
                    for (int64_t j = 0; j < N; j++) t[j] *= d[j];
                }
            }
        }
        th = tz;
        ldth = ldtz;
    }
}

typedef struct {
    const fm_mlp *m;
    const fm_tensor *P, *TP;
    const regions *r;
    int64_t B;
    int parts;
    const char *tx;
    int64_t ldtx;
    char *tout;
    int64_t ldto;
} jvp_ctx;

static void jvp_part(void *ctx, int p)
{
    jvp_ctx *c = ctx;
    size_t es = fm_dtype_size(c->m->dtype);
    int64_t lo, hi;
    fmi_mlp_part_range(c->B, c->parts, p, &lo, &hi);
    for (int64_t c0 = 0; c0 < hi - lo; c0 += TRAIN_CHUNK_ROWS) {
        int64_t rows = hi - lo - c0 < TRAIN_CHUNK_ROWS ? hi - lo - c0 : TRAIN_CHUNK_ROWS;
        regions rc = fmi_mlp_shift_rows(c->m, &c->r[p], c0);
        int64_t r0 = lo + c0;
        jvp_rows(c->m, c->P, c->TP, &rc, rows,
                 c->tx ? c->tx + r0 * c->ldtx * es : NULL, c->ldtx,
                 c->tout + r0 * c->ldto * es, c->ldto);
    }
}

fm_status fm_mlp_jvp(const fm_mlp *mlp, const fm_tensor *params,
                     const fm_tensor *x, const fm_tensor *tx,
                     const fm_tensor *tparams, fm_tensor *out, fm_tensor *tout,
                     fm_mlp_work *work)
{
    const char *op = "mlp_jvp";
    int n = mlp->nlayers;
    fm_status st = FM_OK;
    if (tx && tx->data)
        st = fmi_mlp_check_rows(mlp, tx, x->shape[0], mlp->sizes[0], op, "tangent");
    if (!st) st = fmi_mlp_check_rows(mlp, tout, x->shape[0], mlp->sizes[n], op, "tangent out");
    if (!st && tparams) { /* the given tangents in place of their parameters */
        fm_tensor with[2 * FM_MLP_MAX_LAYERS];
        for (int i = 0; i < 2 * n; i++)
            with[i] = tparams[i].data ? tparams[i] : params[i];
        st = fm_mlp_check_params(mlp, with, "mlp_jvp parameter tangents");
    }
    if (!st) st = fm_mlp_forward(mlp, params, x, out, work, true);
    if (st)
        return st;
    int64_t B = x->shape[0];
    regions r[2];
    int parts = fmi_mlp_train_parts(B);
    size_t pb = fmi_mlp_part_bytes(mlp, work->cap_rows);
    for (int p = 0; p < parts; p++)
        fmi_mlp_carve(mlp, work->cap_rows, (char *)work->buf + (size_t)p * pb, &r[p]);
    jvp_ctx c = {mlp, params, tparams, r, B, parts,
                 tx && tx->data ? tx->data : NULL, tx && tx->data ? fmi_mlp_ld(tx) : 0,
                 tout->data, fmi_mlp_ld(tout)};
    fm_nn_parallel(parts, jvp_part, &c);
    return FM_OK;
}

