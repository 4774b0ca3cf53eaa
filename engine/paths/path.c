/* path.c — Gaussian conditional paths (docs/math.md §2); see path.h. */
#include "paths/path.h"
#include "core/rows.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

fm_status fm_rows_check(const fm_tensor *t, const char *op, const char *what)
{
    char buf[FM_SHAPE_STR_MAX];
    if (t->ndim != 2)
        return fm_error(FM_ESHAPE, "%s: %s must be (n, d), got %s", op, what,
                        fm_shape_str(t, buf, sizeof buf));
    if (t->dtype != FM_FLOAT32 && t->dtype != FM_FLOAT64)
        return fm_error(FM_ETYPE, "%s: %s must be float32 or float64, got %s",
                        op, what, fm_dtype_name(t->dtype));
    return FM_OK;
}

fm_status fm_rows_check_same(const fm_tensor *a, const fm_tensor *b,
                             const char *op, const char *wa, const char *wb)
{
    char sa[FM_SHAPE_STR_MAX], sb[FM_SHAPE_STR_MAX];
    fm_status st;
    if ((st = fm_rows_check(a, op, wa)) || (st = fm_rows_check(b, op, wb)))
        return st;
    if (!fm_tensor_same_shape(a, b))
        return fm_error(FM_ESHAPE, "%s: %s %s and %s %s differ in shape", op,
                        wa, fm_shape_str(a, sa, sizeof sa), wb,
                        fm_shape_str(b, sb, sizeof sb));
    return FM_OK;
}

void fm_path_init(fm_path *p, const fm_schedule *sched)
{
    p->sched = *sched;
    p->t_eps = FM_PATH_T_EPS;
}

/* ---- the generic row kernel: out = A a + B b, (A, B) from the schedule --- */

enum { T_EXACT, T_SAFE, T_CLAMP };

typedef void (*coef_fn)(const fm_sched_val *v, const void *ctx, double *A,
                        double *B);

static fm_status time_check(const fm_tensor *t, int64_t n, const char *op,
                            bool *per_row)
{
    char buf[FM_SHAPE_STR_MAX];
    int64_t m = fm_tensor_numel(t);
    *per_row = false;
    if (m == 1) return FM_OK;
    if ((t->ndim == 1 || (t->ndim == 2 && t->shape[1] == 1)) && t->shape[0] == n) {
        *per_row = true;
        return FM_OK;
    }
    return fm_error(FM_ESHAPE, "%s: t must be a number, (%lld,) or (%lld, 1), "
                    "got %s", op, (long long)n, (long long)n,
                    fm_shape_str(t, buf, sizeof buf));
}

static fm_status sched_at(const fm_path *p, double t, int mode, const char *op,
                          fm_sched_val *v)
{
    fm_status st;
    if (!(t >= 0 && t <= 1))
        return fm_error(FM_EVALUE, "%s: t = %g outside [0, 1]", op, t);
    if (mode == T_CLAMP)
        st = fm_schedule_eval(&p->sched, fmin(fmax(t, p->t_eps), 1 - p->t_eps), v);
    else if (mode == T_SAFE)
        st = fm_schedule_eval_safe(&p->sched, t, p->t_eps, v);
    else
        st = fm_schedule_eval(&p->sched, t, v);
    return st;
}

static fm_status apply(const fm_path *p, const char *op, const fm_tensor *a,
                       const fm_tensor *b, const char *wa, const char *wb,
                       const fm_tensor *t, fm_tensor *out, int mode,
                       coef_fn coef, const void *ctx)
{
    fm_status st;
    bool per_row;
    if ((st = fm_rows_check_same(a, b, op, wa, wb)) ||
        (st = fm_rows_check_same(a, out, op, wa, "out")))
        return st;
    int64_t n = a->shape[0], d = a->shape[1];
    if ((st = time_check(t, n, op, &per_row))) return st;
    double *buf = malloc(2 * (size_t)(d ? d : 1) * sizeof(double));
    if (!buf) return fm_error(FM_ENOMEM, "%s: out of memory", op);
    double *ra = buf, *rb = buf + d, A = 0, B = 0;
    fm_sched_val v;
    for (int64_t i = 0; i < n; i++) {
        if (i == 0 || per_row) {
            if ((st = sched_at(p, fm_tensor_get(t, per_row ? i : 0), mode, op, &v)))
                break;
            coef(&v, ctx, &A, &B);
        }
        fm_row_read(a, i, ra);
        fm_row_read(b, i, rb);
        for (int64_t j = 0; j < d; j++) ra[j] = A * ra[j] + B * rb[j];
        fm_row_write(out, i, ra);
    }
    free(buf);
    return st;
}

static void coef_sample(const fm_sched_val *v, const void *c, double *A, double *B)
{
    (void)c;
    *A = v->alpha;
    *B = v->beta;
}

static void coef_velocity_eps(const fm_sched_val *v, const void *c, double *A,
                              double *B)
{
    (void)c;
    *A = v->dalpha;
    *B = v->dbeta;
}

/* u(x|z) = (dalpha - dbeta/beta alpha) z + (dbeta/beta) x; A on z, B on x */
static void coef_velocity(const fm_sched_val *v, const void *c, double *A,
                          double *B)
{
    (void)c;
    double r = v->dbeta / v->beta;
    *A = v->dalpha - r * v->alpha;
    *B = r;
}

/* -(x - alpha z)/beta^2; A on z, B on x */
static void coef_score(const fm_sched_val *v, const void *c, double *A, double *B)
{
    (void)c;
    double ib2 = 1.0 / (v->beta * v->beta);
    *A = v->alpha * ib2;
    *B = -ib2;
}

fm_status fm_path_sample(const fm_path *p, const fm_tensor *z,
                         const fm_tensor *eps, const fm_tensor *t, fm_tensor *out)
{
    return apply(p, "path.sample", z, eps, "z", "eps", t, out, T_EXACT,
                 coef_sample, NULL);
}

fm_status fm_path_velocity_eps(const fm_path *p, const fm_tensor *z,
                               const fm_tensor *eps, const fm_tensor *t,
                               fm_tensor *out)
{
    return apply(p, "path.velocity", z, eps, "z", "eps", t, out, T_SAFE,
                 coef_velocity_eps, NULL);
}

fm_status fm_path_velocity(const fm_path *p, const fm_tensor *x,
                           const fm_tensor *z, const fm_tensor *t, fm_tensor *out)
{
    return apply(p, "path.velocity", z, x, "z", "x", t, out, T_CLAMP,
                 coef_velocity, NULL);
}

fm_status fm_path_score(const fm_path *p, const fm_tensor *x,
                        const fm_tensor *z, const fm_tensor *t, fm_tensor *out)
{
    return apply(p, "path.score", z, x, "z", "x", t, out, T_CLAMP,
                 coef_score, NULL);
}

/* ---- conversions between predictions ------------------------------------ */

static const char *pred_names[] = {
    [FM_PRED_VELOCITY] = "velocity",
    [FM_PRED_SCORE] = "score",
    [FM_PRED_EPS] = "eps",
    [FM_PRED_DATA] = "data",
};
_Static_assert(sizeof pred_names / sizeof pred_names[0] == FM_PRED_COUNT, "one name per prediction type");

const char *fm_pred_name(fm_pred k)
{
    return (unsigned)k < FM_PRED_COUNT ? pred_names[k] : "?";
}

fm_status fm_pred_parse(const char *name, fm_pred *out)
{
    for (int k = 0; k < FM_PRED_COUNT; k++)
        if (name && !strcmp(name, pred_names[k])) {
            *out = (fm_pred)k;
            return FM_OK;
        }
    return fm_error(FM_EVALUE, "path.convert: unknown prediction '%s' "
                    "(expected velocity, score, eps or data)", name ? name : "");
}

typedef struct { fm_pred from, to; } conv_ctx;

/* z = zx x + zp p and eps = ex x + ep p from the `from` prediction p. */
static void recover(const fm_sched_val *v, fm_pred from, double *zx, double *zp,
                    double *ex, double *ep)
{
    double a = v->alpha, b = v->beta, da = v->dalpha, db = v->dbeta;
    switch (from) {
    case FM_PRED_EPS:   /* z = (x - b eps)/a */
        *ex = 0; *ep = 1; *zx = 1 / a; *zp = -b / a; break;
    case FM_PRED_DATA:  /* eps = (x - a z)/b */
        *zx = 0; *zp = 1; *ex = 1 / b; *ep = -a / b; break;
    case FM_PRED_SCORE: /* eps = -b s, z = (x + b^2 s)/a */
        *ex = 0; *ep = -b; *zx = 1 / a; *zp = b * b / a; break;
    default: {          /* solve x = a z + b eps, u = da z + db eps */
        double det = da * b - db * a;
        *zx = -db / det; *zp = b / det; *ex = da / det; *ep = -a / det;
    }
    }
}

/* A on x, B on pred */
static void coef_convert(const fm_sched_val *v, const void *c, double *A, double *B)
{
    const conv_ctx *k = c;
    double zx, zp, ex, ep;
    recover(v, k->from, &zx, &zp, &ex, &ep);
    switch (k->to) {
    case FM_PRED_EPS: *A = ex; *B = ep; break;
    case FM_PRED_DATA: *A = zx; *B = zp; break;
    case FM_PRED_SCORE: *A = -ex / v->beta; *B = -ep / v->beta; break;
    default: *A = v->dalpha * zx + v->dbeta * ex; *B = v->dalpha * zp + v->dbeta * ep;
    }
}

static void coef_copy(const fm_sched_val *v, const void *c, double *A, double *B)
{
    (void)v; (void)c;
    *A = 0;
    *B = 1;
}

fm_status fm_path_convert(const fm_path *p, fm_pred from, const fm_tensor *pred,
                          const fm_tensor *x, const fm_tensor *t, fm_pred to,
                          fm_tensor *out)
{
    if ((unsigned)from >= FM_PRED_COUNT || (unsigned)to >= FM_PRED_COUNT)
        return fm_error(FM_EVALUE, "path.convert: bad prediction kind");
    conv_ctx c = {from, to};
    return apply(p, "path.convert", x, pred, "x", "pred", t, out, T_CLAMP,
                 from == to ? coef_copy : coef_convert, &c);
}
