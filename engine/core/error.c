/* error.c — per-thread error messages and cooperative interruption. */
#include "core/fm.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[1024];
static volatile sig_atomic_t interrupt_flag;

fm_status fm_error(fm_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

const char *fm_last_error(void) { return last_error; }

const char *fm_status_name(fm_status status)
{
    static const char *const names[] = {
        [FM_OK] = "ok", [FM_ESHAPE] = "shape mismatch", [FM_ETYPE] = "wrong dtype",
        [FM_EINDEX] = "index out of range", [FM_EVALUE] = "bad value",
        [FM_ELAYOUT] = "non-contiguous tensor", [FM_ENOMEM] = "out of memory",
        [FM_EIO] = "i/o error", [FM_EINTERRUPT] = "interrupted"};
    _Static_assert(sizeof names / sizeof names[0] == FM_EINTERRUPT + 1,
                   "one name per status");
    if ((unsigned)status < sizeof names / sizeof names[0])
        return names[status];
    return "unknown error";
}

void fm_interrupt_request(void) { interrupt_flag = 1; }
void fm_interrupt_clear(void) { interrupt_flag = 0; }
bool fm_interrupted(void) { return interrupt_flag != 0; }
