/* plot_field.c — functions on the plane: a vector field as arrows coloured
 * by magnitude (quiver) and a scalar field or 2-D histogram as an image
 * (heatmap), both with a colour bar. */
#include <math.h>
#include <stdlib.h>

#include "plot/plot.h"

#define CBAR_ROOM 86.0 /* px on the right kept for the colour bar */

static fm_status open_default(fm_fig *f, const char *fn, const char *path,
                              const fm_plot_opts *o)
{
    return fm_fig_open(f, fn, path, o->width > 0 ? o->width : 640,
                       o->height > 0 ? o->height : 480,
                       o->scale > 0 ? o->scale : 1);
}

/* ---- quiver ------------------------------------------------------------- */

/* An arrow from (X, Y) along (dx, dy) px, with a head scaled to its length. */
static void arrow(cairo_t *cr, double X, double Y, double dx, double dy)
{
    double len = hypot(dx, dy);
    if (len < 0.5) {
        cairo_arc(cr, X, Y, 1.0, 0, 2 * M_PI);
        cairo_fill(cr);
        return;
    }
    double ux = dx / len, uy = dy / len;
    double head = fmin(0.4 * len, 7), half = 0.45 * head;
    double bx = X + dx - ux * head, by = Y + dy - uy * head;
    cairo_move_to(cr, X, Y);
    cairo_line_to(cr, bx, by);
    cairo_stroke(cr);
    cairo_move_to(cr, X + dx, Y + dy);
    cairo_line_to(cr, bx - uy * half, by + ux * half);
    cairo_line_to(cr, bx + uy * half, by - ux * half);
    cairo_close_path(cr);
    cairo_fill(cr);
}

fm_status fm_plot_quiver(const char *path, const fm_plot_opts *o,
                         const fm_tensor *points, const fm_tensor *vectors)
{
    static const char *fn = "plot.quiver";
    char b1[FM_SHAPE_STR_MAX], b2[FM_SHAPE_STR_MAX];
    fm_plot_opts def;
    if (!o)
        fm_plot_opts_default(&def), o = &def;
    fm_status st = fm_check_points(fn, "points", points);
    if (!st)
        st = fm_check_points(fn, "vectors", vectors);
    if (st)
        return st;
    if (points->shape[0] != vectors->shape[0])
        return fm_error(FM_ESHAPE, "%s: points %s and vectors %s differ", fn,
                        fm_shape_str(points, b1, sizeof b1),
                        fm_shape_str(vectors, b2, sizeof b2));
    int64_t m = points->shape[0], shown = 0;
    double vmax = 0, vmin = INFINITY;
    for (int64_t i = 0; i < m; i++) {
        double v = hypot(fm_tensor_get(vectors, 2 * i), fm_tensor_get(vectors, 2 * i + 1));
        if (!isfinite(v) || !isfinite(fm_tensor_get(points, 2 * i)) ||
            !isfinite(fm_tensor_get(points, 2 * i + 1)))
            continue;
        vmax = fmax(vmax, v), vmin = fmin(vmin, v), shown++;
    }
    if (!shown)
        return fm_error(FM_EVALUE, "%s: no finite arrows to draw (points %s)",
                        fn, fm_shape_str(points, b1, sizeof b1));
    fm_fig f;
    if ((st = open_default(&f, fn, path, o)))
        return st;
    fm_axes ax = {0};
    fm_axes_place(&ax, 0, 0, f.w - CBAR_ROOM, f.h, o->title != NULL, o->ylabel != NULL);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    fm_range_points(points, 0, &xlo, &xhi);
    fm_range_points(points, 1, &ylo, &yhi);
    fm_axes_limits(&ax, o, xlo, xhi, ylo, yhi, o->equal >= 0);
    double sx = ax.pw / (ax.x1 - ax.x0), sy = ax.ph / (ax.y1 - ax.y0);
    /* arrow length: the longest is 0.9 of the typical spacing of the points
     * (sqrt of the area they cover per point), as matplotlib's autoscale */
    double area = fmax((xhi - xlo) * sx, 1) * fmax((yhi - ylo) * sy, 1);
    double spacing = shown > 1 ? sqrt(area / shown) : 30;
    if ((xhi - xlo) * sx < 1 || (yhi - ylo) * sy < 1)
        spacing = fmax((xhi - xlo) * sx, (yhi - ylo) * sy) / fmax(shown - 1, 1);
    spacing = fmin(fmax(spacing, 4), 60);
    double k = vmax > 0 ? 0.9 * spacing / vmax : 0;
    const char *cmap = o->colormap ? o->colormap : "viridis";
    double lo = vmin, hi = vmax > vmin ? vmax : vmin + 1;
    cairo_save(f.cr);
    fm_axes_clip(f.cr, &ax);
    cairo_set_line_width(f.cr, 1.3);
    for (int64_t i = 0; i < m; i++) {
        double x = fm_tensor_get(points, 2 * i), y = fm_tensor_get(points, 2 * i + 1);
        double u = fm_tensor_get(vectors, 2 * i), v = fm_tensor_get(vectors, 2 * i + 1);
        double mag = hypot(u, v);
        if (!isfinite(x) || !isfinite(y) || !isfinite(mag))
            continue;
        double rgb[3];
        fm_colormap(cmap, (mag - lo) / (hi - lo), rgb);
        cairo_set_source_rgb(f.cr, rgb[0], rgb[1], rgb[2]);
        double dx = u * sx, dy = -v * sy, dl = hypot(dx, dy);
        double len = mag * k;
        arrow(f.cr, fm_axes_X(&ax, x), fm_axes_Y(&ax, y),
              dl > 0 ? dx / dl * len : 0, dl > 0 ? dy / dl * len : 0);
    }
    cairo_restore(f.cr);
    fm_axes_draw(f.cr, &ax, o->title, o->xlabel, o->ylabel, true);
    fm_colorbar(f.cr, ax.px + ax.pw + 16, ax.py, 14, ax.ph, cmap, lo, hi, false);
    return fm_fig_close(&f, fn, FM_OK);
}

/* ---- heatmap ------------------------------------------------------------ */

fm_status fm_plot_grid_points(const double xlim[2], const double ylim[2],
                              int64_t nx, int64_t ny, fm_tensor *out)
{
    char buf[FM_SHAPE_STR_MAX];
    if (!(xlim[0] < xlim[1]) || !(ylim[0] < ylim[1]) || !isfinite(xlim[0]) ||
        !isfinite(xlim[1]) || !isfinite(ylim[0]) || !isfinite(ylim[1]))
        return fm_error(FM_EVALUE, "plot.grid: limits must be finite with lo < hi, "
                        "got x [%g, %g], y [%g, %g]", xlim[0], xlim[1], ylim[0], ylim[1]);
    if (nx < 1 || ny < 1)
        return fm_error(FM_EVALUE, "plot.grid: resolution must be >= 1, got %lldx%lld",
                        (long long)nx, (long long)ny);
    if (out->ndim != 2 || out->shape[0] != nx * ny || out->shape[1] != 2)
        return fm_error(FM_ESHAPE, "plot.grid: out must be (%lld, 2), got %s",
                        (long long)(nx * ny), fm_shape_str(out, buf, sizeof buf));
    double dx = (xlim[1] - xlim[0]) / nx, dy = (ylim[1] - ylim[0]) / ny;
    for (int64_t j = 0; j < ny; j++)
        for (int64_t i = 0; i < nx; i++) {
            fm_tensor_set(out, 2 * (j * nx + i), xlim[0] + (i + 0.5) * dx);
            fm_tensor_set(out, 2 * (j * nx + i) + 1, ylim[0] + (j + 0.5) * dy);
        }
    return FM_OK;
}

fm_status fm_plot_hist2d(const fm_tensor *samples, const double xlim[2],
                         const double ylim[2], int64_t nx, int64_t ny,
                         double *out)
{
    fm_status st = fm_check_points("plot.hist2d", "samples", samples);
    if (st)
        return st;
    if (!(xlim[0] < xlim[1]) || !(ylim[0] < ylim[1]) || nx < 1 || ny < 1)
        return fm_error(FM_EVALUE, "plot.hist2d: need lo < hi limits and res >= 1");
    double dx = (xlim[1] - xlim[0]) / nx, dy = (ylim[1] - ylim[0]) / ny;
    int64_t n = 0;
    for (int64_t k = 0; k < nx * ny; k++)
        out[k] = 0;
    for (int64_t k = 0; k < samples->shape[0]; k++) {
        double x = fm_tensor_get(samples, 2 * k), y = fm_tensor_get(samples, 2 * k + 1);
        if (!isfinite(x) || !isfinite(y))
            continue;
        n++;
        double fi = floor((x - xlim[0]) / dx), fj = floor((y - ylim[0]) / dy);
        if (fi < 0 || fi >= nx || fj < 0 || fj >= ny)
            continue;
        out[(int64_t)fj * nx + (int64_t)fi] += 1;
    }
    if (n == 0)
        return fm_error(FM_EVALUE, "plot.hist2d: no finite samples (%lld rows)",
                        (long long)samples->shape[0]);
    /* density estimate: count / (n * cell area) integrates to the fraction
     * of samples inside the limits */
    for (int64_t k = 0; k < nx * ny; k++)
        out[k] /= (double)n * dx * dy;
    return FM_OK;
}

/* The value of cell k on the colour scale (log10 if log; NaN if none). */
static double cell_value(const fm_tensor *v, int64_t k, bool log)
{
    double x = fm_tensor_get(v, k);
    if (log)
        return x > 0 ? log10(x) : NAN;
    return isfinite(x) ? x : NAN;
}

/* The heat image: one pixel per cell, y flipped so row 0 is the bottom. */
static cairo_surface_t *heat_image(const fm_tensor *v, int64_t nx, int64_t ny,
                                   bool log, const char *cmap, double lo,
                                   double hi)
{
    cairo_surface_t *img =
        cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)nx, (int)ny);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS)
        return img;
    cairo_surface_flush(img);
    unsigned char *data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (int64_t j = 0; j < ny; j++) {
        uint32_t *row = (uint32_t *)(data + (size_t)(ny - 1 - j) * stride);
        for (int64_t i = 0; i < nx; i++) {
            double c = cell_value(v, j * nx + i, log), rgb[3] = {1, 1, 1};
            if (isfinite(c))
                fm_colormap(cmap, (c - lo) / (hi - lo), rgb);
            row[i] = 0xff000000u | (uint32_t)lround(rgb[0] * 255) << 16 |
                     (uint32_t)lround(rgb[1] * 255) << 8 | (uint32_t)lround(rgb[2] * 255);
        }
    }
    cairo_surface_mark_dirty(img);
    return img;
}

fm_status fm_plot_heatmap(const char *path, const fm_plot_opts *o,
                          const fm_tensor *values, int64_t nx, int64_t ny)
{
    static const char *fn = "plot.heatmap";
    char buf[FM_SHAPE_STR_MAX];
    if (!o || !(o->xlim[0] < o->xlim[1]) || !(o->ylim[0] < o->ylim[1]))
        return fm_error(FM_EVALUE, "%s: xlim and ylim (lo < hi) are required", fn);
    if (!values || !values->data)
        return fm_error(FM_EVALUE, "%s: values are missing", fn);
    if (nx < 1 || ny < 1 || nx > 4096 || ny > 4096 ||
        fm_tensor_numel(values) != nx * ny || values->ndim < 1 || values->ndim > 2)
        return fm_error(FM_ESHAPE, "%s: values must be (%lld,) or (%lld, %lld), got %s",
                        fn, (long long)(nx * ny), (long long)ny, (long long)nx,
                        fm_shape_str(values, buf, sizeof buf));
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t k = 0; k < nx * ny; k++) {
        double c = cell_value(values, k, o->log);
        if (isfinite(c))
            lo = fmin(lo, c), hi = fmax(hi, c);
    }
    if (!(hi >= lo))
        return fm_error(FM_EVALUE, "%s: no finite%s values to draw", fn,
                        o->log ? " positive" : "");
    if (hi == lo)
        hi = lo + 1;
    const char *cmap = o->colormap ? o->colormap : "viridis";
    fm_fig f;
    fm_status st = open_default(&f, fn, path, o);
    if (st)
        return st;
    fm_axes ax = {0};
    fm_axes_place(&ax, 0, 0, f.w - CBAR_ROOM, f.h, o->title != NULL, o->ylabel != NULL);
    fm_axes_limits(&ax, o, 0, 0, 0, 0, o->equal >= 0);
    cairo_surface_t *img = heat_image(values, nx, ny, o->log, cmap, lo, hi);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return fm_fig_close(&f, fn, fm_error(FM_ENOMEM, "%s: image %lldx%lld",
                                             fn, (long long)nx, (long long)ny));
    }
    cairo_save(f.cr);
    cairo_translate(f.cr, ax.px, ax.py);
    cairo_scale(f.cr, ax.pw / nx, ax.ph / ny);
    cairo_set_source_surface(f.cr, img, 0, 0);
    cairo_pattern_t *pat = cairo_get_source(f.cr);
    cairo_pattern_set_extend(pat, CAIRO_EXTEND_PAD);
    /* smooth fine grids, keep coarse cells (> 8 px) crisp */
    bool fine = ax.pw / nx <= 8 || ax.ph / ny <= 8;
    cairo_pattern_set_filter(pat, fine ? CAIRO_FILTER_GOOD : CAIRO_FILTER_NEAREST);
    cairo_rectangle(f.cr, 0, 0, (double)nx, (double)ny);
    cairo_fill(f.cr);
    cairo_restore(f.cr);
    cairo_surface_destroy(img);
    fm_axes_draw(f.cr, &ax, o->title, o->xlabel, o->ylabel, true);
    fm_colorbar(f.cr, ax.px + ax.pw + 16, ax.py, 14, ax.ph, cmap, lo, hi, o->log);
    return fm_fig_close(&f, fn, FM_OK);
}
