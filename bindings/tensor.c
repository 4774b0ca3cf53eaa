/* tensor.c — fm.Tensor: metatable, creation, shape, views, elementwise,
 * reductions, products and indexing over engine/ops. */
#include "lfm.h"
#include "ops.h"
#include "view.h"

void fmL_open_tensor(lua_State *L)
{
    luaL_newmetatable(L, FML_TENSOR);
    lua_pop(L, 1);
}
