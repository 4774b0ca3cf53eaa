-- fm.nn layers: each layer is a thin Lua class over one C layer kind
-- (engine/nn/layer.h, bindings/nn/layer.c), as Torch7's nn classes sit over
-- THNN: the class owns the parameters and the configuration, the C kind does
-- forward, backward (one autograd node per layer) and the tangent forward.
-- Image tensors are NCHW float32. Loaded by fm/nn/init.lua.
local fm = require "fm"
local args = require "fm.args"

return function(nn)
  local init = nn.init
  local new_layer = fm._layer.new

  local function int_arg(v, what)
    if math.type(v) ~= "integer" or v < 1 then
      error(what .. ": a positive integer expected, got " .. tostring(v), 3)
    end
    return v
  end

  -- self._layer over the parameters named in `names` (present ones only)
  local function attach(self, kind, cfg, names)
    local ps = {}
    for _, k in ipairs(names) do
      if self[k] ~= nil then ps[#ps + 1] = self[k] end
    end
    rawset(self, "_names", names)
    rawset(self, "_layer", new_layer(kind, cfg, ps))
  end

  -- the current parameters, in the layer's order (they may have been
  -- replaced by assignment since the layer was made)
  local function params(self)
    local ps = {}
    for _, k in ipairs(self._names) do
      local p = self[k]
      if p ~= nil then ps[#ps + 1] = p end
    end
    return ps
  end

  local function run(self, ...)
    return self._layer:apply(params(self), ...)
  end

  local function contiguous(x, what)
    if not fm.is_tensor(x) then error(what .. ": a tensor expected, got " .. type(x), 3) end
    if not x:is_contiguous() then return x:contiguous() end
    return x
  end

  local function uniform_param(self, name, shape, bound, dt)
    self:param(name, init.uniform(fm.zeros(shape, dt), -bound, bound))
  end

  -- ---- Linear -----------------------------------------------------------------
  -- y = x W + b over the last dim, W (in, out) (the transpose of torch's
  -- weight), both U(-1/sqrt(in), 1/sqrt(in)) as torch.nn.Linear.
  local Linear = nn.class("Linear")
  nn.Linear = Linear
  function Linear:init(n_in, n_out, opts)
    opts = args.opts("fm.nn.Linear", 3, opts, nil, 4)
    assert(math.type(n_in) == "integer" and math.type(n_out) == "integer",
           "fm.nn.Linear(in, out): integer sizes expected")
    local dt = opts.dtype or fm.get_default_dtype()
    rawset(self, "in_features", n_in)
    rawset(self, "out_features", n_out)
    local k = 1 / math.sqrt(n_in)
    uniform_param(self, "weight", {n_in, n_out}, k, dt)
    if opts.bias ~= false then uniform_param(self, "bias", {n_out}, k, dt) end
    attach(self, "linear", {dtype = dt, ["in"] = n_in, out = n_out, bias = opts.bias ~= false},
           {"weight", "bias"})
  end
  function Linear:forward(x) return run(self, contiguous(x, "Linear")) end
  function Linear:extra_repr()
    return string.format("in=%d, out=%d%s", self.in_features, self.out_features,
                         self.bias and "" or ", bias=false")
  end

  -- ---- Conv2d -------------------------------------------------------------------
  -- torch.nn.Conv2d(cin, cout, k, stride, padding) (dilation 1, groups 1):
  -- weight (cout, cin, k, k) and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
  -- fan_in = cin k^2 (torch's kaiming_uniform(a = sqrt 5)).
  local Conv2d = nn.class("Conv2d")
  nn.Conv2d = Conv2d
  function Conv2d:init(cin, cout, k, opts)
    opts = opts or {}
    int_arg(cin, "fm.nn.Conv2d: in channels")
    int_arg(cout, "fm.nn.Conv2d: out channels")
    int_arg(k, "fm.nn.Conv2d: kernel size")
    local dt = opts.dtype or fm.get_default_dtype()
    local stride, pad = opts.stride or 1, opts.padding or 0
    for key, v in pairs{in_channels = cin, out_channels = cout, kernel = k, stride = stride,
                        padding = pad} do rawset(self, key, v) end
    local bound = 1 / math.sqrt(cin * k * k)
    uniform_param(self, "weight", {cout, cin, k, k}, bound, dt)
    if opts.bias ~= false then uniform_param(self, "bias", {cout}, bound, dt) end
    attach(self, "conv2d", {dtype = dt, ["in"] = cin, out = cout, kernel = k, stride = stride,
                            padding = pad, bias = opts.bias ~= false}, {"weight", "bias"})
  end
  function Conv2d:forward(x) return run(self, contiguous(x, "Conv2d")) end
  function Conv2d:extra_repr()
    return string.format("%d, %d, kernel=%d, stride=%d, padding=%d%s", self.in_channels,
      self.out_channels, self.kernel, self.stride, self.padding,
      self.bias and "" or ", bias=false")
  end

  -- ---- normalisation ---------------------------------------------------------------
  -- torch.nn.GroupNorm(groups, channels, eps) with weight 1 and bias 0;
  -- opts.act = "silu" applies SiLU in the same pass (a ResBlock's SiLU(GN(h))).
  local GroupNorm = nn.class("GroupNorm")
  nn.GroupNorm = GroupNorm
  function GroupNorm:init(groups, channels, opts)
    opts = args.opts("fm.nn.GroupNorm", 3, opts, nil, 4)
    int_arg(groups, "fm.nn.GroupNorm: groups")
    int_arg(channels, "fm.nn.GroupNorm: channels")
    local dt = opts.dtype or fm.get_default_dtype()
    rawset(self, "groups", groups)
    rawset(self, "channels", channels)
    rawset(self, "act", opts.act or "none")
    self:param("weight", fm.ones({channels}, dt))
    self:param("bias", fm.zeros({channels}, dt))
    attach(self, "group_norm", {dtype = dt, groups = groups, ["in"] = channels,
                                eps = opts.eps or 1e-5, act = opts.act}, {"weight", "bias"})
  end
  function GroupNorm:forward(x) return run(self, contiguous(x, "GroupNorm")) end
  function GroupNorm:extra_repr()
    return string.format("%d, %d%s", self.groups, self.channels,
                         self.act ~= "none" and (", act=" .. self.act) or "")
  end

  -- torch.nn.LayerNorm(d): over the last dim, weight 1 and bias 0.
  local LayerNorm = nn.class("LayerNorm")
  nn.LayerNorm = LayerNorm
  function LayerNorm:init(d, opts)
    opts = args.opts("fm.nn.LayerNorm", 2, opts, nil, 4)
    int_arg(d, "fm.nn.LayerNorm: size")
    local dt = opts.dtype or fm.get_default_dtype()
    rawset(self, "size", d)
    self:param("weight", fm.ones({d}, dt))
    self:param("bias", fm.zeros({d}, dt))
    attach(self, "layer_norm", {dtype = dt, ["in"] = d, eps = opts.eps or 1e-5},
           {"weight", "bias"})
  end
  function LayerNorm:forward(x) return run(self, contiguous(x, "LayerNorm")) end
  function LayerNorm:extra_repr() return tostring(self.size) end

  -- ---- resampling -------------------------------------------------------------------
  local function resample_class(name, kind)
    local cls = nn.class(name)
    function cls:init(f, opts)
      opts = opts or {}
      rawset(self, "factor", int_arg(f or 2, "fm.nn." .. name .. ": factor"))
      attach(self, kind, {dtype = opts.dtype or fm.get_default_dtype(), factor = self.factor}, {})
    end
    function cls:forward(x) return run(self, contiguous(x, name)) end
    function cls:extra_repr() return tostring(self.factor) end
    return cls
  end
  --- fm.nn.Upsample(f): nearest neighbour, (N, C, H, W) -> (N, C, fH, fW).
  nn.Upsample = resample_class("Upsample", "upsample")
  --- fm.nn.AvgPool2d(f): mean of f x f windows, stride f.
  nn.AvgPool2d = resample_class("AvgPool2d", "avg_pool")

  -- fm.nn.cat(list): concatenation along the channels (dim 2 in Lua's
  -- numbering) as one layer node; a concat layer per count and dtype.
  local concat_layers = {}
  function nn.cat(list)
    local n, dt = #list, list[1]:dtype()
    local key = dt .. n
    local l = concat_layers[key]
    if not l then
      l = new_layer("concat", {dtype = dt, ninputs = n}, {})
      concat_layers[key] = l
    end
    local xs = {}
    for i, x in ipairs(list) do xs[i] = contiguous(x, "fm.nn.cat") end
    return l:apply({}, table.unpack(xs, 1, n))
  end

  -- ---- attention --------------------------------------------------------------------
  -- h + proj(softmax(q^T k / sqrt(d)) v) over the positions, q, k, v =
  -- qkv(GroupNorm(h)) (1 x 1 convolutions), heads of d = channels / heads.
  local Attention = nn.class("Attention")
  nn.Attention = Attention
  function Attention:init(channels, opts)
    opts = args.opts("fm.nn.Attention", 2, opts, nil, 4)
    int_arg(channels, "fm.nn.Attention: channels")
    local dt = opts.dtype or fm.get_default_dtype()
    local heads = opts.heads or 1
    rawset(self, "channels", channels)
    rawset(self, "heads", heads)
    self.n = GroupNorm(opts.groups or 8, channels, {dtype = dt})
    self.qkv = Conv2d(channels, 3 * channels, 1, {dtype = dt})
    self.proj = Conv2d(channels, channels, 1, {dtype = dt})
    rawset(self, "_core", new_layer("attention", {dtype = dt, ["in"] = channels, heads = heads}, {}))
  end
  function Attention:forward(h)
    return h + self.proj(self._core:apply({}, self.qkv(self.n(h))))
  end
  function Attention:extra_repr()
    return string.format("%d, heads=%d", self.channels, self.heads)
  end

  -- ---- activations ---------------------------------------------------------------------
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

  -- ---- time embedding ---------------------------------------------------------------
  -- emb(t)_k = cos(scale t f_k), emb(t)_{half+k} = sin(scale t f_k),
  -- f_k = max_period^(-k / half), k = 0 .. half-1 (transformer / DDPM
  -- embedding); an odd dim gets a final zero column.
  local TimeEmbedding = nn.class("TimeEmbedding")
  nn.TimeEmbedding = TimeEmbedding
  function TimeEmbedding:init(opts)
    opts = args.opts("fm.nn.time_embedding", 1, opts, nil, 4)
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

  -- ---- embedding -----------------------------------------------------------------------
  -- fm.nn.Embedding(n, d): rows 1..n of a weight (n, d) ~ N(0, 1) as torch.
  -- fm.nn.Embedding{classes = K, dim = d} (fm.nn.embedding): class labels
  -- 1..K and K + 1 = emb.null, the "no label" of classifier-free guidance.
  local Embedding = nn.class("Embedding")
  nn.Embedding = Embedding
  function Embedding:init(a, b, opts)
    local n, d
    if type(a) == "table" then
      opts = a
      assert(opts.classes and opts.dim, "fm.nn.Embedding{classes=, dim=} expected")
      rawset(self, "classes", opts.classes)
      rawset(self, "null", opts.classes + 1)
      n, d = opts.classes + 1, opts.dim
    else
      opts = args.opts("fm.nn.Embedding", 3, opts, nil, 4)
      n, d = int_arg(a, "fm.nn.Embedding: rows"), int_arg(b, "fm.nn.Embedding: dim")
    end
    local dt = opts.dtype or fm.get_default_dtype()
    rawset(self, "rows", n)
    self:param("weight", init.normal(fm.zeros({n, d}, dt), 0, 1))
    attach(self, "embedding", {dtype = dt, ["in"] = n, out = d, index_base = 1}, {"weight"})
  end
  local function labels_of(labels)
    if type(labels) == "table" then return fm.tensor(labels, "int64") end
    if type(labels) == "number" then return fm.tensor({labels}, "int64") end
    if not fm.is_tensor(labels) then
      error("fm.nn.Embedding: labels must be an int64 tensor, a table or a number", 3)
    end
    if labels:dtype() ~= "int64" then labels = labels:to("int64") end
    return labels:is_contiguous() and labels or labels:contiguous()
  end
  function Embedding:forward(labels)
    local l = labels_of(labels)
    return run(self, l:dim() == 0 and l:reshape(1) or l)
  end
  --- emb:drop(labels, p): each label replaced by emb.null with probability p.
  -- p: a number or a one-element tensor of any dtype, in [0, 1]. The labels
  -- keep their shape and come back as int64, whatever dtype they came in.
  function Embedding:drop(labels, p)
    if not self.null then
      error("emb:drop: this embedding has no null label (make it with " ..
        "fm.nn.Embedding{classes =, dim =})", 2)
    end
    if fm.is_tensor(p) and p:numel() == 1 then p = p:item() end
    if type(p) ~= "number" or not (p >= 0 and p <= 1) then
      error("emb:drop: bad argument #2 'p' (a probability in [0, 1] expected, got " ..
        require("fm.args").describe(p) .. ")", 2)
    end
    labels = labels_of(labels)
    local dropped = fm.rand(labels:shape(), "float64"):lt(p)
    return fm.where(dropped, self.null, labels)
  end
  function Embedding:extra_repr()
    local s = self.weight:shape()
    if self.classes then
      return string.format("classes=%d, dim=%d, null=%d", self.classes, s[2], self.null)
    end
    return string.format("%d, %d", s[1], s[2])
  end
  nn.embedding = function(opts) return Embedding(opts) end

  -- ---- ResBlock -------------------------------------------------------------------------
  -- Res(a -> b)(h, e) = conv3x3(SiLU(GN(h))) + Linear(e) over the pixels,
  -- then conv3x3(SiLU(GN(.))), plus h (or a 1 x 1 conv of h when a ~= b);
  -- GN = GroupNorm(8) with its SiLU fused. The block of UNet-S.
  local ResBlock = nn.class("ResBlock")
  nn.ResBlock = ResBlock
  function ResBlock:init(cin, cout, emb_dim, opts)
    opts = args.opts("fm.nn.ResBlock", 4, opts, nil, 4)
    local dt, g = opts.dtype or fm.get_default_dtype(), opts.groups or 8
    rawset(self, "in_channels", cin)
    rawset(self, "out_channels", cout)
    self.n1 = GroupNorm(g, cin, {act = "silu", dtype = dt})
    self.c1 = Conv2d(cin, cout, 3, {padding = 1, dtype = dt})
    if emb_dim then self.emb = Linear(emb_dim, cout, {dtype = dt}) end
    self.n2 = GroupNorm(g, cout, {act = "silu", dtype = dt})
    self.c2 = Conv2d(cout, cout, 3, {padding = 1, dtype = dt})
    if cin ~= cout then self.skip = Conv2d(cin, cout, 1, {dtype = dt}) end
  end
  function ResBlock:forward(h, e)
    local y = self.c1(self.n1(h))
    if self.emb then
      local s = y:shape()
      y = y + self.emb(e):reshape(s[1], s[2], 1, 1)
    end
    y = self.c2(self.n2(y))
    return y + (self.skip and self.skip(h) or h)
  end
  function ResBlock:extra_repr()
    return string.format("%d -> %d", self.in_channels, self.out_channels)
  end
end
