-- langevin.lua — sampling a Gaussian mixture from its exact score alone
-- (docs/math.md §1): unadjusted Langevin (ULA, x <- x + h/2 grad log p + sqrt(h) xi)
-- is biased by its step h; MALA adds a Metropolis-Hastings test and is
-- exact for any h. Shows W2 to the target for both at several step sizes,
-- and how ULA spreads the modes as h grows.
--
--   fmlua experiments/langevin.lua [--steps 500] [--n 2000]
local fm = require "fm"
local train = require "fm.train"
local opts = require("fm.cli").parse(arg, {
  steps = {500, "Langevin steps", min = 1},
  n = {1000, "chains (points)", min = 2},
  seed = 1,
  plots = {true, "write the figures"},
  out = "runs/langevin",
}, "ULA and MALA on a 2-D Gaussian mixture with its exact score.")

fm.seed(opts.seed)
local run = require("fm.run").new(opts.out, opts)
local target = fm.data.gmm{means = {{-2, 0}, {2, 0}, {0, 2.5}}, stds = {0.5, 0.5, 0.5},
                           weights = {0.4, 0.4, 0.2}}
-- the score of p_1 of any path is the target's score; path:marginal gives
-- the C fast path (score and log p) to fm.langevin
local exact = fm.path.gaussian("linear"):marginal(target)
local ref = target:sample(3000)
local lim = train.limits(ref, 0.4)

print(string.format("%-6s %8s %10s %10s %8s", "method", "step", "W2", "floor", "accept"))
local best
for _, h in ipairs{0.02, 0.1, 0.4} do
  for _, method in ipairs{"ula", "mala"} do
    local x0 = fm.randn(opts.n, 2) * 3     -- overdispersed start
    local x, info = fm.langevin(exact, x0, {step = h, steps = opts.steps, method = method, t = 1})
    local m = train.evaluate(x, target, {n = math.min(opts.n, 2000)})
    local acc = info and info.accepted or 1
    print(string.format("%-6s %8.3g %10.4f %10.4f %8.3f", method, h, m.w2, m.w2_floor, acc))
    m.step_size, m.accept = h, acc
    run:log(0, {method = method, step_size = h, w2 = m.w2, w2_floor = m.w2_floor,
                w2_ratio = m.w2_ratio, accept = acc})
    if opts.plots then
      run:plot("scatter", string.format("%s_h%g.png", method, h), {x, reference = ref,
        labels = {method, "target"}, xlim = lim, ylim = lim,
        title = string.format("%s, step %g, %d steps: W2 %.3f", method, h, opts.steps, m.w2)})
    end
    if method == "mala" and h == 0.1 then best = x end
  end
end
run:save_npy("samples.npy", best)
run:close()
