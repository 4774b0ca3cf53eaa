--- fm.sde — SDE solvers dX = b(X, t) dt + g(t) dW (docs/math.md §1; engine/sde.c).
--
--   x1, traj, stats = fm.sde.solve(drift, diffusion, x0, {method =
--       "euler_maruyama" | "heun", steps = 100, t0 = 0, t1 = 1, times = {...},
--       record = k | {...}})
--
-- drift: callable as b(x, t) (as fm.ode fields); diffusion: a number or a
-- function g(t) -> number >= 0 (scalar noise on every coordinate). Brownian
-- increments come from the seeded generator (fm.seed). "heun" is the
-- stochastic Heun (improved Euler) method, strong order 1 for additive noise.
-- Ready-made examples:
--   fm.sde.brownian(n, d, {steps=, t1=, sigma=1, record=}) -> paths of sigma W
--   fm.sde.ou{theta=, sigma=} -> {drift=, diffusion=, mean(x0, t),
--       var(t), solve(x0, opts)}: dX = -theta X dt + sigma dW.
local fm = require "fm"
local args = require "fm.args"
local field = require "fm.field"

local M = {}

function M.solve(drift, diffusion, x0, opts)
  args.check("fm.sde.solve", 1, "drift", drift, "callable|object")
  args.check("fm.sde.solve", 2, "diffusion", diffusion, "number|callable|object")
  args.check("fm.sde.solve", 3, "x0", x0, "tensor|table")
  opts = args.opts("fm.sde.solve", 4, opts)
  x0 = fm.is_tensor(x0) and x0 or fm.tensor(x0)
  return fm._integrate.sde(field.resolve(drift), diffusion, x0,
                           opts.method or "euler_maruyama", opts)
end

function M.brownian(n, d, opts)
  args.check("fm.sde.brownian", 1, "n", n, "integer")
  args.check("fm.sde.brownian", 2, "d", d, "integer")
  opts = args.opts("fm.sde.brownian", 3, opts)
  local x0 = fm.zeros({n, d}, opts.dtype)
  local zero = function(x) return fm.zeros_like(x) end
  return M.solve(zero, opts.sigma or 1, x0, {steps = opts.steps or 100,
    t0 = opts.t0 or 0, t1 = opts.t1 or 1, record = opts.record})
end

function M.ou(p)
  p = p or {}
  local theta, sigma = p.theta or 1, p.sigma or 1
  local ou = {theta = theta, sigma = sigma}
  ou.drift = function(x) return x * (-theta) end
  ou.diffusion = sigma
  -- exact law from x0 at time 0: N(x0 e^{-theta t}, sigma^2 (1 - e^{-2 theta t}) / (2 theta))
  function ou.mean(x0, t) return x0 * math.exp(-theta * t) end
  function ou.var(t) return sigma ^ 2 * (1 - math.exp(-2 * theta * t)) / (2 * theta) end
  function ou.solve(x0, opts) return M.solve(ou.drift, sigma, x0, opts) end
  return ou
end

return M
