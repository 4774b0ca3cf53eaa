/* plot_axes.c — what every plot shares: limits, the data -> figure mapping,
 * the frame with nice ticks and labels, text, colours (tab10 cycle and
 * colormaps), legend, colour bar and point markers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot/plot.h"

#define FONT "DejaVu Sans"
#define TICK_FONT 11.0
#define LABEL_FONT 12.5
#define TITLE_FONT 14.0
static const double INK[3] = {0.15, 0.15, 0.15};
/* log axes spanning at least this many decades get 10^k labels */
#define LOG_POWER_RANGE 2.0

/* ---- colours ------------------------------------------------------------ */

static const unsigned TAB10[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728,
                                   0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f,
                                   0xbcbd22, 0x17becf};

void fm_color_cycle(int i, double rgb[3])
{
    unsigned c = TAB10[((i % 10) + 10) % 10];
    rgb[0] = ((c >> 16) & 255) / 255.0;
    rgb[1] = ((c >> 8) & 255) / 255.0;
    rgb[2] = (c & 255) / 255.0;
}

/* Anchors at t = 0, 1/8, ..., 1 sampled from matplotlib's maps. */
static const double VIRIDIS[9][3] = {
    {0.267, 0.005, 0.329}, {0.283, 0.141, 0.458}, {0.230, 0.322, 0.546},
    {0.173, 0.449, 0.558}, {0.128, 0.567, 0.551}, {0.158, 0.684, 0.502},
    {0.369, 0.789, 0.383}, {0.678, 0.864, 0.190}, {0.993, 0.906, 0.144}};
static const double MAGMA[9][3] = {
    {0.001, 0.000, 0.014}, {0.079, 0.054, 0.212}, {0.232, 0.060, 0.438},
    {0.390, 0.100, 0.502}, {0.550, 0.161, 0.506}, {0.716, 0.215, 0.475},
    {0.869, 0.288, 0.409}, {0.995, 0.624, 0.427}, {0.987, 0.991, 0.750}};
static const double COOLWARM[9][3] = {
    {0.230, 0.299, 0.754}, {0.392, 0.514, 0.912}, {0.552, 0.690, 0.996},
    {0.710, 0.800, 0.960}, {0.865, 0.865, 0.865}, {0.940, 0.750, 0.650},
    {0.958, 0.604, 0.482}, {0.870, 0.380, 0.300}, {0.706, 0.016, 0.150}};
static const double GRAY[9][3] = {
    {0, 0, 0}, {.125, .125, .125}, {.25, .25, .25}, {.375, .375, .375},
    {.5, .5, .5}, {.625, .625, .625}, {.75, .75, .75}, {.875, .875, .875},
    {1, 1, 1}};

static const double (*colormap_table(const char *name))[3]
{
    if (!name || strcmp(name, "viridis") == 0)
        return VIRIDIS;
    if (strcmp(name, "magma") == 0)
        return MAGMA;
    if (strcmp(name, "coolwarm") == 0)
        return COOLWARM;
    if (strcmp(name, "gray") == 0 || strcmp(name, "grey") == 0)
        return GRAY;
    return NULL;
}

bool fm_colormap_known(const char *name)
{
    return colormap_table(name) != NULL;
}

void fm_colormap(const char *name, double t, double rgb[3])
{
    const double(*tab)[3] = colormap_table(name);
    if (!tab)
        tab = VIRIDIS;
    if (!(t > 0))
        t = 0;
    if (t > 1)
        t = 1;
    double u = t * 8;
    int i = (int)u;
    if (i > 7)
        i = 7;
    u -= i;
    for (int k = 0; k < 3; k++)
        rgb[k] = tab[i][k] * (1 - u) + tab[i + 1][k] * u;
}

/* ---- text --------------------------------------------------------------- */

void fm_text(cairo_t *cr, double x, double y, const char *s, double size,
             fm_align ha, fm_align va, double angle, bool bold)
{
    if (!s || !*s)
        return;
    cairo_save(cr);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double dx = ha == FM_ALIGN_START ? 0 : ha == FM_ALIGN_CENTER
                                              ? -te.x_advance / 2
                                              : -te.x_advance;
    /* vertical: by the cap height (~0.72 em) so digits centre nicely */
    double cap = 0.72 * size;
    double dy = va == FM_ALIGN_START ? cap : va == FM_ALIGN_CENTER ? cap / 2 : 0;
    cairo_translate(cr, x, y);
    cairo_rotate(cr, angle);
    cairo_move_to(cr, dx, dy);
    cairo_set_source_rgb(cr, INK[0], INK[1], INK[2]);
    cairo_show_text(cr, s);
    cairo_restore(cr);
}

static double text_width(cairo_t *cr, const char *s, double size)
{
    cairo_save(cr);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    cairo_restore(cr);
    return te.x_advance;
}

/* ---- ticks -------------------------------------------------------------- */

int fm_nice_ticks(double lo, double hi, int target, double *ticks, int max,
                  double *step)
{
    if (!(hi > lo) || !isfinite(lo) || !isfinite(hi) || target < 1) {
        *step = 1;
        return 0;
    }
    double raw = (hi - lo) / target;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double s = f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10;
    s *= mag;
    *step = s;
    int n = 0;
    double eps = 1e-9 * (hi - lo);
    for (double k = ceil((lo - eps) / s); n < max && k * s <= hi + eps; k++) {
        double v = k * s;
        ticks[n++] = fabs(v) < s * 1e-9 ? 0 : v;
    }
    return n;
}

void fm_tick_label(double v, double step, char *buf, size_t n)
{
    if (fabs(v) < 1e-9 * step)
        v = 0;
    double a = fabs(v);
    if (a != 0 && (a >= 1e5 || a < 1e-4)) {
        snprintf(buf, n, "%.3g", v);
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 8)
        dec = 8;
    snprintf(buf, n, "%.*f", dec, v);
    if (strcmp(buf, "-0") == 0 || (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1)))
        memmove(buf, buf + 1, strlen(buf));
}

/* "10" with a raised exponent, centred (ha) at x. */
static void power_label(cairo_t *cr, double x, double y, int e, fm_align ha,
                        fm_align va)
{
    char ex[16];
    snprintf(ex, sizeof ex, "%d", e);
    double w1 = text_width(cr, "10", TICK_FONT);
    double w2 = text_width(cr, ex, TICK_FONT * 0.7);
    double w = w1 + w2;
    double x0 = ha == FM_ALIGN_START ? x : ha == FM_ALIGN_CENTER ? x - w / 2 : x - w;
    fm_text(cr, x0, y, "10", TICK_FONT, FM_ALIGN_START, va, 0, false);
    fm_text(cr, x0 + w1, y - TICK_FONT * 0.45, ex, TICK_FONT * 0.7,
            FM_ALIGN_START, va, 0, false);
}

/* ---- axes --------------------------------------------------------------- */

void fm_axes_place(fm_axes *ax, double x, double y, double w, double h,
                   bool title, bool ylabel)
{
    double left = ylabel ? 72 : 50, right = 16;
    double top = title ? 34 : 14, bottom = 52;
    ax->px = x + left;
    ax->py = y + top;
    ax->pw = w - left - right;
    ax->ph = h - top - bottom;
    if (ax->pw < 8)
        ax->pw = 8;
    if (ax->ph < 8)
        ax->ph = 8;
}

void fm_range_points(const fm_tensor *x, int col, double *lo, double *hi)
{
    if (!x || x->ndim != 2)
        return;
    int64_t n = x->shape[0];
    for (int64_t i = 0; i < n; i++) {
        double a = fm_tensor_get(x, 2 * i), b = fm_tensor_get(x, 2 * i + 1);
        if (!isfinite(a) || !isfinite(b))
            continue;
        double v = col ? b : a;
        if (v < *lo)
            *lo = v;
        if (v > *hi)
            *hi = v;
    }
}

static void pad_range(double *lo, double *hi)
{
    if (!(*hi >= *lo)) {
        *lo = 0, *hi = 1;
        return;
    }
    double r = *hi - *lo;
    if (r <= 0) {
        r = fabs(*lo) > 0 ? fabs(*lo) * 0.1 : 1;
        *lo -= r, *hi += r;
        return;
    }
    *lo -= 0.05 * r;
    *hi += 0.05 * r;
}

void fm_axes_limits(fm_axes *ax, const fm_plot_opts *o, double xlo, double xhi,
                    double ylo, double yhi, bool equal)
{
    bool fx = o && o->xlim[0] < o->xlim[1], fy = o && o->ylim[0] < o->ylim[1];
    if (fx)
        xlo = o->xlim[0], xhi = o->xlim[1];
    else
        pad_range(&xlo, &xhi);
    if (fy)
        ylo = o->ylim[0], yhi = o->ylim[1];
    else
        pad_range(&ylo, &yhi);
    if (equal && fx && fy) {
        /* both ranges fixed: shrink the box instead (adjustable='box') */
        double ppu = fmin(ax->pw / (xhi - xlo), ax->ph / (yhi - ylo));
        double w = ppu * (xhi - xlo), h = ppu * (yhi - ylo);
        ax->px += (ax->pw - w) / 2, ax->py += (ax->ph - h) / 2;
        ax->pw = w, ax->ph = h;
    } else if (equal) {
        /* matplotlib's aspect='equal', adjustable='datalim': one data unit is
         * the same number of pixels on both axes; grow the free range. */
        double ppu = fmin(ax->pw / (xhi - xlo), ax->ph / (yhi - ylo));
        if (!fx) {
            double c = (xlo + xhi) / 2, r = ax->pw / ppu / 2;
            xlo = c - r, xhi = c + r;
        }
        if (!fy) {
            double c = (ylo + yhi) / 2, r = ax->ph / ppu / 2;
            ylo = c - r, yhi = c + r;
        }
    }
    ax->x0 = xlo, ax->x1 = xhi, ax->y0 = ylo, ax->y1 = yhi;
}

double fm_axes_X(const fm_axes *ax, double x)
{
    if (ax->xlog)
        x = x > 0 ? log10(x) : NAN;
    return ax->px + (x - ax->x0) / (ax->x1 - ax->x0) * ax->pw;
}

double fm_axes_Y(const fm_axes *ax, double y)
{
    if (ax->ylog)
        y = y > 0 ? log10(y) : NAN;
    return ax->py + ax->ph - (y - ax->y0) / (ax->y1 - ax->y0) * ax->ph;
}

void fm_axes_clip(cairo_t *cr, const fm_axes *ax)
{
    cairo_rectangle(cr, ax->px, ax->py, ax->pw, ax->ph);
    cairo_clip(cr);
}

/* Ticks of one axis in axis units (log10 on log axes): integer exponents for
 * log axes spanning a decade or more, nice ticks otherwise. */
/* Ticks at m x 10^e (m in mult) inside [lo, hi] (log10 units). */
static int log_mult_ticks(double lo, double hi, const int *mult, int nm,
                          double *ticks)
{
    int n = 0;
    for (double e = floor(lo); e <= hi && n < 32; e++)
        for (int k = 0; k < nm && n < 32; k++) {
            double v = e + log10(mult[k]);
            if (v >= lo - 1e-9 && v <= hi + 1e-9)
                ticks[n++] = v;
        }
    return n;
}

static int axis_ticks(double lo, double hi, bool log, int target,
                      double *ticks, double *step)
{
    if (log && hi - lo < LOG_POWER_RANGE) {
        /* under two decades: label 1-2-5 (or every) multiple, as values */
        static const int m125[3] = {1, 2, 5}, m19[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        int n = log_mult_ticks(lo, hi, m125, 3, ticks);
        if (n < 3)
            n = log_mult_ticks(lo, hi, m19, 9, ticks);
        *step = 1;
        if (n >= 2)
            return n;
        /* a narrow range: nice ticks on the values, mapped to log10 */
        double lin[32];
        n = fm_nice_ticks(pow(10, lo), pow(10, hi), target, lin, 32, step);
        for (int i = 0; i < n; i++)
            ticks[i] = log10(lin[i]);
        return n;
    }
    if (log) {
        double s = ceil((hi - lo) / 8);
        int n = 0;
        for (double e = ceil(lo / s) * s; e <= hi + 1e-9 && n < 32; e += s)
            ticks[n++] = e;
        *step = s;
        return n;
    }
    return fm_nice_ticks(lo, hi, target, ticks, 32, step);
}

static void tick_text(cairo_t *cr, double x, double y, double v, double step,
                      bool log, bool integer_exp, fm_align ha, fm_align va)
{
    char buf[48];
    if (log && integer_exp) {
        power_label(cr, x, y, (int)lround(v), ha, va);
        return;
    }
    if (log) {
        double p = pow(10, v);
        snprintf(buf, sizeof buf, "%.3g", p);
    } else {
        fm_tick_label(v, step, buf + 2, sizeof buf - 2);
    }
    /* a typographic minus (U+2212), as matplotlib */
    char *s = log ? buf : buf + 2;
    if (!log && s[0] == '-')
        s = buf, memcpy(buf, "\xe2\x88\x92", 3);
    fm_text(cr, x, y, s, TICK_FONT, ha, va, 0, false);
}

/* Unlabelled short ticks at 2..9 x 10^k inside the range of a log axis. */
static void minor_log_ticks(cairo_t *cr, const fm_axes *ax, bool yaxis)
{
    double lo = yaxis ? ax->y0 : ax->x0, hi = yaxis ? ax->y1 : ax->x1;
    if (hi - lo > 8)
        return; /* too dense to help */
    for (double e = floor(lo); e <= hi; e++)
        for (int m = 2; m <= 9; m++) {
            double v = e + log10(m);
            if (v < lo || v > hi)
                continue;
            double f = (v - lo) / (hi - lo);
            if (yaxis) {
                double Y = ax->py + ax->ph - f * ax->ph;
                cairo_move_to(cr, ax->px, Y);
                cairo_line_to(cr, ax->px - 2.5, Y);
            } else {
                double X = ax->px + f * ax->pw;
                cairo_move_to(cr, X, ax->py + ax->ph);
                cairo_line_to(cr, X, ax->py + ax->ph + 2.5);
            }
            cairo_stroke(cr);
        }
}

void fm_axes_draw(cairo_t *cr, const fm_axes *ax, const char *title,
                  const char *xlabel, const char *ylabel, bool yticklabels)
{
    double ticks[32], step;
    cairo_save(cr);
    cairo_set_source_rgb(cr, INK[0], INK[1], INK[2]);
    cairo_set_line_width(cr, 0.8);
    cairo_rectangle(cr, ax->px, ax->py, ax->pw, ax->ph);
    cairo_stroke(cr);
    int xt = ax->pw > 300 ? 7 : ax->pw > 120 ? 4 : 3;
    int yt = ax->ph > 300 ? 7 : ax->ph > 150 ? 5 : 3;
    int n = axis_ticks(ax->x0, ax->x1, ax->xlog, xt, ticks, &step);
    bool xint = ax->xlog && ax->x1 - ax->x0 >= LOG_POWER_RANGE;
    for (int i = 0; i < n; i++) {
        double X = ax->px + (ticks[i] - ax->x0) / (ax->x1 - ax->x0) * ax->pw;
        cairo_move_to(cr, X, ax->py + ax->ph);
        cairo_line_to(cr, X, ax->py + ax->ph + 4);
        cairo_stroke(cr);
        tick_text(cr, X, ax->py + ax->ph + 7, ticks[i], step, ax->xlog, xint,
                  FM_ALIGN_CENTER, FM_ALIGN_START);
    }
    if (ax->xlog && xint)
        minor_log_ticks(cr, ax, false);
    n = axis_ticks(ax->y0, ax->y1, ax->ylog, yt, ticks, &step);
    bool yint = ax->ylog && ax->y1 - ax->y0 >= LOG_POWER_RANGE;
    for (int i = 0; i < n; i++) {
        double Y = ax->py + ax->ph - (ticks[i] - ax->y0) / (ax->y1 - ax->y0) * ax->ph;
        cairo_move_to(cr, ax->px, Y);
        cairo_line_to(cr, ax->px - 4, Y);
        cairo_stroke(cr);
        if (yticklabels)
            tick_text(cr, ax->px - 7, Y, ticks[i], step, ax->ylog, yint,
                      FM_ALIGN_END, FM_ALIGN_CENTER);
    }
    if (ax->ylog && yint)
        minor_log_ticks(cr, ax, true);
    cairo_restore(cr);
    fm_text(cr, ax->px + ax->pw / 2, ax->py - 10, title, TITLE_FONT,
            FM_ALIGN_CENTER, FM_ALIGN_END, 0, false);
    fm_text(cr, ax->px + ax->pw / 2, ax->py + ax->ph + 28, xlabel, LABEL_FONT,
            FM_ALIGN_CENTER, FM_ALIGN_START, 0, false);
    fm_text(cr, ax->px - 52, ax->py + ax->ph / 2, ylabel, LABEL_FONT,
            FM_ALIGN_CENTER, FM_ALIGN_END, -M_PI / 2, false);
}

/* ---- legend and colour bar ---------------------------------------------- */

void fm_axes_legend(cairo_t *cr, const fm_axes *ax, const fm_legend_entry *e,
                    int n)
{
    double wmax = 0;
    int shown = 0;
    for (int i = 0; i < n; i++) {
        if (!e[i].name || !*e[i].name)
            continue;
        wmax = fmax(wmax, text_width(cr, e[i].name, TICK_FONT));
        shown++;
    }
    if (!shown)
        return;
    double row = 18, w = wmax + 40, h = shown * row + 8;
    double x = ax->px + ax->pw - w - 8, y = ax->py + 8;
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
    double yy = y + 4 + row / 2;
    for (int i = 0; i < n; i++) {
        if (!e[i].name || !*e[i].name)
            continue;
        cairo_set_source_rgb(cr, e[i].rgb[0], e[i].rgb[1], e[i].rgb[2]);
        if (e[i].kind == 1) {
            cairo_set_line_width(cr, 1.8);
            cairo_move_to(cr, x + 8, yy);
            cairo_line_to(cr, x + 28, yy);
            cairo_stroke(cr);
        } else {
            cairo_arc(cr, x + 18, yy, 4, 0, 2 * M_PI);
            cairo_fill(cr);
        }
        fm_text(cr, x + 34, yy, e[i].name, TICK_FONT, FM_ALIGN_START,
                FM_ALIGN_CENTER, 0, false);
        yy += row;
    }
    cairo_restore(cr);
}

void fm_colorbar(cairo_t *cr, double x, double y, double w, double h,
                 const char *cmap, double lo, double hi, bool log)
{
    cairo_save(cr);
    cairo_pattern_t *g = cairo_pattern_create_linear(0, y + h, 0, y);
    for (int i = 0; i <= 32; i++) {
        double rgb[3];
        fm_colormap(cmap, i / 32.0, rgb);
        cairo_pattern_add_color_stop_rgb(g, i / 32.0, rgb[0], rgb[1], rgb[2]);
    }
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source(cr, g);
    cairo_fill(cr);
    cairo_pattern_destroy(g);
    cairo_set_source_rgb(cr, INK[0], INK[1], INK[2]);
    cairo_set_line_width(cr, 0.8);
    cairo_rectangle(cr, x, y, w, h);
    cairo_stroke(cr);
    if (!(hi > lo))
        hi = lo + 1;
    double ticks[32], step;
    int n = axis_ticks(lo, hi, log, 5, ticks, &step);
    bool integer_exp = log && hi - lo >= LOG_POWER_RANGE;
    for (int i = 0; i < n; i++) {
        double Y = y + h - (ticks[i] - lo) / (hi - lo) * h;
        cairo_move_to(cr, x + w, Y);
        cairo_line_to(cr, x + w + 4, Y);
        cairo_stroke(cr);
        tick_text(cr, x + w + 7, Y, ticks[i], step, log, integer_exp,
                  FM_ALIGN_START, FM_ALIGN_CENTER);
    }
    cairo_restore(cr);
}

/* ---- points ------------------------------------------------------------- */

fm_status fm_check_points(const char *fname, const char *what,
                          const fm_tensor *x)
{
    char buf[FM_SHAPE_STR_MAX];
    if (!x || !x->data)
        return fm_error(FM_EVALUE, "%s: %s is missing", fname, what);
    if (x->ndim != 2 || x->shape[1] != 2)
        return fm_error(FM_ESHAPE, "%s: %s must be (n, 2), got %s", fname,
                        what, fm_shape_str(x, buf, sizeof buf));
    return FM_OK;
}

double fm_marker_radius(const fm_plot_opts *o, int64_t n)
{
    if (o && o->size > 0)
        return o->size;
    return n <= 200 ? 4 : n <= 2000 ? 2.6 : n <= 20000 ? 1.7 : 1.1;
}

double fm_marker_alpha(const fm_plot_opts *o, int64_t n)
{
    if (o && o->alpha > 0)
        return o->alpha > 1 ? 1 : o->alpha;
    return n <= 200 ? 0.9 : n <= 2000 ? 0.7 : n <= 20000 ? 0.4 : 0.25;
}

void fm_draw_points(cairo_t *cr, const fm_axes *ax, const fm_tensor *x,
                    const double rgb[3], double radius, double alpha)
{
    if (!x)
        return;
    cairo_save(cr);
    fm_axes_clip(cr, ax);
    cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
    int64_t n = x->shape[0];
    for (int64_t i = 0; i < n; i++) {
        double a = fm_tensor_get(x, 2 * i), b = fm_tensor_get(x, 2 * i + 1);
        double X = fm_axes_X(ax, a), Y = fm_axes_Y(ax, b);
        if (!isfinite(X) || !isfinite(Y))
            continue;
        /* each disc filled on its own so overlaps accumulate opacity */
        cairo_new_path(cr);
        cairo_arc(cr, X, Y, radius, 0, 2 * M_PI);
        cairo_fill(cr);
    }
    cairo_restore(cr);
}
