-- fm.nn.unet{channels = 32, mults = {1, 2, 2}, attention = {false, false,
-- true}, classes = 10, in_channels = 1, times = 1}: a small U-Net for
-- images (NCHW; classes = 0 for an unconditional network),
-- a Lua graph of C layers (docs/nn.md). With the defaults it
-- is "UNet-S": at channels C,
--   emb  = Linear(64 times, 4C) SiLU Linear(4C, 4C) of the sinusoidal
--          embedding of 1000 t (of s and t, concatenated, when times = 2),
--          plus Embedding(classes + 1, 4C) of the label (classes + 1: null)
--   stem = Conv3x3(in -> C)
--   down: level i (channels C mults[i]): r_i = Res(prev -> C m_i), then
--         d_i = Conv3x3 stride 2 (all but the last level)
--   mid  = Res, Attention (attention[last]), Res at the last level
--   up:   level i from the last: u_i = Res(cat(h, s_i) -> C m_i), then
--         up_i = nearest x2 + Conv3x3 (all but the first level)
--   out  = GroupNorm(8) SiLU Conv3x3(C -> in)
-- attention[i] = true at a level other than the last adds an Attention
-- after r_i (a_i) and after u_i (ua_i). The names of the parameters mirror
-- the PyTorch reference's modules (t1, t2, label, stem, r1, d1, ..., m1,
-- attn, m2, u3, up3, ..., out_n, out_c).
--   net(x, t, y)      x (B, in, H, W); t a number or (B,) tensor; y (B,)
--                     int64 labels 1..classes, classes + 1 or nil = null
--   net(x, s, t, y)   times = 2
local fm = require "fm"
local args = require "fm.args"

return function(nn)
  local UNet = nn.class("UNet")
  nn.UNet = UNet

  function UNet:init(o)
    o = args.opts("fm.nn.unet", 1, o, nil, 4)
    local C = o.channels or 32
    local mults = o.mults or {1, 2, 2}
    local attn = o.attention or {false, false, true}
    local dt = o.dtype or fm.get_default_dtype()
    local times = o.times or 1
    local cin = o.in_channels or 1
    local g = o.groups or 8
    local classes = o.classes == nil and 10 or o.classes
    assert(times == 1 or times == 2, "fm.nn.unet: times must be 1 or 2")
    local e = 4 * C
    local L = #mults
    for key, v in pairs{channels = C, mults = mults, levels = L, times = times,
                        in_channels = cin, classes = classes > 0 and classes or nil, emb_dim = e} do
      rawset(self, key, v)
    end
    local d = {dtype = dt}
    rawset(self, "temb", nn.TimeEmbedding{dim = 64, scale = 1000})
    self.t1 = nn.Linear(64 * times, e, d)
    self.t2 = nn.Linear(e, e, d)
    if classes > 0 then
      self.label = nn.Embedding{classes = classes, dim = e, dtype = dt}
    end
    self.stem = nn.Conv2d(cin, C, 3, {padding = 1, dtype = dt})
    local ch, prev = {}, C
    local ro = {groups = g, dtype = dt}
    for i = 1, L do
      ch[i] = C * mults[i]
      self["r" .. i] = nn.ResBlock(prev, ch[i], e, ro)
      if attn[i] and i < L then self["a" .. i] = nn.Attention(ch[i], {groups = g, dtype = dt}) end
      if i < L then self["d" .. i] = nn.Conv2d(ch[i], ch[i], 3, {stride = 2, padding = 1, dtype = dt}) end
      prev = ch[i]
    end
    self.m1 = nn.ResBlock(ch[L], ch[L], e, ro)
    if attn[L] then self.attn = nn.Attention(ch[L], {groups = g, dtype = dt}) end
    self.m2 = nn.ResBlock(ch[L], ch[L], e, ro)
    local h = ch[L]
    for i = L, 1, -1 do
      self["u" .. i] = nn.ResBlock(h + ch[i], ch[i], e, ro)
      if attn[i] and i < L then self["ua" .. i] = nn.Attention(ch[i], {groups = g, dtype = dt}) end
      h = ch[i]
      if i > 1 then
        rawset(self, "_up" .. i, nn.Upsample(2, d))
        self["up" .. i] = nn.Conv2d(h, h, 3, {padding = 1, dtype = dt})
      end
    end
    self.out_n = nn.GroupNorm(g, C, {act = "silu", dtype = dt})
    self.out_c = nn.Conv2d(C, cin, 3, {padding = 1, dtype = dt})
  end

  local function time_vector(t, b, dt)
    if type(t) == "number" then return fm.full({b}, t, dt) end
    assert(fm.is_tensor(t) and t:numel() == b, "fm.nn.unet: t must be a number or a (B,) tensor")
    return t:reshape(b):to(dt)
  end

  --- the conditioning vector (B, 4C) of times ts (1 or 2) and labels y
  function UNet:embedding(b, ts, y)
    local dt = self.t1.weight:dtype()
    local parts = {}
    for i, t in ipairs(ts) do parts[i] = self.temb(time_vector(t, b, dt)) end
    local te = #parts == 1 and parts[1] or fm.cat(parts, 2)
    local emb = self.t2(self.t1(te):silu())
    if self.label then
      local labels = y
      if labels == nil then labels = fm.full({b}, self.label.null, "int64") end
      emb = emb + self.label(labels)
    end
    return emb
  end

  function UNet:forward(x, ...)
    local args = {...}
    local ts, y = {args[1]}, args[2]
    if self.times == 2 then ts, y = {args[1], args[2]}, args[3] end
    assert(fm.is_tensor(x) and x:dim() == 4,
           "fm.nn.unet: x must be a (B, C, H, W) tensor")
    local b, L = x:shape()[1], self.levels
    local emb = self:embedding(b, ts, y)
    local h = self.stem(x)
    local skips = {}
    for i = 1, L do
      h = self["r" .. i](h, emb)
      if self["a" .. i] then h = self["a" .. i](h) end
      skips[i] = h
      if i < L then h = self["d" .. i](h) end
    end
    h = self.m1(h, emb)
    if self.attn then h = self.attn(h) end
    h = self.m2(h, emb)
    for i = L, 1, -1 do
      h = self["u" .. i](nn.cat({h, skips[i]}), emb)
      if self["ua" .. i] then h = self["ua" .. i](h) end
      if i > 1 then h = self["up" .. i](self["_up" .. i](h)) end
    end
    return self.out_c(self.out_n(h))
  end

  --- as a field (fm.field(net, {labels = y})): u(x, t) = net(x, t, y), and
  -- for times = 2 the instantaneous velocity net(x, t, t, y) (zero gap).
  function UNet:field_call(x, t, opts)
    local y = opts and opts.labels
    if self.times == 2 then return self(x, t, t, y) end
    return self(x, t, y)
  end

  function UNet:extra_repr()
    return string.format("channels=%d, levels=%d, times=%d%s", self.channels, self.levels,
                         self.times, self.classes and (", classes=" .. self.classes) or "")
  end

  nn.unet = function(o) return UNet(o) end
end
