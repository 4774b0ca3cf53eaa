/* test_idx.c — the IDX reader on tiny hand-made files, plain and gzipped
 * (written here with zlib's gzopen): images (3-d) and labels (1-d) read
 * exactly, and every malformed file (missing, a directory, bad magic,
 * unsupported type code, 0 or too many dimensions, sizes that overflow,
 * truncated header or data, trailing bytes, a cut or corrupt gzip stream)
 * fails with FM_EIO naming the file, never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/fm.h"
#include "io/idx.h"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, " [%s]\n", fm_last_error()); } } while (0)

static char dir[] = "/tmp/fm_test_idx_XXXXXX";
static char path[256];

/* An IDX file in memory: the magic, big-endian sizes, then the data. */
typedef struct {
    unsigned char b[512];
    size_t n;
} idx_bytes;

static void put32(idx_bytes *f, uint32_t v)
{
    for (int k = 3; k >= 0; k--)
        f->b[f->n++] = (unsigned char)(v >> (8 * k));
}

static idx_bytes make_idx(uint32_t magic, int ndim, const uint32_t *sizes,
                          size_t ndata)
{
    idx_bytes f = {{0}, 0};
    put32(&f, magic);
    for (int d = 0; d < ndim; d++)
        put32(&f, sizes[d]);
    for (size_t i = 0; i < ndata; i++)
        f.b[f.n++] = (unsigned char)(i * 7 + 1);
    return f;
}

static const char *file_path(const char *name)
{
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void write_plain(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

static void write_gz(const char *p, const void *data, size_t n)
{
    gzFile f = gzopen(p, "wb9");
    if (f) {
        gzwrite(f, data, (unsigned)n);
        gzclose(f);
    }
}

/* Reads p fully into a new tensor (freed by the caller on FM_OK). */
static fm_status load(const char *p, fm_tensor *t)
{
    fm_idx_header h;
    fm_status st = fm_idx_read_header(p, &h);
    if (st)
        return st;
    if ((st = fm_tensor_alloc(t, FM_UINT8, h.ndim, h.shape)))
        return st;
    if ((st = fm_idx_read_data(p, t)))
        fm_tensor_free(t);
    return st;
}

/* load fails with FM_EIO, naming the file and saying `what`. */
static void expect_eio(const char *p, const char *what)
{
    fm_tensor t;
    fm_status st = load(p, &t);
    CHECK(st == FM_EIO && strstr(fm_last_error(), p) && strstr(fm_last_error(), what),
          "%s: FM_EIO with '%s' expected, got %s", p, what, fm_status_name(st));
    if (st == FM_OK)
        fm_tensor_free(&t);
}

static void test_read(bool gz)
{
    uint32_t ims[3] = {2, 3, 4}, labs[1] = {5};
    idx_bytes im = make_idx(0x00000803, 3, ims, 24), lab = make_idx(0x00000801, 1, labs, 5);
    const char *p = file_path(gz ? "images.gz" : "images");
    (gz ? write_gz : write_plain)(p, im.b, im.n);
    fm_tensor t;
    CHECK(load(p, &t) == FM_OK, "read images (%s)", gz ? "gzip" : "plain");
    if (t.data) {
        CHECK(t.dtype == FM_UINT8 && t.ndim == 3 && t.shape[0] == 2 && t.shape[1] == 3 &&
              t.shape[2] == 4, "images shape");
        CHECK(memcmp(t.data, im.b + 16, 24) == 0, "images data");
        fm_tensor_free(&t);
    }
    p = file_path(gz ? "labels.gz" : "labels");
    (gz ? write_gz : write_plain)(p, lab.b, lab.n);
    CHECK(load(p, &t) == FM_OK, "read labels");
    if (t.data) {
        CHECK(t.ndim == 1 && t.shape[0] == 5 && memcmp(t.data, lab.b + 8, 5) == 0, "labels");
        fm_tensor_free(&t);
    }
    /* an empty set of images is a valid file */
    uint32_t none[3] = {0, 28, 28};
    idx_bytes e = make_idx(0x00000803, 3, none, 0);
    p = file_path(gz ? "empty.gz" : "empty");
    (gz ? write_gz : write_plain)(p, e.b, e.n);
    CHECK(load(p, &t) == FM_OK && t.shape[0] == 0 && t.shape[1] == 28, "empty");
    if (t.data)
        fm_tensor_free(&t);
}

static void test_malformed(bool gz)
{
    void (*put)(const char *, const void *, size_t) = gz ? write_gz : write_plain;
    uint32_t s3[3] = {2, 3, 4};
    idx_bytes f = make_idx(0x00000803, 3, s3, 24);
    const char *p = file_path("bad");
    idx_bytes m = f;
    m.b[0] = 0x1f; /* the first two bytes must be zero */
    put(p, m.b, m.n);
    expect_eio(p, "bad magic");
    m = f;
    m.b[2] = 0x0d; /* float elements */
    put(p, m.b, m.n);
    expect_eio(p, "unsupported IDX type code 0x0d");
    m = f;
    m.b[3] = 0;
    put(p, m.b, m.n);
    expect_eio(p, "0 dimensions");
    m = f;
    m.b[3] = 9;
    put(p, m.b, m.n);
    expect_eio(p, "9 dimensions");
    put(p, f.b, 2);
    expect_eio(p, "truncated header");
    put(p, f.b, 10);
    expect_eio(p, "truncated header");
    put(p, f.b, f.n - 1);
    expect_eio(p, "truncated data");
    put(p, f.b, 16); /* the header alone */
    expect_eio(p, "truncated data");
    put(p, "", 0);
    expect_eio(p, "truncated header");
    m = f;
    m.b[m.n++] = 0;
    put(p, m.b, m.n);
    expect_eio(p, "bytes after the data");
    uint32_t huge[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    m = make_idx(0x00000804, 4, huge, 0);
    put(p, m.b, m.n);
    expect_eio(p, "too large");
    /* a header wider than the data it promises */
    uint32_t wide[3] = {60000, 28, 28};
    m = make_idx(0x00000803, 3, wide, 24);
    put(p, m.b, m.n);
    expect_eio(p, "truncated data");
}

/* gzip streams cut short or with flipped bytes. */
static void test_bad_gzip(void)
{
    uint32_t s3[3] = {4, 10, 10};
    idx_bytes f = make_idx(0x00000803, 3, s3, 400);
    const char *p = file_path("good.gz");
    write_gz(p, f.b, f.n);
    FILE *in = fopen(p, "rb");
    unsigned char z[1024];
    size_t nz = in ? fread(z, 1, sizeof z, in) : 0;
    if (in)
        fclose(in);
    CHECK(nz > 30 && nz < sizeof z, "compressed size %zu", nz);
    const char *q = file_path("cut.gz");
    for (size_t cut = 11; cut < nz; cut += 7) {
        write_plain(q, z, cut);
        fm_tensor t;
        fm_status st = load(q, &t);
        CHECK(st == FM_EIO && strstr(fm_last_error(), q), "cut at %zu of %zu", cut, nz);
        if (st == FM_OK)
            fm_tensor_free(&t);
    }
    write_plain(q, z, nz - 4); /* the length in the trailer is missing */
    expect_eio(q, "truncated");
    for (size_t at = 10; at < nz; at += 3) {
        unsigned char c[1024];
        memcpy(c, z, nz);
        c[at] ^= 0x5a;
        write_plain(q, c, nz);
        fm_tensor t;
        fm_status st = load(q, &t);
        /* a flip may still decode to a valid file of the same sizes (then
         * the CRC fails) or change the sizes: either way an error or, at
         * worst, data read in full; never a crash */
        CHECK(st == FM_EIO || st == FM_OK, "flip at %zu: %s", at, fm_status_name(st));
        if (st == FM_OK)
            fm_tensor_free(&t);
    }
    z[nz - 6] ^= 0xff; /* the CRC itself */
    write_plain(q, z, nz);
    expect_eio(q, "corrupt gzip data");
}

static void test_files(void)
{
    expect_eio(file_path("missing"), "cannot open");
    expect_eio(dir, "not a regular file");
    fm_tensor t;
    int64_t s1 = 5;
    fm_tensor_alloc(&t, FM_FLOAT32, 1, &s1);
    CHECK(fm_idx_read_data(file_path("labels"), &t) == FM_ETYPE, "float output refused");
    fm_tensor_free(&t);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_read(false);
    test_read(true);
    test_malformed(false);
    test_malformed(true);
    test_bad_gzip();
    test_files();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    else
        printf("test_idx: all passed\n");
    return failures != 0;
}
