/* assign.c — exact linear sum assignment by shortest augmenting paths
 * (docs/math.md §10). See assign.h.
 *
 * Primal-dual method (Jonker–Volgenant; Crouse 2016, Algorithm 1): rows are
 * added one at a time; for the new row a Dijkstra search over the reduced
 * costs c[i][j] - u[i] - v[j] (non-negative on the tight subgraph) finds the
 * cheapest augmenting path to a free column, the potentials are updated so
 * that the reduced costs stay non-negative and the matched edges stay tight,
 * and the path is flipped. After the last row the duals certify optimality.
 */
#include "eval/assign.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const double *c;
    int64_t n, m;
    double *u, *v, *dist;
    int64_t *path, *row4col, *col4row, *rows_seen;
    int64_t *remaining; /* columns not yet done in the current search */
    unsigned char *col_done;
} lsa;

/* Dijkstra from free row `start`; returns the free column reached (the sink)
 * and the shortest path length in *min_val, or -1 if none is reachable.
 * rows_seen receives the rows scanned (count in *nseen). */
static int64_t augmenting_path(lsa *s, int64_t start, double *min_val,
                               int64_t *nseen)
{
    const int64_t m = s->m;
    double mv = 0.0;
    int64_t i = start, sink = -1, ns = 0;
    if (m <= 0) return -1; /* (callers ensure 1 <= n <= m; tells gcc too) */
    for (int64_t j = 0; j < m; j++) s->dist[j] = INFINITY;
    memset(s->col_done, 0, (size_t)m);
    /* the columns still open, compacted as they are done, so each scan
     * touches only those (as SciPy's implementation does) */
    int64_t nrem = m;
    for (int64_t k = 0; k < m; k++) s->remaining[k] = m - 1 - k;
    while (sink < 0) {
        s->rows_seen[ns++] = i;
        const double *ci = s->c + i * m;
        const double base = mv - s->u[i];
        double lowest = INFINITY;
        int64_t best_k = -1;
        for (int64_t k = 0; k < nrem; k++) {
            int64_t j = s->remaining[k];
            double r = base + ci[j] - s->v[j];
            if (r < s->dist[j]) { s->dist[j] = r; s->path[j] = i; }
            double d = s->dist[j];
            /* ties: prefer a free column, which ends the search */
            if (d < lowest || (d == lowest && s->row4col[j] < 0)) {
                lowest = d;
                best_k = k;
            }
        }
        if (best_k < 0 || lowest == INFINITY) return -1;
        int64_t best = s->remaining[best_k];
        s->remaining[best_k] = s->remaining[--nrem];
        mv = lowest;
        s->col_done[best] = 1;
        if (s->row4col[best] < 0) sink = best;
        else i = s->row4col[best];
    }
    *min_val = mv;
    *nseen = ns;
    return sink;
}

/* Potential update after the search from cur (Crouse 2016, eq. 13-14), then
 * flip the path ending at sink. */
static void augment(lsa *s, int64_t cur, int64_t sink, double mv, int64_t ns)
{
    s->u[cur] += mv;
    for (int64_t k = 1; k < ns; k++) {
        int64_t i = s->rows_seen[k];
        s->u[i] += mv - s->dist[s->col4row[i]];
    }
    for (int64_t j = 0; j < s->m; j++)
        if (s->col_done[j]) s->v[j] -= mv - s->dist[j];
    int64_t j = sink;
    for (;;) {
        int64_t i = s->path[j];
        s->row4col[j] = i;
        int64_t prev = s->col4row[i];
        s->col4row[i] = j;
        if (i == cur) break;
        j = prev;
    }
}

/* Square problems: start from v[j] = min_i c[i][j] (column reduction, a
 * feasible dual since every column is matched in the end) and match each
 * column to its minimising row when that row is still free (a tight edge,
 * u = 0), as in Jonker–Volgenant's initialisation; only the rows left free
 * need a search. Not valid when n < m: there v must stay <= 0 on unmatched
 * columns. rows_seen is used as scratch for the argmin rows. */
static void column_reduction(lsa *s)
{
    int64_t *arg = s->rows_seen;
    for (int64_t j = 0; j < s->m; j++) { s->v[j] = INFINITY; arg[j] = 0; }
    for (int64_t i = 0; i < s->n; i++) {
        const double *ci = s->c + i * s->m;
        for (int64_t j = 0; j < s->m; j++)
            if (ci[j] < s->v[j]) { s->v[j] = ci[j]; arg[j] = i; }
    }
    for (int64_t j = s->m - 1; j >= 0; j--) {
        int64_t i = arg[j];
        if (s->col4row[i] < 0) { s->col4row[i] = j; s->row4col[j] = i; }
    }
}

static fm_status check_costs(const double *cost, int64_t n, int64_t m)
{
    for (int64_t k = 0; k < n * m; k++)
        if (!isfinite(cost[k]))
            return fm_error(FM_EVALUE, "assign: cost matrix (%lld, %lld) has a "
                            "non-finite entry at (%lld, %lld)", (long long)n,
                            (long long)m, (long long)(k / m), (long long)(k % m));
    return FM_OK;
}

fm_status fm_assign_solve(const double *cost, int64_t n, int64_t m,
                          int64_t *col_for_row, double *total)
{
    if (n < 0 || m < 0 || n > m)
        return fm_error(FM_ESHAPE, "assign: cost matrix (%lld, %lld) needs "
                        "rows <= columns", (long long)n, (long long)m);
    if (total) *total = 0.0;
    if (n == 0) return FM_OK;
    fm_status st = check_costs(cost, n, m);
    if (st) return st;
    lsa s = { .c = cost, .n = n, .m = m };
    size_t nn = (size_t)n, mm = (size_t)m;
    s.u = calloc(nn, sizeof(double));
    s.v = calloc(mm, sizeof(double));
    s.dist = malloc(mm * sizeof(double));
    s.path = malloc(mm * sizeof(int64_t));
    s.row4col = malloc(mm * sizeof(int64_t));
    s.col4row = malloc(nn * sizeof(int64_t));
    s.rows_seen = malloc(nn * sizeof(int64_t));
    s.col_done = malloc(mm);
    s.remaining = malloc(mm * sizeof(int64_t));
    if (!s.u || !s.v || !s.dist || !s.path || !s.row4col || !s.col4row ||
        !s.rows_seen || !s.col_done || !s.remaining) {
        st = fm_error(FM_ENOMEM, "assign: out of memory for (%lld, %lld)",
                      (long long)n, (long long)m);
        goto done;
    }
    for (int64_t j = 0; j < m; j++) s.row4col[j] = -1;
    for (int64_t i = 0; i < n; i++) s.col4row[i] = -1;
    if (n == m) column_reduction(&s);
    for (int64_t cur = 0; cur < n; cur++) {
        if ((cur & 63) == 0 && fm_interrupted()) {
            st = fm_error(FM_EINTERRUPT, "assign: interrupted");
            goto done;
        }
        if (s.col4row[cur] >= 0) continue; /* matched by column_reduction */
        double mv;
        int64_t ns;
        int64_t sink = augmenting_path(&s, cur, &mv, &ns);
        if (sink < 0) { /* unreachable with finite costs */
            st = fm_error(FM_EVALUE, "assign: infeasible cost matrix");
            goto done;
        }
        augment(&s, cur, sink, mv, ns);
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        col_for_row[i] = s.col4row[i];
        sum += cost[i * m + s.col4row[i]];
    }
    if (total) *total = sum;
done:
    free(s.u); free(s.v); free(s.dist); free(s.path); free(s.row4col);
    free(s.col4row); free(s.rows_seen); free(s.col_done); free(s.remaining);
    return st;
}

fm_status fm_points_to_f64(const fm_tensor *t, const char *op, double **out)
{
    *out = NULL;
    if (t->ndim != 2) {
        char buf[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: points must be (n, d), got %s", op,
                        fm_shape_str(t, buf, sizeof buf));
    }
    if (!fm_dtype_is_float(t->dtype))
        return fm_error(FM_ETYPE, "%s: points must be float32 or float64, "
                        "got %s", op, fm_dtype_name(t->dtype));
    int64_t n = t->shape[0], d = t->shape[1];
    if (n * d == 0) return FM_OK;
    double *x = malloc((size_t)(n * d) * sizeof(double));
    if (!x) return fm_error(FM_ENOMEM, "%s: out of memory", op);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++) {
            int64_t off = i * t->stride[0] + k * t->stride[1];
            x[i * d + k] = t->dtype == FM_FLOAT32
                ? (double)((const float *)t->data)[off]
                : ((const double *)t->data)[off];
        }
    *out = x;
    return FM_OK;
}

static void sqdist_rows(const double *x, const double *y, int64_t n, int64_t m,
                        int64_t d, double *out)
{
    for (int64_t i = 0; i < n; i++) {
        const double *xi = x + i * d;
        for (int64_t j = 0; j < m; j++) {
            const double *yj = y + j * d;
            double s = 0.0;
            for (int64_t k = 0; k < d; k++) {
                double t = xi[k] - yj[k];
                s += t * t;
            }
            out[i * m + j] = s;
        }
    }
}

static fm_status check_pair(const fm_tensor *a, const fm_tensor *b,
                            const char *op)
{
    if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[1]) {
        char sa[FM_SHAPE_STR_MAX], sb[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "%s: a %s and b %s must be (n, d) and "
                        "(m, d)", op, fm_shape_str(a, sa, sizeof sa),
                        fm_shape_str(b, sb, sizeof sb));
    }
    return FM_OK;
}

fm_status fm_assign_sqdist(const fm_tensor *a, const fm_tensor *b, double *out)
{
    fm_status st = check_pair(a, b, "sqdist");
    if (st) return st;
    double *x = NULL, *y = NULL;
    if ((st = fm_points_to_f64(a, "sqdist", &x)) ||
        (st = fm_points_to_f64(b, "sqdist", &y))) {
        free(x);
        return st;
    }
    sqdist_rows(x, y, a->shape[0], b->shape[0], a->shape[1], out);
    free(x);
    free(y);
    return FM_OK;
}

fm_status fm_assign_points(const fm_tensor *a, const fm_tensor *b,
                           int64_t *perm, double *cost)
{
    fm_status st = check_pair(a, b, "assign_points");
    if (st) return st;
    int64_t n = a->shape[0];
    if (b->shape[0] != n) {
        char sa[FM_SHAPE_STR_MAX], sb[FM_SHAPE_STR_MAX];
        return fm_error(FM_ESHAPE, "assign_points: a %s and b %s must have the "
                        "same number of points", fm_shape_str(a, sa, sizeof sa),
                        fm_shape_str(b, sb, sizeof sb));
    }
    if (cost) *cost = 0.0;
    if (n == 0) return FM_OK;
    double *c = malloc((size_t)n * (size_t)n * sizeof(double));
    if (!c) return fm_error(FM_ENOMEM, "assign_points: out of memory for "
                            "n = %lld", (long long)n);
    st = fm_assign_sqdist(a, b, c);
    if (!st) st = fm_assign_solve(c, n, n, perm, cost);
    free(c);
    return st;
}
