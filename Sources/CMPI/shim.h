// Open MPI's C interface for Swift (the MPI trait only). MPI_COMM_WORLD, the datatypes and the
// operations are macros over addresses of globals, which Swift cannot import: these functions return them.
#ifndef FOVEA_CMPI_SHIM_H
#define FOVEA_CMPI_SHIM_H
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

static inline MPI_Comm fovea_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype fovea_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype fovea_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op fovea_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Errhandler fovea_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request fovea_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *fovea_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline void *fovea_mpi_in_place(void) { return MPI_IN_PLACE; }
#endif
