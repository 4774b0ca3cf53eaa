/* act.c — the activation kernels (ops/act.h): the only place their formulas
 * are written. Each kernel computes act(v) and, when asked, act'(v) in the
 * same pass, v = z + b (b a per-column bias, or none), so that the fused MLP
 * stores act'(z) beside act(z) and its backward is one multiply per element
 * (dz = dh * act'(z)); the elementwise tensor ops (x:silu(), x:silu_grad())
 * and the layer kinds (nn/layer.h) call the same kernels.
 *
 * float32 uses the vectorisable exp, sigmoid and tanh of ops/vmath.h, float64
 * libm (gradchecks). Hot float32 rows are compiled for x86-64-v4 / v3 /
 * baseline where gcc supports it (FM_TARGET_CLONES, core/clones_internal.h);
 * float32 SiLU rows use the AVX-512 kernel of act_avx512.c when the CPU has it.
 */
#include "ops/act.h"
#include "ops/act_internal.h"
#include "ops/vmath.h"
#include "core/clones_internal.h"

#include <math.h>
#include <string.h>

static const char *const act_names[FM_ACT_COUNT] = {
    [FM_ACT_NONE] = "none", [FM_ACT_SILU] = "silu", [FM_ACT_RELU] = "relu",
    [FM_ACT_TANH] = "tanh", [FM_ACT_GELU] = "gelu",
    [FM_ACT_SIGMOID] = "sigmoid"};
_Static_assert(sizeof act_names / sizeof act_names[0] == FM_ACT_COUNT,
               "one name per activation");

fm_status fm_act_parse(const char *name, fm_act *out)
{
    for (int i = 0; i < FM_ACT_COUNT; i++)
        if (name && strcmp(name, act_names[i]) == 0) {
            *out = (fm_act)i;
            return FM_OK;
        }
    return fm_error(FM_EVALUE, "unknown activation '%s' (none, silu, relu, "
                    "tanh, gelu, sigmoid)", name ? name : "(null)");
}

const char *fm_act_name(fm_act act)
{
    return (unsigned)act < FM_ACT_COUNT ? act_names[act] : "?";
}

static inline float sigm_f32(float z) { return fmv_sigmoid(z); }
static inline double sigm_f64(double z) { return 1.0 / (1.0 + exp(-z)); }

#define GELU_C 0.7978845608028654   /* sqrt(2 / pi) */
#define GELU_A 0.044715

/* Per element: y = act(v), g = act'(v). */
#define INL static inline __attribute__((always_inline))
#define DEFINE_ACT_ELEMS(T, SUF, SIGM, TANH, EXP)                                   \
    INL void none_##SUF(T v, T *y, T *g) { *y = v; *g = 1; }                   \
    INL void relu_##SUF(T v, T *y, T *g)                                       \
    { *y = v > 0 ? v : (T)0; *g = v > 0 ? (T)1 : (T)0; }                       \
    /* silu = v s(v), silu' = s (1 + v (1 - s)) */                             \
    INL void silu_##SUF(T v, T *y, T *g)                                       \
    { T s = SIGM(v); *y = v * s; *g = s * (1 + v * (1 - s)); }                 \
    INL void sigmoid_##SUF(T v, T *y, T *g)                                    \
    { T s = SIGM(v); *y = s; *g = s * (1 - s); }                               \
    INL void tanh_##SUF(T v, T *y, T *g) { T t = TANH(v); *y = t; *g = 1 - t * t; } \
    /* gelu = v s(2u), u = c (v + a v^3); 1 - s = e s with e = exp(-2u),  \
     * exact where s rounds to 1 */                                          \
    INL void gelu_##SUF(T v, T *y, T *g)                                       \
    {                                                                          \
        T u = (T)GELU_C * (v + (T)GELU_A * v * v * v), e = EXP(-2 * u);        \
        T s = 1 / (1 + e), oms = e < (T)1e30 ? e * s : (T)1;                   \
        *y = v * s;                                                            \
        *g = s + v * 2 * s * oms * (T)GELU_C * (1 + 3 * (T)GELU_A * v * v);    \
    }

/* The loops of one activation F: h[j] = act(v) (h may alias z, or be NULL)
 * and d[j] = act'(v) (d may be NULL), v = z[j] + b[j] (b may be NULL). Each
 * branch is a straight loop that gcc vectorises. */
#define ACT_LOOPS(T, F)                                                        \
    do {                                                                       \
        T y, g;                                                                \
        if (b && d && h) for (int64_t j = 0; j < n; j++)                       \
            { F(z[j] + b[j], &y, &g); h[j] = y; d[j] = g; }                    \
        else if (b && h) for (int64_t j = 0; j < n; j++)                       \
            { F(z[j] + b[j], &y, &g); h[j] = y; }                              \
        else if (d && h) for (int64_t j = 0; j < n; j++)                       \
            { F(z[j], &y, &g); h[j] = y; d[j] = g; }                           \
        else if (h) for (int64_t j = 0; j < n; j++)                            \
            { F(z[j], &y, &g); h[j] = y; }                                     \
        else if (d) for (int64_t j = 0; j < n; j++)                            \
            { F(b ? z[j] + b[j] : z[j], &y, &g); d[j] = g; }                   \
    } while (0)

#define DEFINE_ACT_ROW(T, SUF)                                                 \
    static void act_row_##SUF(fm_act act, int64_t n, const T *z, const T *b,  \
                              T *h, T *d)                                     \
    {                                                                          \
        switch (act) {                                                         \
        case FM_ACT_SILU: ACT_LOOPS(T, silu_##SUF); break;                     \
        case FM_ACT_RELU: ACT_LOOPS(T, relu_##SUF); break;                     \
        case FM_ACT_TANH: ACT_LOOPS(T, tanh_##SUF); break;                     \
        case FM_ACT_GELU: ACT_LOOPS(T, gelu_##SUF); break;                     \
        case FM_ACT_SIGMOID: ACT_LOOPS(T, sigmoid_##SUF); break;               \
        case FM_ACT_NONE: case FM_ACT_COUNT: ACT_LOOPS(T, none_##SUF); break;  \
        }                                                                      \
    }

DEFINE_ACT_ELEMS(float, f32, sigm_f32, fmv_tanh, fmv_exp)
DEFINE_ACT_ELEMS(double, f64, sigm_f64, tanh, exp)
FM_TARGET_CLONES DEFINE_ACT_ROW(float, f32)
DEFINE_ACT_ROW(double, f64)

void fm_act_rows(fm_dtype dt, fm_act act, int64_t rows, int64_t n, void *z,
                 const void *b, void *d)
{
    if (dt == FM_FLOAT32 && act == FM_ACT_SILU && b &&
        fmi_act_silu_avx512(rows, n, z, b, d))
        return;
    for (int64_t i = 0; i < rows; i++) {
        if (dt == FM_FLOAT32) {
            float *zr = (float *)z + i * n;
            act_row_f32(act, n, zr, b, zr, d ? (float *)d + i * n : NULL);
        } else {
            double *zr = (double *)z + i * n;
            act_row_f64(act, n, zr, b, zr, d ? (double *)d + i * n : NULL);
        }
    }
}

void fm_act_apply(fm_dtype dt, fm_act act, int64_t n, const void *x, void *y,
                  void *d)
{
    if (dt == FM_FLOAT32)
        act_row_f32(act, n, x, NULL, y, d);
    else
        act_row_f64(act, n, x, NULL, y, d);
}

/* g <- g * act'(x), in blocks through a stack buffer for act'. */
void fm_act_backward(fm_dtype dt, fm_act act, int64_t n, const void *x,
                     void *g)
{
    if (act == FM_ACT_NONE)
        return;
    double buf[256];
    size_t es = fm_dtype_size(dt);
    int64_t blk = (int64_t)(sizeof buf / es);
    for (int64_t i = 0; i < n; i += blk) {
        int64_t m = n - i < blk ? n - i : blk;
        const char *xs = (const char *)x + i * (int64_t)es;
        char *gs = (char *)g + i * (int64_t)es;
        fm_act_apply(dt, act, m, xs, NULL, buf);
        if (dt == FM_FLOAT32) {
            float *gg = (float *)gs;
            const float *dd = (const float *)buf;
            for (int64_t j = 0; j < m; j++) gg[j] *= dd[j];
        } else {
            double *gg = (double *)gs;
            for (int64_t j = 0; j < m; j++) gg[j] *= buf[j];
        }
    }
}

/* act'(v) and act''(v) of one element (ops/act.h), in T with the
 * sigmoid / tanh SIGM / TANH: float32 through ops/vmath.h (vectorised). */
#define DEFINE_ACT_SECOND(T, SUF, SIGM, TANH)                                  \
    INL void act_second_##SUF(fm_act act, T v, T *d1, T *d2)                  \
    {                                                                          \
        switch (act) {                                                         \
        case FM_ACT_SILU: {                                                    \
            T s = SIGM(v);                                                     \
            *d1 = s * (1 + v * (1 - s));                                       \
            *d2 = s * (1 - s) * (2 + v * (1 - 2 * s));                         \
            return;                                                            \
        }                                                                      \
        case FM_ACT_SIGMOID: {                                                 \
            T s = SIGM(v);                                                     \
            *d1 = s * (1 - s);                                                 \
            *d2 = *d1 * (1 - 2 * s);                                           \
            return;                                                            \
        }                                                                      \
        case FM_ACT_TANH: {                                                    \
            T t = TANH(v);                                                     \
            *d1 = 1 - t * t;                                                   \
            *d2 = -2 * t * *d1;                                                \
            return;                                                            \
        }                                                                      \
        case FM_ACT_GELU: {                                                    \
            T q = (T)GELU_C * (1 + 3 * (T)GELU_A * v * v);                     \
            T S = SIGM(2 * (T)GELU_C * (v + (T)GELU_A * v * v * v));           \
            T P = S * (1 - S);                                                 \
            *d1 = S + 2 * v * P * q;                                           \
            *d2 = 4 * P * q + 4 * v * P * q * q * (1 - 2 * S) +                \
                  12 * (T)GELU_A * (T)GELU_C * v * v * P;                      \
            return;                                                            \
        }                                                                      \
        case FM_ACT_RELU:                                                      \
            *d1 = v > 0 ? (T)1 : (T)0;                                         \
            *d2 = 0;                                                           \
            return;                                                            \
        case FM_ACT_NONE: case FM_ACT_COUNT:                                   \
            *d1 = 1;                                                           \
            *d2 = 0;                                                           \
            return;                                                            \
        }                                                                      \
    }

DEFINE_ACT_SECOND(float, f32, sigm_f32, fmv_tanh)
DEFINE_ACT_SECOND(double, f64, sigm_f64, tanh)

/* one loop per activation, so that each is a straight loop gcc vectorises */
#define SECOND_LOOP(T, SUF, A)                                                 \
    for (int64_t j = 0; j < n; j++) act_second_##SUF(A, x[j], &d1[j], &d2[j])

FM_TARGET_CLONES static void second_f32(fm_act act, int64_t n, const float *x, float *d1,
                                  float *d2)
{
    switch (act) {
    case FM_ACT_SILU: SECOND_LOOP(float, f32, FM_ACT_SILU); break;
    case FM_ACT_SIGMOID: SECOND_LOOP(float, f32, FM_ACT_SIGMOID); break;
    case FM_ACT_TANH: SECOND_LOOP(float, f32, FM_ACT_TANH); break;
    case FM_ACT_GELU: SECOND_LOOP(float, f32, FM_ACT_GELU); break;
    case FM_ACT_RELU: SECOND_LOOP(float, f32, FM_ACT_RELU); break;
    case FM_ACT_NONE: case FM_ACT_COUNT: SECOND_LOOP(float, f32, FM_ACT_NONE); break;
    }
}

void fm_act_second(fm_dtype dt, fm_act act, int64_t n, const void *x, void *d1,
                   void *d2)
{
    if (dt == FM_FLOAT32) {
        second_f32(act, n, x, d1, d2);
        return;
    }
    const double *xd = x;
    for (int64_t j = 0; j < n; j++)
        act_second_f64(act, xd[j], &((double *)d1)[j], &((double *)d2)[j]);
}
