/* test_safetensors.c — safetensors round trips (dtypes, views, I32, F16,
 * BF16, BOOL, metadata, empty file) and corrupt files (hand-made headers for each rule,
 * every truncation, header byte flips): each must fail with FM_EIO naming
 * the file before any tensor is read, never crash. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fm.h"
#include "io/safetensors.h"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, " [%s]\n", fm_last_error()); } } while (0)

static char dir[] = "/tmp/fm_test_st_XXXXXX";
static char path[256], bad[256];

static bool same(const fm_tensor *a, const fm_tensor *b)
{
    if (!fm_tensor_same_shape(a, b))
        return false;
    for (int64_t i = 0; i < fm_tensor_numel(a); i++)
        if (fm_tensor_get(a, i) != fm_tensor_get(b, i))
            return false;
    return true;
}

/* Opens p and reads every tensor; returns the status (tensors discarded). */
static fm_status load_all(const char *p)
{
    fm_safetensors st;
    fm_status s = fm_safetensors_open(p, &st);
    for (int i = 0; !s && i < st.n; i++) {
        fm_tensor t;
        s = fm_tensor_alloc(&t, st.entries[i].dtype, st.entries[i].ndim, st.entries[i].shape);
        if (!s) {
            s = fm_safetensors_read(&st, i, &t);
            fm_tensor_free(&t);
        }
    }
    fm_safetensors_close(&st);
    return s;
}

static void test_roundtrip(void)
{
    fm_tensor a, b, c, cv, u;
    int64_t sa[2] = {2, 3}, sc[2] = {3, 2}, su[1] = {5};
    fm_tensor_alloc(&a, FM_FLOAT32, 2, sa);
    fm_tensor_alloc(&b, FM_FLOAT64, 0, NULL);
    fm_tensor_alloc(&c, FM_INT64, 2, sc);
    fm_tensor_alloc(&u, FM_UINT8, 1, su); /* stored as U8 */
    memcpy(u.data, (const uint8_t[]){0, 1, 127, 254, 255}, 5);
    for (int i = 0; i < 6; i++) {
        ((float *)a.data)[i] = 0.5f * (float)i - 1;
        ((int64_t *)c.data)[i] = -3 + 1000 * i;
    }
    *(double *)b.data = 3.141592653589793;
    cv = c; /* transposed view (2, 3) */
    cv.shape[0] = 2; cv.shape[1] = 3; cv.stride[0] = 1; cv.stride[1] = 2;
    const char *names[] = {"layer.weight", "scale", "idx \"quoted\"", "mask"};
    const fm_tensor *ts[] = {&a, &b, &cv, &u};
    fm_stored i32[] = {FM_STORED_NATIVE, FM_STORED_NATIVE, FM_STORED_I32, FM_STORED_NATIVE};
    const char *keys[] = {"format", "seed"}, *vals[] = {"pt", "42"};
    CHECK(fm_safetensors_write(path, 4, names, ts, i32, 2, keys, vals) == FM_OK, "write");
    fm_safetensors st;
    CHECK(fm_safetensors_open(path, &st) == FM_OK, "open");
    CHECK(st.n == 4 && st.nmeta == 2 && st.data_start % 8 == 0, "n %d nmeta %d start %llu",
          st.n, st.nmeta, (unsigned long long)st.data_start);
    CHECK(strcmp(st.meta_keys[1], "seed") == 0 && strcmp(st.meta_values[1], "42") == 0, "meta");
    for (int k = 0; k < 4; k++) {
        int i = fm_safetensors_find(&st, names[k]);
        CHECK(i >= 0, "find %s", names[k]);
        if (i < 0)
            continue;
        CHECK(st.entries[i].stored == i32[k] && st.entries[i].dtype == ts[k]->dtype, "dtype %s", names[k]);
        fm_tensor r;
        fm_tensor_alloc(&r, st.entries[i].dtype, st.entries[i].ndim, st.entries[i].shape);
        CHECK(fm_safetensors_read(&st, i, &r) == FM_OK && same(&r, ts[k]), "data %s", names[k]);
        fm_tensor_free(&r);
    }
    CHECK(fm_safetensors_find(&st, "nope") == -1, "find missing");
    fm_tensor wrong;
    fm_tensor_alloc(&wrong, FM_FLOAT64, 2, sa);
    CHECK(fm_safetensors_read(&st, fm_safetensors_find(&st, "layer.weight"), &wrong) == FM_ESHAPE,
          "wrong dtype refused");
    fm_tensor_free(&wrong);
    fm_safetensors_close(&st);
    fm_safetensors_close(&st); /* idempotent */
    const char *dup[] = {"x", "x"};
    const fm_tensor *ab[] = {&a, &a};
    CHECK(fm_safetensors_write(bad, 2, dup, ab, NULL, 0, NULL, NULL) == FM_EVALUE, "duplicate names");
    const char *meta[] = {"__metadata__"};
    CHECK(fm_safetensors_write(bad, 1, meta, ab, NULL, 0, NULL, NULL) == FM_EVALUE, "reserved name");
    CHECK(fm_safetensors_write(bad, 0, NULL, NULL, NULL, 0, NULL, NULL) == FM_OK && load_all(bad) == FM_OK,
          "empty file");
    fm_tensor_free(&a);
    fm_tensor_free(&b);
    fm_tensor_free(&c);
    fm_tensor_free(&u);
}

/* A file with the given JSON header and datalen zero bytes of data. */
static void write_st(const char *json, size_t datalen)
{
    size_t n = strlen(json);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)n >> (8 * i));
    FILE *f = fopen(bad, "wb");
    fwrite(len, 1, 8, f);
    fwrite(json, 1, n, f);
    for (size_t i = 0; i < datalen; i++)
        fputc(0, f);
    fclose(f);
}

static void expect_eio(const char *what)
{
    fm_status s = load_all(bad);
    CHECK(s == FM_EIO && strstr(fm_last_error(), bad), "%s: EIO naming the file expected, got %d",
          what, (int)s);
}

static void test_malformed(void)
{
    snprintf(bad, sizeof bad, "%s/missing.safetensors", dir);
    expect_eio("missing file");
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    CHECK(load_all(bad) == FM_OK, "hand-made file");
    static const struct { const char *json; size_t datalen; } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8},   /* bad JSON */
        {"[1, 2]", 0},                                                          /* not object */
        {"{\"a\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4}, /* dtype */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4},  /* out of range */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12}, /* overlap */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12}, /* gap */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 9},  /* stray bytes */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8},  /* size mismatch */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8},
        {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8},
        {"{\"a\":[1]}", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", 8},   /* duplicate */
        {"{\"__metadata__\":{\"k\":1}}", 0},
        {"{\"__metadata__\":[]}", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_st(cases[i].json, cases[i].datalen);
        expect_eio(cases[i].json);
    }
    /* header length beyond the file, and absurd */
    unsigned char huge[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    FILE *f = fopen(bad, "wb");
    fwrite(huge, 1, 10, f);
    fclose(f);
    expect_eio("header length beyond file");
}

static void test_truncate_and_flip(void)
{
    FILE *f = fopen(path, "rb");
    static unsigned char buf[4096], c[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | buf[i];
    for (size_t k = 0; k < n; k++) {
        f = fopen(bad, "wb");
        fwrite(buf, 1, k, f);
        fclose(f);
        expect_eio("truncated file");
    }
    int ok = 0;
    for (size_t k = 0; k < 8 + hlen; k++) {
        memcpy(c, buf, n);
        c[k] ^= 0xff;
        f = fopen(bad, "wb");
        fwrite(c, 1, n, f);
        fclose(f);
        fm_status s = load_all(bad);
        CHECK(s == FM_OK || (s == FM_EIO && strstr(fm_last_error(), bad)), "flip at %zu: %d", k, (int)s);
        ok += s == FM_OK;
    }
    /* the header is ASCII, so x ^ 0xff is a lone byte >= 0x80: invalid UTF-8;
     * a flipped length byte points past the file: every flip must be caught */
    CHECK(ok == 0, "%d of %llu header flips accepted", ok, (unsigned long long)(8 + hlen));
}

/* F16, BF16 and BOOL: the header's tags and sizes, the values read back
 * (rounded to nearest even), a BOOL byte 2 in a file refused naming the
 * file and the tensor, a uint8 2 refused on writing, pairs that do not fit. */
static void test_half_and_bool(void)
{
    int64_t s4[1] = {4};
    fm_tensor f, u;
    fm_tensor_alloc(&f, FM_FLOAT32, 1, s4);
    fm_tensor_alloc(&u, FM_UINT8, 1, s4);
    /* 1 + 2^-8 is a float16 but a bfloat16 tie (to 1); 1 + 3 * 2^-8 rounds up
     * (to 1 + 4 * 2^-8); FLT_MAX overflows both */
    const float vals[4] = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -3.5f, FLT_MAX};
    memcpy(f.data, vals, sizeof vals);
    memcpy(u.data, (const uint8_t[]){1, 0, 1, 1}, 4);
    const char *names[] = {"h", "b", "flags"};
    const fm_tensor *ts[] = {&f, &f, &u};
    const fm_stored stored[] = {FM_STORED_F16, FM_STORED_BF16, FM_STORED_BOOL};
    CHECK(fm_safetensors_write(path, 3, names, ts, stored, 0, NULL, NULL) == FM_OK, "write");
    fm_safetensors st;
    CHECK(fm_safetensors_open(path, &st) == FM_OK && st.n == 3, "open");
    const float want_h[4] = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -3.5f, INFINITY};
    const float want_b[4] = {1.0f, 1.0f + 4.0f / 256, -3.5f, INFINITY};
    for (int k = 0; k < 3 && st.n == 3; k++) {
        const fm_safetensors_entry *e = &st.entries[k];
        CHECK(e->stored == stored[k] && e->dtype == ts[k]->dtype &&
              e->end - e->begin == (k < 2 ? 8u : 4u), "entry %s", names[k]);
        fm_tensor r;
        fm_tensor_alloc(&r, e->dtype, e->ndim, e->shape);
        CHECK(fm_safetensors_read(&st, k, &r) == FM_OK, "read %s", names[k]);
        const void *want = k == 0 ? (const void *)want_h : k == 1 ? (const void *)want_b : u.data;
        CHECK(memcmp(r.data, want, fm_tensor_nbytes(&r)) == 0, "values of %s", names[k]);
        fm_tensor_free(&r);
    }
    fm_safetensors_close(&st);
    char json[] = "{\"flags\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}";
    write_st(json, 0);
    FILE *fp = fopen(bad, "ab");
    fwrite("\1\0\2", 1, 3, fp);
    fclose(fp);
    CHECK(load_all(bad) == FM_EIO && strstr(fm_last_error(), bad) &&
          strstr(fm_last_error(), "tensor 'flags'") && strstr(fm_last_error(), "byte 2"),
          "a BOOL byte 2 is refused");
    ((uint8_t *)u.data)[1] = 2;
    CHECK(fm_safetensors_write(bad, 3, names, ts, stored, 0, NULL, NULL) == FM_EVALUE &&
          strstr(fm_last_error(), "element 1 is 2"), "a uint8 2 is not a bool");
    const fm_stored wrong[] = {FM_STORED_BOOL, FM_STORED_NATIVE, FM_STORED_F16};
    CHECK(fm_safetensors_write(bad, 3, names, ts, wrong, 0, NULL, NULL) == FM_ETYPE,
          "float32 as BOOL refused");
    CHECK(strcmp(fm_safetensors_tag(FM_FLOAT32, FM_STORED_BF16), "BF16") == 0 &&
          fm_safetensors_tag(FM_FLOAT64, FM_STORED_F16) == NULL, "tags");
    fm_tensor_free(&f);
    fm_tensor_free(&u);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/t.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    test_roundtrip();
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
        printf("test_safetensors: all passed\n");
    return failures != 0;
}
