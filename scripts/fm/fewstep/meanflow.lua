--- MeanFlow (Geng et al. 2025) in fmlua's time convention (docs/math.md §9.2).
--
--   local loss, ex = fm.fewstep.meanflow_loss(net, path, z [, labels] [, opts])
--   (labels: a tensor after z, as data:sample returns it, or opts.labels; fm.args)
--
-- For s <= t, the average velocity obeys u(x_s, s, t) = v(x_s, s) +
-- (t - s) d/ds u(x_s, s, t), with d/ds u = (du/dx) v + du/ds the derivative
-- along the trajectory: one forward-mode product of the network with the
-- tangent (v, 1, 0) on its inputs (x, s, t). With x_s = alpha_s z + beta_s
-- eps on the path and v its conditional velocity, the loss regresses
-- F(x_s, s, t) onto the stop-gradient target sg(v + (t - s) JVP), so the JVP
-- needs no graph: one fm.jvp gives the prediction (with its graph) and the
-- tangent together.
-- opts (all optional):
--   eps        noise of z's shape (default drawn)
--   s, t       numbers or (n,) tensors with s <= t (default drawn)
--   time       "uniform" (default) or {logit_normal = {mean =, std =}}
--   equal      share of rows with s = t (default 0.75, the paper's choice)
--   adaptive   {p = 1, c = 1e-3}: weights 1 / (||err||^2 + c)^p (sg), the
--              paper's choice for images; default none (plain squared error,
--              which trains 2-D models faster: docs/experiments.md)
--   labels     class labels passed to the network
-- Returns the loss (a scalar tensor) and extras {s, t, x, v, target, pred, mse}
-- (mse the unweighted mean squared error, for logging).
local fm = require "fm"
local args = require "fm.args"
local fs = require "fm.fewstep"

local M = {}

function M.loss(net, path, z, a4, a5)
  local fname = "fm.fewstep.meanflow_loss"
  args.check(fname, 1, "net", net, "callable|object")
  args.check(fname, 2, "path", path, "object")
  args.check(fname, 3, "z", z, "tensor")
  local y, opts = args.labels_and_opts(fname, 4, z, a4, a5)
  local n, dt = z:size(1), z:dtype()
  local s, t = fs.times_of(n, {s = opts.s, t = opts.t, time = opts.time,
                               equal = opts.equal or 0.75}, dt)
  local eps = fs.noise_of(z, opts)
  local x, v = fs.on_path(path, z, eps, s)
  local pred, du = fm.jvp(function(xx, ss, tt) return fs.call(net, xx, ss, tt, y) end,
                          {x, s, t}, {v, fm.ones_like(s)})
  local target = (v + fs.rows(t - s, z) * du):detach()
  local loss, sq = fs.reduce(pred - target, opts.adaptive)
  return loss, {s = s, t = t, x = x, v = v, target = target, pred = pred,
                mse = sq:detach():mean():item()}
end

return M
