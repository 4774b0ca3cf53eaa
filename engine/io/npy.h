/* npy.h — NumPy .npy files (format versions 1.0, 2.0 and 3.0 read; 1.0
 * written, 2.0 when the header needs it).
 *
 * Supported dtypes: '<f4' (float32), '<f8' (float64), '<i8' (int64), '|u1'
 * (uint8), and three stored types (stored.h) read into a tensor dtype and
 * written from it on request: '<i4' (int32 <-> int64), '<f2' (IEEE half <->
 * float32) and '|b1' (bool <-> uint8 0/1; other bytes refused). Files are
 * written in C order; column-major files (fortran_order True, which numpy
 * writes for F-contiguous arrays such as a transpose) are read into C order.
 * Reading is two steps so that the caller allocates
 * the tensor where it likes (the Lua bindings: inside a userdata):
 *
 *     fm_npy_header h;
 *     fm_npy_read_header(path, &h);            // dtype, ndim, shape
 *     ... allocate out (contiguous, h.dtype, h.ndim, h.shape) ...
 *     fm_npy_read_data(path, &out);            // re-checks the header
 *
 * Every malformed file gives FM_EIO with a message "<path>: <problem>".
 */
#ifndef FM_NPY_H
#define FM_NPY_H

#include "core/fm.h"
#include "io/stored.h"

typedef struct {
    fm_dtype dtype;        /* of the tensor to allocate ('<i4' -> FM_INT64) */
    fm_stored stored;      /* how the file stores it ('<i4': FM_STORED_I32) */
    bool fortran;          /* data in column-major order (read transposed) */
    int ndim;
    int64_t shape[FM_MAX_DIMS];
    uint64_t data_offset;  /* bytes before the data */
} fm_npy_header;

fm_status fm_npy_read_header(const char *path, fm_npy_header *h);
/* out: contiguous, with the dtype and shape of the file's header. */
fm_status fm_npy_read_data(const char *path, fm_tensor *out);
/* Writes t (any strides) atomically (temporary file, fsync, rename), its
 * elements stored as `stored`: FM_STORED_NATIVE, or I32 for int64 ('<i4'),
 * F16 for float32 ('<f2'), BOOL for uint8 ('|b1'); FM_ETYPE for another
 * pair, FM_EVALUE naming the element a value that does not fit. */
fm_status fm_npy_write(const char *path, const fm_tensor *t, fm_stored stored);

#endif
