-- ot_path.lua — conditional flow matching with the linear (CondOT) path
-- (docs/math.md §2, §4): x_t = t z + (1 - t) eps, target velocity z - eps. An MLP
-- on [x, t] learns the marginal field that carries N(0, I) onto a 2-D data
-- set; an ODE solver then samples it. Prints W2 / MMD / energy distance to
-- fresh data next to the same figures between two fresh data sets (the
-- sampling floor), and leaves a run directory with the model, the samples,
-- the metrics and the pictures.
--
--   fmlua experiments/ot_path.lua                      # 8 gaussians, < 60 s
--   fmlua experiments/ot_path.lua --data moons --steps 8000 --out runs/moons
--   fmlua experiments/ot_path.lua --schedule cosine    # another Gaussian path
local fm = require "fm"
local train = require "fm.train"
local opts = require("fm.cli").parse(arg, {
  steps = {3000, "training steps", min = 1},
  batch = {512, "batch size", min = 1},
  lr = {3e-3, "peak Adam learning rate (cosine decay to lr/20)", above = 0},
  width = {128, "hidden units per layer", min = 1},
  depth = {3, "hidden layers", min = 0},
  data = {"gaussians8", "target data set", choices = train.datasets},
  schedule = {"linear", "Gaussian path", choices = {"linear", "sqrt", "cosine", "vp", "polynomial"}},
  method = {"rk4", "ODE solver", choices = {"euler", "midpoint", "heun", "rk4", "dopri5"}},
  ode_steps = {50, "ODE steps (fixed-step methods)", min = 1},
  n = {2000, "samples drawn and evaluated (exact W2 is O(n^3))", min = 2},
  seed = 1,
  plots = {true, "write the figures and the GIF"},
  out = "runs/ot_path",
}, "Conditional flow matching from N(0, I) to a 2-D data set; samples with an ODE solver.")

fm.seed(opts.seed)
local run = require("fm.run").new(opts.out, opts)
local target = train.dataset(opts.data)
local path = fm.path.gaussian(opts.schedule)

local hidden = {}
for i = 1, opts.depth do hidden[i] = opts.width end
local net = fm.nn.mlp{inputs = 3, hidden = hidden, outputs = 2, act = "silu"}
local opt = fm.optim.adam(net:parameters(), {lr = opts.lr})
local field = fm.field(net)

-- one CFM step: t ~ U(0, 1) per sample, x_t on the path, regress u_t(x_t | z)
local function step(i)
  -- learning rate: linear warm-up over 2% of the steps, then cosine to lr/20
  local warm = math.max(1, opts.steps // 50)
  local f = i <= warm and i / warm
    or 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (i - warm) / math.max(1, opts.steps - warm)))
  opt:set_lr(opts.lr * f)
  local z = target:sample(opts.batch)
  local eps = fm.randn(opts.batch, 2)
  local t = fm.rand(opts.batch, 1)
  local xt = path:sample(z, t, eps)
  local ut = path:velocity(xt, z, t)
  local loss = ((net(fm.cat({xt, t}, 2)) - ut) ^ 2):mean()
  opt:zero_grad()
  loss:backward()
  opt:step()
  return loss:item()
end

-- a checkpoint every tenth of the run (and at the end); a step with a
-- non-finite or diverged loss stops training and keeps the last one
local seconds = train.loop{steps = opts.steps, run = run, step = step, label = "train",
  checkpoint = function() run:save_model("model.safetensors", net) end}

-- sample: integrate the learned field from noise (t = 0) to data (t = 1)
local t0 = fm.clock()
local x1, frames = fm.no_grad(function()
  return train.solve(field, fm.randn(opts.n, 2), {method = opts.method, steps = opts.ode_steps,
                                                  record = 9})
end)
local sample_s = fm.clock() - t0
run:save_npy("samples.npy", x1)

local m = train.evaluate(x1, target, {n = opts.n})
m.train_s, m.sample_s = seconds, sample_s
print(string.format("trained %d steps in %.1f s; sampled %d points (%s, %d steps) in %.2f s",
                    opts.steps, seconds, opts.n, opts.method, opts.ode_steps, sample_s))
train.print_metrics(m, opts.data)
run:log(opts.steps, m)

if opts.plots then
  local ref = train.sample(target, 3000)
  local lim = train.limits(ref, 0.3)
  local title = string.format("%s, %s path, %d steps", opts.data, opts.schedule, opts.steps)
  run:plot("scatter", "samples.png", {x1, reference = ref, labels = {"model", "data"},
    title = title .. string.format(": W2 %.3f (floor %.3f)", m.w2, m.w2_floor),
    xlim = lim, ylim = lim})
  local sub = {}
  for i, f in ipairs(frames) do sub[i] = f:narrow(1, 1, math.min(400, opts.n)) end
  run:plot("trajectories", "trajectories.png", {fm.stack(sub, 1),
    title = "ODE trajectories, t = 0 to 1", xlim = lim, ylim = lim})
  local times = train.times(#frames - 1)
  local snap, st = {}, {}
  for _, f in ipairs{0, 0.25, 0.5, 0.75, 1} do
    local i = 1 + math.floor(f * (#frames - 1) + 0.5)
    snap[#snap + 1] = frames[i]; st[#st + 1] = times[i]
  end
  run:plot("snapshots", "snapshots.png", {frames = snap, times = st, reference = ref,
    xlim = lim, ylim = lim, height = 300})
  fm.no_grad(function()
    for _, t in ipairs{0.1, 0.5, 0.9} do
      run:plot("quiver", string.format("field_t%.1f.png", t), {
        field = function(x, s) return field(x, s) end, t = t, grid = 24, xlim = lim, ylim = lim,
        title = string.format("learned u_t at t = %.1f", t)})
    end
  end)
  local steps, losses = run:series("loss")
  run:plot("curve", "loss.png", {y = losses, x = steps, ylog = true, title = "CFM loss",
    xlabel = "step", ylabel = "loss"})
  run:plot("gif", "flow.gif", {frames = frames, times = times, xlim = lim, ylim = lim, delay = 25})
  print("run directory: " .. opts.out)
end
run:close()
