/* modules.h — the binding files luaopen_fm opens, in order. One line per
 * bindings/<name>.c, which defines void fmL_open_<name>(lua_State *L). */
#define FML_MODULES(X) \
    X(tensor) \
    X(io) \
    X(rng)
