-- fm.nn layers: Linear, activations, time and label embeddings, and the MLP
-- with its fused C path (bindings/mlp.c over engine/mlp.h). Loaded by
-- fm/nn.lua, which passes its table in.
local fm = require "fm"
local autograd = require "fm.autograd"

return function(nn)
  local init = nn.init

  -- ---- Linear ---------------------------------------------------------------
  -- y = x W + b with W of shape (in, out) (the transpose of torch's weight),
  -- both initialised as torch.nn.Linear: U(-1/sqrt(in), 1/sqrt(in)).
  local Linear = nn.class("Linear")
  nn.Linear = Linear
  function Linear:init(n_in, n_out, opts)
    opts = opts or {}
    assert(math.type(n_in) == "integer" and math.type(n_out) == "integer",
           "fm.nn.Linear(in, out): integer sizes expected")
    local dt = opts.dtype or fm.get_default_dtype()
    rawset(self, "in_features", n_in)
    rawset(self, "out_features", n_out)
    local k = 1 / math.sqrt(n_in)
    self:param("weight", init.uniform(fm.zeros({n_in, n_out}, dt), -k, k))
    if opts.bias ~= false then
      self:param("bias", init.uniform(fm.zeros({n_out}, dt), -k, k))
    end
  end
  function Linear:forward(x)
    local y = x:mm(self.weight)
    if self.bias then y = y + self.bias end
    return y
  end
  function Linear:extra_repr()
    return string.format("in=%d, out=%d%s", self.in_features, self.out_features,
                         self.bias and "" or ", bias=false")
  end

  -- ---- activations --------------------------------------------------------------
  local acts = {silu = "SiLU", relu = "ReLU", tanh = "Tanh", gelu = "GELU",
                sigmoid = "Sigmoid", none = "Identity"}
  local act_class = {}
  for method, cname in pairs(acts) do
    local cls = nn.class(cname)
    if method == "none" then
      function cls.forward(_, x) return x end
    else
      function cls.forward(_, x) return x[method](x) end
    end
    nn[cname] = cls
    act_class[method] = cls
  end
  act_class.identity = act_class.none
  nn.activation = function(name)
    local cls = act_class[name]
    if not cls then error("fm.nn: unknown activation '" .. tostring(name) ..
                          "' (silu, relu, tanh, gelu, sigmoid, none)", 2) end
    return cls()
  end

  -- ---- time embedding ---------------------------------------------------------
  -- emb(t)_k = cos(scale t f_k), emb(t)_{half+k} = sin(scale t f_k),
  -- f_k = max_period^(-k / half), k = 0 .. half-1 (transformer / DDPM
  -- embedding); an odd dim gets a final zero column.
  local TimeEmbedding = nn.class("TimeEmbedding")
  nn.TimeEmbedding = TimeEmbedding
  function TimeEmbedding:init(opts)
    opts = opts or {}
    assert(opts.dim and opts.dim >= 2, "fm.nn.time_embedding: dim >= 2 expected")
    rawset(self, "dim", opts.dim)
    rawset(self, "max_period", opts.max_period or 10000)
    rawset(self, "scale", opts.scale or 1)
    rawset(self, "_freqs", {})
  end
  function TimeEmbedding:freqs(dt)
    local f = self._freqs[dt]
    if not f then
      local half = self.dim // 2
      local v = {}
      for k = 0, half - 1 do
        v[k + 1] = self.scale * math.exp(-math.log(self.max_period) * k / half)
      end
      f = fm.tensor({v}, dt)
      self._freqs[dt] = f
    end
    return f
  end
  function TimeEmbedding:forward(t)
    if type(t) == "number" then t = fm.tensor({{t}}) end
    t = t:reshape(-1, 1)
    local arg = t * self:freqs(t:dtype())
    local parts = {arg:cos(), arg:sin()}
    if self.dim % 2 == 1 then parts[3] = fm.zeros({#t, 1}, t:dtype()) end
    return fm.cat(parts, 2)
  end
  function TimeEmbedding:extra_repr()
    return string.format("dim=%d, max_period=%g", self.dim, self.max_period)
  end
  nn.time_embedding = function(opts) return TimeEmbedding(opts) end

  -- ---- class-label embedding ----------------------------------------------------
  -- labels 1 .. classes, and classes + 1 = emb.null, the "no label" used by
  -- classifier-free guidance. Weight (classes + 1, dim) ~ N(0, 1) as torch.
  local Embedding = nn.class("Embedding")
  nn.Embedding = Embedding
  function Embedding:init(opts)
    assert(opts and opts.classes and opts.dim, "fm.nn.embedding{classes=, dim=} expected")
    rawset(self, "classes", opts.classes)
    rawset(self, "null", opts.classes + 1)
    local dt = opts.dtype or fm.get_default_dtype()
    self:param("weight", init.normal(fm.zeros({opts.classes + 1, opts.dim}, dt), 0, 1))
  end
  function Embedding:forward(labels)
    if type(labels) == "table" then labels = fm.tensor(labels, "int64") end
    return self.weight:index(1, labels:reshape(-1))
  end
  --- emb:drop(labels, p): each label replaced by emb.null with probability p.
  function Embedding:drop(labels, p)
    if type(labels) == "table" then labels = fm.tensor(labels, "int64") end
    local keep = fm.rand({labels:numel()}, "float64"):ge(p):to("int64")
    return labels:reshape(-1) * keep + (1 - keep) * self.null
  end
  function Embedding:extra_repr()
    local s = self.weight:shape()
    return string.format("classes=%d, dim=%d, null=%d", self.classes, s[2], self.null)
  end
  nn.embedding = function(opts) return Embedding(opts) end

  -- ---- MLP --------------------------------------------------------------------------
  local MLP = nn.class("MLP")
  nn.MLP = MLP
  local fusable = {silu = true, relu = true, tanh = true, gelu = true,
                   sigmoid = true, none = true}
  function MLP:init(opts)
    assert(opts and opts.inputs and opts.outputs,
           "fm.nn.mlp{inputs=, hidden={...}, outputs=} expected")
    local act = opts.act or "silu"
    local dt = opts.dtype or fm.get_default_dtype()
    local sizes = {opts.inputs}
    for _, h in ipairs(opts.hidden or {}) do sizes[#sizes + 1] = h end
    sizes[#sizes + 1] = opts.outputs
    local mods, plist = {}, {}
    for l = 1, #sizes - 1 do
      local lin = Linear(sizes[l], sizes[l + 1], {dtype = dt})
      mods[#mods + 1] = lin
      plist[#plist + 1] = lin.weight
      plist[#plist + 1] = lin.bias
      if l < #sizes - 1 then mods[#mods + 1] = nn.activation(act) end
    end
    self.layers = nn.Sequential(mods)
    rawset(self, "sizes", sizes)
    rawset(self, "act", act)
    rawset(self, "dtype", dt)
    if opts.fused ~= false and fusable[act] and (dt == "float32" or dt == "float64") then
      rawset(self, "_fused", fm._mlp.new(sizes, act, dt, plist))
    end
  end
  function MLP:forward(x)
    local h = self._fused
    if h and fm.is_tensor(x) and x:dim() == 2 and x:dtype() == self.dtype
       and x:is_contiguous() then
      return h:forward(x)
    end
    return self.layers(x)
  end
  function MLP:fused() return self._fused end
  nn.mlp = function(opts) return MLP(opts) end

  -- The backward rule of the fused node {x, W1, b1, ..., saved = {h, gen}}:
  -- one C call, unless a differentiable backward is needed (create_graph: jvp,
  -- double backward) or the workspace was reused by a later forward; then the
  -- forward is recomputed with composed ops and differentiated by hand below,
  -- with ops that are themselves recorded when grad mode is on.
  local dact = {
    silu = function(z) return z:silu_grad() end,
    relu = function(z) return z:relu_grad() end,
    tanh = function(z) return z:tanh_grad() end,
    gelu = function(z) return z:gelu_grad() end,
    sigmoid = function(z) return z:sigmoid_grad() end,
  }
  local function generic_vjp(h, node, g)
    local act = h:act()
    local L = (#node - 1) // 2
    local hs, zs = {node[1]}, {}
    for l = 1, L do
      local z = hs[l]:mm(node[2 * l]) + node[2 * l + 1]
      zs[l] = z
      if l < L and act ~= "none" then hs[l + 1] = z[act](z)
      elseif l < L then hs[l + 1] = z end
    end
    local out, gz = {}, g
    for l = L, 1, -1 do
      out[2 * l] = hs[l]:t():mm(gz)
      out[2 * l + 1] = gz:sum(1)
      local gh = gz:mm(node[2 * l]:t())
      if l > 1 then
        gz = act == "none" and gh or gh * dact[act](zs[l - 1])
      else
        out[1] = gh
      end
    end
    return table.unpack(out, 1, 2 * L + 1)
  end
  nn._mlp_generic_vjp = generic_vjp

  autograd.rules.mlp = function(node, g)
    local h, gen = node.saved[1], node.saved[2]
    if not fm.is_grad_enabled() then
      if not g:is_contiguous() then g = g:contiguous() end
      local res = table.pack(h:backward(g, gen, node[1].requires_grad))
      if res[1] ~= nil then
        if res[1] == false then res[1] = nil end
        return table.unpack(res, 1, res.n)
      end
    end
    return generic_vjp(h, node, g)
  end
end
