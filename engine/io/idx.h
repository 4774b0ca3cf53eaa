/* idx.h — IDX files, the format of MNIST and Fashion-MNIST (described on
 * yann.lecun.com/exdb/mnist): a 4-byte magic 0x0000TTNN (TT the element
 * type, NN the number of dimensions), NN big-endian uint32 sizes, then the
 * elements in row-major order. Images are 0x00000803 (n, rows, cols) and
 * labels 0x00000801 (n). Files may be gzip-compressed (the Debian package
 * dataset-fashion-mnist ships *-ubyte.gz): both are read through zlib's
 * gzread, which passes plain files through unchanged.
 *
 * Only unsigned bytes (TT = 0x08) are supported; they are read into an
 * FM_UINT8 tensor of the file's dimensions. Reading is two steps, as for
 * npy, so that the caller allocates the tensor:
 *
 *     fm_idx_header h;
 *     fm_idx_read_header(path, &h);      // ndim, shape
 *     ... allocate out (contiguous, FM_UINT8, h.ndim, h.shape) ...
 *     fm_idx_read_data(path, &out);      // re-reads the header, then the data
 *
 * Every problem gives FM_EIO with a message "<path>: <problem>": a missing
 * file, a bad magic, an unsupported type code, more than FM_MAX_DIMS
 * dimensions, sizes whose product overflows, truncated or trailing data,
 * corrupt gzip data.
 */
#ifndef FM_IDX_H
#define FM_IDX_H

#include "core/fm.h"

typedef struct {
    int ndim;
    int64_t shape[FM_MAX_DIMS];
} fm_idx_header;

fm_status fm_idx_read_header(const char *path, fm_idx_header *h);
/* out: contiguous FM_UINT8 with the shape of the file's header. */
fm_status fm_idx_read_data(const char *path, fm_tensor *out);

#endif
