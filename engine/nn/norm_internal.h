/* norm_internal.h — shared by norm.c (the group and layer norm kinds:
 * shapes, parts, the driver) and norm_kernels.c (the per-dtype kernels it
 * calls; the formulas are in norm.c's header comment). */
#ifndef FM_NN_NORM_INTERNAL_H
#define FM_NN_NORM_INTERNAL_H

#include <stdint.h>

typedef struct {
    /* moments of x (n): mean, biased variance */
    void (*stats)(const void *x, int64_t n, double *mean, double *var);
    /* jvp: r = {mean, var, mean(tx), mean(tx (x - mean))} */
    void (*jstats)(const void *x, const void *tx, int64_t n, double *r);
    /* out = (x - m) a + b */
    void (*fwd_ch)(const void *x, void *out, int64_t n, double m, double a,
                   double b);
    /* out = (x - m) r gamma_i + beta_i */
    void (*fwd_el)(const void *x, void *out, int64_t n, double m, double r,
                   const void *gamma, const void *beta);
    /* r = {sum dz, sum dz (x - m)} */
    void (*red_ch)(const void *dz, const void *x, int64_t n, double m,
                   double *r);
    /* r = {sum dz gamma, sum dz gamma xhat}, xhat = (x - m) rs;
     * pb_i += dz_i, pg_i += dz_i xhat_i when pb is not NULL */
    void (*red_el)(const void *dz, const void *x, int64_t n, double m,
                   double rs, const void *gamma, double *pb, double *pg,
                   double *r);
    /* dx += a dz + c0 + w (x - m) */
    void (*dx_ch)(void *dx, const void *dz, const void *x, int64_t n, double m,
                  double a, double c0, double w);
    /* dx += r gamma_i dz + c0 + w (x - m) */
    void (*dx_el)(void *dx, const void *dz, const void *x, int64_t n, double m,
                  double r, const void *gamma, double c0, double w);
    /* xhat = (x - m) r: out = xhat g + b, tan = A tx + B xhat + C0 */
    void (*jvp_ch)(const void *x, const void *tx, void *out, void *tan,
                   int64_t n, double m, double r, double g, double b, double A,
                   double B, double C0);
    /* out = xhat g_i + b_i,
     * tan = g_i r (tx - mt - xhat mtx) + tg_i xhat + tb_i */
    void (*jvp_el)(const void *x, const void *tx, void *out, void *tan,
                   int64_t n, double m, double r, const void *g, const void *b,
                   const void *tg, const void *tb, double mt, double mtx);
    /* t *= d */
    void (*mul)(void *t, const void *d, int64_t n);
} norm_kern;

extern const norm_kern fmi_norm_kern_f32, fmi_norm_kern_f64;

#endif
