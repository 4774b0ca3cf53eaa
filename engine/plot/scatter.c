/* plot_scatter.c — 2-D samples: model points over reference points, equal
 * aspect, alpha and marker size chosen by the number of points. */
#include <math.h>
#include <string.h>

#include "plot/plot.h"

void fm_plot_opts_default(fm_plot_opts *o)
{
    memset(o, 0, sizeof *o);
}

/* Count of rows of x with both coordinates finite. */
static int64_t finite_rows(const fm_tensor *x)
{
    if (!x)
        return 0;
    int64_t n = 0;
    for (int64_t i = 0; i < x->shape[0]; i++)
        n += isfinite(fm_tensor_get(x, 2 * i)) && isfinite(fm_tensor_get(x, 2 * i + 1));
    return n;
}

fm_status fm_plot_scatter(const char *path, const fm_plot_opts *o,
                          const fm_tensor *x, const fm_tensor *reference)
{
    static const char *fn = "plot.scatter";
    fm_plot_opts def;
    if (!o)
        fm_plot_opts_default(&def), o = &def;
    fm_status st = fm_check_points(fn, "x", x);
    if (!st && reference)
        st = fm_check_points(fn, "reference", reference);
    if (st)
        return st;
    int64_t nx = finite_rows(x), nr = finite_rows(reference);
    if (nx + nr == 0)
        return fm_error(FM_EVALUE, "%s: no finite points to draw (x is (%lld, 2))",
                        fn, (long long)x->shape[0]);
    fm_fig f;
    st = fm_fig_open(&f, fn, path, o->width > 0 ? o->width : 640,
                     o->height > 0 ? o->height : 480, o->scale > 0 ? o->scale : 1);
    if (st)
        return st;
    fm_axes ax = {0};
    fm_axes_place(&ax, 0, 0, f.w, f.h, o->title != NULL, o->ylabel != NULL);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    fm_range_points(x, 0, &xlo, &xhi);
    fm_range_points(x, 1, &ylo, &yhi);
    fm_range_points(reference, 0, &xlo, &xhi);
    fm_range_points(reference, 1, &ylo, &yhi);
    fm_axes_limits(&ax, o, xlo, xhi, ylo, yhi, o->equal >= 0);
    fm_legend_entry leg[2];
    fm_color_cycle(0, leg[0].rgb);
    fm_color_cycle(1, leg[1].rgb);
    leg[0].kind = leg[1].kind = 0;
    leg[0].name = o->labels[0] ? o->labels[0] : (reference ? "model" : NULL);
    leg[1].name = o->labels[1] ? o->labels[1] : "data";
    int64_t n = nx > nr ? nx : nr;
    double r = fm_marker_radius(o, n), a = fm_marker_alpha(o, n);
    if (reference)
        fm_draw_points(f.cr, &ax, reference, leg[1].rgb, r, a);
    fm_draw_points(f.cr, &ax, x, leg[0].rgb, r, a);
    fm_axes_draw(f.cr, &ax, o->title, o->xlabel, o->ylabel, true);
    fm_axes_legend(f.cr, &ax, leg, reference ? 2 : 1);
    return fm_fig_close(&f, fn, FM_OK);
}
