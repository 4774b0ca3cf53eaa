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

local M = {}
local Field = {}
Field.__index = Field

local function time_column(x, t)
  local n = x:size(1)
  if fm.is_tensor(t) then return t:reshape(n, 1):to(x:dtype()) end
  return fm.full({n, 1}, t, x:dtype())
end

function Field.__call(self, x, t)
  return self.net(fm.cat({x, time_column(x, t)}, 2))
end

function M.new(net)
  assert(net ~= nil, "fm.field: a network is required")
  return setmetatable({net = net}, Field)
end

--- A fused MLP field over weight tensors: fm.field.mlp{sizes = {d+1, ..., d},
-- act = "silu", params = {W1, b1, ..., Wn, bn}} with W_l of shape
-- (sizes[l], sizes[l+1]) (engine/mlp.h's layout: forward is h @ W + b) and
-- the activation after every layer but the last. The integrators run it in C
-- (fm_mlp_field_eval; Euler without recording: fm_mlp_euler); called from
-- Lua, it computes the same network with tensor ops (differentiable).
local Mlp = {}
Mlp.__index = Mlp

function Mlp.__call(self, x, t)
  local h = fm.cat({x, time_column(x, t)}, 2)
  local n = #self.params // 2
  for l = 1, n do
    h = h:mm(self.params[2 * l - 1]) + self.params[2 * l]
    if l < n and self.act ~= "none" then h = h[self.act](h) end
  end
  return h
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

--- The value the C integrators receive for a field: a fused network's C
-- handle (net:fused(), an fm.Mlp with sizes/act/dtype/params) becomes an
-- fm.field.mlp table; anything else is passed as is.
function M.resolve(f)
  if getmetatable(f) == Field then
    local net = f.net
    if type(net) == "table" and type(net.fused) == "function" then
      local ok, h = pcall(net.fused, net)
      if ok and h ~= nil then
        local ok2, fused = pcall(function()
          return M.mlp{sizes = h:sizes(), act = h:act(), dtype = h:dtype(), params = h:params()}
        end)
        if ok2 then return fused end
      end
    end
  end
  return f
end

M.time_column = time_column
return setmetatable(M, {__call = function(_, net) return M.new(net) end})
