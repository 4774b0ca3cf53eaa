-- fm.autograd.composed — each layer kind (engine/nn/layer.h) written with
-- fm's differentiable tensor ops, for what the C kernels do not give:
-- derivatives of derivatives through a layer.
--   composed.forward[kind](config, params, inputs) -> the layer's output
--   composed.vjp(node, g)       a layer node's reverse rule under
--                               create_graph: differentiates the composed form
--   composed.tangent(node, out, T)  a layer node's forward rule under
--                               fm.jvp{create_graph = true}
-- Layers that are linear in their input (linear, conv2d: y = f(x, W) + b with
-- f bilinear; upsample, avg_pool, concat: linear) get their tangent from the
-- layer itself: ty = f(tx, W) + f(x, tW) + tb, each term one recorded C call
-- (first-order differentiable by the C backward). The others re-run their
-- composed form with tangents propagating through its ops.
local fm = require "fm"
local A = fm._autograd

local M = {}
local forward = {}
M.forward = forward

local function spatial(x)
  local s, p = x:shape(), 1
  for i = 3, #s do p = p * s[i] end
  return p
end

-- a per-channel vector as (1, C, 1, ...) for an input of x's rank
local function channel_view(v, x)
  local s = {1, v:numel()}
  for i = 3, x:dim() do s[i] = 1 end
  return v:reshape(s)
end

local function act_of(name, z)
  if name == "none" then return z end
  return z[name](z)
end

function forward.linear(cfg, p, x)
  local s = x:shape()
  local y = x:reshape(-1, cfg["in"]):mm(p[1])
  if cfg.bias then y = y + p[2] end
  s[#s] = cfg.out
  return y:reshape(s)
end

function forward.act(cfg, _, x) return act_of(cfg.act, x) end

function forward.group_norm(cfg, p, x)
  local n, g = x:shape()[1], cfg.groups
  local xr = x:reshape(n, g, -1)
  local mean = xr:mean(3, true)
  local d = xr - mean
  local rstd = ((d * d):mean(3, true) + cfg.eps) ^ -0.5
  local xhat = (d * rstd):reshape(x:shape())
  return act_of(cfg.act, xhat * channel_view(p[1], x) + channel_view(p[2], x))
end

function forward.layer_norm(cfg, p, x)
  local mean = x:mean(-1, true)
  local d = x - mean
  local rstd = ((d * d):mean(-1, true) + cfg.eps) ^ -0.5
  return d * rstd * p[1] + p[2]
end

function forward.attention(cfg, _, qkv)
  local n, c, h = qkv:shape()[1], cfg["in"], cfg.heads
  local d, P = c // h, spatial(qkv)
  local function part(i) return qkv:narrow(2, i * c + 1, c):reshape(n * h, d, P) end
  local q, k, v = part(0), part(1), part(2)
  local a = (q:transpose(2, 3):bmm(k) * (1 / math.sqrt(d))):softmax(3)
  local o = v:bmm(a:transpose(2, 3))
  local s = qkv:shape()
  s[2] = c
  return o:reshape(s)
end

function forward.embedding(cfg, p, idx)
  local s = idx:shape()
  local rows = p[1]:index(1, idx:reshape(-1) + (1 - cfg.index_base))
  s[#s + 1] = cfg.out
  return rows:reshape(s)
end

function forward.concat(_, _, ...) return fm.cat({...}, 2) end

function forward.upsample(cfg, _, x)
  local s, f = x:shape(), cfg.factor
  local n, c, hh, ww = s[1], s[2], s[3], s[4]
  return x:reshape(n, c, hh, 1, ww, 1):expand(n, c, hh, f, ww, f):contiguous()
          :reshape(n, c, hh * f, ww * f)
end

function forward.avg_pool(cfg, _, x)
  local s, f = x:shape(), cfg.factor
  local ho, wo = s[3] // f, s[4] // f
  local v = x:narrow(3, 1, ho * f):narrow(4, 1, wo * f):contiguous()
  return v:reshape(s[1], s[2], ho, f, wo, f):mean(6):mean(4)
end

function forward.mlp(cfg, p, x)
  local L = #cfg.sizes - 1
  local h = x
  for l = 1, L do
    h = h:mm(p[2 * l - 1]) + p[2 * l]
    if l < L then h = act_of(cfg.act, h) end
  end
  return h
end

-- node entries: inputs, then parameters
local function split(node)
  local nin = node.saved[4]
  local ins, ps = {}, {}
  for i = 1, #node do
    if i <= nin then ins[i] = node[i] else ps[i - nin] = node[i] end
  end
  return ins, ps, nin
end

function M.vjp(node, g)
  local layer = node.saved[1]
  local cfg = layer:config()
  local f = forward[cfg.kind]
  if not f then
    error("backward: create_graph through a " .. cfg.kind .. " layer is not supported " ..
          "(its composed form is not written); first-order backward is", 0)
  end
  local ins, ps = split(node)
  local wrt, pos = {}, {}
  for i = 1, #node do
    local x = node[i]
    if fm.is_tensor(x) and x.requires_grad then wrt[#wrt + 1] = x; pos[#pos + 1] = i end
  end
  local y = fm.enable_grad(function() return f(cfg, ps, table.unpack(ins)) end)
  local grads = fm.grad({y}, wrt, {grad_outputs = {g}, create_graph = fm.is_grad_enabled()})
  local out = {}
  for k, i in ipairs(pos) do out[i] = grads[k] end
  return table.unpack(out, 1, #node)
end

local function plus(a, b)
  if a == nil then return b end
  if b == nil then return a end
  return a + b
end

local bilinear = {linear = true, conv2d = true}

-- the mlp_tangent layer of an mlp layer (engine/nn/mlp_tangent.c), made once
local tangent_layers = setmetatable({}, {__mode = "k"})
local function mlp_tangent(layer, cfg)
  local t = tangent_layers[layer]
  if not t then
    t = fm._layer.new("mlp_tangent", {sizes = cfg.sizes, act = cfg.act, dtype = cfg.dtype},
                      layer:params())
    tangent_layers[layer] = t
  end
  return t
end

local function any_tangent(ps, T)
  for _, p in ipairs(ps) do if T(p) then return true end end
  return false
end
local linear_only = {upsample = true, avg_pool = true, concat = true}

function M.tangent(node, out, T)
  local layer = node.saved[1]
  local cfg = layer:config()
  local ins, ps, nin = split(node)
  local kind = cfg.kind
  if bilinear[kind] then
    local x, tx = ins[1], T(ins[1])
    local tw, tb = T(ps[1]), ps[2] and T(ps[2])
    local r
    if tx then
      local p = {ps[1]}
      if ps[2] then p[2] = fm.zeros_like(ps[2]:detach()) end
      r = layer:apply(p, tx)
    end
    if tw or tb then
      local p = {tw or fm.zeros_like(ps[1]:detach())}
      if ps[2] then p[2] = tb or fm.zeros_like(ps[2]:detach()) end
      r = plus(r, layer:apply(p, x))
    end
    return r
  elseif linear_only[kind] then
    local ts, any = {}, false
    for i = 1, nin do
      ts[i] = T(ins[i])
      if ts[i] then any = true else ts[i] = fm.zeros_like(ins[i]:detach()) end
    end
    return any and layer:forward(table.unpack(ts, 1, nin)) or nil
  elseif kind == "mlp" and not any_tangent(ps, T) then
    -- tangents on the input only: one recorded C layer, ty = J_x mlp(x) tx,
    -- whose C backward differentiates the tangent (reverse over forward)
    local tx = T(ins[1])
    return tx and mlp_tangent(layer, cfg):apply(ps, ins[1], tx) or nil
  elseif kind == "embedding" then
    local tw = T(ps[1])
    return tw and forward.embedding(cfg, {tw}, ins[1]) or nil
  end
  -- nonlinear kinds: the composed form with tangents propagating
  local f = forward[kind]
  local was = A.fwd_suspend()
  A.fwd_resume(true)
  local ok, y = pcall(f, cfg, ps, table.unpack(ins, 1, nin))
  A.fwd_resume(was)
  if not ok then error(y, 0) end
  return A.tangent(y)
end

return M
