/* clock.h — a monotonic wall clock, for progress bars and timings (steps/s,
 * ETA). CPU time (clock(), os.clock) counts every BLAS thread, so it is not
 * what a user waits for. */
#ifndef FM_CLOCK_H
#define FM_CLOCK_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC); only differences
 * mean anything. */
double fm_clock_now(void);

#endif
