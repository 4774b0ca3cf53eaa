/* act_internal.h — private to act.c and act_avx512.c. */
#ifndef FM_OPS_ACT_INTERNAL_H
#define FM_OPS_ACT_INTERNAL_H
#include "ops/act.h"
/* float32 SiLU rows in place on AVX-512, as fm_act_rows with a bias; false
 * (nothing done) when the CPU lacks AVX-512. */
bool fmi_act_silu_avx512(int64_t rows, int64_t n, float *z, const float *b,
                         float *d);
#endif
