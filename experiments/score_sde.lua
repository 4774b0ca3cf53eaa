-- score_sde.lua — denoising score matching (docs/math.md §4: the model predicts
-- grad log p_t(x_t | z) = -eps / beta_t, weight beta_t^2, fm.loss.dsm) next
-- to flow matching, then sampling by the extension trick (docs/math.md §5):
--   dX = [u_t(X) + sigma^2 / 2 s_t(X)] dt + sigma dW
-- has the same marginals p_t as the ODE dX = u_t dt for every sigma >= 0.
-- One MLP with two heads (velocity u, score s) is trained on the linear
-- path with cfm + dsm on the same (t, eps). Prints W2 / MMD / energy per
-- sigma against one reference set and the floor: sigma = 0 is the ODE,
-- moderate sigma lets the learned score correct the drift's errors, a large
-- sigma with a finite Euler-Maruyama step adds discretisation error.
--
--   fmlua experiments/score_sde.lua [--sde-steps 200] [--data moons]
local fm = require "fm"
local train = require "fm.train"
local opts = require("fm.cli").parse(arg, {
  steps = {2500, "training steps", min = 1},
  batch = {256, "batch size", min = 1},
  lr = {3e-3, "peak Adam learning rate (warm-up, cosine decay to lr/20)", above = 0},
  width = {96, "hidden units per layer", min = 1},
  depth = {3, "hidden layers", min = 0},
  data = {"gaussians8", "target data set", choices = train.datasets},
  sde_steps = {100, "Euler-Maruyama steps", min = 1},
  n = {2000, "samples drawn and evaluated per sigma", min = 2},
  seed = 1,
  plots = {true, "write the figures"},
  out = "runs/score_sde",
}, "Denoising score matching, then extension-trick SDE sampling at several sigma.")

fm.seed(opts.seed)
local run = require("fm.run").new(opts.out, opts)
local target = train.dataset(opts.data)
local path = fm.path.gaussian("linear")
local sigmas = {0, 0.5, 1, 2}

local hidden = {}
for i = 1, opts.depth do hidden[i] = opts.width end
-- outputs 1-2: the velocity u_t(x); outputs 3-4: the score s_t(x)
local net = fm.nn.mlp{inputs = 3, hidden = hidden, outputs = 4, act = "silu"}
local opt = fm.optim.adam(net, {lr = opts.lr})
local sched = fm.optim.scheduler(opt, fm.optim.schedule.cosine{total = opts.steps,
  warmup = math.max(1, opts.steps // 50), min_lr = opts.lr / 20})

local function step()
  local z = (target:sample(opts.batch))
  local out
  -- one forward pass: the CFM loss reads the velocity head, DSM the score
  -- head at the same x_t (same t and eps)
  local lu, ex = fm.loss.cfm(nil, path, z, {field = function(x, t)
    out = net(fm.cat({x, t}, 2)); return out:narrow(2, 1, 2) end})
  local ls = fm.loss.dsm(nil, path, z, {t = ex.t, eps = ex.eps,
    field = function() return out:narrow(2, 3, 2) end})
  local loss = lu + ls
  opt:zero_grad(); loss:backward(); sched:step(); opt:step()
  return loss:item(), lu:item(), ls:item()
end
local last = {}
local seconds = train.loop{steps = opts.steps, run = run, label = "train", step = function(i)
  local l, lu, ls = step(i); last = {cfm = lu, dsm = ls}; return l end,
  extra = function() return last end}
run:save_model("model.safetensors", net)

-- the two heads as fields; the score call right after the velocity call at
-- the same (x, t) reuses its forward pass
local cache = {}
local function heads(x, t)
  if cache.x ~= x or cache.t ~= t then
    cache.x, cache.t, cache.out = x, t, net(fm.cat({x, fm.full({#x, 1}, t)}, 2))
  end
  return cache.out
end
local velocity = function(x, t) return heads(x, t):narrow(2, 1, 2) end
local score = function(x, t) return heads(x, t):narrow(2, 3, 2) end

fm.seed(opts.seed + 1000)
local ref = train.sample(target, opts.n)
local floor = train.evaluate(train.sample(target, opts.n), target,
                             {n = opts.n, reference = ref, floors = 6})
local x0 = fm.randn(opts.n, 2)

print(string.format("trained %d steps in %.1f s (cfm %.3f, dsm %.3f)", opts.steps, seconds,
                    last.cfm, last.dsm))
print(string.format("\n%-8s %8s %9s %9s %7s", "sigma", "W2", "MMD", "energy", "time"))
local panels, names, frames = {}, {}, nil
for k, sigma in ipairs(sigmas) do
  local t0 = fm.clock()
  local x1, traj = fm.no_grad(function()
    return fm.sample.sde(velocity, path, x0, {sigma = sigma, score = score,
                                              steps = opts.sde_steps, record = 21})
  end)
  local m = train.evaluate(x1, target, {n = opts.n, reference = ref, floors = 0})
  for _, key in ipairs{"w2", "mmd", "energy"} do m[key .. "_floor"] = floor[key .. "_floor"] end
  m.w2_ratio, m.sigma, m.sample_s = m.w2 / m.w2_floor, sigma, fm.clock() - t0
  print(string.format("%-8g %8.4f %9.5f %9.5f %6.2fs", sigma, m.w2, m.mmd, m.energy, m.sample_s))
  run:log(opts.steps, m)
  panels[k], names[k] = x1, string.format("sigma %g: W2 %.2f", sigma, m.w2)
  if sigma == 1 then run:save_npy("samples.npy", x1); frames = train.frames_of(traj) end
end
print(string.format("%-8s %8.4f %9.5f %9.5f   (mean of 6 fresh data sets; sd %.3f)", "floor",
                    floor.w2_floor, floor.mmd_floor, floor.energy_floor, floor.w2_floor_sd))

if opts.plots then
  local lim = train.limits(ref, 0.3)
  run:plot("snapshots", "samples.png", {frames = panels, names = names, reference = ref,
    xlim = lim, ylim = lim, height = 300, title = string.format(
      "extension-trick SDE, %d Euler-Maruyama steps, learned velocity + DSM score", opts.sde_steps)})
  local sub = {}
  for i, f in ipairs(frames) do sub[i] = f:narrow(1, 1, math.min(200, opts.n)) end
  run:plot("trajectories", "trajectories_sigma1.png", {fm.stack(sub, 1), xlim = lim, ylim = lim,
    title = "SDE paths at sigma = 1 (same marginals as the ODE)"})
  -- the learned score at t = 0.9 (near the data): arrows point to the modes
  fm.no_grad(function()
    run:plot("quiver", "score_t0.9.png", {field = function(x, t) return score(x, t) end,
      t = 0.9, grid = 24, xlim = lim, ylim = lim, title = "learned score s_t at t = 0.9"})
  end)
  local steps, losses = run:series("dsm")
  local _, lc = run:series("cfm")
  run:plot("curve", "loss.png", {series = {{name = "dsm", x = steps, y = losses},
    {name = "cfm", x = steps, y = lc}}, ylog = true, title = "training losses",
    xlabel = "step", ylabel = "loss"})
  print("figures in " .. opts.out)
end
run:close()
