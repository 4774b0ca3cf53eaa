/* view.h — views: new descriptors over the same memory (no copies). */
#ifndef FM_VIEW_H
#define FM_VIEW_H

#include "core/fm.h"

/* Normalises a dimension number given 0-based (negative counts from the end:
 * -1 is the last); returns FM_EINDEX naming `what` if out of range. */
fm_status fm_dim_normalize(int ndim, int64_t dim, int *out, const char *what);

fm_status fm_view_narrow(const fm_tensor *t, int dim, int64_t start,
                         int64_t length, fm_tensor *out);
fm_status fm_view_select(const fm_tensor *t, int dim, int64_t index,
                         fm_tensor *out);
fm_status fm_view_transpose(const fm_tensor *t, int d0, int d1, fm_tensor *out);
fm_status fm_view_permute(const fm_tensor *t, const int *perm, fm_tensor *out);
/* Reshape without copying; FM_ELAYOUT if the strides do not allow it.
 * One size may be -1 (inferred). */
fm_status fm_view_reshape(const fm_tensor *t, int ndim, const int64_t *shape,
                          fm_tensor *out);
/* Broadcast to a larger shape with zero strides (NumPy rules). */
fm_status fm_view_expand(const fm_tensor *t, int ndim, const int64_t *shape,
                         fm_tensor *out);
fm_status fm_view_unsqueeze(const fm_tensor *t, int dim, fm_tensor *out);
fm_status fm_view_squeeze(const fm_tensor *t, int dim, fm_tensor *out);
/* Resolves a -1 in shape against numel; checks the product. */
fm_status fm_shape_infer(int64_t numel, int ndim, int64_t *shape);

#endif
