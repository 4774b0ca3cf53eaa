--- fm.sample — samplers for a trained or exact model (docs/math.md §5).
--
--   x1, traj, stats = fm.sample.ode(field, x0, {method = "euler", steps = 100,
--       record =, ...})             -- fm.ode.solve from t0 = 0 to t1 = 1
--
--   x1, traj, stats = fm.sample.sde(velocity, path, x0, {sigma = 0.5 or
--       function(t), score = optional score field, method = "euler_maruyama",
--       steps = 100, record =, alpha_min = 1e-3})
--   The extension trick: dX = [u_t(X) + sigma_t^2 / 2 grad log p_t(X)] dt
--   + sigma_t dW has the ODE's marginals for any sigma_t >= 0. The score is
--   score(x, t) when given, else derived from the velocity through the path's
--   conversion (path:convert(u, x, t, "velocity", "score"), docs/math.md §2),
--   which divides by alpha_t and is singular where alpha_t = 0 (t = 0). Our
--   choice near there: where alpha_t < alpha_min, p_t is N(0, beta_t^2 I) up
--   to O(alpha_t), so the score is taken as -x / beta_t^2 (exact at t = 0,
--   error O(alpha_min) elsewhere) instead of an ill-conditioned conversion.
--   sigma_t^2 / 2 times the score grows like 1 / beta_t^2 near t = 1 for data
--   without spread (a stiff drift): for such data let sigma_t vanish at 1,
--   e.g. sigma = function(t) return c * (1 - t) end.
local fm = require "fm"
local args = require "fm.args"
local field = require "fm.field"

local M = {}

function M.ode(f, x0, opts)
  args.check("fm.sample.ode", 1, "f", f, "callable|object")
  args.check("fm.sample.ode", 2, "x0", x0, "tensor|table")
  opts = args.opts("fm.sample.ode", 3, opts)
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.method = o.method or "euler"
  return fm.ode.solve(f, x0, o)
end

--- The score of p_t from a velocity field (see above).
function M.score_from_velocity(path, u, x, t, alpha_min)
  local alpha, beta = path:schedule(t)
  if alpha < (alpha_min or 1e-3) then return x * (-1 / (beta * beta)) end
  if x:dim() > 2 then  -- images: the path converts rows
    local n = x:size(1)
    return path:convert(u:reshape(n, -1), x:reshape(n, -1), t, "velocity", "score")
      :reshape(x:shape())
  end
  return path:convert(u, x, t, "velocity", "score")
end

function M.sde(velocity, path, x0, opts)
  args.check("fm.sample.sde", 1, "velocity", velocity, "callable|object")
  args.check("fm.sample.sde", 2, "path", path, "object")
  args.check("fm.sample.sde", 3, "x0", x0, "tensor|table")
  opts = args.opts("fm.sample.sde", 4, opts)
  local sigma = opts.sigma or 0.5
  local sig = type(sigma) == "function" and sigma or function() return sigma end
  local score, amin = opts.score, opts.alpha_min
  local vel = field.resolve(velocity)
  local drift = function(x, t)
    local u = vel(x, t)
    local s = score and score(x, t) or M.score_from_velocity(path, u, x, t, amin)
    local g = sig(t)
    return u + s * (g * g / 2)
  end
  return fm.sde.solve(drift, sigma, x0, {method = opts.method or "euler_maruyama",
    steps = opts.steps or 100, t0 = opts.t0 or 0, t1 = opts.t1 or 1,
    times = opts.times, record = opts.record})
end

return M
