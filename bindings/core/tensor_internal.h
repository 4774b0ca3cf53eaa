/* tensor_internal.h — shared among the bindings/tensor*.c files. */
#ifndef FM_TENSOR_INTERNAL_H
#define FM_TENSOR_INTERNAL_H

#include "core/lfm.h"

/* Sizes as varargs or one table from index first; returns the next index. */
int fmL_checksizes(lua_State *L, int first, int *ndim, int64_t *shape);
/* t.<name> for a string key at 2 (methods, grad, requires_grad, ...). */
int fmL_tensor_field(lua_State *L);
/* t.<name> = v for grad and requires_grad. */
int fmL_tensor_setfield(lua_State *L);

#endif
