-- likelihood.lua — a trained flow is a continuous normalising flow: its
-- log-density follows from the instantaneous change of variables (docs/math.md
-- §6), log p_1(x) = log N(X_0; 0, I) - int_0^1 div u_t(X_t) dt, integrating
-- x back to noise (fm.likelihood, exact divergence by autograd). Trains CFM
-- on the linear path towards a Gaussian mixture, whose exact log-density is
-- known (target:log_prob), then draws the learned log p beside the exact one
-- on a grid and prints the average negative log-likelihood of held-out data
-- under both (the exact one is the entropy estimate, the best achievable).
--
--   fmlua experiments/likelihood.lua [--res 60] [--ode-steps 40]
local fm = require "fm"
local train = require "fm.train"
local opts = require("fm.cli").parse(arg, {
  steps = {4000, "training steps", min = 1},
  batch = {256, "batch size", min = 1},
  lr = {3e-3, "peak Adam learning rate (warm-up, cosine decay to lr/20)", above = 0},
  width = {96, "hidden units per layer", min = 1},
  depth = {3, "hidden layers", min = 0},
  target = {"gaussians8", "the mixture (exact log_prob)", choices = {"gaussians8", "mix3"}},
  ode_steps = {20, "rk4 steps of the likelihood ODE", min = 1},
  res = {80, "heatmap grid points per side (res^2 likelihood evaluations)", min = 2},
  n = {1000, "held-out points for the NLL (also samples drawn)", min = 2},
  seed = 1,
  plots = {true, "write the figures"},
  out = "runs/likelihood",
}, "The learned CNF log-density next to the exact one of a Gaussian mixture; held-out NLL.")

fm.seed(opts.seed)
local run = require("fm.run").new(opts.out, opts)
local target = opts.target == "gaussians8" and fm.data.gaussians8{}
  or fm.data.gmm{means = {{-2, -1}, {2, -1}, {0, 2.5}}, stds = {0.3, 0.6, 0.45},
                 weights = {0.5, 0.3, 0.2}}
local path = fm.path.gaussian("linear")

local hidden = {}
for i = 1, opts.depth do hidden[i] = opts.width end
local net = fm.nn.mlp{inputs = 3, hidden = hidden, outputs = 2, act = "silu"}
local opt = fm.optim.adam(net, {lr = opts.lr})
local sched = fm.optim.scheduler(opt, fm.optim.schedule.cosine{total = opts.steps,
  warmup = math.max(1, opts.steps // 50), min_lr = opts.lr / 20})
local seconds = train.loop{steps = opts.steps, run = run, label = "train", step = function()
  local loss = fm.loss.cfm(net, path, (target:sample(opts.batch)))
  opt:zero_grad(); loss:backward(); sched:step(); opt:step()
  return loss
end}
run:save_model("model.safetensors", net)
local field = fm.field(net)

-- held-out data: NLL under the flow and under the exact mixture
local held = (target:sample(opts.n))
local t0 = fm.clock()
local logp = fm.likelihood(field, held, {steps = opts.ode_steps, method = "rk4"})
local nll_s = fm.clock() - t0
local m = {
  nll_model = -logp:mean():item(),
  nll_exact = fm.metrics.nll(held, target),
  train_s = seconds, nll_s = nll_s,
}
m.nll_gap = m.nll_model - m.nll_exact
-- and the flow's samples, for the record
local x1 = fm.no_grad(function()
  return (fm.ode.solve(field, fm.randn(opts.n, 2), {method = "rk4", steps = 50}))
end)
local e = train.evaluate(x1, target, {n = opts.n})
m.w2, m.w2_floor = e.w2, e.w2_floor
run:save_npy("samples.npy", x1)

print(string.format("trained %d steps in %.1f s; likelihood of %d points (rk4, %d steps) in %.1f s",
                    opts.steps, seconds, opts.n, opts.ode_steps, nll_s))
print(string.format("held-out NLL (nats): model %.4f, exact %.4f, gap %.4f", m.nll_model,
                    m.nll_exact, m.nll_gap))
print(string.format("samples: W2 %.4f (floor %.4f)", m.w2, m.w2_floor))

if opts.plots then
  local lim = train.limits(target:sample(5000), 0.2)
  -- log p on the grid; clipped below at max - 12 so the modes, not the
  -- near-empty corners, use the colour range (the same clip for both)
  local exact_grid
  run:plot("heatmap", "logp_exact.png", {fn = function(x)
      exact_grid = target:log_prob(x); return exact_grid:clamp(exact_grid:max():item() - 12, 0) end,
    res = opts.res, xlim = lim, ylim = lim, title = "exact log p (clipped at max - 12)"})
  local t1 = fm.clock()
  local model_grid
  run:plot("heatmap", "logp_model.png", {fn = function(x)
      model_grid = fm.likelihood(field, x, {steps = opts.ode_steps, method = "rk4"})
      return model_grid:clamp(exact_grid:max():item() - 12, 0) end,
    res = opts.res, xlim = lim, ylim = lim,
    title = string.format("learned CNF log p: held-out NLL %.3f (exact %.3f)", m.nll_model,
                          m.nll_exact)})
  m.grid_s = fm.clock() - t1
  -- where both densities matter (exact p above 1% of its peak): mean |diff|
  local mask = exact_grid:ge(exact_grid:max():item() + math.log(0.01)):to("float32")
  m.grid_abs_err = ((model_grid - exact_grid):abs() * mask):sum():item() / mask:sum():item()
  print(string.format("grid %dx%d in %.1f s; mean |log p_model - log p_exact| where p > 1%% of "
                      .. "the peak: %.3f", opts.res, opts.res, m.grid_s, m.grid_abs_err))
  print("figures in " .. opts.out)
end
run:log(opts.steps, m)
run:close()
