-- fashion_classifier.lua — the classifier behind the image metrics
-- (scripts/fm/image_metrics.lua, docs/images.md "Image metrics"): three 3x3
-- conv blocks with GroupNorm and SiLU at 28, 14 and 7 pixels (average
-- pooling between), a 128-feature layer, then 10 logits; cross-entropy by
-- log_softmax, Adam with warm-up and cosine decay. Trains on the 60000
-- Fashion-MNIST training images, prints the test accuracy, the confusion
-- matrix and the per-class accuracy, and saves the model where
-- fm.image_metrics.load_classifier() looks for it.
--
--   fmlua experiments/fashion_classifier.lua             # 6 epochs, ~92% test accuracy
--   fmlua experiments/fashion_classifier.lua --quick     # 1 epoch, a first look
local fm = require "fm"
local train = require "fm.train"
local im = require "fm.image_metrics"
local opts = require("fm.cli").parse(arg, {
  epochs = {6, "passes over the training images"},
  batch = {128, "batch size"},
  lr = {2e-3, "peak Adam learning rate (warm-up, then cosine decay to lr/50)"},
  quick = {false, "one epoch, for a first look"},
  train_n = {0, "train on the first N training images only (0: all 60000)"},
  test_n = {0, "evaluate on the first N test images only (0: all 10000)"},
  data = {"", "directory of the Fashion-MNIST files (default: Debian's dataset-fashion-mnist)"},
  seed = 1,
  plots = {true, "write the curves"},
  out = "runs/fashion_classifier",
}, "A small CNN classifier on Fashion-MNIST; its features and predictions score generated images.")

local epochs = opts.quick and 1 or opts.epochs
fm.seed(opts.seed)
local run = require("fm.run").new(opts.out, opts)
local dir = opts.data ~= "" and opts.data or nil
local full = fm.data.fashion_mnist{split = "train", path = dir}
local test = fm.data.fashion_mnist{split = "test", path = dir}
local classes = full.classes

local function first(ds, n)
  if n <= 0 or n >= #ds then return ds end
  return fm.data.images(ds:images():narrow(1, 1, n), ds:labels():narrow(1, 1, n),
                        {classes = ds.classes})
end
local data = first(full, opts.train_n)
local tn = (opts.test_n > 0 and opts.test_n < #test) and opts.test_n or #test
local test_x, test_y = test:images():narrow(1, 1, tn), test:labels():narrow(1, 1, tn)

local net = im.classifier()
local opt = fm.optim.adam(net:parameters(), {lr = opts.lr})
local per_epoch = math.max(1, #data // opts.batch)
local steps = epochs * per_epoch
local sched = fm.optim.schedule.cosine{total = steps, warmup = math.min(200, steps // 10),
                                       min_lr = opts.lr / 50}
print(string.format("%s: %d parameters; %d training images, %d epochs of %d steps (batch %d)",
                    "fashion_classifier", net:num_parameters(), #data, epochs, per_epoch, opts.batch))

local batches = data:batches{batch = opts.batch, seed = opts.seed, epochs = epochs,
                             drop_last = true}
local right, seen = 0, 0
local acc_steps, train_acc, test_acc = {}, {}, {}

local function step(i)
  opt:set_lr(sched(i, opts.lr))
  local x, y = batches()
  local logits = net(x)
  local loss = im.cross_entropy(logits, y)
  opt:zero_grad()
  loss:backward()
  opt:step()
  right = right + logits:detach():argmax(2):eq(y):sum():item()
  seen = seen + #y
  if i % per_epoch == 0 then -- end of an epoch: running train accuracy, test accuracy
    local e = i // per_epoch
    local ta = net:accuracy(test_x, test_y)
    acc_steps[e], train_acc[e], test_acc[e] = i, right / seen, ta
    run:log(i, {epoch = e, train_accuracy = right / seen, test_accuracy = ta})
    right, seen = 0, 0
  end
  return loss
end

local seconds = train.loop{steps = steps, run = run, step = step, label = "train",
                           extra = function() return {lr = opt:get_lr()} end}
run:save_model("classifier.safetensors", net)

-- the figures on the test images
local t0 = fm.clock()
local conf = net:confusion(test_x, test_y)
local eval_s = fm.clock() - t0
local correct, total, final = 0, 0, {train_s = seconds, epochs = epochs}
local lines = {string.format("%-14s %s   %s", "true \\ pred",
  table.concat((function() local t = {} for j = 1, 10 do t[j] = string.format("%5d", j) end return t end)()),
  "accuracy")}
for i = 1, 10 do
  local row, n = {}, 0
  for j = 1, 10 do row[j] = string.format("%5d", conf[i][j]); n = n + conf[i][j] end
  correct, total = correct + conf[i][i], total + n
  local a = n > 0 and conf[i][i] / n or 0 / 0
  final["accuracy_" .. i] = a
  lines[#lines + 1] = string.format("%2d %-11s %s   %6.1f%%", i, classes[i]:sub(1, 11),
                                    table.concat(row), 100 * a)
end
final.test_accuracy = correct / total
run:log(steps, final)
run:write("confusion.txt", "confusion matrix on " .. total .. " test images (rows: true class, "
          .. "columns: predicted)\n" .. table.concat(lines, "\n") .. "\n")
print(table.concat(lines, "\n"))
print(string.format("test accuracy %.2f%% (%d / %d); trained %d steps in %.1f s; %d test images "
                    .. "classified in %.2f s", 100 * final.test_accuracy, correct, total, steps,
                    seconds, total, eval_s))

if opts.plots then
  local s, l = run:series("loss")
  run:plot("curve", "loss.png", {y = l, x = s, ylog = true, title = "cross-entropy (train batches)",
    xlabel = "step", ylabel = "loss"})
  local e = {}
  for k = 1, #acc_steps do e[k] = k end
  if #e > 0 then
    run:plot("curve", "accuracy.png", {series = {{name = "train (running)", x = e, y = train_acc},
      {name = "test", x = e, y = test_acc}}, title = "accuracy per epoch",
      xlabel = "epoch", ylabel = "accuracy"})
  end
end
print("run directory: " .. opts.out)
run:close()
