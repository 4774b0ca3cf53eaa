/* npy.c — NumPy .npy reader and writer (format described in
 * numpy/lib/format.py: magic "\x93NUMPY", version, little-endian header
 * length, then a Python dict literal padded with spaces and '\n'). */
#include "io/npy.h"
#include "ops/ops.h"
#include "core/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/fileio.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_HEADER (1u << 20) /* numpy itself refuses much less */
#define NPY_ALIGN 64

/* ---- header dict parsing ------------------------------------------------ */

typedef struct {
    const char *s, *end, *path;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r'))
        c->s++;
}

static bool accept(cursor *c, char ch)
{
    skip_ws(c);
    if (c->s < c->end && *c->s == ch) {
        c->s++;
        return true;
    }
    return false;
}

/* A quoted Python string without escapes or control characters (numpy
 * refuses '<f4\x00'), copied into buf. */
static fm_status parse_str(cursor *c, char *buf, size_t size)
{
    skip_ws(c);
    if (c->s >= c->end || (*c->s != '\'' && *c->s != '"'))
        return fm_error(FM_EIO, "%s: bad header dict (string expected)", c->path);
    char q = *c->s++;
    size_t n = 0;
    while (c->s < c->end && *c->s != q) {
        if (*c->s == '\\' || n + 1 >= size)
            return fm_error(FM_EIO, "%s: bad header dict (unsupported string)", c->path);
        if ((unsigned char)*c->s < 0x20 || *c->s == 0x7f) /* a NUL would cut it short */
            return fm_error(FM_EIO, "%s: bad header dict (control character 0x%02x in a "
                            "string)", c->path, (unsigned char)*c->s);
        buf[n++] = *c->s++;
    }
    if (c->s >= c->end)
        return fm_error(FM_EIO, "%s: bad header dict (unterminated string)", c->path);
    c->s++;
    buf[n] = 0;
    return FM_OK;
}

static fm_status parse_bool(cursor *c, bool *v)
{
    skip_ws(c);
    size_t left = (size_t)(c->end - c->s);
    if (left >= 4 && memcmp(c->s, "True", 4) == 0) {
        c->s += 4;
        *v = true;
    } else if (left >= 5 && memcmp(c->s, "False", 5) == 0) {
        c->s += 5;
        *v = false;
    } else {
        return fm_error(FM_EIO, "%s: bad header dict (True or False expected)", c->path);
    }
    return FM_OK;
}

/* A tuple of non-negative integers: (), (5,), (3, 4). */
static fm_status parse_shape(cursor *c, fm_npy_header *h)
{
    if (!accept(c, '('))
        return fm_error(FM_EIO, "%s: bad header dict (shape tuple expected)", c->path);
    h->ndim = 0;
    while (!accept(c, ')')) {
        skip_ws(c);
        int64_t v = 0;
        int digits = 0;
        while (c->s < c->end && *c->s >= '0' && *c->s <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return fm_error(FM_EIO, "%s: bad header dict (shape too large)", c->path);
            v = v * 10 + (*c->s++ - '0');
            digits++;
        }
        if (c->s < c->end && *c->s == 'L') /* Python 2 long literal */
            c->s++;
        if (!digits)
            return fm_error(FM_EIO, "%s: bad header dict (shape is not a tuple of integers)",
                            c->path);
        if (h->ndim == FM_MAX_DIMS)
            return fm_error(FM_EIO, "%s: more than %d dimensions", c->path, FM_MAX_DIMS);
        h->shape[h->ndim++] = v;
        if (!accept(c, ',')) {
            if (!accept(c, ')'))
                return fm_error(FM_EIO, "%s: bad header dict (unterminated shape)", c->path);
            break;
        }
    }
    return FM_OK;
}

/* The descrs read, the tensor dtype each is read into and how it is stored
 * (numpy's bools are the bytes 0 and 1; '<f2' is IEEE half). */
static const struct {
    const char *descr;
    fm_dtype dtype;
    fm_stored stored;
} DESCRS[] = {
    {"<f4", FM_FLOAT32, FM_STORED_NATIVE}, {"<f8", FM_FLOAT64, FM_STORED_NATIVE},
    {"<i8", FM_INT64, FM_STORED_NATIVE},   {"|u1", FM_UINT8, FM_STORED_NATIVE},
    {"<i4", FM_INT64, FM_STORED_I32},      {"<f2", FM_FLOAT32, FM_STORED_F16},
    {"|b1", FM_UINT8, FM_STORED_BOOL},     {"<u1", FM_UINT8, FM_STORED_NATIVE},
};
#define NDESCRS (sizeof DESCRS / sizeof *DESCRS)

static fm_status set_descr(cursor *c, const char *descr, fm_npy_header *h)
{
    for (size_t i = 0; i < NDESCRS; i++)
        if (strcmp(descr, DESCRS[i].descr) == 0) {
            h->dtype = DESCRS[i].dtype;
            h->stored = DESCRS[i].stored;
            return FM_OK;
        }
    return fm_error(FM_EIO, "%s: unsupported dtype '%s' (supported: <f4 <f8 <i8 <i4 "
                    "|u1 |b1 <f2)", c->path, descr);
}

/* {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } in any order. */
static fm_status parse_dict(cursor *c, fm_npy_header *h)
{
    bool seen_descr = false, seen_order = false, seen_shape = false;
    if (!accept(c, '{'))
        return fm_error(FM_EIO, "%s: bad header dict (no '{')", c->path);
    while (!accept(c, '}')) {
        char key[32], descr[32];
        fm_status st = parse_str(c, key, sizeof key);
        if (st)
            return st;
        if (!accept(c, ':'))
            return fm_error(FM_EIO, "%s: bad header dict (':' expected after '%s')",
                            c->path, key);
        bool *seen = NULL;
        if (strcmp(key, "descr") == 0) {
            seen = &seen_descr;
            st = parse_str(c, descr, sizeof descr);
            if (!st)
                st = set_descr(c, descr, h);
        } else if (strcmp(key, "fortran_order") == 0) {
            seen = &seen_order;
            st = parse_bool(c, &h->fortran);
        } else if (strcmp(key, "shape") == 0) {
            seen = &seen_shape;
            st = parse_shape(c, h);
        } else {
            return fm_error(FM_EIO, "%s: bad header dict (unknown key '%s')", c->path, key);
        }
        if (st)
            return st;
        if (*seen)
            return fm_error(FM_EIO, "%s: bad header dict (key '%s' twice)", c->path, key);
        *seen = true;
        if (!accept(c, ',')) {
            if (!accept(c, '}'))
                return fm_error(FM_EIO, "%s: bad header dict (',' or '}' expected)", c->path);
            break;
        }
    }
    if (!seen_descr || !seen_order || !seen_shape)
        return fm_error(FM_EIO, "%s: bad header dict (missing %s)", c->path,
                        !seen_descr ? "'descr'" : !seen_order ? "'fortran_order'" : "'shape'");
    skip_ws(c);
    if (c->s != c->end)
        return fm_error(FM_EIO, "%s: bad header dict (trailing characters)", c->path);
    return FM_OK;
}

/* ---- reading ------------------------------------------------------------ */

static fm_status read_header(FILE *f, const char *path, uint64_t size,
                             fm_npy_header *h)
{
    unsigned char pre[12];
    fm_status st = fm_file_read_at(f, path, 0, pre, 10, "header (file too short)");
    if (st)
        return st;
    if (memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return fm_error(FM_EIO, "%s: not a .npy file (bad magic)", path);
    unsigned major = pre[6];
    uint64_t hlen, start;
    if (major == 1) {
        hlen = pre[8] | (uint64_t)pre[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        st = fm_file_read_at(f, path, 0, pre, 12, "header (file too short)");
        if (st)
            return st;
        hlen = pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 |
               (uint64_t)pre[11] << 24;
        start = 12;
    } else {
        return fm_error(FM_EIO, "%s: unsupported .npy format version %u.%u", path,
                        major, pre[7]);
    }
    if (hlen > NPY_MAX_HEADER || start + hlen > size)
        return fm_error(FM_EIO, "%s: truncated header (%llu header bytes, file of %llu)",
                        path, (unsigned long long)hlen, (unsigned long long)size);
    char *text = malloc(hlen + 1);
    if (!text)
        return fm_error(FM_ENOMEM, "%s: out of memory", path);
    st = fm_file_read_at(f, path, start, text, hlen, "header");
    if (!st) {
        cursor c = {text, text + hlen, path};
        st = parse_dict(&c, h);
    }
    free(text);
    if (st)
        return st;
    h->data_offset = start + hlen;
    size_t nbytes;
    if (fm_shape_nbytes(h->dtype, h->ndim, h->shape, &nbytes))
        return fm_error(FM_EIO, "%s: bad shape: %s", path, fm_last_error());
    uint64_t want = nbytes / fm_dtype_size(h->dtype) * fm_stored_size(h->stored, h->dtype);
    if (size - h->data_offset != want)
        return fm_error(FM_EIO, "%s: shape/data size mismatch (%s data of %llu bytes "
                        "expected, file has %llu)%s", path,
                        fm_stored_name(h->stored, h->dtype), (unsigned long long)want,
                        (unsigned long long)(size - h->data_offset),
                        size - h->data_offset < want ? ": truncated data" : "");
    return FM_OK;
}

fm_status fm_npy_read_header(const char *path, fm_npy_header *h)
{
    memset(h, 0, sizeof *h);
    FILE *f;
    uint64_t size;
    fm_status st = fm_file_check_endian(path);
    if (!st)
        st = fm_file_open_read(path, &f, &size);
    if (st)
        return st;
    st = read_header(f, path, size, h);
    fclose(f);
    return st;
}

/* Column-major data (fortran_order True: numpy writes it for F-contiguous
 * arrays, e.g. np.save of a transposed array): read as the C-ordered array
 * of the reversed shape, then copy its reversed-axes view into out. */
static fm_status read_fortran(FILE *f, const char *path, const fm_npy_header *h,
                              fm_tensor *out)
{
    int64_t rshape[FM_MAX_DIMS];
    int perm[FM_MAX_DIMS];
    for (int d = 0; d < h->ndim; d++) {
        rshape[d] = h->shape[h->ndim - 1 - d];
        perm[d] = h->ndim - 1 - d;
    }
    fm_tensor colmajor, view;
    fm_status st = fm_tensor_alloc(&colmajor, h->dtype, h->ndim, rshape);
    if (st)
        return fm_error(FM_ENOMEM, "%s: out of memory for a fortran-order array", path);
    st = fm_file_read_tensor(f, path, h->data_offset, h->stored, &colmajor);
    if (!st)
        st = fm_view_permute(&colmajor, perm, &view);
    if (!st)
        st = fm_copy(out, &view);
    fm_tensor_free(&colmajor);
    return st;
}

fm_status fm_npy_read_data(const char *path, fm_tensor *out)
{
    FILE *f;
    uint64_t size;
    fm_npy_header h;
    memset(&h, 0, sizeof h);
    fm_status st = fm_file_open_read(path, &f, &size);
    if (st)
        return st;
    st = read_header(f, path, size, &h);
    if (!st) {
        fm_tensor want;
        fm_tensor_init(&want, NULL, h.dtype, h.ndim, h.shape);
        if (out->dtype != h.dtype || !fm_tensor_same_shape(out, &want))
            st = fm_error(FM_EIO, "%s: the file changed between reading its header "
                          "and its data", path);
    }
    if (!st && h.fortran)
        st = read_fortran(f, path, &h, out);
    else if (!st)
        st = fm_file_read_tensor(f, path, h.data_offset, h.stored, out);
    fclose(f);
    return st;
}

/* ---- writing ------------------------------------------------------------ */

static const char *descr_of(const fm_tensor *t, fm_stored stored)
{
    for (size_t i = 0; i < NDESCRS; i++)
        if (DESCRS[i].dtype == t->dtype && DESCRS[i].stored == stored)
            return DESCRS[i].descr;
    return NULL; /* bfloat16: numpy has no such dtype */
}

/* The version 1.0 preamble + dict, padded so the data starts at a multiple
 * of 64 bytes (as numpy does). Returns the total length. */
static size_t format_header(const fm_tensor *t, fm_stored stored, char *buf, size_t size)
{
    char shape[FM_SHAPE_STR_MAX];
    int n = snprintf(buf + 10, size - 10, "{'descr': '%s', 'fortran_order': False, "
                     "'shape': %s, }", descr_of(t, stored), fm_shape_str(t, shape, sizeof shape));
    size_t total = 10 + (size_t)n + 1; /* + '\n' */
    size_t padded = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    memset(buf + 10 + n, ' ', padded - total);
    buf[padded - 1] = '\n';
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    uint16_t hlen = (uint16_t)(padded - 10);
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    return padded;
}

fm_status fm_npy_write(const char *path, const fm_tensor *t, fm_stored stored)
{
    fm_status st = fm_file_check_endian(path);
    if (st)
        return st;
    if (!fm_stored_fits(stored, t->dtype) || !descr_of(t, stored))
        return fm_error(FM_ETYPE, "%s: a %s tensor cannot be saved as %s in .npy", path,
                        fm_dtype_name(t->dtype), fm_stored_name(stored, t->dtype));
    char header[512];
    size_t hlen = format_header(t, stored, header, sizeof header);
    fm_atomic_file af;
    st = fm_atomic_open(&af, path);
    if (st)
        return st;
    st = fm_atomic_write(&af, header, hlen);
    if (!st)
        st = fm_atomic_write_tensor(&af, t, stored);
    if (st) {
        fm_atomic_abort(&af);
        return st;
    }
    return fm_atomic_commit(&af);
}
