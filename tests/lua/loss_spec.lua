-- fm.loss: values against sums written out by hand in plain Lua numbers,
-- gradients against finite differences (fm.gradcheck, float64), and
-- L_FM = L_CFM + C through the exact marginal field of a mixture.
local fm = require "fm"

local function T(rows) return fm.tensor(rows, "float64") end

-- a fixed batch: z, eps (3, 2) and one time per row
local Z = {{1.0, -2.0}, {0.5, 0.25}, {-1.5, 3.0}}
local E = {{0.3, 0.7}, {-1.2, 0.4}, {2.0, -0.5}}
local TS = {0.1, 0.5, 0.9}

-- a fixed "model": a Lua function of the [x, t] input, 2 x + t
local function model(inp)
  return inp:narrow(2, 1, 2) * 2 + inp:narrow(2, 3, 1)
end

-- mean_i w_i ||pred(x_i, t_i) - target_i||^2 in plain Lua
local function by_hand(xt_of, target_of, w_of)
  local s = 0
  for i = 1, 3 do
    local t = TS[i]
    for j = 1, 2 do
      local x = xt_of(i, j, t)
      local r = 2 * x + t - target_of(i, j, t, x)
      s = s + (w_of and w_of(t) or 1) * r * r
    end
  end
  return s / 3
end

local function opts(extra)
  local o = {t = T(TS), eps = T(E)}
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- float64 arithmetic on O(10) numbers: 1e-12 is ~1e3 ulps of the result
local TOL = 1e-12

describe("fm.loss values", function()
  it("cfm on the linear path: target z - eps", function()
    local l, ex = fm.loss.cfm(model, fm.path.gaussian("linear"), T(Z), opts())
    local want = by_hand(function(i, j, t) return t * Z[i][j] + (1 - t) * E[i][j] end,
                         function(i, j) return Z[i][j] - E[i][j] end)
    assert.is_true(math.abs(l:item() - want) < TOL, l:item() .. " vs " .. want)
    assert.are.same({3, 1}, ex.t:shape())
    assert.tensor_near(T{{0.1 * 1 + 0.9 * 0.3, 0.1 * -2 + 0.9 * 0.7}}, ex.xt:narrow(1, 1, 1), TOL)
  end)

  it("cfm on sqrt with a weight and opts.field", function()
    local path = fm.path.gaussian("sqrt")
    local l = fm.loss.cfm(nil, path, T(Z), opts{
      field = function(x, t) return x * 2 + t end,
      weight = function(t) return t * t + 1 end})
    -- alpha = t, beta = sqrt(1 - t): target z - eps / (2 sqrt(1 - t))
    local want = by_hand(
      function(i, j, t) return t * Z[i][j] + math.sqrt(1 - t) * E[i][j] end,
      function(i, j, t) return Z[i][j] - E[i][j] / (2 * math.sqrt(1 - t)) end,
      function(t) return t * t + 1 end)
    assert.is_true(math.abs(l:item() - want) < TOL, l:item() .. " vs " .. want)
  end)

  it("a number t and x0 from a coupling", function()
    local l = fm.loss.cfm(model, fm.path.gaussian("linear"), T(Z), {t = 0.5, x0 = T(E)})
    local s = 0
    for i = 1, 3 do for j = 1, 2 do
      local r = 2 * (0.5 * Z[i][j] + 0.5 * E[i][j]) + 0.5 - (Z[i][j] - E[i][j])
      s = s + r * r
    end end
    assert.is_true(math.abs(l:item() - s / 3) < TOL)
  end)

  it("dsm: target -eps / beta, default weight beta^2", function()
    local path = fm.path.gaussian("cosine")
    local l = fm.loss.dsm(model, path, T(Z), opts())
    local function b(t) return math.cos(math.pi * t / 2) end
    local want = by_hand(
      function(i, j, t) return math.sin(math.pi * t / 2) * Z[i][j] + b(t) * E[i][j] end,
      function(i, j, t) return -E[i][j] / b(t) end,
      function(t) return b(t) ^ 2 end)
    assert.is_true(math.abs(l:item() - want) < TOL, l:item() .. " vs " .. want)
    local l1 = fm.loss.dsm(model, path, T(Z), opts{weight = function() return 1 end})
    local want1 = by_hand(
      function(i, j, t) return math.sin(math.pi * t / 2) * Z[i][j] + b(t) * E[i][j] end,
      function(i, j, t) return -E[i][j] / b(t) end)
    assert.is_true(math.abs(l1:item() - want1) < 1e-10 * want1)
  end)

  it("noise: target eps; eps_to_score agrees with path:convert", function()
    local path = fm.path.gaussian("linear")
    local l, ex = fm.loss.noise(model, path, T(Z), opts())
    local want = by_hand(function(i, j, t) return t * Z[i][j] + (1 - t) * E[i][j] end,
                         function(i, j) return E[i][j] end)
    assert.is_true(math.abs(l:item() - want) < TOL)
    local s = fm.loss.eps_to_score(path, ex.pred, T(TS))
    assert.tensor_near(path:convert(ex.pred, ex.xt, T(TS), "eps", "score"), s, 1e-12)
    assert.tensor_near(-ex.pred / T{{0.9}, {0.5}, {0.1}}, s, 1e-12)
  end)

  it("stays finite at t = 0 and t = 1", function()
    for _, f in ipairs{fm.loss.cfm, fm.loss.dsm, fm.loss.noise} do
      for _, path in ipairs{fm.path.gaussian("linear"), fm.path.gaussian("sqrt"),
                            fm.path.gaussian("vp")} do
        local l = f(model, path, T(Z), {t = T{0, 1, 1}, eps = T(E)})
        assert.are.equal(1, l:isfinite():item())
      end
    end
  end)

  it("draws logit-normal times", function()
    -- logit(t) ~ N(0.5, 0.8^2): with n = 20000 the sample mean's standard
    -- error is 0.8 / sqrt(20000) = 0.0057; 5 standard errors = 0.028.
    fm.seed(11)
    local t = fm.loss.sample_time(20000, {logit_normal = {mean = 0.5, std = 0.8}}, "float64")
    local lg = (t / (1 - t)):log()
    assert.is_true(math.abs(lg:mean():item() - 0.5) < 0.03)
    assert.is_true(math.abs(lg:std():item() - 0.8) < 0.03)
    assert.has_error(function() fm.loss.sample_time(3, "beta") end)
  end)
end)

describe("fm.loss gradients", function()
  -- a linear model [x, t] W + b: gradcheck's default tolerances (eps 1e-6,
  -- atol 1e-5, rtol 1e-3; see autograd_spec) on a quadratic loss
  fm.seed(3)
  local W, b = fm.randn(3, 2, "float64"), fm.randn(1, 2, "float64")
  for _, name in ipairs{"cfm", "dsm", "noise"} do
    it(name .. " through a parameterised model", function()
      local path = fm.path.gaussian("cosine")
      local ok, msg = fm.gradcheck(function(w, bb)
        return (fm.loss[name](function(inp) return inp:mm(w) + bb end, path, T(Z),
                              opts{weight = function(t) return t + 1 end}))
      end, {W, b})
      assert(ok, msg)
    end)
  end

  it("backward fills the parameters' gradients", function()
    local w = fm.param(fm.zeros(3, 2, "float64"))
    local l = fm.loss.cfm(function(inp) return inp:mm(w) end, fm.path.gaussian("linear"),
                          T(Z), opts())
    l:backward()
    -- at w = 0: dL/dw = -2/3 sum_i [x_i, t_i]^T (z_i - eps_i)
    local g = w.grad:totable()
    local want = 0
    for i = 1, 3 do want = want + TS[i] * (Z[i][1] - E[i][1]) end
    assert.is_true(math.abs(g[3][1] - (-2 / 3) * want) < 1e-12)
  end)
end)

describe("L_FM = L_CFM + C", function()
  it("holds on a mixture through the exact marginal field", function()
    -- For any model v, L_FM(v) - L_CFM(v) = E||u_m||^2 - E||u_c||^2 does not
    -- depend on v, so on one fixed sample the difference of the two losses
    -- for models v1, v2 is D = 2 mean (v1 - v2).(u_c - u_m), whose
    -- expectation is 0 because E[u_c | x] = u_m. Tolerance: 5 standard
    -- errors of that mean, estimated from the same sample.
    fm.seed(5)
    local g = fm.data.gmm{means = {{-2, 0}, {2, 1}, {0, 3}}, stds = {0.4, 0.7, 0.5},
                          weights = {1, 2, 1}}
    local path = fm.path.gaussian("cosine")
    local m = path:marginal(g)
    local v1 = function(inp) return inp:narrow(2, 1, 2) * 0.5 + inp:narrow(2, 3, 1) end
    local v2 = function(inp)
      local x = inp:narrow(2, 1, 2)
      return (x * 1.3):sin() * 2 - inp:narrow(2, 3, 1) * 3
    end
    local parts, k = {}, 0
    local loss_fm, loss_cfm = {0, 0}, {0, 0}
    local times, per = {0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95}, 1000
    for _, t in ipairs(times) do
      local z = g:sample(per, "float64")
      local _, ex = fm.loss.cfm(v1, path, z, {t = t})
      local um = m(ex.xt, t)
      for i, v in ipairs{v1, v2} do
        local pred = v(fm.cat({ex.xt, ex.t}, 2))
        loss_fm[i] = loss_fm[i] + ((pred - um) ^ 2):sum():item()
        loss_cfm[i] = loss_cfm[i] + ((pred - ex.target) ^ 2):sum():item()
      end
      local p1, p2 = v1(fm.cat({ex.xt, ex.t}, 2)), v2(fm.cat({ex.xt, ex.t}, 2))
      k = k + 1
      parts[k] = (((p1 - p2) * (ex.target - um)):sum(2) * 2)
    end
    local all = fm.cat(parts, 1)
    local n = all:numel()
    local se = all:std():item() / math.sqrt(n)
    local c1 = (loss_fm[1] - loss_cfm[1]) / n
    local c2 = (loss_fm[2] - loss_cfm[2]) / n
    assert.is_true(math.abs((c1 - c2) - all:mean():item()) < 1e-9)
    assert.is_true(math.abs(c1 - c2) < 5 * se, ("C1 %g C2 %g se %g"):format(c1, c2, se))
    -- and the test has power: the two losses differ by far more than that
    assert.is_true(math.abs(loss_fm[1] - loss_fm[2]) / n > 20 * se)
    assert.is_true(c1 < -20 * se)   -- C = -E Var(u_c | x) < 0, clearly non-zero
  end)
end)
