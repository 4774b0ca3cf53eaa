/* test_npy.c — .npy round trips (every dtype, views, int32, float16, bool,
 * scalars, empty)
 * and malformed files (missing, bad magic, every truncation, bad dicts,
 * byte flips): each must fail with FM_EIO naming the file, never crash. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fm.h"
#include "io/npy.h"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, " [%s]\n", fm_last_error()); } } while (0)

static char dir[] = "/tmp/fm_test_npy_XXXXXX";
static char path[256], bad[256];

/* Reads path fully into a new tensor (caller frees); status returned. */
static fm_status load(const char *p, fm_tensor *t)
{
    fm_npy_header h;
    fm_status st = fm_npy_read_header(p, &h);
    if (st)
        return st;
    st = fm_tensor_alloc(t, h.dtype, h.ndim, h.shape);
    if (st)
        return st;
    st = fm_npy_read_data(p, t);
    if (st)
        fm_tensor_free(t);
    return st;
}

static bool same(const fm_tensor *a, const fm_tensor *b)
{
    if (!fm_tensor_same_shape(a, b))
        return false;
    for (int64_t i = 0; i < fm_tensor_numel(a); i++)
        if (fm_tensor_get(a, i) != fm_tensor_get(b, i))
            return false;
    return true;
}

static void test_roundtrip(fm_dtype dtype, int ndim, const int64_t *shape)
{
    fm_tensor t, r;
    fm_tensor_alloc(&t, dtype, ndim, shape);
    for (int64_t i = 0; i < fm_tensor_numel(&t); i++)
        fm_tensor_set(&t, i, dtype == FM_INT64 ? (double)(i * 7919 - 100000)
                             : dtype == FM_UINT8 ? (double)(i * 37 % 256) : (double)i * 0.37 - 3);
    CHECK(fm_npy_write(path, &t, FM_STORED_NATIVE) == FM_OK, "write %s", fm_dtype_name(dtype));
    CHECK(load(path, &r) == FM_OK, "read %s", fm_dtype_name(dtype));
    CHECK(r.dtype == dtype && same(&t, &r), "round trip %s ndim %d", fm_dtype_name(dtype), ndim);
    fm_tensor_free(&r);
    fm_tensor_free(&t);
}

static void test_views_and_int32(void)
{
    /* a transposed (non-contiguous) view is written in its logical order */
    fm_tensor t, v, r;
    int64_t shape[2] = {3, 4};
    fm_tensor_alloc(&t, FM_INT64, 2, shape);
    for (int64_t i = 0; i < 12; i++)
        ((int64_t *)t.data)[i] = i - 5;
    v = t;
    v.shape[0] = 4; v.shape[1] = 3; v.stride[0] = 1; v.stride[1] = 4;
    CHECK(fm_npy_write(path, &v, FM_STORED_I32) == FM_OK, "write int32 view");
    fm_npy_header h;
    CHECK(fm_npy_read_header(path, &h) == FM_OK && h.stored == FM_STORED_I32 && h.dtype == FM_INT64 &&
          h.ndim == 2 && h.shape[0] == 4 && h.shape[1] == 3, "int32 header");
    CHECK(load(path, &r) == FM_OK && same(&v, &r), "int32 transposed round trip");
    ((int64_t *)t.data)[3] = (int64_t)1 << 40;
    CHECK(fm_npy_write(path, &t, FM_STORED_I32) == FM_EVALUE, "int32 overflow must fail");
    /* the failed write left the previous file intact, and no temporary */
    fm_tensor r2;
    CHECK(load(path, &r2) == FM_OK && same(&r2, &r), "atomic: old file kept");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 1", dir);
    CHECK(system(cmd) == 0, "temporary file left behind in %s", dir);
    fm_tensor_free(&r2);
    fm_tensor_free(&r);
    fm_tensor f;
    fm_tensor_alloc(&f, FM_FLOAT32, 2, shape);
    CHECK(fm_npy_write(path, &f, FM_STORED_I32) == FM_ETYPE, "float as int32 must fail");
    fm_tensor_free(&f);
    fm_tensor_free(&t);
}

static void write_bytes(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static void expect_eio(const char *what)
{
    fm_tensor r;
    fm_status st = load(bad, &r);
    CHECK(st == FM_EIO && strstr(fm_last_error(), bad), "%s must fail with EIO naming the file", what);
    if (st == FM_OK)
        fm_tensor_free(&r);
}

/* A v1.0 file with the given dict text and data bytes. */
static void write_npy(const char *dict, size_t datalen)
{
    unsigned char buf[1024] = "\x93NUMPY\x01\x00";
    size_t n = strlen(dict);
    buf[8] = (unsigned char)n;
    buf[9] = 0;
    memcpy(buf + 10, dict, n);
    memset(buf + 10 + n, 0, datalen);
    write_bytes(bad, buf, 10 + n + datalen);
}

/* numpy's bytes: '|u1' is uint8, and '|b1' (bool) is read as uint8 0/1;
 * a '|b1' byte other than 0 or 1 is refused, naming the file and the byte. */
static void test_bytes(void)
{
    const char *u1 = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }\n";
    const char *b1 = "{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }\n";
    static const unsigned char bytes[3][4] = {{0, 1, 254, 255}, {0, 1, 1, 0}, {1, 0, 2, 1}};
    unsigned char buf[256] = "\x93NUMPY\x01\x00";
    snprintf(bad, sizeof bad, "%s/bytes.npy", dir);
    for (int k = 0; k < 3; k++) {
        const char *dict = k ? b1 : u1, *what = k ? "|b1" : "|u1";
        size_t n = strlen(dict);
        buf[8] = (unsigned char)n;
        memcpy(buf + 10, dict, n);
        memcpy(buf + 10 + n, bytes[k], 4);
        write_bytes(bad, buf, 10 + n + 4);
        fm_tensor r = {0};
        fm_status st = load(bad, &r);
        if (k == 2) {
            CHECK(st == FM_EIO && strstr(fm_last_error(), bad) &&
                  strstr(fm_last_error(), "element 2") && strstr(fm_last_error(), "byte 2"),
                  "a |b1 byte 2 is refused");
        } else {
            CHECK(st == FM_OK, "read %s", what);
        }
        if (r.data) {
            CHECK(r.dtype == FM_UINT8 && fm_tensor_numel(&r) == 4 && r.ndim == 2 - (k > 0) &&
                  memcmp(r.data, bytes[k], 4) == 0, "bytes of %s", what);
            fm_tensor_free(&r);
        }
    }
    const unsigned char *data = bytes[0];
    /* uint8 is written as '|u1' */
    fm_tensor t;
    int64_t shape[1] = {3};
    fm_tensor_alloc(&t, FM_UINT8, 1, shape);
    memcpy(t.data, data + 1, 3);
    CHECK(fm_npy_write(path, &t, FM_STORED_NATIVE) == FM_OK, "write uint8");
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[got] = 0;
    CHECK(strstr((const char *)buf + 10, "'descr': '|u1'") != NULL, "uint8 header says |u1");
    CHECK(fm_npy_write(path, &t, FM_STORED_I32) == FM_ETYPE, "uint8 as int32 must fail");
    fm_tensor_free(&t);
}

/* The header's first bytes after the preamble, NUL-terminated. */
static void read_dict(const char *p, char *buf, size_t n)
{
    FILE *f = fopen(p, "rb");
    size_t got = f ? fread(buf, 1, n - 1, f) : 0;
    if (f)
        fclose(f);
    buf[got] = 0;
    for (size_t i = 0; i < got; i++) /* the preamble's NULs */
        if (!buf[i])
            buf[i] = ' ';
}

/* float32 saved as '<f2' (rounded to the nearest half: 0.1f -> 0x2e66,
 * 70000 -> inf, 1e-8 -> 0),
 * uint8 as '|b1' (a byte other than 0/1 refused on writing, naming the
 * element), bfloat16 refused (numpy has none); transposed views too. */
static void test_half_and_bool(void)
{
    int64_t s23[2] = {2, 3};
    fm_tensor f, v, r, u;
    fm_tensor_alloc(&f, FM_FLOAT32, 2, s23);
    const float vals[6] = {0.1f, -2.0f, 65504.0f, 70000.0f, 1e-8f, 0.0f};
    memcpy(f.data, vals, sizeof vals);
    v = f; /* the (3, 2) transpose */
    v.shape[0] = 3; v.shape[1] = 2; v.stride[0] = 1; v.stride[1] = 3;
    CHECK(fm_npy_write(path, &v, FM_STORED_F16) == FM_OK, "write <f2");
    char dict[256];
    read_dict(path, dict, sizeof dict);
    CHECK(strstr(dict, "'descr': '<f2'") && strstr(dict, "(3, 2)"), "header: %s", dict);
    CHECK(load(path, &r) == FM_OK && r.dtype == FM_FLOAT32, "read <f2");
    if (r.data) {
        const float *g = r.data; /* row-major (3, 2) of the transpose */
        CHECK(g[0] == 0.0999755859375f && isinf(g[1]) && g[1] > 0 && g[2] == -2.0f &&
              g[3] == 0.0f && g[4] == 65504.0f && g[5] == 0.0f,
              "values %g %g %g %g %g %g", g[0], g[1], g[2], g[3], g[4], g[5]);
        fm_tensor_free(&r);
    }
    CHECK(fm_npy_write(path, &f, FM_STORED_BF16) == FM_ETYPE, "npy has no bfloat16");
    fm_tensor_alloc(&u, FM_UINT8, 2, s23);
    memcpy(u.data, (const uint8_t[]){1, 0, 0, 1, 1, 1}, 6);
    CHECK(fm_npy_write(path, &u, FM_STORED_BOOL) == FM_OK, "write |b1");
    read_dict(path, dict, sizeof dict);
    CHECK(strstr(dict, "'descr': '|b1'") != NULL, "header: %s", dict);
    CHECK(load(path, &r) == FM_OK && same(&r, &u), "|b1 round trip");
    if (r.data)
        fm_tensor_free(&r);
    ((uint8_t *)u.data)[4] = 7;
    snprintf(bad, sizeof bad, "%s/refused.npy", dir);
    CHECK(fm_npy_write(bad, &u, FM_STORED_BOOL) == FM_EVALUE &&
          strstr(fm_last_error(), "element 4 is 7"), "a 7 is not a bool");
    CHECK(access(bad, F_OK) != 0, "nothing written for a refused bool");
    CHECK(fm_npy_write(path, &f, FM_STORED_BOOL) == FM_ETYPE &&
          fm_npy_write(path, &u, FM_STORED_F16) == FM_ETYPE, "pairs that do not fit");
    fm_tensor_free(&u);
    fm_tensor_free(&f);
}

/* fortran_order True: the data is column-major; element (i, j) of a
 * (2, 3) array is at position i + 2 j. */
static void test_fortran_order(void)
{
    const char *dict = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n";
    unsigned char buf[256] = "\x93NUMPY\x01\x00";
    size_t n = strlen(dict);
    buf[8] = (unsigned char)n;
    memcpy(buf + 10, dict, n);
    float colmajor[6] = {0, 10, 1, 11, 2, 12}; /* (i, j) -> 10 i + j */
    memcpy(buf + 10 + n, colmajor, sizeof colmajor);
    snprintf(bad, sizeof bad, "%s/fortran.npy", dir);
    write_bytes(bad, buf, 10 + n + sizeof colmajor);
    fm_tensor r;
    CHECK(load(bad, &r) == FM_OK && r.ndim == 2 && r.shape[0] == 2 &&
          r.shape[1] == 3, "fortran-order file: %s", fm_last_error());
    const float *v = r.data;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            CHECK(v[3 * i + j] == (float)(10 * i + j), "fortran (%d, %d) = %g", i,
                  j, v[3 * i + j]);
    fm_tensor_free(&r);
}

static void test_malformed(void)
{
    snprintf(bad, sizeof bad, "%s/missing.npy", dir);
    expect_eio("missing file");
    snprintf(bad, sizeof bad, "%s/bad.npy", dir);
    write_bytes(bad, "PK\x03\x04 not numpy at all", 22);
    expect_eio("bad magic");
    write_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
    fm_tensor r;
    CHECK(load(bad, &r) == FM_OK && r.shape[0] == 2 && r.shape[1] == 3, "hand-made file");
    fm_tensor_free(&r);
    write_npy("{'shape': (6,), 'descr': \"<f8\", 'fortran_order': False}  \n", 48);
    CHECK(load(bad, &r) == FM_OK && r.ndim == 1 && r.shape[0] == 6, "any key order");
    fm_tensor_free(&r);
    const char *dicts[] = {
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 4), }\n",
        "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }\n",
        "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3 }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }\n",
        "{'descr': '<f4', 'fortran_order': False }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}\n",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\n",
        "{'descr': '<f4', 'fortran_order': Fals, 'shape': (2, 3), }\n",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,6), }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x\n",
        "'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n",
    };
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        write_npy(dicts[i], 24);
        expect_eio(dicts[i]);
    }
    write_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 28);
    expect_eio("extra data");
    unsigned char v9[10] = "\x93NUMPY\x09\x00\x10\x00";
    write_bytes(bad, v9, 10);
    expect_eio("unknown version");
}

/* Every truncation and every single-byte flip of a valid file. */
static void test_truncate_and_flip(void)
{
    int64_t shape[2] = {5, 3};
    fm_tensor t;
    fm_tensor_alloc(&t, FM_FLOAT64, 2, shape);
    for (int i = 0; i < 15; i++)
        ((double *)t.data)[i] = i;
    fm_npy_write(path, &t, FM_STORED_NATIVE);
    FILE *f = fopen(path, "rb");
    unsigned char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CHECK(n == 128 + 120, "file size %zu (64-byte aligned header + data)", n);
    for (size_t k = 0; k < n; k++) {
        write_bytes(bad, buf, k);
        expect_eio("truncated file");
    }
    int ok = 0;
    for (size_t k = 0; k < 128; k++) { /* flips in the header */
        unsigned char c[512];
        memcpy(c, buf, n);
        c[k] ^= 0xff;
        write_bytes(bad, c, n);
        fm_tensor r;
        fm_status st = load(bad, &r);
        CHECK(st == FM_OK || (st == FM_EIO && strstr(fm_last_error(), bad)),
              "flip at %zu: status %d", k, (int)st);
        if (st == FM_OK) {
            ok++;
            CHECK(same(&t, &r), "flip at %zu accepted but data differ", k);
            fm_tensor_free(&r);
        }
    }
    CHECK(ok == 1, "only the minor-version flip is harmless, %d accepted", ok);
    fm_tensor_free(&t);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/t.npy", dir);
    int64_t s3[3] = {2, 3, 4}, s1[1] = {0};
    test_roundtrip(FM_FLOAT32, 3, s3);
    test_roundtrip(FM_FLOAT64, 3, s3);
    test_roundtrip(FM_INT64, 3, s3);
    test_roundtrip(FM_UINT8, 3, s3);
    test_roundtrip(FM_UINT8, 0, NULL);
    test_roundtrip(FM_FLOAT64, 0, NULL);
    test_roundtrip(FM_FLOAT32, 1, s1);
    test_views_and_int32();
    test_fortran_order();
    test_bytes();
    test_half_and_bool();
    test_malformed();
    test_truncate_and_flip();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    else
        printf("test_npy: all passed\n");
    return failures != 0;
}
