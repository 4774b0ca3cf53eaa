/* none.c — fm.dist in a build without MPI: one rank, and every collective
 * says that MPI is missing (docs/dist.md, "Building"). */
#include "dist/internal.h"

#define MISSING "this fmlua was built without MPI (install libopenmpi-dev and " \
                "rebuild; docs/dist.md)"

bool fm_dist_built(void) { return false; }

fm_status fm_dist_init(bool force)
{
    if (force || fm_dist_launched())
        return fm_error(FM_EVALUE, "fm.dist.init: started by an MPI launcher, but "
                        MISSING);
    return FM_OK;
}

bool fm_dist_initialized(void) { return false; }
int fm_dist_rank(void) { return 0; }
int fm_dist_size(void) { return 1; }
const char *fm_dist_library(void) { return ""; }

static fm_status missing(const char *fname)
{
    return fm_error(FM_EVALUE, "%s: " MISSING, fname);
}

fm_status fm_dist_barrier(void) { return missing("fm.dist.barrier"); }

fm_status fm_dist_allreduce(fm_tensor *const *ts, int n, fm_dist_op op)
{
    (void)ts, (void)n, (void)op;
    return missing("fm.dist.allreduce");
}

fm_status fm_dist_broadcast(fm_tensor *const *ts, int n, int root)
{
    (void)ts, (void)n, (void)root;
    return missing("fm.dist.broadcast");
}

fm_status fm_dist_gather(const fm_tensor *t, fm_tensor *out, int root)
{
    (void)t, (void)out, (void)root;
    return missing("fm.dist.gather");
}

fm_status fm_dist_broadcast_bytes(char **buf, size_t *len, int root)
{
    (void)buf, (void)len, (void)root;
    return missing("fm.dist.broadcast_value");
}

void fm_dist_abort(int code) { (void)code; }
void fm_dist_finalize(void) {}
