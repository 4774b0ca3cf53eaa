/* fileio.h — what the file formats (npy, safetensors) share: atomic writes
 * (temporary file in the same directory, fsync, rename) and moving tensor
 * elements between files and memory, in the tensor's dtype or another
 * stored type (stored.h: int32, float16, bfloat16, bool).
 *
 * Every failure returns FM_EIO (or the status of the tensor check) with a
 * message naming the file. Host byte order is assumed little-endian, as both
 * formats store it (checked at run time by fm_file_check_endian).
 */
#ifndef FM_FILEIO_H
#define FM_FILEIO_H

#include <stdio.h>

#include "core/fm.h"
#include "io/stored.h"

/* A file being written under a temporary name next to its final path. */
typedef struct {
    FILE *f;
    char *tmp;         /* malloc'd temporary path */
    const char *path;  /* final path (not owned) */
} fm_atomic_file;

/* FM_EIO unless path is absent or a regular file (or a link to one): an
 * atomic write renames over its target, which must never replace a device,
 * a directory or a pipe (as root, rename onto /dev/null replaces the device
 * node itself). Every writer that renames calls this first. */
fm_status fm_file_check_target(const char *path);

/* Gives a file the mode a plain fopen would: 0666 & ~umask. */
void fm_file_default_mode(const char *path);

/* Temporary names (docs/reliability.md): every temporary file fmlua writes
 * has ".tmp-<pid>@<host>-" in its name, the writer's pid and host name (the
 * first 64 bytes, '/' and '-' replaced by '_'), so that two processes never
 * collide on one and a later writer can tell a dead writer's leftover. This
 * writes the infix of this process into buf (size n >= 96); returns buf. */
char *fm_tmp_infix(char *buf, size_t n);
/* Removes the temporary files of dead writers in directory dir: names that
 * contain ".tmp-<pid>@<host>-" with this host's name, a pid other than ours,
 * and no process with that pid (kill(pid, 0) fails with ESRCH). Regular
 * files only; best effort (errors ignored). Returns how many were removed. */
int fm_clean_stale_temps(const char *dir);

/* Removes the stale temporaries of the directory of path
 * (fm_clean_stale_temps), then creates path.tmp-<pid>@<host>-XXXXXX there
 * (after fm_file_check_target). */
fm_status fm_atomic_open(fm_atomic_file *af, const char *path);
fm_status fm_atomic_write(fm_atomic_file *af, const void *p, size_t n);
/* Writes the elements of t (any strides) in row-major order, converted to
 * stored (FM_ETYPE if t's dtype cannot be stored so; FM_EVALUE naming the
 * element if a value does not fit: int32 range, bool 0/1). */
fm_status fm_atomic_write_tensor(fm_atomic_file *af, const fm_tensor *t,
                                 fm_stored stored);
/* Flushes, fsyncs, closes and renames over path; on failure removes the
 * temporary file. Either way af is released. */
fm_status fm_atomic_commit(fm_atomic_file *af);
/* Closes and removes the temporary file (after a failed write). */
void fm_atomic_abort(fm_atomic_file *af);

/* Opens path for reading, with its size; FM_EIO naming the file otherwise. */
fm_status fm_file_open_read(const char *path, FILE **f, uint64_t *size);
/* Reads exactly n bytes at offset; FM_EIO "<path>: truncated <what>". */
fm_status fm_file_read_at(FILE *f, const char *path, uint64_t offset,
                          void *buf, size_t n, const char *what);
/* Reads numel elements stored as `stored` at offset into the contiguous
 * tensor out, widened to its dtype (FM_EIO naming the element for a bool
 * byte other than 0 or 1). */
fm_status fm_file_read_tensor(FILE *f, const char *path, uint64_t offset,
                              fm_stored stored, fm_tensor *out);
/* FM_EIO on a big-endian host (the formats are little-endian). */
fm_status fm_file_check_endian(const char *path);

#endif
