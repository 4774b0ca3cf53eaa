-- fm.langevin: ULA, MALA and annealed Langevin sample a Gaussian mixture
-- known by its score (docs/math.md §1).
local fm = require "fm"

local N = 2000

-- mean + 5 sd of the energy distance between two fresh sets of g over 8
-- seeds (see ode_spec.lua for the margin).
local function threshold(g)
  local s, s2 = 0, 0
  for i = 1, 8 do
    fm.seed(700 + i)
    local e = fm.metrics.energy(g:sample(N), g:sample(N))
    s, s2 = s + e, s2 + e * e
  end
  return s / 8 + 5 * math.sqrt(math.max(0, s2 / 8 - (s / 8) ^ 2))
end

-- Overlapping components: Langevin mixes between them within a few hundred
-- steps of size 0.05 (the barrier is low), so the weights are reached.
local G = fm.data.gmm{means = {{-1, 0}, {1, 0.5}, {0, 1.5}}, stds = 0.7, weights = {1, 2, 1}}
local TH = threshold(G)

describe("fm.langevin", function()
  it("ULA with a Lua score samples the mixture", function()
    fm.seed(1)
    local calls = 0
    local score = function(x) calls = calls + 1; return G:score(x) end
    local x = fm.langevin(score, fm.randn({N, 2}) * 2, {step = 0.02, steps = 400})
    assert.equal(400, calls)  -- once per step for the whole batch
    local e = fm.metrics.energy(x, G:sample(N))
    assert.is_true(e < TH, ("energy %.5f >= %.5f"):format(e, TH))
  end)

  it("MALA (exact marginal at t = 1, and Lua log_prob) samples the mixture", function()
    local f = fm.path.gaussian("linear"):marginal(G)
    fm.seed(2)
    local x, info = fm.langevin(f, fm.randn({N, 2}) * 2, {method = "mala", step = 0.2, steps = 300})
    assert.is_true(info.accepted > 0.5 and info.accepted < 1)
    assert.is_true(fm.metrics.energy(x, G:sample(N)) < TH)
    fm.seed(3)
    local y, info2 = fm.langevin(function(z) return G:score(z) end, fm.randn({N, 2}) * 2,
      {method = "mala", step = 0.2, steps = 200, log_prob = function(z) return G:log_prob(z) end})
    assert.is_true(info2.accepted > 0.5)
    assert.is_true(fm.metrics.energy(y, G:sample(N)) < TH)
  end)

  it("MALA corrects a step too large for ULA", function()
    -- At step 1 ULA's stationary law is too wide: its total variance
    -- E|x - E x|^2 is ~30% above the mixture's (exact: sum_k w_k (|mu_k|^2 +
    -- 2 sd^2) - |sum_k w_k mu_k|^2 = 1.964375), while MALA's is exact. From
    -- N = 2000 points a total variance has a sampling sd of ~4% here, so a
    -- 15% margin is ~4 sd from both (measured over seeds 4..9: ULA +30..36%,
    -- MALA -3..+2%).
    local TV = 1.964375
    local function total_var(x)
      local c = x - x:mean(1)
      return (c * c):sum(2):mean():item()
    end
    fm.seed(4)
    local f = fm.path.gaussian("linear"):marginal(G)
    local u = fm.langevin(f, fm.randn({N, 2}), {step = 1, steps = 200})
    local m = fm.langevin(f, fm.randn({N, 2}), {method = "mala", step = 1, steps = 300})
    local vu, vm = total_var(u), total_var(m)
    assert.is_true(vu > 1.15 * TV, "ULA total variance " .. vu)
    assert.is_true(math.abs(vm / TV - 1) < 0.15, "MALA total variance " .. vm)
    assert.is_true(fm.metrics.energy(m, G:sample(N)) < TH)
    assert.has_error(function() fm.langevin(function(z) return z end, fm.zeros({2, 2}), {method = "mala"}) end)
  end)

  it("annealed Langevin over path times finds the weights of separated modes", function()
    local S = fm.data.gmm{means = {{-3, 0}, {3, 0}}, stds = 0.5, weights = {1, 3}}
    local f = fm.path.gaussian("cosine"):marginal(S)
    local path = fm.path.gaussian("cosine")
    local levels = {}
    for i = 1, 20 do levels[i] = i / 20 end
    fm.seed(5)
    -- step proportional to the level's component variance beta^2 + 0.25
    -- (Song & Ermon's annealing rule)
    local x = fm.langevin.annealed(f, fm.randn({N, 2}), {levels = levels, steps = 40,
      step = function(t) local _, b = path:schedule(t); return 0.1 * (b * b + 0.25) end})
    -- the fraction on the right mode: 0.75 within 4 standard errors
    local right = (x:narrow(2, 1, 1):gt(0)):double():mean():item()
    assert.is_true(math.abs(right - 0.75) < 4 * math.sqrt(0.75 * 0.25 / N), "fraction " .. right)
    assert.is_true(fm.metrics.energy(x, S:sample(N)) < threshold(S))
  end)
end)
