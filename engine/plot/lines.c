/* plot_lines.c — polylines: particle trajectories of a flow and curves
 * (loss against iteration, optionally on a log axis). */
#include <math.h>
#include <stdio.h>

#include "plot/plot.h"

/* Element (t, i, c) of a (T, n, 2) tensor. */
static double traj_at(const fm_tensor *tr, int64_t t, int64_t i, int c)
{
    return fm_tensor_get(tr, (t * tr->shape[1] + i) * 2 + c);
}

static void draw_paths(cairo_t *cr, const fm_axes *ax, const fm_tensor *tr)
{
    int64_t T = tr->shape[0], n = tr->shape[1];
    double rgb[3];
    fm_color_cycle(0, rgb);
    double alpha = n <= 50 ? 0.7 : n <= 500 ? 0.35 : 0.15;
    cairo_save(cr);
    fm_axes_clip(cr, ax);
    cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
    cairo_set_line_width(cr, n <= 50 ? 1.2 : 0.8);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (int64_t i = 0; i < n; i++) {
        bool pen = false;
        cairo_new_path(cr);
        for (int64_t t = 0; t < T; t++) {
            double X = fm_axes_X(ax, traj_at(tr, t, i, 0));
            double Y = fm_axes_Y(ax, traj_at(tr, t, i, 1));
            if (!isfinite(X) || !isfinite(Y)) {
                pen = false; /* a NaN breaks the line */
                continue;
            }
            if (pen)
                cairo_line_to(cr, X, Y);
            else
                cairo_move_to(cr, X, Y);
            pen = true;
        }
        cairo_stroke(cr);
    }
    cairo_restore(cr);
}

fm_status fm_plot_trajectories(const char *path, const fm_plot_opts *o,
                               const fm_tensor *traj)
{
    static const char *fn = "plot.trajectories";
    char buf[FM_SHAPE_STR_MAX];
    fm_plot_opts def;
    if (!o)
        fm_plot_opts_default(&def), o = &def;
    if (!traj || !traj->data)
        return fm_error(FM_EVALUE, "%s: traj is missing", fn);
    if (traj->ndim != 3 || traj->shape[2] != 2 || traj->shape[0] < 1)
        return fm_error(FM_ESHAPE, "%s: traj must be (T, n, 2) with T >= 1, got %s",
                        fn, fm_shape_str(traj, buf, sizeof buf));
    int64_t T = traj->shape[0], n = traj->shape[1];
    /* the first and last time as (n, 2) views */
    fm_tensor first = *traj, last = *traj;
    first.ndim = last.ndim = 2;
    first.shape[0] = last.shape[0] = n;
    first.shape[1] = last.shape[1] = 2;
    first.stride[0] = last.stride[0] = traj->stride[1];
    first.stride[1] = last.stride[1] = traj->stride[2];
    last.data = (char *)traj->data +
                (size_t)((T - 1) * traj->stride[0]) * fm_dtype_size(traj->dtype);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int64_t t = 0; t < T; t++) {
        fm_tensor s = first;
        s.data = (char *)traj->data +
                 (size_t)(t * traj->stride[0]) * fm_dtype_size(traj->dtype);
        fm_range_points(&s, 0, &xlo, &xhi);
        fm_range_points(&s, 1, &ylo, &yhi);
    }
    if (!(xhi >= xlo) || !(yhi >= ylo))
        return fm_error(FM_EVALUE, "%s: no finite points to draw (traj is %s)",
                        fn, fm_shape_str(traj, buf, sizeof buf));
    fm_fig f;
    fm_status st = fm_fig_open(&f, fn, path, o->width > 0 ? o->width : 640,
                               o->height > 0 ? o->height : 480,
                               o->scale > 0 ? o->scale : 1);
    if (st)
        return st;
    fm_axes ax = {0};
    fm_axes_place(&ax, 0, 0, f.w, f.h, o->title != NULL, o->ylabel != NULL);
    fm_axes_limits(&ax, o, xlo, xhi, ylo, yhi, o->equal >= 0);
    draw_paths(f.cr, &ax, traj);
    fm_legend_entry leg[3] = {{"start", {0.1, 0.1, 0.1}, 0},
                              {"end", {0}, 0},
                              {"path", {0}, 1}};
    fm_color_cycle(1, leg[1].rgb);
    fm_color_cycle(0, leg[2].rgb);
    double r = fm_marker_radius(o, n) * 0.8, a = fm_marker_alpha(o, n);
    fm_draw_points(f.cr, &ax, &first, leg[0].rgb, r, a);
    fm_draw_points(f.cr, &ax, &last, leg[1].rgb, r, a);
    fm_axes_draw(f.cr, &ax, o->title, o->xlabel, o->ylabel, true);
    fm_axes_legend(f.cr, &ax, leg, 3);
    return fm_fig_close(&f, fn, FM_OK);
}

/* ---- curves ------------------------------------------------------------- */

static double series_x(const fm_plot_series *s, int64_t i)
{
    return s->x ? s->x[i] : (double)(i + 1);
}

/* Whether value v can be placed on an axis (finite, positive if log). */
static bool usable(double v, bool log)
{
    return isfinite(v) && (!log || v > 0);
}

/* Limits in axis units: the data range padded 5% (on log10 if log), or the
 * user's limits. */
static void curve_limits(const double lim[2], double lo, double hi, bool log,
                         bool pad, double *a, double *b)
{
    if (lim[0] < lim[1] && (!log || lim[0] > 0)) {
        *a = log ? log10(lim[0]) : lim[0];
        *b = log ? log10(lim[1]) : lim[1];
        return;
    }
    if (log)
        lo = log10(lo), hi = log10(hi);
    double r = hi - lo;
    if (r <= 0)
        r = fabs(lo) > 0 ? fabs(lo) * 0.2 : 1, lo -= r / 2, hi += r / 2;
    else if (pad)
        lo -= 0.05 * r, hi += 0.05 * r;
    *a = lo, *b = hi;
}

static void draw_series(cairo_t *cr, const fm_axes *ax, const fm_plot_series *s,
                        const double rgb[3])
{
    cairo_save(cr);
    fm_axes_clip(cr, ax);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, 1.6);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    bool pen = false;
    int64_t drawn = 0;
    double lastX = 0, lastY = 0;
    for (int64_t i = 0; i < s->n; i++) {
        double X = fm_axes_X(ax, series_x(s, i)), Y = fm_axes_Y(ax, s->y[i]);
        if (!isfinite(X) || !isfinite(Y)) {
            pen = false;
            continue;
        }
        if (pen)
            cairo_line_to(cr, X, Y);
        else
            cairo_move_to(cr, X, Y);
        pen = true, drawn++, lastX = X, lastY = Y;
    }
    cairo_stroke(cr);
    if (drawn == 1) { /* a single point would be invisible as a line */
        cairo_arc(cr, lastX, lastY, 3, 0, 2 * M_PI);
        cairo_fill(cr);
    }
    cairo_restore(cr);
}

fm_status fm_plot_curve(const char *path, const fm_plot_opts *o,
                        const fm_plot_series *series, int nseries)
{
    static const char *fn = "plot.curve";
    fm_plot_opts def;
    if (!o)
        fm_plot_opts_default(&def), o = &def;
    if (!series || nseries < 1)
        return fm_error(FM_EVALUE, "%s: no series to draw", fn);
    if (nseries > 64)
        return fm_error(FM_EVALUE, "%s: at most 64 series, got %d", fn, nseries);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int k = 0; k < nseries; k++) {
        const fm_plot_series *s = &series[k];
        if (s->n < 0 || (s->n > 0 && !s->y))
            return fm_error(FM_EVALUE, "%s: series %d has no y values", fn, k + 1);
        for (int64_t i = 0; i < s->n; i++) {
            double x = series_x(s, i), y = s->y[i];
            if (!usable(x, o->xlog) || !usable(y, o->ylog))
                continue;
            xlo = fmin(xlo, x), xhi = fmax(xhi, x);
            ylo = fmin(ylo, y), yhi = fmax(yhi, y);
        }
    }
    if (!(xhi >= xlo))
        return fm_error(FM_EVALUE, "%s: no finite%s values to draw", fn,
                        o->ylog || o->xlog ? " positive" : "");
    fm_fig f;
    fm_status st = fm_fig_open(&f, fn, path, o->width > 0 ? o->width : 640,
                               o->height > 0 ? o->height : 480,
                               o->scale > 0 ? o->scale : 1);
    if (st)
        return st;
    fm_axes ax = {0};
    fm_axes_place(&ax, 0, 0, f.w, f.h, o->title != NULL, true);
    ax.xlog = o->xlog, ax.ylog = o->ylog;
    curve_limits(o->xlim, xlo, xhi, o->xlog, false, &ax.x0, &ax.x1);
    curve_limits(o->ylim, ylo, yhi, o->ylog, true, &ax.y0, &ax.y1);
    fm_legend_entry leg[64];
    for (int k = 0; k < nseries; k++) {
        fm_color_cycle(k, leg[k].rgb);
        leg[k].name = series[k].name;
        leg[k].kind = 1;
        draw_series(f.cr, &ax, &series[k], leg[k].rgb);
    }
    fm_axes_draw(f.cr, &ax, o->title, o->xlabel,
                 o->ylabel, true);
    fm_axes_legend(f.cr, &ax, leg, nseries);
    return fm_fig_close(&f, fn, FM_OK);
}
