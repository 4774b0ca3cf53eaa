/* lfm.h — what every binding file shares: the tensor userdata, argument
 * checking, and turning engine statuses into Lua errors.
 *
 * Tensor userdata ("fm.Tensor"): an fmL_tensor header followed, when the
 * tensor owns its memory, by the elements themselves (64-byte aligned), so
 * Lua's collector counts tensor memory (docs/design.md memory rule). A view has no
 * storage of its own; its user value FML_UV_BASE holds the owning userdata so
 * the memory outlives every view.
 *
 * User values of a tensor userdata:
 *   FML_UV_BASE  the owner of the storage (views only)
 *   FML_UV_GRAD  the accumulated gradient tensor (.grad)
 *   FML_UV_NODE  the autograd node that produced this tensor (a Lua table)
 *   FML_UV_EXTRA free for per-tensor Lua data (e.g. a parameter's name)
 *   FML_UV_TANGENT the forward-mode tangent (valid while tangent_level is
 *                the level of the running fm.jvp, bindings/core/autograd.c)
 */
#ifndef FM_LFM_H
#define FM_LFM_H

#include <lua.h>
#include <lauxlib.h>

#include "core/fm.h"

#define FML_TENSOR "fm.Tensor"

enum { FML_UV_BASE = 1, FML_UV_GRAD, FML_UV_NODE, FML_UV_EXTRA, FML_UV_TANGENT,
       FML_NUV = 5 };

enum {
    FML_REQUIRES_GRAD = 1u << 0, /* gradients flow to / through this tensor */
    FML_OWNS_DATA = 1u << 1,     /* elements stored inline after the header */
    FML_GRAD_RECYCLABLE = 1u << 2, /* a gradient no Lua code has seen
                                      (bindings/grad_buffers.c) */
};

typedef struct {
    fm_tensor t;
    unsigned flags;
    unsigned tangent_level; /* the fm.jvp whose tangent FML_UV_TANGENT holds */
} fmL_tensor;

/* Registry keys (lua_rawgetp) of the tensor metatable and methods table. */
extern const char fmL_tensor_mt_key, fmL_tensor_methods_key;

/* ---- tensors ------------------------------------------------------------ */

/* Pushes a new contiguous tensor owning uninitialised memory; raises a Lua
 * error (naming fname) if the shape is invalid or too large. */
fm_tensor *fmL_newtensor(lua_State *L, const char *fname, fm_dtype dtype,
                         int ndim, const int64_t *shape);
/* Pushes a new tensor with src's shape and dtype (contents uninitialised). */
fm_tensor *fmL_newlike(lua_State *L, const char *fname, const fm_tensor *src);
/* Pushes the tensor at idx converted to dtype (itself when it has that
 * dtype); a float conversion is recorded for autograd as "to_dtype", so
 * gradients return in the original dtype. */
fm_tensor *fmL_pushconverted(lua_State *L, int idx, fm_dtype dtype, const char *fname);
/* Pushes a view described by v over the storage of the tensor at base_idx. */
fm_tensor *fmL_newview(lua_State *L, int base_idx, const fm_tensor *v);

/* Pushes a tensor shaped like the parameter at param_idx for its new
 * gradient: the parameter's spare buffer kept by zero_grad when there is one
 * (bindings/grad_buffers.c), else a new tensor. Contents are undefined. */
fm_tensor *fmL_grad_buffer(lua_State *L, int param_idx, const char *fname);

/* The tensor at idx or a Lua error "bad argument #idx to 'fname' (tensor
 * expected, got X)". */
fmL_tensor *fmL_checkud(lua_State *L, int idx);
fm_tensor *fmL_checktensor(lua_State *L, int idx);
/* NULL if the value at idx is not a tensor. */
fmL_tensor *fmL_testud(lua_State *L, int idx);
fm_tensor *fmL_testtensor(lua_State *L, int idx);
/* Accepts a tensor, a number or a nested table of numbers at idx; numbers and
 * tables become a new tensor of `like_dtype`, which replaces the value at idx
 * on the stack. */
fm_tensor *fmL_totensor(lua_State *L, int idx, fm_dtype like_dtype);
/* A float tensor (float32 or float64) or an error naming the argument. */
fm_tensor *fmL_checkfloat(lua_State *L, int idx);

/* Argument helpers: a dimension given 1-based (negative from the end)
 * converted to 0-based; a dtype name ("float32"/"float"/"float64"/"double"/
 * "int64"/"long"/"uint8"), default def when absent. */
int fmL_checkdim(lua_State *L, int idx, int ndim);
int fmL_optdim(lua_State *L, int idx, int ndim, int def);
fm_dtype fmL_optdtype(lua_State *L, int idx, fm_dtype def);

/* Raises "fname: <engine message>" if st != FM_OK. */
void fmL_check(lua_State *L, fm_status st, const char *fname);
/* Formats the shape of t (e.g. "(3, 4)") into a static-per-call buffer
 * pushed as a Lua string; returns the C string (valid while on the stack). */
const char *fmL_pushshape(lua_State *L, const fm_tensor *t);

/* The default dtype for new tensors (fm.set_default_dtype). */
fm_dtype fmL_default_dtype(lua_State *L);

/* ---- autograd hook (bindings/autograd.c) -------------------------------- */

/* True when grad mode is on and any of the n tensors at the given stack
 * indices requires grad, or when an fm.jvp runs and any of them has a
 * tangent: the op must then call fmL_record. */
int fmL_needs_grad(lua_State *L, int n, const int *idx);
/* Records that the tensor at out_idx was made by `op` (the name of a rule in
 * scripts/fm/autograd/rules.lua and jvp.lua) from the n tensors at in_idx.
 * Extra values the rules need (saved tensors, numbers, tables) are the
 * `nextra` values on top of the stack, which are popped. When grad is
 * needed the node is kept and the output requires grad; when an fm.jvp
 * runs and an input has a tangent, the op's forward rule computes the
 * output's tangent. */
void fmL_record(lua_State *L, const char *op, int out_idx, int n,
                const int *in_idx, int nextra);

/* ---- forward mode (bindings/core/autograd.c) ----------------------------- */

/* True while an fm.jvp is running and its tangents propagate (not inside
 * a forward rule, which runs with propagation suspended). */
int fmL_fwd_active(void);
/* True when the running fm.jvp asked for create_graph. */
int fmL_fwd_create_graph(void);
/* Pushes the tangent of the tensor at idx for the running fm.jvp and
 * returns it, or returns NULL (pushing nothing) when it has none. */
fm_tensor *fmL_push_tangent(lua_State *L, int idx);
/* Sets the tensor at tan_idx as the tangent of the tensor at idx. */
void fmL_set_tangent(lua_State *L, int idx, int tan_idx);
/* As fmL_record but only the reverse-mode node (no forward rule is run):
 * for ops that computed their output's tangent themselves. Pops nextra. */
void fmL_record_node(lua_State *L, const char *op, int out_idx, int n,
                     const int *in_idx, int nextra);
/* True when grad mode is on and any of the n tensors requires grad. */
int fmL_grad_needed(lua_State *L, int n, const int *idx);

/* ---- module registration ------------------------------------------------ */

/* Sets fields of the table at the top of the stack (fm or a subtable). */
void fmL_setfuncs(lua_State *L, const luaL_Reg *funcs);
/* Creates fm.<name> (a table) inside the table at the top of the stack,
 * fills it with funcs and leaves the stack as it was. */
void fmL_submodule(lua_State *L, const char *name, const luaL_Reg *funcs);

/* Adds methods to fm.Tensor (x:name(...)); any binding file may call it from
 * its opener. */
void fmL_add_methods(lua_State *L, const luaL_Reg *methods);

/* Each binding file exports one opener, called by luaopen_fm with the fm
 * table at the top of the stack; the list is in bindings/modules.h. */
#define FML_DECLARE_OPEN(name) void fmL_open_##name(lua_State *L);

#endif
