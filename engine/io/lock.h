/* lock.h — an exclusive, non-blocking advisory lock on a file, held by one
 * process: the run-directory lock of fm.run (docs/reliability.md).
 *
 * The lock is flock(2) on a lock file opened O_RDWR | O_CLOEXEC (so the
 * programs a script starts with os.execute do not inherit it; over NFS,
 * Linux turns flock into a byte-range lock, which needs the write mode).
 * The kernel releases it when the holder exits, however it exits, so a lock
 * file left by a killed process is simply taken over by the next writer.
 * The holder writes its pid into the file for the messages of the others.
 * Releasing removes the file while still holding the lock; an acquirer that
 * locked a file which was removed (or replaced) meanwhile tries again, so two
 * processes never both believe they hold the lock.
 */
#ifndef FM_LOCK_H
#define FM_LOCK_H

#include "core/fm.h"

typedef struct {
    int fd;      /* -1 when not held */
    char *path;  /* malloc'd */
} fm_lock;

/* Takes the lock at path without waiting. FM_OK and lk held, or FM_EIO
 * "<path>: locked by process <pid>" with *holder the holder's pid (0 if it
 * could not be read) when another open file holds it (another process, or
 * the same process through another fm_lock), or FM_EIO naming the system
 * error. holder may be NULL. */
fm_status fm_lock_acquire(fm_lock *lk, const char *path, long *holder);
/* Removes the lock file and releases the lock; idempotent (lk->fd = -1). */
void fm_lock_release(fm_lock *lk);

#endif
