/* rng.c — Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3", SC 2011): a counter-based generator. Block i of the stream is
 * philox(key, counter + i), four 32-bit words; draws consume whole blocks. */
#include "core/rng.h"
#include "core/rng_internal.h"
#include "core/clones_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void fm_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* fm_philox4x32_10 on FM_PHILOX_LANES counters at once (same rounds). */
FM_TARGET_CLONES
void fmi_philox_lanes(uint64_t key, uint64_t ctr,
                      uint32_t w[4][FM_PHILOX_LANES])
{
    uint32_t c0[FM_PHILOX_LANES], c1[FM_PHILOX_LANES], c2[FM_PHILOX_LANES],
        c3[FM_PHILOX_LANES];
    for (int l = 0; l < FM_PHILOX_LANES; l++) {
        uint64_t c = ctr + (uint64_t)l;
        c0[l] = (uint32_t)c;
        c1[l] = (uint32_t)(c >> 32);
        c2[l] = 0;
        c3[l] = 0;
    }
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int r = 0; r < 10; r++) {
        for (int l = 0; l < FM_PHILOX_LANES; l++) {
            uint64_t p0 = (uint64_t)PHILOX_M0 * c0[l];
            uint64_t p1 = (uint64_t)PHILOX_M1 * c2[l];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
            c1[l] = (uint32_t)p1;
            c3[l] = (uint32_t)p0;
            c0[l] = n0;
            c2[l] = n2;
        }
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    memcpy(w[0], c0, sizeof c0);
    memcpy(w[1], c1, sizeof c1);
    memcpy(w[2], c2, sizeof c2);
    memcpy(w[3], c3, sizeof c3);
}

static inline void philox_block(uint64_t key, uint64_t ctr, uint32_t out[4])
{
    const uint32_t c[4] = {(uint32_t)ctr, (uint32_t)(ctr >> 32), 0, 0};
    const uint32_t k[2] = {(uint32_t)key, (uint32_t)(key >> 32)};
    fm_philox4x32_10(c, k, out);
}

static fm_rng global_rng = {0x853c49e6748fea9bULL, 0};

fm_rng *fm_rng_global(void) { return &global_rng; }

void fm_rng_seed(fm_rng *rng, uint64_t seed)
{
    /* splitmix64 of the seed, so that nearby seeds give unrelated keys */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    rng->key = z ^ (z >> 31);
    rng->counter = 0;
}

uint32_t fm_rng_u32(fm_rng *rng)
{
    uint32_t b[4];
    philox_block(rng->key, rng->counter++, b);
    return b[0];
}

static double u01_from(uint32_t hi, uint32_t lo)
{
    uint64_t bits = ((uint64_t)hi << 21) ^ (lo >> 11);
    return (double)(bits & ((1ULL << 53) - 1)) * (1.0 / 9007199254740992.0);
}

double fm_rng_uniform01(fm_rng *rng)
{
    uint32_t b[4];
    philox_block(rng->key, rng->counter++, b);
    return u01_from(b[0], b[1]);
}

/* Box–Muller on one block: two normals from four words. */
static void normal_pair(const uint32_t b[4], double *z0, double *z1)
{
    double u1 = 1.0 - u01_from(b[0], b[1]); /* (0, 1] */
    double u2 = u01_from(b[2], b[3]);
    double r = sqrt(-2.0 * log(u1));
    *z0 = r * cos(2.0 * M_PI * u2);
    *z1 = r * sin(2.0 * M_PI * u2);
}

void fm_rng_normal01_pair(fm_rng *rng, double *z0, double *z1)
{
    uint32_t b[4];
    philox_block(rng->key, rng->counter++, b);
    normal_pair(b, z0, z1);
}

double fm_rng_normal01(fm_rng *rng)
{
    uint32_t b[4];
    double z0, z1;
    philox_block(rng->key, rng->counter++, b);
    normal_pair(b, &z0, &z1);
    return z0;
}

static fm_status need_float(const fm_tensor *out, const char *what)
{
    if (!fm_dtype_is_float(out->dtype))
        return fm_error(FM_ETYPE, "%s: float tensor expected, got %s", what,
                        fm_dtype_name(out->dtype));
    return FM_OK;
}

/* Writes v at flat index i of a contiguous or strided tensor. */
static inline void put(fm_tensor *t, int64_t i, bool contig, double v)
{
    if (contig) {
        if (t->dtype == FM_FLOAT32) ((float *)t->data)[i] = (float)v;
        else if (t->dtype == FM_FLOAT64) ((double *)t->data)[i] = v;
        else if (t->dtype == FM_INT64) ((int64_t *)t->data)[i] = (int64_t)v;
        else fm_tensor_set(t, i, v);
    } else {
        fm_tensor_set(t, i, v);
    }
}

static inline double below(fm_dtype dtype, double v, double lo, double hi)
{
    bool reached = dtype == FM_FLOAT32 ? (float)v >= (float)hi : v >= hi;
    return reached && hi > lo ? lo : v;
}

fm_status fm_rng_uniform(fm_rng *rng, fm_tensor *out, double lo, double hi)
{
    fm_status st = need_float(out, "rand");
    if (st)
        return st;
    if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi))
        return fm_error(FM_EVALUE, "rand: bounds [%g, %g] are not an interval", lo, hi);
    int64_t n = fm_tensor_numel(out);
    bool contig = fm_tensor_is_contiguous(out);
    uint64_t base = rng->counter;
    for (int64_t i = 0; i < n; i += 2) {
        uint32_t b[4];
        philox_block(rng->key, base + (uint64_t)(i / 2), b);
        double v0 = lo + (hi - lo) * u01_from(b[0], b[1]);
        double v1 = lo + (hi - lo) * u01_from(b[2], b[3]);
        /* rounding (of lo + (hi - lo) u, or to float32) can reach hi; keep
         * the interval half-open (probability ~2^-24 moved to lo) */
        v0 = below(out->dtype, v0, lo, hi);
        v1 = below(out->dtype, v1, lo, hi);
        put(out, i, contig, v0);
        if (i + 1 < n)
            put(out, i + 1, contig, v1);
    }
    rng->counter = base + (uint64_t)((n + 1) / 2);
    return FM_OK;
}

fm_status fm_rng_normal(fm_rng *rng, fm_tensor *out, double mean, double std)
{
    fm_status st = need_float(out, "randn");
    if (st)
        return st;
    if (!(std >= 0) || !isfinite(mean) || !isfinite(std))
        return fm_error(FM_EVALUE, "randn: mean %g, std %g not allowed", mean, std);
    int64_t n = fm_tensor_numel(out);
    bool contig = fm_tensor_is_contiguous(out);
    if (contig && out->dtype == FM_FLOAT32) { /* vectorised (rng_normal_f32.c) */
        fmi_rng_normal_f32(rng, out->data, n, (float)mean, (float)std);
        return FM_OK;
    }
    if (contig && out->dtype == FM_FLOAT32) { /* vectorised (rng_normal_f32.c) */
        fmi_rng_normal_f32(rng, out->data, n, (float)mean, (float)std);
        return FM_OK;
    }
    uint64_t base = rng->counter;
    for (int64_t i = 0; i < n; i += 2) {
        uint32_t b[4];
        double z0, z1;
        philox_block(rng->key, base + (uint64_t)(i / 2), b);
        normal_pair(b, &z0, &z1);
        put(out, i, contig, mean + std * z0);
        if (i + 1 < n)
            put(out, i + 1, contig, mean + std * z1);
    }
    rng->counter = base + (uint64_t)((n + 1) / 2);
    return FM_OK;
}

/* Uniform integer in [0, range) without modulo bias (Lemire's method). */
static uint64_t bounded(fm_rng *rng, uint64_t range)
{
    for (;;) {
        uint32_t b[4];
        philox_block(rng->key, rng->counter++, b);
        uint64_t x = ((uint64_t)b[0] << 32) | b[1];
        unsigned __int128 m = (unsigned __int128)x * range;
        uint64_t l = (uint64_t)m;
        if (l >= range || l >= (-range) % range)
            return (uint64_t)(m >> 64);
    }
}

fm_status fm_rng_randint(fm_rng *rng, fm_tensor *out, int64_t lo, int64_t hi)
{
    if (hi < lo)
        return fm_error(FM_EVALUE, "randint: empty range [%lld, %lld]",
                        (long long)lo, (long long)hi);
    if (out->dtype == FM_UINT8 && (lo < 0 || hi > 255))
        return fm_error(FM_EVALUE, "randint: range [%lld, %lld] does not fit uint8 [0, 255]",
                        (long long)lo, (long long)hi);
    /* unsigned arithmetic: hi - lo overflows int64 for wide ranges; range 0
     * means all 2^64 values */
    uint64_t range = (uint64_t)hi - (uint64_t)lo + 1;
    int64_t n = fm_tensor_numel(out);
    bool contig = fm_tensor_is_contiguous(out);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r;
        if (range == 0) {
            uint32_t b[4];
            philox_block(rng->key, rng->counter++, b);
            r = ((uint64_t)b[0] << 32) | b[1];
        } else {
            r = bounded(rng, range);
        }
        int64_t v = (int64_t)((uint64_t)lo + r);
        if (out->dtype == FM_INT64 && contig)
            ((int64_t *)out->data)[i] = v;
        else
            put(out, i, contig, (double)v);
    }
    return FM_OK;
}

fm_status fm_rng_permutation(fm_rng *rng, fm_tensor *out, int64_t base)
{
    if (out->dtype != FM_INT64 || out->ndim != 1 || !fm_tensor_is_contiguous(out))
        return fm_error(FM_ETYPE, "permutation: output must be a contiguous 1-d int64 tensor");
    int64_t n = out->shape[0];
    int64_t *p = out->data;
    for (int64_t i = 0; i < n; i++)
        p[i] = base + i;
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher–Yates */
        int64_t j = (int64_t)bounded(rng, (uint64_t)i + 1);
        int64_t tmp = p[i];
        p[i] = p[j];
        p[j] = tmp;
    }
    return FM_OK;
}

/* One row of multinomial: k weights w (stride ws), n draws into o. */
static fm_status multinomial_row(fm_rng *rng, const fm_tensor *probs,
                                 int64_t row, int64_t k, bool replacement,
                                 int64_t base, int64_t *o, int64_t n)
{
    double *cum = malloc(sizeof(double) * (size_t)(k > 0 ? k : 1));
    double *w = malloc(sizeof(double) * (size_t)(k > 0 ? k : 1));
    if (!cum || !w) {
        free(cum);
        free(w);
        return fm_error(FM_ENOMEM, "multinomial: out of memory");
    }
    int64_t nonzero = 0;
    fm_status st = FM_OK;
    for (int64_t j = 0; j < k; j++) {
        w[j] = fm_tensor_get(probs, row * k + j);
        if (!(w[j] >= 0) || !isfinite(w[j])) {
            st = fm_error(FM_EVALUE, "multinomial: weight %lld is %g (must be finite and >= 0)",
                          (long long)j + 1, w[j]);
            goto done;
        }
        nonzero += w[j] > 0;
    }
    if (n > 0 && (nonzero == 0 || (!replacement && n > nonzero))) {
        st = fm_error(FM_EVALUE, "multinomial: %lld draws from %lld non-zero weights%s",
                      (long long)n, (long long)nonzero,
                      replacement ? "" : " without replacement");
        goto done;
    }
    double total = 0;
    for (int64_t s = 0; s < n; s++) {
        /* with replacement the cumulative sums never change: build once */
        if (s == 0 || !replacement) {
            total = 0;
            for (int64_t j = 0; j < k; j++)
                cum[j] = (total += w[j]);
        }
        double u = fm_rng_uniform01(rng) * total;
        int64_t lo = 0, hi = k - 1; /* first j with cum[j] > u */
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (cum[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        while (w[lo] == 0 && lo > 0) lo--; /* guard against u == total */
        o[s] = base + lo;
        if (!replacement)
            w[lo] = 0;
    }
done:
    free(cum);
    free(w);
    return st;
}

fm_status fm_rng_multinomial(fm_rng *rng, const fm_tensor *probs,
                             bool replacement, int64_t base, fm_tensor *out)
{
    if (probs->ndim < 1 || probs->ndim > 2 || out->ndim != probs->ndim ||
        out->dtype != FM_INT64 || !fm_tensor_is_contiguous(out) ||
        (probs->ndim == 2 && out->shape[0] != probs->shape[0]))
        return fm_error(FM_ESHAPE, "multinomial: weights must be (k) or (m, k) "
                        "and the output (n) or (m, n) int64");
    int64_t rows = probs->ndim == 2 ? probs->shape[0] : 1;
    int64_t k = probs->shape[probs->ndim - 1];
    int64_t n = out->shape[out->ndim - 1];
    for (int64_t r = 0; r < rows; r++) {
        fm_status st = multinomial_row(rng, probs, r, k, replacement, base,
                                       (int64_t *)out->data + r * n, n);
        if (st)
            return st;
    }
    return FM_OK;
}
