/* safetensors.h — the safetensors format (huggingface/safetensors): an
 * 8-byte little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}, ...,
 *    "__metadata__": {"key": "value", ...}}
 * then the data buffer; offsets are relative to the buffer, entries tile it
 * exactly. Supported dtypes: F32, F64, I64 and U8, and four stored types
 * (stored.h) read into a tensor dtype and written from it on request: I32
 * (int64), F16 and BF16 (float32, widened exactly, narrowed to nearest
 * even) and BOOL (uint8 0/1; any other byte is refused on reading).
 *
 * Reading is two steps so that nothing is allocated or changed before the
 * whole header is known to be valid:
 *
 *     fm_safetensors st;
 *     fm_safetensors_open(path, &st);        // reads + validates the header
 *     for (i < st.n) ... st.entries[i].name / dtype / ndim / shape ...
 *     fm_safetensors_read(&st, i, &out);     // out allocated by the caller
 *     fm_safetensors_close(&st);
 *
 * Every malformed file gives FM_EIO "<path>: <problem>".
 */
#ifndef FM_SAFETENSORS_H
#define FM_SAFETENSORS_H

#include <stdio.h>

#include "core/fm.h"
#include "io/stored.h"

typedef struct {
    char *name;
    fm_dtype dtype;          /* of the tensor to allocate (I32 -> FM_INT64) */
    fm_stored stored;        /* how the file stores it (I32: FM_STORED_I32) */
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    uint64_t begin, end;     /* byte range in the data buffer */
} fm_safetensors_entry;

typedef struct {
    char *path;
    FILE *f;
    uint64_t data_start;     /* 8 + header length */
    int n;                   /* entries, in the order of the file's header */
    fm_safetensors_entry *entries;
    int *by_name;            /* entry indices sorted by name (for _find) */
    int nmeta;               /* __metadata__ pairs */
    char **meta_keys, **meta_values;
} fm_safetensors;

/* Opens path and validates the whole header. On failure st is released. */
fm_status fm_safetensors_open(const char *path, fm_safetensors *st);
/* Index of the entry called name, or -1 (a binary search: O(log n)). */
int fm_safetensors_find(const fm_safetensors *st, const char *name);
/* Reads entry i into out (contiguous, the entry's dtype and shape). */
fm_status fm_safetensors_read(fm_safetensors *st, int i, fm_tensor *out);
/* Releases everything; safe to call twice and on a zeroed struct. */
void fm_safetensors_close(fm_safetensors *st);

/* The tag of a tensor of dtype stored as stored ("F32", "BF16", ...), or
 * NULL for a pair the format has no tag for. */
const char *fm_safetensors_tag(fm_dtype dtype, fm_stored stored);

/* Writes n named tensors (any strides) and nmeta metadata pairs atomically
 * (temporary file, fsync, rename). stored (NULL: each tensor's own dtype)
 * says how each is stored: NATIVE (F32/F64/I64/U8), I32 for int64, F16 or
 * BF16 for float32, BOOL for uint8 (FM_ETYPE for another pair, FM_EVALUE
 * naming the element for a value that does not fit). Names must be
 * distinct and not "__metadata__". */
fm_status fm_safetensors_write(const char *path, int n, const char *const *names,
                               const fm_tensor *const *tensors,
                               const fm_stored *stored, int nmeta,
                               const char *const *meta_keys,
                               const char *const *meta_values);

#endif
