--- fm.ode — ODE solvers over a field (docs/math.md §1, §5; engine/ode.c).
--
--   x1, traj, stats = fm.ode.solve(field, x0, {method = "rk4", steps = 100,
--       t0 = 0, t1 = 1, times = {...}, record = 10 | {...},
--       rtol = 1e-5, atol = 1e-6, max_steps = 10000, adaptive = true})
--
-- field: anything callable as f(x, t) -> tensor of x's shape (a Lua function,
-- an fm.field(net) wrapper, path:marginal(gmm)); called once per stage with
-- the whole batch. method: euler, midpoint, heun, rk4 (fixed grid: `steps`
-- uniform steps from t0 to t1, or the list `times`; t1 < t0 integrates
-- backwards) or dopri5 (adaptive Dormand–Prince 5(4), rtol/atol/max_steps;
-- adaptive = false runs its 5th-order solution on the fixed grid). One rule
-- for all methods: steps (and max_steps, record = k) are integers >= 1 (2
-- for record), never NaN or fractions; adaptive dopri5 needs finite rtol,
-- atol >= 0, not both 0 (rtol = atol = 0 is an error, not fixed steps).
-- record: k evenly spaced times from t0 to t1 or a list of times (hit
-- exactly); traj is a (K, shape of x0) tensor or nil, stats.times the
-- recorded times (float64 tensor); stats.nfe / accepted / rejected.
local fm = require "fm"
local args = require "fm.args"
local field = require "fm.field"

local M = {}

function M.solve(f, x0, opts)
  args.check("fm.ode.solve", 1, "f", f, "callable|object")
  args.check("fm.ode.solve", 2, "x0", x0, "tensor|table")
  opts = args.opts("fm.ode.solve", 3, opts)
  x0 = fm.is_tensor(x0) and x0 or fm.tensor(x0)
  return fm._integrate.ode(field.resolve(f), x0, opts.method or "rk4", opts)
end

return M
