/* fm.h — the core types of libfm, the fmlua engine.
 *
 * Plain C11, no Lua. Every engine module includes this header. It defines:
 *   - fm_status and the per-thread error message (fm_error, fm_last_error);
 *   - fm_dtype and fm_tensor, a strided view descriptor over memory that the
 *     caller owns (the engine never decides where tensor memory lives: the Lua
 *     bindings put it inside userdata so that Lua's collector sees it, C users
 *     call fm_tensor_alloc / fm_tensor_free).
 *
 * Conventions for every engine function:
 *   - returns fm_status (FM_OK = 0) and, on failure, leaves a message naming the
 *     operation and the shapes in fm_last_error(); never exit/abort/assert on
 *     user input;
 *   - outputs are explicit arguments, allocated by the caller with the shape the
 *     matching fm_*_shape helper computes;
 *   - dimensions are 0-based here (the bindings convert from Lua's 1-based).
 */
#ifndef FM_H
#define FM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "core/fm_version.h" /* FM_VERSION: CMake's project(VERSION) */
#define FM_MAX_DIMS 8

typedef enum {
    FM_OK = 0,
    FM_ESHAPE,   /* shapes do not fit */
    FM_ETYPE,    /* wrong dtype, or dtypes mixed */
    FM_EINDEX,   /* index out of range */
    FM_EVALUE,   /* bad value (NaN where not allowed, negative size, ...) */
    FM_ELAYOUT,  /* a contiguous tensor was required */
    FM_ENOMEM,   /* allocation failed */
    FM_EIO,      /* file missing, truncated or corrupt */
    FM_EINTERRUPT /* stopped by fm_interrupt_request() */
} fm_status;

/* Sets the calling thread's error message (printf-style) and returns status. */
fm_status fm_error(fm_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The message of the last failure on this thread ("" if none). */
const char *fm_last_error(void);
const char *fm_status_name(fm_status status);

/* Cooperative interruption (Ctrl-C in the REPL): long loops in the engine poll
 * fm_interrupted() and return FM_EINTERRUPT. The flag is cleared by
 * fm_interrupt_clear(). Safe to call from a signal handler. */
void fm_interrupt_request(void);
void fm_interrupt_clear(void);
bool fm_interrupted(void);

/* FM_UINT8 holds bytes (images, masks read from files): it supports
 * creation, copies and conversions (fm_copy), fills, views, indexing,
 * cat and where; arithmetic, comparisons and reductions return FM_ETYPE
 * (convert to a float dtype first). */
typedef enum { FM_FLOAT32 = 0, FM_FLOAT64 = 1, FM_INT64 = 2, FM_UINT8 = 3 } fm_dtype;
#define FM_DTYPE_COUNT 4

size_t fm_dtype_size(fm_dtype dtype);
/* "float32", "float64", "int64", "uint8" */
const char *fm_dtype_name(fm_dtype dtype);
bool fm_dtype_is_float(fm_dtype dtype);

/* A tensor is a view: data points at element (0, ..., 0); strides are in
 * elements and may be zero (broadcast) but never negative. */
typedef struct {
    void *data;
    fm_dtype dtype;
    int ndim;                       /* 0 for a scalar */
    int64_t shape[FM_MAX_DIMS];
    int64_t stride[FM_MAX_DIMS];
} fm_tensor;

int64_t fm_tensor_numel(const fm_tensor *t);
size_t fm_tensor_nbytes(const fm_tensor *t);     /* numel * dtype size */
bool fm_tensor_is_contiguous(const fm_tensor *t);
bool fm_tensor_same_shape(const fm_tensor *a, const fm_tensor *b);

/* Fills the descriptor for a contiguous tensor over data (not copied). */
fm_status fm_tensor_init(fm_tensor *t, void *data, fm_dtype dtype, int ndim,
                         const int64_t *shape);
/* Checks ndim/shape and returns the byte size of a contiguous tensor. */
fm_status fm_shape_nbytes(fm_dtype dtype, int ndim, const int64_t *shape,
                          size_t *nbytes);
/* Formats a shape as "(3, 4)" into buf; returns buf. */
char *fm_shape_str(const fm_tensor *t, char *buf, size_t size);
#define FM_SHAPE_STR_MAX 128

/* For C users: malloc'd contiguous tensor (64-byte aligned), freed with
 * fm_tensor_free. The bindings do not use these. */
fm_status fm_tensor_alloc(fm_tensor *t, fm_dtype dtype, int ndim,
                          const int64_t *shape);
void fm_tensor_free(fm_tensor *t);

/* Element access by flat row-major index i (0 <= i < numel), any strides;
 * values are converted through double. fm_tensor_set into int64 truncates;
 * into uint8 it rounds to nearest (ties to even) and clamps to [0, 255],
 * NaN giving 0 (fm_copy, which can fail, makes NaN an error instead). */
double fm_tensor_get(const fm_tensor *t, int64_t i);
void fm_tensor_set(fm_tensor *t, int64_t i, double v);

#endif
