/* gif.c — an animated GIF of a flow: each frame is a scatter panel rendered
 * with cairo, quantised to a fixed 256-colour palette (white, greys, tints of
 * the tab10 colours) and written with giflib, looping forever. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>

#include "io/fileio.h"
#include "plot/plot.h"

#define NGREY 34
#define NTINT 22 /* tints per tab10 colour: mixes with white, 1/22 .. 1 */

static const double REF_GREY[3] = {0.62, 0.62, 0.62};

/* The palette: 0 white, 1..NGREY greys down to black, then 10 x NTINT tints. */
static void make_palette(GifColorType pal[256])
{
    memset(pal, 0, 256 * sizeof *pal);
    pal[0].Red = pal[0].Green = pal[0].Blue = 255;
    for (int i = 1; i <= NGREY; i++) {
        int v = (int)lround(255.0 * (NGREY - i) / (NGREY - 1));
        pal[i].Red = pal[i].Green = pal[i].Blue = (GifByteType)v;
    }
    int k = NGREY + 1;
    for (int c = 0; c < 10; c++) {
        double rgb[3];
        fm_color_cycle(c, rgb);
        for (int t = 1; t <= NTINT; t++, k++) {
            double a = (double)t / NTINT;
            pal[k].Red = (GifByteType)lround(255 * (1 - a + a * rgb[0]));
            pal[k].Green = (GifByteType)lround(255 * (1 - a + a * rgb[1]));
            pal[k].Blue = (GifByteType)lround(255 * (1 - a + a * rgb[2]));
        }
    }
}

/* Nearest palette entry for every 5-bit-per-channel colour. */
static void make_lookup(const GifColorType pal[256], GifByteType *lut)
{
    int used = NGREY + 1 + 10 * NTINT;
    for (int r = 0; r < 32; r++)
        for (int g = 0; g < 32; g++)
            for (int b = 0; b < 32; b++) {
                /* bucket ends map to 0 and 255 so that white stays white */
                int R = r * 255 / 31, G = g * 255 / 31, B = b * 255 / 31, best = 0;
                long bd = -1;
                for (int i = 0; i < used; i++) {
                    long dr = R - pal[i].Red, dg = G - pal[i].Green, db = B - pal[i].Blue;
                    long d = 3 * dr * dr + 4 * dg * dg + 2 * db * db;
                    if (bd < 0 || d < bd)
                        bd = d, best = i;
                }
                lut[(r << 10) | (g << 5) | b] = (GifByteType)best;
            }
}

static fm_status gif_fail(GifFileType *g, const char *fn, const char *path)
{
    int err = g ? g->Error : 0;
    return fm_error(FM_EIO, "%s: cannot write '%s' (%s)", fn, path,
                    GifErrorString(err) ? GifErrorString(err) : "giflib error");
}

/* Renders frame i into the in-memory figure f. */
static void render_frame(fm_fig *f, const fm_axes *ax, const fm_plot_opts *o,
                         const fm_tensor *frame, const double *times, int i,
                         const fm_tensor *reference)
{
    cairo_save(f->cr);
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    cairo_restore(f->cr);
    int64_t n = frame->shape[0];
    double rgb[3], r = fm_marker_radius(o, n), a = fm_marker_alpha(o, n);
    fm_color_cycle(0, rgb);
    if (reference)
        fm_draw_points(f->cr, ax, reference, REF_GREY, r, a * 0.6);
    fm_draw_points(f->cr, ax, frame, rgb, r, a);
    char title[160];
    const char *pre = o->title ? o->title : "";
    const char *sep = o->title ? "   " : "";
    if (times)
        snprintf(title, sizeof title, "%s%st = %.3f", pre, sep, times[i]);
    else
        snprintf(title, sizeof title, "%s%sframe %d", pre, sep, i + 1);
    fm_axes_draw(f->cr, ax, title, o->xlabel, o->ylabel, true);
    cairo_surface_flush(f->surf);
}

/* Writes the quantised pixels of f as one GIF image with its delay. */
static int put_frame(GifFileType *g, fm_fig *f, const GifByteType *lut,
                     GifByteType *line, int delay)
{
    int W = cairo_image_surface_get_width(f->surf);
    int H = cairo_image_surface_get_height(f->surf);
    int stride = cairo_image_surface_get_stride(f->surf);
    const unsigned char *data = cairo_image_surface_get_data(f->surf);
    GraphicsControlBlock gcb = {DISPOSE_DO_NOT, false, delay, NO_TRANSPARENT_COLOR};
    GifByteType ext[4];
    EGifGCBToExtension(&gcb, ext);
    if (EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, 4, ext) == GIF_ERROR ||
        EGifPutImageDesc(g, 0, 0, W, H, false, NULL) == GIF_ERROR)
        return GIF_ERROR;
    for (int y = 0; y < H; y++) {
        const uint32_t *row = (const uint32_t *)(data + (size_t)y * stride);
        for (int x = 0; x < W; x++) {
            uint32_t p = row[x]; /* opaque: premultiplied == straight */
            line[x] = lut[((p >> 19) & 31) << 10 | ((p >> 11) & 31) << 5 | ((p >> 3) & 31)];
        }
        if (EGifPutLine(g, line, W) == GIF_ERROR)
            return GIF_ERROR;
    }
    return GIF_OK;
}

/* Screen descriptor, global palette and the NETSCAPE2.0 loop-forever block. */
static int put_header(GifFileType *g, int W, int H, ColorMapObject *cmap)
{
    static const GifByteType loop[3] = {1, 0, 0};
    EGifSetGifVersion(g, true);
    if (EGifPutScreenDesc(g, W, H, 8, 0, cmap) == GIF_ERROR ||
        EGifPutExtensionLeader(g, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
        EGifPutExtensionBlock(g, 11, "NETSCAPE2.0") == GIF_ERROR ||
        EGifPutExtensionBlock(g, 3, loop) == GIF_ERROR ||
        EGifPutExtensionTrailer(g) == GIF_ERROR)
        return GIF_ERROR;
    return GIF_OK;
}

/* Draws frame i into f; nonzero status stops the GIF. */
typedef fm_status (*render_fn)(fm_fig *f, void *ctx, int i);

static fm_status write_gif(const char *fn, const char *path, const char *tmp,
                           fm_fig *f, render_fn render, void *ctx, int nframes,
                           int delay)
{
    GifColorType pal[256];
    make_palette(pal);
    GifByteType *lut = malloc(32 * 32 * 32);
    GifByteType *line = malloc((size_t)cairo_image_surface_get_width(f->surf));
    ColorMapObject *cmap = GifMakeMapObject(256, pal);
    if (!lut || !line || !cmap) {
        free(lut), free(line), GifFreeMapObject(cmap);
        return fm_error(FM_ENOMEM, "%s: out of memory", fn);
    }
    make_lookup(pal, lut);
    int err = 0;
    fm_status st = FM_OK;
    GifFileType *g = EGifOpenFileName(tmp, false, &err);
    if (!g) {
        st = fm_error(FM_EIO, "%s: cannot create '%s' (%s)", fn, path,
                      GifErrorString(err) ? GifErrorString(err) : "giflib error");
    } else if (put_header(g, cairo_image_surface_get_width(f->surf),
                          cairo_image_surface_get_height(f->surf), cmap) == GIF_ERROR) {
        st = gif_fail(g, fn, path);
    } else {
        for (int i = 0; i < nframes && !st; i++) {
            if (fm_interrupted()) {
                st = fm_error(FM_EINTERRUPT, "%s: interrupted", fn);
                break;
            }
            if ((st = render(f, ctx, i)))
                break;
            /* hold the last frame so the loop's end is visible */
            int d = i == nframes - 1 && nframes > 1 ? 4 * delay : delay;
            if (put_frame(g, f, lut, line, d) == GIF_ERROR)
                st = gif_fail(g, fn, path);
        }
    }
    if (g && EGifCloseFile(g, &err) == GIF_ERROR && !st)
        st = fm_error(FM_EIO, "%s: cannot write '%s' (%s)", fn, path,
                      GifErrorString(err) ? GifErrorString(err) : "giflib error");
    free(lut), free(line), GifFreeMapObject(cmap);
    return st;
}

/* A .gif path and a delay in [0, 65535] (1/100 s). */
static fm_status check_gif_args(const char *fn, const char *path, int delay)
{
    if (!path || fm_plot_format(path) != 2)
        return fm_error(FM_EVALUE, "%s: '%s' must end in .gif", fn, path ? path : "(null)");
    if (delay < 0 || delay > 65535)
        return fm_error(FM_EVALUE, "%s: delay must be in [0, 65535] (1/100 s), got %d",
                        fn, delay);
    return FM_OK;
}

typedef struct {
    const fm_axes *ax;
    const fm_plot_opts *o;
    const fm_tensor *const *frames;
    const double *times;
    const fm_tensor *reference;
} scatter_ctx;

static fm_status render_scatter(fm_fig *f, void *ctx, int i)
{
    scatter_ctx *c = ctx;
    render_frame(f, c->ax, c->o, c->frames[i], c->times, i, c->reference);
    return FM_OK;
}

/* Writes the GIF to tmp, then renames it to path (frees tmp). */
static fm_status finish_gif(const char *fn, const char *path, char *tmp, fm_fig *f,
                            render_fn render, void *ctx, int nframes, int delay)
{
    fm_status st = write_gif(fn, path, tmp, f, render, ctx, nframes, delay);
    if (!st)
        fm_file_default_mode(tmp); /* giflib creates files 0600 */
    if (!st && rename(tmp, path) != 0)
        st = fm_error(FM_EIO, "%s: cannot rename to '%s'", fn, path);
    if (st)
        remove(tmp);
    free(tmp);
    return st;
}

fm_status fm_plot_gif(const char *path, const fm_plot_opts *o,
                      const fm_tensor *const *frames, int nframes,
                      const double *times, const fm_tensor *reference,
                      int delay)
{
    static const char *fn = "plot.gif";
    fm_plot_opts def;
    if (!o)
        fm_plot_opts_default(&def), o = &def;
    fm_status st = check_gif_args(fn, path, delay);
    if (st)
        return st;
    st = fm_plot_frames_check(fn, frames, nframes, reference);
    if (st)
        return st;
    double W = o->width > 0 ? o->width : 480, H = o->height > 0 ? o->height : 480;
    fm_fig f;
    if ((st = fm_fig_open(&f, fn, NULL, W, H, o->scale > 0 ? o->scale : 1)))
        return st;
    fm_axes ax = {0};
    fm_axes_place(&ax, 0, 0, W, H, true, o->ylabel != NULL);
    if (!fm_plot_frames_limits(&ax, o, frames, nframes, reference))
        return fm_fig_close(&f, fn, fm_error(FM_EVALUE, "%s: no finite points to draw", fn));
    if ((st = fm_file_check_target(path)))
        return fm_fig_close(&f, fn, st);
    char *tmp = fm_plot_tmpname(path);
    if (!tmp)
        return fm_fig_close(&f, fn, fm_error(FM_ENOMEM, "%s: out of memory", fn));
    scatter_ctx sc = {&ax, o, frames, times, reference};
    st = finish_gif(fn, path, tmp, &f, render_scatter, &sc, nframes, delay);
    fm_fig_close(&f, fn, FM_OK); /* in-memory: just frees */
    return st;
}

typedef struct {
    const fm_plot_opts *o;
    const fm_grid *g;
    const fm_tensor *const *frames;
    const double *times;
} images_ctx;

static fm_status render_images(fm_fig *f, void *ctx, int i)
{
    images_ctx *c = ctx;
    char title[160];
    const char *pre = c->o->title ? c->o->title : "";
    const char *sep = c->o->title ? "   " : "";
    if (c->times)
        snprintf(title, sizeof title, "%s%st = %.3f", pre, sep, c->times[i]);
    else
        snprintf(title, sizeof title, "%s%sframe %d", pre, sep, i + 1);
    return fm_plot_grid_draw(f, "plot.images_gif", c->o, c->g, c->frames[i], title);
}

fm_status fm_plot_images_gif(const char *path, const fm_plot_opts *o,
                             const fm_tensor *const *frames, int nframes,
                             const double *times, int cols, int delay)
{
    static const char *fn = "plot.images_gif";
    char a[FM_SHAPE_STR_MAX], b[FM_SHAPE_STR_MAX];
    fm_plot_opts def;
    if (!o)
        fm_plot_opts_default(&def), o = &def;
    fm_status st = check_gif_args(fn, path, delay);
    if (st)
        return st;
    if (nframes < 1 || !frames)
        return fm_error(FM_EVALUE, "%s: no frames", fn);
    fm_grid g;
    fm_plot_opts ot = *o;
    if (!ot.title)
        ot.title = ""; /* room for the frame's time */
    st = fm_plot_grid_plan(fn, &ot, frames[0], cols, &g);
    for (int i = 1; i < nframes && !st; i++)
        if (!fm_tensor_same_shape(frames[i], frames[0]))
            st = fm_error(FM_ESHAPE, "%s: frame %d is %s, frame 1 %s", fn, i + 1,
                          fm_shape_str(frames[i], a, sizeof a),
                          fm_shape_str(frames[0], b, sizeof b));
    if (st)
        return st;
    fm_fig f;
    if ((st = fm_fig_open(&f, fn, NULL, g.W, g.H, o->scale > 0 ? o->scale : 1)))
        return st;
    if ((st = fm_file_check_target(path)))
        return fm_fig_close(&f, fn, st);
    char *tmp = fm_plot_tmpname(path);
    if (!tmp)
        return fm_fig_close(&f, fn, fm_error(FM_ENOMEM, "%s: out of memory", fn));
    images_ctx ic = {o, &g, frames, times};
    st = finish_gif(fn, path, tmp, &f, render_images, &ic, nframes, delay);
    fm_fig_close(&f, fn, FM_OK);
    return st;
}
