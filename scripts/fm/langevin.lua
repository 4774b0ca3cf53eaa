--- fm.langevin — Langevin samplers of a density known by its score
-- (docs/math.md §1; engine/langevin.c).
--
--   x, info = fm.langevin(score, x0, {step = 1e-2, steps = 100,
--       method = "ula" | "mala", log_prob = fn, t = 1})
--   score(x, t) -> grad log p (x's shape); log_prob(x, t) -> (n,) log p up to
--   a constant (MALA). A marginal field path:marginal(gmm) may be passed as
--   score: its exact score (and log_prob for MALA) at level t run in C.
--   info.accepted: MALA acceptance rate.
--
--   x = fm.langevin.annealed(score, x0, {levels = {...}, step = 1e-2,
--       steps = 20, method =, log_prob =})
--   Annealed Langevin: score(x, level) for each noise level in turn (e.g.
--   path times from noisy to clean), step scaled per level by the user's
--   step (a number or a function of the level). With a marginal field,
--   levels are path times t (score of p_t).
local fm = require "fm"
local args = require "fm.args"

local M = {}

local function run(fname, score, x0, opts, level)
  args.check(fname, 1, "score", score, "callable|object", 4)
  args.check(fname, 2, "x0", x0, "tensor|table", 4)
  opts = args.opts(fname, 3, opts, nil, 4)
  x0 = fm.is_tensor(x0) and x0 or fm.tensor(x0)
  local method = opts.method or "ula"
  assert(method == "ula" or method == "mala", "langevin: method must be 'ula' or 'mala'")
  local lp = nil
  if method == "mala" then
    lp = opts.log_prob
    if lp == nil then
      assert(fm._integrate.is_native(score), "langevin: mala needs log_prob")
      lp = true
    end
  end
  local step = opts.step or 1e-2
  if type(step) == "function" then step = step(level) end
  local steps = opts.steps or 100
  local x, acc = fm._integrate.langevin(score, x0, step, steps, lp, level)
  local n = x:dim() > 0 and x:size(1) or 1
  return x, {accepted = method == "mala" and acc / math.max(1, n * steps) or nil}
end

function M.annealed(score, x0, opts)
  opts = args.opts("fm.langevin.annealed", 3, opts)
  local levels = assert(opts.levels, "langevin.annealed: levels = {...} required")
  local x, info = x0, nil
  for _, level in ipairs(levels) do
    x, info = run("fm.langevin.annealed", score, x, opts, level)
  end
  return x, info
end

return setmetatable(M, {__call = function(_, score, x0, opts)
  local t = type(opts) == "table" and opts.t or 1
  return run("fm.langevin", score, x0, opts, t)
end})
