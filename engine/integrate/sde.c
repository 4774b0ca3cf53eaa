/* sde.c — Euler–Maruyama and stochastic Heun for dX = b(X, t) dt + g(t) dW
 * (docs/math.md §1, §5). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "integrate/internal.h"

#define TRY(e) do { fm_status st_ = (e); if (st_ != FM_OK) return st_; } while (0)

fm_status fm_sde_method_parse(const char *name, fm_sde_method *out)
{
    if (!strcmp(name, "euler_maruyama") || !strcmp(name, "em") || !strcmp(name, "euler")) {
        *out = FM_SDE_EM;
        return FM_OK;
    }
    if (!strcmp(name, "heun")) { *out = FM_SDE_HEUN; return FM_OK; }
    return fm_error(FM_EVALUE, "sde: unknown method '%s' (euler_maruyama, heun)", name);
}

static fm_status diff_at(fm_diffusion g, double t, double *out)
{
    if (!g.fn) { *out = g.value; }
    else TRY(g.fn(g.ctx, t, out));
    if (!isfinite(*out) || *out < 0)
        return fm_error(FM_EVALUE, "sde.solve: diffusion(%g) = %g must be finite and >= 0",
                        t, *out);
    return FM_OK;
}

/* One step from t to t + h; k[0], k[1] drift buffers, k[2] noise, k[3] the
 * predictor. */
static fm_status sde_step(fm_sde_method m, fm_field b, fm_diffusion g, fm_rng *rng,
                          fm_tensor *x, double t, double h, fm_tensor *k,
                          fm_ode_stats *stats)
{
    const fm_tensor *kp[3] = {&k[0], &k[1], &k[2]};
    double g0, g1;
    TRY(diff_at(g, t, &g0));
    TRY(fm_rng_normal(rng, &k[2], 0, sqrt(fabs(h))));
    stats->nfe++;
    TRY(b.fn(b.ctx, x, t, &k[0]));
    if (m == FM_SDE_EM) {
        fm_ilin(x, x, 2, (double[]){h, g0}, (const fm_tensor *[]){kp[0], kp[2]});
        return FM_OK;
    }
    TRY(diff_at(g, t + h, &g1));
    fm_ilin(&k[3], x, 2, (double[]){h, g0}, (const fm_tensor *[]){kp[0], kp[2]});
    stats->nfe++;
    TRY(b.fn(b.ctx, &k[3], t + h, &k[1]));
    fm_ilin(x, x, 3, (double[]){h / 2, h / 2, (g0 + g1) / 2}, kp);
    return FM_OK;
}

fm_status fm_sde_solve(fm_sde_method method, fm_field drift, fm_diffusion g,
                       fm_rng *rng, const fm_tensor *x0, const fm_ode_opts *o,
                       fm_tensor *x1, fm_tensor *traj, fm_ode_stats *stats)
{
    fm_ode_stats dummy;
    if (!stats) stats = &dummy;
    memset(stats, 0, sizeof *stats);
    TRY(fm_icheck(x0, x1, traj, o->nrec, "sde.solve"));
    double *grid;
    int64_t ng, r = 0;
    TRY(fm_igrid(o, &grid, &ng, "sde.solve"));
    fm_ibufs w;
    fm_status st = fm_ibufs_alloc(&w, x0, 5, "sde.solve");
    if (st != FM_OK) { free(grid); return st; }
    fm_tensor *x = &w.b[4];
    st = fm_copy(x, x0);
    if (st == FM_OK) st = fm_icheck_finite(x, "sde.solve", 0, grid[0], grid[0]);
    if (st == FM_OK) fm_irecord(o, grid[0], x, traj, &r);
    for (int64_t i = 0; i + 1 < ng && st == FM_OK; i++) {
        if (fm_interrupted()) {
            st = fm_error(FM_EINTERRUPT, "sde.solve: interrupted at t = %g", grid[i]);
            break;
        }
        st = sde_step(method, drift, g, rng, x, grid[i], grid[i + 1] - grid[i], w.b, stats);
        if (st == FM_OK) st = fm_icheck_finite(x, "sde.solve", i + 1, grid[i], grid[i + 1]);
        stats->accepted++;
        fm_irecord(o, grid[i + 1], x, traj, &r);
    }
    if (st == FM_OK) st = fm_copy(x1, x);
    fm_ibufs_free(&w);
    free(grid);
    return st;
}
