-- normalizing_flow.lua — a normalizing flow (affine couplings, fm.flows,
-- docs/math.md §6 "Normalizing flows") trained by maximum likelihood on a
-- 2-D Gaussian mixture, beside a flow-matching model (a CNF) trained on the
-- same data for the same number of steps. Both have exact log-densities:
-- the coupling flow by the change of variables (one pass), the CNF by the
-- instantaneous change of variables (fm.likelihood, an ODE per point). The
-- held-out NLL of each is printed beside the exact one (the mixture's
-- entropy estimate on the same points, the best achievable), and the three
-- log-densities are drawn side by side.
--
--   fmlua experiments/normalizing_flow.lua            # ~3 min
--   fmlua experiments/normalizing_flow.lua --quick    # a first look, ~40 s
local fm = require "fm"
local train = require "fm.train"
local opts = require("fm.cli").parse(arg, {
  steps = {3000, "training steps of each model", min = 1},
  batch = {256, "batch size", min = 1},
  lr = {3e-3, "peak Adam learning rate of both (warm-up, cosine decay to lr/20)", above = 0},
  layers = {8, "coupling layers of the flow", min = 1},
  width = {64, "hidden units per layer of each coupling's MLP (2 layers)", min = 1},
  cnf_width = {96, "hidden units per layer of the CNF's field (3 layers)", min = 1},
  target = {"gaussians8", "the mixture (exact log_prob)", choices = {"gaussians8", "mix3"}},
  ode_steps = {20, "rk4 steps of the CNF likelihood ODE", min = 1},
  res = {60, "heatmap grid points per side", min = 2},
  n = {1000, "held-out points for the NLL (also samples drawn)", min = 2},
  quick = {false, "600 steps, 500 points, a 40 x 40 grid: a first look"},
  seed = 1,
  plots = {true, "write the figures"},
  out = "runs/normalizing_flow",
}, "A coupling normalizing flow by maximum likelihood vs a CNF by flow matching: NLL and densities.")
if opts.quick then
  opts.steps, opts.n, opts.res = math.min(opts.steps, 600), math.min(opts.n, 500), math.min(opts.res, 40)
end

fm.seed(opts.seed)
local run = require("fm.run").new(opts.out, opts)
local target = opts.target == "gaussians8" and fm.data.gaussians8{}
  or fm.data.gmm{means = {{-2, -1}, {2, -1}, {0, 2.5}}, stds = {0.3, 0.6, 0.45},
                 weights = {0.5, 0.3, 0.2}}

-- the normalizing flow, by maximum likelihood
local flow = fm.flows.realnvp{dim = 2, layers = opts.layers, hidden = {opts.width, opts.width}}
local flow_s = fm.flows.fit(flow, target, {steps = opts.steps, batch = opts.batch, lr = opts.lr,
                                           run = run, label = "flow"})
run:save_model("flow.safetensors", flow)

-- the CNF, by conditional flow matching on the linear path
local path = fm.path.gaussian("linear")
local net = fm.nn.mlp{inputs = 3, hidden = {opts.cnf_width, opts.cnf_width, opts.cnf_width},
                      outputs = 2, act = "silu"}
local opt = fm.optim.adam(net, {lr = opts.lr})
local sched = fm.optim.scheduler(opt, fm.optim.schedule.cosine{total = opts.steps,
  warmup = math.max(1, opts.steps // 50), min_lr = opts.lr / 20})
local cnf_s = train.loop{steps = opts.steps, label = "cnf", step = function()
  local loss = fm.loss.cfm(net, path, (target:sample(opts.batch)))
  opt:zero_grad(); loss:backward(); sched:step(); opt:step()
  return loss
end}
run:save_model("cnf.safetensors", net)
local field = fm.field(net)
local function cnf_logp(x)
  return fm.likelihood(field, x, {steps = opts.ode_steps, method = "rk4"})
end

-- held-out NLL under both and under the exact mixture
local held = (target:sample(opts.n))
local t0 = fm.clock()
local flow_logp = fm.no_grad(function() return flow:log_prob(held) end)
local flow_eval_s = fm.clock() - t0
t0 = fm.clock()
local cnf_lp = cnf_logp(held)
local cnf_eval_s = fm.clock() - t0
local m = {
  nll_flow = -flow_logp:mean():item(), nll_cnf = -cnf_lp:mean():item(),
  nll_exact = fm.metrics.nll(held, target),
  flow_train_s = flow_s, cnf_train_s = cnf_s, flow_nll_s = flow_eval_s, cnf_nll_s = cnf_eval_s,
}
-- samples of both against the target (W2 beside its sampling floor)
local fx = flow:sample(opts.n)
local cx = fm.no_grad(function()
  return (fm.ode.solve(field, fm.randn(opts.n, 2), {method = "rk4", steps = 50}))
end)
local ef, ec = train.evaluate(fx, target, {n = opts.n}), train.evaluate(cx, target, {n = opts.n})
m.w2_flow, m.w2_cnf, m.w2_floor = ef.w2, ec.w2, ef.w2_floor
run:save_npy("samples.npy", fx)

print(string.format("trained %d steps: flow %.1f s, CNF %.1f s; NLL of %d points: flow %.3f s, "
  .. "CNF %.1f s (rk4, %d steps)", opts.steps, flow_s, cnf_s, opts.n, flow_eval_s, cnf_eval_s,
  opts.ode_steps))
print(string.format("held-out NLL (nats): exact %.4f, coupling flow %.4f (gap %.4f), CNF %.4f "
  .. "(gap %.4f)", m.nll_exact, m.nll_flow, m.nll_flow - m.nll_exact, m.nll_cnf,
  m.nll_cnf - m.nll_exact))
print(string.format("samples: W2 flow %.4f, CNF %.4f (floor %.4f)", m.w2_flow, m.w2_cnf, m.w2_floor))

if opts.plots then
  local lim = train.limits(target:sample(5000), 0.2)
  -- the three log-densities on one grid, clipped below at (exact max - 12)
  -- so that the modes use the colour range; each is computed once
  local grid, vals = nil, {}
  local function panel(name, title, logp)
    run:plot("heatmap", name, {fn = function(x)
        grid = grid or x
        vals[#vals + 1] = logp(x):double()
        local lo = vals[1]:max():item() - 12
        return vals[#vals]:clamp(lo, math.huge)
      end, res = opts.res, xlim = lim, ylim = lim, title = title})
  end
  panel("logp_exact.png", string.format("exact log p: NLL %.3f", m.nll_exact),
        function(x) return target:log_prob(x) end)
  panel("logp_flow.png", string.format("coupling flow: NLL %.3f", m.nll_flow),
        function(x) return fm.no_grad(function() return flow:log_prob(x) end) end)
  panel("logp_cnf.png", string.format("CNF (flow matching): NLL %.3f", m.nll_cnf), cnf_logp)
  -- side by side: the same values as grey images in [0, 1]; grid rows run
  -- along x first from (xlo, ylo), so image row r is grid row res + 1 - r
  local res, hi = opts.res, vals[1]:max():item()
  local flip = {}
  for r = 1, res do flip[r] = res + 1 - r end
  local flip_idx = fm.tensor(flip, "int64")
  local ims = {}
  for k, v in ipairs(vals) do
    local im = ((v:clamp(hi - 12, math.huge) - (hi - 12)) / 12):reshape(res, res)
    if grid[1][1] == grid[2][1] then im = im:transpose(1, 2) end -- y fastest: transpose
    ims[k] = im:index(1, flip_idx):reshape(1, res, res)
  end
  run:plot("images", "densities.png", {images = fm.cat(ims, 1), cols = 3,
    title = string.format("log p clipped at max - 12: exact %.3f | coupling flow %.3f | CNF %.3f",
                          m.nll_exact, m.nll_flow, m.nll_cnf)})
  print("figures in " .. opts.out)
end
run:log(opts.steps, m)
run:close()
