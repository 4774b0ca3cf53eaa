-- Paths at the Lua level: the exact marginal field of a mixture against a
-- Monte-Carlo posterior average, its score against finite differences of
-- its log density, schedule methods, conversions, and how often a Lua
-- schedule is called.
local fm = require "fm"

local G = {means = {{-2, 0}, {2, 1}, {0, 3}}, stds = {0.5, 0.8, 0.6}, weights = {1, 2, 1}}

describe("path:marginal(gmm)", function()
  for _, name in ipairs{"linear", "cosine", "vp"} do
    it(name .. ": velocity equals E[u(x|z) | x] (self-normalised importance sampling)", function()
      -- z_i ~ gmm, weights w_i = p_t(x | z_i) = N(x; alpha z_i, beta^2 I):
      -- sum w_i u(x|z_i) / sum w_i -> E[u(x|z) | x]. Its standard error is
      -- sqrt(sum w_i^2 (u_i - est)^2) / sum w_i (the delta method); we allow
      -- 5 of them plus 1e-3 for the estimator's O(1/ESS) bias.
      fm.seed(21)
      local g = fm.data.gmm(G)
      local path = fm.path.gaussian(name)
      local m = path:marginal(g)
      local M = 40000
      for _, t in ipairs{0.2, 0.5, 0.8} do
        local a, b = path:alpha(t), path:beta(t)
        local z0 = g:sample(3, "float64")
        local x = path:sample(z0, t, fm.randn(3, 2, "float64"))   -- points from p_t
        local exact = m(x, t):totable()
        local z = g:sample(M, "float64")
        for i = 1, 3 do
          local xi = x:narrow(1, i, 1):expand(M, 2):clone()
          local lw = -((xi - z * a) ^ 2):sum(2) / (2 * b * b)
          local w = (lw - lw:max():item()):exp():reshape(M, 1)
          local u = path:velocity(xi, z, t)
          local sw = w:sum():item()
          local est = (u * w):sum(1) / sw
          local se = (((u - est) ^ 2) * (w * w)):sum(1):sqrt() / sw
          local e, s = est:totable(), se:totable()
          for j = 1, 2 do
            assert.is_true(math.abs(e[j] - exact[i][j]) < 5 * s[j] + 1e-3,
              ("%s t=%g point %d: MC %g +- %g exact %g"):format(name, t, i, e[j], s[j], exact[i][j]))
          end
        end
      end
    end)
  end

  it("score is the gradient of log_prob (central differences, float64)", function()
    -- h = 1e-5: truncation h^2 |f'''| / 6 ~ 1e-10, rounding 1e-16 |f| / h
    -- ~ 1e-10; 1e-6 leaves room for |f'''| up to 1e4.
    fm.seed(22)
    local g = fm.data.gmm(G)
    for _, name in ipairs{"linear", "sqrt", "cosine"} do
      local m = fm.path.gaussian(name):marginal(g)
      local x = fm.randn(6, 2, "float64") * 2
      for _, t in ipairs{0, 0.3, 0.7, 0.95} do
        local s = m:score(x, t)
        local h = 1e-5
        for j = 1, 2 do
          local e = fm.zeros(1, 2, "float64")
          e[1][j] = h
          local fd = (m:log_prob(x + e, t) - m:log_prob(x - e, t)) / (2 * h)
          assert.tensor_near(fd, s:narrow(2, j, 1):reshape(6), 1e-6)
        end
      end
    end
  end)

  it("is finite at t = 0 and t = 1", function()
    local g = fm.data.gmm(G)
    local x = fm.randn(5, 2, "float64")
    for _, name in ipairs{"linear", "sqrt", "cosine", "vp", "polynomial"} do
      local m = fm.path.gaussian(name):marginal(g)
      for _, t in ipairs{0, 1} do
        assert.are.equal(10, m(x, t):isfinite():sum():item())
      end
    end
  end)

  it("takes one time per row, each row as with that time alone", function()
    local m = fm.path.gaussian("cosine"):marginal(fm.data.gmm(G))
    local x = fm.randn(5, 2, "float64")
    local times = {0, 0.2, 0.5, 0.9, 1}
    local t = fm.tensor(times, "float64")
    for _, what in ipairs{"velocity", "score", "log_prob"} do
      for _, tt in ipairs{t, t:reshape(5, 1)} do
        local all = m[what](m, x, tt)
        for i = 1, 5 do
          local one = m[what](m, x:narrow(1, i, 1), times[i])
          assert.tensor_near(one, all:narrow(1, i, 1), 0)   -- the same call per row
        end
      end
    end
    local ok, err = pcall(m, x, fm.zeros(4))
    assert.is_false(ok)
    assert.truthy(tostring(err):find("t must be a number or one time per row of x, (5) or " ..
                                     "(5, 1), got shape (4,)", 1, true), err)
    assert.has_error(function() m:score(x, fm.zeros(5, 2)) end)
  end)
end)

describe("schedule methods", function()
  local pi = math.pi
  local ref = {
    linear = function(t) return t, 1 - t, 1, -1 end,
    sqrt = function(t) return t, math.sqrt(1 - t), 1, -0.5 / math.sqrt(1 - t) end,
    cosine = function(t)
      return math.sin(pi * t / 2), math.cos(pi * t / 2), pi / 2 * math.cos(pi * t / 2),
        -pi / 2 * math.sin(pi * t / 2)
    end,
    polynomial = function(t) return t ^ 2, 1 - t ^ 2, 2 * t, -2 * t end,
    vp = function(t)
      local s = 1 - t
      local T = s * 0.1 + s * s * (20 - 0.1) / 2
      local a = math.exp(-T / 2)
      local da = a * (0.1 + s * (20 - 0.1)) / 2
      local b = math.sqrt(1 - a * a)
      return a, b, da, -a * da / b
    end,
  }
  for name, f in pairs(ref) do
    it(name .. ": alpha, beta, dalpha, dbeta on numbers and tensors", function()
      local p = fm.path.gaussian(name)
      local ts = {0.1, 0.25, 0.5, 0.9}
      local tt = fm.tensor(ts, "float64")
      local got = {p:alpha(tt):totable(), p:beta(tt):totable(), p:dalpha(tt):totable(),
                   p:dbeta(tt):totable()}
      for i, t in ipairs(ts) do
        local want = {f(t)}
        local num = {p:alpha(t), p:beta(t), p:dalpha(t), p:dbeta(t)}
        for k = 1, 4 do
          -- closed forms in double: 1e-12 relative
          assert.is_true(math.abs(num[k] - want[k]) <= 1e-12 * (1 + math.abs(want[k])),
            ("%s %d at %g: %g vs %g"):format(name, k, t, num[k], want[k]))
          assert.are.equal(num[k], got[k][i])
        end
      end
      assert.are.same({2, 1}, p:alpha(fm.tensor({{0.1}, {0.2}})):shape())
      assert.has_error(function() p:beta(1.5) end)
    end)
  end
end)

describe("conversions", function()
  it("velocity -> score -> velocity and eps -> data -> eps are the identity", function()
    fm.seed(23)
    local z, eps = fm.randn(5, 2, "float64"), fm.randn(5, 2, "float64")
    local t = fm.tensor({{0.05}, {0.3}, {0.5}, {0.7}, {0.95}}, "float64")
    for _, name in ipairs{"linear", "cosine", "sqrt"} do
      local p = fm.path.gaussian(name)
      local x = p:sample(z, t, eps)
      local u = p:velocity_eps(z, eps, t)
      local s = p:convert(u, x, t, "velocity", "score")
      -- the score of the conditional path is -eps / beta
      assert.tensor_near(-eps / p:beta(t), s, 1e-9)
      assert.tensor_near(u, p:convert(s, x, t, "score", "velocity"), 1e-9)
      assert.tensor_near(z, p:convert(eps, x, t, "eps", "data"), 1e-9)
      assert.tensor_near(eps, p:convert(z, x, t, "data", "eps"), 1e-9)
      assert.tensor_near(u, p:velocity(x, z, t), 1e-9)
    end
  end)
end)

describe("Lua schedules", function()
  it("are evaluated once per distinct time, not once per row", function()
    local calls = {alpha = 0, beta = 0, dalpha = 0, dbeta = 0}
    local seen = {}
    local function counted(k, f) return function(t) calls[k] = calls[k] + 1; seen[t] = true; return f(t) end end
    local p = fm.path.gaussian{alpha = counted("alpha", function(t) return t * t end),
                               beta = counted("beta", function(t) return 1 - t * t end),
                               dalpha = counted("dalpha", function(t) return 2 * t end),
                               dbeta = counted("dbeta", function(t) return -2 * t end)}
    -- 300 rows, 3 distinct times
    local tv = {}
    for i = 1, 300 do tv[i] = ({0.2, 0.5, 0.7})[i % 3 + 1] end
    local t = fm.tensor(tv, "float64"):reshape(300, 1)
    local z, eps = fm.randn(300, 2, "float64"), fm.randn(300, 2, "float64")
    for _, f in ipairs{function() return p:sample(z, t, eps) end,
                       function() return p:velocity_eps(z, eps, t) end,
                       function() return p:velocity(z, eps, t) end,
                       function() return p:score(z, eps, t) end,
                       function() return p:alpha(t) end} do
      for k in pairs(calls) do calls[k] = 0 end
      local out = f()
      for k, c in pairs(calls) do assert.is_true(c <= 3, k .. " called " .. c .. " times") end
      assert.is_true(calls.alpha == 3)
      -- and the values are right: alpha = t^2
      if out:shape()[2] == 2 then
        assert.are.equal(600, out:isfinite():sum():item())
      else
        assert.tensor_near(t * t, out, 1e-15)
      end
    end
    -- without derivatives: the central differences add t +- h, still a
    -- fixed number of calls per distinct time (here <= 3 x 3)
    calls.alpha = 0
    local q = fm.path.gaussian{alpha = counted("alpha", function(s) return s end),
                               beta = function(s) return 1 - s end}
    calls.alpha = 0
    q:velocity(z, eps, t)
    assert.is_true(calls.alpha <= 9, "alpha called " .. calls.alpha .. " times")
    -- the values agree with the same schedule given by name
    assert.tensor_near(fm.path.gaussian("linear"):velocity(z, eps, t), q:velocity(z, eps, t), 1e-8)
  end)
end)
