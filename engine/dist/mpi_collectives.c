/* mpi_collectives.c — allreduce, broadcast and gather of tensors over
 * MPI_COMM_WORLD (docs/dist.md).
 *
 * Before any data moves, the ranks agree on what they were given: one
 * allreduce(MAX) of a header (bad arguments on some rank, tensor count,
 * op or root) and one of a signature (dtype and shape of every tensor),
 * each sent as [v, -v] so that one MAX gives both the maximum and the
 * minimum. A rank whose values differ from the minimum or maximum knows the
 * ranks disagree, so every rank returns the same kind of error instead of
 * reducing unrelated memory or waiting forever in a collective the others
 * never enter.
 *
 * The data then moves in buckets: all tensors of one dtype are packed into
 * one buffer and sent in one MPI call (in pieces of at most 1 GiB), so a
 * network of a hundred parameters costs one allreduce per step, not one
 * per parameter. A bucket of one tensor is reduced in place. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/mpi_internal.h"

/* ---- agreement ------------------------------------------------------------ */

#define SIG_WORDS (2 + FM_MAX_DIMS)   /* dtype (-1: absent), ndim, shape */

static void signature_of(const fm_tensor *t, int64_t *w)
{
    for (int k = 0; k < SIG_WORDS; k++)
        w[k] = 0;
    if (!t) {
        w[0] = -1;
        return;
    }
    w[0] = t->dtype;
    w[1] = t->ndim;
    for (int d = 0; d < t->ndim; d++)
        w[2 + d] = t->shape[d];
}

/* In place over v[0..n-1] (scratch: 2n words): v becomes the max, lo the min. */
static fm_status max_min(const char *fname, int64_t *v, int64_t *lo, size_t n,
                         int64_t *scratch)
{
    for (size_t i = 0; i < n; i++) {
        scratch[i] = v[i];
        scratch[n + i] = -v[i];
    }
    int rc = MPI_Allreduce(MPI_IN_PLACE, scratch, (int)(2 * n), MPI_INT64_T, MPI_MAX,
                           MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS)
        return fm_dist_mpi_status(fname, rc);
    for (size_t i = 0; i < n; i++) {
        v[i] = scratch[i];
        lo[i] = -scratch[n + i];
    }
    return FM_OK;
}

static const char *describe(const fm_tensor *t, char *buf, size_t size)
{
    if (!t)
        return "absent";
    char shape[FM_SHAPE_STR_MAX];
    snprintf(buf, size, "%s %s", fm_dtype_name(t->dtype), fm_shape_str(t, shape, sizeof shape));
    return buf;
}

/* The header: [bad rank + 1 (0: none), n, extra]; extra is the op or root. */
static fm_status agree_header(const char *fname, int n, int64_t extra, fm_status local,
                              const char *what)
{
    int64_t h[3] = {local != FM_OK ? fm_dist_rank() + 1 : 0, n, extra}, lo[3], s[6];
    fm_status st = max_min(fname, h, lo, 3, s);
    if (st != FM_OK)
        return st;
    if (local != FM_OK)
        return local;   /* this rank's own message */
    if (h[0] > 0)
        return fm_error(FM_EVALUE, "%s: rank %lld was given bad arguments (its own error "
                        "says which); nothing was sent", fname, (long long)(h[0] - 1));
    if (h[1] != lo[1])
        return fm_error(FM_ESHAPE, "%s: the ranks pass different numbers of tensors (this "
                        "rank %d, others between %lld and %lld)", fname, n,
                        (long long)lo[1], (long long)h[1]);
    if (h[2] != lo[2] && strcmp(what, "op") == 0)
        return fm_error(FM_EVALUE, "%s: the ranks pass different ops (this rank \"%s\"; "
                        "every rank must pass the same op)", fname,
                        fm_dist_op_name((fm_dist_op)extra));
    if (h[2] != lo[2])
        return fm_error(FM_EVALUE, "%s: the ranks pass different %ss (this rank %lld, "
                        "others between %lld and %lld)", fname, what, (long long)extra,
                        (long long)lo[2], (long long)h[2]);
    return FM_OK;
}

static fm_status agree_shapes(const char *fname, const fm_tensor *const *ts, int n)
{
    size_t words = (size_t)n * SIG_WORDS;
    int64_t *w = malloc((4 * words + 1) * sizeof *w);
    if (!w)
        return fm_error(FM_ENOMEM, "%s: out of memory for %d signatures", fname, n);
    int64_t *lo = w + words, *scratch = w + 2 * words;
    for (int i = 0; i < n; i++)
        signature_of(ts[i], w + (size_t)i * SIG_WORDS);
    fm_status st = FM_OK;
    if (words > 0)
        st = max_min(fname, w, lo, words, scratch);
    for (size_t k = 0; st == FM_OK && k < words; k++) {
        if (w[k] == lo[k])
            continue;
        int i = (int)(k / SIG_WORDS);
        char buf[FM_SHAPE_STR_MAX + 16];
        st = fm_error(k % SIG_WORDS == 0 ? FM_ETYPE : FM_ESHAPE,
                      "%s: tensor %d differs between ranks (this rank: %s; another rank "
                      "has a different %s); every rank must pass the same dtypes and shapes",
                      fname, i + 1, describe(ts[i], buf, sizeof buf),
                      k % SIG_WORDS == 0 ? "dtype" : "shape");
    }
    free(w);
    return st;
}

/* Everything agreed (or a single process: local checks only). */
static fm_status agree(const char *fname, const fm_tensor *const *ts, int n, int64_t extra,
                       fm_status local, const char *what)
{
    if (!fm_dist_initialized())
        return local;
    fm_status st = agree_header(fname, n, extra, local, what);
    return st != FM_OK ? st : agree_shapes(fname, ts, n);
}

/* ---- buckets ---------------------------------------------------------------- */

static MPI_Datatype mpi_type(fm_dtype d)
{
    return d == FM_FLOAT32 ? MPI_FLOAT : d == FM_FLOAT64 ? MPI_DOUBLE : MPI_INT64_T;
}

/* Scratch per dtype, kept between calls (a training step reuses it). */
static void *scratch_buf[FM_DTYPE_COUNT];
static size_t scratch_cap[FM_DTYPE_COUNT];

static void *scratch(fm_dtype d, size_t bytes)
{
    if (scratch_cap[d] < bytes) {
        void *p = realloc(scratch_buf[d], bytes);
        if (!p)
            return NULL;
        scratch_buf[d] = p;
        scratch_cap[d] = bytes;
    }
    return scratch_buf[d];
}

/* What happens to one bucket's buffer: an allreduce or a broadcast. */
typedef struct {
    fm_dist_op op;
    int root;
    bool bcast;
} bucket_job;

static fm_status move_buffer(const char *fname, void *buf, size_t count, fm_dtype d,
                             const bucket_job *job)
{
    size_t es = fm_dtype_size(d);
    if (job->bcast)
        return fm_dist_bcast_chunked(fname, buf, count, es, mpi_type(d), job->root);
    static const MPI_Op ops[] = {[FM_DIST_SUM] = MPI_SUM, [FM_DIST_MEAN] = MPI_SUM,
                                 [FM_DIST_MAX] = MPI_MAX, [FM_DIST_MIN] = MPI_MIN};
    size_t per = ((size_t)1 << 30) / es;
    for (size_t off = 0; off < count; off += per) {
        size_t m = count - off < per ? count - off : per;
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * es, (int)m, mpi_type(d),
                               ops[job->op], MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return fm_dist_mpi_status(fname, rc);
    }
    if (job->op == FM_DIST_MEAN) {   /* float only (checked): sum / size */
        int size = fm_dist_size();
        if (d == FM_FLOAT32)
            for (size_t i = 0; i < count; i++) ((float *)buf)[i] /= (float)size;
        else
            for (size_t i = 0; i < count; i++) ((double *)buf)[i] /= (double)size;
    }
    return FM_OK;
}

static fm_status move_bucket(const char *fname, fm_tensor *const *ts, int n, fm_dtype d,
                             const bucket_job *job)
{
    size_t count = 0, es = fm_dtype_size(d);
    int members = 0, only = -1;
    for (int i = 0; i < n; i++)
        if (ts[i] && ts[i]->dtype == d) {
            count += (size_t)fm_tensor_numel(ts[i]);
            members++;
            only = i;
        }
    if (count == 0)
        return FM_OK;
    if (members == 1)
        return move_buffer(fname, ts[only]->data, count, d, job);
    char *buf = scratch(d, count * es);
    if (!buf)
        return fm_error(FM_ENOMEM, "%s: out of memory for a %zu-byte %s bucket", fname,
                        count * es, fm_dtype_name(d));
    size_t off = 0;
    for (int i = 0; i < n; i++)
        if (ts[i] && ts[i]->dtype == d) {
            memcpy(buf + off, ts[i]->data, fm_tensor_nbytes(ts[i]));
            off += fm_tensor_nbytes(ts[i]);
        }
    fm_status st = move_buffer(fname, buf, count, d, job);
    off = 0;
    for (int i = 0; st == FM_OK && i < n; i++)
        if (ts[i] && ts[i]->dtype == d) {
            memcpy(ts[i]->data, buf + off, fm_tensor_nbytes(ts[i]));
            off += fm_tensor_nbytes(ts[i]);
        }
    return st;
}

static fm_status move_all(const char *fname, fm_tensor *const *ts, int n,
                          const bucket_job *job)
{
    static const fm_dtype order[] = {FM_FLOAT32, FM_FLOAT64, FM_INT64};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        fm_status st = move_bucket(fname, ts, n, order[k], job);
        if (st != FM_OK)
            return st;
    }
    return FM_OK;
}

/* ---- the collectives -------------------------------------------------------- */

fm_status fm_dist_allreduce(fm_tensor *const *ts, int n, fm_dist_op op)
{
    const char *fname = "fm.dist.allreduce";
    fm_status local = (unsigned)op < FM_DIST_OP_COUNT
        ? fm_dist_check_local(fname, ts, n, op == FM_DIST_MEAN)
        : fm_error(FM_EVALUE, "%s: unknown op %d", fname, (int)op);
    fm_status st = agree(fname, (const fm_tensor *const *)ts, n, op, local, "op");
    if (st != FM_OK || fm_dist_size() == 1)
        return st;
    bucket_job job = {.op = op};
    return move_all(fname, ts, n, &job);
}

static fm_status check_root(const char *fname, int root)
{
    if (root < 0 || root >= fm_dist_size())
        return fm_error(FM_EINDEX, "%s: root %d out of range (ranks 0 to %d)", fname,
                        root, fm_dist_size() - 1);
    return FM_OK;
}

fm_status fm_dist_broadcast(fm_tensor *const *ts, int n, int root)
{
    const char *fname = "fm.dist.broadcast";
    fm_status local = check_root(fname, root);
    if (local == FM_OK)
        local = fm_dist_check_local(fname, ts, n, false);
    fm_status st = agree(fname, (const fm_tensor *const *)ts, n, root, local, "root");
    if (st != FM_OK || fm_dist_size() == 1)
        return st;
    bucket_job job = {.bcast = true, .root = root};
    return move_all(fname, ts, n, &job);
}

/* out must be (size, *t.shape) of t's dtype, contiguous, where it is written. */
static fm_status check_gather_out(const char *fname, const fm_tensor *t, const fm_tensor *out)
{
    int size = fm_dist_size();
    bool fits = out && out->dtype == t->dtype && out->ndim == t->ndim + 1 &&
                out->shape[0] == size && fm_tensor_is_contiguous(out);
    for (int d = 0; fits && d < t->ndim; d++)
        fits = out->shape[d + 1] == t->shape[d];
    if (fits)
        return FM_OK;
    fm_tensor want = {.dtype = t->dtype, .ndim = t->ndim + 1};
    want.shape[0] = size;
    for (int d = 0; d < t->ndim && d + 1 < FM_MAX_DIMS; d++)
        want.shape[d + 1] = t->shape[d];
    char a[FM_SHAPE_STR_MAX];
    return fm_error(FM_ESHAPE, "%s: the output must be a contiguous %s tensor of shape %s "
                    "(ranks, then the input's shape)", fname, fm_dtype_name(t->dtype),
                    t->ndim < FM_MAX_DIMS ? fm_shape_str(&want, a, sizeof a) : "(too many dims)");
}

fm_status fm_dist_gather(const fm_tensor *t, fm_tensor *out, int root)
{
    const char *fname = "fm.dist.gather";
    bool receives = root < 0 || root == fm_dist_rank();
    fm_status local = root < 0 ? FM_OK : check_root(fname, root);
    fm_tensor *one = (fm_tensor *)t;
    if (local == FM_OK)
        local = fm_dist_check_local(fname, &one, 1, false);
    if (local == FM_OK && receives)
        local = check_gather_out(fname, t, out);
    size_t bytes = local == FM_OK ? fm_tensor_nbytes(t) : 0;
    if (local == FM_OK && bytes > INT_MAX)
        local = fm_error(FM_EVALUE, "%s: %zu bytes per rank; at most %d", fname, bytes, INT_MAX);
    const fm_tensor *sig[1] = {t};
    fm_status st = agree(fname, sig, 1, root, local, "root");
    if (st != FM_OK)
        return st;
    if (!fm_dist_initialized()) {
        memcpy(out->data, t->data, bytes);
        return FM_OK;
    }
    int rc = root < 0
        ? MPI_Allgather(t->data, (int)bytes, MPI_BYTE, out->data, (int)bytes, MPI_BYTE,
                        MPI_COMM_WORLD)
        : MPI_Gather(t->data, (int)bytes, MPI_BYTE, receives ? out->data : NULL, (int)bytes,
                     MPI_BYTE, root, MPI_COMM_WORLD);
    return fm_dist_mpi_status(fname, rc);
}
