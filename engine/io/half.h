/* half.h — the two 16-bit float formats of model files, as bit patterns:
 * IEEE 754 binary16 ("float16", numpy's float16, safetensors F16, npy '<f2')
 * and bfloat16 (safetensors BF16: the top 16 bits of a float32).
 *
 * Widening to float32 is exact for every pattern: subnormals, infinities
 * and NaN payloads (shifted, never quieted) included, as numpy's
 * float16 -> float32 cast. Narrowing rounds to nearest, ties to even; see
 * half.c for overflow and NaN (docs/files.md).
 */
#ifndef FM_HALF_H
#define FM_HALF_H

#include <stdint.h>

float fm_f16_to_f32(uint16_t h);
float fm_bf16_to_f32(uint16_t b);
uint16_t fm_f32_to_f16(float f);
uint16_t fm_f32_to_bf16(float f);

#endif
