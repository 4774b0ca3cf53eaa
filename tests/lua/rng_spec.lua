-- rng_spec.lua — the random functions from Lua: reproducibility, state
-- save/restore, argument forms, and distribution checks done by NumPy on
-- saved .npy files (/usr/bin/python3 + python3-numpy), so that the spec
-- does not depend on tensor methods. Bounds: 6 standard errors, or the
-- 1 - 1e-6 chi-square quantile (scipy.stats.chi2.isf(1e-6, 5) = 35.89).
local fm = require "fm"

local dir
local function tmp(name) return dir .. "/" .. name end
local sh = require "tests.lua.shell"
local function bytes(t)
  fm.save_npy(tmp("b.npy"), t)
  local f = assert(io.open(tmp("b.npy"), "rb"))
  local s = f:read("a")
  f:close()
  return s
end
local function py(code)
  local f = assert(io.open(tmp("check.py"), "w"))
  f:write("import os, sys\nimport numpy as np\nD = sys.argv[1]\n",
          "L = lambda n: np.load(os.path.join(D, n + '.npy'))\n", code)
  f:close()
  local ok, out = sh(string.format("/usr/bin/python3 %q %q", tmp("check.py"), dir))
  assert(ok, "python check failed:\n" .. out)
end

setup(function()
  local _, out = sh("mktemp -d /tmp/fm_rng_spec_XXXXXX")
  dir = out:gsub("%s+$", "")
end)
teardown(function() sh("rm -rf " .. dir) end)

describe("rng", function()
  it("is reproducible from a seed and from a saved state", function()
    fm.seed(5)
    local a = bytes(fm.randn(100))
    fm.seed(5)
    assert.equal(a, bytes(fm.randn(100)))
    fm.seed(6)
    assert.not_equal(a, bytes(fm.randn(100)))
    local s = fm.rng_state()
    assert.is_number(s.key)
    local b = bytes(fm.rand(10, 3))
    local c = bytes(fm.rand(10, 3))
    assert.not_equal(b, c)
    fm.set_rng_state(s)
    assert.equal(b, bytes(fm.rand(10, 3)))
    assert.equal(c, bytes(fm.rand(10, 3)))
    assert.has_error(function() fm.set_rng_state({}) end)
  end)

  it("takes sizes as varargs or a table, with an optional dtype", function()
    fm.save_npy(tmp("v.npy"), fm.rand(2, 3))
    fm.save_npy(tmp("t.npy"), fm.randn({4, 1, 2}, "float64"))
    fm.save_npy(tmp("s.npy"), fm.rand())
    fm.save_npy(tmp("r.npy"), fm.randint(0, 1, {3}, "float32"))
    fm.save_npy(tmp("m2.npy"), fm.multinomial({{1, 0}, {0, 1}}, 3, true))
    py [==[
assert L('v').shape == (2, 3) and L('v').dtype.str == '<f4'
assert L('t').shape == (4, 1, 2) and L('t').dtype.str == '<f8'
assert L('s').shape == () and L('r').dtype.str == '<f4'
assert (L('m2') == [[1, 1, 1], [2, 2, 2]]).all(), L('m2')
]==]
    assert.has_error(function() fm.rand(-1) end)
    assert.has_error(function() fm.rand(2, "complex") end)
    assert.has_error(function() fm.randn(2, "int64") end)
    assert.has_error(function() fm.randint(3, 1, 2) end)
    assert.has_error(function() fm.permutation(-1) end)
    assert.has_error(function() fm.multinomial({-1, 2}, 1) end)
    assert.has_error(function() fm.multinomial({1, 2}, 3) end) -- without replacement
  end)

  it("draws the right distributions", function()
    fm.seed(2024)
    fm.save_npy(tmp("u.npy"), fm.rand(200000, "float64"))
    fm.save_npy(tmp("n.npy"), fm.randn(200000, "float64"))
    fm.save_npy(tmp("ri.npy"), fm.randint(1, 6, 60000))
    fm.save_npy(tmp("p.npy"), fm.permutation(50))
    fm.save_npy(tmp("mn.npy"), fm.multinomial({1, 0, 2, 7}, 50000, true))
    py [==[
N = 200000
u, n = L('u'), L('n')
assert 0 <= u.min() and u.max() < 1
assert abs(u.mean() - 0.5) < 6 * (1 / 12 / N) ** 0.5
assert abs(u.var() - 1 / 12) < 6 * ((1 / 80 - 1 / 144) / N) ** 0.5
assert abs(n.mean()) < 6 / N ** 0.5 and abs(n.var() - 1) < 6 * (2 / N) ** 0.5
ri = L('ri')
assert ri.dtype.str == '<i8' and ri.min() == 1 and ri.max() == 6
c = np.bincount(ri, minlength=7)[1:]
assert ((c - 10000) ** 2 / 10000).sum() < 35.89, c
assert sorted(L('p')) == list(range(1, 51)) and L('p').dtype.str == '<i8'
m = np.bincount(L('mn'), minlength=5)[1:]
assert m[1] == 0 and m.sum() == 50000
e = np.array([0.1, 0.2, 0.7]) * 50000
assert (((m[[0, 2, 3]] - e) ** 2) / e).sum() < 27.63, m
]==]
  end)

  it("fills tensors in place", function()
    local x = fm.rand(1000, "float64")
    assert.equal(x, x:uniform_(-3, -2))
    fm.save_npy(tmp("ip.npy"), x)
    assert.equal(x, x:normal_(10, 0.001))
    fm.save_npy(tmp("in.npy"), x)
    py [==[
assert L('ip').min() >= -3 and L('ip').max() < -2
assert abs(L('in').mean() - 10) < 0.001
]==]
    assert.has_error(function() fm.randint(0, 3, 4):uniform_() end)
    assert.has_error(function() x:uniform_(1, 0) end)
    assert.has_error(function() x:normal_(0, -1) end)
    -- views are filled through their strides: only column 2 changes
    local m = fm.tensor({{1, 2}, {3, 4}}, "float64")
    m:narrow(2, 2, 1):uniform_(5, 6)
    local v = m:totable()
    assert.same({1, 3}, {v[1][1], v[2][1]})
    assert.is_true(v[1][2] >= 5 and v[1][2] < 6 and v[2][2] >= 5 and v[2][2] < 6)
  end)
end)
