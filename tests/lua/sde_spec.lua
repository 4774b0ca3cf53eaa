-- fm.sde.solve, Brownian motion, Ornstein–Uhlenbeck (docs/math.md §1) and the
-- extension-trick SDE sampler fm.sample.sde (docs/math.md §5).
local fm = require "fm"

describe("fm.sde.solve", function()
  -- dX = -theta X dt + sigma dW from x0 = 1: exact law at t,
  -- N(e^{-theta t}, sigma^2 (1 - e^{-2 theta t}) / (2 theta)). Tolerance:
  -- 4 standard errors (mean: sqrt(var / n); variance: var sqrt(2 / (n - 1)))
  -- plus the Euler–Maruyama bias, computed exactly from its recursions
  -- m' = (1 - theta h) m, v' = (1 - theta h)^2 v + sigma^2 h (O(h), here
  -- about 1e-3, below the standard errors).
  for _, method in ipairs{"euler_maruyama", "heun"} do
    it("OU mean and variance match the exact law: " .. method, function()
      fm.seed(3)
      local theta, sigma, n, steps, t = 1.5, 0.8, 20000, 200, 1
      local ou = fm.sde.ou{theta = theta, sigma = sigma}
      local x1, traj = fm.sde.solve(ou.drift, ou.diffusion, fm.ones({n, 1}, "float64"),
        {method = method, steps = steps, t1 = t, record = 3})
      local h, m, v = t / steps, 1, 0
      for _ = 1, steps do m, v = (1 - theta * h) * m, (1 - theta * h) ^ 2 * v + sigma ^ 2 * h end
      local em, ev = ou.mean(1, t), ou.var(t)
      local bias_m, bias_v = math.abs(m - em), math.abs(v - ev)
      local mean, var = x1:mean():item(), x1:var():item()
      assert.is_true(math.abs(mean - em) < 4 * math.sqrt(ev / n) + bias_m,
                     ("mean %.5f vs %.5f"):format(mean, em))
      assert.is_true(math.abs(var - ev) < 4 * ev * math.sqrt(2 / (n - 1)) + bias_v,
                     ("var %.5f vs %.5f"):format(var, ev))
      assert.same({3, n, 1}, traj:shape())
      assert.tensor_near(fm.ones({n, 1}, "float64"), traj[1], 0)
      local mid = traj[2]
      assert.is_true(math.abs(mid:var():item() - ou.var(0.5)) < 4 * ou.var(0.5) * math.sqrt(2 / n) + 2e-3)
    end)
  end

  it("Brownian motion: independent increments of variance sigma^2 dt", function()
    fm.seed(4)
    local n = 20000
    local w, traj = fm.sde.brownian(n, 2, {steps = 50, t1 = 2, sigma = 0.5, record = {1, 2}})
    local v = 0.25 * 2
    assert.is_true(math.abs(w:var():item() - v) < 4 * v * math.sqrt(2 / (2 * n)))
    -- W_2 - W_1 is independent of W_1: sample correlation within 4 / sqrt(n)
    local a, b = traj[1]:narrow(2, 1, 1), (traj[2] - traj[1]):narrow(2, 1, 1)
    local corr = ((a - a:mean()) * (b - b:mean())):mean():item() / (a:std():item() * b:std():item())
    assert.is_true(math.abs(corr) < 4 / math.sqrt(n))
  end)

  it("diffusion as a function of t; seeded; errors raised", function()
    local x0 = fm.zeros({100, 2})
    local calls = 0
    local g = function(t) calls = calls + 1; return 1 - t end
    fm.seed(9)
    local a = fm.sde.solve(function(x) return x * 0 end, g, x0, {steps = 10})
    fm.seed(9)
    local b = fm.sde.solve(function(x) return x * 0 end, g, x0, {steps = 10})
    assert.tensor_near(a, b, 0)
    assert.equal(20, calls)
    assert.has_error(function() fm.sde.solve(function(x) return x end, -1, x0, {}) end)
    assert.has_error(function() fm.sde.solve(function(x) return x end, function() error("no", 0) end, x0, {}) end, "no")
    assert.has_error(function() fm.sde.solve(function(x) return x end, 1, x0, {method = "milstein"}) end)
  end)
end)

describe("fused fields in the SDE and Langevin solvers", function()
  it("a fused MLP drift / score gives the same result as its Lua twin", function()
    fm.seed(12)
    local p = {fm.randn({3, 8}) / 2, fm.randn({8}) / 4, fm.randn({8, 2}) / 3, fm.randn({2}) / 4}
    local f = fm.field.mlp{params = p, act = "tanh"}
    local lua = function(x, t) return f(x, t) end
    local x0 = fm.randn({64, 2})
    for _, m in ipairs{"euler_maruyama", "heun"} do
      fm.seed(13)
      local a = fm.sde.solve(f, 0.3, x0, {steps = 10, method = m})
      fm.seed(13)
      local b = fm.sde.solve(lua, 0.3, x0, {steps = 10, method = m})
      assert.tensor_near(b, a, 1e-5)
    end
    fm.seed(14)
    local a = fm.langevin(f, x0, {step = 0.01, steps = 10})
    fm.seed(14)
    local b = fm.langevin(lua, x0, {step = 0.01, steps = 10})
    assert.tensor_near(b, a, 1e-5)
  end)
end)

describe("fm.sample.sde (extension trick) with exact marginal fields", function()
  local G = fm.data.gmm{means = {{-2, 0}, {2, 1}, {0, 2.5}}, stds = {0.5, 0.4, 0.6},
                        weights = {1, 2, 1}}
  local N = 2000
  -- Same floor and margin as ode_spec.lua (mean + 5 sd of the energy
  -- distance between two fresh mixture sets over 8 seeds). Euler–Maruyama
  -- with 200 steps measured 1.1-1.4x the floor mean at sigma 0.3 to 2.
  local s, s2 = 0, 0
  for i = 1, 8 do
    fm.seed(500 + i)
    local e = fm.metrics.energy(G:sample(N), G:sample(N))
    s, s2 = s + e, s2 + e * e
  end
  local threshold = s / 8 + 5 * math.sqrt(math.max(0, s2 / 8 - (s / 8) ^ 2))

  for _, name in ipairs{"linear", "sqrt", "cosine", "vp", "polynomial"} do
    it("reproduces the mixture at sigma 0.5 and 1.5 (and a sigma(t)): " .. name, function()
      local p = fm.path.gaussian(name)
      local f = p:marginal(G)
      for _, sig in ipairs{0.5, 1.5, function(t) return 2 * (1 - t) end} do
        fm.seed(21)
        local x = fm.sample.sde(f, p, fm.randn({N, 2}), {sigma = sig, steps = 200})
        local e = fm.metrics.energy(x, G:sample(N))
        assert.is_true(e < threshold, ("%s: energy %.5f >= %.5f"):format(name, e, threshold))
      end
    end)
  end

  it("stochastic Heun and a given score model work too", function()
    local p = fm.path.gaussian("cosine")
    local f = p:marginal(G)
    fm.seed(22)
    local x = fm.sample.sde(f, p, fm.randn({N, 2}), {sigma = 1, steps = 100, method = "heun",
      score = function(y, t) return f:score(y, t) end})
    assert.is_true(fm.metrics.energy(x, G:sample(N)) < threshold)
  end)

  it("the check can fail: dropping the score term at sigma = 1.5 is far off", function()
    local p = fm.path.gaussian("linear")
    local f = p:marginal(G)
    fm.seed(21)
    local x = fm.sde.solve(f, 1.5, fm.randn({N, 2}), {steps = 200})
    assert.is_true(fm.metrics.energy(x, G:sample(N)) > 4 * threshold)
  end)
end)
