-- exact_field.lua — no training at all: for a Gaussian mixture target the
-- marginal vector field of a Gaussian path is known in closed form
-- (docs/math.md §3, path:marginal(gmm)). Integrating it from N(0, I) carries the
-- noise exactly onto the mixture. The figures show what a trained flow is
-- trying to learn: the field at several t, the trajectories, the density
-- p_t moving, and the samples landing on the target (W2 at the floor).
--
--   fmlua experiments/exact_field.lua [--schedule cosine] [--target mix3]
local fm = require "fm"
local train = require "fm.train"
local opts = require("fm.cli").parse(arg, {
  n = {2000, "points to transport", min = 2},
  steps = {100, "ODE steps", min = 1},
  method = {"rk4", "ODE method (euler until fm.ode lands)",
            choices = {"euler", "midpoint", "heun", "rk4", "dopri5"}},
  schedule = {"linear", "Gaussian path", choices = {"linear", "sqrt", "cosine", "vp", "polynomial"}},
  target = {"gaussians8", "the mixture", choices = {"gaussians8", "mix3"}},
  seed = 1,
  plots = {true, "write the figures"},
  out = "runs/exact_field",
}, "The exact marginal field of a Gaussian path carries N(0, I) onto a mixture (no training).")

fm.seed(opts.seed)
local run = require("fm.run").new(opts.out, opts)
local target = opts.target == "gaussians8" and fm.data.gaussians8{}
  or fm.data.gmm{means = {{-2, -1}, {2, -1}, {0, 2.5}}, stds = {0.3, 0.6, 0.45},
                 weights = {0.5, 0.3, 0.2}}
local path = fm.path.gaussian(opts.schedule)
local field = path:marginal(target)      -- field(x, t) -> velocity; :score, :log_prob

local t0 = fm.clock()
local x0 = fm.randn(opts.n, 2)
local x1, frames = train.solve(field, x0, {method = opts.method, steps = opts.steps, record = 8})
print(string.format("transported %d points in %d %s steps (%.2f s)", opts.n, opts.steps,
                    opts.method, fm.clock() - t0))

-- the transported points against fresh target samples, and the floor
local m = train.evaluate(x1, target, {n = math.min(opts.n, 2000)})
-- exact log-likelihood of the transported points vs of true samples
m.logp = target:log_prob(x1):mean():item()
m.logp_data = target:log_prob(target:sample(opts.n)):mean():item()
train.print_metrics(m, opts.schedule)
print(string.format("mean log p: transported %.4f, target samples %.4f", m.logp, m.logp_data))
run:log(opts.steps, m)
run:save_npy("samples.npy", x1)

if opts.plots then
  local lim = train.limits(target:sample(5000), 0.25)
  local ref = target:sample(3000)
  local times = train.times(#frames - 1)
  run:plot("scatter", "samples.png", {x1, reference = ref, labels = {"transported", "target"},
    title = "exact field, " .. opts.schedule .. " path: samples at t = 1", xlim = lim, ylim = lim})
  local sub = {}
  for i, f in ipairs(frames) do sub[i] = f:narrow(1, 1, math.min(300, opts.n)) end
  run:plot("trajectories", "trajectories.png", {fm.stack(sub, 1),
    title = "trajectories of the exact field", xlim = lim, ylim = lim})
  local snap, st = {}, {}
  for _, f in ipairs{0, 0.25, 0.5, 0.75, 1} do
    local i = 1 + math.floor(f * (#frames - 1) + 0.5)
    snap[#snap + 1] = frames[i]; st[#st + 1] = times[i]
  end
  run:plot("snapshots", "snapshots.png", {frames = snap, times = st, reference = ref,
    xlim = lim, ylim = lim, height = 300})
  for _, t in ipairs{0.25, 0.5, 0.9} do
    run:plot("quiver", string.format("field_t%.2f.png", t), {field = function(x, s) return field(x, s) end, t = t,
      xlim = lim, ylim = lim, grid = 24, title = string.format("exact u_t at t = %.2f", t)})
  end
  for _, t in ipairs{0.25, 0.5, 0.75} do
    run:plot("heatmap", string.format("density_t%.2f.png", t), {
      fn = function(x) return field:log_prob(x, t):exp() end, res = 160,
      xlim = lim, ylim = lim, colormap = "magma",
      title = string.format("exact density p_t at t = %.2f", t)})
  end
  run:plot("gif", "flow.gif", {frames = frames, times = times, xlim = lim, ylim = lim, delay = 25})
  print("figures in " .. opts.out)
end
run:close()
