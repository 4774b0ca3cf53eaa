/* plot.c — fm.plot: figures from Lua. Every function takes one options table
 * whose first entry is the output path (.png/.svg/.pdf, or .gif for fm.plot.gif)
 * and returns nothing; errors name the missing or bad field. Data may be
 * tensors or nested tables of numbers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/lfm.h"
#include "plot/plot.h"

#define OPTS 1 /* the options table is argument 1 */

/* Raises "fm.<engine message>", e.g. "fm.plot.scatter: x must be (n, 2)". */
static void check(lua_State *L, fm_status st)
{
    if (st != FM_OK)
        luaL_error(L, "fm.%s", fm_last_error());
}

static const char *path_of(lua_State *L, const char *fn)
{
    luaL_checktype(L, OPTS, LUA_TTABLE);
    lua_rawgeti(L, OPTS, 1);
    const char *p = lua_tostring(L, -1);
    if (!p || lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "%s: the first entry of the options must be the output path "
                   "(a string), got %s", fn, luaL_typename(L, -1));
    lua_pop(L, 1); /* still referenced by the options table */
    return p;
}

/* Pushes options[key] (or options[index] when key is NULL). */
static int get(lua_State *L, const char *key, int index)
{
    return key ? lua_getfield(L, OPTS, key) : lua_rawgeti(L, OPTS, index);
}

static const char *opt_string(lua_State *L, const char *fn, const char *key)
{
    int type = lua_getfield(L, OPTS, key);
    const char *s = NULL;
    if (type == LUA_TSTRING || type == LUA_TNUMBER)
        s = lua_tostring(L, -1);
    else if (type != LUA_TNIL)
        luaL_error(L, "%s: %s must be a string, got %s", fn, key, luaL_typename(L, -1));
    lua_pop(L, 1); /* strings stay alive in the options table */
    return s;
}

static double opt_number(lua_State *L, const char *fn, const char *key, double def)
{
    int type = lua_getfield(L, OPTS, key);
    double v = def;
    if (type == LUA_TNUMBER)
        v = lua_tonumber(L, -1);
    else if (type != LUA_TNIL)
        luaL_error(L, "%s: %s must be a number, got %s", fn, key, luaL_typename(L, -1));
    lua_pop(L, 1);
    if (type == LUA_TNUMBER && !isfinite(v))
        luaL_error(L, "%s: %s must be finite", fn, key);
    return v;
}

static bool opt_bool(lua_State *L, const char *fn, const char *key, bool def)
{
    int type = lua_getfield(L, OPTS, key);
    bool v = def;
    if (type == LUA_TBOOLEAN)
        v = lua_toboolean(L, -1);
    else if (type != LUA_TNIL)
        luaL_error(L, "%s: %s must be a boolean, got %s", fn, key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

/* options[key] = {lo, hi} with finite lo < hi, into lim; false if absent. */
static bool opt_limits(lua_State *L, const char *fn, const char *key, double lim[2])
{
    int type = lua_getfield(L, OPTS, key);
    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    bool ok = type == LUA_TTABLE;
    for (int i = 0; ok && i < 2; i++) {
        ok = lua_rawgeti(L, -1 - i, i + 1) == LUA_TNUMBER;
        lim[i] = lua_tonumber(L, -1);
    }
    if (!ok || !isfinite(lim[0]) || !isfinite(lim[1]) || !(lim[0] < lim[1]))
        luaL_error(L, "%s: %s must be {lo, hi} with finite lo < hi", fn, key);
    lua_pop(L, 3);
    return true;
}

/* The common options; labels = {model, data}. */
static void read_opts(lua_State *L, const char *fn, fm_plot_opts *o)
{
    fm_plot_opts_default(o);
    o->title = opt_string(L, fn, "title");
    o->xlabel = opt_string(L, fn, "xlabel");
    o->ylabel = opt_string(L, fn, "ylabel");
    opt_limits(L, fn, "xlim", o->xlim);
    opt_limits(L, fn, "ylim", o->ylim);
    o->width = (int)opt_number(L, fn, "width", 0);
    o->height = (int)opt_number(L, fn, "height", 0);
    double dpi = opt_number(L, fn, "dpi", 0);
    o->scale = opt_number(L, fn, "scale", dpi > 0 ? dpi / 100 : 0);
    if (o->width < 0 || o->height < 0 || o->scale < 0)
        luaL_error(L, "%s: width, height, scale and dpi must be positive", fn);
    o->size = opt_number(L, fn, "size", 0);
    o->alpha = opt_number(L, fn, "alpha", 0);
    if (o->size < 0 || o->alpha < 0 || o->alpha > 1)
        luaL_error(L, "%s: size must be >= 0 and alpha in [0, 1]", fn);
    if (lua_getfield(L, OPTS, "equal") != LUA_TNIL)
        o->equal = lua_toboolean(L, -1) ? 1 : -1;
    lua_pop(L, 1);
    o->colormap = opt_string(L, fn, "colormap");
    if (o->colormap && !fm_colormap_known(o->colormap))
        luaL_error(L, "%s: colormap must be one of viridis, magma, gray, coolwarm; "
                   "got '%s'", fn, o->colormap);
    int type = lua_getfield(L, OPTS, "labels");
    if (type == LUA_TTABLE) {
        for (int i = 0; i < 2; i++) {
            lua_rawgeti(L, -1, i + 1);
            o->labels[i] = lua_tostring(L, -1); /* alive in the labels table */
            lua_pop(L, 1);
        }
    } else if (type != LUA_TNIL) {
        luaL_error(L, "%s: labels must be a table of strings", fn);
    }
    lua_pop(L, 1);
}

/* Converts the value at the top of the stack to a tensor, in place (it stays
 * on the stack, which keeps it alive); what names it in errors. */
static fm_tensor *top_tensor(lua_State *L, const char *fn, const char *what)
{
    luaL_checkstack(L, 8, fn);
    if (!fmL_testtensor(L, -1) && lua_type(L, -1) != LUA_TTABLE)
        luaL_error(L, "%s: %s must be a tensor or a table of numbers, got %s", fn,
                   what, luaL_typename(L, -1));
    return fmL_totensor(L, -1, FM_FLOAT64);
}

/* options[key] (or options[index]) as a tensor left on the stack; NULL (and
 * nothing pushed) if absent and not required. */
static fm_tensor *opt_tensor(lua_State *L, const char *fn, const char *key,
                             int index, bool required)
{
    if (get(L, key, index) == LUA_TNIL) {
        lua_pop(L, 1);
        if (required)
            luaL_error(L, "%s: %s is missing", fn, key);
        return NULL;
    }
    return top_tensor(L, fn, key);
}

/* The 2-D points of a scatter/trajectory: options[2] or options[key]. */
static fm_tensor *main_tensor(lua_State *L, const char *fn, const char *key)
{
    if (get(L, NULL, 2) != LUA_TNIL)
        return top_tensor(L, fn, key);
    lua_pop(L, 1);
    return opt_tensor(L, fn, key, 0, true);
}

/* ---- scatter, trajectories ---------------------------------------------- */

static int l_scatter(lua_State *L)
{
    static const char *fn = "fm.plot.scatter";
    const char *path = path_of(L, fn);
    fm_plot_opts o;
    read_opts(L, fn, &o);
    fm_tensor *x = main_tensor(L, fn, "x");
    fm_tensor *ref = opt_tensor(L, fn, "reference", 0, false);
    check(L, fm_plot_scatter(path, &o, x, ref));
    return 0;
}

static int l_trajectories(lua_State *L)
{
    static const char *fn = "fm.plot.trajectories";
    const char *path = path_of(L, fn);
    fm_plot_opts o;
    read_opts(L, fn, &o);
    fm_tensor *tr = main_tensor(L, fn, "traj");
    check(L, fm_plot_trajectories(path, &o, tr));
    return 0;
}

/* ---- quiver, heatmap ---------------------------------------------------- */

/* Default limits {-3, 3} where the options give none. */
static void default_limits(fm_plot_opts *o)
{
    if (!(o->xlim[0] < o->xlim[1]))
        o->xlim[0] = -3, o->xlim[1] = 3;
    if (!(o->ylim[0] < o->ylim[1]))
        o->ylim[0] = -3, o->ylim[1] = 3;
}

/* Grid size from options[key] (default def), in [1, max]. */
static int64_t opt_res(lua_State *L, const char *fn, const char *key, double def,
                       double max)
{
    double g = opt_number(L, fn, key, def);
    if (g != floor(g) || g < 1 || g > max)
        luaL_error(L, "%s: %s must be an integer in [1, %d], got %g", fn, key,
                   (int)max, g);
    return (int64_t)g;
}

/* Pushes the (nx*ny, 2) grid of cell centres as a default-dtype tensor. */
static fm_tensor *push_grid(lua_State *L, const char *fn, const fm_plot_opts *o,
                            int64_t n)
{
    int64_t shape[2] = {n * n, 2};
    fm_tensor *g = fmL_newtensor(L, fn, fmL_default_dtype(L), 2, shape);
    check(L, fm_plot_grid_points(o->xlim, o->ylim, n, n, g));
    return g;
}

/* Calls the function at fidx with the grid at gidx (and t if has_t); the
 * result, converted to a tensor, is left on the stack. */
static fm_tensor *call_field(lua_State *L, const char *fn, const char *key,
                             int fidx, int gidx, bool has_t, double t)
{
    lua_pushvalue(L, fidx);
    lua_pushvalue(L, gidx);
    if (has_t)
        lua_pushnumber(L, t);
    lua_call(L, has_t ? 2 : 1, 1);
    if (!fmL_testtensor(L, -1) && lua_type(L, -1) != LUA_TTABLE)
        luaL_error(L, "%s: %s must return a tensor, got %s", fn, key,
                   luaL_typename(L, -1));
    return fmL_totensor(L, -1, FM_FLOAT64);
}

static int l_quiver(lua_State *L)
{
    static const char *fn = "fm.plot.quiver";
    const char *path = path_of(L, fn);
    fm_plot_opts o;
    read_opts(L, fn, &o);
    if (o.colormap == NULL)
        o.colormap = "viridis";
    fm_tensor *pts = opt_tensor(L, fn, "points", 0, false), *vec;
    if (pts) {
        vec = opt_tensor(L, fn, "vectors", 0, true);
    } else {
        if (lua_getfield(L, OPTS, "field") != LUA_TFUNCTION)
            luaL_error(L, "%s: field (a function f(x, t)) or points and vectors "
                       "are required, got field = %s", fn, luaL_typename(L, -1));
        int fidx = lua_gettop(L);
        int64_t g = opt_res(L, fn, "grid", 20, 200);
        default_limits(&o);
        pts = push_grid(L, fn, &o, g);
        lua_getfield(L, OPTS, "t");
        bool has_t = !lua_isnil(L, -1);
        double t = has_t ? opt_number(L, fn, "t", 0) : 0;
        lua_pop(L, 1);
        vec = call_field(L, fn, "field", fidx, fidx + 1, has_t, t);
        if (vec->ndim != 2 || vec->shape[0] != g * g || vec->shape[1] != 2)
            luaL_error(L, "%s: field returned %s, expected (%d, 2) (one vector "
                       "per grid point)", fn, fmL_pushshape(L, vec), (int)(g * g));
    }
    check(L, fm_plot_quiver(path, &o, pts, vec));
    return 0;
}

static int l_heatmap(lua_State *L)
{
    static const char *fn = "fm.plot.heatmap";
    const char *path = path_of(L, fn);
    fm_plot_opts o;
    read_opts(L, fn, &o);
    o.log = opt_bool(L, fn, "log", false);
    int64_t res = opt_res(L, fn, "res", 200, 2000);
    fm_tensor *samples = opt_tensor(L, fn, "samples", 0, false), *val;
    if (samples) {
        if (!(o.xlim[0] < o.xlim[1]) || !(o.ylim[0] < o.ylim[1])) {
            fm_axes ax = {0, 0, 1, 1, 0, 0, 0, 0, false, false};
            double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
            check(L, fm_check_points(fn + 3, "samples", samples));
            fm_range_points(samples, 0, &xlo, &xhi);
            fm_range_points(samples, 1, &ylo, &yhi);
            fm_axes_limits(&ax, &o, xlo, xhi, ylo, yhi, false);
            o.xlim[0] = ax.x0, o.xlim[1] = ax.x1, o.ylim[0] = ax.y0, o.ylim[1] = ax.y1;
        }
        int64_t shape[1] = {res * res};
        val = fmL_newtensor(L, fn, FM_FLOAT64, 1, shape);
        check(L, fm_plot_hist2d(samples, o.xlim, o.ylim, res, res, val->data));
    } else {
        if (lua_getfield(L, OPTS, "fn") != LUA_TFUNCTION)
            luaL_error(L, "%s: fn (a function f(x)) or samples is required, got "
                       "fn = %s", fn, luaL_typename(L, -1));
        int fidx = lua_gettop(L);
        default_limits(&o);
        push_grid(L, fn, &o, res);
        val = call_field(L, fn, "fn", fidx, fidx + 1, false, 0);
        if (fm_tensor_numel(val) != res * res)
            luaL_error(L, "%s: fn returned %s, expected (%d,) (one value per "
                       "grid point)", fn, fmL_pushshape(L, val), (int)(res * res));
    }
    check(L, fm_plot_heatmap(path, &o, val, res, res));
    return 0;
}

/* ---- curves ------------------------------------------------------------- */

/* The numbers of the value at idx (a flat table or a tensor of any shape)
 * in a new userdata buffer left on the stack. */
static double *push_doubles(lua_State *L, const char *fn, const char *what,
                            int idx, int64_t *n)
{
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 8, fn);
    fm_tensor *t = fmL_testtensor(L, idx);
    if (!t && lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s: %s must be a table of numbers or a tensor, got %s", fn,
                   what, luaL_typename(L, idx));
    *n = t ? fm_tensor_numel(t) : (int64_t)lua_rawlen(L, idx);
    double *d = lua_newuserdatauv(L, sizeof(double) * (size_t)(*n ? *n : 1), 0);
    for (int64_t i = 0; i < *n; i++) {
        if (t) {
            d[i] = fm_tensor_get(t, i);
            continue;
        }
        int isnum;
        lua_rawgeti(L, idx, i + 1);
        d[i] = lua_tonumberx(L, -1, &isnum);
        if (!isnum)
            luaL_error(L, "%s: %s[%d] must be a number, got %s", fn, what, (int)(i + 1),
                       luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    return d;
}

/* One series from the table at idx ({name=, y=, x=}) or from the options. */
static void read_series(lua_State *L, const char *fn, int idx, int k,
                        fm_plot_series *s)
{
    char what[48];
    luaL_checkstack(L, 8, fn);
    snprintf(what, sizeof what, k ? "series[%d].y" : "y", k);
    if (lua_getfield(L, idx, "y") == LUA_TNIL)
        luaL_error(L, "%s: %s is missing", fn, what);
    s->y = push_doubles(L, fn, what, -1, &s->n);
    s->x = NULL;
    if (lua_getfield(L, idx, "x") != LUA_TNIL) {
        int64_t nx;
        snprintf(what, sizeof what, k ? "series[%d].x" : "x", k);
        s->x = push_doubles(L, fn, what, -1, &nx);
        if (nx != s->n)
            luaL_error(L, "%s: %s has %d values but y has %d", fn, what, (int)nx,
                       (int)s->n);
    }
    lua_getfield(L, idx, "name");
    s->name = lua_tostring(L, -1); /* kept on the stack */
}

static int l_curve(lua_State *L)
{
    static const char *fn = "fm.plot.curve";
    const char *path = path_of(L, fn);
    fm_plot_opts o;
    read_opts(L, fn, &o);
    o.ylog = opt_bool(L, fn, "ylog", false);
    o.xlog = opt_bool(L, fn, "xlog", false);
    fm_plot_series s[64];
    int n = 0;
    if (lua_getfield(L, OPTS, "series") == LUA_TTABLE) {
        int sidx = lua_gettop(L);
        n = (int)lua_rawlen(L, sidx);
        if (n < 1 || n > 64)
            luaL_error(L, "%s: series must hold 1 to 64 tables, got %d", fn, n);
        for (int k = 0; k < n; k++) {
            if (lua_rawgeti(L, sidx, k + 1) != LUA_TTABLE)
                luaL_error(L, "%s: series[%d] must be a table {name=, y=}", fn, k + 1);
            read_series(L, fn, lua_gettop(L), k + 1, &s[k]);
        }
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "%s: series must be a table", fn);
    } else {
        read_series(L, fn, OPTS, 0, &s[0]);
        s[0].name = NULL;
        n = 1;
    }
    check(L, fm_plot_curve(path, &o, s, n));
    return 0;
}

/* ---- snapshots, gif, images --------------------------------------------- */

typedef struct {
    const fm_tensor *frames[256];
    double times[256];
    int n;
    bool has_times;
} frame_list;

static void read_frames(lua_State *L, const char *fn, frame_list *fl)
{
    if (lua_getfield(L, OPTS, "frames") != LUA_TTABLE)
        luaL_error(L, "%s: frames must be a table of tensors, got %s", fn,
                   luaL_typename(L, -1));
    int fidx = lua_gettop(L);
    fl->n = (int)lua_rawlen(L, fidx);
    if (fl->n < 1 || fl->n > 256)
        luaL_error(L, "%s: frames must hold 1 to 256 frames, got %d", fn, fl->n);
    for (int i = 0; i < fl->n; i++) {
        char what[32];
        snprintf(what, sizeof what, "frames[%d]", i + 1);
        lua_rawgeti(L, fidx, i + 1);
        fl->frames[i] = top_tensor(L, fn, what);
    }
    fl->has_times = lua_getfield(L, OPTS, "times") != LUA_TNIL;
    if (fl->has_times) {
        int64_t nt;
        double *t = push_doubles(L, fn, "times", -1, &nt);
        if (nt != fl->n)
            luaL_error(L, "%s: times has %d values but frames has %d", fn, (int)nt,
                       fl->n);
        memcpy(fl->times, t, sizeof(double) * (size_t)nt);
    }
}

/* names = {...}: one string per panel (snapshots) or per row (image grids),
 * at most max; the strings stay alive in the names table on the stack */
static void read_names(lua_State *L, const char *fn, fm_plot_opts *o,
                       const char **names, int max)
{
    if (lua_getfield(L, OPTS, "names") == LUA_TTABLE) {
        int n = (int)lua_rawlen(L, -1);
        if (n > max)
            luaL_error(L, "%s: at most %d names, got %d", fn, max, n);
        for (int i = 0; i < n; i++) {
            names[i] = lua_rawgeti(L, -1, i + 1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
            if (!names[i])
                luaL_error(L, "%s: names[%d] must be a string", fn, i + 1);
            lua_pop(L, 1);
        }
        o->names = names;
        o->nnames = n;
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "%s: names must be a table of strings", fn);
    }
}

static int l_snapshots(lua_State *L)
{
    static const char *fn = "fm.plot.snapshots";
    const char *path = path_of(L, fn);
    fm_plot_opts o;
    read_opts(L, fn, &o);
    frame_list fl;
    read_frames(L, fn, &fl);
    if (fl.n > 64)
        luaL_error(L, "%s: at most 64 frames in a row, got %d", fn, fl.n);
    const char *names[64];
    read_names(L, fn, &o, names, 64);
    if (o.names && o.nnames != fl.n)
        luaL_error(L, "%s: names has %d entries but frames has %d", fn, o.nnames, fl.n);
    fm_tensor *ref = opt_tensor(L, fn, "reference", 0, false);
    check(L, fm_plot_snapshots(path, &o, fl.frames, fl.n,
                               fl.has_times ? fl.times : NULL, ref));
    return 0;
}

static int l_gif(lua_State *L)
{
    static const char *fn = "fm.plot.gif";
    const char *path = path_of(L, fn);
    fm_plot_opts o;
    read_opts(L, fn, &o);
    frame_list fl;
    read_frames(L, fn, &fl);
    fm_tensor *ref = opt_tensor(L, fn, "reference", 0, false);
    double delay = opt_number(L, fn, "delay", 5);
    if (delay != floor(delay) || delay < 0 || delay > 65535)
        luaL_error(L, "%s: delay must be an integer number of 1/100 s", fn);
    check(L, fm_plot_gif(path, &o, fl.frames, fl.n, fl.has_times ? fl.times : NULL,
                         ref, (int)delay));
    return 0;
}

static int l_images(lua_State *L)
{
    static const char *fn = "fm.plot.images";
    const char *path = path_of(L, fn);
    fm_plot_opts o;
    read_opts(L, fn, &o);
    fm_tensor *im = main_tensor(L, fn, "images");
    int64_t cols = opt_res(L, fn, "cols", 8, 1024);
    const char *names[256];
    read_names(L, fn, &o, names, 256);
    check(L, fm_plot_images(path, &o, im, (int)cols));
    return 0;
}

/* fm.plot.images_gif{path, frames = {images, ...}, times =, cols =, names =,
 * title =, delay =}: each frame an image grid as fm.plot.images */
static int l_images_gif(lua_State *L)
{
    static const char *fn = "fm.plot.images_gif";
    const char *path = path_of(L, fn);
    fm_plot_opts o;
    read_opts(L, fn, &o);
    frame_list fl;
    read_frames(L, fn, &fl);
    int64_t cols = opt_res(L, fn, "cols", 8, 1024);
    const char *names[256];
    read_names(L, fn, &o, names, 256);
    double delay = opt_number(L, fn, "delay", 10);
    if (delay != floor(delay) || delay < 0 || delay > 65535)
        luaL_error(L, "%s: delay must be an integer number of 1/100 s", fn);
    check(L, fm_plot_images_gif(path, &o, fl.frames, fl.n, fl.has_times ? fl.times : NULL,
                                (int)cols, (int)delay));
    return 0;
}

void fmL_open_plot(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"scatter", l_scatter},   {"trajectories", l_trajectories},
        {"quiver", l_quiver},     {"heatmap", l_heatmap},
        {"curve", l_curve},       {"snapshots", l_snapshots},
        {"images", l_images},     {"gif", l_gif},
        {"images_gif", l_images_gif},
        {NULL, NULL}};
    fmL_submodule(L, "plot", funcs);
}
