/* test_fuzz_files.c — a corrupt-file fuzzer for the three readers (npy,
 * safetensors, IDX plain and gzip). Valid seed files are written by the
 * engine's own writers (and zlib for the gzip IDX), then mutated with a
 * deterministic generator: truncation, bit flips, bytes set to values that
 * matter to the parsers (quotes, braces, digits, NUL, 0xff), insertions,
 * deletions, duplicated ranges, numbers in the header replaced by extreme
 * ones, trailing junk; half the edits aim at the header. Each mutant must
 * load (and then every element is read, so a wrong shape is caught by the
 * sanitizers) or fail with a status and a message naming the file. A crash,
 * a sanitizer report or a hang ends the run (ctest runs this in the ASan +
 * UBSan build, with a timeout); its mutant is left at the path printed by
 * FM_FUZZ_TRACE=1.
 *
 *     test_fuzz_files [mutants per seed [seed]]   (default 500, seed 1)
 *
 * Prints, per format: tried, loaded, clean errors, crashes (always 0 when
 * the line is printed: a crash stops the program before it). */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/fm.h"
#include "io/idx.h"
#include "io/npy.h"
#include "io/safetensors.h"

static char dir[] = "/tmp/fm_fuzz_files_XXXXXX";
static int failures;

/* ---- a deterministic generator (xorshift64*) ---------------------------- */

static uint64_t rng_state;
static uint64_t next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}
static size_t below(size_t n) { return n ? (size_t)(next() % n) : 0; }

/* ---- bytes -------------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} bytes;

static void reserve(bytes *b, size_t n)
{
    if (n <= b->cap)
        return;
    b->cap = n * 2 + 64;
    b->p = realloc(b->p, b->cap);
    if (!b->p) {
        perror("realloc");
        exit(2);
    }
}

static bytes read_all(const char *path)
{
    bytes b = {0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    unsigned char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        reserve(&b, b.n + k);
        memcpy(b.p + b.n, buf, k);
        b.n += k;
    }
    fclose(f);
    return b;
}

static void write_all(const char *path, const bytes *b)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->p, 1, b->n, f) != b->n || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static void insert(bytes *b, size_t at, const void *s, size_t n)
{
    reserve(b, b->n + n);
    memmove(b->p + at + n, b->p + at, b->n - at);
    memcpy(b->p + at, s, n);
    b->n += n;
}

static void erase(bytes *b, size_t at, size_t n)
{
    memmove(b->p + at, b->p + at + n, b->n - at - n);
    b->n -= n;
}

/* ---- mutations ---------------------------------------------------------- */

static const unsigned char special[] = {0, 0xff, 0x7f, 0x80, 0x01, 0x1f, '"', '\'', '\\',
    '{', '}', '[', ']', '(', ')', ':', ',', '0', '1', '9', '-', '.', 'e', ' ', 'u'};
static const char *const numbers[] = {"0", "1", "-1", "8.0", "0e0", "1e308",
    "4294967296", "9223372036854775807", "18446744073709551616", "99999999999999999999",
    "2147483648", "0x10", "08", "NaN", ""};

/* A position, in the first `head` bytes half the time (the header). */
static size_t where(const bytes *b, size_t head, size_t extra)
{
    size_t range = b->n + extra;
    if (head && head < range && (next() & 1))
        range = head;
    return below(range);
}

/* Replaces the run of digits at or after a random header position. */
static void replace_number(bytes *b, size_t head)
{
    size_t at = where(b, head, 0);
    while (at < b->n && !(b->p[at] >= '0' && b->p[at] <= '9'))
        at++;
    if (at >= b->n)
        return;
    size_t end = at;
    while (end < b->n && b->p[end] >= '0' && b->p[end] <= '9')
        end++;
    erase(b, at, end - at);
    const char *s = numbers[below(sizeof numbers / sizeof *numbers)];
    insert(b, at, s, strlen(s));
}

static void mutate(bytes *b, size_t head)
{
    int edits = 1 + (int)below(3);
    for (int e = 0; e < edits && b->n > 0; e++) {
        switch (below(9)) {
        case 0: /* truncate */
            b->n = below(b->n);
            break;
        case 1: /* flip one to eight bits */
            for (int k = 1 + (int)below(8); k > 0; k--)
                b->p[where(b, head, 0)] ^= (unsigned char)(1u << below(8));
            break;
        case 2: /* a byte set to a value the parsers care about */
            b->p[where(b, head, 0)] = special[below(sizeof special)];
            break;
        case 3: { /* insert random bytes */
            unsigned char s[16];
            size_t n = 1 + below(sizeof s);
            for (size_t k = 0; k < n; k++)
                s[k] = (unsigned char)next();
            insert(b, where(b, head, 1), s, n);
            break;
        }
        case 4: { /* delete a range */
            size_t at = where(b, head, 0);
            erase(b, at, below(b->n - at + 1) % 64);
            break;
        }
        case 5: { /* duplicate a range somewhere else */
            size_t at = below(b->n), n = 1 + below(b->n - at) % 64;
            unsigned char *copy = malloc(n);
            memcpy(copy, b->p + at, n);
            insert(b, where(b, head, 1), copy, n);
            free(copy);
            break;
        }
        case 6: case 7:
            replace_number(b, head);
            break;
        default: { /* trailing junk */
            unsigned char z[9] = {0};
            insert(b, b->n, z, 1 + below(sizeof z));
        }
        }
    }
}

/* ---- loading ------------------------------------------------------------ */

static double touch(const fm_tensor *t)
{
    double s = 0;
    for (int64_t i = 0; i < fm_tensor_numel(t); i++)
        s += fm_tensor_get(t, i);
    return s;
}

static fm_status load_npy(const char *p)
{
    fm_npy_header h;
    fm_tensor t;
    fm_status st = fm_npy_read_header(p, &h);
    if (!st)
        st = fm_tensor_alloc(&t, h.dtype, h.ndim, h.shape);
    if (st)
        return st;
    st = fm_npy_read_data(p, &t);
    if (!st)
        touch(&t);
    fm_tensor_free(&t);
    return st;
}

static fm_status load_safetensors(const char *p)
{
    fm_safetensors st;
    fm_status s = fm_safetensors_open(p, &st);
    for (int i = 0; !s && i < st.n; i++) {
        const fm_safetensors_entry *e = &st.entries[i];
        if (fm_safetensors_find(&st, e->name) != i) {
            failures++;
            fprintf(stderr, "%s: find('%s') is not entry %d\n", p, e->name, i);
        }
        fm_tensor t;
        s = fm_tensor_alloc(&t, e->dtype, e->ndim, e->shape);
        if (s)
            break;
        s = fm_safetensors_read(&st, i, &t);
        if (!s)
            touch(&t);
        fm_tensor_free(&t);
    }
    fm_safetensors_close(&st);
    return s;
}

static fm_status load_idx(const char *p)
{
    fm_idx_header h;
    fm_tensor t;
    fm_status st = fm_idx_read_header(p, &h);
    if (!st)
        st = fm_tensor_alloc(&t, FM_UINT8, h.ndim, h.shape);
    if (st)
        return st;
    st = fm_idx_read_data(p, &t);
    if (!st)
        touch(&t);
    fm_tensor_free(&t);
    return st;
}

/* ---- seeds -------------------------------------------------------------- */

typedef struct {
    const char *name;
    fm_status (*load)(const char *);
    size_t head; /* header bytes to aim at */
    char path[256];
} seed;

static void tensor_of(fm_tensor *t, fm_dtype dtype, int ndim, const int64_t *shape)
{
    if (fm_tensor_alloc(t, dtype, ndim, shape)) {
        fprintf(stderr, "alloc: %s\n", fm_last_error());
        exit(2);
    }
    unsigned char *p = t->data;
    for (size_t i = 0; i < (size_t)fm_tensor_numel(t) * fm_dtype_size(dtype); i++)
        p[i] = (unsigned char)(i * 37 + 11);
    for (int64_t i = 0; i < fm_tensor_numel(t); i++) { /* finite, int32-sized values */
        if (dtype == FM_FLOAT32)
            ((float *)t->data)[i] = (float)i - 2.5f;
        else if (dtype == FM_FLOAT64)
            ((double *)t->data)[i] = (double)i * 0.25;
        else if (dtype == FM_INT64)
            ((int64_t *)t->data)[i] = i * 1000 - 2;
    }
}

static void must(fm_status st, const char *what)
{
    if (st) {
        fprintf(stderr, "writing the seed %s: %s\n", what, fm_last_error());
        exit(2);
    }
}

/* Aims the mutations of a safetensors seed at its 8-byte length and JSON. */
static void aim_at_json(seed *s)
{
    bytes h = read_all(s->path);
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--)
        len = len << 8 | h.p[i];
    s->head = (size_t)len + 8;
    free(h.p);
}

static void safetensors_seed(seed *s, const char *name, int n, const char *const *names,
                             const fm_tensor *const *ts, const fm_stored *stored, int nmeta,
                             const char *const *keys, const char *const *vals)
{
    *s = (seed){name, load_safetensors, 0, ""};
    snprintf(s->path, sizeof s->path, "%s/%s", dir, name);
    must(fm_safetensors_write(s->path, n, names, ts, stored, nmeta, keys, vals), name);
    aim_at_json(s);
}

static int make_seeds(seed *s)
{
    int n = 0;
    static const int64_t s34[] = {3, 4}, s5[] = {5}, s0[] = {0, 3}, s223[] = {2, 2, 3};
    fm_tensor a, b, c, d, e;
    tensor_of(&a, FM_FLOAT32, 2, s34);
    tensor_of(&b, FM_INT64, 1, s5);
    tensor_of(&c, FM_UINT8, 3, s223);
    tensor_of(&d, FM_FLOAT64, 2, s0);
    tensor_of(&e, FM_UINT8, 2, s34); /* bools: 0/1 */
    for (int64_t i = 0; i < 12; i++)
        ((uint8_t *)e.data)[i] = (uint8_t)(i % 3 == 1);
    const struct { const fm_tensor *t; fm_stored stored; const char *name; } npys[] = {
        {&a, FM_STORED_NATIVE, "f32.npy"}, {&b, FM_STORED_NATIVE, "i64.npy"},
        {&b, FM_STORED_I32, "i32.npy"}, {&c, FM_STORED_NATIVE, "u8.npy"},
        {&d, FM_STORED_NATIVE, "empty.npy"}, {&a, FM_STORED_F16, "f16.npy"},
        {&e, FM_STORED_BOOL, "b1.npy"}};
    for (size_t i = 0; i < sizeof npys / sizeof *npys; i++, n++) {
        s[n] = (seed){npys[i].name, load_npy, 128, ""};
        snprintf(s[n].path, sizeof s[n].path, "%s/%s", dir, npys[i].name);
        must(fm_npy_write(s[n].path, npys[i].t, npys[i].stored), npys[i].name);
    }
    /* the f32 seed in fortran order (same bytes, reversed reading) */
    s[n] = (seed){"fortran.npy", load_npy, 128, ""};
    snprintf(s[n].path, sizeof s[n].path, "%s/fortran.npy", dir);
    bytes f = read_all(s[0].path);
    char *False = memmem(f.p, f.n, "False", 5);
    memcpy(False, "True ", 5);
    write_all(s[n++].path, &f);
    free(f.p);

    const char *names[] = {"weight", "step", "mask", "nothing"};
    const fm_tensor *ts[] = {&a, &b, &c, &d};
    const fm_stored i32[] = {FM_STORED_NATIVE, FM_STORED_I32, FM_STORED_NATIVE,
                             FM_STORED_NATIVE};
    const char *keys[] = {"format", "note"}, *vals[] = {"pt", "a \"quoted\" value"};
    safetensors_seed(&s[n++], "four.safetensors", 4, names, ts, i32, 2, keys, vals);
    safetensors_seed(&s[n++], "one.safetensors", 1, names, ts, NULL, 0, NULL, NULL);
    /* the 16-bit floats and bools: F16, BF16, BOOL (and F32 beside them) */
    const char *hnames[] = {"half", "brain", "flags", "plain"};
    const fm_tensor *hts[] = {&a, &a, &e, &a};
    const fm_stored hst[] = {FM_STORED_F16, FM_STORED_BF16, FM_STORED_BOOL, FM_STORED_NATIVE};
    safetensors_seed(&s[n++], "halves.safetensors", 4, hnames, hts, hst, 1, keys, vals);

    /* IDX: images (n, rows, cols) plain and gzip, labels plain */
    unsigned char img[16 + 2 * 3 * 4], lab[8 + 6];
    static const unsigned char img_head[16] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    static const unsigned char lab_head[8] = {0, 0, 8, 1, 0, 0, 0, 6};
    memcpy(img, img_head, 16);
    memcpy(lab, lab_head, 8);
    for (int i = 0; i < 24; i++)
        img[16 + i] = (unsigned char)(i * 11);
    for (int i = 0; i < 6; i++)
        lab[8 + i] = (unsigned char)i;
    const struct { const unsigned char *p; size_t n; const char *name; bool gz; } idxs[] = {
        {img, sizeof img, "images-idx3-ubyte", false}, {lab, sizeof lab, "labels-idx1-ubyte", false},
        {img, sizeof img, "images-idx3-ubyte.gz", true}};
    for (size_t i = 0; i < sizeof idxs / sizeof *idxs; i++, n++) {
        s[n] = (seed){idxs[i].name, load_idx, idxs[i].gz ? 0 : 16, ""};
        snprintf(s[n].path, sizeof s[n].path, "%s/%s", dir, idxs[i].name);
        if (idxs[i].gz) {
            gzFile g = gzopen(s[n].path, "wb");
            if (!g || gzwrite(g, idxs[i].p, (unsigned)idxs[i].n) != (int)idxs[i].n ||
                gzclose(g) != Z_OK) {
                fprintf(stderr, "gzip seed failed\n");
                exit(2);
            }
        } else {
            bytes b = {(unsigned char *)idxs[i].p, idxs[i].n, idxs[i].n};
            write_all(s[n].path, &b);
        }
    }
    fm_tensor_free(&a);
    fm_tensor_free(&b);
    fm_tensor_free(&c);
    fm_tensor_free(&d);
    fm_tensor_free(&e);
    return n;
}

/* ---- the run ------------------------------------------------------------ */

typedef struct {
    long tried, loaded, errors;
} counts;

int main(int argc, char **argv)
{
    long per_seed = argc > 1 ? atol(argv[1]) : 500;
    uint64_t seed_value = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    bool trace = getenv("FM_FUZZ_TRACE") != NULL;
    if (per_seed < 1 || !mkdtemp(dir)) {
        fprintf(stderr, "usage: test_fuzz_files [mutants per seed >= 1 [seed]]\n");
        return 2;
    }
    seed seeds[24];
    int nseeds = make_seeds(seeds);
    counts by_format[3] = {{0}};
    const char *formats[3] = {"npy", "safetensors", "idx"};
    for (int k = 0; k < nseeds; k++) {
        int fmt = seeds[k].load == load_npy ? 0 : seeds[k].load == load_safetensors ? 1 : 2;
        if (seeds[k].load(seeds[k].path)) {
            fprintf(stderr, "the seed %s does not load: %s\n", seeds[k].name, fm_last_error());
            failures++;
        }
        bytes orig = read_all(seeds[k].path);
        char mpath[300];
        snprintf(mpath, sizeof mpath, "%s/mutant-%s", dir, seeds[k].name);
        for (long i = 0; i < per_seed; i++) {
            rng_state = (seed_value * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)k << 40) ^
                        (uint64_t)(i + 1);
            next();
            bytes b = {malloc(orig.n + 1), orig.n, orig.n + 1};
            memcpy(b.p, orig.p, orig.n);
            mutate(&b, seeds[k].head);
            write_all(mpath, &b);
            free(b.p);
            if (trace)
                fprintf(stderr, "%s mutant %ld (seed %llu)\n", seeds[k].name, i,
                        (unsigned long long)seed_value);
            fm_status st = seeds[k].load(mpath);
            by_format[fmt].tried++;
            if (st == FM_OK) {
                by_format[fmt].loaded++;
            } else if (!strstr(fm_last_error(), mpath)) {
                failures++;
                fprintf(stderr, "%s mutant %ld: error without the file's name: '%s'\n",
                        seeds[k].name, i, fm_last_error());
            } else {
                by_format[fmt].errors++;
            }
        }
        free(orig.p);
        unlink(mpath);
        unlink(seeds[k].path);
    }
    rmdir(dir);
    long total = 0;
    for (int f = 0; f < 3; f++) {
        printf("%-12s tried %6ld  loaded %5ld  clean errors %6ld  crashes 0\n", formats[f],
               by_format[f].tried, by_format[f].loaded, by_format[f].errors);
        total += by_format[f].tried;
    }
    printf("corrupt-file fuzzer: %ld mutants of %d seeds (seed %llu), %d failures\n", total,
           nseeds, (unsigned long long)seed_value, failures);
    return failures != 0;
}
