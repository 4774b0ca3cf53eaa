/* points.h — point-set arguments shared by the fm.metrics and fm.ot bindings. */
#ifndef FML_POINTS_H
#define FML_POINTS_H

#include "core/lfm.h"

/* The point set at idx (a float tensor or a nested table of numbers, which
 * replaces the value at idx) as an (n, d) descriptor; an (n,) tensor becomes
 * (n, 1) with the same storage. Other shapes raise an argument error. */
fm_tensor fmL_checkpoints(lua_State *L, int idx);

#endif
