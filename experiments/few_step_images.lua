-- few_step_images.lua — one- and few-step generation of Fashion-MNIST
-- (docs/math.md §9, docs/fewstep.md): MeanFlow and TVM with the U-Net of two
-- times (fm.nn.unet{times = 2}) against class-conditional CFM with Euler at
-- the same number of network evaluations (NFE) and at --ref-nfe. All sample
-- the conditional model (guidance weight 1: one evaluation per step). With
-- the classifier of experiments/fashion_classifier.lua it reports the
-- Fréchet distance on its features against the test set beside the floor
-- (n real train images against the same test set), and the accuracy on the
-- asked labels;
-- on --data synthetic (fm.data.quadrants) the accuracy by quadrant.
--
--   fmlua experiments/few_step_images.lua --quick      # a first look
--   fmlua experiments/few_step_images.lua              # the default budget
local fm = require "fm"
local train = require "fm.train"
local fs = fm.fewstep
local opts = require("fm.cli").parse(arg, {
  steps = {1500, "training steps per method", min = 1},
  batch = {64, "batch size", min = 1},
  lr = {5e-4, "peak Adam learning rate (warm-up, cosine decay to lr/10)", above = 0},
  channels = {16, "U-Net base channels", min = 8},
  p_uncond = {0.1, "probability of dropping a label to the null label", min = 0, max = 1},
  clip = {1.0, "gradient-norm clip", above = 0},
  ema = {0.999, "EMA decay of the weights used for sampling", min = 0, max = 0.99999},
  methods = {"meanflow,tvm,cfm", "comma-separated methods"},
  nfe = {"1,2,4", "network evaluations of the few-step samplers"},
  ref_nfe = {50, "Euler steps of the CFM reference", min = 1},
  detach_jvp = {false, "TVM without the gradient through the JVP (cheaper)"},
  n = {1000, "evaluation samples per (method, NFE)", min = 2},
  data = {"fashion", "fashion or synthetic (fm.data.quadrants, 8x8)",
          choices = {"fashion", "synthetic"}},
  classifier = {"runs/fashion_classifier/classifier.safetensors", "classifier weights"},
  quick = {false, "a first look (300 steps per method, 300 samples)"},
  seed = 1,
  plots = {true, "write the grids"},
  out = "runs/few_step_images",
}, "MeanFlow and TVM against CFM on Fashion-MNIST at 1, 2, 4 network evaluations.")
if opts.quick then opts.steps, opts.n = math.min(opts.steps, 300), math.min(opts.n, 300) end

local cli = require "fm.cli"
local methods, nfes = cli.list(opts.methods), cli.list(opts.nfe, "number")

local data = opts.data == "synthetic" and fm.data.quadrants{} or fm.data.fashion_mnist{split = "train"}
local classes, K = data.classes, #data.classes
local null = K + 1
local shape = data:image_shape()
local C, H, W = shape[1], shape[2], shape[3]
local run = require("fm.run").new(opts.out, opts)
local path = fm.path.gaussian("linear")

-- the scorer: classifier metrics on Fashion-MNIST, quadrants on synthetic
local score
if opts.data == "synthetic" then
  local quadrant_of = require("fm.images").quadrant_of
  score = function(x, y) return {accuracy = quadrant_of(x):eq(y):to("float32"):mean():item()} end
else
  local f = io.open(opts.classifier)
  if f then
    f:close()
    local im = require "fm.image_metrics"
    local clf = im.load_classifier(opts.classifier)
    score = function(x, y) return im.evaluate(x, y, {classifier = clf}) end
  else
    print("(no classifier at " .. opts.classifier .. ": run experiments/fashion_classifier.lua " ..
          "for FD and accuracy)")
    score = function() return {} end
  end
end

local function labels(per)
  local t = {}
  for k = 1, K do for _ = 1, per do t[#t + 1] = k end end
  return fm.tensor(t, "int64")
end

-- one method's training: its loss on a batch (x1, y) with dropped labels
local function fit(method)
  fm.seed(opts.seed)
  local net = fm.nn.unet{channels = opts.channels, classes = K, in_channels = C,
                         times = method == "cfm" and 1 or 2}
  local opt = fm.optim.adam(net, {lr = opts.lr})
  local sched = fm.optim.scheduler(opt, fm.optim.schedule.cosine{total = opts.steps,
    warmup = math.max(1, opts.steps // 50), min_lr = opts.lr / 10})
  local ema = fm.optim.ema(net:parameters(), opts.ema, {warmup = true})
  local tvm = method == "tvm" and fs.tvm(net, {ema = 0.99, detach_jvp = opts.detach_jvp})
  local batches = data:batches{batch = opts.batch, seed = opts.seed, epochs = math.huge,
                               drop_last = true}
  local function loss_of(x1, y)
    if method == "meanflow" then return fs.meanflow_loss(net, path, x1, {labels = y}) end
    if method == "tvm" then return tvm:loss(path, x1, {labels = y}) end
    local B = x1:size(1)
    local x0, t = fm.randn(B, C, H, W), fm.rand(B)
    local tt = t:reshape(B, 1, 1, 1)
    return ((net(x1 * tt + x0 * (1 - tt), t, y) - (x1 - x0)) ^ 2):reshape(B, -1):sum(2):mean()
  end
  local seconds = train.loop{steps = opts.steps, run = run, label = method, step = function()
    local x1, y = batches()
    local B = x1:size(1)
    y = fm.where(fm.rand(B):lt(opts.p_uncond), fm.full({B}, null, "int64"), y)
    local loss = loss_of(x1, y)
    opt:zero_grad(); loss:backward()
    fm.optim.clip_grad_norm(net:parameters(), opts.clip)
    sched:step(); opt:step(); ema:update()
    if tvm then tvm:update() end
    return loss
  end}
  ema:copy_to()
  run:save_model(method .. ".safetensors", net)
  return net, seconds
end

-- n images for labels y with k evaluations, in batches
local function generate(method, net, y, k)
  local out = {}
  for lo = 1, y:size(1), 128 do
    local m = math.min(128, y:size(1) - lo + 1)
    local yb = y:narrow(1, lo, m)
    local x0 = fm.randn(m, C, H, W)
    local x1 = fm.no_grad(function()
      if method ~= "cfm" then return (fs.sample(net, x0, {steps = k, labels = yb})) end
      local D = C * H * W
      local f = function(xf, t) return net(xf:reshape(m, C, H, W), t, yb):reshape(m, D) end
      return fm.ode.solve(f, x0:reshape(m, D), {method = "euler", steps = k}):reshape(m, C, H, W)
    end)
    out[#out + 1] = x1
  end
  return fm.cat(out, 1):clamp(-1, 1)
end

local rows = {}
local per = math.max(1, opts.n // K)
local ye = labels(per)
for _, method in ipairs(methods) do
  local net, train_s = fit(method)
  local ks = {}
  for i, k in ipairs(nfes) do ks[i] = k end
  if method == "cfm" then ks[#ks + 1] = opts.ref_nfe end
  for _, k in ipairs(ks) do
    fm.seed(opts.seed + 5)
    local t0 = fm.clock()
    local x = generate(method, net, ye, k)
    local m = score(x, ye)
    m.method, m.nfe, m.train_s, m.sample_s = method, k, train_s, fm.clock() - t0
    m.counts = nil
    rows[#rows + 1] = m
    run:log(0, m)
    if opts.plots then
      fm.seed(opts.seed + 9)
      local g = generate(method, net, labels(10), k)
      run:plot("images", ("grid_%s_nfe%d.png"):format(method, k), {
        images = (g:reshape(10 * K, H, W) + 1) / 2, cols = 10, names = classes,
        title = ("%s, %d NFE"):format(method, k)})
    end
  end
end

print(("\n%s, %d samples per row (w = 1)"):format(opts.data, ye:numel()))
print(("%-9s %4s %9s %9s %9s %8s %9s"):format("method", "NFE", "FD", "floor", "accuracy",
                                             "train s", "sample s"))
local function f(v, fmt) return v and (fmt):format(v) or "-" end
for _, m in ipairs(rows) do
  print(("%-9s %4d %9s %9s %9s %8.0f %9.1f"):format(m.method, m.nfe, f(m.fd, "%.3f"),
    f(m.fd_floor_ref, "%.3f"), f(m.accuracy, "%.3f"), m.train_s, m.sample_s))
end
run:close()
