/* fileio.c — atomic writes and tensor element transfer for the file formats. */
#define _GNU_SOURCE /* fileno, fseeko, mkstemp, fsync, gethostname, kill, strndup */
#include "io/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK_ELEMS 8192

fm_status fm_file_check_endian(const char *path)
{
    const uint16_t one = 1;
    if (*(const uint8_t *)&one != 1)
        return fm_error(FM_EIO, "%s: big-endian hosts are not supported", path);
    return FM_OK;
}

fm_status fm_file_check_target(const char *path)
{
    struct stat st;
    if (path[0] == '\0')
        return fm_error(FM_EIO, "empty file name");
    if (stat(path, &st) != 0)
        return FM_OK; /* absent (or unreachable: the write itself will say) */
    if (!S_ISREG(st.st_mode))
        return fm_error(FM_EIO, "%s: exists and is not a regular file; "
                        "refusing to replace it", path);
    return FM_OK;
}

void fm_file_default_mode(const char *path)
{
    mode_t mask = umask(0);
    umask(mask);
    (void)chmod(path, 0666 & ~mask); /* best effort */
}

char *fm_tmp_infix(char *buf, size_t n)
{
    char host[65];
    if (gethostname(host, sizeof host) != 0)
        strcpy(host, "localhost");
    host[sizeof host - 1] = 0;
    for (char *c = host; *c; c++)
        if (*c == '/' || *c == '-')
            *c = '_';
    snprintf(buf, n, ".tmp-%ld@%s-", (long)getpid(), host);
    return buf;
}

/* The pid of a temporary name of this host ("...<infix>..."), else 0. */
static long temp_writer(const char *name, const char *host)
{
    size_t hl = strlen(host);
    for (const char *p = strstr(name, ".tmp-"); p; p = strstr(p + 1, ".tmp-")) {
        const char *q = p + 5;
        char *end;
        if (*q < '0' || *q > '9')
            continue;
        long pid = strtol(q, &end, 10);
        if (pid > 0 && *end == '@' && strncmp(end + 1, host, hl) == 0 && end[1 + hl] == '-')
            return pid;
    }
    return 0;
}

int fm_clean_stale_temps(const char *dir)
{
    char infix[160];
    fm_tmp_infix(infix, sizeof infix);
    /* infix = ".tmp-<pid>@<host>-": the host part */
    char *host = strchr(infix, '@') + 1;
    host[strlen(host) - 1] = 0;
    DIR *d = opendir(dir[0] ? dir : ".");
    if (!d)
        return 0;
    long self = (long)getpid();
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = temp_writer(e->d_name, host);
        if (pid == 0 || pid == self || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *full = malloc(len);
        if (!full)
            break;
        snprintf(full, len, "%s/%s", dir[0] ? dir : ".", e->d_name);
        struct stat st;
        if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && unlink(full) == 0)
            removed++;
        free(full);
    }
    closedir(d);
    return removed;
}

/* The directory part of path ("." for a bare name), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

fm_status fm_atomic_open(fm_atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    fm_status check = fm_file_check_target(path);
    if (check)
        return check;
    af->path = path;
    char *dir = dir_of(path);
    if (dir) {
        fm_clean_stale_temps(dir);
        free(dir);
    }
    char infix[160];
    fm_tmp_infix(infix, sizeof infix);
    size_t len = strlen(path), il = strlen(infix);
    af->tmp = malloc(len + il + sizeof "XXXXXX");
    if (!af->tmp)
        return fm_error(FM_ENOMEM, "%s: out of memory", path);
    memcpy(af->tmp, path, len);
    memcpy(af->tmp + len, infix, il);
    memcpy(af->tmp + len + il, "XXXXXX", sizeof "XXXXXX");
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        fm_status st = fm_error(FM_EIO, "%s: cannot create a temporary file: %s",
                                path, strerror(errno));
        free(af->tmp);
        af->tmp = NULL;
        return st;
    }
    /* mkstemp makes the file 0600; give it the usual 0666 & ~umask */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        close(fd);
        unlink(af->tmp);
        free(af->tmp);
        af->tmp = NULL;
        return fm_error(FM_EIO, "%s: cannot open for writing", path);
    }
    return FM_OK;
}

fm_status fm_atomic_write(fm_atomic_file *af, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, af->f) != n)
        return fm_error(FM_EIO, "%s: write failed: %s", af->path, strerror(errno));
    return FM_OK;
}

/* Offset in elements of the element with flat row-major index i. */
static int64_t offset_of(const fm_tensor *t, int64_t i)
{
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (i % t->shape[d]) * t->stride[d];
        i /= t->shape[d];
    }
    return off;
}

/* "<path>: element <i> (<value>) cannot be stored as <type>" for the value
 * of dtype at p. */
static fm_status unfit(const char *path, int64_t i, fm_dtype dtype, const void *p,
                       fm_stored stored)
{
    int64_t v = 0;
    if (dtype == FM_INT64)
        memcpy(&v, p, 8);
    else
        v = *(const uint8_t *)p;
    return fm_error(FM_EVALUE, "%s: element %lld is %lld, which %s cannot hold%s", path,
                    (long long)i, (long long)v, fm_stored_name(stored, dtype),
                    stored == FM_STORED_BOOL ? " (a bool is 0 or 1)" : "");
}

/* Copies elements [start, start + n) of t (row-major) into buf, converted
 * to stored (in place: narrowing never needs more room). */
static fm_status gather(const fm_tensor *t, int64_t start, int64_t n,
                        fm_stored stored, unsigned char *buf, const char *path)
{
    size_t es = fm_dtype_size(t->dtype);
    bool contig = fm_tensor_is_contiguous(t);
    for (int64_t i = 0; i < n; i++) {
        int64_t off = contig ? start + i : offset_of(t, start + i);
        memcpy(buf + (size_t)i * es, (const unsigned char *)t->data + (size_t)off * es, es);
    }
    int64_t bad = fm_stored_narrow(stored, t->dtype, buf, buf, n);
    if (bad >= 0)
        return unfit(path, start + bad, t->dtype, buf + (size_t)bad * es, stored);
    return FM_OK;
}

fm_status fm_atomic_write_tensor(fm_atomic_file *af, const fm_tensor *t,
                                 fm_stored stored)
{
    if (!fm_stored_fits(stored, t->dtype))
        return fm_error(FM_ETYPE, "%s: a %s tensor cannot be stored as %s", af->path,
                        fm_dtype_name(t->dtype), fm_stored_name(stored, t->dtype));
    int64_t n = fm_tensor_numel(t);
    size_t es = fm_stored_size(stored, t->dtype);
    if (n > 0 && fm_tensor_is_contiguous(t) && stored == FM_STORED_NATIVE)
        return fm_atomic_write(af, t->data, (size_t)n * es);
    unsigned char *buf = malloc(CHUNK_ELEMS * 8);
    if (!buf)
        return fm_error(FM_ENOMEM, "%s: out of memory", af->path);
    fm_status st = FM_OK;
    for (int64_t i = 0; i < n && !st; i += CHUNK_ELEMS) {
        int64_t m = n - i < CHUNK_ELEMS ? n - i : CHUNK_ELEMS;
        st = gather(t, i, m, stored, buf, af->path);
        if (!st)
            st = fm_atomic_write(af, buf, (size_t)m * es);
    }
    free(buf);
    return st;
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return;
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash == dir)
        d = "/";
    else if (slash) {
        *slash = 0;
        d = dir;
    }
    int fd = open(d, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

fm_status fm_atomic_commit(fm_atomic_file *af)
{
    fm_status st = FM_OK;
    if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0)
        st = fm_error(FM_EIO, "%s: flush failed: %s", af->path, strerror(errno));
    if (fclose(af->f) != 0 && !st)
        st = fm_error(FM_EIO, "%s: close failed: %s", af->path, strerror(errno));
    af->f = NULL;
    if (!st && rename(af->tmp, af->path) != 0)
        st = fm_error(FM_EIO, "%s: cannot rename the temporary file into place: %s",
                      af->path, strerror(errno));
    if (st)
        unlink(af->tmp);
    else
        sync_dir(af->path);
    free(af->tmp);
    af->tmp = NULL;
    return st;
}

void fm_atomic_abort(fm_atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    af->f = NULL;
    if (af->tmp) {
        unlink(af->tmp);
        free(af->tmp);
    }
    af->tmp = NULL;
}

fm_status fm_file_open_read(const char *path, FILE **f, uint64_t *size)
{
    *f = fopen(path, "rb");
    if (!*f)
        return fm_error(FM_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(*f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(*f);
        *f = NULL;
        return fm_error(FM_EIO, "%s: not a regular file", path);
    }
    *size = (uint64_t)sb.st_size;
    return FM_OK;
}

fm_status fm_file_read_at(FILE *f, const char *path, uint64_t offset,
                          void *buf, size_t n, const char *what)
{
    if (offset > (uint64_t)INT64_MAX || fseeko(f, (off_t)offset, SEEK_SET) != 0)
        return fm_error(FM_EIO, "%s: cannot seek to the %s", path, what);
    if (n && fread(buf, 1, n, f) != n)
        return fm_error(FM_EIO, "%s: truncated %s", path, what);
    return FM_OK;
}

fm_status fm_file_read_tensor(FILE *f, const char *path, uint64_t offset,
                              fm_stored stored, fm_tensor *out)
{
    if (!fm_tensor_is_contiguous(out))
        return fm_error(FM_ELAYOUT, "%s: reading needs a contiguous tensor", path);
    if (!fm_stored_fits(stored, out->dtype))
        return fm_error(FM_ETYPE, "%s: %s data is not read into %s tensors", path,
                        fm_stored_name(stored, out->dtype), fm_dtype_name(out->dtype));
    int64_t n = fm_tensor_numel(out);
    size_t es = fm_stored_size(stored, out->dtype), ed = fm_dtype_size(out->dtype);
    if (stored == FM_STORED_NATIVE)
        return fm_file_read_at(f, path, offset, out->data, (size_t)n * ed, "data");
    /* read into the top es * n bytes of out, then widen forwards: dst[i]
     * (bytes ed*i .. ed*(i+1)) never reaches src[j > i] (from (ed-es)*n + es*j) */
    unsigned char *src = (unsigned char *)out->data + (size_t)n * (ed - es);
    fm_status st = fm_file_read_at(f, path, offset, src, (size_t)n * es, "data");
    if (st)
        return st;
    int64_t bad = fm_stored_widen(stored, out->dtype, src, out->data, n);
    if (bad >= 0)
        return fm_error(FM_EIO, "%s: element %lld of the %s data is the byte %u "
                        "(a bool is 0 or 1)", path, (long long)bad,
                        fm_stored_name(stored, out->dtype), src[(size_t)bad * es]);
    return FM_OK;
}
