/* dist.h — data-parallel collectives over MPI (docs/dist.md).
 *
 * Plain C over MPI_COMM_WORLD; built from mpi.c when CMake finds MPI and
 * from none.c otherwise (then fm_dist_built() is false and the collectives
 * fail with a message saying so). Before fm_dist_init(), or when the
 * process was not started by an MPI launcher, there is one rank: rank 0 of
 * size 1, and every collective leaves its tensors as they are (after
 * checking them), so one program runs alike with and without mpirun.
 *
 * Every collective first compares what each rank passed (how many tensors,
 * their dtypes and shapes, and whether one rank's own arguments were bad) in
 * one small allreduce, so a mismatch is an error on every rank, never a
 * deadlock or a silent reduction of unrelated memory. MPI calls are made
 * from the calling thread only (MPI_THREAD_FUNNELED).
 */
#ifndef FM_DIST_H
#define FM_DIST_H

#include "core/fm.h"

typedef enum { FM_DIST_SUM = 0, FM_DIST_MEAN, FM_DIST_MAX, FM_DIST_MIN } fm_dist_op;
#define FM_DIST_OP_COUNT 4
/* At most this many tensors per call (a network has a few hundred). */
#define FM_DIST_MAX_TENSORS 65536

/* True when this build has MPI. */
bool fm_dist_built(void);
/* True when the environment says an MPI launcher (mpirun, mpiexec, srun
 * with PMI/PMIx) started this process; FM_DIST=0 says no, FM_DIST=1 yes. */
bool fm_dist_launched(void);
/* MPI_Init_thread once, when launched (or force); a no-op otherwise and on
 * later calls. Registers MPI_Finalize with atexit. */
fm_status fm_dist_init(bool force);
/* True once MPI is initialised (and not yet finalised). */
bool fm_dist_initialized(void);
int fm_dist_rank(void);
int fm_dist_size(void);
/* The MPI library's version line ("" without MPI). */
const char *fm_dist_library(void);

fm_status fm_dist_barrier(void);
/* In place, over the n tensors ts[0..n-1] (contiguous float32, float64 or
 * int64; NULL = absent, which must be absent on every rank): one MPI call
 * per dtype present. FM_DIST_MEAN divides the sum by the number of ranks
 * and needs a float dtype. */
fm_status fm_dist_allreduce(fm_tensor *const *ts, int n, fm_dist_op op);
/* Copies root's tensors into every rank's (same dtypes and shapes). */
fm_status fm_dist_broadcast(fm_tensor *const *ts, int n, int root);
/* out (size, *t.shape), same dtype as t, contiguous: out[r] = rank r's t.
 * root < 0: every rank receives (allgather); otherwise only root's out is
 * written and the others may pass out = NULL. */
fm_status fm_dist_gather(const fm_tensor *t, fm_tensor *out, int root);
/* Root's bytes to every rank: *buf is root's data (len *len) on root; on
 * the others *buf is set to a malloc'd copy (free() it) and *len to its
 * length. */
fm_status fm_dist_broadcast_bytes(char **buf, size_t *len, int root);

/* MPI_Abort(code) when initialised: ends every rank of the job. A no-op
 * otherwise (the caller then exits as a single process would). */
void fm_dist_abort(int code);
void fm_dist_finalize(void);

/* For both builds: the op's name ("sum", ...) and the launcher test. */
const char *fm_dist_op_name(fm_dist_op op);
#endif
