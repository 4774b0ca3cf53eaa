-- schedules.lua — the same conditional flow matching run (docs/math.md §2, §4:
-- x_t = alpha_t z + beta_t eps, target dalpha_t z + dbeta_t eps) under five
-- Gaussian paths: linear (CondOT), sqrt, cosine, vp, and a custom schedule
-- written in Lua (alpha = t^2, beta = 1 - t^2). Same network, optimiser,
-- steps, seed and ODE solver for each; only the path changes. Prints one
-- table (W2 / MMD / energy to fresh data, the sampling floor, training
-- time) and draws one row of sample panels and a W2-per-schedule curve.
-- Paths whose velocity blows up near t = 1 (sqrt, vp: dbeta -> -inf) give
-- a noisier regression target and land further from the data.
--
--   fmlua experiments/schedules.lua [--data moons] [--steps 2000]
local fm = require "fm"
local train = require "fm.train"
local opts = require("fm.cli").parse(arg, {
  steps = {2000, "training steps per schedule", min = 1},
  batch = {256, "batch size", min = 1},
  lr = {3e-3, "peak Adam learning rate (warm-up, cosine decay to lr/20)", above = 0},
  width = {64, "hidden units per layer", min = 1},
  depth = {3, "hidden layers", min = 0},
  data = {"gaussians8", "target data set", choices = train.datasets},
  ode_steps = {50, "rk4 steps", min = 1},
  n = {1000, "samples drawn and evaluated per schedule", min = 2},
  seed = 1,
  plots = {true, "write the figures"},
  out = "runs/schedules",
}, "The same CFM training under linear, sqrt, cosine, vp and a custom Lua schedule.")

local run = require("fm.run").new(opts.out, opts)
local target = train.dataset(opts.data)

-- the custom path: any pair of Lua functions with alpha_0 = 0, alpha_1 = 1,
-- beta_0 = 1, beta_1 = 0 (derivatives by central differences when omitted)
local schedules = {
  {"linear", fm.path.gaussian("linear")},
  {"sqrt", fm.path.gaussian("sqrt")},
  {"cosine", fm.path.gaussian("cosine")},
  {"vp", fm.path.gaussian("vp")},
  {"t^2 (Lua)", fm.path.gaussian{name = "quad",
    alpha = function(t) return t * t end, beta = function(t) return 1 - t * t end}},
}

local hidden = {}
for i = 1, opts.depth do hidden[i] = opts.width end

-- train one network on path; returns the field, seconds, final loss
local function fit(path)
  fm.seed(opts.seed)                      -- same init, batches and times for every path
  local net = fm.nn.mlp{inputs = 3, hidden = hidden, outputs = 2, act = "silu"}
  local opt = fm.optim.adam(net, {lr = opts.lr})
  local sched = fm.optim.scheduler(opt, fm.optim.schedule.cosine{total = opts.steps,
    warmup = math.max(1, opts.steps // 50), min_lr = opts.lr / 20})
  local last = 0
  local seconds = train.loop{steps = opts.steps, label = "train", step = function()
    local loss = fm.loss.cfm(net, path, (target:sample(opts.batch)))
    opt:zero_grad(); loss:backward(); sched:step(); opt:step()
    last = loss:item()
    return last
  end}
  return fm.field(net), seconds, last
end

-- every schedule is scored against the same reference set; the floor is the
-- mean distance from it to 4 fresh data sets (one draw varies by ~2x)
fm.seed(opts.seed + 1000)
local ref = train.sample(target, opts.n)
local floor = train.evaluate(train.sample(target, opts.n), target,
                             {n = opts.n, reference = ref, floors = 4})
local x0 = fm.randn(opts.n, 2)              -- the same noise for every schedule

local rows, panels, names, w2s, floors = {}, {}, {}, {}, {}
for k, s in ipairs(schedules) do
  local name, path = s[1], s[2]
  print(string.format("-- %s", name))
  local field, seconds, loss = fit(path)
  local x1 = fm.no_grad(function()
    return (fm.ode.solve(field, x0, {method = "rk4", steps = opts.ode_steps}))
  end)
  local m = train.evaluate(x1, target, {n = opts.n, reference = ref, floors = 0})
  for _, key in ipairs{"w2", "mmd", "energy"} do
    m[key .. "_floor"], m[key .. "_floor_sd"] = floor[key .. "_floor"], floor[key .. "_floor_sd"]
  end
  m.w2_ratio = m.w2 / m.w2_floor
  m.schedule, m.train_s, m.loss = name, seconds, loss
  rows[k], panels[k], names[k] = m, x1, name
  w2s[k], floors[k] = m.w2, m.w2_floor
  run:log(k, m)
  if k == 1 then run:save_npy("samples.npy", x1) end
end

print(string.format("\n%-10s %8s %9s %9s %8s %7s", opts.data, "W2", "MMD", "energy",
                    "loss", "train"))
for _, m in ipairs(rows) do
  print(string.format("%-10s %8.4f %9.5f %9.5f %8.4f %6.1fs", m.schedule, m.w2, m.mmd,
                      m.energy, m.loss, m.train_s))
end
print(string.format("%-10s %8.4f %9.5f %9.5f   (mean of 4 fresh data sets; sd %.3f %.5f %.5f)",
                    "floor", floor.w2_floor, floor.mmd_floor, floor.energy_floor,
                    floor.w2_floor_sd, floor.mmd_floor_sd, floor.energy_floor_sd))

if opts.plots then
  local lim = train.limits(ref, 0.3)
  for k, m in ipairs(rows) do names[k] = string.format("%s: W2 %.2f", m.schedule, m.w2) end
  run:plot("snapshots", "samples.png", {frames = panels, names = names, reference = ref,
    xlim = lim, ylim = lim, height = 300,
    title = string.format("%s, %d CFM steps per schedule, rk4 %d steps (grey: data)",
                          opts.data, opts.steps, opts.ode_steps)})
  -- W2 per schedule with the floor and its +-1 sd band, y from 0
  local idx, lo, hi, top = {}, {}, {}, 0
  for k = 1, #rows do
    idx[k] = k
    lo[k], hi[k] = floor.w2_floor - floor.w2_floor_sd, floor.w2_floor + floor.w2_floor_sd
    top = math.max(top, w2s[k], hi[k])
  end
  run:plot("curve", "w2.png", {series = {{name = "model", x = idx, y = w2s},
    {name = "floor (mean of 6 data sets)", x = idx, y = floors},
    {name = "floor - sd", x = idx, y = lo}, {name = "floor + sd", x = idx, y = hi}},
    title = "W2 by schedule: 1 linear, 2 sqrt, 3 cosine, 4 vp, 5 t^2 (Lua)",
    xlabel = "schedule", ylabel = "W2", ylim = {0, 1.15 * top}, xlim = {0.8, #rows + 0.2}})
  -- the schedules themselves: alpha_t (signal) rising, beta_t (noise) falling
  local ts, series = train.times(100), {}
  for _, s in ipairs(schedules) do
    local a, b = {}, {}
    for i, t in ipairs(ts) do a[i], b[i] = s[2]:alpha(t), s[2]:beta(t) end
    series[#series + 1] = {name = "alpha " .. s[1], x = ts, y = a}
    series[#series + 1] = {name = "beta " .. s[1], x = ts, y = b}
  end
  run:plot("curve", "schedules.png", {series = series, xlabel = "t", ylabel = "alpha_t, beta_t",
    title = "x_t = alpha_t z + beta_t eps"})
  print("figures in " .. opts.out)
end
run:close()
