/* test_plot.c — every plot kind renders to a temporary directory (or to
 * $FM_PLOT_OUT, kept, for looking at the figures): files exist, PNG sizes are
 * right, pixels at known places have the expected colours, SVG is well
 * formed text, PDF has one page of the figure's size, GIFs have the right frame count; bad input errors. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gif_lib.h>

#include "plot/plot.h"

static int failures = 0;
static char dir[512];

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            failures++;                                                   \
            fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, " [%s]\n", fm_last_error());                  \
        }                                                                 \
    } while (0)

static const char *out(const char *name)
{
    static char buf[8][600];
    static int k = 0;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* (n, 2) float64 tensor from xy pairs (caller frees). */
static fm_tensor points(int64_t n, const double *xy)
{
    fm_tensor t;
    int64_t shape[2] = {n, 2};
    fm_tensor_alloc(&t, FM_FLOAT64, 2, shape);
    for (int64_t i = 0; i < 2 * n; i++)
        fm_tensor_set(&t, i, xy[i]);
    return t;
}

/* Two Gaussian-ish blobs from a fixed LCG: deterministic test data. */
static fm_tensor blobs(int64_t n, double cx, double cy, unsigned seed)
{
    fm_tensor t;
    int64_t shape[2] = {n, 2};
    fm_tensor_alloc(&t, FM_FLOAT64, 2, shape);
    unsigned s = seed;
    for (int64_t i = 0; i < n; i++) {
        double u[4];
        for (int k = 0; k < 4; k++) {
            s = s * 1664525u + 1013904223u;
            u[k] = (s >> 8) / 16777216.0 + 1e-9;
        }
        double r = sqrt(-2 * log(u[0])), c = (i % 2) ? 1 : -1;
        fm_tensor_set(&t, 2 * i, cx + c * 1.5 + 0.5 * r * cos(2 * M_PI * u[1]));
        fm_tensor_set(&t, 2 * i + 1, cy + 0.5 * r * sin(2 * M_PI * u[1]));
    }
    return t;
}

/* Width and height from the PNG IHDR chunk (bytes 16..23, big endian). */
static bool png_size(const char *path, int *w, int *h)
{
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(b, 1, 24, f);
    fclose(f);
    if (n != 24 || memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0)
        return false;
    *w = (b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19];
    *h = (b[20] << 24) | (b[21] << 16) | (b[22] << 8) | b[23];
    return true;
}

/* RGB of pixel (x, y) of a PNG (opaque images). */
static void png_pixel(const char *path, int x, int y, int rgb[3])
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    rgb[0] = rgb[1] = rgb[2] = -1;
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS &&
        x < cairo_image_surface_get_width(s) && y < cairo_image_surface_get_height(s)) {
        uint32_t p = ((uint32_t *)(cairo_image_surface_get_data(s) +
                                   (size_t)y * cairo_image_surface_get_stride(s)))[x];
        rgb[0] = (p >> 16) & 255, rgb[1] = (p >> 8) & 255, rgb[2] = p & 255;
    }
    cairo_surface_destroy(s);
}

/* Colour distance bound 12 per channel: antialiasing and 8-bit rounding of
 * a flat region stay well inside it; distinct tab10/viridis colours differ
 * by far more. */
static bool near_rgb(const int a[3], double r, double g, double b)
{
    return abs(a[0] - (int)lround(r * 255)) <= 12 && abs(a[1] - (int)lround(g * 255)) <= 12 &&
           abs(a[2] - (int)lround(b * 255)) <= 12;
}

/* The file's bytes, NUL-terminated (binary files may hold NULs: *n). */
static char *slurp_n(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)len + 1);
    *n = fread(s, 1, (size_t)len, f);
    s[*n] = 0;
    fclose(f);
    return s;
}

static char *slurp(const char *path)
{
    size_t n;
    return slurp_n(path, &n);
}

static void test_ticks(void)
{
    double t[32], step;
    int n = fm_nice_ticks(0, 1, 5, t, 32, &step);
    CHECK(n == 6 && fabs(step - 0.2) < 1e-12 && t[5] == 1.0, "n=%d step=%g", n, step);
    n = fm_nice_ticks(0, 100, 4, t, 32, &step);
    CHECK(n == 6 && step == 20 && t[0] == 0 && t[5] == 100, "n=%d step=%g", n, step);
    n = fm_nice_ticks(-3.7, 12.2, 3, t, 32, &step);
    CHECK(step == 5 && n == 3 && t[0] == 0 && t[2] == 10, "n=%d step=%g", n, step);
    n = fm_nice_ticks(1, 1, 5, t, 32, &step);
    CHECK(n == 0, "empty range gives no ticks");
    char buf[32];
    fm_tick_label(0.6000000000001, 0.2, buf, sizeof buf);
    CHECK(strcmp(buf, "0.6") == 0, "%s", buf);
    fm_tick_label(-1e-17, 0.5, buf, sizeof buf);
    CHECK(strcmp(buf, "0.0") == 0, "%s", buf);
    fm_tick_label(250, 50, buf, sizeof buf);
    CHECK(strcmp(buf, "250") == 0, "%s", buf);
}

static void test_scatter(void)
{
    double one[2] = {0, 0};
    fm_tensor x = points(1, one);
    fm_plot_opts o = {0};
    o.xlim[0] = o.ylim[0] = -1, o.xlim[1] = o.ylim[1] = 1;
    o.size = 30, o.alpha = 1;
    const char *p = out("one.png");
    CHECK(fm_plot_scatter(p, &o, &x, NULL) == FM_OK, "scatter one point");
    int w = 0, h = 0, c[3];
    CHECK(png_size(p, &w, &h) && w == 640 && h == 480, "%dx%d", w, h);
    /* the box centre: fm_axes_place margins with no title / ylabel */
    fm_axes ax = {0};
    fm_axes_place(&ax, 0, 0, 640, 480, false, false);
    fm_axes_limits(&ax, &o, 0, 0, 0, 0, true);
    int cx = (int)(ax.px + ax.pw / 2), cy = (int)(ax.py + ax.ph / 2);
    double c0[3];
    fm_color_cycle(0, c0);
    png_pixel(p, cx, cy, c);
    CHECK(near_rgb(c, c0[0], c0[1], c0[2]), "centre %d %d %d", c[0], c[1], c[2]);
    png_pixel(p, cx + 40, cy, c); /* outside the 30 px disc: background */
    CHECK(near_rgb(c, 1, 1, 1), "beside %d %d %d", c[0], c[1], c[2]);
    png_pixel(p, 3, 3, c);
    CHECK(near_rgb(c, 1, 1, 1), "corner %d %d %d", c[0], c[1], c[2]);
    /* scale 2 doubles the raster and the geometry */
    o.scale = 2;
    p = out("one_x2.png");
    CHECK(fm_plot_scatter(p, &o, &x, NULL) == FM_OK, "scale 2");
    CHECK(png_size(p, &w, &h) && w == 1280 && h == 960, "%dx%d", w, h);
    png_pixel(p, 2 * cx, 2 * cy, c);
    CHECK(near_rgb(c, c0[0], c0[1], c0[2]), "x2 centre %d %d %d", c[0], c[1], c[2]);
    fm_tensor_free(&x);

    /* a NaN point is skipped: nothing drawn where (NaN, 0) would be */
    double nan2[4] = {NAN, 0, 0.5, 0.5};
    x = points(2, nan2);
    o.scale = 1;
    CHECK(fm_plot_scatter(out("nan.png"), &o, &x, NULL) == FM_OK, "nan skipped");
    fm_tensor_free(&x);
    double allnan[2] = {NAN, NAN};
    x = points(1, allnan);
    CHECK(fm_plot_scatter(out("allnan.png"), NULL, &x, NULL) == FM_EVALUE, "all NaN");
    CHECK(!exists(out("allnan.png")), "no file for an error");
    fm_tensor_free(&x);

    /* a typical figure: model vs data, both as PNG and SVG */
    fm_tensor m = blobs(2000, 0, 0, 1), d = blobs(5000, 0.3, 0.2, 2);
    fm_plot_opts s = {0};
    s.title = "samples at t = 1";
    s.labels[0] = "model", s.labels[1] = "data";
    s.xlabel = "x1", s.ylabel = "x2";
    CHECK(fm_plot_scatter(out("samples.png"), &s, &m, &d) == FM_OK, "samples");
    CHECK(fm_plot_scatter(out("samples.svg"), &s, &m, &d) == FM_OK, "svg");
    char *svg = slurp(out("samples.svg"));
    CHECK(svg && strncmp(svg, "<?xml", 5) == 0 && strstr(svg, "<svg") &&
              strstr(svg, "</svg>") && strstr(svg, "<path") && strstr(svg, "glyph"),
          "svg text");
    free(svg);
    /* PDF: a page of the figure's size in points, whatever the scale */
    s.width = 500, s.height = 300, s.scale = 2;
    CHECK(fm_plot_scatter(out("samples.pdf"), &s, &m, &d) == FM_OK, "pdf");
    size_t n = 0;
    char *pdf = slurp_n(out("samples.pdf"), &n);
    CHECK(pdf && n > 2000 && strncmp(pdf, "%PDF-", 5) == 0 &&
              memmem(pdf, n, "/MediaBox [ 0 0 500 300 ]", 25) && memmem(pdf, n, "/Count 1", 8),
          "pdf structure (%zu bytes)", n);
    free(pdf);
    CHECK(fm_plot_scatter("/nonexistent-dir/a.pdf", NULL, &m, NULL) == FM_EIO, "pdf io");

    /* shapes, extension, unwritable paths */
    fm_tensor bad;
    int64_t sh3[2] = {4, 3};
    fm_tensor_alloc(&bad, FM_FLOAT64, 2, sh3);
    CHECK(fm_plot_scatter(out("bad.png"), NULL, &bad, NULL) == FM_ESHAPE, "(4,3)");
    CHECK(fm_plot_scatter(out("bad.png"), NULL, &m, &bad) == FM_ESHAPE, "ref (4,3)");
    CHECK(strstr(fm_last_error(), "(4, 3)") != NULL, "message names the shape");
    fm_tensor_free(&bad);
    CHECK(fm_plot_scatter(out("bad.jpg"), NULL, &m, NULL) == FM_EVALUE, "jpg");
    CHECK(fm_plot_scatter("/nonexistent-dir/a.png", NULL, &m, NULL) == FM_EIO, "png io");
    CHECK(fm_plot_scatter("/nonexistent-dir/a.svg", NULL, &m, NULL) == FM_EIO, "svg io");
    CHECK(fm_plot_scatter(out("a.png"), NULL, NULL, NULL) == FM_EVALUE, "NULL x");
    fm_tensor_free(&m), fm_tensor_free(&d);
}

static void test_trajectories(void)
{
    int64_t T = 30, n = 40, shape[3] = {T, n, 2};
    fm_tensor tr;
    fm_tensor_alloc(&tr, FM_FLOAT64, 3, shape);
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < n; i++) { /* spirals from a ring to two blobs */
            double s = (double)t / (T - 1), a = 2 * M_PI * i / n;
            double ex = (i % 2 ? 2.0 : -2.0), ey = 0.3 * sin(3 * a);
            double x0 = cos(a), y0 = sin(a);
            fm_tensor_set(&tr, (t * n + i) * 2, (1 - s) * x0 + s * ex + 0.4 * sin(M_PI * s) * y0);
            fm_tensor_set(&tr, (t * n + i) * 2 + 1, (1 - s) * y0 + s * ey - 0.4 * sin(M_PI * s) * x0);
        }
    fm_tensor_set(&tr, 7, NAN); /* one NaN breaks one line */
    fm_plot_opts o = {0};
    o.title = "trajectories";
    const char *p = out("traj.png");
    CHECK(fm_plot_trajectories(p, &o, &tr) == FM_OK, "traj");
    int w, h;
    CHECK(png_size(p, &w, &h) && w == 640 && h == 480, "%dx%d", w, h);
    fm_tensor_free(&tr);
    int64_t bad[3] = {3, 4, 3};
    fm_tensor_alloc(&tr, FM_FLOAT64, 3, bad);
    CHECK(fm_plot_trajectories(out("t2.png"), NULL, &tr) == FM_ESHAPE, "(3,4,3)");
    fm_tensor_free(&tr);
}

static void test_quiver(void)
{
    int64_t g = 15, m = g * g, shape[2] = {m, 2};
    fm_tensor pts, vec;
    fm_tensor_alloc(&pts, FM_FLOAT64, 2, shape);
    fm_tensor_alloc(&vec, FM_FLOAT64, 2, shape);
    double lim[2] = {-2, 2};
    CHECK(fm_plot_grid_points(lim, lim, g, g, &pts) == FM_OK, "grid");
    /* cell centres: the first is (lo + dx/2, lo + dy/2); x runs fastest */
    double dx = 4.0 / g;
    CHECK(fabs(fm_tensor_get(&pts, 0) - (-2 + dx / 2)) < 1e-12 &&
              fabs(fm_tensor_get(&pts, 2) - (-2 + 1.5 * dx)) < 1e-12 &&
              fabs(fm_tensor_get(&pts, 2 * g + 1) - (-2 + 1.5 * dx)) < 1e-12,
          "grid order");
    for (int64_t i = 0; i < m; i++) { /* rotation plus a sink */
        double x = fm_tensor_get(&pts, 2 * i), y = fm_tensor_get(&pts, 2 * i + 1);
        fm_tensor_set(&vec, 2 * i, -y - 0.3 * x);
        fm_tensor_set(&vec, 2 * i + 1, x - 0.3 * y);
    }
    fm_plot_opts o = {0};
    o.title = "u_t(x), t = 0.5";
    const char *p = out("field.png");
    CHECK(fm_plot_quiver(p, &o, &pts, &vec) == FM_OK, "quiver");
    int w, h;
    CHECK(png_size(p, &w, &h) && w == 640 && h == 480, "%dx%d", w, h);
    fm_tensor sub = vec;
    sub.shape[0] = m - 1;
    CHECK(fm_plot_quiver(out("q2.png"), NULL, &pts, &sub) == FM_ESHAPE, "count mismatch");
    fm_tensor_free(&pts), fm_tensor_free(&vec);
}

static void test_heatmap(void)
{
    int64_t nx = 120, ny = 90, shape[2] = {nx * ny, 2};
    fm_tensor pts, val;
    fm_tensor_alloc(&pts, FM_FLOAT64, 2, shape);
    int64_t vs[1] = {nx * ny};
    fm_tensor_alloc(&val, FM_FLOAT64, 1, vs);
    fm_plot_opts o = {0};
    o.xlim[0] = 0, o.xlim[1] = 1, o.ylim[0] = -1, o.ylim[1] = 1;
    CHECK(fm_plot_grid_points(o.xlim, o.ylim, nx, ny, &pts) == FM_OK, "grid");
    for (int64_t k = 0; k < nx * ny; k++) /* value = x: dark left, yellow right */
        fm_tensor_set(&val, k, fm_tensor_get(&pts, 2 * k));
    const char *p = out("ramp.png");
    CHECK(fm_plot_heatmap(p, &o, &val, nx, ny) == FM_OK, "heatmap");
    fm_axes ax = {0};
    fm_axes_place(&ax, 0, 0, 640 - 86, 480, false, false);
    fm_axes_limits(&ax, &o, 0, 0, 0, 0, true);
    int c[3];
    double lo[3], hi[3];
    fm_colormap("viridis", 0.0, lo);
    fm_colormap("viridis", 1.0, hi);
    png_pixel(p, (int)(ax.px + 3), (int)(ax.py + ax.ph / 2), c);
    CHECK(near_rgb(c, lo[0], lo[1], lo[2]), "left %d %d %d", c[0], c[1], c[2]);
    png_pixel(p, (int)(ax.px + ax.pw - 3), (int)(ax.py + ax.ph / 2), c);
    CHECK(near_rgb(c, hi[0], hi[1], hi[2]), "right %d %d %d", c[0], c[1], c[2]);

    /* a density: two bumps, log colour scale, magma */
    for (int64_t k = 0; k < nx * ny; k++) {
        double x = fm_tensor_get(&pts, 2 * k), y = fm_tensor_get(&pts, 2 * k + 1);
        fm_tensor_set(&val, k, exp(-40 * ((x - .3) * (x - .3) + y * y)) +
                                   0.5 * exp(-20 * ((x - .7) * (x - .7) + (y - .4) * (y - .4))));
    }
    o.title = "density", o.log = true, o.colormap = "magma";
    CHECK(fm_plot_heatmap(out("density.png"), &o, &val, nx, ny) == FM_OK, "log heatmap");
    CHECK(fm_plot_heatmap(out("h2.png"), &o, &val, nx, ny + 1) == FM_ESHAPE, "size");
    fm_plot_opts nolim = {0};
    CHECK(fm_plot_heatmap(out("h3.png"), &nolim, &val, nx, ny) == FM_EVALUE, "limits");
    fm_tensor_free(&pts), fm_tensor_free(&val);

    /* hist2d: counts / (n dx dy); 4 samples, one outside the limits */
    double s[8] = {0.1, 0.1, 0.1, 0.2, 0.9, 0.9, 5, 5};
    fm_tensor x = points(4, s);
    double hist[4], l01[2] = {0, 1};
    CHECK(fm_plot_hist2d(&x, l01, l01, 2, 2, hist) == FM_OK, "hist2d");
    /* cell area 0.25, n = 4: two samples in cell 0 -> 2 / (4 * 0.25) = 2 */
    CHECK(hist[0] == 2 && hist[1] == 0 && hist[2] == 0 && hist[3] == 1,
          "%g %g %g %g", hist[0], hist[1], hist[2], hist[3]);
    fm_tensor_free(&x);
    fm_tensor d = blobs(20000, 0, 0, 3);
    double *hd = malloc(sizeof(double) * 100 * 80);
    fm_plot_opts ho = {0};
    ho.xlim[0] = -4, ho.xlim[1] = 4, ho.ylim[0] = -3, ho.ylim[1] = 3;
    ho.title = "2-D histogram";
    CHECK(fm_plot_hist2d(&d, ho.xlim, ho.ylim, 100, 80, hd) == FM_OK, "hist");
    fm_tensor ht;
    int64_t hs[2] = {80, 100};
    fm_tensor_init(&ht, hd, FM_FLOAT64, 2, hs);
    CHECK(fm_plot_heatmap(out("hist.png"), &ho, &ht, 100, 80) == FM_OK, "hist heatmap");
    free(hd);
    fm_tensor_free(&d);
}

static void test_curve(void)
{
    enum { N = 500 };
    double y1[N], y2[N], x[N];
    for (int i = 0; i < N; i++) {
        x[i] = i + 1;
        y1[i] = 2.0 * exp(-i / 80.0) + 0.02 + 0.01 * sin(i * 0.7);
        y2[i] = 1.5 * exp(-i / 150.0) + 0.05;
    }
    y1[100] = NAN; /* a gap, not a crash */
    fm_plot_series s[2] = {{x, y1, N, "train"}, {NULL, y2, N, "validation"}};
    fm_plot_opts o = {0};
    o.title = "loss", o.ylog = true, o.xlabel = "iteration", o.ylabel = "loss";
    const char *p = out("loss.png");
    CHECK(fm_plot_curve(p, &o, s, 2) == FM_OK, "curve");
    int w, h;
    CHECK(png_size(p, &w, &h) && w == 640 && h == 480, "%dx%d", w, h);
    o.ylog = false;
    CHECK(fm_plot_curve(out("loss_lin.png"), &o, s, 1) == FM_OK, "linear");
    double neg[3] = {-1, 0, -2};
    fm_plot_series sn = {NULL, neg, 3, NULL};
    o.ylog = true;
    CHECK(fm_plot_curve(out("neg.png"), &o, &sn, 1) == FM_EVALUE, "log of <= 0");
    CHECK(fm_plot_curve(out("none.png"), &o, NULL, 0) == FM_EVALUE, "no series");
}

static void test_snapshots_gif(void)
{
    fm_tensor f[4];
    double times[4] = {0, 1.0 / 3, 2.0 / 3, 1};
    fm_tensor noise = blobs(1000, 0, 0, 4), data = blobs(1000, 0, 0, 5);
    for (int k = 0; k < 4; k++) { /* interpolate from a tight blob to data */
        int64_t shape[2] = {1000, 2};
        fm_tensor_alloc(&f[k], FM_FLOAT64, 2, shape);
        for (int64_t i = 0; i < 2000; i++) {
            double z = fm_tensor_get(&noise, i) * 0.6, x = fm_tensor_get(&data, i);
            if (i % 2 == 0)
                z = (fm_tensor_get(&noise, i) - (((i / 2) % 2) ? 1.5 : -1.5)) * 0.8;
            fm_tensor_set(&f[k], i, (1 - times[k]) * z + times[k] * x);
        }
    }
    const fm_tensor *fr[4] = {&f[0], &f[1], &f[2], &f[3]};
    fm_plot_opts o = {0};
    o.title = "probability path";
    const char *p = out("flow.png");
    CHECK(fm_plot_snapshots(p, &o, fr, 4, times, &data) == FM_OK, "snapshots");
    int w, h;
    /* default height follows the data aspect (x range ~2x the y range, so
     * the ratio clamps to 0.6): shorter than the panel width */
    CHECK(png_size(p, &w, &h) && w == 40 + 230 * 4 && h < 230, "%dx%d", w, h);
    o.height = 300;
    CHECK(fm_plot_snapshots(out("flow300.png"), &o, fr, 4, times, &data) == FM_OK, "h");
    CHECK(png_size(out("flow300.png"), &w, &h) && w == 960 && h == 300, "%dx%d", w, h);
    o.height = 0;
    CHECK(fm_plot_snapshots(out("s0.png"), &o, fr, 0, times, NULL) == FM_EVALUE, "empty");

    p = out("flow.gif");
    CHECK(fm_plot_gif(p, &o, fr, 4, times, &data, 10) == FM_OK, "gif");
    int err = 0;
    GifFileType *g = DGifOpenFileName(p, &err);
    CHECK(g != NULL, "gif opens");
    if (g) {
        CHECK(DGifSlurp(g) == GIF_OK, "gif decodes");
        CHECK(g->ImageCount == 4 && g->SWidth == 480 && g->SHeight == 480,
              "%d frames %dx%d", g->ImageCount, g->SWidth, g->SHeight);
        GraphicsControlBlock gcb;
        CHECK(DGifSavedExtensionToGCB(g, 0, &gcb) == GIF_OK && gcb.DelayTime == 10,
              "delay %d", gcb.DelayTime);
        /* the top-left pixel is background white (palette entry 0) */
        CHECK(g->SavedImages[0].RasterBits[0] == 0, "white corner");
        DGifCloseFile(g, &err);
    }
    char *s = slurp(p);
    CHECK(s && strncmp(s, "GIF89a", 6) == 0, "GIF89a header");
    free(s);
    CHECK(fm_plot_gif(out("x.png"), &o, fr, 4, times, NULL, 5) == FM_EVALUE, "ext");
    CHECK(fm_plot_gif("/nonexistent-dir/a.gif", &o, fr, 4, times, NULL, 5) == FM_EIO, "io");
    CHECK(fm_plot_gif(out("n.gif"), &o, fr, 0, times, NULL, 5) == FM_EVALUE, "empty");
    for (int k = 0; k < 4; k++)
        fm_tensor_free(&f[k]);
    fm_tensor_free(&noise), fm_tensor_free(&data);
}

static void test_images(void)
{
    int64_t shape[3] = {4, 8, 8};
    fm_tensor g;
    fm_tensor_alloc(&g, FM_FLOAT64, 3, shape);
    for (int64_t k = 0; k < 4 * 64; k++)
        fm_tensor_set(&g, k, k < 64 ? 0.5 : ((k % 64) / 8 + k % 8) / 14.0);
    const char *p = out("grid.png");
    CHECK(fm_plot_images(p, NULL, &g, 2) == FM_OK, "grey grid");
    /* zoom floor((640 - 3 * 4) / 2 / 8) = 39: 2 * 8 * 39 + 3 * 4 = 636 */
    int w, h, c[3];
    CHECK(png_size(p, &w, &h) && w == 636 && h == 636, "%dx%d", w, h);
    png_pixel(p, 4 + 100, 4 + 100, c); /* inside image 0, all 0.5 */
    CHECK(c[0] == 128 && c[1] == 128 && c[2] == 128, "%d %d %d", c[0], c[1], c[2]);
    fm_tensor_free(&g);
    /* uint8 images are bytes 0..255 */
    fm_tensor_alloc(&g, FM_UINT8, 3, shape);
    for (int64_t k = 0; k < 4 * 64; k++)
        ((uint8_t *)g.data)[k] = k < 64 ? 200 : 0;
    CHECK(fm_plot_images(p, NULL, &g, 2) == FM_OK, "uint8 grid");
    png_pixel(p, 4 + 100, 4 + 100, c);
    CHECK(c[0] == 200 && c[1] == 200 && c[2] == 200, "uint8 %d %d %d", c[0], c[1], c[2]);
    fm_tensor_free(&g);
    int64_t rs[4] = {3, 4, 4, 3};
    fm_tensor rgb;
    fm_tensor_alloc(&rgb, FM_FLOAT32, 4, rs);
    for (int64_t k = 0; k < 3 * 16 * 3; k++)
        fm_tensor_set(&rgb, k, (k % 3) == (k / 48) ? 1.5 : -0.2); /* clamped */
    p = out("rgb.png");
    CHECK(fm_plot_images(p, NULL, &rgb, 8) == FM_OK, "rgb grid");
    png_pixel(p, 10, 10, c);
    CHECK(c[0] == 255 && c[1] == 0 && c[2] == 0, "red %d %d %d", c[0], c[1], c[2]);
    fm_tensor_free(&rgb);
    int64_t bs[4] = {3, 4, 4, 2};
    fm_tensor_alloc(&rgb, FM_FLOAT32, 4, bs);
    CHECK(fm_plot_images(out("b.png"), NULL, &rgb, 8) == FM_ESHAPE, "(3,4,4,2)");
    fm_tensor_free(&rgb);
}

int main(void)
{
    const char *keep = getenv("FM_PLOT_OUT");
    if (keep && *keep) {
        snprintf(dir, sizeof dir, "%s", keep);
    } else {
        snprintf(dir, sizeof dir, "/tmp/fm_test_plot_XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    test_ticks();
    test_scatter();
    test_trajectories();
    test_quiver();
    test_heatmap();
    test_curve();
    test_snapshots_gif();
    test_images();
    if (!(keep && *keep)) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    } else {
        printf("figures in %s\n", dir);
    }
    /* free cairo's and fontconfig's global caches so LeakSanitizer (the
     * FM_SANITIZE build) reports only our leaks */
    cairo_debug_reset_static_data();
    void (*fc_fini)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "FcFini");
    if (fc_fini)
        fc_fini();
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
