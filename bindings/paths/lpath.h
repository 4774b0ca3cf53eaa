/* lpath.h — the fm.Path userdata, shared by bindings/path.c and data.c. */
#ifndef FM_LPATH_H
#define FM_LPATH_H

#include "core/lfm.h"
#include "paths/path.h"

#define FML_PATH "fm.Path"

typedef struct {
    fm_path p;
    lua_State *L;   /* the running state, set before every engine call */
    int ref[4];     /* custom schedule: alpha, beta, dalpha, dbeta (registry) */
    int memo[4];    /* custom: t -> value tables of the current call (registry) */
} fmL_path;

/* The path at idx, made ready for engine calls from L; for a custom
 * schedule this starts a fresh memo, so that each Lua function is called
 * once per distinct time within one call (not once per row). */
fmL_path *fmL_checkpath(lua_State *L, int idx);
/* A time argument: a number (stored in *store) or a float tensor. */
fm_tensor fmL_checktime(lua_State *L, int idx, double *store);

#endif
