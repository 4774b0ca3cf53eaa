/* test_lock.c — the run-directory lock (engine/io/lock.h): a second holder
 * is refused with the holder's pid (in this process and in a forked child),
 * releasing removes the file, a lock file left by a dead process is taken
 * over, and a child killed while holding the lock frees it. */
#define _POSIX_C_SOURCE 200809L
#include "io/lock.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); \
    printf("\n"); } } while (0)

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

int main(void)
{
    char dir[] = "/tmp/fm_test_lock_XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    char path[256];
    snprintf(path, sizeof path, "%s/.lock", dir);

    fm_lock a, b;
    long holder = -1;
    CHECK(fm_lock_acquire(&a, path, &holder) == FM_OK, "first acquire: %s", fm_last_error());
    CHECK(exists(path), "the lock file exists while held");
    /* the same process through a second lock: refused, naming us */
    CHECK(fm_lock_acquire(&b, path, &holder) == FM_EIO, "second acquire must fail");
    CHECK(holder == (long)getpid(), "holder %ld, want %ld", holder, (long)getpid());
    CHECK(strstr(fm_last_error(), "locked by process") != NULL, "message: %s", fm_last_error());
    CHECK(b.fd == -1, "a refused lock holds nothing");
    fm_lock_release(&b); /* releasing an unheld lock is harmless */

    /* a child process is refused too */
    pid_t c = fork();
    if (c == 0) {
        fm_lock l;
        long h = 0;
        fm_status st = fm_lock_acquire(&l, path, &h);
        _exit(st == FM_EIO && h == (long)getppid() ? 0 : 1);
    }
    int ws = 0;
    waitpid(c, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the child was not refused with our pid");

    fm_lock_release(&a);
    fm_lock_release(&a); /* idempotent */
    CHECK(!exists(path), "release removes the lock file");

    /* a stale lock file (a dead writer's pid, nobody holds it) is taken over */
    FILE *f = fopen(path, "w");
    fprintf(f, "999999999\n");
    fclose(f);
    CHECK(fm_lock_acquire(&a, path, &holder) == FM_OK, "stale lock: %s", fm_last_error());
    f = fopen(path, "r");
    long pid = 0;
    CHECK(f && fscanf(f, "%ld", &pid) == 1 && pid == (long)getpid(), "the file names us: %ld", pid);
    if (f) fclose(f);
    fm_lock_release(&a);

    /* a child that holds the lock and is killed -9 frees it */
    int pipefd[2];
    if (pipe(pipefd) != 0) { perror("pipe"); return 1; }
    c = fork();
    if (c == 0) {
        fm_lock l;
        char ok = fm_lock_acquire(&l, path, NULL) == FM_OK ? 'y' : 'n';
        if (write(pipefd[1], &ok, 1) != 1) _exit(2);
        pause();
        _exit(0);
    }
    char got = 0;
    CHECK(read(pipefd[0], &got, 1) == 1 && got == 'y', "the child could not lock");
    CHECK(fm_lock_acquire(&a, path, &holder) == FM_EIO && holder == (long)c,
          "held by the child %ld, got holder %ld", (long)c, holder);
    kill(c, SIGKILL);
    waitpid(c, &ws, 0);
    CHECK(fm_lock_acquire(&a, path, &holder) == FM_OK, "after kill -9: %s", fm_last_error());
    fm_lock_release(&a);

    rmdir(dir);
    if (failures) { printf("%d failures\n", failures); return 1; }
    printf("test_lock: all passed\n");
    return 0;
}
