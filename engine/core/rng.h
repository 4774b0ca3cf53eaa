/* rng.h — the seeded random generator of libfm.
 *
 * Counter-based (Philox4x32-10): the value at position i of a draw depends
 * only on (key, counter + i), so results never depend on how the work is split
 * over threads. Every draw advances the generator's counter by the number of
 * 128-bit blocks it consumed. fm_rng_global() is the generator fm.seed()
 * seeds; C users may keep their own fm_rng.
 */
#ifndef FM_RNG_H
#define FM_RNG_H

#include "core/fm.h"

typedef struct {
    uint64_t key;      /* from the seed */
    uint64_t counter;  /* next 128-bit block */
} fm_rng;

fm_rng *fm_rng_global(void);
void fm_rng_seed(fm_rng *rng, uint64_t seed);
/* Stream `stream` of a seed (docs/dist.md, "Random numbers"): stream 0 is
 * fm_rng_seed(seed); the others get keys unrelated to it and to each other
 * (rank r of a data-parallel job draws from stream r). */
void fm_rng_seed_stream(fm_rng *rng, uint64_t seed, uint64_t stream);

/* The Philox4x32-10 block function, Random123's philox4x32_R(10, ctr, key);
 * block i of a generator's stream is ctr = {counter + i (low, high), 0, 0},
 * key = {key (low, high)}. Exposed for known-answer tests. */
void fm_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The next raw values (for C users and tests). */
uint32_t fm_rng_u32(fm_rng *rng);
double fm_rng_uniform01(fm_rng *rng);   /* in [0, 1), 53 bits */
/* Two independent standard normals from one block (one Box-Muller pair). */
void fm_rng_normal01_pair(fm_rng *rng, double *z0, double *z1);
double fm_rng_normal01(fm_rng *rng);

/* Fill out (any shape, float dtype; written in row-major order). */
fm_status fm_rng_uniform(fm_rng *rng, fm_tensor *out, double lo, double hi);
fm_status fm_rng_normal(fm_rng *rng, fm_tensor *out, double mean, double std);
/* Integers in [lo, hi], both ends included, without modulo bias; out may be
 * int64 or float. */
fm_status fm_rng_randint(fm_rng *rng, fm_tensor *out, int64_t lo, int64_t hi);
/* out (n,) int64: a uniform random permutation of base .. base + n - 1. */
fm_status fm_rng_permutation(fm_rng *rng, fm_tensor *out, int64_t base);
/* probs (k,) or (m, k) non-negative weights (not necessarily normalised);
 * out (n,) or (m, n) int64 category indices (base-based), drawn with or
 * without replacement (without: n <= number of non-zero weights). */
fm_status fm_rng_multinomial(fm_rng *rng, const fm_tensor *probs,
                             bool replacement, int64_t base, fm_tensor *out);

#endif
