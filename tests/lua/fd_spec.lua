-- fd_spec.lua — fm.metrics.fd / fd_stats / gaussian_stats against NumPy and
-- SciPy (/usr/bin/python3 with python3-numpy and python3-scipy; skipped with a
-- message when they are missing) on random correlated features written as .npy.
--
-- Reference: numpy's mean and cov (ddof = 1) and pytorch-fid's formula with
-- scipy.linalg.sqrtm(S_a @ S_b) (a Schur method on a non-symmetric product).
-- Tolerances: for the well-conditioned cases (d = 16..64, n >> d,
-- eigenvalues of the covariances in ~[0.1, 10]) both sides are backward
-- stable to ~1e-15 relative in their trace square roots, and FD is of the
-- order of tr(S) (the sets differ), so there is no cancellation: relative
-- 1e-8 leaves five orders of margin (the measured differences are ~1e-13).
-- Statistics: the same two-pass sums in a different order, 1e-12 relative.
-- Rank-deficient (n < d): S_a has d - n + 1 zero eigenvalues, scipy's sqrtm
-- of the singular product is unreliable (complex parts, a warning), so the
-- reference is the same eigen formula in numpy (eigh); square roots of
-- eigenvalues at rounding level (~1e-16 |S|) are ~1e-8 sqrt|S| each, so the
-- two eigen-based results can differ by ~d 1e-8 relative: tolerance 1e-6.
local fm = require "fm"

local PY = "/usr/bin/python3"
local dir

local sh = require "tests.lua.shell"

local function tmp(name) return dir .. "/" .. name end

-- nil when python3 with numpy and scipy is usable, else why not
local function python_missing()
  local f = io.open(PY)
  if not f then return PY .. " not found (apt-get install python3)" end
  f:close()
  local ok, out = sh(PY .. " -c 'import numpy, scipy.linalg'")
  if not ok then return "numpy/scipy missing (apt-get install python3-numpy python3-scipy): " .. out end
end

-- Runs code after a prelude (np, sqrtm, D = the temp dir, helpers) and
-- returns the numbers it prints, by name ("name value" lines).
local prelude = [==[
import sys, warnings
import numpy as np
from scipy.linalg import sqrtm
D = sys.argv[1]
def load(name): return np.load(D + '/' + name + '.npy').astype(np.float64)
def stats(x): return x.mean(axis=0), np.cov(x, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1])
def fd_scipy(ma, sa, mb, sb):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        c = sqrtm(sa @ sb)
    return float(np.sum((ma - mb) ** 2) + np.trace(sa) + np.trace(sb) - 2 * np.trace(c).real)
def fd_eigh(ma, sa, mb, sb):
    l, v = np.linalg.eigh(sa)
    r = (v * np.sqrt(np.maximum(l, 0))) @ v.T
    m = r @ sb @ r
    m = 0.5 * (m + m.T)
    t = np.sum(np.sqrt(np.maximum(np.linalg.eigvalsh(m), 0)))
    return float(np.sum((ma - mb) ** 2) + np.trace(sa) + np.trace(sb) - 2 * t)
def out(name, v): print(name, '%.17g' % v)
]==]

local function py(code)
  local f = assert(io.open(tmp("check.py"), "w"))
  f:write(prelude, code)
  f:close()
  local ok, text = sh(string.format("%s %q %q", PY, tmp("check.py"), dir))
  assert(ok, "python check failed:\n" .. text)
  local v = {}
  for name, num in text:gmatch("(%S+) (%S+)\n") do v[name] = tonumber(num) end
  return v
end

-- (n, d) features z A + m with a random A (d x d, entries N(0, 1/d)), so
-- the covariance A^T A is a full, well-conditioned matrix for n >> d.
local function features(n, d, shift, dtype)
  local z, a = fm.randn(n, d, "float64"), fm.randn(d, d, "float64") / math.sqrt(d)
  return (z:mm(a) + shift):to(dtype or "float64")
end

local function rel(got, want) return math.abs(got - want) / math.abs(want) end

local missing
setup(function()
  missing = python_missing()
  local _, out = sh("mktemp -d /tmp/fm_fd_spec_XXXXXX")
  dir = out:gsub("%s+$", "")
end)
teardown(function() sh("rm -rf " .. dir) end)

describe("fm.metrics.fd against scipy", function()
  for _, case in ipairs {
    { 16, 2000, 1500, "float64" }, { 32, 3000, 2500, "float64" },
    { 64, 4000, 3000, "float64" }, { 48, 2000, 2000, "float32" },
  } do
    local d, na, nb, dtype = case[1], case[2], case[3], case[4]
    it(("d = %d, n = %d / %d, %s: relative 1e-8"):format(d, na, nb, dtype), function()
      if missing then pending(missing) return end
      fm.seed(100 + d)
      local a, b = features(na, d, 0.0, dtype), features(nb, d, 0.3, dtype)
      fm.save_npy(tmp("a.npy"), a)
      fm.save_npy(tmp("b.npy"), b)
      local mu, cov = fm.metrics.gaussian_stats(a)
      fm.save_npy(tmp("mu.npy"), mu)
      fm.save_npy(tmp("cov.npy"), cov)
      local v = py [[
a, b = load('a'), load('b')
ma, sa = stats(a); mb, sb = stats(b)
out('fd', fd_scipy(ma, sa, mb, sb))
out('mu_err', np.abs(load('mu') - ma).max() / np.abs(ma).max())
out('cov_err', np.abs(load('cov') - sa).max() / np.abs(sa).max())
np.save(D + '/mb.npy', mb); np.save(D + '/sb.npy', sb)
]]
      local got = fm.metrics.fd(a, b)
      print(("  d=%d %s: fd %.12g scipy %.12g rel %.2g; stats rel %.2g %.2g"):format(
        d, dtype, got, v.fd, rel(got, v.fd), v.mu_err, v.cov_err))
      assert.is_true(rel(got, v.fd) <= 1e-8, ("fd %.17g scipy %.17g"):format(got, v.fd))
      assert.is_true(v.mu_err <= 1e-12 and v.cov_err <= 1e-12)
      -- the statistics form with numpy's statistics for b and ours for a
      local fs = fm.metrics.fd_stats(mu, cov, fm.load_npy(tmp("mb.npy")), fm.load_npy(tmp("sb.npy")))
      assert.is_true(rel(fs, got) <= 1e-10, ("fd_stats %.17g fd %.17g"):format(fs, got))
    end)
  end

  it("rank-deficient n < d: the eigen formula, relative 1e-6, finite and >= 0", function()
    if missing then pending(missing) return end
    fm.seed(7)
    local d = 64
    local a, b = features(20, d, 0.0), features(40, d, 0.2)
    fm.save_npy(tmp("a.npy"), a)
    fm.save_npy(tmp("b.npy"), b)
    local v = py [[
a, b = load('a'), load('b')
ma, sa = stats(a); mb, sb = stats(b)
out('fd_eigh', fd_eigh(ma, sa, mb, sb))
out('fd_eigh_ba', fd_eigh(mb, sb, ma, sa))
out('fd_scipy', fd_scipy(ma, sa, mb, sb))
out('fd_self', fd_eigh(ma, sa, ma, sa))
]]
    local ab, ba, aa = fm.metrics.fd(a, b), fm.metrics.fd(b, a), fm.metrics.fd(a, a)
    print(("  rank-deficient: fd %.12g eigh %.12g (rel %.2g), fd(b,a) %.12g eigh %.12g, "
      .. "scipy sqrtm %.12g; fd(a,a) %.3g eigh %.3g"):format(ab, v.fd_eigh,
      rel(ab, v.fd_eigh), ba, v.fd_eigh_ba, v.fd_scipy, aa, v.fd_self))
    for _, x in ipairs { ab, ba, aa } do
      assert.is_true(x == x and x >= 0 and x < math.huge)
    end
    assert.is_true(rel(ab, v.fd_eigh) <= 1e-6)
    assert.is_true(rel(ba, v.fd_eigh_ba) <= 1e-6)
    assert.is_true(aa <= 1e-6 * d)
  end)
end)

describe("fm.metrics.fd", function()
  it("is symmetric, 0 on a set and itself, and equals fd_stats of gaussian_stats", function()
    fm.seed(3)
    local a, b = features(500, 10, 0.0), features(300, 10, 1.0, "float32")
    local ab, ba = fm.metrics.fd(a, b), fm.metrics.fd(b, a)
    assert.is_true(rel(ba, ab) <= 1e-10)
    assert.are.equal(0, fm.metrics.fd(a, a))
    local ma, sa = fm.metrics.gaussian_stats(a)
    local mb, sb = fm.metrics.gaussian_stats(b)
    assert.are.same({ 10 }, ma:shape())
    assert.are.same({ 10, 10 }, sa:shape())
    assert.are.equal("float64", sb:dtype())
    assert.are.equal(ab, fm.metrics.fd_stats(ma, sa, mb, sb))
  end)

  it("has the 1-D closed form (m_a - m_b)^2 + (s_a - s_b)^2 (s unbiased)", function()
    local a, b = { { 0 }, { 1 }, { 2 } }, { { 1 }, { 2 }, { 4 } }
    local sa, sb = 1, math.sqrt(((1 - 7 / 3) ^ 2 + (2 - 7 / 3) ^ 2 + (4 - 7 / 3) ^ 2) / 2)
    local want = (1 - 7 / 3) ^ 2 + (sa - sb) ^ 2
    assert.is_true(math.abs(fm.metrics.fd(a, b) - want) <= 1e-14)
    assert.is_true(math.abs(fm.metrics.fd_stats({ 1 }, { { 1 } }, { 7 / 3 }, { { sb * sb } }) - want) <= 1e-14)
  end)

  it("raises clear errors naming the argument", function()
    local a = fm.randn(10, 3)
    local bad = fm.randn(10, 3)
    bad[4][2] = 0 / 0
    local inf = fm.randn(10, 3, "float64")
    inf[1][1] = math.huge
    local mu, cov = fm.metrics.gaussian_stats(a)
    for _, c in ipairs {
      { function() return fm.metrics.fd(a, fm.randn(10, 4)) end, "same number of columns" },
      { function() return fm.metrics.fd(a, fm.randn(1, 3)) end, "features_b needs at least 2 rows" },
      { function() return fm.metrics.fd(fm.randn(10), a) end, "features_a: (n, d) features expected, got (10,)" },
      { function() return fm.metrics.fd(a, fm.randn(2, 5, 3)) end, "features_b: (n, d) features expected" },
      { function() return fm.metrics.fd(a, bad) end, "features_b has a non-finite value (nan) at row 4, column 2" },
      { function() return fm.metrics.fd(inf, a) end, "features_a has a non-finite value (inf)" },
      { function() return fm.metrics.fd(a, fm.randint(1, 5, 10, 3)) end, "float tensor expected, got int64" },
      { function() return fm.metrics.fd(a, "x") end, "tensor, number or table expected" },
      { function() return fm.metrics.gaussian_stats(fm.randn(1, 4)) end, "features needs at least 2 rows" },
      { function() return fm.metrics.fd_stats(mu, cov, mu) end, "bad argument #4 to 'fd_stats'" },
      { function() return fm.metrics.fd_stats(cov, cov, mu, cov) end, "mu_a: (d,) mean expected" },
      { function() return fm.metrics.fd_stats(mu, cov, mu, mu) end, "cov_b: (d, d) covariance expected" },
      { function() return fm.metrics.fd_stats(mu, cov, { 1, 2 }, { { 1, 0 }, { 0, 1 } }) end, "mu_b (2,)" },
      { function() return fm.metrics.fd_stats(mu, -cov, mu, cov) end, "cov_a is not positive semi-definite" },
      { function() return fm.metrics.fd_stats({ 0, 0 }, { { 1, 0.5 }, { 0, 1 } }, { 0, 0 },
          { { 1, 0 }, { 0, 1 } }) end, "cov_a is not symmetric" },
      { function() return fm.metrics.fd_stats({ 0 / 0 }, { { 1 } }, { 0 }, { { 1 } }) end,
        "mu_a has a non-finite value" },
    } do
      local ok, err = pcall(c[1])
      assert.is_false(ok)
      assert.is_truthy(err:find(c[2], 1, true), ("%q lacks %q"):format(err, c[2]))
    end
  end)
end)
