/* lock.c — exclusive flock on a lock file (lock.h). */
#define _GNU_SOURCE /* flock, O_CLOEXEC */
#include "io/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The pid written in the lock file at fd (0 if none yet). */
static long read_holder(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    return strtol(buf, NULL, 10);
}

static void nap_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

fm_status fm_lock_acquire(fm_lock *lk, const char *path, long *holder)
{
    lk->fd = -1;
    lk->path = NULL;
    if (holder)
        *holder = 0;
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            return fm_error(FM_EIO, "%s: cannot open the lock file: %s", path,
                            strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            if (e != EWOULDBLOCK) {
                close(fd);
                return fm_error(FM_EIO, "%s: cannot lock: %s", path, strerror(e));
            }
            /* the holder writes its pid right after locking: give it a moment */
            long pid = 0;
            for (int i = 0; i < 20 && (pid = read_holder(fd)) == 0; i++)
                nap_ms(5);
            close(fd);
            if (holder)
                *holder = pid;
            if (pid > 0)
                return fm_error(FM_EIO, "%s: locked by process %ld", path, pid);
            return fm_error(FM_EIO, "%s: locked by another process", path);
        }
        /* locked; but is it still the file at path? (a releasing holder
         * removes it while it holds the lock) */
        struct stat a, b;
        if (fstat(fd, &a) != 0 || stat(path, &b) != 0 || a.st_dev != b.st_dev ||
            a.st_ino != b.st_ino) {
            close(fd);
            continue;
        }
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
            int e = errno;
            close(fd);
            return fm_error(FM_EIO, "%s: cannot write the lock file: %s", path,
                            strerror(e));
        }
        lk->path = strdup(path);
        if (!lk->path) {
            close(fd);
            return fm_error(FM_ENOMEM, "%s: out of memory", path);
        }
        lk->fd = fd;
        return FM_OK;
    }
    return fm_error(FM_EIO, "%s: the lock file keeps being replaced", path);
}

void fm_lock_release(fm_lock *lk)
{
    if (lk->fd >= 0) {
        unlink(lk->path); /* while holding it: see fm_lock_acquire */
        close(lk->fd);
    }
    free(lk->path);
    lk->fd = -1;
    lk->path = NULL;
}
