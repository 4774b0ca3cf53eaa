/* internal.h — what mpi.c and none.c share (common.c). */
#ifndef FM_DIST_INTERNAL_H
#define FM_DIST_INTERNAL_H

#include "dist/dist.h"

/* Checks one rank's own arguments: tensors contiguous, of a dtype the
 * collective takes (float32, float64, int64; mean: float only). Sets the
 * error message and returns its status; FM_OK if they are fine. */
fm_status fm_dist_check_local(const char *fname, fm_tensor *const *ts, int n,
                              bool mean);
#endif
