--- fm.flow_map — the exact flow map of a Gaussian path's marginal field onto
-- a Gaussian mixture (docs/math.md §9): the ground truth that few-step
-- models (fm.fewstep) are measured against.
--
--   local fmap = path:flow_map(gmm [, {rtol = 1e-10, atol = 1e-10}])
--   fmap:phi(x, s, t)       -- where the ODE dx/dr = v(x, r) carries x from s to t
--   fmap:average(x, s, t)   -- u(x, s, t) = (phi(x, s, t) - x) / (t - s); v(x, s) at s = t
--   fmap:velocity(x, t)     -- the instantaneous marginal field v(x, t)
--
-- s and t are numbers or (n,) / (n, 1) tensors, one pair per row, s > t
-- allowed (backwards). Rows with different (s, t) are integrated together
-- in one adaptive dopri5 solve over a common clock tau in [0, 1]:
-- r(tau) = s + tau (t - s), dx/dtau = (t - s) v(x, r(tau)), so phi(x, s, t)
-- is the solution at tau = 1. The work is in float64 whatever x's dtype;
-- results come back in x's dtype.
local fm = require "fm"
local args = require "fm.args"

local M = {}
local FlowMap = {}
FlowMap.__index = FlowMap

-- an (n, 1) float64 column of times from a number or an (n,) / (n, 1) tensor
local function column(v, n, what)
  if type(v) == "number" then
    if v ~= v then error("flow_map: " .. what .. " is NaN", 3) end
    return fm.full({n, 1}, v, "float64")
  end
  if not fm.is_tensor(v) then
    error("flow_map: " .. what .. " must be a number or a tensor, got " .. type(v), 3)
  end
  if v:numel() ~= n then
    error(("flow_map: %s has %d values for %d rows"):format(what, v:numel(), n), 3)
  end
  local c = v:detach():reshape(n, 1):to("float64")
  if c:isfinite():min():item() ~= 1 then error("flow_map: " .. what .. " is not finite", 3) end
  return c
end

local function points(x)
  if not fm.is_tensor(x) or x:dim() ~= 2 then
    error("flow_map: x must be an (n, d) tensor", 3)
  end
  return x:detach():to("float64")
end

--- path:flow_map(gmm [, opts]): opts.rtol, opts.atol (default 1e-10) and
-- opts.max_steps (default 100000) of the dopri5 solve.
function M.new(path, gmm, opts)
  opts = args.opts("path:flow_map", 2, opts)
  if gmm == nil or type(gmm) ~= "userdata" then
    error("path:flow_map: bad argument #1 (a Gaussian mixture, fm.data.gmm{...}, expected)", 2)
  end
  local field = path:marginal(gmm)
  return setmetatable({path = path, gmm = gmm, field = field,
    rtol = opts.rtol or 1e-10, atol = opts.atol or 1e-10,
    max_steps = opts.max_steps or 100000}, FlowMap)
end

function FlowMap:velocity(x, t)
  local xd = points(x)
  return self.field(xd, column(t, xd:size(1), "t")):to(x:dtype())
end

-- phi in float64, with s and t as columns
function FlowMap:_phi(xd, s, t)
  local gap = t - s
  local field = self.field
  local function g(y, tau) return field(y, s + gap * tau) * gap end
  local out = fm.ode.solve(g, xd, {method = "dopri5", t0 = 0, t1 = 1,
    rtol = self.rtol, atol = self.atol, max_steps = self.max_steps})
  return out
end

function FlowMap:phi(x, s, t)
  local xd = points(x)
  local n = xd:size(1)
  return self:_phi(xd, column(s, n, "s"), column(t, n, "t")):to(x:dtype())
end

--- The average velocity (phi(x, s, t) - x) / (t - s); where s = t it is
-- the field v(x, s) itself (the limit), so a grid of gaps may include 0.
function FlowMap:average(x, s, t)
  local xd = points(x)
  local n = xd:size(1)
  local sc, tc = column(s, n, "s"), column(t, n, "t")
  local gap = tc - sc
  local zero = gap:abs():lt(1e-300):to("float64")
  local moved = (self:_phi(xd, sc, tc) - xd) / (gap + zero)
  local at = self.field(xd, sc)
  return (moved * (1 - zero) + at * zero):to(x:dtype())
end

function FlowMap:__tostring()
  return ("fm.FlowMap(%s, rtol %g)"):format(self.path:name(), self.rtol)
end

return M
