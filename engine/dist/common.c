/* common.c — the parts of fm.dist that do not need MPI: op names, whether
 * an MPI launcher started this process, and the checks of one rank's own
 * arguments (docs/dist.md). */
#include <stdlib.h>
#include <string.h>

#include "dist/internal.h"

static const char *const OP_NAMES[] = {
    [FM_DIST_SUM] = "sum", [FM_DIST_MEAN] = "mean",
    [FM_DIST_MAX] = "max", [FM_DIST_MIN] = "min",
};
_Static_assert(sizeof OP_NAMES / sizeof OP_NAMES[0] == FM_DIST_OP_COUNT,
               "one name per fm_dist_op");

const char *fm_dist_op_name(fm_dist_op op)
{
    return (unsigned)op < FM_DIST_OP_COUNT ? OP_NAMES[op] : "?";
}

/* Variables the launchers set in every rank's environment: Open MPI's
 * mpirun, PMIx (Open MPI, srun --mpi=pmix) and PMI (MPICH's hydra, srun
 * --mpi=pmi2). A plain process has none of them. */
static const char *const LAUNCHER_VARS[] = {
    "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
};

bool fm_dist_launched(void)
{
    const char *force = getenv("FM_DIST");
    if (force && strcmp(force, "0") == 0)
        return false;
    if (force && strcmp(force, "1") == 0)
        return true;
    for (size_t i = 0; i < sizeof LAUNCHER_VARS / sizeof LAUNCHER_VARS[0]; i++)
        if (getenv(LAUNCHER_VARS[i]))
            return true;
    return false;
}

fm_status fm_dist_check_local(const char *fname, fm_tensor *const *ts, int n,
                              bool mean)
{
    if (n < 0 || n > FM_DIST_MAX_TENSORS)
        return fm_error(FM_EVALUE, "%s: %d tensors; 0 to %d expected", fname, n,
                        FM_DIST_MAX_TENSORS);
    for (int i = 0; i < n; i++) {
        const fm_tensor *t = ts[i];
        if (!t)
            continue;
        if (t->dtype != FM_FLOAT32 && t->dtype != FM_FLOAT64 && t->dtype != FM_INT64)
            return fm_error(FM_ETYPE, "%s: tensor %d is %s; float32, float64 or int64 "
                            "expected", fname, i + 1, fm_dtype_name(t->dtype));
        if (mean && t->dtype == FM_INT64)
            return fm_error(FM_ETYPE, "%s: tensor %d is int64, and a mean of integers is "
                            "not an integer; use \"sum\" (or a float tensor)", fname, i + 1);
        if (!fm_tensor_is_contiguous(t))
            return fm_error(FM_ELAYOUT, "%s: tensor %d is not contiguous; pass "
                            "x:contiguous() (and copy the result back)", fname, i + 1);
    }
    return FM_OK;
}
