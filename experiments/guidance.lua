-- guidance.lua — classifier-free guidance (Ho & Salimans 2022; docs/math.md §5)
-- on class-conditional 2-D data: three overlapping Gaussian classes. One
-- network u(x, t, y) is trained by CFM with the label replaced by the null
-- label (fm.nn.embedding's emb.null) with probability --p-drop, so it learns
-- both the conditional and the unconditional field. Sampling uses
--   u_w = (1 - w) u(x, t, null) + w u(x, t, y)     (fm.guided)
-- at w = 0 (unconditional: the label is ignored), 1 (the conditional model)
-- and 2, 4 (guided harder). Per w: the fraction of samples whose nearest
-- class centre is the requested one (the Bayes classifier's agreement) and
-- W2 to the requested class's true distribution. w = 1 is the most faithful;
-- w > 1 buys purer classes by pushing samples away from the other classes.
--
--   fmlua experiments/guidance.lua [--p-drop 0.2] [--std 0.8]
local fm = require "fm"
local train = require "fm.train"
local opts = require("fm.cli").parse(arg, {
  steps = {2000, "training steps", min = 1},
  batch = {256, "batch size", min = 1},
  lr = {3e-3, "peak Adam learning rate (warm-up, cosine decay to lr/20)", above = 0},
  width = {96, "hidden units per layer", min = 1},
  depth = {3, "hidden layers", min = 0},
  p_drop = {0.2, "probability of training on the null label", min = 0, max = 1},
  std = {0.8, "standard deviation of each class (overlap)", above = 0},
  ode_steps = {40, "rk4 steps", min = 1},
  n = {1500, "samples per w (requested classes in turn)", min = 2},
  seed = 1,
  plots = {true, "write the figures"},
  out = "runs/guidance",
}, "Classifier-free guidance at several w on three overlapping 2-D classes.")

fm.seed(opts.seed)
local run = require("fm.run").new(opts.out, opts)
local K, ws = 3, {0, 1, 2, 4}
local centres = {}
for c = 1, K do
  local a = math.pi / 2 + 2 * math.pi * (c - 1) / K
  centres[c] = {2 * math.cos(a), 2 * math.sin(a)}
end
local data = fm.data.gmm{means = centres, stds = opts.std}     -- labels 1 .. K
local path = fm.path.gaussian("linear")
local time_column = require("fm.field").time_column

-- the conditional model: an MLP on [x, t, e(y)], e a learned label embedding
local emb = fm.nn.embedding{classes = K, dim = 8}
local hidden = {}
for i = 1, opts.depth do hidden[i] = opts.width end
local model = fm.nn.module{
  name = "ConditionalField", emb = emb,
  mlp = fm.nn.mlp{inputs = 3 + 8, hidden = hidden, outputs = 2, act = "silu"},
  -- model(x, t, y): y an (n,) int64 label tensor, or nil for the null label
  forward = function(self, x, t, y)
    y = y or fm.full({#x}, self.emb.null, "int64")
    return self.mlp(fm.cat({x, time_column(x, t), self.emb(y)}, 2))
  end,
}
local opt = fm.optim.adam(model, {lr = opts.lr})
local sched = fm.optim.scheduler(opt, fm.optim.schedule.cosine{total = opts.steps,
  warmup = math.max(1, opts.steps // 50), min_lr = opts.lr / 20})

local seconds = train.loop{steps = opts.steps, run = run, label = "train", step = function()
  local z, labels = data:sample(opts.batch)
  local y = emb:drop(labels, opts.p_drop)
  local loss = fm.loss.cfm(nil, path, z, {field = function(x, t) return model(x, t, y) end})
  opt:zero_grad(); loss:backward(); sched:step(); opt:step()
  return loss
end}
run:save_model("model.safetensors", model)
print(string.format("trained %d steps in %.1f s", opts.steps, seconds))

-- requested labels 1, 2, ..., K, 1, 2, ... and the same noise for every w
local n = opts.n
local labels = {}
for i = 1, n do labels[i] = (i - 1) % K + 1 end
local y = fm.tensor(labels, "int64")
local x0 = fm.randn(n, 2)
local C = fm.tensor(centres, "float32")
-- the true class-conditional samples N(centre_c, std^2 I) for W2
local function class_samples(c, m) return fm.randn(m, 2) * opts.std + C[c]:reshape(1, 2) end

-- the fraction of rows whose nearest class centre is the requested label y
local function fraction_right(x)
  local d2t, right = fm.cdist2(x, C):totable(), 0
  for i = 1, n do
    local best, bc = math.huge, 0
    for c = 1, K do if d2t[i][c] < best then best, bc = d2t[i][c], c end end
    if bc == labels[i] then right = right + 1 end
  end
  return right / n
end

print(string.format("\n%-4s %10s %10s %8s", "w", "right", "W2 class", "time"))
local panels, names, mine = {}, {}, nil
for k, w in ipairs(ws) do
  local t0 = fm.clock()
  local x1 = fm.no_grad(function()
    return (fm.ode.solve(fm.guided(model, w, y), x0, {method = "rk4", steps = opts.ode_steps}))
  end)
  local right = fraction_right(x1)
  -- W2 of the samples requested for class c to fresh samples of class c
  local w2 = 0
  for c = 1, K do
    local idx = fm.arange(c, n + 1, K, "int64")                  -- rows with y = c
    local xc = x1:index(1, idx)
    w2 = w2 + fm.metrics.w2(xc, class_samples(c, #xc)) / K
  end
  local m = {w = w, right = right, w2_class = w2, sample_s = fm.clock() - t0}
  run:log(opts.steps, m)
  print(string.format("%-4g %9.1f%% %10.4f %7.2fs", w, 100 * m.right, w2, m.sample_s))
  panels[k] = x1:index(1, fm.arange(1, n + 1, K, "int64"))        -- requested class 1
  names[k] = string.format("w = %g: %.0f%% right, W2 %.2f", w, 100 * m.right, w2)
  if w == 2 then mine = x1 end
end
-- the same figures for true class samples: the best a sampler can show
local xd = C:index(1, y) + fm.randn(n, 2) * opts.std         -- row i from class y_i
local floor = 0
for c = 1, K do
  local m = #fm.arange(c, n + 1, K, "int64")
  floor = floor + fm.metrics.w2(class_samples(c, m), class_samples(c, m)) / K
end
local data_right = fraction_right(xd)
print(string.format("%-4s %9.1f%% %10.4f   (true class samples; W2 between two fresh sets)",
                    "data", 100 * data_right, floor))
run:log(opts.steps, {right_data = data_right, w2_class_floor = floor})
run:save_npy("samples.npy", mine)

if opts.plots then
  local ref = (data:sample(3000))
  local lim = train.limits(ref, 0.2)
  run:plot("snapshots", "samples.png", {frames = panels, names = names, reference = ref,
    xlim = lim, ylim = lim, height = 320, title = string.format(
      "samples requested for the top class at guidance w (grey: all classes, std %g)", opts.std)})
  local steps, losses = run:series("loss")
  run:plot("curve", "loss.png", {y = losses, x = steps, ylog = true, title = "CFM loss (labels dropped with p = " .. opts.p_drop .. ")",
    xlabel = "step", ylabel = "loss"})
  print("figures in " .. opts.out)
end
run:close()
