/* test_views.c — engine/view.c against brute force.
 *
 * Reshape of strided views: for many random views (permutations, narrowings,
 * expanded dims, unit dims) and every way of writing their element count as
 * a product of up to 4 sizes, fm_view_reshape must either
 *   - succeed, and then every element of the result (flat row-major order)
 *     sits at the same address as the same flat element of the source; or
 *   - refuse with FM_ELAYOUT, and then brute force confirms that no strides
 *     exist for that shape: the candidate stride of each dim is the address
 *     step of its unit vector, and some element does not fit the affine map.
 * Also expand, permute, squeeze/unsqueeze, select/narrow edge cases and the
 * error statuses (no overflow on huge sizes). Addresses are exact integers,
 * so every comparison is exact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fm.h"
#include "core/view.h"

static int failures, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

/* element offset (in elements) of flat row-major index i */
static int64_t offset_of(const fm_tensor *t, int64_t i)
{
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (i % t->shape[d]) * t->stride[d];
        i /= t->shape[d];
    }
    return off;
}

static int64_t base_off(const fm_tensor *t, const float *base)
{
    return (const float *)t->data - base;
}

/* Can src be viewed with shape (nd, shape) without a copy? Brute force. */
static bool viewable(const fm_tensor *src, int nd, const int64_t *shape)
{
    fm_tensor v = {0};
    v.ndim = nd;
    int64_t n = 1;
    for (int d = 0; d < nd; d++) {
        v.shape[d] = shape[d];
        n *= shape[d];
    }
    int64_t o0 = offset_of(src, 0);
    for (int d = 0; d < nd; d++) {
        int64_t unit = 1; /* flat index of the unit vector e_d */
        for (int k = d + 1; k < nd; k++)
            unit *= shape[k];
        v.stride[d] = shape[d] > 1 ? offset_of(src, unit) - o0 : 0;
        if (v.stride[d] < 0)
            return false; /* the engine has no negative strides */
    }
    for (int64_t i = 0; i < n; i++)
        if (offset_of(&v, i) != offset_of(src, i) - o0)
            return false;
    return true;
}

/* the same elements, in flat order, at the same addresses */
static bool same_elements(const fm_tensor *a, const fm_tensor *b, const float *base)
{
    int64_t n = fm_tensor_numel(a);
    if (n != fm_tensor_numel(b))
        return false;
    for (int64_t i = 0; i < n; i++)
        if (base_off(a, base) + offset_of(a, i) != base_off(b, base) + offset_of(b, i))
            return false;
    return true;
}

static unsigned rng_state = 12345;
static int rnd(int n) /* 0..n-1, a fixed LCG so the test is deterministic */
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (int)((rng_state >> 16) % (unsigned)n);
}

static float storage[4096];

/* a random view over storage: contiguous 1..4-d, then permuted, narrowed,
 * with unit dims inserted and/or a broadcast (stride 0) dim */
static fm_tensor random_view(void)
{
    fm_tensor t;
    int nd = 1 + rnd(4);
    int64_t shape[FM_MAX_DIMS];
    for (int d = 0; d < nd; d++)
        shape[d] = 1 + rnd(4);
    fm_tensor_init(&t, storage, FM_FLOAT32, nd, shape);
    if (rnd(2)) {
        int perm[FM_MAX_DIMS];
        for (int d = 0; d < nd; d++) perm[d] = d;
        for (int d = nd - 1; d > 0; d--) {
            int j = rnd(d + 1), x = perm[d];
            perm[d] = perm[j];
            perm[j] = x;
        }
        fm_tensor p;
        CHECK(fm_view_permute(&t, perm, &p) == FM_OK, "permute");
        t = p;
    }
    if (rnd(2)) {
        int d = rnd(t.ndim);
        int64_t start = rnd((int)t.shape[d]);
        int64_t len = 1 + rnd((int)(t.shape[d] - start));
        fm_tensor p;
        CHECK(fm_view_narrow(&t, d, start, len, &p) == FM_OK, "narrow");
        t = p;
    }
    if (rnd(3) == 0 && t.ndim < 6) {
        fm_tensor p;
        CHECK(fm_view_unsqueeze(&t, rnd(t.ndim + 1), &p) == FM_OK, "unsqueeze");
        t = p;
    }
    if (rnd(3) == 0 && t.ndim < 6) {
        fm_tensor p, e;
        int d = rnd(t.ndim + 1);
        CHECK(fm_view_unsqueeze(&t, d, &p) == FM_OK, "unsqueeze");
        int64_t es[FM_MAX_DIMS];
        memcpy(es, p.shape, sizeof es);
        es[d] = 2 + rnd(2);
        CHECK(fm_view_expand(&p, p.ndim, es, &e) == FM_OK, "expand");
        t = e;
    }
    return t;
}

/* calls f for every ordered factorisation of n into 1..4 sizes (with 1s) */
static int64_t fshape[4];
static void each_shape(int64_t n, int depth, int maxd, const fm_tensor *src,
                       int *tried, int *viewed)
{
    if (depth == maxd) {
        if (n != 1)
            return;
        fm_tensor r;
        fm_status st = fm_view_reshape(src, maxd, fshape, &r);
        bool can = viewable(src, maxd, fshape);
        (*tried)++;
        if (st == FM_OK) {
            (*viewed)++;
            bool ok = r.ndim == maxd && r.data == src->data &&
                      same_elements(src, &r, storage);
            for (int d = 0; d < maxd; d++)
                ok = ok && r.shape[d] == fshape[d] && r.stride[d] >= 0;
            CHECK(ok, "reshape gave wrong addresses (ndim %d -> %d)", src->ndim, maxd);
        } else {
            CHECK(st == FM_ELAYOUT, "status %d", (int)st);
            CHECK(!can, "reshape refused a shape that needs no copy (%d-d view -> %d-d)",
                  src->ndim, maxd);
        }
        return;
    }
    for (int64_t s = 1; s <= n; s++)
        if (n % s == 0) {
            fshape[depth] = s;
            each_shape(n / s, depth + 1, maxd, src, tried, viewed);
        }
}

static void test_reshape_bruteforce(void)
{
    int tried = 0, viewed = 0;
    for (int k = 0; k < 400; k++) {
        fm_tensor t = random_view();
        int64_t n = fm_tensor_numel(&t);
        for (int nd = 1; nd <= 4; nd++)
            each_shape(n, 0, nd, &t, &tried, &viewed);
    }
    /* both outcomes must occur often, or the test proves little */
    CHECK(viewed > 1000 && tried - viewed > 1000, "tried %d, viewed %d", tried, viewed);
    printf("reshape: %d shapes tried, %d viewed without a copy\n", tried, viewed);
}

static void test_reshape_cases(void)
{
    fm_tensor t, v, r;
    int64_t s23[2] = {2, 3};
    fm_tensor_init(&t, storage, FM_FLOAT32, 2, s23);
    CHECK(fm_view_transpose(&t, 0, 1, &v) == FM_OK, "t");
    int64_t s6[1] = {6}, sm1[1] = {-1};
    CHECK(fm_view_reshape(&v, 1, s6, &r) == FM_ELAYOUT, "transposed -> (6,)");
    CHECK(strstr(fm_last_error(), "reshape") != NULL, "%s", fm_last_error());
    CHECK(fm_view_reshape(&t, 1, sm1, &r) == FM_OK && r.shape[0] == 6, "-1");
    int64_t bad[2] = {-1, -1};
    CHECK(fm_view_reshape(&t, 2, bad, &r) == FM_ESHAPE, "two -1");
    int64_t four[1] = {4};
    CHECK(fm_view_reshape(&t, 1, four, &r) == FM_ESHAPE, "6 -> 4");
    CHECK(strstr(fm_last_error(), "6") != NULL, "%s", fm_last_error());
    int64_t neg[2] = {-2, -3};
    CHECK(fm_view_reshape(&t, 2, neg, &r) == FM_ESHAPE, "negative");
    CHECK(fm_view_reshape(&t, FM_MAX_DIMS + 1, s6, &r) == FM_ESHAPE, "too many dims");
    /* 0-d <-> (1,1,1) */
    fm_tensor s;
    CHECK(fm_view_reshape(&t, 0, NULL, &r) == FM_ESHAPE, "6 -> 0-d");
    fm_tensor_init(&s, storage, FM_FLOAT32, 0, NULL);
    int64_t ones[3] = {1, 1, 1};
    CHECK(fm_view_reshape(&s, 3, ones, &r) == FM_OK && r.ndim == 3, "0-d -> (1,1,1)");
    CHECK(fm_view_reshape(&r, 0, NULL, &s) == FM_OK && s.ndim == 0, "(1,1,1) -> 0-d");
    /* empty tensors: any shape of 0 elements, no overflow on huge sizes */
    int64_t s0[1] = {0};
    fm_tensor e;
    fm_tensor_init(&e, storage, FM_FLOAT32, 1, s0);
    int64_t z[3] = {5, 0, 7}, huge[3] = {INT64_C(1) << 62, 4, 0}, zi[2] = {-1, 0};
    CHECK(fm_view_reshape(&e, 3, z, &r) == FM_OK && fm_tensor_numel(&r) == 0, "(0,) -> (5,0,7)");
    fm_status st = fm_view_reshape(&e, 3, huge, &r);
    CHECK(st == FM_OK || st == FM_ESHAPE, "huge sizes: status %d", (int)st);
    CHECK(fm_view_reshape(&e, 2, zi, &r) == FM_ESHAPE, "-1 next to 0");
    int64_t big[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
    CHECK(fm_view_reshape(&t, 2, big, &r) == FM_ESHAPE, "overflowing sizes");
}

static void test_expand(void)
{
    fm_tensor t, r;
    int64_t s31[2] = {3, 1};
    fm_tensor_init(&t, storage, FM_FLOAT32, 2, s31);
    int64_t to[3] = {2, 3, 4};
    CHECK(fm_view_expand(&t, 3, to, &r) == FM_OK, "expand");
    CHECK(r.stride[0] == 0 && r.stride[1] == 1 && r.stride[2] == 0, "strides %lld %lld %lld",
          (long long)r.stride[0], (long long)r.stride[1], (long long)r.stride[2]);
    for (int64_t i = 0; i < 24; i++)
        CHECK(offset_of(&r, i) == (i / 4) % 3, "element %lld", (long long)i);
    int64_t bad[2] = {4, 1};
    CHECK(fm_view_expand(&t, 2, bad, &r) == FM_ESHAPE, "3 -> 4");
    CHECK(strstr(fm_last_error(), "expand") != NULL, "%s", fm_last_error());
    CHECK(fm_view_expand(&t, 1, to, &r) == FM_ESHAPE, "fewer dims");
    int64_t zero[2] = {3, 0};
    CHECK(fm_view_expand(&t, 2, zero, &r) == FM_OK && fm_tensor_numel(&r) == 0, "1 -> 0");
    int64_t huge[3] = {INT64_C(1) << 40, INT64_C(1) << 40, 1};
    CHECK(fm_view_expand(&t, 3, huge, &r) == FM_ESHAPE, "numel overflow refused");
}

static void test_permute_squeeze(void)
{
    fm_tensor t, r, q;
    int64_t s[4] = {2, 1, 3, 4};
    fm_tensor_init(&t, storage, FM_FLOAT32, 4, s);
    int perm[4] = {3, 0, 2, 1};
    CHECK(fm_view_permute(&t, perm, &r) == FM_OK, "permute");
    CHECK(r.shape[0] == 4 && r.shape[1] == 2 && r.shape[2] == 3 && r.shape[3] == 1, "shape");
    CHECK(r.stride[0] == 1 && r.stride[1] == 12 && r.stride[2] == 4, "strides");
    int dup[4] = {0, 0, 2, 1}, oob[4] = {0, 1, 2, 4};
    CHECK(fm_view_permute(&t, dup, &r) == FM_EINDEX, "duplicate");
    CHECK(fm_view_permute(&t, oob, &r) == FM_EINDEX, "out of range");
    /* squeeze a unit dim: same elements; a non-unit dim: unchanged */
    CHECK(fm_view_squeeze(&t, 1, &r) == FM_OK && r.ndim == 3, "squeeze 1");
    CHECK(same_elements(&t, &r, storage), "squeeze keeps elements");
    CHECK(fm_view_squeeze(&t, 0, &r) == FM_OK && r.ndim == 4, "squeeze of size 2");
    CHECK(fm_view_squeeze(&t, 4, &r) == FM_EINDEX, "squeeze out of range");
    CHECK(fm_view_squeeze(&t, -1, &r) == FM_EINDEX, "squeeze -1 (0-based API)");
    /* unsqueeze at every position, then squeeze back: same view */
    for (int d = 0; d <= 4; d++) {
        CHECK(fm_view_unsqueeze(&t, d, &r) == FM_OK && r.ndim == 5 && r.shape[d] == 1, "unsqueeze %d", d);
        CHECK(same_elements(&t, &r, storage), "unsqueeze %d keeps elements", d);
        CHECK(fm_view_squeeze(&r, d, &q) == FM_OK && fm_tensor_same_shape(&q, &t), "back %d", d);
    }
    CHECK(fm_view_unsqueeze(&t, 5, &r) == FM_EINDEX, "unsqueeze past the end");
    fm_tensor m;
    int64_t s8[FM_MAX_DIMS] = {1, 1, 1, 1, 1, 1, 1, 1};
    fm_tensor_init(&m, storage, FM_FLOAT32, FM_MAX_DIMS, s8);
    CHECK(fm_view_unsqueeze(&m, 0, &r) == FM_EINDEX, "more than FM_MAX_DIMS");
    /* 0-d: unsqueeze 0 gives (1,) */
    fm_tensor z;
    fm_tensor_init(&z, storage, FM_FLOAT32, 0, NULL);
    CHECK(fm_view_unsqueeze(&z, 0, &r) == FM_OK && r.ndim == 1 && r.shape[0] == 1, "0-d");
    /* unsqueeze of a transposed view keeps it viewable back */
    fm_tensor tt;
    CHECK(fm_view_transpose(&t, 0, 3, &tt) == FM_OK, "transpose");
    CHECK(fm_view_unsqueeze(&tt, 2, &r) == FM_OK && same_elements(&tt, &r, storage), "unsqueeze of t");
}

static void test_narrow_select(void)
{
    fm_tensor t, r;
    int64_t s[2] = {3, 4};
    fm_tensor_init(&t, storage, FM_FLOAT32, 2, s);
    CHECK(fm_view_narrow(&t, 1, 1, 2, &r) == FM_OK && base_off(&r, storage) == 1, "narrow");
    CHECK(fm_view_narrow(&t, 1, 4, 0, &r) == FM_OK && r.shape[1] == 0, "empty at the end");
    CHECK(fm_view_narrow(&t, 1, 5, 0, &r) == FM_EINDEX, "start past the end");
    CHECK(fm_view_narrow(&t, 1, 2, INT64_MAX, &r) == FM_EINDEX, "huge length (overflow)");
    CHECK(fm_view_narrow(&t, 1, INT64_MAX, 2, &r) == FM_EINDEX, "huge start (overflow)");
    CHECK(fm_view_narrow(&t, 2, 0, 1, &r) == FM_EINDEX, "dim");
    CHECK(fm_view_select(&t, 0, 2, &r) == FM_OK && r.ndim == 1 && base_off(&r, storage) == 8, "select");
    CHECK(fm_view_select(&t, 1, 4, &r) == FM_EINDEX, "select out of range");
    CHECK(fm_view_select(&t, 0, -1, &r) == FM_EINDEX, "select -1 (0-based API)");
    int d;
    CHECK(fm_dim_normalize(3, -1, &d, "x") == FM_OK && d == 2, "-1");
    CHECK(fm_dim_normalize(3, -4, &d, "x") == FM_EINDEX, "-4");
    CHECK(fm_dim_normalize(3, 3, &d, "x") == FM_EINDEX, "3");
}

int main(void)
{
    test_reshape_cases();
    test_reshape_bruteforce();
    test_expand();
    test_permute_squeeze();
    test_narrow_select();
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
