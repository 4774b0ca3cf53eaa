-- fm.coupling: OT pairing against brute force, the bridge path against its
-- formulas (moments, and the field as d/dt of the sample map), data-to-data.
local fm = require "fm"

local function sqcost(a, b)
  return ((a - b) ^ 2):sum():item()
end

-- every permutation of 1..n (Heap's algorithm)
local function permutations(n)
  local out, p = {}, {}
  for i = 1, n do p[i] = i end
  local function gen(k)
    if k == 1 then out[#out + 1] = {table.unpack(p)}; return end
    for i = 1, k do
      gen(k - 1)
      local j = k % 2 == 0 and i or 1
      p[j], p[k] = p[k], p[j]
    end
  end
  gen(n)
  return out
end

describe("fm.coupling.ot", function()
  it("equals brute force on n <= 7 and never loses to independent", function()
    for n = 1, 7 do
      fm.seed(100 + n)
      local z = fm.randn(n, 2, "float64") * 2
      local x0 = fm.randn(n, 2, "float64")
      local zz, xp, cost = fm.coupling.ot(z, x0)
      assert.are.equal(z, zz)
      -- the reported cost is the cost of the returned pairing
      assert.is_true(math.abs(cost - sqcost(z, xp)) < 1e-9)
      local best = math.huge
      for _, p in ipairs(permutations(n)) do
        best = math.min(best, sqcost(z, x0:index(1, fm.tensor(p, "int64"))))
      end
      -- both sums of n <= 7 terms of size O(10) in float64: 1e-9 is ~1e6 ulps
      assert.is_true(math.abs(cost - best) < 1e-9, ("n %d: %g vs %g"):format(n, cost, best))
      assert.is_true(cost <= sqcost(z, x0) + 1e-9)
      -- a permutation of x0: the same rows, each once
      assert.tensor_near(x0:sum(1), xp:sum(1), 1e-12)
    end
  end)

  it("lowers the mean squared displacement of a batch (noise -> 8 gaussians)", function()
    fm.seed(9)
    local z = fm.data.gaussians8():sample(256, "float64")
    local _, xi = fm.coupling.independent(z, fm.randn(256, 2, "float64"))
    local _, xo, cost = fm.coupling.ot(z, xi)
    local mi, mo = sqcost(z, xi) / 256, cost / 256
    -- optimality gives mo <= mi; for these sets the gain is large (~2x)
    assert.is_true(mo < 0.75 * mi, ("ot %g independent %g"):format(mo, mi))
    assert.is_true(math.abs(mo - sqcost(z, xo) / 256) < 1e-9)
  end)

  it("takes the source from tensors, samplers and functions", function()
    fm.seed(1)
    local z = fm.randn(10, 2, "float64")
    local _, a = fm.coupling.independent(z, fm.data.moons{})
    local _, b = fm.coupling.ot(z, function(n) return fm.zeros(n, 2) end)
    local _, c = fm.coupling.independent(z)
    assert.are.same({10, 2}, a:shape())
    assert.are.equal("float64", b:dtype())
    assert.are.same({10, 2}, c:shape())
    assert.has_error(function() fm.coupling.ot(z, fm.zeros(9, 2)) end)
  end)
end)

describe("fm.coupling.bridge", function()
  it("has the mean t z + (1-t) x0 and variance sigma^2 t (1-t)", function()
    -- one pair repeated n = 20000 times: the sample mean has standard error
    -- s_t / sqrt(n) and the sample variance s_t^2 sqrt(2 / (n - 1)); we
    -- allow 5 of each.
    fm.seed(4)
    local n, sigma = 20000, 0.7
    local br = fm.coupling.bridge(sigma)
    local z = fm.tensor({{3, -1}}, "float64"):expand(n, 2):clone()
    local x0 = fm.tensor({{-2, 0.5}}, "float64"):expand(n, 2):clone()
    for _, t in ipairs{0.1, 0.5, 0.8} do
      local x = br:sample(z, x0, t)
      local s = sigma * math.sqrt(t * (1 - t))
      local m = x:mean(1):totable()
      local v = x:var(1):totable()
      local mu = {3 * t - 2 * (1 - t), -t + 0.5 * (1 - t)}
      for j = 1, 2 do
        assert.is_true(math.abs(m[j] - mu[j]) < 5 * s / math.sqrt(n))
        assert.is_true(math.abs(v[j] - s * s) < 5 * s * s * math.sqrt(2 / (n - 1)))
      end
      assert.is_true(math.abs(br:std(t) - s) < 1e-15)
    end
    -- exact endpoints
    local x = br:sample(z:narrow(1, 1, 3), x0:narrow(1, 1, 3), 1)
    assert.tensor_near(z:narrow(1, 1, 3), x, 0)
  end)

  it("has the field d/dt x_t (central differences) in both forms", function()
    -- float64, h = 1e-5: truncation h^2 |x'''| / 6 ~ 1e-10 * sigma t^-2.5,
    -- rounding 1e-16 / h ~ 1e-11; 1e-7 covers t in [0.05, 0.95].
    fm.seed(6)
    local br = fm.coupling.bridge(0.5)
    local z, x0, eps = fm.randn(5, 3, "float64"), fm.randn(5, 3, "float64"), fm.randn(5, 3, "float64")
    local t = fm.tensor({0.05, 0.3, 0.5, 0.7, 0.95}, "float64")
    local h = 1e-5
    local fd = (br:sample(z, x0, t + h, eps) - br:sample(z, x0, t - h, eps)) / (2 * h)
    local u = br:velocity_eps(z, x0, eps, t)
    assert.tensor_near(fd, u, 1e-7)
    assert.tensor_near(u, br:velocity(br:sample(z, x0, t, eps), z, x0, t), 1e-10)
    -- at t = 0.5 the noise term vanishes: u = z - x0
    assert.tensor_near((z - x0):narrow(1, 3, 1), u:narrow(1, 3, 1), 1e-12)
    -- finite at the endpoints (clamped coefficient)
    local ue = br:velocity_eps(z, x0, eps, fm.tensor({0, 1, 0, 1, 0}, "float64"))
    assert.are.equal(ue:numel(), ue:isfinite():sum():item())
    local c = fm.coupling.bridge(0.5, {kind = "constant"})
    assert.tensor_near(z - x0, c:velocity_eps(z, x0, eps, t), 0)
  end)

  it("trains through fm.loss.cfm: data to data with a bridge", function()
    fm.seed(8)
    local z = fm.data.gaussians8():sample(64, "float64")
    local _, x0 = fm.coupling.ot(z, fm.data.moons{})
    local br = fm.coupling.bridge(0.2)
    local model = function(inp) return inp:narrow(2, 1, 2) end
    local eps = fm.randn(64, 2, "float64")
    local _, ex = fm.loss.cfm(model, br, z, {x0 = x0, eps = eps, t = 0.3})
    assert.tensor_near(br:velocity_eps(z, x0, eps, 0.3), ex.target, 0)
    assert.tensor_near(br:sample(z, x0, 0.3, eps), ex.xt, 0)
    -- the linear Gaussian path with x0 as source: target z - x0
    local _, ex2 = fm.loss.cfm(model, fm.path.gaussian("linear"), z, {x0 = x0, t = 0.3})
    assert.tensor_near(z - x0, ex2.target, 1e-12)
  end)
end)
