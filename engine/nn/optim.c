/* optim.c — fused optimiser updates (see optim.h for the formulas). */
#include "nn/optim.h"
#include "core/pool.h"
#include "core/clones_internal.h"

#include <math.h>

static fm_status check_pair(const fm_tensor *p, const fm_tensor *q,
                            const char *op, const char *name)
{
    char a[FM_SHAPE_STR_MAX], b[FM_SHAPE_STR_MAX];
    if (p->dtype != FM_FLOAT32 && p->dtype != FM_FLOAT64)
        return fm_error(FM_ETYPE, "%s: param must be float32 or float64", op);
    if (q->dtype != p->dtype)
        return fm_error(FM_ETYPE, "%s: %s is %s, param is %s", op, name,
                        fm_dtype_name(q->dtype), fm_dtype_name(p->dtype));
    if (!fm_tensor_same_shape(p, q))
        return fm_error(FM_ESHAPE, "%s: %s has shape %s, param %s", op, name,
                        fm_shape_str(q, a, sizeof a), fm_shape_str(p, b, sizeof b));
    if (!fm_tensor_is_contiguous(p) || !fm_tensor_is_contiguous(q))
        return fm_error(FM_ELAYOUT, "%s: tensors must be contiguous", op);
    return FM_OK;
}

#define DEFINE_SGD(T, SUF)                                                     \
    static void sgd_##SUF(int64_t n, T *p, const T *g, T *buf, T lr, T mom,   \
                          T damp, T wd, bool nesterov, bool first)            \
    {                                                                          \
        for (int64_t i = 0; i < n; i++) {                                      \
            T d = g[i] + wd * p[i];                                            \
            if (buf) {                                                         \
                T b = first ? d : mom * buf[i] + (1 - damp) * d;               \
                buf[i] = b;                                                    \
                d = nesterov ? d + mom * b : b;                                \
            }                                                                  \
            p[i] -= lr * d;                                                    \
        }                                                                      \
    }
FM_TARGET_CLONES DEFINE_SGD(float, f32)
DEFINE_SGD(double, f64)

/* Large updates are split between the pool's threads by fm_pool_split's
 * rule (pool.h), the rule the fused MLP uses for its gradient sum, so each
 * thread updates the elements it has just summed (in its own cache). */
typedef struct {
    fm_tensor *param;
    const fm_tensor *grad;
    fm_tensor *buf;
    const fm_sgd_opts *o;
    bool first;
    int64_t n;
    int parts;
} sgd_job;

static void sgd_part(void *ctx, int p)
{
    sgd_job *j = ctx;
    const fm_sgd_opts *o = j->o;
    int64_t lo, hi;
    fm_pool_split(j->n, j->parts, p, &lo, &hi);
    if (j->param->dtype == FM_FLOAT32)
        sgd_f32(hi - lo, (float *)j->param->data + lo,
                (const float *)j->grad->data + lo,
                j->buf ? (float *)j->buf->data + lo : NULL, (float)o->lr,
                (float)o->momentum, (float)o->dampening,
                (float)o->weight_decay, o->nesterov, j->first);
    else
        sgd_f64(hi - lo, (double *)j->param->data + lo,
                (const double *)j->grad->data + lo,
                j->buf ? (double *)j->buf->data + lo : NULL, o->lr,
                o->momentum, o->dampening, o->weight_decay, o->nesterov,
                j->first);
}

fm_status fm_optim_sgd(fm_tensor *param, const fm_tensor *grad,
                       fm_tensor *buf, const fm_sgd_opts *o, bool first)
{
    const char *op = "optim_sgd";
    fm_status st = check_pair(param, grad, op, "grad");
    if (!st && o->momentum != 0 && !buf)
        st = fm_error(FM_EVALUE, "%s: momentum needs a buffer", op);
    if (!st && o->momentum != 0)
        st = check_pair(param, buf, op, "momentum buffer");
    if (st)
        return st;
    int64_t n = fm_tensor_numel(param);
    sgd_job j = {param, grad, o->momentum != 0 ? buf : NULL, o, first, n,
                 fm_pool_split_parts(n)};
    fm_pool_run(j.parts, sgd_part, &j);
    return FM_OK;
}

/* PyTorch's Adam: step_size = lr / bc1, denom = sqrt(v) / sqrt(bc2) + eps,
 * p -= step_size * m / denom; AdamW first multiplies p by 1 - lr wd. */
#define DEFINE_ADAM(T, SUF, SQRT)                                              \
    static void adam_##SUF(int64_t n, T *p, const T *g, T *m, T *v, T b1,     \
                           T b2, T step_size, T inv_sqrt_bc2, T eps,          \
                           T wd_l2, T decay)                                  \
    {                                                                          \
        for (int64_t i = 0; i < n; i++) {                                      \
            T pi = p[i] * decay;                                               \
            T gi = g[i] + wd_l2 * p[i];                                        \
            T mi = b1 * m[i] + (1 - b1) * gi;                                  \
            T vi = b2 * v[i] + (1 - b2) * gi * gi;                             \
            m[i] = mi;                                                         \
            v[i] = vi;                                                         \
            p[i] = pi - step_size * mi / (SQRT(vi) * inv_sqrt_bc2 + eps);      \
        }                                                                      \
    }
FM_TARGET_CLONES DEFINE_ADAM(float, f32, sqrtf)
DEFINE_ADAM(double, f64, sqrt)

typedef struct {
    fm_tensor *param;
    const fm_tensor *grad;
    fm_tensor *m, *v;
    int64_t n;
    int parts;
    double b1, b2, step_size, inv_sqrt_bc2, eps, wd_l2, decay;
} adam_job;

static void adam_part(void *ctx, int p)
{
    adam_job *j = ctx;
    int64_t lo, hi;
    fm_pool_split(j->n, j->parts, p, &lo, &hi);
    if (j->param->dtype == FM_FLOAT32)
        adam_f32(hi - lo, (float *)j->param->data + lo,
                 (const float *)j->grad->data + lo, (float *)j->m->data + lo,
                 (float *)j->v->data + lo, (float)j->b1, (float)j->b2,
                 (float)j->step_size, (float)j->inv_sqrt_bc2, (float)j->eps,
                 (float)j->wd_l2, (float)j->decay);
    else
        adam_f64(hi - lo, (double *)j->param->data + lo,
                 (const double *)j->grad->data + lo, (double *)j->m->data + lo,
                 (double *)j->v->data + lo, j->b1, j->b2, j->step_size,
                 j->inv_sqrt_bc2, j->eps, j->wd_l2, j->decay);
}

fm_status fm_optim_adam(fm_tensor *param, const fm_tensor *grad, fm_tensor *m,
                        fm_tensor *v, const fm_adam_opts *o, int64_t step)
{
    const char *op = o->decoupled ? "optim_adamw" : "optim_adam";
    fm_status st = check_pair(param, grad, op, "grad");
    if (!st) st = check_pair(param, m, op, "exp_avg");
    if (!st) st = check_pair(param, v, op, "exp_avg_sq");
    if (st)
        return st;
    if (step < 1)
        return fm_error(FM_EVALUE, "%s: step counts from 1, got %lld", op,
                        (long long)step);
    int64_t n = fm_tensor_numel(param);
    adam_job j = {.param = param, .grad = grad, .m = m, .v = v, .n = n,
                  .parts = fm_pool_split_parts(n)};
    double bc1 = 1 - pow(o->beta1, (double)step);
    double bc2 = 1 - pow(o->beta2, (double)step);
    j.b1 = o->beta1;
    j.b2 = o->beta2;
    j.step_size = o->lr / bc1;
    j.inv_sqrt_bc2 = 1 / sqrt(bc2);
    j.eps = o->eps;
    j.wd_l2 = o->decoupled ? 0 : o->weight_decay;
    j.decay = o->decoupled ? 1 - o->lr * o->weight_decay : 1;
    fm_pool_run(j.parts, adam_part, &j);
    return FM_OK;
}

#define DEFINE_SUMSQ(T, SUF)                                                   \
    static double sumsq_##SUF(int64_t n, const T *a)                          \
    {                                                                          \
        double s = 0;                                                          \
        for (int64_t i = 0; i < n; i++) s += (double)a[i] * a[i];              \
        return s;                                                              \
    }
DEFINE_SUMSQ(float, f32)
DEFINE_SUMSQ(double, f64)

fm_status fm_optim_grad_norm(const fm_tensor *grads, int n, double *norm)
{
    double s = 0;
    for (int i = 0; i < n; i++) {
        const fm_tensor *g = &grads[i];
        if (!fm_tensor_is_contiguous(g) || !fm_dtype_is_float(g->dtype))
            return fm_error(FM_ELAYOUT, "optim_grad_norm: tensor %d must be "
                            "contiguous float", i);
        s += g->dtype == FM_FLOAT32 ? sumsq_f32(fm_tensor_numel(g), g->data)
                                    : sumsq_f64(fm_tensor_numel(g), g->data);
    }
    *norm = sqrt(s);
    return FM_OK;
}

double fm_optim_clip_coef(double norm, double max_norm)
{
    double c = max_norm / (norm + 1e-6);
    return c < 1 ? c : 1;
}

fm_status fm_optim_scale(fm_tensor *ts, int n, double s)
{
    for (int i = 0; i < n; i++) {
        fm_tensor *t = &ts[i];
        if (!fm_tensor_is_contiguous(t) || !fm_dtype_is_float(t->dtype))
            return fm_error(FM_ELAYOUT, "optim_scale: tensor %d must be "
                            "contiguous float", i);
        int64_t k = fm_tensor_numel(t);
        if (t->dtype == FM_FLOAT32) {
            float *a = t->data, f = (float)s;
            for (int64_t j = 0; j < k; j++) a[j] *= f;
        } else {
            double *a = t->data;
            for (int64_t j = 0; j < k; j++) a[j] *= s;
        }
    }
    return FM_OK;
}

fm_status fm_optim_ema(fm_tensor *avg, const fm_tensor *param, double decay)
{
    fm_status st = check_pair(avg, param, "optim_ema", "param");
    if (st)
        return st;
    int64_t n = fm_tensor_numel(avg);
    if (avg->dtype == FM_FLOAT32) {
        float *a = avg->data, d = (float)decay;
        const float *p = param->data;
        for (int64_t i = 0; i < n; i++) a[i] = d * a[i] + (1 - d) * p[i];
    } else {
        double *a = avg->data;
        const double *p = param->data;
        for (int64_t i = 0; i < n; i++) a[i] = decay * a[i] + (1 - decay) * p[i];
    }
    return FM_OK;
}
