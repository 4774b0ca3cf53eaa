--- fm.field(net) — a time-dependent vector field u(x, t) from a network
-- whose input is cat(x, t): t is appended as the last input column.
--
--   local u = fm.field(net)      -- net(input (n, d+1)) -> (n, d)
--   u(x, t)                      -- t a number or an (n,)/(n, 1) tensor
--
-- The integrators (fm.ode, fm.sde, fm.sample) call fields through
-- field.resolve, which hands the engine the fastest form available: the C
-- marginal of path:marginal(gmm) as is, a fused C MLP when the network
-- offers one (net:fused()) or for fm.field.mlp{...}, else the Lua call once
-- per stage for the batch.
local fm = require "fm"
local args = require "fm.args"

local M = {}
local Field = {}
Field.__index = Field

local function time_column(x, t)
  local n = x:size(1)
  if fm.is_tensor(t) then return t:reshape(n, 1):to(x:dtype()) end
  return fm.full({n, 1}, t, x:dtype())
end

function Field.__call(self, x, t)
  local net = self.net
  if type(net) == "table" and net.field_call then return net:field_call(x, t, self.opts) end
  return net(fm.cat({x, time_column(x, t)}, 2))
end

--- fm.field(net [, opts]): a network on [x, t] (t appended as a column), or
-- a network that says how it is called as a field (net:field_call(x, t,
-- opts), as fm.nn.unet: opts.labels are its class labels, nil the null
-- label).
function M.new(net, opts)
  args.check("fm.field", 1, "net", net, "callable|object")
  return setmetatable({net = net, opts = args.opts("fm.field", 2, opts)}, Field)
end

--- A fused MLP field over weight tensors: fm.field.mlp{sizes = {d+1, ..., d},
-- act = "silu", params = {W1, b1, ..., Wn, bn}} with W_l of shape
-- (sizes[l], sizes[l+1]) (engine/mlp.h's layout: forward is h @ W + b) and
-- the activation after every layer but the last. The integrators run it in C
-- (fm_mlp_field_eval; Euler without recording: fm_mlp_euler); called from
-- Lua, it runs the same network as one C layer of kind "mlp"
-- (differentiable, with forward mode).
local Mlp = {}
Mlp.__index = Mlp

function Mlp.__call(self, x, t)
  local h = fm.cat({x, time_column(x, t)}, 2)
  if not self.layer then
    self.layer = fm._layer.new("mlp", {sizes = self.sizes, act = self.act, dtype = self.dtype},
                               self.params)
  end
  return self.layer:apply(self.params, h)
end

function M.mlp(spec)
  local p = assert(spec.params, "fm.field.mlp: params required")
  local sizes = spec.sizes
  if not sizes then
    sizes = {p[1]:size(1)}
    for l = 1, #p // 2 do sizes[l + 1] = p[2 * l - 1]:size(2) end
  end
  return setmetatable({kind = "mlp", sizes = sizes, act = spec.act or "silu",
    dtype = spec.dtype or p[1]:dtype(), params = p}, Mlp)
end

--- The value the C integrators receive for a field: a network whose fused
-- C layer is an MLP (net:fused(), a layer of kind "mlp") becomes an
-- fm.field.mlp table over its current parameters; anything else is passed
-- as is.
function M.resolve(f)
  if getmetatable(f) == Field then
    local net = f.net
    local h = type(net) == "table" and net.flat_params and net:fused()
    if h and h:config().kind == "mlp" then
      local cfg = h:config()
      return M.mlp{sizes = cfg.sizes, act = cfg.act, dtype = cfg.dtype,
                   params = net:flat_params()}
    end
  end
  return f
end

-- printing (fm.pretty.call): the network's class, an MLP field's shape
local pretty = require "fm.pretty"
local function class_of(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and (rawget(mt, "__name") or
    type(mt.__index) == "table" and rawget(mt.__index, "__name")) or type(v)
end
function Field.__tostring(self)
  return pretty.call("fm.field", {{"net", class_of(self.net), raw = true}})
end
function Mlp.__tostring(self)
  return pretty.call("fm.field.mlp", {{"sizes", self.sizes}, {"act", self.act},
    {"dtype", self.dtype}})
end

M.time_column = time_column
return setmetatable(M, {__call = function(_, net, opts) return M.new(net, opts) end})
