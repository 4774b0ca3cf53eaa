/* mpi_internal.h — shared by mpi.c and mpi_collectives.c. */
#ifndef FM_DIST_MPI_INTERNAL_H
#define FM_DIST_MPI_INTERNAL_H

#include <mpi.h>

#include "dist/internal.h"

/* FM_OK, or the MPI error rc as an fm error naming fname. */
fm_status fm_dist_mpi_status(const char *fname, int rc);
/* MPI_Bcast of count elements of elsize bytes, in int-sized pieces. */
fm_status fm_dist_bcast_chunked(const char *fname, void *buf, size_t count,
                                size_t elsize, MPI_Datatype type, int root);
#endif
