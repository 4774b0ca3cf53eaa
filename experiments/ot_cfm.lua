-- ot_cfm.lua — independent vs minibatch optimal-transport coupling
-- (docs/math.md §4; Tong et al. 2023, Pooladian et al. 2023). With the linear
-- path, CFM regresses z - x0 at x_t = t z + (1 - t) x0. Drawing (x0, z)
-- independently makes the conditional paths cross, so the learned marginal
-- field bends; pairing each batch by an exact assignment (fm.coupling.ot)
-- makes them nearly non-crossing, and the learned ODE paths come out almost
-- straight. Two tasks: N(0, I) -> moons, and data to data, moons ->
-- 8 gaussians. Prints W2 to the target (rk4, and Euler with only
-- --few-steps steps, where straight paths pay off) and the straightness
-- mean_i length(path_i) / |x1_i - x0_i| (1 for straight lines), and draws
-- the trajectories of both couplings.
--
--   fmlua experiments/ot_cfm.lua [--steps 3000] [--batch 256]
local fm = require "fm"
local train = require "fm.train"
local opts = require("fm.cli").parse(arg, {
  steps = {1500, "training steps per (task, coupling)", min = 1},
  batch = {128, "batch size (the OT assignment is exact, O(batch^3))", min = 1},
  lr = {3e-3, "peak Adam learning rate (warm-up, cosine decay to lr/20)", above = 0},
  width = {64, "hidden units per layer", min = 1},
  depth = {3, "hidden layers", min = 0},
  ode_steps = {40, "rk4 steps for sampling and path lengths", min = 1},
  few_steps = {2, "Euler steps for the few-step W2", min = 1},
  n = {1000, "samples drawn and evaluated", min = 2},
  seed = 1,
  plots = {true, "write the figures"},
  out = "runs/ot_cfm",
}, "Independent vs minibatch-OT coupling: W2 and path straightness on two tasks.")

local run = require("fm.run").new(opts.out, opts)
local path = fm.path.gaussian("linear")
local moons, g8 = fm.data.moons{}, fm.data.gaussians8{}
local tasks = {
  {name = "noise->moons", target = moons, source = nil},
  {name = "moons->8g", target = g8, source = moons},
}
local hidden = {}
for i = 1, opts.depth do hidden[i] = opts.width end

-- draw n source points (N(0, I) when the task has no source data set)
local function source(task, n)
  if task.source then return (task.source:sample(n)) end
  return fm.randn(n, 2)
end

local function fit(task, coupling)
  fm.seed(opts.seed)
  local net = fm.nn.mlp{inputs = 3, hidden = hidden, outputs = 2, act = "silu"}
  local opt = fm.optim.adam(net, {lr = opts.lr})
  local sched = fm.optim.scheduler(opt, fm.optim.schedule.cosine{total = opts.steps,
    warmup = math.max(1, opts.steps // 50), min_lr = opts.lr / 20})
  local seconds = train.loop{steps = opts.steps, label = task.name .. " " .. coupling,
    step = function()
      local z, x0 = (task.target:sample(opts.batch)), source(task, opts.batch)
      if coupling == "ot" then _, x0 = fm.coupling.ot(z, x0) end
      local loss = fm.loss.cfm(net, path, z, {x0 = x0})
      opt:zero_grad(); loss:backward(); sched:step(); opt:step()
      return loss
    end}
  return fm.field(net), seconds
end

-- mean over points of (polyline length through the recorded frames) /
-- |end - start|: 1 for straight paths; frames: list of (n, 2)
local function straightness(frames)
  local len = fm.zeros(#frames[1])
  for i = 2, #frames do len = len + ((frames[i] - frames[i - 1]) ^ 2):sum(2):sqrt() end
  local chord = ((frames[#frames] - frames[1]) ^ 2):sum(2):sqrt()
  return (len / chord:clamp(1e-6, math.huge)):mean():item()
end

print(string.format("%-13s %-12s %8s %8s %8s %9s %7s", "task", "coupling", "W2",
                    "W2 few", "floor", "straight", "train"))
local plots, k = {}, 0
for _, task in ipairs(tasks) do
  fm.seed(opts.seed + 1000)
  local ref = task.target:sample(opts.n)
  local floor = train.evaluate((task.target:sample(opts.n)), task.target,
                               {n = opts.n, reference = ref, floors = 4})
  local x0 = source(task, opts.n)
  for _, coupling in ipairs{"independent", "ot"} do
    local field, seconds = fit(task, coupling)
    local x1, traj = fm.no_grad(function()
      return fm.ode.solve(field, x0, {method = "rk4", steps = opts.ode_steps,
                                      record = opts.ode_steps + 1})
    end)
    local frames = train.frames_of(traj)
    local few = fm.no_grad(function()
      return (fm.ode.solve(field, x0, {method = "euler", steps = opts.few_steps}))
    end)
    local m = train.evaluate(x1, task.target, {n = opts.n, reference = ref, floors = 0})
    local mf = train.evaluate(few, task.target, {n = opts.n, reference = ref, floors = 0})
    m.w2_few, m.w2_floor, m.w2_floor_sd = mf.w2, floor.w2_floor, floor.w2_floor_sd
    m.w2_ratio, m.straightness = m.w2 / m.w2_floor, straightness(frames)
    m.task, m.coupling, m.train_s = task.name, coupling, seconds
    k = k + 1
    run:log(k, m)
    print(string.format("%-13s %-12s %8.4f %8.4f %8.4f %9.4f %6.1fs", task.name, coupling,
                        m.w2, m.w2_few, m.w2_floor, m.straightness, seconds))
    if task.source == nil and coupling == "ot" then run:save_npy("samples.npy", x1) end
    plots[#plots + 1] = {task = task, coupling = coupling, frames = frames, m = m, ref = ref}
  end
end

if opts.plots then
  for _, p in ipairs(plots) do
    local both = fm.cat({p.ref, p.frames[1]}, 1)
    local lim = train.limits(both, 0.15)
    local sub = {}
    for i, f in ipairs(p.frames) do sub[i] = f:narrow(1, 1, math.min(150, opts.n)) end
    local file = string.format("traj_%s_%s.png", p.task.source and "moons_to_8g" or
                               "noise_to_moons", p.coupling)
    run:plot("trajectories", file, {fm.stack(sub, 1), xlim = lim, ylim = lim,
      title = string.format("%s, %s coupling: straightness %.3f, W2 %.2f",
                            p.task.name, p.coupling, p.m.straightness, p.m.w2)})
  end
  print("figures in " .. opts.out)
end
run:close()
