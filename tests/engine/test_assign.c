/* test_assign.c — fm_assign_solve against brute force over all injections
 * (n <= m <= 7), on random real costs, integer costs with many ties, zero
 * and negative costs, rectangular shapes; plus error cases and
 * fm_assign_points on permuted, translated copies. */
#include "eval/assign.h"
#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* Minimum over all injections rows -> columns, by depth-first search. */
static void brute(const double *c, int64_t n, int64_t m, int64_t row,
                  unsigned used, double acc, double *best)
{
    if (row == n) { if (acc < *best) *best = acc; return; }
    for (int64_t j = 0; j < m; j++)
        if (!(used & (1u << j)))
            brute(c, n, m, row + 1, used | (1u << j), acc + c[row * m + j], best);
}

/* kind 0: uniform reals in [-1, 1); 1: integers 0..3 (many ties);
 * 2: all zero; 3: integers 0..1000 */
static void fill(fm_rng *r, double *c, int64_t k, int kind)
{
    for (int64_t i = 0; i < k; i++) {
        double u = fm_rng_uniform01(r);
        c[i] = kind == 0 ? 2 * u - 1 : kind == 1 ? floor(4 * u)
             : kind == 2 ? 0.0 : floor(1001 * u);
    }
}

static void test_brute(void)
{
    fm_rng r;
    fm_rng_seed(&r, 42);
    double c[64];
    int64_t perm[8];
    int trials = 0;
    for (int t = 0; t < 3000; t++) {
        int64_t n = 1 + (int64_t)(fm_rng_uniform01(&r) * 7);
        int64_t m = n + (int64_t)(fm_rng_uniform01(&r) * (8 - n));
        if (m > 7) m = 7;
        if (n > m) n = m;
        int kind = t % 4;
        fill(&r, c, n * m, kind);
        double total = NAN, best = INFINITY;
        fm_status st = fm_assign_solve(c, n, m, perm, &total);
        CHECK(st == FM_OK, "status %d: %s", st, fm_last_error());
        brute(c, n, m, 0, 0, 0.0, &best);
        /* integer kinds are exact; reals: sums of <= 7 terms in [-1, 1], so
         * different summation orders differ by < 1e-15 */
        CHECK(fabs(total - best) <= 1e-12, "n=%lld m=%lld kind %d: %.17g vs "
              "brute %.17g", (long long)n, (long long)m, kind, total, best);
        /* perm is an injection and total is its cost */
        unsigned used = 0;
        double sum = 0;
        for (int64_t i = 0; i < n; i++) {
            CHECK(perm[i] >= 0 && perm[i] < m && !(used & (1u << perm[i])),
                  "not an injection");
            used |= 1u << perm[i];
            sum += c[i * m + perm[i]];
        }
        CHECK(sum == total, "total %.17g != cost of perm %.17g", total, sum);
        trials++;
    }
    printf("brute force: %d trials\n", trials);
}

static void test_errors(void)
{
    double c[4] = { 1, 2, NAN, 4 };
    int64_t p[2];
    CHECK(fm_assign_solve(c, 2, 2, p, NULL) == FM_EVALUE, "NaN accepted");
    CHECK(strstr(fm_last_error(), "(2, 2)") != NULL, "msg %s", fm_last_error());
    c[2] = INFINITY;
    CHECK(fm_assign_solve(c, 2, 2, p, NULL) == FM_EVALUE, "inf accepted");
    c[2] = 3;
    CHECK(fm_assign_solve(c, 2, 1, p, NULL) == FM_ESHAPE, "n > m accepted");
    double tot = -1;
    CHECK(fm_assign_solve(c, 0, 3, p, &tot) == FM_OK && tot == 0, "n = 0");
}

/* b[pi[i]] = a[i] + t. For any matching s, sum |a_i - b_s(i)|^2 =
 * sum |a_i - a_s'(i)|^2 + n|t|^2 (cross term sums to 0), so the optimum
 * undoes pi (unique for distinct points) and costs n|t|^2, up to float32
 * rounding of b (relative 2^-24 per coordinate -> 1e-5 on the total). */
static void test_points(void)
{
    fm_rng r;
    fm_rng_seed(&r, 7);
    enum { N = 300, D = 3 };
    fm_tensor a, b, p;
    int64_t sa[2] = { N, D }, sp[1] = { N };
    fm_tensor_alloc(&a, FM_FLOAT64, 2, sa);
    fm_tensor_alloc(&b, FM_FLOAT32, 2, sa);
    fm_tensor_alloc(&p, FM_INT64, 1, sp);
    fm_rng_normal(&r, &a, 0, 1);
    fm_rng_permutation(&r, &p, 0);
    const int64_t *pi = p.data;
    const double *ad = a.data;
    const double t[D] = { 0.25, -0.5, 0.125 };
    for (int64_t i = 0; i < N; i++)
        for (int k = 0; k < D; k++)
            ((float *)b.data)[pi[i] * D + k] = (float)(ad[i * D + k] + t[k]);
    int64_t perm[N];
    double cost;
    fm_status st = fm_assign_points(&a, &b, perm, &cost);
    CHECK(st == FM_OK, "%s", fm_last_error());
    int ok = 1;
    for (int64_t i = 0; i < N; i++) ok &= perm[i] == pi[i];
    CHECK(ok, "permutation not recovered");
    double want = N * (t[0] * t[0] + t[1] * t[1] + t[2] * t[2]);
    CHECK(fabs(cost - want) <= 1e-5 * want, "cost %.10g want %.10g", cost, want);
    fm_tensor_free(&a); fm_tensor_free(&b); fm_tensor_free(&p);
}

int main(void)
{
    test_brute();
    test_errors();
    test_points();
    if (failures) { fprintf(stderr, "%d failures\n", failures); return 1; }
    puts("ok");
    return 0;
}
