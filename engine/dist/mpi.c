/* mpi.c — the life of the MPI process: init, rank and size, abort,
 * finalize, barrier, and broadcasting bytes (docs/dist.md). The tensor
 * collectives are in mpi_collectives.c. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/mpi_internal.h"

bool fm_dist_built(void) { return true; }

bool fm_dist_initialized(void)
{
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    return inited && !finalized;
}

int fm_dist_rank(void)
{
    int r = 0;
    if (fm_dist_initialized())
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int fm_dist_size(void)
{
    int s = 1;
    if (fm_dist_initialized())
        MPI_Comm_size(MPI_COMM_WORLD, &s);
    return s;
}

fm_status fm_dist_mpi_status(const char *fname, int rc)
{
    if (rc == MPI_SUCCESS)
        return FM_OK;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    return fm_error(FM_EIO, "%s: MPI error: %.*s", fname, len, text);
}

fm_status fm_dist_init(bool force)
{
    int inited = 0;
    MPI_Initialized(&inited);
    if (inited || !(force || fm_dist_launched()))
        return FM_OK;
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS)
        return fm_dist_mpi_status("fm.dist.init", rc);
    /* errors come back as return codes (turned into Lua errors), not aborts */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    atexit(fm_dist_finalize);
    return FM_OK;
}

const char *fm_dist_library(void)
{
    static char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    version[strcspn(version, ",\n")] = '\0';  /* the first clause only */
    return version;
}

void fm_dist_abort(int code)
{
    if (!fm_dist_initialized())
        return;
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
}

void fm_dist_finalize(void)
{
    if (fm_dist_initialized())
        MPI_Finalize();
}

fm_status fm_dist_barrier(void)
{
    if (!fm_dist_initialized())
        return FM_OK;
    return fm_dist_mpi_status("fm.dist.barrier", MPI_Barrier(MPI_COMM_WORLD));
}

/* MPI counts are int: big buffers go in pieces of at most 1 GiB. */
#define CHUNK ((size_t)1 << 30)

fm_status fm_dist_bcast_chunked(const char *fname, void *buf, size_t count,
                                size_t elsize, MPI_Datatype type, int root)
{
    size_t per = CHUNK / elsize;
    for (size_t off = 0; off < count; off += per) {
        size_t m = count - off < per ? count - off : per;
        int rc = MPI_Bcast((char *)buf + off * elsize, (int)m, type, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return fm_dist_mpi_status(fname, rc);
    }
    return FM_OK;
}

fm_status fm_dist_broadcast_bytes(char **buf, size_t *len, int root)
{
    const char *fname = "fm.dist.broadcast_value";
    if (root < 0 || root >= fm_dist_size())
        return fm_error(FM_EINDEX, "%s: root %d out of range (ranks 0 to %d)", fname, root,
                        fm_dist_size() - 1);
    if (!fm_dist_initialized())
        return FM_OK;
    int rank = fm_dist_rank();
    uint64_t n = rank == root ? (uint64_t)*len : 0;
    int rc = MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS)
        return fm_dist_mpi_status(fname, rc);
    if (rank != root) {
        *buf = malloc(n ? n : 1);
        if (!*buf)
            return fm_error(FM_ENOMEM, "%s: out of memory (%llu bytes)", fname,
                            (unsigned long long)n);
        *len = (size_t)n;
    }
    return fm_dist_bcast_chunked(fname, *buf, (size_t)n, 1, MPI_BYTE, root);
}
