/* stored.h — how a file stores a tensor's elements when that is not the
 * tensor's own dtype, and the conversions both ways (npy and safetensors
 * share them; docs/files.md).
 *
 *   stored           on disk                     tensor   writing (narrowing)
 *   FM_STORED_NATIVE the dtype's own bytes       any      a copy
 *   FM_STORED_I32    int32                       int64    FM_EVALUE out of range
 *   FM_STORED_F16    IEEE binary16               float32  nearest even, inf past 65504
 *   FM_STORED_BF16   bfloat16                    float32  nearest even
 *   FM_STORED_BOOL   bytes 0 and 1               uint8    FM_EVALUE for other bytes
 *
 * Reading widens exactly; a BOOL byte other than 0 or 1 is refused (the
 * reference readers never make one). FM_STORED_NATIVE is 0 and
 * FM_STORED_I32 is 1, so the writers' old "as int32" flag means the same.
 */
#ifndef FM_STORED_H
#define FM_STORED_H

#include "core/fm.h"

typedef enum {
    FM_STORED_NATIVE = 0,
    FM_STORED_I32 = 1,
    FM_STORED_F16,
    FM_STORED_BF16,
    FM_STORED_BOOL,
} fm_stored;
#define FM_STORED_COUNT 5

/* Bytes per element on disk (dtype is the tensor's, used for NATIVE). */
size_t fm_stored_size(fm_stored s, fm_dtype dtype);
/* "int32", "float16", "bfloat16", "bool", or dtype's name for NATIVE. */
const char *fm_stored_name(fm_stored s, fm_dtype dtype);
/* Whether a tensor of dtype can be stored as s (NATIVE: always). */
bool fm_stored_fits(fm_stored s, fm_dtype dtype);

/* Converts n file elements at src into n dtype elements at dst, in order.
 * dst may overlap src when src sits at the end of dst's bytes (a file read
 * into the top of the tensor, then widened in place). Returns -1, or the
 * index of the first element that is not valid (a BOOL byte > 1), which is
 * left unconverted. */
int64_t fm_stored_widen(fm_stored s, fm_dtype dtype, const void *src, void *dst,
                        int64_t n);
/* Converts n contiguous dtype elements at src into n file elements at dst,
 * in order; dst may equal src (narrowing in place). Returns -1, or the index
 * of the first value the file type cannot hold (int32 range, BOOL 0/1),
 * which is left unconverted, as is src from it on. */
int64_t fm_stored_narrow(fm_stored s, fm_dtype dtype, const void *src, void *dst,
                         int64_t n);

#endif
