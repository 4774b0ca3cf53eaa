-- fm.nn.mlp{inputs =, hidden = {...}, outputs =, act = "silu"}: the MLP.
-- Its parameters live in Linear modules (named layers.1.weight, ... as a
-- Sequential of Linear and activation modules), and its forward runs as
-- ONE C layer of kind "mlp" (engine/nn/mlp.c: the fused forward, backward
-- and tangent forward with its row-block, chunking and thread plan): one
-- autograd node for the whole network. fused = false runs the Sequential.
local fm = require "fm"
local args = require "fm.args"

return function(nn)
  local MLP = nn.class("MLP")
  nn.MLP = MLP
  function MLP:init(opts)
    args.opts("fm.nn.mlp", 1, opts, nil, 4)
    assert(opts and opts.inputs and opts.outputs,
           "fm.nn.mlp{inputs=, hidden={...}, outputs=} expected")
    local act = opts.act or "silu"
    local dt = opts.dtype or fm.get_default_dtype()
    local sizes = {opts.inputs}
    for _, h in ipairs(opts.hidden or {}) do sizes[#sizes + 1] = h end
    sizes[#sizes + 1] = opts.outputs
    local mods, plist = {}, {}
    for l = 1, #sizes - 1 do
      local lin = nn.Linear(sizes[l], sizes[l + 1], {dtype = dt})
      mods[#mods + 1] = lin
      plist[#plist + 1] = lin.weight
      plist[#plist + 1] = lin.bias
      if l < #sizes - 1 then mods[#mods + 1] = nn.activation(act) end
    end
    self.layers = nn.Sequential(mods)
    rawset(self, "sizes", sizes)
    rawset(self, "act", act)
    rawset(self, "dtype", dt)
    if opts.fused ~= false then
      rawset(self, "_fused", fm._layer.new("mlp", {sizes = sizes, act = act, dtype = dt}, plist))
    end
  end
  -- the Linear modules' current parameters, in the layer's order
  function MLP:flat_params()
    local ps = {}
    for _, m in ipairs(self.layers:children()) do
      if m.weight then ps[#ps + 1] = m.weight; ps[#ps + 1] = m.bias end
    end
    return ps
  end
  function MLP:forward(x)
    local h = self._fused
    if h and fm.is_tensor(x) and x:dim() == 2 and x:dtype() == self.dtype then
      if not x:is_contiguous() then x = x:contiguous() end
      return h:apply(self:flat_params(), x)
    end
    return self.layers(x)
  end
  --- net:fused(): the C layer of kind "mlp", or nil (fused = false).
  function MLP:fused() return self._fused end
  nn.mlp = function(opts) return MLP(opts) end
end
