/* plot_fig.c — a figure: a cairo surface for a .png/.svg/.pdf path (or an
 * in-memory image), written to a temporary name and renamed on success.
 * SVG and PDF are vector surfaces of the figure's size in points (1 px at
 * scale 1 = 1 pt: a 640x480 figure is a 640x480 pt page); PNG is a raster
 * of size * scale pixels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>

#include "io/fileio.h"
#include "plot/plot.h"

int fm_plot_format(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    if (n < 5)
        return -1;
    const char *ext = path + n - 4;
    if (strcasecmp(ext, ".png") == 0)
        return 0;
    if (strcasecmp(ext, ".svg") == 0)
        return 1;
    if (strcasecmp(ext, ".gif") == 0)
        return 2;
    if (strcasecmp(ext, ".pdf") == 0)
        return 3;
    return -1;
}

char *fm_plot_tmpname(const char *path)
{
    static _Atomic long count;
    char infix[160];
    fm_tmp_infix(infix, sizeof infix);
    size_t n = strlen(path) + strlen(infix) + 24;
    char *tmp = malloc(n);
    if (tmp)
        snprintf(tmp, n, "%s%s%ld", path, infix, ++count);
    return tmp;
}

static fm_status fig_fail(fm_fig *f, fm_status st)
{
    if (f->cr)
        cairo_destroy(f->cr);
    if (f->surf)
        cairo_surface_destroy(f->surf);
    if (f->tmp)
        remove(f->tmp);
    free(f->path);
    free(f->tmp);
    memset(f, 0, sizeof *f);
    return st;
}

fm_status fm_fig_open(fm_fig *f, const char *fname, const char *path,
                      double w, double h, double scale)
{
    memset(f, 0, sizeof *f);
    if (!(scale > 0) || scale > 16)
        return fm_error(FM_EVALUE, "%s: scale must be in (0, 16], got %g",
                        fname, scale);
    if (!(w >= 16 && h >= 16 && w * scale <= 16384 && h * scale <= 16384))
        return fm_error(FM_EVALUE, "%s: bad figure size %gx%g (scale %g)",
                        fname, w, h, scale);
    f->w = w, f->h = h, f->scale = scale;
    int fmt = path ? fm_plot_format(path) : 0;
    if (path && fmt != 0 && fmt != 1 && fmt != 3)
        return fm_error(FM_EVALUE, "%s: '%s' must end in .png, .svg or .pdf",
                        fname, path);
    if (path) {
        fm_status target = fm_file_check_target(path);
        if (target)
            return target;
        f->path = strdup(path);
        f->tmp = fm_plot_tmpname(path);
        if (!f->path || !f->tmp)
            return fig_fail(f, fm_error(FM_ENOMEM, "%s: out of memory", fname));
    }
    f->vector = fmt == 1 || fmt == 3;
    if (fmt == 1) {
        f->surf = cairo_svg_surface_create(f->tmp, w, h);
    } else if (fmt == 3) {
        f->surf = cairo_pdf_surface_create(f->tmp, w, h);
    } else {
        f->surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32,
                                             (int)ceil(w * scale),
                                             (int)ceil(h * scale));
    }
    if (cairo_surface_status(f->surf) != CAIRO_STATUS_SUCCESS) {
        fm_status st = fm_error(FM_EIO, "%s: cannot create '%s' (%s)", fname,
                                path ? path : "image",
                                cairo_status_to_string(cairo_surface_status(f->surf)));
        return fig_fail(f, st);
    }
    f->cr = cairo_create(f->surf);
    if (!f->vector)
        cairo_scale(f->cr, scale, scale);
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    return FM_OK;
}

fm_status fm_fig_close(fm_fig *f, const char *fname, fm_status st)
{
    if (st != FM_OK || !f->path)
        return fig_fail(f, st);
    cairo_status_t cs = cairo_status(f->cr);
    if (cs == CAIRO_STATUS_SUCCESS) {
        if (f->vector) { /* finishing writes the file */
            cairo_surface_finish(f->surf);
            cs = cairo_surface_status(f->surf);
        } else {
            cairo_surface_flush(f->surf);
            cs = cairo_surface_write_to_png(f->surf, f->tmp);
        }
    }
    if (cs != CAIRO_STATUS_SUCCESS)
        return fig_fail(f, fm_error(FM_EIO, "%s: cannot write '%s' (%s)", fname,
                                    f->path, cairo_status_to_string(cs)));
    if (rename(f->tmp, f->path) != 0)
        return fig_fail(f, fm_error(FM_EIO, "%s: cannot rename to '%s'", fname,
                                    f->path));
    free(f->tmp);
    f->tmp = NULL;
    return fig_fail(f, FM_OK);
}
