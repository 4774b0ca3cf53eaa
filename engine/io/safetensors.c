/* safetensors.c — safetensors reader and writer over libcjson. Validation
 * follows the reference implementation (huggingface/safetensors): the header
 * is a JSON object, entries' byte ranges tile the data buffer exactly (no
 * gap, no overlap, nothing after) and each range has the size its dtype and
 * shape imply. */
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/fileio.h"

#define ST_MAX_HEADER (100u << 20) /* the reference's limit */
#define ST_ALIGN 8

/* ---- reading ------------------------------------------------------------ */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* A JSON number that is an integer in [0, 2^53]. */
static bool json_uint(const cJSON *j, uint64_t *v)
{
    if (!cJSON_IsNumber(j))
        return false;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d))
        return false;
    *v = (uint64_t)d;
    return true;
}

/* A tensor name holds no byte below 0x20 and no DEL (a NUL would cut the
 * name short, and names are printed in messages and used as Lua keys). */
static bool name_ok(const char *name)
{
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

/* What cJSON lets through but JSON (RFC 8259) or the reference does not: raw
 * control characters in strings, the escape \u0000 (which would cut a C
 * string short), and numbers that are not plain non-negative integers
 * (the header's only numbers are shapes and offsets: "8.0", "0e0", "-0" or
 * "08" are refused, as serde_json's u64 refuses them). */
static fm_status check_lexical(const char *path, const char *text, size_t len)
{
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (in_string) {
            if (c < 0x20)
                return fm_error(FM_EIO, "%s: the header has a raw control character "
                                "(0x%02x) in a string at byte %zu", path, c, i);
            if (c == '"') {
                in_string = false;
            } else if (c == '\\' && i + 1 < len) {
                if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
                    return fm_error(FM_EIO, "%s: the header has a NUL character (\\u0000) "
                                    "at byte %zu", path, i);
                i++;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t k = i;
            while (k < len && strchr("0123456789.eE+-", text[k]))
                k++;
            bool digits = true;
            for (size_t m = i; m < k; m++)
                digits = digits && text[m] >= '0' && text[m] <= '9';
            if (!digits || (k - i > 1 && text[i] == '0'))
                return fm_error(FM_EIO, "%s: the header has the number '%.*s' at byte %zu "
                                "(shapes and offsets are plain non-negative integers)",
                                path, (int)(k - i < 40 ? k - i : 40), text + i, i);
            i = k - 1;
        }
    }
    return FM_OK;
}

static fm_status parse_metadata(fm_safetensors *st, const cJSON *meta)
{
    if (!cJSON_IsObject(meta))
        return fm_error(FM_EIO, "%s: __metadata__ is not an object", st->path);
    int n = cJSON_GetArraySize(meta);
    st->meta_keys = calloc((size_t)n + 1, sizeof(char *));
    st->meta_values = calloc((size_t)n + 1, sizeof(char *));
    if (!st->meta_keys || !st->meta_values)
        return fm_error(FM_ENOMEM, "%s: out of memory", st->path);
    const cJSON *kv;
    cJSON_ArrayForEach(kv, meta) {
        if (!cJSON_IsString(kv))
            return fm_error(FM_EIO, "%s: __metadata__ value of '%s' is not a string",
                            st->path, kv->string);
        int i = st->nmeta++;
        st->meta_keys[i] = dup_str(kv->string);
        st->meta_values[i] = dup_str(kv->valuestring);
        if (!st->meta_keys[i] || !st->meta_values[i])
            return fm_error(FM_ENOMEM, "%s: out of memory", st->path);
    }
    return FM_OK;
}

/* The dtype tags read and written, the tensor dtype each is read into and
 * how it is stored (stored.h). BOOL is bytes 0/1 read as uint8; F16 and
 * BF16 are widened to float32. */
static const struct {
    const char *tag;
    fm_dtype dtype;
    fm_stored stored;
} TAGS[] = {
    {"F32", FM_FLOAT32, FM_STORED_NATIVE}, {"F64", FM_FLOAT64, FM_STORED_NATIVE},
    {"I64", FM_INT64, FM_STORED_NATIVE},   {"U8", FM_UINT8, FM_STORED_NATIVE},
    {"I32", FM_INT64, FM_STORED_I32},      {"F16", FM_FLOAT32, FM_STORED_F16},
    {"BF16", FM_FLOAT32, FM_STORED_BF16},  {"BOOL", FM_UINT8, FM_STORED_BOOL},
};
#define NTAGS (sizeof TAGS / sizeof *TAGS)

const char *fm_safetensors_tag(fm_dtype dtype, fm_stored stored)
{
    for (size_t i = 0; i < NTAGS; i++)
        if (TAGS[i].dtype == dtype && TAGS[i].stored == stored)
            return TAGS[i].tag;
    return NULL;
}

static fm_status parse_dtype(const char *path, const char *name, const cJSON *j,
                             fm_safetensors_entry *e)
{
    const char *s = cJSON_IsString(j) ? j->valuestring : NULL;
    if (!s)
        return fm_error(FM_EIO, "%s: tensor '%s' has no dtype string", path, name);
    for (size_t i = 0; i < NTAGS; i++)
        if (strcmp(s, TAGS[i].tag) == 0) {
            e->dtype = TAGS[i].dtype;
            e->stored = TAGS[i].stored;
            return FM_OK;
        }
    return fm_error(FM_EIO, "%s: tensor '%s' has unsupported dtype '%s' "
                    "(supported: F32 F64 F16 BF16 I64 I32 U8 BOOL)", path, name, s);
}

static fm_status parse_entry(const char *path, const cJSON *j, uint64_t buflen,
                             fm_safetensors_entry *e)
{
    const char *name = j->string;
    if (!name_ok(name))
        return fm_error(FM_EIO, "%s: a tensor name holds a control character",
                        path);
    if (!cJSON_IsObject(j))
        return fm_error(FM_EIO, "%s: entry '%s' is not an object", path, name);
    fm_status st = parse_dtype(path, name, cJSON_GetObjectItemCaseSensitive(j, "dtype"), e);
    if (st)
        return st;
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(j, "shape");
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > FM_MAX_DIMS)
        return fm_error(FM_EIO, "%s: tensor '%s' has no shape of at most %d dimensions",
                        path, name, FM_MAX_DIMS);
    const cJSON *d;
    e->ndim = 0;
    cJSON_ArrayForEach(d, shape) {
        uint64_t v;
        if (!json_uint(d, &v))
            return fm_error(FM_EIO, "%s: tensor '%s' has a bad shape", path, name);
        e->shape[e->ndim++] = (int64_t)v;
    }
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !json_uint(cJSON_GetArrayItem(offs, 0), &e->begin) ||
        !json_uint(cJSON_GetArrayItem(offs, 1), &e->end) || e->end < e->begin)
        return fm_error(FM_EIO, "%s: tensor '%s' has bad data_offsets", path, name);
    if (e->end > buflen)
        return fm_error(FM_EIO, "%s: tensor '%s' data_offsets [%llu, %llu] out of range "
                        "(data buffer of %llu bytes: truncated file?)", path, name,
                        (unsigned long long)e->begin, (unsigned long long)e->end,
                        (unsigned long long)buflen);
    size_t nbytes;
    if (fm_shape_nbytes(e->dtype, e->ndim, e->shape, &nbytes))
        return fm_error(FM_EIO, "%s: tensor '%s' has a bad shape: %s", path, name,
                        fm_last_error());
    nbytes = nbytes / fm_dtype_size(e->dtype) * fm_stored_size(e->stored, e->dtype);
    if (e->end - e->begin != nbytes)
        return fm_error(FM_EIO, "%s: tensor '%s': shape/offset size mismatch (%zu bytes "
                        "for its shape, offsets span %llu)", path, name, nbytes,
                        (unsigned long long)(e->end - e->begin));
    e->name = dup_str(name);
    if (!e->name)
        return fm_error(FM_ENOMEM, "%s: out of memory", path);
    return FM_OK;
}

/* Names sorted (st->by_name, indices into entries) for fm_safetensors_find;
 * a duplicate shows up as two equal neighbours: O(n log n) in all. */
static int by_name(const void *a, const void *b)
{
    return strcmp((*(fm_safetensors_entry *const *)a)->name,
                  (*(fm_safetensors_entry *const *)b)->name);
}

static fm_status index_names(fm_safetensors *st)
{
    fm_safetensors_entry **order = malloc(sizeof *order * (size_t)st->n);
    st->by_name = malloc(sizeof *st->by_name * (size_t)st->n);
    fm_status s = FM_OK;
    if (!order || !st->by_name)
        s = fm_error(FM_ENOMEM, "%s: out of memory", st->path);
    for (int i = 0; i < st->n && !s; i++)
        order[i] = &st->entries[i];
    if (!s)
        qsort(order, (size_t)st->n, sizeof *order, by_name);
    for (int i = 0; i < st->n && !s; i++) {
        st->by_name[i] = (int)(order[i] - st->entries);
        if (i > 0 && strcmp(order[i]->name, order[i - 1]->name) == 0)
            s = fm_error(FM_EIO, "%s: tensor '%s' appears twice", st->path, order[i]->name);
    }
    free(order);
    return s;
}

static int by_begin(const void *a, const void *b)
{
    const fm_safetensors_entry *x = *(fm_safetensors_entry *const *)a;
    const fm_safetensors_entry *y = *(fm_safetensors_entry *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* The byte ranges must tile [0, buflen); names must be distinct. */
static fm_status check_layout(fm_safetensors *st, uint64_t buflen)
{
    if (st->n == 0) {
        if (buflen != 0)
            return fm_error(FM_EIO, "%s: %llu stray bytes after the header", st->path,
                            (unsigned long long)buflen);
        return FM_OK;
    }
    fm_safetensors_entry **order = malloc(sizeof *order * (size_t)st->n);
    if (!order)
        return fm_error(FM_ENOMEM, "%s: out of memory", st->path);
    for (int i = 0; i < st->n; i++)
        order[i] = &st->entries[i];
    qsort(order, (size_t)st->n, sizeof *order, by_begin);
    fm_status s = FM_OK;
    uint64_t at = 0;
    for (int i = 0; i < st->n && !s; i++) {
        if (order[i]->begin < at)
            s = fm_error(FM_EIO, "%s: tensor '%s' overlaps tensor '%s'", st->path,
                         order[i]->name, order[i - 1]->name);
        else if (order[i]->begin > at)
            s = fm_error(FM_EIO, "%s: gap in the data buffer before tensor '%s'",
                         st->path, order[i]->name);
        at = order[i]->end;
    }
    if (!s && at != buflen)
        s = fm_error(FM_EIO, "%s: %llu stray bytes after the last tensor", st->path,
                     (unsigned long long)(buflen - at));
    free(order);
    if (!s)
        s = index_names(st);
    return s;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), as
 * the reference requires of the header. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        int more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
                 : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (more < 0 || (size_t)more >= n - i)
            return false;
        uint32_t cp = more == 0 ? c : c & (0x3f >> more);
        for (int k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += (size_t)more + 1;
    }
    return true;
}

static fm_status parse_header(fm_safetensors *st, const char *text, size_t len,
                              uint64_t buflen)
{
    if (!valid_utf8((const unsigned char *)text, len))
        return fm_error(FM_EIO, "%s: the header is not valid UTF-8", st->path);
    fm_status lex = check_lexical(st->path, text, len);
    if (lex)
        return lex;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root)
        return fm_error(FM_EIO, "%s: invalid JSON header", st->path);
    while (end && end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != text + len) {
        cJSON_Delete(root);
        return fm_error(FM_EIO, "%s: invalid JSON header (trailing characters)", st->path);
    }
    fm_status s = FM_OK;
    if (!cJSON_IsObject(root))
        s = fm_error(FM_EIO, "%s: the JSON header is not an object", st->path);
    int count = s ? 0 : cJSON_GetArraySize(root);
    st->entries = calloc((size_t)count + 1, sizeof *st->entries);
    if (!s && !st->entries)
        s = fm_error(FM_ENOMEM, "%s: out of memory", st->path);
    const cJSON *j;
    for (j = s ? NULL : root->child; j && !s; j = j->next) {
        if (strcmp(j->string, "__metadata__") == 0) {
            if (st->meta_keys)
                s = fm_error(FM_EIO, "%s: __metadata__ appears twice", st->path);
            else
                s = parse_metadata(st, j);
        } else {
            s = parse_entry(st->path, j, buflen, &st->entries[st->n]);
            if (!s)
                st->n++;
        }
    }
    cJSON_Delete(root);
    if (!s)
        s = check_layout(st, buflen);
    return s;
}

fm_status fm_safetensors_open(const char *path, fm_safetensors *st)
{
    memset(st, 0, sizeof *st);
    uint64_t size;
    fm_status s = fm_file_check_endian(path);
    if (!s)
        s = fm_file_open_read(path, &st->f, &size);
    if (s)
        return s;
    st->path = dup_str(path);
    if (!st->path) {
        fm_safetensors_close(st);
        return fm_error(FM_ENOMEM, "%s: out of memory", path);
    }
    unsigned char lenbuf[8];
    s = fm_file_read_at(st->f, path, 0, lenbuf, 8, "file (no header length)");
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | lenbuf[i];
    if (!s && (hlen > ST_MAX_HEADER || hlen > size - 8))
        s = fm_error(FM_EIO, "%s: header length %llu beyond the file (%llu bytes)%s",
                     path, (unsigned long long)hlen, (unsigned long long)size,
                     hlen > ST_MAX_HEADER ? " or the 100 MB limit" : "");
    char *text = s ? NULL : malloc(hlen + 1);
    if (!s && !text)
        s = fm_error(FM_ENOMEM, "%s: out of memory", path);
    if (!s)
        s = fm_file_read_at(st->f, path, 8, text, hlen, "header");
    if (!s) {
        st->data_start = 8 + hlen;
        s = parse_header(st, text, hlen, size - st->data_start);
    }
    free(text);
    if (s)
        fm_safetensors_close(st);
    return s;
}

int fm_safetensors_find(const fm_safetensors *st, const char *name)
{
    int lo = 0, hi = st->by_name ? st->n : 0;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, i = st->by_name[mid];
        int c = strcmp(st->entries[i].name, name);
        if (c == 0)
            return i;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

fm_status fm_safetensors_read(fm_safetensors *st, int i, fm_tensor *out)
{
    if (!st->f || i < 0 || i >= st->n)
        return fm_error(FM_EINDEX, "%s: no tensor number %d", st->path ? st->path : "?", i);
    const fm_safetensors_entry *e = &st->entries[i];
    fm_tensor want;
    fm_tensor_init(&want, NULL, e->dtype, e->ndim, e->shape);
    if (out->dtype != e->dtype || !fm_tensor_same_shape(out, &want))
        return fm_error(FM_ESHAPE, "%s: tensor '%s' is read into a %s tensor of its shape",
                        st->path, e->name, fm_dtype_name(e->dtype));
    fm_status s = fm_file_read_tensor(st->f, st->path, st->data_start + e->begin,
                                      e->stored, out);
    if (s == FM_EIO) { /* say which tensor */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", fm_last_error());
        s = fm_error(FM_EIO, "%s (tensor '%s')", msg, e->name);
    }
    return s;
}

void fm_safetensors_close(fm_safetensors *st)
{
    if (st->f)
        fclose(st->f);
    for (int i = 0; st->entries && st->entries[i].name; i++)
        free(st->entries[i].name);
    for (int i = 0; i < st->nmeta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->entries);
    free(st->by_name);
    free(st->meta_keys);
    free(st->meta_values);
    free(st->path);
    memset(st, 0, sizeof *st);
}

/* ---- writing ------------------------------------------------------------ */

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names are distinct (sorted copies compared as neighbours: O(n log n)),
 * not "__metadata__" and free of control characters. */
static fm_status check_names(const char *path, int n, const char *const *names,
                             const fm_tensor *const *tensors, const fm_stored *stored)
{
    for (int i = 0; i < n; i++) {
        if (!names[i] || strcmp(names[i], "__metadata__") == 0)
            return fm_error(FM_EVALUE, "%s: a tensor cannot be called '%s'", path,
                            names[i] ? names[i] : "(null)");
        if (!name_ok(names[i]))
            return fm_error(FM_EVALUE, "%s: tensor name '%s' holds a control character",
                            path, names[i]);
        fm_stored s = stored ? stored[i] : FM_STORED_NATIVE;
        if (!fm_stored_fits(s, tensors[i]->dtype) || !fm_safetensors_tag(tensors[i]->dtype, s))
            return fm_error(FM_ETYPE, "%s: tensor '%s' is %s, which cannot be stored as %s",
                            path, names[i], fm_dtype_name(tensors[i]->dtype),
                            fm_stored_name(s, tensors[i]->dtype));
    }
    if (n < 2)
        return FM_OK;
    const char **sorted = malloc(sizeof *sorted * (size_t)n);
    if (!sorted)
        return fm_error(FM_ENOMEM, "%s: out of memory", path);
    memcpy(sorted, names, sizeof *sorted * (size_t)n);
    qsort(sorted, (size_t)n, sizeof *sorted, by_string);
    fm_status s = FM_OK;
    for (int i = 1; i < n && !s; i++)
        if (strcmp(sorted[i], sorted[i - 1]) == 0)
            s = fm_error(FM_EVALUE, "%s: two tensors called '%s'", path, sorted[i]);
    free(sorted);
    return s;
}

/* The JSON header (metadata first, then entries in the given order), padded
 * with spaces so that the data buffer starts at a multiple of 8 bytes. */
static char *build_header(int n, const char *const *names,
                          const fm_tensor *const *tensors, const fm_stored *stored,
                          int nmeta, const char *const *keys,
                          const char *const *values, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    if (ok && nmeta > 0) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        ok = meta != NULL;
        for (int i = 0; ok && i < nmeta; i++)
            ok = cJSON_AddStringToObject(meta, keys[i], values[i]) != NULL;
    }
    uint64_t at = 0;
    for (int i = 0; ok && i < n; i++) {
        fm_stored si = stored ? stored[i] : FM_STORED_NATIVE;
        fm_dtype dt = tensors[i]->dtype;
        uint64_t nbytes = (uint64_t)fm_tensor_numel(tensors[i]) * fm_stored_size(si, dt);
        double shape[FM_MAX_DIMS], offs[2] = {(double)at, (double)(at + nbytes)};
        for (int d = 0; d < tensors[i]->ndim; d++)
            shape[d] = (double)tensors[i]->shape[d];
        cJSON *e = cJSON_AddObjectToObject(root, names[i]);
        cJSON *sh = cJSON_CreateDoubleArray(shape, tensors[i]->ndim);
        cJSON *of = cJSON_CreateDoubleArray(offs, 2);
        ok = e && sh && of && cJSON_AddStringToObject(e, "dtype", fm_safetensors_tag(dt, si));
        ok = ok && cJSON_AddItemToObject(e, "shape", sh);
        if (!ok || !cJSON_AddItemToObject(e, "data_offsets", of)) {
            cJSON_Delete(of);
            if (!ok)
                cJSON_Delete(sh);
            ok = false;
        }
        at += nbytes;
    }
    char *json = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!json)
        return NULL;
    size_t raw = strlen(json);
    size_t padded = (raw + 8 + ST_ALIGN - 1) / ST_ALIGN * ST_ALIGN - 8;
    char *out = realloc(json, padded + 1);
    if (!out) {
        cJSON_free(json);
        return NULL;
    }
    memset(out + raw, ' ', padded - raw);
    out[padded] = 0;
    *len = padded;
    return out;
}

fm_status fm_safetensors_write(const char *path, int n, const char *const *names,
                               const fm_tensor *const *tensors,
                               const fm_stored *stored, int nmeta,
                               const char *const *meta_keys,
                               const char *const *meta_values)
{
    fm_status s = fm_file_check_endian(path);
    if (!s)
        s = check_names(path, n, names, tensors, stored);
    if (s)
        return s;
    size_t hlen = 0;
    char *header = build_header(n, names, tensors, stored, nmeta, meta_keys,
                                meta_values, &hlen);
    if (!header)
        return fm_error(FM_ENOMEM, "%s: out of memory building the header", path);
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++)
        lenbuf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    fm_atomic_file af;
    s = fm_atomic_open(&af, path);
    if (!s)
        s = fm_atomic_write(&af, lenbuf, 8);
    if (!s)
        s = fm_atomic_write(&af, header, hlen);
    for (int i = 0; i < n && !s; i++)
        s = fm_atomic_write_tensor(&af, tensors[i], stored ? stored[i] : FM_STORED_NATIVE);
    free(header);
    if (s) {
        fm_atomic_abort(&af);
        return s;
    }
    return fm_atomic_commit(&af);
}
