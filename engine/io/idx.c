/* idx.c — the IDX reader of idx.h, over zlib's gz* functions (which read
 * gzip-compressed and plain files alike). */
#include "io/idx.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_UBYTE 0x08
#define IDX_CHUNK (1u << 24) /* bytes per gzread; interruption is polled between */

/* Opens path for gzread; FM_EIO naming the file unless it is a readable
 * regular file (gzopen would accept a directory and fail on the first read). */
static fm_status open_idx(const char *path, gzFile *f, uint64_t *size)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return fm_error(FM_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return fm_error(FM_EIO, "%s: not a regular file", path);
    errno = 0;
    *f = gzopen(path, "rb");
    if (!*f)
        return fm_error(FM_EIO, "%s: cannot open: %s", path,
                        errno ? strerror(errno) : "out of memory");
    gzbuffer(*f, 1u << 17);
    *size = (uint64_t)sb.st_size;
    return FM_OK;
}

/* Reads up to n bytes into buf; *got says how many arrived before the end
 * of the file. FM_EIO on corrupt gzip data (bad deflate data, bad CRC). */
static fm_status read_some(gzFile f, const char *path, void *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got < IDX_CHUNK ? n - *got : IDX_CHUNK;
        int r = gzread(f, (char *)buf + *got, (unsigned)want);
        if (r < 0) {
            int code;
            const char *msg = gzerror(f, &code);
            return fm_error(FM_EIO, "%s: corrupt gzip data (%s)", path, msg);
        }
        if (r == 0)
            break;
        *got += (size_t)r;
        if (fm_interrupted())
            return fm_error(FM_EINTERRUPT, "%s: reading interrupted", path);
    }
    return FM_OK;
}

/* Reads exactly n bytes of `what`; a short read is FM_EIO saying how much
 * was there, and whether the gzip stream itself was cut. */
static fm_status read_exact(gzFile f, const char *path, void *buf, size_t n,
                            const char *what)
{
    size_t got;
    fm_status st = read_some(f, path, buf, n, &got);
    if (st || got == n)
        return st;
    int code;
    gzerror(f, &code);
    return fm_error(FM_EIO, "%s: truncated %s (%zu of %zu bytes%s)", path, what, got, n,
                    code == Z_BUF_ERROR ? "; the gzip stream ends early" : "");
}

static uint32_t big_endian32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Deflate expands by at most 1032:1 (zlib's FAQ: a run of one byte), so a
 * gzip file of `size` bytes holds no more than this many. */
static uint64_t gzip_bound(uint64_t size)
{
    return size * 1032 + 1024;
}

/* The magic and the sizes, checked; the sizes also against the file's size
 * (exactly for a plain file, by the deflate bound for gzip), so that a
 * corrupt header never asks for a tensor of gigabytes. */
static fm_status read_header(gzFile f, const char *path, uint64_t size, fm_idx_header *h)
{
    unsigned char m[4 + 4 * FM_MAX_DIMS];
    fm_status st = read_exact(f, path, m, 4, "header");
    if (st)
        return st;
    if (m[0] != 0 || m[1] != 0)
        return fm_error(FM_EIO, "%s: not an IDX file (bad magic 0x%08x; 0x00000803 for "
                        "images or 0x00000801 for labels expected)", path, big_endian32(m));
    if (m[2] != IDX_UBYTE)
        return fm_error(FM_EIO, "%s: unsupported IDX type code 0x%02x (only 0x08, "
                        "unsigned bytes, is read)", path, m[2]);
    int ndim = m[3];
    if (ndim < 1 || ndim > FM_MAX_DIMS)
        return fm_error(FM_EIO, "%s: IDX file with %d dimensions (1 to %d supported)", path,
                        ndim, FM_MAX_DIMS);
    if ((st = read_exact(f, path, m + 4, 4 * (size_t)ndim, "header (the sizes)")))
        return st;
    h->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        h->shape[d] = big_endian32(m + 4 + 4 * d);
    fm_tensor t; /* only for fm_shape_str: the sizes may not make a tensor */
    t.ndim = ndim;
    memcpy(t.shape, h->shape, sizeof t.shape);
    char shape[FM_SHAPE_STR_MAX];
    fm_shape_str(&t, shape, sizeof shape);
    size_t nbytes;
    if (fm_shape_nbytes(FM_UINT8, ndim, h->shape, &nbytes))
        return fm_error(FM_EIO, "%s: sizes %s overflow or are too large (%s)", path, shape,
                        fm_last_error());
    uint64_t total = 4 + 4 * (uint64_t)ndim + nbytes;
    bool plain = gzdirect(f);
    if (plain && total < size)
        return fm_error(FM_EIO, "%s: bytes after the data for %s (the sizes do not match "
                        "the file: they need %llu bytes, the file has %llu)", path, shape,
                        (unsigned long long)total, (unsigned long long)size);
    if (plain ? total > size : total > gzip_bound(size))
        return fm_error(FM_EIO, "%s: truncated data for %s (the sizes need %llu bytes, %s "
                        "%llu bytes)", path, shape, (unsigned long long)total,
                        plain ? "the file has" : "more than 1032 times a gzip file of",
                        (unsigned long long)size);
    return FM_OK;
}

fm_status fm_idx_read_header(const char *path, fm_idx_header *h)
{
    memset(h, 0, sizeof *h);
    gzFile f;
    uint64_t size = 0;
    fm_status st = open_idx(path, &f, &size);
    if (st)
        return st;
    st = read_header(f, path, size, h);
    gzclose(f);
    return st;
}

/* The data of the header h into out, then nothing more: a byte after the
 * data means the sizes do not describe the file. */
static fm_status read_body(gzFile f, const char *path, const fm_idx_header *h,
                           fm_tensor *out)
{
    fm_tensor want;
    fm_tensor_init(&want, NULL, FM_UINT8, h->ndim, h->shape);
    if (!fm_tensor_same_shape(out, &want))
        return fm_error(FM_EIO, "%s: the file changed between reading its header "
                        "and its data", path);
    char s[FM_SHAPE_STR_MAX], what[FM_SHAPE_STR_MAX + 16];
    snprintf(what, sizeof what, "data for %s", fm_shape_str(&want, s, sizeof s));
    fm_status st = read_exact(f, path, out->data, fm_tensor_nbytes(out), what);
    if (st)
        return st;
    unsigned char extra;
    size_t got;
    if ((st = read_some(f, path, &extra, 1, &got))) /* also checks the gzip CRC */
        return st;
    if (got)
        return fm_error(FM_EIO, "%s: bytes after the data for %s (the sizes do not "
                        "match the file)", path, s);
    int code;
    gzerror(f, &code);
    if (code == Z_BUF_ERROR) /* all data there, the gzip trailer (CRC, length) cut */
        return fm_error(FM_EIO, "%s: truncated gzip stream (its trailer is missing)", path);
    return FM_OK;
}

fm_status fm_idx_read_data(const char *path, fm_tensor *out)
{
    if (out->dtype != FM_UINT8)
        return fm_error(FM_ETYPE, "%s: IDX bytes are read into uint8, got %s", path,
                        fm_dtype_name(out->dtype));
    if (!fm_tensor_is_contiguous(out))
        return fm_error(FM_ELAYOUT, "%s: reading needs a contiguous tensor", path);
    gzFile f;
    uint64_t size = 0;
    fm_status st = open_idx(path, &f, &size);
    if (st)
        return st;
    fm_idx_header h;
    memset(&h, 0, sizeof h);
    st = read_header(f, path, size, &h);
    if (!st)
        st = read_body(f, path, &h, out);
    gzclose(f);
    return st;
}
