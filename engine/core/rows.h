/* rows.h — private helpers of path.c and gmm.c: read and write rows of a 2-D
 * float tensor (any strides) through double buffers, and per-row times. */
#ifndef FM_ROWS_H
#define FM_ROWS_H

#include "core/fm.h"

static inline void fm_row_read(const fm_tensor *t, int64_t i, double *buf)
{
    int64_t d = t->shape[1], s = t->stride[1];
    if (t->dtype == FM_FLOAT32) {
        const float *p = (const float *)t->data + i * t->stride[0];
        for (int64_t j = 0; j < d; j++) buf[j] = p[j * s];
    } else {
        const double *p = (const double *)t->data + i * t->stride[0];
        for (int64_t j = 0; j < d; j++) buf[j] = p[j * s];
    }
}

static inline void fm_row_write(fm_tensor *t, int64_t i, const double *buf)
{
    int64_t d = t->shape[1], s = t->stride[1];
    if (t->dtype == FM_FLOAT32) {
        float *p = (float *)t->data + i * t->stride[0];
        for (int64_t j = 0; j < d; j++) p[j * s] = (float)buf[j];
    } else {
        double *p = (double *)t->data + i * t->stride[0];
        for (int64_t j = 0; j < d; j++) p[j * s] = buf[j];
    }
}

/* FM_OK if t is a 2-D float32/float64 tensor; names op and what otherwise. */
fm_status fm_rows_check(const fm_tensor *t, const char *op, const char *what);
/* FM_OK if a and b are both (n, d) float tensors of the same shape. */
fm_status fm_rows_check_same(const fm_tensor *a, const fm_tensor *b,
                             const char *op, const char *wa, const char *wb);

#endif
