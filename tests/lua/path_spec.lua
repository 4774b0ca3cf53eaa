-- fm.path and fm.data: the parts that need no tensor methods (schedule values,
-- custom schedules, validation and error messages). Numerical checks of the
-- tensors themselves live in tests/engine/test_path.c and test_gmm.c.
local fm = require "fm"

describe("fm.path.gaussian", function()
  it("gives the named schedules' values and derivatives", function()
    local a, b, da, db = fm.path.gaussian("linear"):schedule(0.25)
    assert.are.same({0.25, 0.75, 1, -1}, {a, b, da, db})
    a, b = fm.path.gaussian("cosine"):schedule(1)
    assert.are.same({1, 0}, {a, b})
    a = fm.path.gaussian("vp"):schedule(0)
    assert.is_true(math.abs(a - math.exp(-5.025)) < 1e-15)
    a = fm.path.gaussian("vp", {b_min = 1, b_max = 1}):schedule(0)
    assert.is_true(math.abs(a - math.exp(-0.5)) < 1e-15)
    a, b, da = fm.path.gaussian("polynomial", {n = 3}):schedule(0.5)
    assert.are.same({0.125, 0.875, 0.75}, {a, b, da})
    assert.are.equal("sqrt", fm.path.gaussian("sqrt"):name())
  end)

  it("differentiates Lua schedules numerically (error ~1e-10)", function()
    local p = fm.path.gaussian{alpha = function(t) return t * t end,
                               beta = function(t) return 1 - t * t end, name = "quad"}
    for _, t in ipairs{0, 0.3, 1} do
      local _, _, da, db = p:schedule(t)
      assert.is_true(math.abs(da - 2 * t) < 1e-9 and math.abs(db + 2 * t) < 1e-9)
    end
    local q = fm.path.gaussian{alpha = function(t) return t end, beta = function(t) return 1 - t end,
                               dalpha = function() return 7 end}
    local _, _, da = q:schedule(0.5)
    assert.are.equal(7, da)
  end)

  it("rejects bad schedules with the name and the t", function()
    local ok, err = pcall(fm.path.gaussian, {name = "off", alpha = function(t) return t end,
                                              beta = function(t) return 0.9 * (1 - t) end})
    assert.is_false(ok)
    assert.matches("schedule off", err)
    assert.matches("t = 0", err)
    ok, err = pcall(fm.path.gaussian, {alpha = function(t) if t > 0.5 then error("boom") end return t end,
                                        beta = function(t) return 1 - t end})
    assert.is_false(ok)
    assert.matches("boom", err)
    ok, err = pcall(fm.path.gaussian, "nope")
    assert.is_false(ok)
    assert.matches("unknown name 'nope'", err)
    assert.has_error(function() fm.path.gaussian{beta = function(t) return t end} end)
  end)
end)

describe("fm.data", function()
  it("builds mixtures and data sets", function()
    local g = fm.data.gmm{means = {{0, 0, 0}, {1, 2, 3}}, stds = 0.5}
    assert.are.same({3, 2}, {g:dim(), g:components()})
    assert.are.same({2, 8}, {fm.data.gaussians8{}:dim(), fm.data.gaussians8{}:components()})
    assert.are.equal(5, fm.data.pinwheel{}:classes())
    assert.are.equal(8, fm.data.checkerboard{}:classes())
    local ok, err = pcall(fm.data.gmm, {means = {{0, 0}}, covs = {{{1, 2}, {2, 1}}}})
    assert.is_false(ok)
    assert.matches("not positive definite", err)
    assert.has_error(function() fm.data.gmm{means = {{0, 0}}, stds = {1, 2, 3}} end)
  end)
end)
