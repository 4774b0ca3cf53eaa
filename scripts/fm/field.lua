--- fm.field(net) — a time-dependent vector field u(x, t) from a network
-- whose input is cat(x, t): t is appended as the last input column.
--
--   local u = fm.field(net)      -- net(input (n, d+1)) -> (n, d)
--   u(x, t)                      -- t a number or an (n,)/(n, 1) tensor
--
-- The integrators (fm.ode, fm.sde, fm.sample) call fields through
-- field.resolve, which hands the engine the fastest form available: the C
-- marginal of path:marginal(gmm) as is, a fused C MLP when the network
-- offers one (net:fused()), else the Lua call once per stage for the batch.
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

--- The value the C integrators receive for a field.
function M.resolve(f)
  if getmetatable(f) == Field then
    local net = f.net
    if type(net) == "table" and type(net.fused) == "function" then
      local ok, h = pcall(net.fused, net)
      if ok and h ~= nil and fm._integrate.is_native(h) then return h end
    end
  end
  return f
end

M.time_column = time_column
return setmetatable(M, {__call = function(_, net) return M.new(net) end})
