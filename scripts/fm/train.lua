-- fm.train: the few pieces every experiment repeats.
--
--   train.loop{steps = n, run = run, step = function(i) return loss end,
--              log_every = 50, label = "train"}   -- progress bar + metrics.jsonl
--   local x1, frames = train.solve(field, x0, {method = "rk4", steps = 100, record = 8})
--   local m = train.evaluate(x1, target, {n = 2000})  -- w2/mmd/energy + floor
--   train.print_metrics(m)
--   train.dataset(name) -- fm.data.<name>{} by name
local fm = require "fm"
local args = require "fm.args"
local progress = require "fm.progress"
local dist = require "fm.dist"
local M = {}

-- The 2-D target sets an experiment may name with --data.
M.datasets = { "gaussians8", "moons", "circles", "checkerboard", "spirals", "swissroll",
               "pinwheel" }

function M.dataset(name)
  local ctor = fm.data[name]
  if not ctor then error("fm.train: unknown data set '" .. tostring(name) .. "'", 2) end
  return ctor{}
end

-- sample(target, n): an (n, d) float32 tensor of the target (data sets
-- return labels as a second value; dropped here).
function M.sample(target, n)
  local x = target:sample(n)
  return x
end

-- loop(o): o.steps, o.step(i) -> loss (a number or a 1-element tensor),
-- o.run (logs {loss} every o.log_every steps), o.label, o.extra(i) -> table
-- of further values to log, o.progress = "curve" (on a terminal, the loss
-- curve redrawn in place of the progress bar; scripts/fm/progress.lua,
-- docs/plots.md) with o.curve_height lines. Returns the wall time in seconds.
--
-- Bad numbers (docs/reliability.md, "Bad numbers"): a step is bad when its
-- loss is NaN or inf, when it diverged (|loss| > o.divergence *
-- max(|first loss|, 1); o.divergence = 1e10 by default, false to turn it
-- off), or when the optimiser or clip_grad_norm raised a "non-finite
-- gradient" error (the parameters were then not updated). o.nonfinite:
--   "error" (default)  stop with "fm.train: step N: ..." naming the step;
--   "skip"             go on with the next step (nothing logged for this one),
--                      and stop only after o.max_skips (100) bad steps in a
--                      row; use it with an optimiser made with nonfinite =
--                      "skip" or "error" (both leave the parameters alone).
-- o.checkpoint(i) is called after every o.checkpoint_every-th step (and
-- after the last) when that step was good, so the last checkpoint written is
-- always one of good parameters: a run stopped by a bad step keeps it.
local function bad_loss(loss, bound, factor)
  if loss ~= loss or loss == math.huge or loss == -math.huge then
    return "the loss is " .. (loss ~= loss and "nan" or tostring(loss)) .. " (non-finite)"
  end
  if bound and math.abs(loss) > bound then
    return string.format("the loss %.6g diverged (more than %g times max(|first loss|, 1) = %.6g)",
                         loss, factor, bound)
  end
end

function M.loop(o)
  args.check("fm.train.loop", 1, "o", o, "options")
  local policy = o.nonfinite or "error"
  if policy ~= "error" and policy ~= "skip" then
    error("fm.train.loop: nonfinite must be \"error\" or \"skip\", got " .. tostring(policy), 2)
  end
  local factor = o.divergence == nil and 1e10 or o.divergence
  local max_skips = o.max_skips or 100
  if o.progress ~= nil and o.progress ~= "bar" and o.progress ~= "curve" then
    error("fm.train.loop: progress must be \"bar\" or \"curve\", got " .. tostring(o.progress), 2)
  end
  local bar = progress.new(o.steps, { label = o.label or "train", curve = o.progress == "curve",
                                      curve_height = o.curve_height })
  local every = o.log_every or math.max(1, o.steps // 200)
  local ck_every = o.checkpoint and (o.checkpoint_every or math.max(1, o.steps // 10))
  local bound, skipped, in_row = nil, 0, 0
  local function stop(i, why)
    bar:done()
    error(string.format("fm.train: step %d: %s; training stopped%s", i, why,
                        o.checkpoint and " (the last checkpoint, of good parameters, is kept)" or ""), 0)
  end
  for i = 1, o.steps do
    local ok, loss = pcall(o.step, i)
    local why
    if not ok then
      if not tostring(loss):find("non%-finite") then bar:done(); error(loss, 0) end
      why = tostring(loss)
    else
      if type(loss) ~= "number" then loss = loss:item() end
      -- data-parallel: the loss of the whole batch, the same on every rank,
      -- so that every rank logs and judges the same number (docs/dist.md)
      loss = dist._mean_number(loss)
      why = bad_loss(loss, bound, factor)
      if not why and not bound and factor then bound = factor * math.max(math.abs(loss), 1) end
    end
    if why then
      if policy == "error" then stop(i, why) end
      skipped, in_row = skipped + 1, in_row + 1
      if in_row >= max_skips then stop(i, why .. string.format(" (%d bad steps in a row)", in_row)) end
    else
      in_row = 0
      if o.run and (i % every == 0 or i == 1 or i == o.steps) then
        local values = { loss = loss }
        if o.extra then for k, v in pairs(o.extra(i)) do values[k] = v end end
        o.run:log(i, values)
      end
      if ck_every and (i % ck_every == 0 or i == o.steps) then o.checkpoint(i) end
      bar:update(i, { loss = loss })
    end
  end
  M.skipped = skipped
  return bar:done(), skipped
end

-- frames(traj): a recorded trajectory as a Lua list of (n, d) tensors,
-- whether the solver gave a (T, n, d) tensor or a list.
local function frames_of(traj)
  if traj == nil then return nil end
  if type(traj) == "table" then return traj end
  local out = {}
  for i = 1, traj:shape()[1] do out[i] = traj[i] end
  return out
end
M.frames_of = frames_of

-- solve(field, x0, o): fm.ode.solve, returning x1 and the recorded frames
-- as a list of (n, d) tensors.
function M.solve(field, x0, o)
  args.check("fm.train.solve", 1, "field", field, "callable|object")
  args.check("fm.train.solve", 2, "x0", x0, "tensor|table")
  args.opts("fm.train.solve", 3, o)
  local x1, traj = fm.ode.solve(field, x0, o)
  return x1, frames_of(traj)
end

local evaluate_here -- below: the evaluation on this rank

-- evaluate(x, target, o): distances from x to a fresh target set, and the
-- floor (the same distances between two fresh target sets). o.n points
-- each (the first n of x). Exact W2 by optimal assignment, RBF-sum MMD,
-- energy distance. o.reference: a fixed target set to compare with instead
-- of a fresh one (so that several models are compared on the same set);
-- o.floors = k: the floor is the mean over k fresh sets against it, with its
-- standard deviation in *_floor_sd; k = 0: no floor (finite-sample distances
-- between two 8-gaussian sets of 1500 points vary by 2x from draw to draw).
function M.evaluate(x, target, o)
  -- data-parallel: rank 0 evaluates, the others receive its figures
  if dist.active() then
    return dist.broadcast_value(dist.is_root() and evaluate_here(x, target, o) or nil, 0)
  end
  return evaluate_here(x, target, o)
end

function evaluate_here(x, target, o)
  args.check("fm.train.evaluate", 1, "x", x, "tensor")
  o = args.opts("fm.train.evaluate", 3, o)
  local n = math.min(o.n or 2000, #x)
  local xs = x:narrow(1, 1, n)
  local a = o.reference and o.reference:narrow(1, 1, n) or M.sample(target, n)
  local m = { w2 = fm.metrics.w2(xs, a), mmd = (fm.metrics.mmd(xs, a)),
              energy = fm.metrics.energy(xs, a), n = n }
  local k, sum, sq = o.floors or 1, {}, {}
  for _ = 1, k do
    local b = M.sample(target, n)
    local f = { w2 = fm.metrics.w2(b, a), mmd = (fm.metrics.mmd(b, a)),
                energy = fm.metrics.energy(b, a) }
    for key, v in pairs(f) do
      sum[key] = (sum[key] or 0) + v
      sq[key] = (sq[key] or 0) + v * v
    end
  end
  for key, v in pairs(sum) do
    m[key .. "_floor"] = v / k
    if k > 1 then
      m[key .. "_floor_sd"] = math.sqrt(math.max(0, (sq[key] - v * v / k) / (k - 1)))
    end
  end
  if m.w2_floor then m.w2_ratio = m.w2 / m.w2_floor end
  return m
end

-- print_metrics(m, label): the model's figures next to the floor.
function M.print_metrics(m, label)
  print(string.format("%-10s %12s %12s %8s", label or "metric", "model", "floor", "ratio"))
  for _, k in ipairs { "w2", "mmd", "energy" } do
    local v, f = m[k], m[k .. "_floor"]
    print(string.format("%-10s %12.5g %12.5g %8.2f", k, v, f, f > 0 and v / f or 0 / 0))
  end
end

-- limits(x, pad): {lo, hi} boxes around the points, padded and squared.
function M.limits(x, pad)
  local t = x:detach():totable()
  local lo, hi = math.huge, -math.huge
  for _, p in ipairs(t) do
    for j = 1, 2 do
      local v = p[j]
      if v == v and v > -1e6 and v < 1e6 then
        if v < lo then lo = v end
        if v > hi then hi = v end
      end
    end
  end
  pad = pad or 0.1
  local c, r = (lo + hi) / 2, (hi - lo) / 2 * (1 + pad)
  return { c - r, c + r }
end

-- times(k): k + 1 evenly spaced times in [0, 1].
function M.times(k)
  local t = {}
  for i = 0, k do t[#t + 1] = i / k end
  return t
end

return M
