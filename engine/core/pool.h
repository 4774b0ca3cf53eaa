/* pool.h — a persistent pool of worker threads for the engine's parallel
 * loops (the fused MLP, optimiser updates).
 *
 * fm_pool_run(parts, fn, ctx) calls fn(ctx, p) for p = 0 .. parts-1 and
 * returns when all have returned: part 0 on the caller's thread, the others
 * on workers that are created on first use and then live for the process.
 * Starting a thread per call cost ~55 us on the 2-core VM (plus a migration
 * to the idle CPU), a tenth of a 256-wide training step; waking a pool
 * worker costs about a microsecond while it still spins, and a futex wake-up
 * after it has gone to sleep (it spins for FM_POOL_SPIN_US after each job).
 *
 * Calls are serialised: a call made while another runs (from a second
 * application thread, or from inside fn) runs its parts one after the other
 * on the caller. A worker that cannot be created leaves its parts to the
 * caller, after part 0. After fork() the child starts with no workers.
 * Results never depend on which thread ran a part: callers split work by
 * shape alone.
 */
#ifndef FM_POOL_H
#define FM_POOL_H

#include <stdint.h>

#define FM_POOL_MAX_PARTS 8
/* How long an idle worker polls for the next job before it sleeps. */
#define FM_POOL_SPIN_US 300

typedef void (*fm_pool_fn)(void *ctx, int part);

/* Runs fn(ctx, p) for 0 <= p < parts (parts <= FM_POOL_MAX_PARTS;
 * larger values are clamped, parts < 1 does nothing). */
void fm_pool_run(int parts, fm_pool_fn fn, void *ctx);

/* The engine's thread budget: OpenBLAS's (openblas_get_num_threads, set by
 * OPENBLAS_NUM_THREADS or openblas_set_num_threads), but no more than the
 * CPUs the process may use (polling workers sharing a CPU would stall each
 * other), clamped to 1 .. FM_POOL_MAX_PARTS. Inside a part it is 1 (the fused MLP sets OpenBLAS
 * to one thread while its parts run). */
int fm_pool_threads(void);

/* Splits [0, n) into `parts` contiguous ranges by n alone: part p gets
 * [n p / parts, n (p + 1) / parts). */
void fm_pool_range(long long n, int parts, int p, long long *lo,
                   long long *hi);

/* The split of a long elementwise pass over n elements (optimiser updates,
 * the fused MLP's gradient sum): n >= FM_POOL_SPLIT_MIN elements are split
 * among fm_pool_threads() parts, smaller passes (which cost less than a
 * wake-up) are one part. fm_pool_split gives part p's range [lo, hi); the
 * parts start at multiples of 16 elements, so no cache line is shared. Two
 * passes over the same n give each part the same range, so a thread reads
 * in its own cache what it wrote in the previous pass. */
#define FM_POOL_SPLIT_MIN 16384
int fm_pool_split_parts(int64_t n);
void fm_pool_split(int64_t n, int parts, int p, int64_t *lo, int64_t *hi);

#endif
