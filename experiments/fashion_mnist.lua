-- fashion_mnist.lua — class-conditional flow matching on Fashion-MNIST with
-- the U-Net of fm.nn.unet (docs/math.md §4, §5; docs/images.md). The linear
-- path x_t = t x1 + (1 - t) x0 from N(0, I) to the images, labels dropped to
-- the null label with probability --p-uncond so that one network gives both
-- the conditional and the unconditional field, and classifier-free guidance
-- u = (1 - w) u(x, t, null) + w u(x, t, y) when sampling.
--
--   fmlua experiments/fashion_mnist.lua --quick     # ~5 min: a first look
--   fmlua experiments/fashion_mnist.lua             # the default, <= 45 min on 2 cores
--   fmlua experiments/fashion_mnist.lua --resume    # go on from runs/fashion_mnist
--
-- The run directory holds the model (EMA weights), a checkpoint written
-- atomically every --checkpoint-every seconds and on Ctrl-C (model,
-- optimiser and EMA state: --resume continues from it), a grid per guidance
-- weight (rows = classes), a GIF of the generation, the loss curve,
-- samples.npy (uint8, (n, 28, 28)) with labels.npy for the evaluation set
-- (n per class at the default weight) and metrics.jsonl. When
-- experiments/fashion_classifier.lua has been run, it also reports the
-- Fréchet distance on the classifier's features against the test set beside
-- its floors, and the classifier's accuracy on the asked labels per weight.
local fm = require "fm"
local train = require "fm.train"
local checkpoint = require "fm.checkpoint"
local opts = require("fm.cli").parse(arg, {
  steps = {4000, "training steps", min = 1},
  batch = {128, "batch size", min = 1},
  lr = {5e-4, "peak Adam learning rate (warm-up, cosine decay to lr/10)", above = 0},
  channels = {16, "U-Net base channels C (UNet-S: 203,505 parameters at 16)", min = 8},
  p_uncond = {0.1, "probability of dropping a label to the null label", min = 0, max = 1},
  clip = {1.0, "gradient-norm clip", above = 0},
  ema = {0.999, "EMA decay of the weights used for sampling", min = 0, max = 0.99999},
  method = {"midpoint", "ODE solver for sampling",
            choices = {"euler", "midpoint", "heun", "rk4", "dopri5"}},
  ode_steps = {10, "ODE steps (fixed-step methods)", min = 1},
  sampler = {"ode", "ode, or sde (the extension trick, score from the velocity)",
             choices = {"ode", "sde"}},
  sigma = {0.3, "SDE: noise scale sigma_t = sigma (1 - t)", min = 0},
  guidance = {"0,1,2,4", "guidance weights w of the grids"},
  w = {2, "guidance weight of the evaluation set"},
  n = {5000, "evaluation samples (n / classes per class)", min = 2},
  acc_n = {1000, "samples per weight for the accuracy per weight", min = 1},
  checkpoint_every = {120, "seconds between checkpoints", above = 0},
  resume = {false, "continue from the run directory's checkpoint"},
  data = {"fashion", "fashion (Debian's dataset-fashion-mnist) or synthetic (fm.data.quadrants, 8x8)",
          choices = {"fashion", "synthetic"}},
  classifier = {"runs/fashion_classifier/classifier.safetensors",
                "classifier weights for FD and accuracy (experiments/fashion_classifier.lua)"},
  quick = {false, "a first look in about 5 minutes (500 steps, 1000 samples)"},
  seed = 1,
  plots = {true, "write the figures and the GIF"},
  out = "runs/fashion_mnist",
}, "Class-conditional flow matching on Fashion-MNIST with a U-Net and classifier-free guidance.")
if opts.quick then
  opts.steps, opts.n, opts.acc_n = math.min(opts.steps, 500), math.min(opts.n, 1000), 200
end

local weights = require("fm.cli").list(opts.guidance, "number")

-- ---- data --------------------------------------------------------------------------
local data = opts.data == "synthetic" and fm.data.quadrants{} or fm.data.fashion_mnist{split = "train"}
local classes = data.classes
local K = #classes
local null = K + 1
local shape = data:image_shape()
local C, H, W = shape[1], shape[2], shape[3]

-- ---- model, optimiser, EMA, checkpoint -----------------------------------------------
fm.seed(opts.seed)
local ckpt_path = opts.out .. "/checkpoint.safetensors"
local run = require("fm.run").new(opts.out, opts, {resume = opts.resume})

local net = fm.nn.unet{channels = opts.channels, classes = K, in_channels = C}
local opt = fm.optim.adam(net, {lr = opts.lr})
local sched = fm.optim.scheduler(opt, fm.optim.schedule.cosine{total = opts.steps,
  warmup = math.max(1, opts.steps // 50), min_lr = opts.lr / 10})
local ema = fm.optim.ema(net:parameters(), opts.ema, {warmup = true})
local first = 1
if opts.resume then
  local f = io.open(ckpt_path)
  if not f then error("fashion_mnist: --resume: no checkpoint at " .. ckpt_path, 0) end
  f:close()
  local info = checkpoint.load(ckpt_path, {net = net, optimizer = opt, ema = ema})
  first = info.step + 1
  for _ = 1, info.step do sched:step() end
  print(("resumed from %s at step %d of %d"):format(ckpt_path, info.step, opts.steps))
end
print(("%s: %d images %dx%dx%d, %d classes; U-Net C = %d, %d parameters"):format(
  opts.data, data:size(), C, H, W, K, opts.channels, net:num_parameters()))

local function save_checkpoint(step)
  checkpoint.save(ckpt_path, {net = net, optimizer = opt, ema = ema, step = step,
                              meta = {seed = opts.seed, steps = opts.steps}})
end

-- ---- training --------------------------------------------------------------------
local path = fm.path.gaussian("linear")
local batches = data:batches{batch = opts.batch, seed = opts.seed + first, epochs = math.huge,
                             drop_last = true}
local last_save = fm.clock()

local function step(i)
  local x1, y = batches()
  local B = x1:size(1)
  local drop = fm.rand(B):lt(opts.p_uncond)
  y = fm.where(drop, fm.full({B}, null, "int64"), y)
  local x0 = fm.randn(B, C, H, W)
  local t = fm.rand(B)
  local tt = t:reshape(B, 1, 1, 1)
  local xt = x1 * tt + x0 * (1 - tt)
  local loss = ((net(xt, t, y) - (x1 - x0)) ^ 2):mean()
  opt:zero_grad()
  loss:backward()
  local norm = fm.optim.clip_grad_norm(net:parameters(), opts.clip)
  sched:step()
  opt:step()
  ema:update()
  if fm.clock() - last_save > opts.checkpoint_every then
    save_checkpoint(i)
    last_save = fm.clock()
  end
  return loss, norm
end

local train_s = 0
if first <= opts.steps then
  local ok, err = pcall(function()
    local norms = 0
    train_s = train.loop{steps = opts.steps - first + 1, run = run, label = "train",
      step = function(k)
        local loss, norm = step(first + k - 1)
        norms = norm
        return loss
      end,
      extra = function() return {grad_norm = norms} end}
  end)
  if not ok then
    if tostring(err):match("interrupted") then
      print("\ninterrupted: checkpoint kept in " .. ckpt_path .. "; --resume goes on from it")
      os.exit(130)
    end
    error(err, 0)
  end
  save_checkpoint(opts.steps)
end

-- ---- sampling ----------------------------------------------------------------------
-- sample with the EMA weights; the field works on flattened rows (n, C H W)
ema:copy_to()
run:save_model("model.safetensors", net)

-- classifier-free guidance with both labels in one call (fm.guided{null =})
local function model(x, t, y) return net(x, t, y) end

-- n images for labels y at weight w, in batches of --batch (record: frames)
local function generate(w, y, record)
  local n, out, frames = y:size(1), {}, nil
  for lo = 1, n, opts.batch do
    local m = math.min(opts.batch, n - lo + 1)
    local yb = y:narrow(1, lo, m)
    local x0 = fm.randn(m, C, H, W)
    local x1, traj = fm.no_grad(function()
      local f = fm.guided(model, w, yb, {null = null})
      if opts.sampler == "sde" then
        return fm.sample.sde(f, path, x0, {steps = 5 * opts.ode_steps, record = record,
          sigma = function(t) return opts.sigma * (1 - t) end})
      end
      return fm.ode.solve(f, x0, {method = opts.method, steps = opts.ode_steps, record = record})
    end)
    out[#out + 1] = x1
    if record and lo == 1 then frames = traj end
  end
  return fm.cat(out, 1):clamp(-1, 1), frames
end

-- labels: `per` of each class, in class order
local function labels(per)
  local t = {}
  for k = 1, K do for _ = 1, per do t[#t + 1] = k end end
  return fm.tensor(t, "int64")
end

local metrics
do
  local ok, m = pcall(require, "fm.image_metrics")
  local f = io.open(opts.classifier)
  if ok and f and opts.data == "fashion" then
    f:close()
    metrics = {mod = m, clf = m.load_classifier(opts.classifier)}
  else
    if f then f:close() end
    print("(no classifier at " .. opts.classifier .. ": run experiments/fashion_classifier.lua " ..
          "for FD and accuracy)")
  end
end

local t0 = fm.clock()
local per_w = {}
fm.seed(opts.seed + 7)
for _, w in ipairs(weights) do
  local grid = generate(w, labels(10))
  if opts.plots then
    run:plot("images", ("grid_w%g.png"):format(w), {images = (grid:reshape(10 * K, H, W) + 1) / 2,
      cols = 10, names = classes, title = ("guidance w = %g"):format(w)})
  end
  local row = {w = w}
  if metrics then
    local per = math.max(1, opts.acc_n // K)
    local x = generate(w, labels(per))
    row.accuracy = metrics.clf:accuracy(x, labels(per))
  end
  per_w[#per_w + 1] = row
  run:log(opts.steps, {guidance = w, accuracy = row.accuracy})
end

-- the evaluation set at the default weight
local per = math.max(1, opts.n // K)
local ye = labels(per)
local xe = generate(opts.w, ye)
local u8 = require("fm.image_metrics").to_uint8(xe)
run:save_npy("samples.npy", u8)
run:save_npy("labels.npy", ye)
local sample_s = fm.clock() - t0
local result = {train_s = train_s, sample_s = sample_s, n = xe:size(1), w = opts.w}
if metrics then
  local ev = metrics.mod.evaluate(xe, ye, {classifier = metrics.clf})
  for k, v in pairs(ev) do if type(v) == "number" then result[k] = v end end
  result.counts = ev.counts
end
run:log(opts.steps, result)

print(("\ntrained %d steps in %.0f s; sampled in %.0f s (%s)"):format(opts.steps, train_s,
  sample_s, opts.sampler == "sde" and ("Euler-Maruyama, %d steps"):format(5 * opts.ode_steps)
                                   or ("%s, %d steps"):format(opts.method, opts.ode_steps)))
if result.fd then
  print(("FD %.3f on classifier features (n = %d samples at w = %g against the 10k test " ..
         "images); floor %.3f (n train images against the same test set), ratio %.2f; " ..
         "n vs n real %.3f, 10k train vs 10k test %.3f"):format(result.fd, result.n, opts.w,
         result.fd_floor_ref, result.fd / result.fd_floor_ref, result.fd_floor_n,
         result.fd_floor_10k))
  print("accuracy on the asked labels (classifier):")
  for _, r in ipairs(per_w) do print(("  w = %-4g %.3f"):format(r.w, r.accuracy)) end
  local c = {}
  for k = 1, K do c[k] = ("%s %d"):format(classes[k], result.counts[k] or 0) end
  print("predicted classes of the evaluation set: " .. table.concat(c, ", "))
end

if opts.plots then
  local steps, losses = run:series("loss")
  run:plot("curve", "loss.png", {y = losses, x = steps, ylog = true, title = "CFM loss",
    xlabel = "step", ylabel = "loss"})
  -- the generation from noise to images: one image per class, 3 per row
  fm.seed(opts.seed + 11)
  local _, frames = generate(opts.w, labels(2), 12)
  local ims, times = {}, train.times(#train.frames_of(frames) - 1)
  for i, f in ipairs(train.frames_of(frames)) do
    ims[i] = (f:reshape(f:size(1), H, W):clamp(-1, 1) + 1) / 2
  end
  run:plot("images_gif", "generation.gif", {frames = ims, times = times, cols = 2,
    names = classes, title = ("w = %g"):format(opts.w), delay = 20})
  print("run directory: " .. opts.out)
end
run:close()
