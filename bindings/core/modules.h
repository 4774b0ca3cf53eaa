/* modules.h — the binding files luaopen_fm opens, in order. One line per
 * binding file, which defines void fmL_open_<name>(lua_State *L). */
#define FML_MODULES(X) \
    X(tensor) X(tensor_math) X(tensor_views) X(tensor_index) X(autograd) X(grad_buffers) X(path) X(data) X(plot) X(metrics) X(sinkhorn) X(io) X(rng) X(system) X(layer) X(optim) X(integrate) X(dist)
