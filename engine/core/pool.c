/* pool.c — the persistent worker pool of pool.h.
 *
 * Each worker has its own `go` counter: the caller publishes fn/ctx, bumps
 * the counters of the workers that have a part (release), and the workers
 * decrement `pending` when done (release; the caller acquires). A worker
 * never reads fn/ctx unless its own counter moved, and the caller does not
 * write them again until `pending` is zero, so no job is seen twice or
 * half-written. An idle worker polls its counter for FM_POOL_SPIN_US, then
 * sleeps on a condition variable; the caller signals only when some worker
 * sleeps (the sleepers count and the counters are sequentially consistent,
 * so either the caller sees the sleeper or the sleeper sees its counter).
 */
#define _GNU_SOURCE
#include "core/pool.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    atomic_uint go;         /* bumped by the caller: run part `id` */
    unsigned seen0;         /* go when the thread was created */
    bool started;
    pthread_t thread;
} worker;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_int sleepers;
    atomic_int pending;     /* worker parts of the current call not done */
    atomic_flag busy;       /* a call is in progress */
    fm_pool_fn fn;
    void *ctx;
    worker w[FM_POOL_MAX_PARTS];
} pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .busy = ATOMIC_FLAG_INIT,
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e6 * (double)ts.tv_sec + 1e-3 * (double)ts.tv_nsec;
}

/* Waits until w->go differs from seen; returns its new value. */
static unsigned wait_for_job(worker *w, unsigned seen)
{
    double t0 = now_us();
    for (unsigned i = 1;; i++) {
        unsigned g = atomic_load_explicit(&w->go, memory_order_acquire);
        if (g != seen)
            return g;
        cpu_relax();
        if (i % 128 == 0 && now_us() - t0 > FM_POOL_SPIN_US)
            break;
    }
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add(&pool.sleepers, 1);
    unsigned g;
    while ((g = atomic_load(&w->go)) == seen)
        pthread_cond_wait(&pool.wake, &pool.lock);
    atomic_fetch_sub(&pool.sleepers, 1);
    pthread_mutex_unlock(&pool.lock);
    return g;
}

static void *worker_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    worker *w = &pool.w[id];
    unsigned seen = w->seen0;
    for (;;) {
        seen = wait_for_job(w, seen);
        pool.fn(pool.ctx, id);
        atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
    }
    return NULL;
}

/* In a forked child the workers are gone: start afresh. */
static void reset_after_fork(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    atomic_store(&pool.sleepers, 0);
    atomic_store(&pool.pending, 0);
    atomic_flag_clear(&pool.busy);
    for (int p = 0; p < FM_POOL_MAX_PARTS; p++)
        pool.w[p].started = false;
}

static void register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, reset_after_fork);
}

static void start_worker(int id)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork_handler);
    worker *w = &pool.w[id];
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    w->seen0 = atomic_load(&w->go);
    w->started = pthread_create(&w->thread, &attr, worker_main,
                                (void *)(intptr_t)id) == 0;
    pthread_attr_destroy(&attr);
}

void fm_pool_run(int parts, fm_pool_fn fn, void *ctx)
{
    if (parts > FM_POOL_MAX_PARTS)
        parts = FM_POOL_MAX_PARTS;
    if (parts < 1)
        return;
    if (parts == 1 || atomic_flag_test_and_set(&pool.busy)) {
        for (int p = 0; p < parts; p++)
            fn(ctx, p);
        return;
    }
    int on_workers = 0;
    for (int p = 1; p < parts; p++) {
        if (!pool.w[p].started)
            start_worker(p);
        on_workers += pool.w[p].started;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    atomic_store(&pool.pending, on_workers);
    for (int p = 1; p < parts; p++)
        if (pool.w[p].started)
            atomic_fetch_add(&pool.w[p].go, 1);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    fn(ctx, 0);
    for (int p = 1; p < parts; p++)
        if (!pool.w[p].started)
            fn(ctx, p);
    for (unsigned i = 1;
         atomic_load_explicit(&pool.pending, memory_order_acquire) > 0; i++) {
        if (i % 1024 == 0)
            sched_yield();
        else
            cpu_relax();
    }
    atomic_flag_clear(&pool.busy);
}

void fm_pool_range(long long n, int parts, int p, long long *lo,
                   long long *hi)
{
    *lo = n * p / parts;
    *hi = n * (p + 1) / parts;
}

/* CPUs this process may run on (its affinity mask), read once. */
static int usable_cpus(void)
{
    static atomic_int cached;
    int n = atomic_load(&cached);
    if (n > 0)
        return n;
    cpu_set_t set;
    n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (n < 1) {
        long k = sysconf(_SC_NPROCESSORS_ONLN);
        n = k > 0 ? (int)k : 1;
    }
    atomic_store(&cached, n);
    return n;
}

int fm_pool_threads(void)
{
    int n = openblas_get_num_threads(), cpus = usable_cpus();
    n = n < cpus ? n : cpus;
    return n < 1 ? 1 : n > FM_POOL_MAX_PARTS ? FM_POOL_MAX_PARTS : n;
}

int fm_pool_split_parts(int64_t n)
{
    return n >= FM_POOL_SPLIT_MIN ? fm_pool_threads() : 1;
}

void fm_pool_split(int64_t n, int parts, int p, int64_t *lo, int64_t *hi)
{
    long long a, b;
    fm_pool_range((n + 15) / 16, parts, p, &a, &b);
    *lo = a * 16 < n ? a * 16 : n;
    *hi = b * 16 < n ? b * 16 : n;
}
