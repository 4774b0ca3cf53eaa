/* integrate_util.c — work buffers, linear combinations, time grids and
 * trajectory recording for the integrators (integrate_internal.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integrate/internal.h"

fm_status fm_ibufs_alloc(fm_ibufs *w, const fm_tensor *x, int nbuf, const char *op)
{
    size_t nb = fm_tensor_nbytes(x), stride = (nb + 63) / 64 * 64;
    w->block = NULL;
    w->b = calloc((size_t)nbuf, sizeof *w->b);
    w->nbuf = nbuf;
    if (stride == 0) stride = 64;
    if (w->b) w->block = aligned_alloc(64, stride * (size_t)nbuf);
    if (!w->b || !w->block) {
        free(w->b);
        free(w->block);
        w->b = NULL;
        w->block = NULL;
        return fm_error(FM_ENOMEM, "%s: cannot allocate %d work buffers of %zu bytes",
                        op, nbuf, nb);
    }
    for (int i = 0; i < nbuf; i++)
        fm_tensor_init(&w->b[i], (char *)w->block + stride * (size_t)i, x->dtype,
                       x->ndim, x->shape);
    return FM_OK;
}

void fm_ibufs_free(fm_ibufs *w)
{
    free(w->block);
    free(w->b);
    w->block = NULL;
    w->b = NULL;
}

#define LIN_LOOP(T)                                                        \
    do {                                                                   \
        T *o = out->data;                                                  \
        const T *xx = x->data;                                             \
        const T *kk[8];                                                    \
        for (int j = 0; j < m; j++) kk[j] = k[j]->data;                    \
        for (int64_t i = 0; i < n; i++) {                                  \
            double s = xx[i];                                              \
            for (int j = 0; j < m; j++) s += c[j] * kk[j][i];              \
            o[i] = (T)s;                                                   \
        }                                                                  \
    } while (0)

void fm_ilin(fm_tensor *out, const fm_tensor *x, int m, const double *c,
             const fm_tensor *const *k)
{
    int64_t n = fm_tensor_numel(out);
    if (out->dtype == FM_FLOAT32) LIN_LOOP(float);
    else LIN_LOOP(double);
}

static int cmp_up(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

fm_status fm_igrid(const fm_ode_opts *o, double **g, int64_t *ng, const char *op)
{
    double t0 = o->t0, t1 = o->t1;
    int64_t nbase = o->times ? o->ntimes : o->nsteps + 1;
    if (o->times && o->ntimes < 2)
        return fm_error(FM_EVALUE, "%s: a time grid needs at least 2 times, got %lld",
                        op, (long long)o->ntimes);
    if (!o->times && o->nsteps < 1)
        return fm_error(FM_EVALUE, "%s: steps must be >= 1, got %lld", op,
                        (long long)o->nsteps);
    if (o->times) { t0 = o->times[0]; t1 = o->times[o->ntimes - 1]; }
    if (!(t0 != t1) || !isfinite(t0) || !isfinite(t1))
        return fm_error(FM_EVALUE, "%s: t0 = %g and t1 = %g must be finite and differ",
                        op, t0, t1);
    double dir = t1 > t0 ? 1 : -1;
    for (int64_t i = 1; o->times && i < o->ntimes; i++)
        if (!(dir * (o->times[i] - o->times[i - 1]) > 0))
            return fm_error(FM_EVALUE, "%s: times must be strictly monotone (times[%lld] = %g)",
                            op, (long long)i + 1, o->times[i]);
    for (int64_t i = 0; i < o->nrec; i++) {
        double r = o->rec_t[i];
        if (!(dir * (r - t0) >= -1e-12 && dir * (t1 - r) >= -1e-12))
            return fm_error(FM_EVALUE, "%s: record time %g is outside [%g, %g]", op, r, t0, t1);
        if (i > 0 && dir * (r - o->rec_t[i - 1]) < 0)
            return fm_error(FM_EVALUE, "%s: record times must be sorted from t0 to t1", op);
    }
    double *a = malloc(sizeof *a * (size_t)(nbase + o->nrec));
    if (!a) return fm_error(FM_ENOMEM, "%s: cannot allocate the time grid", op);
    for (int64_t i = 0; i < nbase; i++)
        a[i] = o->times ? o->times[i]
                        : (i == o->nsteps ? t1 : t0 + (t1 - t0) * (double)i / (double)o->nsteps);
    if (o->nrec > 0) /* rec_t may be NULL when nothing is recorded */
        memcpy(a + nbase, o->rec_t, sizeof *a * (size_t)o->nrec);
    int64_t n = nbase + o->nrec;
    qsort(a, (size_t)n, sizeof *a, cmp_up);
    /* dedupe times closer than 1e-9 of the span, keeping grid ends exact */
    double tol = 1e-9 * fabs(t1 - t0);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (m == 0 || a[i] - a[m - 1] > tol) a[m++] = a[i];
    a[0] = fmin(t0, t1);
    a[m - 1] = fmax(t0, t1);
    if (dir < 0)
        for (int64_t i = 0; i < m / 2; i++) {
            double s = a[i]; a[i] = a[m - 1 - i]; a[m - 1 - i] = s;
        }
    *g = a;
    *ng = m;
    return FM_OK;
}

void fm_irecord(const fm_ode_opts *o, double t, const fm_tensor *x,
                fm_tensor *traj, int64_t *r)
{
    double span = fabs(o->times ? o->times[o->ntimes - 1] - o->times[0] : o->t1 - o->t0);
    size_t nb = fm_tensor_nbytes(x);
    while (*r < o->nrec && fabs(o->rec_t[*r] - t) <= 1e-9 * span) {
        if (traj) memcpy((char *)traj->data + nb * (size_t)*r, x->data, nb);
        (*r)++;
    }
}

#define FIRST_BAD(T)                                                       \
    do {                                                                   \
        const T *v = x->data;                                              \
        for (int64_t i = 0; i < n; i++)                                    \
            if (!isfinite(v[i])) { bad = i; val = v[i]; break; }           \
    } while (0)

fm_status fm_icheck_finite(const fm_tensor *x, const char *op, int64_t step, double t0,
                           double t)
{
    int64_t n = fm_tensor_numel(x), bad = -1;
    double val = 0;
    if (x->dtype == FM_FLOAT32) FIRST_BAD(float);
    else FIRST_BAD(double);
    if (bad < 0)
        return FM_OK;
    const char *vs = isnan(val) ? "nan" : val > 0 ? "inf" : "-inf";
    char where[64];
    if (x->ndim == 2)
        snprintf(where, sizeof where, "x[%lld, %lld]", (long long)(bad / x->shape[1] + 1),
                 (long long)(bad % x->shape[1] + 1));
    else
        snprintf(where, sizeof where, "element %lld", (long long)bad + 1);
    if (step == 0)
        return fm_error(FM_EVALUE, "%s: the initial state is not finite (%s = %s, t = %g)",
                        op, where, vs, t);
    return fm_error(FM_EVALUE, "%s: step %lld (t = %g -> %g): non-finite state (%s = %s); "
                    "the field (or the noise) gave NaN or inf", op, (long long)step, t0, t,
                    where, vs);
}

fm_status fm_icheck(const fm_tensor *x0, const fm_tensor *x1,
                    const fm_tensor *traj, int64_t nrec, const char *op)
{
    char a[FM_SHAPE_STR_MAX], b[FM_SHAPE_STR_MAX];
    if (!fm_dtype_is_float(x0->dtype) || x1->dtype != x0->dtype)
        return fm_error(FM_ETYPE, "%s: x0 and x1 must be float tensors of one dtype", op);
    if (!fm_tensor_same_shape(x0, x1))
        return fm_error(FM_ESHAPE, "%s: x0 %s and x1 %s differ", op,
                        fm_shape_str(x0, a, sizeof a), fm_shape_str(x1, b, sizeof b));
    if (traj && (traj->dtype != x0->dtype || !fm_tensor_is_contiguous(traj) ||
                 fm_tensor_numel(traj) != nrec * fm_tensor_numel(x0)))
        return fm_error(FM_ESHAPE, "%s: traj %s must be contiguous, %s, with %lld x %lld elements",
                        op, fm_shape_str(traj, a, sizeof a), fm_dtype_name(x0->dtype),
                        (long long)nrec, (long long)fm_tensor_numel(x0));
    return FM_OK;
}
