-- flow_map_spec.lua — path:flow_map(gmm), the exact flow map of the marginal
-- field onto a Gaussian mixture (scripts/fm/flow_map.lua), and the two
-- identities few-step models rest on (docs/math.md §9.1), checked by central
-- differences of the map itself:
--   MeanFlow:  u(x_s, s, t) = v(x_s, s) + (t - s) d/ds u(x_s, s, t)
--   terminal:  d/dt phi(x, s, t) = v(phi(x, s, t), t)
-- A central difference with step h has truncation error C h^2; dopri5 at
-- rtol = atol = 1e-10 adds about 1e-10 / h. At h = 1e-4 both are <= ~1e-6
-- (measured 5e-7 and 9e-7 on 8 gaussians); halving h must divide the error
-- by about 4, which a wrong sign or a missing term (an O(1) error) cannot do.
local fm = require "fm"

local path = fm.path.gaussian("linear")
local g = fm.data.gaussians8{}
local fmap = path:flow_map(g)

-- 100 points on trajectories from noise, s in [0.1, 0.8], t in (s, 0.99)
local function setup()
  fm.seed(5)
  local n = 100
  local x0 = fm.randn(n, 2, "float64")
  local s = fm.rand(n, "float64") * 0.7 + 0.1
  local t = s + fm.rand(n, "float64") * (0.99 - s)
  return fmap:phi(x0, 0, s), s, t, n
end

local function meanflow_residual(h)
  local xs, s, t, n = setup()
  local u = fmap:average(xs, s, t)
  local v = fmap:velocity(xs, s)
  local up = fmap:average(fmap:phi(xs, s, s + h), s + h, t)
  local dn = fmap:average(fmap:phi(xs, s, s - h), s - h, t)
  local dus = (up - dn) / (2 * h)
  return (u - v - dus * (t - s):reshape(n, 1)):abs():max():item()
end

local function terminal_residual(h)
  local xs, s, t = setup()
  local d = (fmap:phi(xs, s, t + h) - fmap:phi(xs, s, t - h)) / (2 * h)
  return (d - fmap:velocity(fmap:phi(xs, s, t), t)):abs():max():item()
end

describe("path:flow_map", function()
  it("satisfies the MeanFlow identity, converging as h^2", function()
    local e1, e2 = meanflow_residual(2e-4), meanflow_residual(1e-4)
    assert(e2 < 2e-6, "residual " .. e2)
    assert(e1 / e2 > 3 and e1 / e2 < 5, "order: ratio " .. e1 / e2)
  end)

  it("satisfies the terminal-velocity condition, converging as h^2", function()
    local e1, e2 = terminal_residual(2e-4), terminal_residual(1e-4)
    assert(e2 < 3e-6, "residual " .. e2)
    assert(e1 / e2 > 3 and e1 / e2 < 5, "order: ratio " .. e1 / e2)
  end)

  it("composes: phi(phi(x, s, r), r, t) = phi(x, s, t), and runs backwards", function()
    local xs, s, t = setup()
    local r = s + (t - s) * 0.3
    local y = fmap:phi(xs, s, t)
    assert.tensor_near(y, fmap:phi(fmap:phi(xs, s, r), r, t), 1e-8)
    assert.tensor_near(xs, fmap:phi(y, t, s), 1e-8)
  end)

  it("gives the field at zero gap and the mean velocity otherwise", function()
    local xs, s, t = setup()
    assert.tensor_near(fmap:velocity(xs, s), fmap:average(xs, s, s), 0)
    local n = xs:size(1)
    local u = fmap:average(xs, s, t)
    assert.tensor_near(fmap:phi(xs, s, t), xs + u * (t - s):reshape(n, 1), 1e-10)
  end)

  it("carries N(0, I) onto the mixture (W2 within 1.5x the sampling floor)", function()
    fm.seed(2)
    local x1 = fmap:phi(fm.randn(1000, 2), 0, 1)
    assert.equal("float32", x1:dtype())
    local ref = g:sample(1000)
    local floor = fm.metrics.w2(g:sample(1000), ref)
    assert(fm.metrics.w2(x1, ref) < 1.5 * floor)
  end)

  it("names bad arguments", function()
    local x = fm.randn(4, 2)
    assert.has_error(function() path:flow_map(nil) end,
      "path:flow_map: bad argument #1 (a Gaussian mixture, fm.data.gmm{...}, expected)")
    assert.has_error(function() fmap:phi(x, 0, fm.rand(3)) end, "flow_map: t has 3 values for 4 rows")
    assert.has_error(function() fmap:phi(x, 0 / 0, 1) end, "flow_map: s is NaN")
    assert.has_error(function() fmap:phi(fm.randn(4), 0, 1) end, "flow_map: x must be an (n, d) tensor")
    assert.has_error(function() fmap:phi(x, 0, "1") end)
  end)
end)
