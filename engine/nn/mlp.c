/* mlp.c — fused MLP forward/backward on cblas, and the Euler fast path.
 *
 * Per hidden layer the forward pass is one GEMM (beta = 0) followed by one
 * pass over its output that adds the bias, applies the activation and, when
 * backward will follow, stores act'(z) beside act(z). Backward then needs a
 * single multiply per element: dz = dh * act'(z), fused with the bias
 * gradient (a column sum). Layers whose inner dimension is <= 4 (the [x, t]
 * input layer, the d-wide output's transpose) run as hand loops: a GEMM
 * with K = 3 is all overhead.
 *
 * Threads (mlp.h): row blocks are shared among the parts of the engine's
 * worker pool (pool.h), a training batch is split in two halves by its size
 * alone; each part calls OpenBLAS with one thread. On the 2-core VM this
 * beats OpenBLAS's own 2-thread split of the small GEMMs (its workers spin in
 * sched_yield between calls): Euler 10k points 0.52 -> 0.68 M point-steps/s,
 * 100k 0.37 -> 0.65 (~95% of the GEMM-bound limit); training W256/B4096
 * 44 -> 48 steps/s. The pool (instead of a thread per call, ~55 us each)
 * took the C training step at W256/B256 from ~1.6 to ~1.25 ms
 * (bench/mlp_c.sh).
 *
 * The per-element kernels (activations, their derivatives, small-K layers,
 * dtype dispatch to cblas) are in mlp_kernels.c.
 */
#include "nn/mlp.h"
#include "nn/mlp_internal.h"
#include "core/pool.h"

#include <cblas.h>
#include <stdatomic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- structure -------------------------------------------------------- */

fm_status fm_mlp_init(fm_mlp *mlp, int nsizes, const int64_t *sizes,
                      fm_act act, fm_dtype dtype)
{
    if (nsizes < 2 || nsizes > FM_MLP_MAX_LAYERS + 1)
        return fm_error(FM_EVALUE, "mlp: needs 2..%d layer sizes, got %d",
                        FM_MLP_MAX_LAYERS + 1, nsizes);
    if (dtype != FM_FLOAT32 && dtype != FM_FLOAT64)
        return fm_error(FM_ETYPE, "mlp: dtype must be float32 or float64");
    if ((unsigned)act > FM_ACT_SIGMOID)
        return fm_error(FM_EVALUE, "mlp: bad activation %d", (int)act);
    memset(mlp, 0, sizeof *mlp);
    for (int i = 0; i < nsizes; i++) {
        if (sizes[i] < 1 || sizes[i] > (1 << 24))
            return fm_error(FM_EVALUE, "mlp: layer size %d is %lld",
                            i, (long long)sizes[i]);
        mlp->sizes[i] = sizes[i];
    }
    mlp->nlayers = nsizes - 1;
    mlp->act = act;
    mlp->dtype = dtype;
    return FM_OK;
}

int fm_mlp_nparams(const fm_mlp *mlp) { return 2 * mlp->nlayers; }

int64_t fm_mlp_numel(const fm_mlp *mlp)
{
    int64_t n = 0;
    for (int l = 0; l < mlp->nlayers; l++)
        n += (mlp->sizes[l] + 1) * mlp->sizes[l + 1];
    return n;
}

fm_status fm_mlp_param_shape(const fm_mlp *mlp, int i, int *ndim,
                             int64_t shape[2])
{
    if (i < 0 || i >= 2 * mlp->nlayers)
        return fm_error(FM_EINDEX, "mlp: parameter %d of %d", i,
                        2 * mlp->nlayers);
    int l = i / 2;
    if (i % 2 == 0) {
        *ndim = 2;
        shape[0] = mlp->sizes[l];
        shape[1] = mlp->sizes[l + 1];
    } else {
        *ndim = 1;
        shape[0] = mlp->sizes[l + 1];
    }
    return FM_OK;
}

fm_status fm_mlp_check_params(const fm_mlp *mlp, const fm_tensor *params,
                              const char *what)
{
    char buf[FM_SHAPE_STR_MAX];
    for (int i = 0; i < 2 * mlp->nlayers; i++) {
        int nd;
        int64_t sh[2];
        fm_mlp_param_shape(mlp, i, &nd, sh);
        const fm_tensor *p = &params[i];
        if (p->dtype != mlp->dtype)
            return fm_error(FM_ETYPE, "%s: tensor %d is %s, mlp is %s", what,
                            i, fm_dtype_name(p->dtype),
                            fm_dtype_name(mlp->dtype));
        if (p->ndim != nd || p->shape[0] != sh[0] ||
            (nd == 2 && p->shape[1] != sh[1]))
            return fm_error(FM_ESHAPE, "%s: tensor %d has shape %s, expected "
                            "(%lld%s%lld)", what, i,
                            fm_shape_str(p, buf, sizeof buf),
                            (long long)sh[0], nd == 2 ? ", " : "",
                            nd == 2 ? (long long)sh[1] : 0LL);
        if (!fm_tensor_is_contiguous(p))
            return fm_error(FM_ELAYOUT, "%s: tensor %d is not contiguous",
                            what, i);
    }
    return FM_OK;
}

/* x-like operand: 2-D, dtype, `cols` columns, `rows` rows (-1: any), unit
 * column stride. */
fm_status fmi_mlp_check_rows(const fm_mlp *mlp, const fm_tensor *t,
                            int64_t rows, int64_t cols, const char *op,
                            const char *name)
{
    char buf[FM_SHAPE_STR_MAX];
    if (t->dtype != mlp->dtype)
        return fm_error(FM_ETYPE, "%s: %s is %s, mlp is %s", op, name,
                        fm_dtype_name(t->dtype), fm_dtype_name(mlp->dtype));
    if (t->ndim != 2 || t->shape[1] != cols || (rows >= 0 && t->shape[0] != rows))
        return fm_error(FM_ESHAPE, "%s: %s has shape %s, expected (%s, %lld)",
                        op, name, fm_shape_str(t, buf, sizeof buf),
                        rows >= 0 ? "B" : "N", (long long)cols);
    if (t->shape[1] > 1 && t->stride[1] != 1)
        return fm_error(FM_ELAYOUT, "%s: %s needs unit column stride", op, name);
    if (t->shape[0] > 1 && t->stride[0] < t->shape[1])
        return fm_error(FM_ELAYOUT, "%s: %s rows overlap", op, name);
    return FM_OK;
}

int64_t fmi_mlp_ld(const fm_tensor *t)
{
    return t->shape[0] > 1 ? t->stride[0] : t->shape[1];
}

/* ---- workspace -------------------------------------------------------- */

void fm_mlp_work_init(fm_mlp_work *work) { memset(work, 0, sizeof *work); }

void fm_mlp_work_free(fm_mlp_work *work)
{
    free(work->buf);
    memset(work, 0, sizeof *work);
}


static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

size_t fmi_mlp_carve(const fm_mlp *m, int64_t rows, char *base, regions *r)
{
    size_t es = fm_dtype_size(m->dtype), off = 0;
    int64_t maxw = 0;
    for (int l = 0; l <= m->nlayers; l++)
        maxw = m->sizes[l] > maxw ? m->sizes[l] : maxw;
#define TAKE(ptr, n) do { if (base) (ptr) = base + off; \
                          off += round64((size_t)(n) * es); } while (0)
    TAKE(r->x, rows * m->sizes[0]);
    for (int l = 1; l < m->nlayers; l++) {
        TAKE(r->h[l], rows * m->sizes[l]);
        TAKE(r->d[l], rows * m->sizes[l]);
    }
    TAKE(r->s0, rows * maxw);
    TAKE(r->s1, rows * maxw);
    TAKE(r->wt, 4 * maxw);
    TAKE(r->y, rows * m->sizes[m->nlayers]);
    TAKE(r->b0, m->sizes[1]);
#undef TAKE
    return off;
}

static bool same_layout(const fm_mlp *a, const fm_mlp *b)
{
    if (a->nlayers != b->nlayers || a->dtype != b->dtype)
        return false;
    for (int l = 0; l <= a->nlayers; l++)
        if (a->sizes[l] != b->sizes[l])
            return false;
    return true;
}

size_t fmi_mlp_part_bytes(const fm_mlp *m, int64_t rows)
{
    regions r;
    return fmi_mlp_carve(m, rows, NULL, &r);
}

/* The block: `parts` copies of the regions for cap_rows rows each, then a
 * gradient scratch (one set of parameter gradients) for the split backward. */
static fm_status work_reserve(const fm_mlp *m, fm_mlp_work *w, int64_t rows,
                              int parts, regions *r)
{
    if (rows < 1)
        rows = 1;
    bool same = w->buf && same_layout(m, &w->layout);
    if (!same || rows > w->cap_rows || parts > w->parts) {
        int64_t cap = same && w->cap_rows > rows ? w->cap_rows : rows;
        int np = same && w->parts > parts ? w->parts : parts;
        size_t bytes = (size_t)np * fmi_mlp_part_bytes(m, cap) +
                       round64((size_t)fm_mlp_numel(m) * fm_dtype_size(m->dtype));
        void *buf = aligned_alloc(64, bytes);
        if (!buf)
            return fm_error(FM_ENOMEM, "mlp: out of memory for a workspace "
                            "of %zu bytes", bytes);
        free(w->buf);
        w->buf = buf;
        w->bytes = bytes;
        w->cap_rows = cap;
        w->parts = np;
        w->layout = *m;
        w->kept = false;
        w->batch = 0;
    }
    size_t pb = fmi_mlp_part_bytes(m, w->cap_rows);
    for (int p = 0; p < parts; p++)
        fmi_mlp_carve(m, w->cap_rows, (char *)w->buf + (size_t)p * pb, &r[p]);
    return FM_OK;
}

static void *grad_scratch(const fm_mlp_work *w)
{
    return (char *)w->buf + (size_t)w->parts * fmi_mlp_part_bytes(&w->layout, w->cap_rows);
}

/* ---- threads ------------------------------------------------------------ */

/* Threads for `blocks` independent row blocks. */
static int block_threads(int64_t blocks)
{
    int64_t n = fm_pool_threads();
    n = n < blocks ? n : blocks;
    n = n < FM_MLP_MAX_THREADS ? n : FM_MLP_MAX_THREADS;
    return n < 1 ? 1 : (int)n;
}

int64_t fm_mlp_split_rows = 0;
#define SPLIT_ROWS_DEFAULT 128

/* Parts of a training batch: a function of B only. */
int fmi_mlp_train_parts(int64_t B)
{
    int64_t min = fm_mlp_split_rows > 0 ? fm_mlp_split_rows : SPLIT_ROWS_DEFAULT;
    return B >= min && B >= 2 ? 2 : 1;
}

void fmi_mlp_part_range(int64_t B, int parts, int p, int64_t *lo, int64_t *hi)
{
    *lo = B * p / parts;
    *hi = B * (p + 1) / parts;
}

/* ---- forward ----------------------------------------------------------- */

/* Runs rows of input through the network. The first layer reads x (ldx)
 * with bias0 (which may fold in a constant t column); hidden outputs go to
 * r->h (and r->d when keep), the last layer writes y (ldy). */
static void forward_rows(const fm_mlp *m, const fm_tensor *P, int64_t rows,
                         const void *x, int64_t ldx, int64_t kx,
                         const void *bias0, void *y, int64_t ldy,
                         const regions *r, bool keep)
{
    fm_dtype dt = m->dtype;
    size_t es = fm_dtype_size(dt);
    int n = m->nlayers;
    const void *in = x;
    int64_t ldin = ldx;
    for (int l = 0; l < n; l++) {
        int64_t K = l == 0 ? kx : m->sizes[l], N = m->sizes[l + 1];
        const void *W = P[2 * l].data, *b = l == 0 ? bias0 : P[2 * l + 1].data;
        bool last = l == n - 1;
        /* the hidden output buffer: kept layers each own one, otherwise
         * ping-pong between h[1] and d[1]-sized scratch */
        void *z, *d = NULL;
        int64_t ldz = N;
        if (last) {
            z = y;
            ldz = ldy;
        } else if (keep) {
            z = r->h[l + 1];
            d = r->d[l + 1];
        } else {
            z = (l % 2 == 0) ? r->s0 : r->s1;
        }
        if (K <= 4) {
            fm_mlp_smallk(dt, rows, K, in, ldin, W, N, last ? b : NULL, z, ldz);
            if (!last)
                fm_act_rows(dt, m->act, rows, N, z, b, d);
        } else if (last) {
            for (int64_t i = 0; i < rows; i++)
                memcpy((char *)z + i * ldz * es, b, N * es);
            fm_nn_gemm(dt, false, false, rows, N, K, in, ldin, W, N, 1.0, z, ldz);
        } else {
            fm_nn_gemm(dt, false, false, rows, N, K, in, ldin, W, N, 0.0, z, ldz);
            fm_act_rows(dt, m->act, rows, N, z, b, d);
        }
        in = z;
        ldin = ldz;
    }
}

int64_t fm_mlp_euler_block = 0;
#define EULER_BLOCK_DEFAULT 512

static int64_t block_rows(void)
{
    return fm_mlp_euler_block > 0 ? fm_mlp_euler_block : EULER_BLOCK_DEFAULT;
}

static void copy_rows(size_t es, int64_t rows, int64_t cols, const void *src,
                      int64_t lds, void *dst, int64_t ldd)
{
    for (int64_t i = 0; i < rows; i++)
        memcpy((char *)dst + i * ldd * es, (const char *)src + i * lds * es,
               cols * es);
}

/* b0 = b_0 + t W_0[d, :]: the constant t column folded into the bias. */
static void fold_t(const fm_mlp *m, const fm_tensor *P, int64_t d, double t,
                   void *b0)
{
    int64_t N = m->sizes[1];
    if (m->dtype == FM_FLOAT32) {
        const float *W = P[0].data, *b = P[1].data;
        for (int64_t j = 0; j < N; j++)
            ((float *)b0)[j] = b[j] + (float)t * W[d * N + j];
    } else {
        const double *W = P[0].data, *b = P[1].data;
        for (int64_t j = 0; j < N; j++)
            ((double *)b0)[j] = b[j] + t * W[d * N + j];
    }
}

/* x (rows, d) += h y (rows, d). */
static void axpy_rows(fm_dtype dt, int64_t rows, int64_t d, double h,
                      const void *y, void *x, int64_t ldx)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < d; k++) {
            if (dt == FM_FLOAT32)
                ((float *)x)[i * ldx + k] += (float)h * ((const float *)y)[i * d + k];
            else
                ((double *)x)[i * ldx + k] += h * ((const double *)y)[i * d + k];
        }
}

/* ---- row blocks shared among threads ----------------------------------- */

typedef enum { BLK_FORWARD, BLK_FIELD, BLK_EULER } blk_kind;

typedef struct {
    blk_kind kind;
    const fm_mlp *m;
    const fm_tensor *P;
    const regions *r;       /* one per thread */
    int64_t N, blk, ldx, ldout, steps;
    char *x;                /* input (x of forward/field, state of euler) */
    char *out;
    double t0, h;
    atomic_llong next;      /* next block to take */
    atomic_bool stop;       /* interrupted */
} blocks_ctx;

static void one_block(blocks_ctx *c, const regions *r, int64_t i0,
                      int64_t rows)
{
    const fm_mlp *m = c->m;
    size_t es = fm_dtype_size(m->dtype);
    int64_t d = m->sizes[m->nlayers];
    char *xb = c->x + i0 * c->ldx * es;
    switch (c->kind) {
    case BLK_FORWARD:
        forward_rows(m, c->P, rows, xb, c->ldx, m->sizes[0], c->P[1].data,
                     c->out + i0 * c->ldout * es, c->ldout, r, false);
        break;
    case BLK_FIELD: /* the folded bias is in the first thread's b0 */
        forward_rows(m, c->P, rows, xb, c->ldx, d, c->r[0].b0,
                     c->out + i0 * c->ldout * es, c->ldout, r, false);
        break;
    case BLK_EULER:
        for (int64_t k = 0; k < c->steps; k++) {
            fold_t(m, c->P, d, c->t0 + (double)k * c->h, r->b0);
            forward_rows(m, c->P, rows, xb, c->ldx, d, r->b0, r->y, d, r,
                         false);
            axpy_rows(m->dtype, rows, d, c->h, r->y, xb, c->ldx);
        }
        break;
    }
}

static void blocks_part(void *ctx, int p)
{
    blocks_ctx *c = ctx;
    for (;;) {
        int64_t i0 = (int64_t)atomic_fetch_add(&c->next, 1) * c->blk;
        if (i0 >= c->N || atomic_load(&c->stop))
            return;
        if (c->kind == BLK_EULER && fm_interrupted()) {
            atomic_store(&c->stop, true);
            return;
        }
        one_block(c, &c->r[p], i0, c->N - i0 < c->blk ? c->N - i0 : c->blk);
    }
}

/* Reserves per-thread regions and runs the blocks of c (N, blk set). */
static fm_status run_blocks(blocks_ctx *c, fm_mlp_work *work, bool fold,
                            double t)
{
    regions r[FM_MLP_MAX_THREADS];
    int64_t nblocks = (c->N + c->blk - 1) / c->blk;
    int nt = block_threads(nblocks);
    fm_status st = work_reserve(c->m, work, c->blk, nt, r);
    if (st)
        return st;
    work->kept = false;
    if (fold)
        fold_t(c->m, c->P, c->m->sizes[c->m->nlayers], t, r[0].b0);
    c->r = r;
    atomic_init(&c->next, 0);
    atomic_init(&c->stop, false);
    fm_nn_parallel(nt, blocks_part, c);
    return FM_OK;
}

/* ---- forward ----------------------------------------------------------- */

typedef struct {
    const fm_mlp *m;
    const fm_tensor *P;
    const regions *r;
    int64_t B;
    int parts;
    const char *x;
    int64_t ldx;
    char *out;
    int64_t ldout;
} train_fwd_ctx;


/* The kept regions of r from row row0 on (x, h_l, d_l; scratch unchanged). */
regions fmi_mlp_shift_rows(const fm_mlp *m, const regions *r, int64_t row0)
{
    size_t es = fm_dtype_size(m->dtype);
    regions s = *r;
    s.x = (char *)r->x + (size_t)(row0 * m->sizes[0]) * es;
    for (int l = 1; l < m->nlayers; l++) {
        s.h[l] = (char *)r->h[l] + (size_t)(row0 * m->sizes[l]) * es;
        s.d[l] = (char *)r->d[l] + (size_t)(row0 * m->sizes[l]) * es;
    }
    return s;
}

static void train_fwd_part(void *ctx, int p)
{
    train_fwd_ctx *c = ctx;
    const fm_mlp *m = c->m;
    size_t es = fm_dtype_size(m->dtype);
    int64_t lo, hi, in = m->sizes[0];
    fmi_mlp_part_range(c->B, c->parts, p, &lo, &hi);
    copy_rows(es, hi - lo, in, c->x + lo * c->ldx * es, c->ldx, c->r[p].x, in);
    for (int64_t c0 = 0; c0 < hi - lo; c0 += TRAIN_CHUNK_ROWS) {
        int64_t rows = hi - lo - c0 < TRAIN_CHUNK_ROWS ? hi - lo - c0 : TRAIN_CHUNK_ROWS;
        regions rc = fmi_mlp_shift_rows(m, &c->r[p], c0);
        forward_rows(m, c->P, rows, rc.x, in, in, c->P[1].data,
                     c->out + (lo + c0) * c->ldout * es, c->ldout, &rc, true);
    }
}

fm_status fm_mlp_forward(const fm_mlp *mlp, const fm_tensor *params,
                         const fm_tensor *x, fm_tensor *out,
                         fm_mlp_work *work, bool keep_for_backward)
{
    const char *op = "mlp_forward";
    int n = mlp->nlayers;
    fm_status st = fm_mlp_check_params(mlp, params, op);
    if (!st) st = fmi_mlp_check_rows(mlp, x, -1, mlp->sizes[0], op, "x");
    if (!st) st = fmi_mlp_check_rows(mlp, out, x->shape[0], mlp->sizes[n], op, "out");
    if (st)
        return st;
    int64_t B = x->shape[0];
    work->kept = false;
    if (keep_for_backward) {
        regions r[2];
        int parts = fmi_mlp_train_parts(B);
        if ((st = work_reserve(mlp, work, (B + parts - 1) / parts, parts, r)))
            return st;
        train_fwd_ctx c = {mlp, params, r, B, parts, x->data, fmi_mlp_ld(x),
                           out->data, fmi_mlp_ld(out)};
        fm_nn_parallel(parts, train_fwd_part, &c);
        work->kept = true;
        work->batch = B;
        return FM_OK;
    }
    if (B == 0)
        return FM_OK;
    blocks_ctx c = {.kind = BLK_FORWARD, .m = mlp, .P = params, .N = B,
                    .blk = B < block_rows() ? B : block_rows(),
                    .x = x->data, .ldx = fmi_mlp_ld(x), .out = out->data,
                    .ldout = fmi_mlp_ld(out)};
    return run_blocks(&c, work, false, 0);
}

/* ---- backward ------------------------------------------------------------ */

/* wt (K, N) = W^T for W (N, K), small K. */
static void transpose_small(size_t es, int64_t N, int64_t K, const void *W,
                            void *wt)
{
    for (int64_t j = 0; j < N; j++)
        for (int64_t k = 0; k < K; k++)
            memcpy((char *)wt + (k * N + j) * es,
                   (const char *)W + (j * K + k) * es, es);
}

/* Backward through `B` kept rows of one part: grads g[i] (overwritten, or
 * added into when acc), grad_x rows (may be NULL). */
static void backward_rows(const fm_mlp *mlp, const fm_tensor *params,
                          const regions *r, int64_t B, const void *dz,
                          int64_t ldz, void *const *g, bool acc, void *gx,
                          int64_t ldgx)
{
    int n = mlp->nlayers;
    fm_dtype dt = mlp->dtype;
    size_t es = fm_dtype_size(dt);
    double beta = acc ? 1.0 : 0.0;
    fm_mlp_colsum(dt, B, mlp->sizes[n], dz, ldz, g[2 * n - 1], acc);
    for (int l = n - 1; l >= 0; l--) {
        int64_t K = mlp->sizes[l], N = mlp->sizes[l + 1];
        const void *in = l == 0 ? r->x : r->h[l];
        /* dW_l (K, N) (+)= h_{l-1}^T dz_l */
        fm_nn_gemm(dt, true, false, K, N, B, in, K, dz, ldz, beta, g[2 * l], N);
        void *da;
        int64_t ldda;
        if (l > 0) {
            da = ((n - 1 - l) % 2 == 0) ? r->s0 : r->s1;
            ldda = K;
        } else if (gx) {
            da = gx;
            ldda = ldgx;
        } else {
            break;
        }
        /* dh_{l-1} (B, K) = dz_l W_l^T */
        if (N <= 4) {
            transpose_small(es, K, N, params[2 * l].data, r->wt);
            fm_mlp_smallk(dt, B, N, dz, ldz, r->wt, K, NULL, da, ldda);
        } else {
            fm_nn_gemm(dt, false, true, B, K, N, dz, ldz, params[2 * l].data, N,
                 0.0, da, ldda);
        }
        if (l > 0) /* dz_{l-1} = dh * act'(z), db_{l-1} = column sums */
            fm_mlp_dact(dt, B, K, da, ldda, r->d[l], g[2 * l - 1], acc);
        dz = da;
        ldz = ldda;
    }
}

typedef struct {
    const fm_mlp *m;
    const fm_tensor *P;
    const regions *r;
    int64_t B;
    int parts;
    const char *gout;
    int64_t ldg;
    fm_tensor *G;
    bool acc;
    char *scratch;          /* part 1's gradients, packed as the params */
    char *gx;
    int64_t ldgx;
} train_bwd_ctx;

static void train_bwd_part(void *ctx, int p)
{
    train_bwd_ctx *c = ctx;
    const fm_mlp *m = c->m;
    size_t es = fm_dtype_size(m->dtype);
    int np = fm_mlp_nparams(m);
    void *g[2 * FM_MLP_MAX_LAYERS];
    size_t off = 0;
    for (int i = 0; i < np; i++) {
        g[i] = p == 0 ? c->G[i].data : c->scratch + off * es;
        off += (size_t)fm_tensor_numel(&c->G[i]);
    }
    int64_t lo, hi;
    fmi_mlp_part_range(c->B, c->parts, p, &lo, &hi);
    for (int64_t c0 = 0; c0 < hi - lo; c0 += TRAIN_CHUNK_ROWS) {
        int64_t rows = hi - lo - c0 < TRAIN_CHUNK_ROWS ? hi - lo - c0 : TRAIN_CHUNK_ROWS;
        regions rc = fmi_mlp_shift_rows(m, &c->r[p], c0);
        int64_t r0 = lo + c0;
        backward_rows(m, c->P, &rc, rows, c->gout + r0 * c->ldg * es, c->ldg, g,
                      c0 > 0 || (p == 0 && c->acc),
                      c->gx ? c->gx + r0 * c->ldgx * es : NULL, c->ldgx);
    }
}

/* G[i] += scratch (part 1's gradients). Each tensor is split between the
 * threads by fm_pool_split (pool.h), the optimisers' rule, so the update
 * that follows finds its share of the gradient in the same core's cache.
 * Tensors too small to split are summed by part 0. */
typedef struct {
    const fm_mlp *m;
    fm_tensor *G;
    const char *scratch;
    int parts;
} add_ctx;

static void add_scratch_part(void *ctx, int p)
{
    add_ctx *c = ctx;
    const fm_mlp *m = c->m;
    int64_t off = 0;
    for (int i = 0; i < fm_mlp_nparams(m); i++) {
        int64_t k = fm_tensor_numel(&c->G[i]), lo, hi;
        /* (not fm_pool_split_parts: inside a part OpenBLAS has 1 thread) */
        int parts = k >= FM_POOL_SPLIT_MIN ? c->parts : 1;
        fm_pool_split(k, parts, p, &lo, &hi);
        if (p >= parts)
            lo = hi = 0;
        if (m->dtype == FM_FLOAT32) {
            float *g = c->G[i].data;
            const float *s = (const float *)c->scratch + off;
            for (int64_t j = lo; j < hi; j++) g[j] += s[j];
        } else {
            double *g = c->G[i].data;
            const double *s = (const double *)c->scratch + off;
            for (int64_t j = lo; j < hi; j++) g[j] += s[j];
        }
        off += k;
    }
}

static void add_scratch(const fm_mlp *m, fm_tensor *G, const void *scratch)
{
    add_ctx c = {m, G, scratch, block_threads(2)};
    fm_nn_parallel(c.parts, add_scratch_part, &c);
}

fm_status fm_mlp_backward(const fm_mlp *mlp, const fm_tensor *params,
                          fm_mlp_work *work, const fm_tensor *grad_out,
                          fm_tensor *grad_params, bool accumulate,
                          fm_tensor *grad_x)
{
    const char *op = "mlp_backward";
    int n = mlp->nlayers;
    if (!work->kept || !same_layout(mlp, &work->layout))
        return fm_error(FM_EVALUE, "%s: no forward kept for backward "
                        "(call mlp_forward with keep_for_backward)", op);
    int64_t B = work->batch;
    fm_status st = fm_mlp_check_params(mlp, params, op);
    if (!st) st = fm_mlp_check_params(mlp, grad_params, "mlp_backward grads");
    if (!st) st = fmi_mlp_check_rows(mlp, grad_out, B, mlp->sizes[n], op, "grad_out");
    if (!st && grad_x)
        st = fmi_mlp_check_rows(mlp, grad_x, B, mlp->sizes[0], op, "grad_x");
    if (st)
        return st;
    regions r[2];
    int parts = fmi_mlp_train_parts(B);
    size_t pb = fmi_mlp_part_bytes(mlp, work->cap_rows);
    for (int p = 0; p < parts; p++)
        fmi_mlp_carve(mlp, work->cap_rows, (char *)work->buf + (size_t)p * pb, &r[p]);
    train_bwd_ctx c = {mlp, params, r, B, parts, grad_out->data,
                       fmi_mlp_ld(grad_out), grad_params, accumulate,
                       grad_scratch(work), grad_x ? grad_x->data : NULL,
                       grad_x ? fmi_mlp_ld(grad_x) : 0};
    fm_nn_parallel(parts, train_bwd_part, &c);
    if (parts == 2)
        add_scratch(mlp, grad_params, c.scratch);
    return FM_OK;
}

/* ---- fields and Euler ---------------------------------------------------- */

static fm_status check_field(const fm_mlp *mlp, const fm_tensor *params,
                             const fm_tensor *x, const char *op)
{
    int64_t d = mlp->sizes[mlp->nlayers];
    if (mlp->sizes[0] != d + 1)
        return fm_error(FM_ESHAPE, "%s: a field network needs inputs = "
                        "outputs + 1 ([x, t]), got %lld -> %lld", op,
                        (long long)mlp->sizes[0], (long long)d);
    fm_status st = fm_mlp_check_params(mlp, params, op);
    if (!st) st = fmi_mlp_check_rows(mlp, x, -1, d, op, "x");
    return st;
}

fm_status fm_mlp_field_eval(const fm_mlp *mlp, const fm_tensor *params,
                            const fm_tensor *x, double t, fm_tensor *out,
                            fm_mlp_work *work)
{
    const char *op = "mlp_field_eval";
    int64_t d = mlp->sizes[mlp->nlayers];
    fm_status st = check_field(mlp, params, x, op);
    if (!st) st = fmi_mlp_check_rows(mlp, out, x->shape[0], d, op, "out");
    if (st)
        return st;
    int64_t N = x->shape[0];
    if (N == 0)
        return FM_OK;
    blocks_ctx c = {.kind = BLK_FIELD, .m = mlp, .P = params, .N = N,
                    .blk = N < block_rows() ? N : block_rows(),
                    .x = x->data, .ldx = fmi_mlp_ld(x), .out = out->data,
                    .ldout = fmi_mlp_ld(out)};
    return run_blocks(&c, work, true, t);
}

fm_status fm_mlp_euler(const fm_mlp *mlp, const fm_tensor *params,
                       fm_tensor *x, double t0, double t1, int64_t steps,
                       fm_mlp_work *work)
{
    const char *op = "mlp_euler";
    fm_status st = check_field(mlp, params, x, op);
    if (st)
        return st;
    if (steps < 1)
        return fm_error(FM_EVALUE, "%s: steps must be >= 1, got %lld", op,
                        (long long)steps);
    int64_t N = x->shape[0];
    if (N == 0)
        return FM_OK;
    blocks_ctx c = {.kind = BLK_EULER, .m = mlp, .P = params, .N = N,
                    .blk = N < block_rows() ? N : block_rows(),
                    .x = x->data, .ldx = fmi_mlp_ld(x), .steps = steps, .t0 = t0,
                    .h = (t1 - t0) / (double)steps};
    if ((st = run_blocks(&c, work, false, 0)))
        return st;
    if (atomic_load(&c.stop))
        return fm_error(FM_EINTERRUPT, "%s: interrupted", op);
    return FM_OK;
}
