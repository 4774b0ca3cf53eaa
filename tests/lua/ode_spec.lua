-- fm.ode.solve and fm.sample.ode (docs/math.md §1, §5). The convergence orders of
-- every method are measured in tests/engine/test_ode.c; here: the Lua API,
-- orders through the binding, and the exact GMM marginal field carrying
-- N(0, I) onto the mixture for every named schedule.
local fm = require "fm"

-- x' = -x + sin(t) with x(0) = 1: x(t) = 1.5 e^{-t} + (sin t - cos t) / 2.
local function rhs(x, t) return x * -1 + math.sin(t) end
local function exact(t) return 1.5 * math.exp(-t) + (math.sin(t) - math.cos(t)) / 2 end

-- x' = A x, A = [[-0.5, 2], [-2, -0.5]] (rows as points: x' = x A^T):
-- x(t) = e^{-t/2} (x0 rotated by -2t).
local AT = fm.tensor({{-0.5, -2}, {2, -0.5}}, "float64")
local function err(method, steps)
  local x0 = fm.tensor({{1, 0.5}}, "float64")
  local x1 = fm.ode.solve(function(x) return x:mm(AT) end, x0,
                          {method = method, steps = steps, t1 = 2, adaptive = false})
  local e, c, s = math.exp(-1), math.cos(4), math.sin(4)
  local ex = fm.tensor({{e * (c * 1 + s * 0.5), e * (-s * 1 + c * 0.5)}}, "float64")
  return (x1 - ex):norm():item()
end

-- The mixture of the sampling tests and the floor of the energy distance.
local G = fm.data.gmm{means = {{-2, 0}, {2, 1}, {0, 2.5}}, stds = {0.5, 0.4, 0.6},
                      weights = {1, 2, 1}}
local N = 2000

-- Energy distance between two fresh mixture sets of N points over 8 seeds:
-- its mean and sd (measured: 0.0013 +- 0.0008; the distribution is skewed
-- right). A correct sampler's distance to fresh samples has the same
-- distribution plus the discretisation bias (measured means 1.1-1.4x the
-- floor at 50 rk4 / 200 Euler–Maruyama steps). Margin: floor mean + 5 sd
-- (about 0.005); a broken sampler lands far above (the checks below show
-- a wrong schedule or a missing score term gives > 0.02).
local function floor_threshold()
  local s, s2, k = 0, 0, 8
  for i = 1, k do
    fm.seed(500 + i)
    local e = fm.metrics.energy(G:sample(N), G:sample(N))
    s, s2 = s + e, s2 + e * e
  end
  local m = s / k
  return m + 5 * math.sqrt(math.max(0, s2 / k - m * m)), m
end
_G.FM_TEST_FLOOR = _G.FM_TEST_FLOOR or {floor_threshold()}

describe("fm.ode.solve", function()
  it("measured orders through the binding: 1, 2, 2, 4, 5 (+-0.3)", function()
    local cases = {euler = {1, 400}, midpoint = {2, 100}, heun = {2, 100}, rk4 = {4, 40},
                   dopri5 = {5, 16}}
    for m, c in pairs(cases) do
      local p = math.log(err(m, c[2]) / err(m, 2 * c[2]), 2)
      assert.is_true(math.abs(p - c[1]) < 0.3, m .. " order " .. p)
    end
  end)

  it("adaptive dopri5 meets its tolerance and reports its work", function()
    local x1, traj, st = fm.ode.solve(rhs, fm.tensor({{1}}, "float64"),
      {method = "dopri5", t1 = 2, rtol = 1e-8, atol = 1e-10, record = {0.5, 2}})
    assert.is_true(math.abs(x1:item() - exact(2)) < 1e-6)
    assert.is_true(math.abs(traj[1]:item() - exact(0.5)) < 1e-6)
    assert.equal(6 * (st.accepted + st.rejected) + 2, st.nfe)
    assert.is_true(st.accepted > 3)
    assert.has_error(function()
      fm.ode.solve(rhs, fm.tensor({{1}}, "float64"), {method = "dopri5", rtol = 1e-12,
        atol = 1e-14, max_steps = 3})
    end)
  end)

  it("records k evenly spaced times or a list; time lists; backward", function()
    local x0 = fm.tensor({{1}, {2}}, "float64")
    local x1, traj, st = fm.ode.solve(function(x) return x end, x0,
      {method = "rk4", steps = 40, record = 5})
    assert.same({5, 2, 1}, traj:shape())
    assert.tensor_near({0, 0.25, 0.5, 0.75, 1}, st.times, 1e-15)
    assert.tensor_near(x0, traj[1], 0)
    assert.tensor_near(x0 * math.exp(0.75), traj[4], 1e-6)
    assert.tensor_near(traj[5], x1, 0)
    -- a record time off the grid is hit exactly (the step is split)
    local _, tr = fm.ode.solve(function(x) return x end, x0,
      {method = "rk4", steps = 10, record = {0.33}})
    assert.tensor_near(x0 * math.exp(0.33), tr[1], 1e-6)
    -- explicit non-uniform grid
    local y = fm.ode.solve(function(x) return x end, x0,
      {method = "rk4", times = {0, 0.1, 0.3, 0.6, 1}})
    assert.tensor_near(x0 * math.exp(1), y, 1e-3)
    -- backward: from t = 1 to 0 inverts the flow
    local back = fm.ode.solve(function(x) return x end, x0 * math.exp(1),
      {method = "rk4", t0 = 1, t1 = 0, steps = 50})
    assert.tensor_near(x0, back, 1e-6)
  end)

  it("calls a Lua field once per stage with the whole batch", function()
    local calls, rows = 0, {}
    local f = function(x, t) calls = calls + 1; rows[#rows + 1] = x:size(1); return x * 0 end
    local _, _, st = fm.ode.solve(f, fm.zeros({7, 3}), {method = "rk4", steps = 5})
    assert.equal(20, calls)
    assert.equal(20, st.nfe)
    for _, r in ipairs(rows) do assert.equal(7, r) end
  end)

  it("raises the field's errors and shape mistakes, with the solver cleaned up", function()
    local x0 = fm.zeros({4, 2})
    assert.has_error(function() fm.ode.solve(function() error("boom", 0) end, x0, {}) end, "boom")
    assert.has_error(function() fm.ode.solve(function(x) return x:narrow(1, 1, 2) end, x0, {}) end)
    assert.has_error(function() fm.ode.solve(function() return 3 end, x0, {}) end)
    assert.has_error(function() fm.ode.solve(function(x) return x end, x0, {method = "rk5"}) end)
    assert.has_error(function() fm.ode.solve(function(x) return x end, x0, {steps = 0}) end)
    assert.has_error(function() fm.ode.solve(42, x0, {}) end)
  end)
end)

describe("fm.field", function()
  local sizes = {3, 32, 32, 2}
  local function params(dtype)
    fm.seed(8)
    local p = {}
    for l = 1, 3 do
      p[2 * l - 1] = (fm.randn({sizes[l], sizes[l + 1]}) / math.sqrt(sizes[l])):to(dtype)
      p[2 * l] = (fm.randn({sizes[l + 1]}) * 0.1):to(dtype)
    end
    return p
  end

  it("a fused MLP field runs in C and matches the same network in Lua", function()
    for _, dt in ipairs{"float32", "float64"} do
      local f = fm.field.mlp{params = params(dt), act = "silu"}
      assert.is_true(fm._integrate.is_native(f))
      local lua = function(x, t) return f(x, t) end   -- tensor ops, per stage
      local x0 = fm.randn({300, 2}):to(dt)
      -- float32: 20 steps of ~1e-7 rounding differences (C blocks vs mm)
      local tol = dt == "float32" and 1e-4 or 1e-10
      for _, m in ipairs{"euler", "rk4"} do
        local a, _, st = fm.ode.solve(f, x0, {method = m, steps = 20})
        local b = fm.ode.solve(lua, x0, {method = m, steps = 20})
        assert.tensor_near(b, a, tol)
        assert.equal(m == "euler" and 20 or 80, st.nfe)
      end
    end
  end)

  it("fm.field(net) appends t as the last input; uses net:fused() when offered", function()
    local p = params("float32")
    local inner = fm.field.mlp{params = p}
    local calls = 0
    local net = setmetatable({}, {__call = function(_, input)
      calls = calls + 1
      assert.equal(3, input:size(2))
      local x, t = input:narrow(2, 1, 2), input:narrow(2, 3, 1)
      return inner(x, t)
    end})
    local x0 = fm.randn({50, 2})
    local u = fm.field(net)
    local a = fm.ode.solve(u, x0, {method = "midpoint", steps = 5})
    assert.equal(10, calls)
    -- a network offering a fused C layer of kind "mlp" (net:fused(), its
    -- parameters by net:flat_params(), as fm.nn.mlp) is integrated in C: no
    -- Lua calls
    local layer = fm._layer.new("mlp", {sizes = sizes, act = "silu", dtype = "float32"}, p)
    net.fused = function() return layer end
    net.flat_params = function() return p end
    calls = 0
    local b = fm.ode.solve(u, x0, {method = "midpoint", steps = 5})
    assert.equal(0, calls)
    assert.tensor_near(a, b, 1e-5)
  end)
end)

describe("fm.guided", function()
  it("combines the null and conditional predictions: (1 - w) u(x|nil) + w u(x|y)", function()
    local seen = {}
    local model = function(x, t, y)
      seen[#seen + 1] = y
      if y == nil then return x * 0 + 1 end     -- u(x | null) = 1
      return x * 0 + y:reshape(-1, 1) * t       -- u(x | y) = y t
    end
    local y = fm.tensor({2, 4})
    local f = fm.guided(model, 3, y)
    local out = f(fm.zeros({2, 2}), 0.5)
    assert.tensor_near({{-2 + 3, -2 + 3}, {-2 + 6, -2 + 6}}, out, 1e-6)
    -- integrates like any field: du/dt gives x(1) = int_0^1 (1 - w) + w y t dt
    local x1 = fm.sample.ode(f, fm.zeros({2, 1}), {method = "heun", steps = 10})
    assert.tensor_near({{-2 + 3}, {-2 + 6}}, x1, 1e-5)
    assert.equal(1, #fm.sample.ode(fm.guided(model, 1, y), fm.zeros({2, 1}), {steps = 2}):shape() - 1)
  end)

  it("on images: one stacked call with {null =} equals two calls, by ODE and SDE", function()
    fm.seed(4)
    local net = fm.nn.unet{channels = 8, mults = {1, 2}, attention = {false, true}, classes = 3}
    local model = function(x, t, y) return net(x, t, y) end
    local y = fm.tensor({1, 3}, "int64")
    local x = fm.randn(2, 1, 8, 8)
    fm.no_grad(function()
      local two, one = fm.guided(model, 2.5, y), fm.guided(model, 2.5, y, {null = 4})
      assert.tensor_near(two(x, 0.3), one(x, 0.3), 1e-5)
      assert.tensor_near(model(x, 0.3, fm.tensor({4, 4}, "int64")),
                         fm.guided(model, 0, y, {null = 4})(x, 0.3), 0)
      local x1 = fm.ode.solve(one, x, {method = "midpoint", steps = 2})
      assert.same({2, 1, 8, 8}, x1:shape())
      local path = fm.path.gaussian("linear")
      local s1 = fm.sample.sde(one, path, x, {steps = 3, sigma = 0.5})
      assert.same({2, 1, 8, 8}, s1:shape())
      assert(s1:isfinite():min():item() == 1)
    end)
    assert.has_error(function() fm.guided(model, 2, nil, {null = 4}) end,
                     "fm.guided: {null =} needs the labels y as a tensor")
  end)
end)

describe("fm.sample.ode with exact marginal fields", function()
  local threshold = _G.FM_TEST_FLOOR[1]
  for _, name in ipairs{"linear", "sqrt", "cosine", "vp", "polynomial"} do
    it("carries N(0, I) onto the mixture: " .. name, function()
      local f = fm.path.gaussian(name):marginal(G)
      fm.seed(11)
      local x = fm.sample.ode(f, fm.randn({N, 2}), {method = "rk4", steps = 50})
      local e = fm.metrics.energy(x, G:sample(N))
      assert.is_true(e < threshold, ("%s: energy %.5f >= %.5f"):format(name, e, threshold))
    end)
  end

  it("the check can fail: the marginal of another mixture is far off", function()
    local other = fm.data.gmm{means = {{-2, 0}, {2, 1}, {0, 2.5}}, stds = 0.9}
    fm.seed(11)
    local x = fm.sample.ode(fm.path.gaussian("linear"):marginal(other), fm.randn({N, 2}),
                            {method = "rk4", steps = 50})
    assert.is_true(fm.metrics.energy(x, G:sample(N)) > 4 * threshold)
  end)
end)

-- one rule for tolerances and step counts (issue 17, item 8): adaptive dopri5
-- needs tolerances it can meet; a fixed grid needs an integer count >= 1
describe("fm.ode / fm.sde options", function()
  local f = function(x) return -x end
  it("dopri5 with rtol = atol = 0 is an error, adaptive = false the fixed grid", function()
    assert.has_error(function() fm.ode.solve(f, fm.ones({1, 1}), {method = "dopri5", rtol = 0, atol = 0}) end,
      "ode.solve: dopri5 needs finite rtol, atol >= 0, not both 0 (got rtol = 0, atol = 0); "
      .. "adaptive = false runs it on a fixed grid")
    local x, _, st = fm.ode.solve(f, fm.ones({1, 1}, "float64"), {method = "dopri5", adaptive = false, steps = 8})
    assert.equal(8, st.accepted)
    assert.is_true(math.abs(x:item() - math.exp(-1)) < 1e-8)
    for _, bad in ipairs {{rtol = -1}, {atol = 0 / 0}, {rtol = math.huge}, {max_steps = 0}, {h0 = 0 / 0}} do
      bad.method = "dopri5"
      assert.has_error(function() fm.ode.solve(f, fm.ones({1, 1}), bad) end)
    end
  end)
  it("steps must be an integer >= 1: no NaN cast to int64", function()
    for _, s in ipairs {0 / 0, 2.5, math.huge, -math.huge, 0, -3} do
      local ok, err = pcall(fm.ode.solve, f, fm.ones({1, 1}), {method = "rk4", steps = s})
      assert.is_false(ok)
      assert.truthy(err:find("ode.solve: steps must be an integer >= 1, got ", 1, true), err)
      assert.is_nil(err:find("9223372036854775808", 1, true))
      ok, err = pcall(fm.sde.solve, f, 0.1, fm.ones({1, 1}), {steps = s})
      assert.truthy(not ok and err:find("sde.solve: steps must be an integer >= 1", 1, true), err)
      ok, err = pcall(fm.likelihood, f, fm.ones({1, 1}), {steps = s})
      assert.truthy(not ok and err:find("fm.likelihood: steps must be an integer >= 1", 1, true), err)
    end
    assert.has_no_error(function() fm.ode.solve(f, fm.ones({1, 1}), {steps = 4.0, record = 3.0}) end)
    assert.has_error(function() fm.ode.solve(f, fm.ones({1, 1}), {steps = 4, record = 1}) end,
      "ode.solve: record must be an integer >= 2, got 1")
    assert.has_error(function() fm.ode.solve(f, fm.ones({1, 1}), {method = "dopri5", max_steps = 0 / 0}) end,
      "ode.solve: max_steps must be an integer >= 1, got nan")
  end)
end)
