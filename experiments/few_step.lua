-- few_step.lua — one- and few-step generation on 2-D data (docs/math.md §9):
-- MeanFlow and Terminal Velocity Matching learn the average velocity
-- F(x, s, t) of the flow over [s, t], so one network evaluation carries noise
-- to data: x_1 = x_0 + F(x_0, 0, 1). Plain CFM with Euler at the same number
-- of network evaluations (NFE) is the baseline; at 1 NFE it lands on the
-- mean of the data. On a Gaussian mixture (8 gaussians, gmm) the learned
-- maps are also compared with the exact flow map of the marginal field
-- (path:flow_map). Prints W2 / MMD / energy to one reference set beside the
-- floor (the mean over 4 fresh data sets), the map error and the times.
--
--   fmlua experiments/few_step.lua                   # 8 gaussians, ~3 min
--   fmlua experiments/few_step.lua --data moons --steps 6000
--   fmlua experiments/few_step.lua --quick           # a first look, ~40 s
local fm = require "fm"
local train = require "fm.train"
local fs = fm.fewstep
local opts = require("fm.cli").parse(arg, {
  steps = {4000, "training steps per method", min = 1},
  batch = {512, "batch size", min = 1},
  lr = {1e-3, "peak Adam learning rate (warm-up, cosine decay to lr/20)", above = 0},
  width = {256, "hidden units per layer", min = 1},
  depth = {3, "hidden layers", min = 0},
  data = {"gaussians8", "target data set (gmm: a 3-component mixture)",
          choices = {"gaussians8", "moons", "gmm"}},
  methods = {"meanflow,tvm,cfm", "comma-separated methods to train"},
  nfe = {"1,2,4,8", "network evaluations to sample with"},
  mf_equal = {0.5, "MeanFlow: share of training pairs with s = t", min = 0, max = 1},
  tvm_equal = {0.25, "TVM: share of training pairs with s = t", min = 0, max = 1},
  tvm_ema = {0.99, "TVM: decay of the EMA target network", min = 0, max = 0.99999},
  detach_jvp = {false, "TVM: no gradient through the JVP"},
  n = {2000, "samples drawn and evaluated", min = 2},
  quick = {false, "1000 steps, 1000 samples: a first look"},
  seed = 1,
  plots = {true, "write the figures"},
  out = "runs/few_step",
}, "MeanFlow, TVM and CFM at 1, 2, 4, 8 network evaluations, against the exact flow map.")
if opts.quick then opts.steps, opts.n = math.min(opts.steps, 1000), math.min(opts.n, 1000) end

local cli = require "fm.cli"
local methods, nfes = cli.list(opts.methods), cli.list(opts.nfe, "number")

local run = require("fm.run").new(opts.out, opts)
local path = fm.path.gaussian("linear")
local target = opts.data == "gmm"
  and fm.data.gmm{means = {{-2, -1}, {2, -1}, {0, 2}}, stds = {0.3, 0.5, 0.4}, weights = {0.5, 0.3, 0.2}}
  or train.dataset(opts.data)
local fmap = type(target) == "userdata" and target.components and path:flow_map(target) or nil

local hidden = {}
for i = 1, opts.depth do hidden[i] = opts.width end

-- one training run: the method's loss, Adam with warm-up and cosine decay
local function fit(method)
  fm.seed(opts.seed)
  local net = fm.nn.mlp{inputs = method == "cfm" and 3 or 4, hidden = hidden, outputs = 2}
  local opt = fm.optim.adam(net, {lr = opts.lr})
  local sched = fm.optim.scheduler(opt, fm.optim.schedule.cosine{total = opts.steps,
    warmup = math.max(1, opts.steps // 50), min_lr = opts.lr / 20})
  local tvm = method == "tvm" and fs.tvm(net, {ema = opts.tvm_ema, detach_jvp = opts.detach_jvp})
  local step
  if method == "meanflow" then
    step = function() return fs.meanflow_loss(net, path, target:sample(opts.batch),
                                              {equal = opts.mf_equal}) end
  elseif method == "tvm" then
    step = function() return tvm:loss(path, target:sample(opts.batch), {equal = opts.tvm_equal}) end
  elseif method == "cfm" then
    step = function() return fm.loss.cfm(net, path, (target:sample(opts.batch))) end
  else
    error("few_step: unknown method '" .. method .. "' (meanflow, tvm, cfm)", 0)
  end
  local seconds = train.loop{steps = opts.steps, run = run, label = method,
    step = function()
      local loss = step()
      opt:zero_grad(); loss:backward(); sched:step(); opt:step()
      if tvm then tvm:update() end
      return loss
    end}
  run:save_model(method .. ".safetensors", net)
  return net, seconds
end

-- k network evaluations from x0: the few-step map, or Euler on the CFM field
local function generate(method, net, x0, k)
  if method == "cfm" then
    return (fm.no_grad(function()
      return fm.ode.solve(fm.field(net), x0, {method = "euler", steps = k})
    end))
  end
  return (fs.sample(net, x0, {steps = k}))
end

fm.seed(opts.seed + 1000)
local ref = train.sample(target, opts.n)
local x0 = fm.randn(opts.n, 2)
local exact = fmap and fmap:phi(x0, 0, 1)
local floor = train.evaluate(ref, target, {reference = ref, floors = 4})

local rows, ones, maps = {}, {}, {}
for _, method in ipairs(methods) do
  local net, seconds = fit(method)
  for _, k in ipairs(nfes) do
    local t0 = fm.clock()
    local x1 = generate(method, net, x0, k)
    local sample_s = fm.clock() - t0
    local m = train.evaluate(x1, target, {reference = ref, floors = 0})
    m.method, m.nfe, m.train_s, m.sample_s = method, k, seconds, sample_s
    m.w2_floor, m.mmd_floor, m.energy_floor = floor.w2_floor, floor.mmd_floor, floor.energy_floor
    m.w2_ratio = m.w2 / floor.w2_floor
    if exact then m.map_error = (x1 - exact):pow(2):sum(2):sqrt():mean():item() end
    rows[#rows + 1] = m
    run:log(0, m)
    if k == 1 then
      ones[#ones + 1] = {method, x1}; maps[method] = x1
      run:save_npy("samples_" .. method .. "_1nfe.npy", x1)
    end
  end
end

print(("\n%s: floor W2 %.4f (sd %.4f over 4 data sets), MMD %.5f, energy %.5f; n = %d"):format(
  opts.data, floor.w2_floor, floor.w2_floor_sd, floor.mmd_floor, floor.energy_floor, opts.n))
print(("%-9s %4s %9s %6s %10s %10s %10s %8s %8s"):format("method", "NFE", "W2", "xfloor",
  "MMD", "energy", "map err", "train s", "sample s"))
for _, m in ipairs(rows) do
  print(("%-9s %4d %9.4f %6.2f %10.5f %10.5f %10s %8.1f %8.3f"):format(m.method, m.nfe, m.w2,
    m.w2_ratio, m.mmd, m.energy, m.map_error and ("%.4f"):format(m.map_error) or "-",
    m.train_s, m.sample_s))
end

if opts.plots then
  local lim = train.limits(ref, 0.3)
  local panels, names = {}, {}
  for i, o in ipairs(ones) do
    panels[i] = o[2]
    for _, m in ipairs(rows) do
      if m.method == o[1] and m.nfe == 1 then
        names[i] = ("%s: W2 %.2f"):format(o[1], m.w2)
      end
    end
  end
  if exact then
    panels[#panels + 1] = exact
    names[#names + 1] = "exact flow map"
  end
  run:plot("snapshots", "one_step.png", {frames = panels, names = names, reference = ref,
    xlim = lim, ylim = lim, height = 300,
    title = ("%s: one network evaluation from N(0, I); W2 floor %.2f (grey: data)"):format(
      opts.data, floor.w2_floor)})
  -- the maps as segments from x0 to x1, exact beside learned, 300 points
  local sub = math.min(300, opts.n)
  local function segments(x1)
    return fm.stack({x0:narrow(1, 1, sub), x1:narrow(1, 1, sub)}, 1)
  end
  if exact then
    run:plot("trajectories", "map_exact.png", {segments(exact), xlim = lim, ylim = lim,
      title = "exact flow map phi(x, 0, 1) (dopri5 on the marginal field)"})
  end
  for method, x1 in pairs(maps) do
    run:plot("trajectories", "map_" .. method .. ".png", {segments(x1), xlim = lim, ylim = lim,
      title = ("%s: x0 -> one-step x1"):format(method)})
  end
  -- W2 against NFE per method, with the floor
  local series = {}
  for _, method in ipairs(methods) do
    local xs, ys = {}, {}
    for _, m in ipairs(rows) do
      if m.method == method then xs[#xs + 1] = m.nfe; ys[#ys + 1] = m.w2 end
    end
    series[#series + 1] = {name = method, x = xs, y = ys}
  end
  series[#series + 1] = {name = "floor", x = {nfes[1], nfes[#nfes]},
                         y = {floor.w2_floor, floor.w2_floor}}
  run:plot("curve", "w2_nfe.png", {series = series, xlabel = "network evaluations",
    ylabel = "W2", xlog = true, ylog = true, title = opts.data .. ": W2 against NFE"})
  print("figures in " .. opts.out)
end
run:close()
