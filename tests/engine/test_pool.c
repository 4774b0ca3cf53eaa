/* test_pool.c — the persistent worker pool (engine/pool.h): every part runs
 * exactly once per call, on the fast path (worker still polling), after the
 * worker went to sleep, nested, and in a forked child; ranges tile [0, n). */
#define _POSIX_C_SOURCE 200809L
#include "core/pool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); \
    printf("\n"); } } while (0)

typedef struct {
    atomic_int runs[FM_POOL_MAX_PARTS];
    long long sum[FM_POOL_MAX_PARTS];
    long long n;
    int parts;
} job;

/* Each part sums its range of 0..n-1 and counts its run. */
static void sum_part(void *ctx, int p)
{
    job *j = ctx;
    long long lo, hi, s = 0;
    fm_pool_range(j->n, j->parts, p, &lo, &hi);
    for (long long i = lo; i < hi; i++)
        s += i;
    j->sum[p] = s;
    atomic_fetch_add(&j->runs[p], 1);
}

/* Runs a call and checks it; returns 0 if all is well. */
static int run_and_check(int parts, long long n)
{
    job j;
    memset(&j, 0, sizeof j);
    j.n = n;
    j.parts = parts;
    fm_pool_run(parts, sum_part, &j);
    long long total = 0;
    int bad = 0;
    for (int p = 0; p < FM_POOL_MAX_PARTS; p++) {
        int want = p < parts ? 1 : 0;
        if (atomic_load(&j.runs[p]) != want)
            bad = 1;
        if (p < parts)
            total += j.sum[p];
    }
    if (total != (parts > 0 ? n * (n - 1) / 2 : 0))
        bad = 1;
    return bad;
}

static void test_parts(void)
{
    for (int parts = 0; parts <= FM_POOL_MAX_PARTS; parts++)
        CHECK(!run_and_check(parts, 1000 + parts), "parts %d", parts);
    /* more parts than FM_POOL_MAX_PARTS: clamped (pool.h), each runs once */
    job j;
    memset(&j, 0, sizeof j);
    j.n = 10;
    j.parts = FM_POOL_MAX_PARTS;
    fm_pool_run(FM_POOL_MAX_PARTS + 5, sum_part, &j);
    for (int p = 0; p < FM_POOL_MAX_PARTS; p++)
        CHECK(atomic_load(&j.runs[p]) == 1, "clamped call: part %d ran %d times",
              p, atomic_load(&j.runs[p]));
}

static void test_many_fast_calls(void)
{
    int bad = 0;
    for (int it = 0; it < 5000; it++)
        bad += run_and_check(2 + (it % 50 == 0), 257);
    CHECK(bad == 0, "%d of 5000 back-to-back calls went wrong", bad);
}

static void test_after_sleep(void)
{
    /* longer than FM_POOL_SPIN_US: the workers have gone to sleep */
    struct timespec pause = {0, (FM_POOL_SPIN_US + 700) * 1000L};
    int bad = 0;
    for (int it = 0; it < 30; it++) {
        nanosleep(&pause, NULL);
        bad += run_and_check(2, 5000);
    }
    CHECK(bad == 0, "%d of 30 calls after a sleep went wrong", bad);
}

static atomic_int nested_ok;

static void nested_part(void *ctx, int p)
{
    (void)ctx;
    (void)p;
    if (!run_and_check(3, 100))
        atomic_fetch_add(&nested_ok, 1);
}

static void test_nested(void)
{
    atomic_store(&nested_ok, 0);
    fm_pool_run(2, nested_part, NULL);
    CHECK(atomic_load(&nested_ok) == 2, "nested calls: %d of 2 correct",
          atomic_load(&nested_ok));
}

static void test_fork(void)
{
    run_and_check(2, 10); /* the parent has workers now */
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10); /* a hang in the child fails the test instead of blocking */
        int bad = 0;
        for (int it = 0; it < 100; it++)
            bad += run_and_check(2, 999);
        _exit(bad ? 1 : 0);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait failed");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "forked child: status %d", status);
}

static void test_range(void)
{
    long long ns[] = {0, 1, 7, 1000, 1001};
    for (int a = 0; a < 5; a++)
        for (int parts = 1; parts <= FM_POOL_MAX_PARTS; parts++) {
            long long next = 0;
            for (int p = 0; p < parts; p++) {
                long long lo, hi;
                fm_pool_range(ns[a], parts, p, &lo, &hi);
                CHECK(lo == next && hi >= lo, "range n=%lld parts=%d p=%d",
                      ns[a], parts, p);
                next = hi;
            }
            CHECK(next == ns[a], "ranges of %lld in %d parts end at %lld",
                  ns[a], parts, next);
        }
}

int main(void)
{
    test_range();
    test_parts();
    test_many_fast_calls();
    test_after_sleep();
    test_nested();
    test_fork();
    if (failures)
        printf("%d failure(s)\n", failures);
    else
        printf("ok\n");
    return failures != 0;
}
