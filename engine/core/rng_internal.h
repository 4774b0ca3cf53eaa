/* rng_internal.h — shared between rng.c and its vector paths
 * (rng_normal_f32.c). Not part of the engine's public API. */
#ifndef FM_RNG_INTERNAL_H
#define FM_RNG_INTERNAL_H

#include "core/rng.h"

#define FM_PHILOX_LANES 16

/* Blocks ctr .. ctr + FM_PHILOX_LANES - 1 of the stream of key, word j of
 * block ctr + l in w[j][l] (lanes computed side by side: the loops
 * vectorise). */
void fmi_philox_lanes(uint64_t key, uint64_t ctr,
                      uint32_t w[4][FM_PHILOX_LANES]);

/* n standard normals * std + mean into out (contiguous float32), advancing
 * the counter by ceil(n / 2) blocks exactly as fm_rng_normal does. */
void fmi_rng_normal_f32(fm_rng *rng, float *out, int64_t n, float mean,
                        float std);

#endif
