/* plot_grid.c — figures of several panels: a row of scatter snapshots of a
 * flow with shared limits, and a grid of images. */
#include <math.h>
#include <stdio.h>

#include "plot/plot.h"

static const double REF_GREY[3] = {0.62, 0.62, 0.62};

/* Shared limits of all frames and the reference in box ax (equal aspect
 * unless o->equal < 0); false if nothing is finite. */
static bool shared_limits(fm_axes *ax, const fm_plot_opts *o,
                          const fm_tensor *const *frames, int nframes,
                          const fm_tensor *reference)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < nframes; i++) {
        fm_range_points(frames[i], 0, &xlo, &xhi);
        fm_range_points(frames[i], 1, &ylo, &yhi);
    }
    fm_range_points(reference, 0, &xlo, &xhi);
    fm_range_points(reference, 1, &ylo, &yhi);
    if (!(xhi >= xlo) && !(o->xlim[0] < o->xlim[1] && o->ylim[0] < o->ylim[1]))
        return false;
    fm_axes_limits(ax, o, xlo, xhi, ylo, yhi, o->equal >= 0);
    return true;
}

/* Checks the frames of a snapshot row or GIF; fn names the caller. */
static fm_status check_frames(const char *fn, const fm_tensor *const *frames,
                              int nframes, const fm_tensor *reference)
{
    if (!frames || nframes < 1)
        return fm_error(FM_EVALUE, "%s: frames is empty", fn);
    for (int i = 0; i < nframes; i++) {
        char what[32];
        snprintf(what, sizeof what, "frames[%d]", i + 1);
        fm_status st = fm_check_points(fn, what, frames[i]);
        if (st)
            return st;
    }
    return reference ? fm_check_points(fn, "reference", reference) : FM_OK;
}

fm_status fm_plot_frames_check(const char *fn, const fm_tensor *const *frames,
                               int nframes, const fm_tensor *reference)
{
    return check_frames(fn, frames, nframes, reference);
}

bool fm_plot_frames_limits(fm_axes *ax, const fm_plot_opts *o,
                           const fm_tensor *const *frames, int nframes,
                           const fm_tensor *reference)
{
    return shared_limits(ax, o, frames, nframes, reference);
}

fm_status fm_plot_snapshots(const char *path, const fm_plot_opts *o,
                            const fm_tensor *const *frames, int nframes,
                            const double *times, const fm_tensor *reference)
{
    static const char *fn = "plot.snapshots";
    fm_plot_opts def;
    if (!o)
        fm_plot_opts_default(&def), o = &def;
    fm_status st = check_frames(fn, frames, nframes, reference);
    if (st)
        return st;
    if (nframes > 64)
        return fm_error(FM_EVALUE, "%s: at most 64 frames, got %d", fn, nframes);
    double W = o->width > 0 ? o->width : 40 + 230.0 * nframes;
    double top = o->title ? 26 : 0, pw = (W - 10) / nframes;
    fm_axes ax0 = {0};
    fm_axes_place(&ax0, 0, top, pw, 1000, true, false);
    double margins = 1000 - ax0.ph;
    if (o->height > 0) {
        fm_axes_place(&ax0, 0, top, pw, o->height - top, true, false);
    } else {
        /* panel height from the data's aspect ratio (in [0.6, 1.3] of the
         * width) so equal-aspect panels are not mostly empty */
        fm_axes probe = ax0;
        probe.ph = probe.pw;
        fm_plot_opts free_o = *o;
        free_o.equal = -1;
        if (!shared_limits(&probe, &free_o, frames, nframes, reference))
            return fm_error(FM_EVALUE, "%s: no finite points to draw", fn);
        double r = (probe.y1 - probe.y0) / (probe.x1 - probe.x0);
        r = r < 0.6 ? 0.6 : r > 1.3 ? 1.3 : r;
        ax0.ph = ax0.pw * r;
    }
    double H = o->height > 0 ? o->height : top + ax0.ph + margins;
    if (!shared_limits(&ax0, o, frames, nframes, reference))
        return fm_error(FM_EVALUE, "%s: no finite points to draw", fn);
    fm_fig f;
    if ((st = fm_fig_open(&f, fn, path, W, H, o->scale > 0 ? o->scale : 1)))
        return st;
    int64_t n = frames[0]->shape[0];
    double rgb[3];
    fm_color_cycle(0, rgb);
    double r = fm_marker_radius(o, n) * 0.8, a = fm_marker_alpha(o, n);
    for (int i = 0; i < nframes; i++) {
        fm_axes ax = ax0;
        ax.px += i * pw;
        char title[64];
        if (o->names && o->names[i])
            snprintf(title, sizeof title, "%s", o->names[i]);
        else if (times)
            snprintf(title, sizeof title, "t = %.3g", times[i]);
        else
            snprintf(title, sizeof title, "frame %d", i + 1);
        if (reference)
            fm_draw_points(f.cr, &ax, reference, REF_GREY, r, a * 0.6);
        fm_draw_points(f.cr, &ax, frames[i], rgb, r, a);
        fm_axes_draw(f.cr, &ax, title, o->xlabel, i == 0 ? o->ylabel : NULL, i == 0);
    }
    fm_text(f.cr, W / 2, 8, o->title, 15, FM_ALIGN_CENTER, FM_ALIGN_START, 0, false);
    return fm_fig_close(&f, fn, FM_OK);
}

/* ---- image grid --------------------------------------------------------- */

/* Pixel k as opaque ARGB: floats in [0, 1], bytes in [0, 255]. */
static uint32_t pixel_of(const fm_tensor *im, int64_t k, bool rgb)
{
    uint32_t c = 0xff000000u;
    double scale = im->dtype == FM_UINT8 ? 1.0 / 255 : 1.0;
    for (int ch = 0; ch < 3; ch++) {
        double v = fm_tensor_get(im, rgb ? 3 * k + ch : k) * scale;
        v = isfinite(v) ? (v < 0 ? 0 : v > 1 ? 1 : v) : 0;
        c |= (uint32_t)lround(v * 255) << (16 - 8 * ch);
    }
    return c;
}

/* Image n of the stack as a W x H cairo surface. */
static cairo_surface_t *image_surface(const fm_tensor *ims, int64_t n)
{
    int64_t h = ims->shape[1], w = ims->shape[2];
    bool rgb = ims->ndim == 4;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)w, (int)h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    fm_tensor one = *ims; /* view of image n, flattened to its pixels */
    one.data = (char *)ims->data + (size_t)(n * ims->stride[0]) * fm_dtype_size(ims->dtype);
    one.ndim = ims->ndim - 1;
    for (int d = 0; d < one.ndim; d++)
        one.shape[d] = ims->shape[d + 1], one.stride[d] = ims->stride[d + 1];
    for (int64_t y = 0; y < h; y++) {
        uint32_t *row = (uint32_t *)(data + (size_t)y * stride);
        for (int64_t x = 0; x < w; x++)
            row[x] = pixel_of(&one, y * w + x, rgb);
    }
    cairo_surface_mark_dirty(s);
    return s;
}

fm_status fm_plot_grid_plan(const char *fn, const fm_plot_opts *o,
                            const fm_tensor *images, int cols, fm_grid *g)
{
    char buf[FM_SHAPE_STR_MAX];
    if (!images || !images->data)
        return fm_error(FM_EVALUE, "%s: images are missing", fn);
    bool ok = (images->ndim == 3 || (images->ndim == 4 && images->shape[3] == 3)) &&
              images->shape[0] >= 1 && images->shape[1] >= 1 && images->shape[2] >= 1;
    if (!ok)
        return fm_error(FM_ESHAPE, "%s: images must be (N, H, W) or (N, H, W, 3), got %s",
                        fn, fm_shape_str(images, buf, sizeof buf));
    g->N = images->shape[0], g->h = images->shape[1], g->w = images->shape[2];
    if (g->h > 4096 || g->w > 4096)
        return fm_error(FM_ESHAPE, "%s: images too large: %s", fn,
                        fm_shape_str(images, buf, sizeof buf));
    if (cols < 1)
        return fm_error(FM_EVALUE, "%s: cols must be >= 1, got %d", fn, cols);
    g->cols = cols > g->N ? (int)g->N : cols;
    g->rows = (g->N + g->cols - 1) / g->cols;
    g->pad = 4;
    double target = o->width > 0 ? o->width : 640;
    g->left = o->names ? 110 : 0; /* row names (o->names[row]) */
    double cell = (target - g->left - g->pad * (g->cols + 1)) / g->cols;
    g->zoom = cell / g->w >= 1 ? floor(cell / g->w) : cell / g->w; /* crisp pixels */
    if (g->zoom * g->h > 2048)
        g->zoom = 2048.0 / g->h;
    g->top = o->title ? 30 : 0;
    g->W = g->left + g->cols * g->w * g->zoom + g->pad * (g->cols + 1);
    g->H = g->rows * g->h * g->zoom + g->pad * (g->rows + 1) + g->top;
    return FM_OK;
}

fm_status fm_plot_grid_draw(fm_fig *f, const char *fn, const fm_plot_opts *o,
                            const fm_grid *g, const fm_tensor *images,
                            const char *title)
{
    cairo_save(f->cr);
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    cairo_restore(f->cr);
    for (int64_t k = 0; k < g->N; k++) {
        cairo_surface_t *s = image_surface(images, k);
        if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
            cairo_surface_destroy(s);
            return fm_error(FM_ENOMEM, "%s: out of memory", fn);
        }
        double x = g->left + g->pad + (k % g->cols) * (g->w * g->zoom + g->pad);
        double y = g->top + g->pad + (double)(k / g->cols) * (g->h * g->zoom + g->pad);
        cairo_save(f->cr);
        cairo_translate(f->cr, x, y);
        cairo_scale(f->cr, g->zoom, g->zoom);
        cairo_set_source_surface(f->cr, s, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(f->cr),
                                 g->zoom >= 1 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
        cairo_rectangle(f->cr, 0, 0, (double)g->w, (double)g->h);
        cairo_fill(f->cr);
        cairo_restore(f->cr);
        cairo_surface_destroy(s);
    }
    if (o->names)
        for (int64_t r = 0; r < g->rows && r < o->nnames; r++)
            fm_text(f->cr, g->left - 6,
                    g->top + g->pad + r * (g->h * g->zoom + g->pad) + g->h * g->zoom / 2,
                    o->names[r], 12, FM_ALIGN_END, FM_ALIGN_CENTER, 0, false);
    fm_text(f->cr, g->W / 2, 8, title, 15, FM_ALIGN_CENTER, FM_ALIGN_START, 0, false);
    cairo_surface_flush(f->surf);
    return FM_OK;
}

fm_status fm_plot_images(const char *path, const fm_plot_opts *o,
                         const fm_tensor *images, int cols)
{
    static const char *fn = "plot.images";
    fm_plot_opts def;
    if (!o)
        fm_plot_opts_default(&def), o = &def;
    fm_grid g;
    fm_status st = fm_plot_grid_plan(fn, o, images, cols, &g);
    if (st)
        return st;
    fm_fig f;
    if ((st = fm_fig_open(&f, fn, path, g.W, g.H, o->scale > 0 ? o->scale : 1)))
        return st;
    st = fm_plot_grid_draw(&f, fn, o, &g, images, o->title);
    return fm_fig_close(&f, fn, st);
}
