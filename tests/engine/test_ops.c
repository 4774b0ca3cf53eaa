/* test_ops.c — every op of engine/ops.h against naive double-precision
 * reference loops, on random shapes and on contiguous, strided, transposed
 * and zero-stride (broadcast) views; error paths return the right status. */
#include "ops/ops.h"
#include "core/view.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, checks;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        checks++;                                                         \
        if (!(cond)) {                                                    \
            failures++;                                                   \
            if (failures < 40) {                                          \
                printf("FAIL %s:%d: ", __FILE__, __LINE__);               \
                printf(__VA_ARGS__);                                      \
                printf("\n");                                             \
            }                                                             \
        }                                                                 \
    } while (0)

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static double rnd_unif(double lo, double hi)
{
    return lo + (hi - lo) * (double)(rnd_u64() >> 11) / 9007199254740992.0;
}
static int64_t rnd_int(int64_t lo, int64_t hi) { return lo + (int64_t)(rnd_u64() % (uint64_t)(hi - lo + 1)); }

/* Every buffer the tests allocate, freed at exit. */
static void *bufs[16384];
static int nbufs;
static void *tmalloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    bufs[nbufs++] = p;
    return p;
}
static void free_all(void)
{
    for (int i = 0; i < nbufs; i++)
        free(bufs[i]);
    nbufs = 0;
}

enum { CONTIG, STRIDED, TRANSPOSED, BROADCAST, NKIND };

/* A tensor of shape (ndim, shape) laid out as kind, filled with uniform
 * values in [lo, hi] (int64: rounded). BROADCAST makes one dim stride 0. */
static fm_tensor make(fm_dtype dt, int ndim, const int64_t *shape, int kind,
                      double lo, double hi)
{
    int64_t big[FM_MAX_DIMS];
    memcpy(big, shape, sizeof(int64_t) * (size_t)ndim);
    int bdim = -1;
    if (kind == BROADCAST)
        for (int i = 0; i < ndim; i++)
            if (shape[i] > 1 && (bdim < 0 || rnd_u64() % 2))
                bdim = i;
    if (bdim >= 0)
        big[bdim] = 1;
    if (kind == STRIDED && ndim > 0)
        big[ndim - 1] = 2 * shape[ndim - 1] + 1;
    if (kind == TRANSPOSED && ndim >= 2) {
        big[ndim - 1] = shape[ndim - 2];
        big[ndim - 2] = shape[ndim - 1];
    }
    fm_tensor base, t;
    size_t nb;
    fm_shape_nbytes(dt, ndim, big, &nb);
    fm_tensor_init(&base, tmalloc(nb), dt, ndim, big);
    int64_t n = fm_tensor_numel(&base);
    for (int64_t i = 0; i < n; i++) {
        double v = rnd_unif(lo, hi);
        fm_tensor_set(&base, i, dt == FM_INT64 ? round(v) : v);
    }
    t = base;
    if (kind == STRIDED && ndim > 0) {
        t.shape[ndim - 1] = shape[ndim - 1];
        t.stride[ndim - 1] = 2;
    } else if (kind == TRANSPOSED && ndim >= 2) {
        fm_view_transpose(&base, ndim - 2, ndim - 1, &t);
    } else if (bdim >= 0) {
        t.shape[bdim] = shape[bdim];
        t.stride[bdim] = 0;
    }
    return t;
}

static fm_tensor zeros(fm_dtype dt, int ndim, const int64_t *shape)
{
    size_t nb;
    fm_tensor t;
    fm_shape_nbytes(dt, ndim, shape, &nb);
    fm_tensor_init(&t, tmalloc(nb), dt, ndim, shape);
    return t;
}

/* Element of t read at the multi-index of flat index i in (ndim, shape),
 * with NumPy broadcasting (aligned at the last dim). */
static double bget(const fm_tensor *t, int ndim, const int64_t *shape, int64_t i)
{
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; d--) {
        int64_t k = i % shape[d];
        i /= shape[d];
        int td = d - (ndim - t->ndim);
        if (td >= 0 && t->shape[td] != 1)
            off += k * t->stride[td];
    }
    switch (t->dtype) {
    case FM_FLOAT32: return ((float *)t->data)[off];
    case FM_FLOAT64: return ((double *)t->data)[off];
    case FM_INT64: return (double)((int64_t *)t->data)[off];
    case FM_UINT8: return ((uint8_t *)t->data)[off];
    }
    return NAN;
}

static double round_to(fm_dtype dt, double v) { return dt == FM_FLOAT32 ? (double)(float)v : v; }

/* |got - want| <= atol + rtol |want|; NaN matches NaN, inf matches inf. */
static bool near(double got, double want, double rtol, double atol)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= atol + rtol * fabs(want);
}

static void random_shape(int *ndim, int64_t *shape, int maxdim, int64_t maxsize)
{
    *ndim = (int)rnd_int(0, maxdim);
    for (int i = 0; i < *ndim; i++)
        shape[i] = rnd_int(rnd_u64() % 8 == 0 ? 0 : 1, maxsize);
}

/* A shape that broadcasts with shape: some dims set to 1, some leading dims dropped. */
static void bcast_partner(int ndim, const int64_t *shape, int *nd2, int64_t *s2)
{
    int drop = ndim > 0 ? (int)rnd_int(0, ndim) : 0;
    if (rnd_u64() % 2)
        drop = 0;
    *nd2 = ndim - drop;
    for (int i = 0; i < *nd2; i++)
        s2[i] = rnd_u64() % 3 == 0 ? 1 : shape[i + drop];
}

/* ---- binary ------------------------------------------------------------- */

static double ref_binop(fm_binop op, double x, double y)
{
    switch (op) {
    case FM_ADD: return x + y;
    case FM_SUB: return x - y;
    case FM_MUL: return x * y;
    case FM_DIV: return x / y;
    case FM_POW: return pow(x, y);
    case FM_MAXIMUM: return isnan(x) || isnan(y) ? NAN : fmax(x, y);
    case FM_MINIMUM: return isnan(x) || isnan(y) ? NAN : fmin(x, y);
    case FM_ATAN2: return atan2(x, y);
    case FM_EQ: return x == y;
    case FM_NE: return x != y;
    case FM_LT: return x < y;
    case FM_LE: return x <= y;
    case FM_GT: return x > y;
    case FM_GE: return x >= y;
    default: return NAN;
    }
}

static void test_binary(void)
{
    fm_dtype dts[3] = {FM_FLOAT32, FM_FLOAT64, FM_INT64};
    for (int trial = 0; trial < 600; trial++) {
        fm_dtype dt = dts[trial % 3];
        fm_binop op = (fm_binop)rnd_int(0, FM_BINOP_COUNT - 1);
        if (dt == FM_INT64 && (op == FM_DIV || op == FM_POW || op == FM_ATAN2))
            op = FM_MUL;
        int nd, nd2;
        int64_t sh[FM_MAX_DIMS], sh2[FM_MAX_DIMS];
        random_shape(&nd, sh, 4, 7);
        bcast_partner(nd, sh, &nd2, sh2);
        double lo = op == FM_POW ? 0.1 : -3, hi = 3;
        fm_tensor a = make(dt, nd, sh, (int)rnd_int(0, NKIND - 1), lo, hi);
        fm_tensor b = make(dt, nd2, sh2, (int)rnd_int(0, NKIND - 1), -3, 3);
        bool swap = rnd_u64() % 2;
        const fm_tensor *x = swap ? &b : &a, *y = swap ? &a : &b;
        if (op == FM_POW && swap)
            x = &a, y = &b;
        int ondim;
        int64_t osh[FM_MAX_DIMS];
        CHECK(fm_broadcast_shape(x, y, &ondim, osh) == FM_OK, "broadcast_shape");
        fm_tensor out = make(dt, ondim, osh, (int)rnd_int(0, 2), 0, 0);
        fm_status st = fm_binary(op, x, y, &out);
        CHECK(st == FM_OK, "binary %s: %s", fm_binop_name(op), fm_last_error());
        int64_t n = fm_tensor_numel(&out);
        double rtol = dt == FM_FLOAT32 ? 3e-7 : 2e-16;
        for (int64_t i = 0; i < n; i++) {
            double want = ref_binop(op, bget(x, ondim, osh, i), bget(y, ondim, osh, i));
            double got = bget(&out, ondim, osh, i);
            want = dt == FM_INT64 ? want : round_to(dt, want);
            CHECK(near(got, want, rtol, 0), "binary %s %s: %g vs %g", fm_binop_name(op),
                  fm_dtype_name(dt), got, want);
        }
        /* scalar operand, both orders */
        double s = dt == FM_INT64 ? 2 : rnd_unif(0.5, 2);
        if (op == FM_POW && trial % 2)
            s = 2;
        bool first = op != FM_POW && rnd_u64() % 2;
        fm_tensor out2 = zeros(dt, a.ndim, a.shape);
        st = fm_binary_scalar(op, &a, s, first, &out2);
        CHECK(st == FM_OK, "binary_scalar %s: %s", fm_binop_name(op), fm_last_error());
        double sv = dt == FM_FLOAT32 ? (double)(float)s : s;
        for (int64_t i = 0; i < fm_tensor_numel(&a); i++) {
            double av = bget(&a, a.ndim, a.shape, i);
            double want = first ? ref_binop(op, sv, av) : ref_binop(op, av, sv);
            want = dt == FM_INT64 ? want : round_to(dt, want);
            CHECK(near(bget(&out2, a.ndim, a.shape, i), want, rtol, 0),
                  "binary_scalar %s", fm_binop_name(op));
        }
    }
    /* in place: out aliases a */
    int64_t sh[2] = {33, 17};
    fm_tensor a = make(FM_FLOAT32, 2, sh, CONTIG, -1, 1), b = make(FM_FLOAT32, 1, sh + 1, CONTIG, -1, 1);
    double before = bget(&a, 2, sh, 40), bb = bget(&b, 2, sh, 40);
    CHECK(fm_binary(FM_ADD, &a, &b, &a) == FM_OK, "in place");
    CHECK(bget(&a, 2, sh, 40) == (double)(float)(before + bb), "in place value");
    /* row broadcast (n, 1) */
    int64_t col[2] = {33, 1};
    fm_tensor c = make(FM_FLOAT32, 2, col, CONTIG, -1, 1), o = zeros(FM_FLOAT32, 2, sh);
    CHECK(fm_binary(FM_MUL, &a, &c, &o) == FM_OK, "(n,d)*(n,1)");
    CHECK(bget(&o, 2, sh, 5 * 17 + 3) == (double)(float)(bget(&a, 2, sh, 5 * 17 + 3) * bget(&c, 2, col, 5)),
          "(n,d)*(n,1) value");
    /* errors */
    fm_tensor d = make(FM_FLOAT64, 1, sh + 1, CONTIG, -1, 1);
    CHECK(fm_binary(FM_ADD, &a, &d, &o) == FM_ETYPE, "mixed dtypes");
    CHECK(strstr(fm_last_error(), "add") != NULL, "message names op: %s", fm_last_error());
    int64_t bad[1] = {5};
    fm_tensor e = make(FM_FLOAT32, 1, bad, CONTIG, -1, 1);
    CHECK(fm_binary(FM_SUB, &a, &e, &o) == FM_ESHAPE, "bad broadcast");
    CHECK(strstr(fm_last_error(), "(33, 17)") && strstr(fm_last_error(), "(5,)"),
          "message names shapes: %s", fm_last_error());
    fm_tensor ia = make(FM_INT64, 2, sh, CONTIG, -5, 5), io = zeros(FM_INT64, 2, sh);
    CHECK(fm_binary(FM_DIV, &ia, &ia, &io) == FM_ETYPE, "int64 div");
    CHECK(fm_binary_scalar(FM_ADD, &ia, 0.5, false, &io) == FM_EVALUE, "int64 + 0.5");
}

/* ---- unary -------------------------------------------------------------- */

static double sigm(double x) { return 1 / (1 + exp(-x)); }

static double ref_unop(fm_unop op, double x)
{
    const double c = sqrt(2 / M_PI), k = 0.044715;
    double t;
    switch (op) {
    case FM_NEG: return -x;
    case FM_EXP: return exp(x);
    case FM_LOG: return log(x);
    case FM_SQRT: return sqrt(x);
    case FM_SIN: return sin(x);
    case FM_COS: return cos(x);
    case FM_TANH: return tanh(x);
    case FM_SIGMOID: return sigm(x);
    case FM_SILU: return x * sigm(x);
    case FM_RELU: return x > 0 ? x : 0;
    case FM_GELU: return 0.5 * x * (1 + tanh(c * (x + k * x * x * x)));
    case FM_SOFTPLUS: return log1p(exp(x));
    case FM_ABS: return fabs(x);
    case FM_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case FM_SQUARE: return x * x;
    case FM_RECIPROCAL: return 1 / x;
    case FM_LOG1P: return log1p(x);
    case FM_EXPM1: return expm1(x);
    case FM_FLOOR: return floor(x);
    case FM_CEIL: return ceil(x);
    case FM_ROUND: return nearbyint(x);
    case FM_SIGMOID_GRAD: return sigm(x) * (1 - sigm(x));
    case FM_SILU_GRAD: return sigm(x) * (1 + x * (1 - sigm(x)));
    case FM_GELU_GRAD:
        t = tanh(c * (x + k * x * x * x));
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * k * x * x);
    case FM_TANH_GRAD: return 1 - tanh(x) * tanh(x);
    case FM_RELU_GRAD: return x > 0;
    case FM_SOFTPLUS_GRAD: return sigm(x);
    case FM_ISNAN: return isnan(x);
    case FM_ISFINITE: return isfinite(x);
    default: return NAN;
    }
}

static void test_unary(void)
{
    for (int trial = 0; trial < 400; trial++) {
        fm_dtype dt = trial % 2 ? FM_FLOAT64 : FM_FLOAT32;
        fm_unop op = (fm_unop)(trial / 2 % FM_UNOP_COUNT);
        bool pos = op == FM_LOG || op == FM_SQRT;
        int nd;
        int64_t sh[FM_MAX_DIMS];
        random_shape(&nd, sh, 3, 40);
        fm_tensor a = make(dt, nd, sh, (int)rnd_int(0, NKIND - 1), pos ? 0.01 : -8, 8);
        fm_tensor out = make(dt, nd, sh, (int)rnd_int(0, 2), 0, 0);
        CHECK(fm_unary(op, &a, &out) == FM_OK, "unary %s: %s", fm_unop_name(op), fm_last_error());
        /* float32: vectorised polynomials within a few ulp of the value
         * computed in double from the same float input; derivative formulas
         * that subtract (gelu_grad, tanh_grad) get an absolute slack */
        double rtol = dt == FM_FLOAT32 ? 4e-7 : 4e-15, atol = dt == FM_FLOAT32 ? 1e-7 : 1e-15;
        if (op == FM_GELU_GRAD || op == FM_TANH_GRAD || op == FM_SILU_GRAD || op == FM_GELU
            || op == FM_SIGMOID_GRAD)
            atol *= 8;
        int64_t n = fm_tensor_numel(&a);
        for (int64_t i = 0; i < n; i++) {
            double x = bget(&a, nd, sh, i);
            double want = round_to(dt, ref_unop(op, x)), got = bget(&out, nd, sh, i);
            CHECK(near(got, want, rtol, atol), "unary %s %s x=%.9g: %.9g vs %.9g",
                  fm_unop_name(op), fm_dtype_name(dt), x, got, want);
        }
        /* in place */
        fm_tensor c = make(dt, nd, sh, CONTIG, pos ? 0.01 : -8, 8);
        fm_tensor cc = zeros(dt, nd, sh);
        fm_copy(&cc, &c);
        CHECK(fm_unary(op, &c, &c) == FM_OK, "unary in place");
        for (int64_t i = 0; i < n; i++)
            CHECK(near(bget(&c, nd, sh, i), round_to(dt, ref_unop(op, bget(&cc, nd, sh, i))), rtol, atol),
                  "unary in place %s", fm_unop_name(op));
    }
    int64_t four[1] = {4};
    fm_tensor ia = make(FM_INT64, 1, four, CONTIG, -5, 5), io = zeros(FM_INT64, 1, four);
    CHECK(fm_unary(FM_ABS, &ia, &io) == FM_OK, "int64 abs");
    for (int i = 0; i < 4; i++)
        CHECK(bget(&io, 1, four, i) == fabs(bget(&ia, 1, four, i)), "int64 abs value");
    CHECK(fm_unary(FM_EXP, &ia, &io) == FM_ETYPE && strstr(fm_last_error(), "exp"), "int64 exp");
}

/* ulp distance of float f from the correctly rounded double r. */
static double ulps(float f, double r)
{
    float rf = (float)r;
    if (isnan(r))
        return isnan(f) ? 0 : 1e9;
    if (isinf(rf) || f == rf)
        return f == rf ? 0 : 1e9;
    double u = (double)nextafterf(fabsf(rf), INFINITY) - fabs((double)rf);
    if (fabsf(rf) < FLT_MIN)
        u = 1.4e-45;
    return fabs((double)f - r) / u;
}

/* Dense sweeps of the float32 transcendental functions (ops_vmath.h). */
static void test_vmath_accuracy(void)
{
    struct { fm_unop op; double lo, hi, maxulp, atol; } cases[] = {
        {FM_EXP, -103, 88.7, 2, 0},  {FM_LOG, 1e-30, 1e30, 2, 0},
        {FM_LOG, 0.5, 2, 2, 0},      {FM_TANH, -10, 10, 3, 0},
        {FM_SIGMOID, -80, 80, 3, 0}, {FM_SIN, -100, 100, 2, 6e-8},
        {FM_COS, -100, 100, 2, 6e-8}, {FM_SILU, -20, 20, 3, 0},
    };
    int64_t n[1] = {200000};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fm_tensor a = zeros(FM_FLOAT32, 1, n), o = zeros(FM_FLOAT32, 1, n);
        float *x = a.data;
        bool logscale = cases[c].op == FM_LOG && cases[c].lo < 1e-3;
        for (int64_t i = 0; i < n[0]; i++) {
            double t = (double)i / (double)(n[0] - 1);
            x[i] = (float)(logscale ? cases[c].lo * pow(cases[c].hi / cases[c].lo, t)
                                    : cases[c].lo + t * (cases[c].hi - cases[c].lo));
        }
        fm_unary(cases[c].op, &a, &o);
        double worst = 0;
        const float *y = o.data;
        for (int64_t i = 0; i < n[0]; i++) {
            double r = ref_unop(cases[c].op, x[i]);
            if (fabs(y[i] - r) <= cases[c].atol)
                continue;
            double u = ulps(y[i], r);
            if (u > worst)
                worst = u;
        }
        printf("  %-8s float32 on [%g, %g]: max error %.2f ulp\n", fm_unop_name(cases[c].op),
               cases[c].lo, cases[c].hi, worst);
        CHECK(worst <= cases[c].maxulp, "%s float32: max error %.2f ulp > %.1f",
              fm_unop_name(cases[c].op), worst, cases[c].maxulp);
    }
    /* special values */
    float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 88.8f, -88.0f, -100.0f, 1e-40f,
                  -1.0f, 1e6f, -3e5f, 1e-20f, 50.0f};
    int64_t ns[1] = {sizeof sp / sizeof sp[0]};
    fm_tensor a = zeros(FM_FLOAT32, 1, ns), o = zeros(FM_FLOAT32, 1, ns);
    memcpy(a.data, sp, sizeof sp);
    fm_unop ops[] = {FM_EXP, FM_LOG, FM_TANH, FM_SIGMOID, FM_SIN, FM_COS, FM_SOFTPLUS, FM_SILU};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        fm_unary(ops[k], &a, &o);
        for (int64_t i = 0; i < ns[0]; i++) {
            double r = ref_unop(ops[k], sp[i]);
            if (ops[k] == FM_SOFTPLUS)
                r = sp[i] > 30 ? sp[i] : r;
            float got = ((float *)o.data)[i];
            CHECK(ulps(got, r) <= 3 || fabs(got - r) < 1e-38,
                  "%s(%g) = %.9g, want %.9g", fm_unop_name(ops[k]), (double)sp[i], (double)got, r);
        }
    }
}

/* ---- reductions --------------------------------------------------------- */

static double ref_reduce(fm_reduceop op, double p, const double *x, int64_t n)
{
    double s = 0, m, r;
    switch (op) {
    case FM_SUM: for (int64_t i = 0; i < n; i++) s += x[i]; return s;
    case FM_MEAN: for (int64_t i = 0; i < n; i++) s += x[i]; return s / (double)n;
    case FM_PROD: s = 1; for (int64_t i = 0; i < n; i++) s *= x[i]; return s;
    case FM_MAX: m = -INFINITY; for (int64_t i = 0; i < n; i++) m = fmax(m, x[i]); return m;
    case FM_MIN: m = INFINITY; for (int64_t i = 0; i < n; i++) m = fmin(m, x[i]); return m;
    case FM_VAR:
        for (int64_t i = 0; i < n; i++) s += x[i];
        m = s / (double)n;
        r = 0;
        for (int64_t i = 0; i < n; i++) r += (x[i] - m) * (x[i] - m);
        return r / ((double)n - p);
    case FM_NORM:
        if (isinf(p)) { m = 0; for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(x[i])); return m; }
        for (int64_t i = 0; i < n; i++) s += pow(fabs(x[i]), p);
        return pow(s, 1 / p);
    case FM_LOGSUMEXP:
        m = -INFINITY;
        for (int64_t i = 0; i < n; i++) m = fmax(m, x[i]);
        if (isinf(m)) return m;
        for (int64_t i = 0; i < n; i++) s += exp(x[i] - m);
        return m + log(s);
    default: return NAN;
    }
}

static void test_reduce(void)
{
    double *vals = tmalloc(sizeof(double) * 8192);
    for (int trial = 0; trial < 500; trial++) {
        fm_dtype dt = trial % 5 == 4 ? FM_INT64 : trial % 2 ? FM_FLOAT64 : FM_FLOAT32;
        fm_reduceop op = (fm_reduceop)rnd_int(0, FM_REDUCEOP_COUNT - 1);
        if (dt == FM_INT64)
            op = (fm_reduceop[]){FM_SUM, FM_MAX, FM_MIN, FM_PROD}[trial % 4];
        double p = op == FM_VAR ? (double)(trial % 2) : op == FM_NORM
                   ? (double[]){1, 2, 3, INFINITY}[trial % 4] : 0;
        int nd;
        int64_t sh[FM_MAX_DIMS];
        random_shape(&nd, sh, 4, 9);
        for (int i = 0; i < nd; i++)
            if (sh[i] == 0 && (op == FM_MAX || op == FM_MIN))
                sh[i] = 1;
        int dim = (int)rnd_int(-1, nd - 1);
        fm_tensor a = make(dt, nd, sh, (int)rnd_int(0, NKIND - 1),
                           op == FM_PROD ? 0.5 : -3, op == FM_PROD ? 1.5 : 3);
        int ond;
        int64_t osh[FM_MAX_DIMS];
        CHECK(fm_reduce_shape(&a, dim, trial % 3 == 0, &ond, osh) == FM_OK, "reduce_shape");
        fm_tensor out = zeros(dt, ond, osh);
        fm_status st = fm_reduce(op, &a, dim, p, &out);
        CHECK(st == FM_OK, "reduce %s: %s", fm_reduceop_name(op), fm_last_error());
        /* reference: bucket the elements by output index (row-major over
         * the kept dims), keeping their order, then reduce each bucket */
        int64_t nout = fm_tensor_numel(&out), r = dim < 0 ? fm_tensor_numel(&a) : sh[dim];
        int64_t na = fm_tensor_numel(&a);
        int64_t *oidx = tmalloc(sizeof(int64_t) * (size_t)(na + 1));
        int64_t *start = tmalloc(sizeof(int64_t) * (size_t)(nout + 2));
        for (int64_t i = 0; i < na; i++) {
            int64_t rem = i, oi = 0, mul = 1;
            for (int d = nd - 1; d >= 0; d--) {
                int64_t c = rem % sh[d];
                rem /= sh[d];
                if (dim >= 0 && d != dim) {
                    oi += c * mul;
                    mul *= sh[d];
                }
            }
            oidx[i] = oi;
            start[oi + 1]++;
        }
        for (int64_t o = 0; o < nout; o++)
            start[o + 1] += start[o];
        int64_t *fillp = tmalloc(sizeof(int64_t) * (size_t)(nout + 1));
        for (int64_t i = 0; i < na; i++)
            vals[start[oidx[i]] + fillp[oidx[i]]++] = bget(&a, nd, sh, i);
        double *ref = tmalloc(sizeof(double) * (size_t)(nout + 1));
        for (int64_t o = 0; o < nout; o++) {
            CHECK(start[o + 1] - start[o] == r, "lane length");
            ref[o] = ref_reduce(op, p, vals + start[o], r);
        }
        for (int64_t o = 0; st == FM_OK && o < nout; o++) {
            double got = bget(&out, ond, osh, o), want = ref[o];
            if (dt == FM_INT64) {
                CHECK(got == want, "int64 %s: %g vs %g", fm_reduceop_name(op), got, want);
                continue;
            }
            /* double accumulation: only the final rounding to dt, plus a
             * little for var/norm/logsumexp formulas */
            double rtol = dt == FM_FLOAT32 ? 2e-7 : 1e-13;
            CHECK(near(got, round_to(dt, want), rtol, 1e-12),
                  "reduce %s %s dim %d p %g: %.10g vs %.10g", fm_reduceop_name(op),
                  fm_dtype_name(dt), dim, p, got, want);
        }
    }
    /* empty reductions */
    int64_t e[2] = {0, 3}, three[1] = {3};
    fm_tensor a = zeros(FM_FLOAT32, 2, e), o = zeros(FM_FLOAT32, 1, three);
    CHECK(fm_reduce(FM_SUM, &a, 0, 0, &o) == FM_OK && bget(&o, 1, three, 2) == 0, "empty sum");
    CHECK(fm_reduce(FM_PROD, &a, 0, 0, &o) == FM_OK && bget(&o, 1, three, 2) == 1, "empty prod");
    CHECK(fm_reduce(FM_MEAN, &a, 0, 0, &o) == FM_OK && isnan(bget(&o, 1, three, 2)), "empty mean");
    CHECK(fm_reduce(FM_MAX, &a, 0, 0, &o) == FM_EVALUE, "empty max");
    CHECK(fm_reduce(FM_SUM, &a, 2, 0, &o) == FM_EINDEX, "bad dim");
    CHECK(fm_reduce(FM_SUM, &a, 1, 0, &o) == FM_ESHAPE, "bad out: %s", fm_last_error());
    /* big contiguous sum over dim 0 (bias gradient) and all */
    int64_t big[2] = {1000, 37}, bd[1] = {37};
    fm_tensor b = make(FM_FLOAT32, 2, big, CONTIG, 0, 1), bo = zeros(FM_FLOAT32, 1, bd);
    CHECK(fm_reduce(FM_SUM, &b, 0, 0, &bo) == FM_OK, "sum dim 0");
    for (int j = 0; j < 37; j++) {
        double s = 0;
        for (int i = 0; i < 1000; i++)
            s += ((float *)b.data)[i * 37 + j];
        CHECK(bget(&bo, 1, bd, j) == (double)(float)s, "sum dim 0 value");
    }
}

static void test_argreduce(void)
{
    int64_t sh[2] = {3, 4}, s3[1] = {3}, s1[1] = {1};
    fm_tensor a = zeros(FM_FLOAT64, 2, sh);
    double v[12] = {1, 5, 5, 2, NAN, 0, 7, NAN, -1, -1, -3, -3};
    memcpy(a.data, v, sizeof v);
    fm_tensor o = zeros(FM_INT64, 1, s3);
    CHECK(fm_argreduce(true, &a, 1, 1, &o) == FM_OK, "argmax");
    CHECK(bget(&o, 1, s3, 0) == 2 && bget(&o, 1, s3, 1) == 1 && bget(&o, 1, s3, 2) == 1,
          "argmax values (first wins, NaN largest)");
    CHECK(fm_argreduce(false, &a, 1, 0, &o) == FM_OK, "argmin");
    CHECK(bget(&o, 1, s3, 0) == 0 && bget(&o, 1, s3, 1) == 1 && bget(&o, 1, s3, 2) == 2,
          "argmin values");
    fm_tensor t;
    fm_view_transpose(&a, 0, 1, &t);
    fm_tensor o1 = zeros(FM_INT64, 0, s1);
    CHECK(fm_argreduce(false, &t, -1, 0, &o1) == FM_OK, "argmin all");
    CHECK(bget(&o1, 0, s1, 0) == 8, "argmin flat index in the transposed view: %g", bget(&o1, 0, s1, 0));
    fm_tensor bad = zeros(FM_FLOAT64, 1, s3);
    CHECK(fm_argreduce(true, &a, 1, 0, &bad) == FM_ETYPE, "argmax out dtype");
}

static void test_sum_to(void)
{
    for (int trial = 0; trial < 200; trial++) {
        fm_dtype dt = trial % 2 ? FM_FLOAT64 : FM_FLOAT32;
        int nd, ond;
        int64_t sh[FM_MAX_DIMS], osh[FM_MAX_DIMS];
        random_shape(&nd, sh, 4, 8);
        bcast_partner(nd, sh, &ond, osh);
        fm_tensor a = make(dt, nd, sh, (int)rnd_int(0, NKIND - 1), -2, 2);
        fm_tensor out = make(dt, ond, osh, (int)rnd_int(0, 2), 0, 0);
        CHECK(fm_sum_to(&a, &out) == FM_OK, "sum_to: %s", fm_last_error());
        int64_t no = fm_tensor_numel(&out), na = fm_tensor_numel(&a);
        double *ref = tmalloc(sizeof(double) * (size_t)(no + 1));
        /* out index of a's element i: a's multi-index clipped to out's dims */
        for (int64_t i = 0; i < na; i++) {
            int64_t rem = i, oi = 0, mul = 1;
            for (int d = nd - 1; d >= 0; d--) {
                int64_t k = rem % sh[d];
                rem /= sh[d];
                int od = d - (nd - ond);
                if (od >= 0) {
                    oi += (osh[od] == 1 ? 0 : k) * mul;
                    mul *= osh[od];
                }
            }
            ref[oi] += bget(&a, nd, sh, i);
        }
        for (int64_t o = 0; o < no; o++)
            CHECK(near(bget(&out, ond, osh, o), round_to(dt, ref[o]), dt == FM_FLOAT32 ? 2e-7 : 1e-14, 1e-12),
                  "sum_to value");
    }
    int64_t sh[2] = {4, 3}, bad[1] = {4};
    fm_tensor a = zeros(FM_FLOAT32, 2, sh), o = zeros(FM_FLOAT32, 1, bad);
    CHECK(fm_sum_to(&a, &o) == FM_ESHAPE, "sum_to bad shape");
}

static void test_softmax(void)
{
    for (int trial = 0; trial < 100; trial++) {
        fm_dtype dt = trial % 2 ? FM_FLOAT64 : FM_FLOAT32;
        bool lg = trial % 4 >= 2;
        int nd;
        int64_t sh[FM_MAX_DIMS];
        random_shape(&nd, sh, 3, 7);
        int dim = nd > 0 ? (int)rnd_int(0, nd - 1) : 0;
        /* offset by 1000: a naive exp would overflow */
        fm_tensor a = make(dt, nd, sh, (int)rnd_int(0, NKIND - 1), 995, 1005);
        fm_tensor out = make(dt, nd, sh, (int)rnd_int(0, 2), 0, 0);
        CHECK(fm_softmax(&a, dim, lg, &out) == FM_OK, "softmax: %s", fm_last_error());
        int64_t n = fm_tensor_numel(&a);
        for (int64_t i = 0; i < n; i++) {
            /* reference over the lane of i */
            int64_t idx[FM_MAX_DIMS], rem = i;
            for (int d = nd - 1; d >= 0; d--) {
                idx[d] = rem % sh[d];
                rem /= sh[d];
            }
            int64_t len = nd > 0 ? sh[dim] : 1, stride = 1;
            for (int d = nd - 1; d > dim; d--)
                stride *= sh[d];
            int64_t first = nd > 0 ? i - idx[dim] * stride : 0;
            double m = -INFINITY, s = 0, x = bget(&a, nd, sh, i);
            for (int64_t j = 0; j < len; j++)
                m = fmax(m, bget(&a, nd, sh, first + j * stride));
            for (int64_t j = 0; j < len; j++)
                s += exp(bget(&a, nd, sh, first + j * stride) - m);
            double want = lg ? x - m - log(s) : exp(x - m) / s;
            CHECK(near(bget(&out, nd, sh, i), round_to(dt, want), dt == FM_FLOAT32 ? 3e-7 : 1e-14, 1e-15),
                  "softmax value %g vs %g", bget(&out, nd, sh, i), want);
        }
    }
}

/* ---- linear algebra ----------------------------------------------------- */

static void test_gemm(void)
{
    for (int trial = 0; trial < 300; trial++) {
        fm_dtype dt = trial % 2 ? FM_FLOAT64 : FM_FLOAT32;
        int64_t n = rnd_int(0, 9), m = rnd_int(0, 9), k = rnd_int(0, 9);
        bool ta = rnd_u64() % 2, tb = rnd_u64() % 2;
        int64_t ash[2] = {ta ? k : n, ta ? n : k}, bsh[2] = {tb ? m : k, tb ? k : m}, osh[2] = {n, m};
        fm_tensor a = make(dt, 2, ash, (int)rnd_int(0, NKIND - 1), -1, 1);
        fm_tensor b = make(dt, 2, bsh, (int)rnd_int(0, NKIND - 1), -1, 1);
        fm_tensor o = make(dt, 2, osh, (int)rnd_int(0, 2), -1, 1);
        double alpha = rnd_unif(-2, 2), beta = trial % 3 == 0 ? 0 : rnd_unif(-1, 1);
        double *o0 = tmalloc(sizeof(double) * (size_t)(n * m + 1));
        for (int64_t i = 0; i < n * m; i++)
            o0[i] = bget(&o, 2, osh, i);
        CHECK(fm_gemm(&a, &b, ta, tb, alpha, beta, &o) == FM_OK, "gemm: %s", fm_last_error());
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < m; j++) {
                double s = 0, sabs = 0;
                for (int64_t l = 0; l < k; l++) {
                    double x = bget(&a, 2, ash, ta ? l * n + i : i * k + l);
                    double y = bget(&b, 2, bsh, tb ? j * k + l : l * m + j);
                    s += x * y;
                    sabs += fabs(x * y);
                }
                double want = alpha * s + (beta == 0 ? 0 : beta * o0[i * m + j]);
                /* error bound of a length-k dot product: k eps sum|x y| */
                double eps = dt == FM_FLOAT32 ? 1.2e-7 : 2.3e-16;
                double tol = (double)(k + 2) * eps * (fabs(alpha) * sabs + fabs(beta * o0[i * m + j]) + 1);
                CHECK(fabs(bget(&o, 2, osh, i * m + j) - want) <= tol, "gemm value");
            }
    }
    int64_t s23[2] = {2, 3}, s22[2] = {2, 2};
    fm_tensor a = zeros(FM_FLOAT32, 2, s23), o = zeros(FM_FLOAT32, 2, s22);
    CHECK(fm_gemm(&a, &a, false, false, 1, 0, &o) == FM_ESHAPE, "gemm shape error");
    CHECK(strstr(fm_last_error(), "(2, 3)") != NULL, "gemm message: %s", fm_last_error());
    fm_tensor d = zeros(FM_FLOAT64, 2, s23);
    CHECK(fm_gemm(&a, &d, false, true, 1, 0, &o) == FM_ETYPE, "gemm dtype error");

    /* bmm */
    int64_t as[3] = {3, 4, 5}, bs[3] = {3, 5, 2}, os[3] = {3, 4, 2};
    fm_tensor ba = make(FM_FLOAT64, 3, as, STRIDED, -1, 1), bb = make(FM_FLOAT64, 3, bs, TRANSPOSED, -1, 1);
    fm_tensor bo = zeros(FM_FLOAT64, 3, os);
    CHECK(fm_bmm(&ba, &bb, &bo) == FM_OK, "bmm: %s", fm_last_error());
    for (int64_t q = 0; q < 3; q++)
        for (int64_t i = 0; i < 4; i++)
            for (int64_t j = 0; j < 2; j++) {
                double s = 0;
                for (int64_t l = 0; l < 5; l++)
                    s += bget(&ba, 3, as, q * 20 + i * 5 + l) * bget(&bb, 3, bs, q * 10 + l * 2 + j);
                CHECK(fabs(bget(&bo, 3, os, q * 8 + i * 2 + j) - s) < 1e-14, "bmm value");
            }
    CHECK(fm_bmm(&ba, &ba, &bo) == FM_ESHAPE, "bmm shape error");

    /* cdist2 */
    int64_t xs[2] = {6, 3}, ys[2] = {4, 3}, ds[2] = {6, 4}, dd[2] = {6, 6};
    for (int q = 0; q < 2; q++) {
        fm_dtype dt = q ? FM_FLOAT64 : FM_FLOAT32;
        fm_tensor x = make(dt, 2, xs, TRANSPOSED, 100, 101), y = make(dt, 2, ys, CONTIG, 100, 101);
        fm_tensor dxy = zeros(dt, 2, ds), dxx = zeros(dt, 2, dd);
        CHECK(fm_cdist2(&x, &y, &dxy) == FM_OK && fm_cdist2(&x, &x, &dxx) == FM_OK, "cdist2");
        for (int64_t i = 0; i < 6; i++) {
            for (int64_t j = 0; j < 4; j++) {
                double s = 0;
                for (int l = 0; l < 3; l++) {
                    double t = bget(&x, 2, xs, i * 3 + l) - bget(&y, 2, ys, j * 3 + l);
                    s += t * t;
                }
                /* cancellation in ||a||^2 + ||b||^2 - 2ab: error ~ eps * ||a||^2 */
                double tol = (dt == FM_FLOAT32 ? 1.2e-7 : 2.3e-16) * 8 * 3 * 101 * 101;
                CHECK(fabs(bget(&dxy, 2, ds, i * 4 + j) - s) <= tol, "cdist2 value %g vs %g",
                      bget(&dxy, 2, ds, i * 4 + j), s);
            }
            CHECK(bget(&dxx, 2, dd, i * 6 + i) == 0, "cdist2 zero diagonal");
            for (int64_t j = 0; j < 6; j++)
                CHECK(bget(&dxx, 2, dd, i * 6 + j) >= 0, "cdist2 nonnegative");
        }
    }
}

/* ---- indexing ----------------------------------------------------------- */

static void test_index(void)
{
    for (int trial = 0; trial < 100; trial++) {
        fm_dtype dt = (fm_dtype)(trial % 3);
        int64_t base = trial % 2;
        int nd = (int)rnd_int(1, 3);
        int64_t sh[FM_MAX_DIMS];
        for (int i = 0; i < nd; i++)
            sh[i] = rnd_int(1, 6);
        int dim = (int)rnd_int(0, nd - 1);
        int64_t k[1] = {rnd_int(0, 8)};
        fm_tensor a = make(dt, nd, sh, (int)rnd_int(0, NKIND - 1), -9, 9);
        fm_tensor idx = zeros(FM_INT64, 1, k);
        for (int64_t i = 0; i < k[0]; i++)
            ((int64_t *)idx.data)[i] = base + rnd_int(0, sh[dim] - 1);
        int64_t osh[FM_MAX_DIMS];
        memcpy(osh, sh, sizeof osh);
        osh[dim] = k[0];
        fm_tensor out = make(dt, nd, osh, (int)rnd_int(0, 2), 0, 0);
        CHECK(fm_index_select(&a, dim, &idx, base, &out) == FM_OK, "index_select: %s", fm_last_error());
        int64_t no = fm_tensor_numel(&out), stride = 1;
        for (int d = nd - 1; d > dim; d--)
            stride *= sh[d];
        for (int64_t i = 0; i < no; i++) {
            int64_t j = (i / stride) % k[0];
            int64_t src = i - j * stride + (((int64_t *)idx.data)[j] - base) * stride
                          + (i / stride / k[0]) * stride * (sh[dim] - k[0]);
            CHECK(bget(&out, nd, osh, i) == bget(&a, nd, sh, src), "index_select value");
        }
        /* index_add is the adjoint: <index_select(a), g> = <a, index_add(0, g)> */
        if (dt != FM_INT64) {
            fm_tensor g = make(dt, nd, osh, (int)rnd_int(0, NKIND - 1), -1, 1);
            fm_tensor acc = make(dt, nd, sh, (int)rnd_int(0, 2), 0, 0);
            fm_fill(&acc, 0);
            CHECK(fm_index_add(&acc, dim, &idx, base, &g) == FM_OK, "index_add: %s", fm_last_error());
            double l = 0, r = 0;
            for (int64_t i = 0; i < no; i++)
                l += bget(&out, nd, osh, i) * bget(&g, nd, osh, i);
            for (int64_t i = 0; i < fm_tensor_numel(&a); i++)
                r += bget(&a, nd, sh, i) * bget(&acc, nd, sh, i);
            CHECK(fabs(l - r) <= 1e-4 * (1 + fabs(l)), "index_add adjoint %g vs %g", l, r);
        }
        /* gather along dim with idx of a's shape (possibly smaller) */
        int64_t gsh[FM_MAX_DIMS];
        for (int i = 0; i < nd; i++)
            gsh[i] = i == dim ? rnd_int(0, 7) : rnd_int(1, sh[i]);
        fm_tensor gi = zeros(FM_INT64, nd, gsh), go = zeros(dt, nd, gsh);
        int64_t ng = fm_tensor_numel(&gi);
        for (int64_t i = 0; i < ng; i++)
            ((int64_t *)gi.data)[i] = base + rnd_int(0, sh[dim] - 1);
        CHECK(fm_gather(&a, dim, &gi, base, &go) == FM_OK, "gather: %s", fm_last_error());
        fm_tensor sa = zeros(dt, nd, sh), src = make(dt, nd, gsh, CONTIG, -4, 4);
        CHECK(fm_scatter_add(&sa, dim, &gi, base, &src) == FM_OK, "scatter_add: %s", fm_last_error());
        double *ref = tmalloc(sizeof(double) * (size_t)fm_tensor_numel(&a));
        for (int64_t i = 0; i < ng; i++) {
            int64_t rem = i, off = 0, mul = 1;
            for (int d = nd - 1; d >= 0; d--) {
                int64_t c = rem % gsh[d];
                rem /= gsh[d];
                if (d == dim)
                    c = ((int64_t *)gi.data)[i] - base;
                off += c * mul;
                mul *= sh[d];
            }
            CHECK(bget(&go, nd, gsh, i) == bget(&a, nd, sh, off), "gather value");
            ref[off] += bget(&src, nd, gsh, i);
        }
        for (int64_t i = 0; i < fm_tensor_numel(&a); i++)
            CHECK(near(bget(&sa, nd, sh, i), round_to(dt, ref[i]), 1e-6, 1e-6), "scatter_add value");
    }
    /* index_add on contiguous rows with a repeated index accumulates */
    int64_t d53[2] = {5, 3}, s33[2] = {3, 3}, k3[1] = {3};
    fm_tensor dst = zeros(FM_FLOAT32, 2, d53), srcr = make(FM_FLOAT32, 2, s33, CONTIG, -1, 1);
    fm_tensor rix = zeros(FM_INT64, 1, k3);
    int64_t rv[3] = {3, 1, 3};
    memcpy(rix.data, rv, sizeof rv);
    CHECK(fm_index_add(&dst, 0, &rix, 1, &srcr) == FM_OK, "index_add rows");
    for (int j = 0; j < 3; j++) {
        CHECK(bget(&dst, 2, d53, 2 * 3 + j) == (double)((float)bget(&srcr, 2, s33, j) + (float)bget(&srcr, 2, s33, 6 + j)),
              "index_add repeated row");
        CHECK(bget(&dst, 2, d53, j) == bget(&srcr, 2, s33, 3 + j) && bget(&dst, 2, d53, 3 + j) == 0,
              "index_add rows");
    }
    /* errors name the bad index as given */
    int64_t s[2] = {4, 2}, k[1] = {3};
    fm_tensor a = make(FM_FLOAT32, 2, s, CONTIG, 0, 1), idx = zeros(FM_INT64, 1, k);
    int64_t o3[2] = {3, 2};
    fm_tensor out = zeros(FM_FLOAT32, 2, o3);
    ((int64_t *)idx.data)[0] = 1;
    ((int64_t *)idx.data)[1] = 5;
    ((int64_t *)idx.data)[2] = 0;
    CHECK(fm_index_select(&a, 0, &idx, 1, &out) == FM_EINDEX, "index_select bound");
    CHECK(strstr(fm_last_error(), "index 5") != NULL, "message: %s", fm_last_error());
    ((int64_t *)idx.data)[1] = 4;
    CHECK(fm_index_select(&a, 0, &idx, 1, &out) == FM_EINDEX && strstr(fm_last_error(), "index 0"),
          "index 0 with base 1: %s", fm_last_error());
    CHECK(fm_index_add(&a, 0, &idx, 1, &out) == FM_EINDEX, "index_add bound");
    CHECK(fm_gather(&a, 0, &idx, 1, &out) == FM_ESHAPE, "gather needs idx of a's ndim");
    fm_tensor fidx = zeros(FM_FLOAT32, 1, k);
    CHECK(fm_index_select(&a, 0, &fidx, 1, &out) == FM_ETYPE, "float indices");
    CHECK(fm_index_select(&a, 2, &idx, 0, &out) == FM_EINDEX, "bad dim");
}

static void test_cat_copy_misc(void)
{
    /* cat of strided parts along dim 1 */
    int64_t s1[2] = {3, 2}, s2[2] = {3, 4}, so[2] = {3, 6};
    fm_tensor p1 = make(FM_FLOAT32, 2, s1, TRANSPOSED, -1, 1), p2 = make(FM_FLOAT32, 2, s2, STRIDED, -1, 1);
    const fm_tensor *parts[2] = {&p1, &p2};
    int nd;
    int64_t sh[FM_MAX_DIMS];
    CHECK(fm_cat_shape(parts, 2, 1, &nd, sh) == FM_OK && nd == 2 && sh[0] == 3 && sh[1] == 6, "cat_shape");
    fm_tensor o = zeros(FM_FLOAT32, 2, so);
    CHECK(fm_cat(parts, 2, 1, &o) == FM_OK, "cat");
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 6; j++)
            CHECK(bget(&o, 2, so, i * 6 + j) == (j < 2 ? bget(&p1, 2, s1, i * 2 + j) : bget(&p2, 2, s2, i * 4 + j - 2)),
                  "cat value");
    CHECK(fm_cat_shape(parts, 2, 0, &nd, sh) == FM_ESHAPE, "cat mismatch");

    /* copy conversions */
    int64_t four[1] = {4};
    fm_tensor f = zeros(FM_FLOAT64, 1, four), i64 = zeros(FM_INT64, 1, four), f32 = zeros(FM_FLOAT32, 1, four);
    double fv[4] = {1.9, -1.9, 3e9, -0.5};
    memcpy(f.data, fv, sizeof fv);
    CHECK(fm_copy(&i64, &f) == FM_OK, "copy f64 -> i64");
    CHECK(((int64_t *)i64.data)[0] == 1 && ((int64_t *)i64.data)[1] == -1 && ((int64_t *)i64.data)[2] == 3000000000
          && ((int64_t *)i64.data)[3] == 0, "truncation toward zero");
    CHECK(fm_copy(&f32, &i64) == FM_OK && ((float *)f32.data)[1] == -1.0f, "copy i64 -> f32");
    ((double *)f.data)[2] = NAN;
    CHECK(fm_copy(&i64, &f) == FM_EVALUE, "NaN -> int64 is an error");
    /* fill / arange / linspace / eye */
    CHECK(fm_fill(&f32, 2.5) == FM_OK && ((float *)f32.data)[3] == 2.5f, "fill");
    CHECK(fm_arange(&i64, 3, 2) == FM_OK && ((int64_t *)i64.data)[3] == 9, "arange");
    CHECK(fm_linspace(&f, 0, 1) == FM_OK && ((double *)f.data)[3] == 1.0 &&
          fabs(((double *)f.data)[1] - 1.0 / 3) < 1e-16, "linspace");
    int64_t e3[2] = {3, 3};
    fm_tensor eye = make(FM_FLOAT64, 2, e3, TRANSPOSED, 5, 6);
    CHECK(fm_eye(&eye) == FM_OK, "eye");
    for (int i = 0; i < 9; i++)
        CHECK(bget(&eye, 2, e3, i) == (i % 4 == 0), "eye value");
    /* where, clamp, axpy */
    int64_t ws[2] = {5, 7}, wc[1] = {7};
    fm_tensor c = make(FM_INT64, 1, wc, CONTIG, -1, 1), wa = make(FM_FLOAT64, 2, ws, TRANSPOSED, -1, 1);
    fm_tensor wb = make(FM_FLOAT64, 2, ws, BROADCAST, -1, 1), wo = zeros(FM_FLOAT64, 2, ws);
    CHECK(fm_where(&c, &wa, &wb, &wo) == FM_OK, "where: %s", fm_last_error());
    for (int i = 0; i < 35; i++)
        CHECK(bget(&wo, 2, ws, i) == (bget(&c, 2, ws, i) != 0 ? bget(&wa, 2, ws, i) : bget(&wb, 2, ws, i)),
              "where value");
    double zero = 0;
    fm_tensor z0;
    fm_tensor_init(&z0, &zero, FM_FLOAT64, 0, NULL);
    CHECK(fm_where(&c, &z0, &wb, &wo) == FM_OK, "where with a 0-d operand: %s", fm_last_error());
    for (int i = 0; i < 35; i++)
        CHECK(bget(&wo, 2, ws, i) == (bget(&c, 2, ws, i) != 0 ? 0 : bget(&wb, 2, ws, i)), "where 0-d value");
    CHECK(fm_where(&c, &z0, &z0, &wo) == FM_OK, "where, both 0-d");
    int64_t w6[1] = {6};
    fm_tensor bad6 = zeros(FM_FLOAT64, 1, w6);
    CHECK(fm_where(&c, &wa, &bad6, &wo) == FM_ESHAPE, "where shape error");
    CHECK(fm_clamp(&wa, -0.5, 0.25, &wo) == FM_OK, "clamp");
    for (int i = 0; i < 35; i++)
        CHECK(bget(&wo, 2, ws, i) == fmin(fmax(bget(&wa, 2, ws, i), -0.5), 0.25), "clamp value");
    fm_tensor ax = zeros(FM_FLOAT64, 2, ws);
    fm_copy(&ax, &wa);
    CHECK(fm_axpy(-2, &wb, &ax) == FM_OK, "axpy");
    for (int i = 0; i < 35; i++)
        CHECK(bget(&ax, 2, ws, i) == bget(&wa, 2, ws, i) - 2 * bget(&wb, 2, ws, i), "axpy value");
    /* allclose */
    bool r;
    fm_copy(&ax, &wa);
    CHECK(fm_allclose(&ax, &wa, 0, 0, &r) == FM_OK && r, "allclose equal");
    ((double *)ax.data)[3] += 1e-6;
    CHECK(fm_allclose(&ax, &wa, 0, 1e-7, &r) == FM_OK && !r, "allclose differs");
    CHECK(fm_allclose(&ax, &wa, 0, 1e-5, &r) == FM_OK && r, "allclose within atol");
    ((double *)ax.data)[3] = NAN;
    CHECK(fm_allclose(&ax, &ax, 1, 1, &r) == FM_OK && !r, "NaN is not close");
    int64_t bad[1] = {3};
    fm_tensor bt = zeros(FM_FLOAT64, 1, bad);
    CHECK(fm_allclose(&ax, &bt, 1, 1, &r) == FM_ESHAPE, "allclose shape error");
}

int main(void)
{
    test_binary();
    free_all();
    test_unary();
    free_all();
    test_vmath_accuracy();
    free_all();
    test_reduce();
    free_all();
    test_argreduce();
    test_sum_to();
    free_all();
    test_softmax();
    free_all();
    test_gemm();
    free_all();
    test_index();
    free_all();
    test_cat_copy_misc();
    free_all();
    printf("%d checks, %d failures\n", checks, failures);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
