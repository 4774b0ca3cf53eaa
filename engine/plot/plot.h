/* plot.h — figures on cairo: scatter, trajectories, quiver, heatmap, curves,
 * snapshot rows, image grids (PNG, SVG or PDF by the file extension) and animated
 * GIFs of a flow (giflib).
 *
 * Every public function takes the output path, an options struct (NULL for
 * defaults) and the data as fm_tensor views (any float/int dtype, any strides)
 * or double arrays. Files are written to "<path>.tmp-<pid>@<host>-<n>" and
 * renamed, so a killed run never leaves a torn figure. NaN/inf points are
 * skipped; a figure with nothing finite to draw, mismatched shapes or an
 * unwritable path return an error (fm_last_error names the function and the
 * shapes).
 *
 * The second half of this header is internal: the figure/axes helpers shared
 * by engine/plot*.c (plot_axes.c implements them).
 */
#ifndef FM_PLOT_H
#define FM_PLOT_H

#include <cairo.h>

#include "core/fm.h"

/* Options. Zero-initialise (or fm_plot_opts_default) and set what you need. */
typedef struct {
    const char *title, *xlabel, *ylabel;
    double xlim[2], ylim[2]; /* used when lim[0] < lim[1]; else automatic */
    int width, height;       /* figure size in px at scale 1 (0 = default) */
    double scale;            /* raster scale factor (dpi / 100); 0 = 1 */
    double size;             /* marker radius in px; 0 = by number of points */
    double alpha;            /* marker opacity in (0, 1]; 0 = by number */
    int equal;               /* equal aspect: 1 yes, -1 no, 0 default */
    bool xlog, ylog;         /* log axes (curve) */
    bool log;                /* heatmap: colour by log10(value) */
    const char *colormap;    /* "viridis" (default), "magma", "gray", "coolwarm" */
    const char *labels[2];   /* legend names for {model, reference} */
    const char *const *names; /* snapshots: one title per panel; images: one
                                 name per row (nnames of them); or NULL */
    int nnames;
} fm_plot_opts;

void fm_plot_opts_default(fm_plot_opts *o);

/* x: (n, 2) points; reference: (m, 2) or NULL, drawn underneath. */
fm_status fm_plot_scatter(const char *path, const fm_plot_opts *o,
                          const fm_tensor *x, const fm_tensor *reference);

/* traj: (T, n, 2), the positions of n points at T times. */
fm_status fm_plot_trajectories(const char *path, const fm_plot_opts *o,
                               const fm_tensor *traj);

/* points, vectors: (m, 2); arrows coloured by |vector|, with a colour bar. */
fm_status fm_plot_quiver(const char *path, const fm_plot_opts *o,
                         const fm_tensor *points, const fm_tensor *vectors);

/* The nx*ny cell centres of the grid over xlim x ylim, row-major with x
 * fastest and y increasing: out is (nx*ny, 2). */
fm_status fm_plot_grid_points(const double xlim[2], const double ylim[2],
                              int64_t nx, int64_t ny, fm_tensor *out);

/* values: (nx*ny,) or (ny, nx) in the order of fm_plot_grid_points, over
 * o->xlim x o->ylim (required). NaN cells stay white. */
fm_status fm_plot_heatmap(const char *path, const fm_plot_opts *o,
                          const fm_tensor *values, int64_t nx, int64_t ny);

/* 2-D histogram of samples (n, 2) as a density (counts / (n dx dy)) into
 * out[ny*nx] over xlim x ylim; points outside are ignored. */
fm_status fm_plot_hist2d(const fm_tensor *samples, const double xlim[2],
                         const double ylim[2], int64_t nx, int64_t ny,
                         double *out);

/* One line of a curve plot; x == NULL means 1, 2, ..., n. */
typedef struct {
    const double *x, *y;
    int64_t n;
    const char *name; /* legend entry or NULL */
} fm_plot_series;

fm_status fm_plot_curve(const char *path, const fm_plot_opts *o,
                        const fm_plot_series *series, int nseries);

/* A row of nframes scatter panels with shared limits; frames[i] (n_i, 2),
 * times may be NULL, reference may be NULL. Panel i is titled o->names[i]
 * when o->names is set, else "t = times[i]", else "frame i". */
fm_status fm_plot_snapshots(const char *path, const fm_plot_opts *o,
                            const fm_tensor *const *frames, int nframes,
                            const double *times, const fm_tensor *reference);

/* images: (N, H, W) grey or (N, H, W, 3) RGB in [0, 1] (clamped), or
 * uint8 in [0, 255]; o->names (nnames of them) label the rows at the left. */
fm_status fm_plot_images(const char *path, const fm_plot_opts *o,
                         const fm_tensor *images, int cols);

/* An animated GIF of image grids: frames[i] (N, H, W) or (N, H, W, 3) of one
 * shape (as fm_plot_images), one GIF frame each titled "<title>   t = ..."
 * (times may be NULL), delay in 1/100 s. */
fm_status fm_plot_images_gif(const char *path, const fm_plot_opts *o,
                             const fm_tensor *const *frames, int nframes,
                             const double *times, int cols, int delay);

/* Animated scatter of the frames (one GIF frame each), delay in 1/100 s. */
fm_status fm_plot_gif(const char *path, const fm_plot_opts *o,
                      const fm_tensor *const *frames, int nframes,
                      const double *times, const fm_tensor *reference,
                      int delay);

/* ------------------------------------------------------------------------ */
/* Internal: shared by engine/plot*.c.                                       */

typedef struct {
    cairo_surface_t *surf;
    cairo_t *cr;
    bool vector;        /* SVG or PDF: written when the surface finishes */
    double w, h, scale; /* logical size (px at scale 1) */
    char *path, *tmp;   /* NULL for an in-memory image (GIF frames) */
} fm_fig;

/* An image grid's layout (grid.c), shared by fm_plot_images and its GIF. */
typedef struct {
    int64_t N, h, w, rows;
    int cols;
    double pad, left, top, zoom, W, H;
} fm_grid;
fm_status fm_plot_grid_plan(const char *fn, const fm_plot_opts *o,
                            const fm_tensor *images, int cols, fm_grid *g);
fm_status fm_plot_grid_draw(fm_fig *f, const char *fn, const fm_plot_opts *o,
                            const fm_grid *g, const fm_tensor *images,
                            const char *title);

typedef struct {
    double px, py, pw, ph;  /* plot box in figure units */
    double x0, x1, y0, y1;  /* data limits (log10 of them on log axes) */
    bool xlog, ylog;
} fm_axes;

/* Opens a figure for path (extension .png/.svg/.pdf) or, path NULL, an in-memory
 * ARGB image; white background. fname names the caller in errors. */
fm_status fm_fig_open(fm_fig *f, const char *fname, const char *path,
                      double w, double h, double scale);
/* Writes (tmp + rename) and frees; frees only when st != FM_OK. */
fm_status fm_fig_close(fm_fig *f, const char *fname, fm_status st);
/* 0 for .png, 1 for .svg, 2 for .gif, 3 for .pdf, -1 otherwise. */
int fm_plot_format(const char *path);
/* "<path>.tmp-<pid>@<host>-<n>" (fm_tmp_infix; malloc'd) or NULL. */
char *fm_plot_tmpname(const char *path);

/* Range of the finite entries of column col of an (n, 2) tensor, merged into
 * lo/hi (start with lo = +inf, hi = -inf). */
void fm_range_points(const fm_tensor *x, int col, double *lo, double *hi);
/* Fills ax limits from lo/hi with 5% padding unless o fixes them; equal
 * aspect grows the shorter range to match the box. */
void fm_axes_limits(fm_axes *ax, const fm_plot_opts *o, double xlo, double xhi,
                    double ylo, double yhi, bool equal);
/* Places the plot box inside the region (x, y, w, h), leaving room for tick
 * labels, axis labels and (if title) a title. */
void fm_axes_place(fm_axes *ax, double x, double y, double w, double h,
                   bool title, bool ylabel);
double fm_axes_X(const fm_axes *ax, double x);
double fm_axes_Y(const fm_axes *ax, double y);
void fm_axes_clip(cairo_t *cr, const fm_axes *ax);

/* Frame, grid-free ticks with labels, title and axis labels. */
void fm_axes_draw(cairo_t *cr, const fm_axes *ax, const char *title,
                  const char *xlabel, const char *ylabel, bool yticklabels);

/* Nice ticks (1, 2, 5 x 10^k) covering [lo, hi]; returns count (<= max)
 * and the step. */
int fm_nice_ticks(double lo, double hi, int target, double *ticks, int max,
                  double *step);
void fm_tick_label(double v, double step, char *buf, size_t n);

typedef enum { FM_ALIGN_START, FM_ALIGN_CENTER, FM_ALIGN_END } fm_align;
void fm_text(cairo_t *cr, double x, double y, const char *s, double size,
             fm_align ha, fm_align va, double angle, bool bold);

/* tab10 colour i (mod 10). */
void fm_color_cycle(int i, double rgb[3]);
/* Colormap at t in [0, 1]; unknown names fall back to viridis. */
void fm_colormap(const char *name, double t, double rgb[3]);
bool fm_colormap_known(const char *name);

/* Legend in the upper right of ax: marker kind 0 = dot, 1 = line. */
typedef struct {
    const char *name;
    double rgb[3];
    int kind;
} fm_legend_entry;
void fm_axes_legend(cairo_t *cr, const fm_axes *ax, const fm_legend_entry *e,
                    int n);
/* Vertical colour bar in the box (x, y, w, h) for values lo..hi. */
void fm_colorbar(cairo_t *cr, double x, double y, double w, double h,
                 const char *cmap, double lo, double hi, bool log);

/* Draws the finite points of x (n, 2) as discs. */
void fm_draw_points(cairo_t *cr, const fm_axes *ax, const fm_tensor *x,
                    const double rgb[3], double radius, double alpha);
/* Default marker radius / alpha for n points unless o sets them. */
double fm_marker_radius(const fm_plot_opts *o, int64_t n);
double fm_marker_alpha(const fm_plot_opts *o, int64_t n);
/* Checks that x is (n, 2) with n >= 0. */
fm_status fm_check_points(const char *fname, const char *what,
                          const fm_tensor *x);

/* Frames of a snapshot row / GIF: each (n_i, 2), nframes >= 1 (plot_grid.c). */
fm_status fm_plot_frames_check(const char *fn, const fm_tensor *const *frames,
                               int nframes, const fm_tensor *reference);
/* Shared limits of the frames and reference in box ax; false if nothing is
 * finite. */
bool fm_plot_frames_limits(fm_axes *ax, const fm_plot_opts *o,
                           const fm_tensor *const *frames, int nframes,
                           const fm_tensor *reference);

#endif
