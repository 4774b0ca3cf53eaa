-- sinkhorn_spec.lua — fm.ot.sinkhorn / sinkhorn_cost / sample_plan and the
-- SB-CFM coupling (fm.coupling.sinkhorn, fm.coupling.sb); docs/math.md §4,
-- "Entropic couplings". Checks with exact answers (marginals, the 2 x 2 plan
-- in closed form, the eps -> 0 bound against fm.ot.match, draw frequencies,
-- the bridge field against finite differences), and the plans of POT's
-- ot.sinkhorn and ot.bregman.sinkhorn_log (/usr/bin/python3 with python3-pot;
-- skipped with a message when missing) on the same inputs.
local fm = require "fm"

local PY = "/usr/bin/python3"

local sh = require "tests.lua.shell"

local function pot_missing()
  local ok, out = sh(PY .. " -c 'import numpy, ot'")
  if not ok then return "POT missing (apt-get install python3-pot): " .. out end
end

local function maxabs(a, b) return (a - b):abs():max():item() end

-- points from Lua's generator (deterministic across runs)
local function points(n, d, seed, shift)
  math.randomseed(seed)
  local t = {}
  for i = 1, n do
    local row = {}
    for k = 1, d do row[k] = math.random() * 2 - 1 + (shift or 0) end
    t[i] = row
  end
  return fm.tensor(t, "float64")
end

local function weights(n, seed)
  math.randomseed(seed)
  local w = {}
  for i = 1, n do w[i] = 0.2 + math.random() end
  return fm.tensor(w, "float64")
end

describe("fm.ot.sinkhorn: exact properties", function()
  it("has the weights as marginals: columns to rounding, rows to tol", function()
    local x, y = points(30, 2, 1), points(20, 2, 2, 0.5)
    local wa, wb = weights(30, 3), weights(20, 4)
    local P, cost, info = fm.ot.sinkhorn(x, y, {eps = 0.2, tol = 1e-10, wa = wa, wb = wb})
    assert.is_true(info.converged)
    local a, b = wa / wa:sum():item(), wb / wb:sum():item()
    -- columns: exact after the last update, up to sums of 30 doubles
    assert.is_true(maxabs(P:sum(1), b) <= 1e-15)
    -- rows: the reported L1 error, which is <= tol
    local row_err = (P:sum(2) - a):abs():sum():item()
    assert.is_true(row_err <= 1e-10 and math.abs(row_err - info.err) <= 1e-14,
      ("row error %g, reported %g"):format(row_err, info.err))
    -- cost = <P, C>, C the squared distances
    local C = ((x:reshape(30, 1, 2) - y:reshape(1, 20, 2)) ^ 2):sum(3)
    assert.is_true(math.abs((P * C):sum():item() - cost) <= 1e-13)
    -- potentials: P_ij = exp((f_i + g_j - C_ij) / eps)
    local Q = ((info.f:reshape(30, 1) + info.g:reshape(1, 20) - C) / 0.2):exp()
    assert.is_true(maxabs(P, Q) <= 1e-15)
  end)

  it("equals the 2 x 2 plan in closed form", function()
    -- P = u_i K_ij v_j gives P11 P22 / (P12 P21) = r = exp((C12 + C21 - C11 - C22) / eps);
    -- with the marginals, P11 = p solves (1 - r) p^2 + (s + r (a1 + b1)) p - r a1 b1 = 0,
    -- s = 1 - a1 - b1 (docs/math.md §4)
    local C = fm.tensor({ { 0.3, 1.1 }, { 0.9, 0.2 } }, "float64")
    local a1, b1 = 0.3, 0.6
    for _, eps in ipairs { 2, 0.5, 0.1 } do
      local r = math.exp((1.1 + 0.9 - 0.3 - 0.2) / eps)
      local A, B, Cq = 1 - r, (1 - a1 - b1) + r * (a1 + b1), -r * a1 * b1
      -- the root in (max(0, a1 + b1 - 1), min(a1, b1)); 2c / (-b - sqrt) is stable
      local p = 2 * Cq / (-B - math.sqrt(B * B - 4 * A * Cq))
      local want = fm.tensor({ { p, a1 - p }, { b1 - p, 1 - a1 - b1 + p } }, "float64")
      local P = fm.ot.sinkhorn_cost(C, { eps = eps, tol = 1e-14, iters = 100000,
        wa = { a1, 1 - a1 }, wb = { b1, 1 - b1 } })
      -- the solver stops at marginal error 1e-14; entries are O(0.1): 1e-13
      assert.is_true(maxabs(P, want) <= 1e-13, ("eps %g: %g"):format(eps, maxabs(P, want)))
    end
  end)

  it("approaches the exact OT cost of fm.ot.match as eps -> 0", function()
    -- <P_eps, C> + eps KL(P_eps | ab) <= <P*, C> + eps KL(P* | ab) = OT + eps log n
    -- for the optimal permutation plan P* (uniform weights), and
    -- <P_eps, C> >= OT, so 0 <= <P_eps, C> - OT <= eps log n
    local n = 12
    local x, y = points(n, 2, 7), points(n, 2, 8, 1)
    local _, exact = fm.ot.match(x, y)
    exact = exact / n
    local last = math.huge
    for _, eps in ipairs { 1, 0.3, 0.1, 0.03 } do
      local _, cost = fm.ot.sinkhorn(x, y, { eps = eps, iters = 200000, tol = 1e-12 })
      local gap = cost - exact
      assert.is_true(gap >= -1e-10 and gap <= eps * math.log(n) + 1e-10,
        ("eps %g: gap %g, bound %g"):format(eps, gap, eps * math.log(n)))
      assert.is_true(gap < last)
      last = gap
    end
  end)

  it("gives zero rows and columns for zero weights", function()
    local x, y = points(4, 2, 11), points(3, 2, 12)
    local P = fm.ot.sinkhorn(x, y, { eps = 0.5, wa = { 1, 0, 1, 1 }, wb = { 0, 1, 1 } })
    assert.equal(0, P[2]:abs():sum():item())
    assert.equal(0, P:select(2, 1):abs():sum():item())
    assert.is_true(math.abs(P:sum():item() - 1) <= 1e-12)
  end)

  it("reports not converging: an error by default, info with check = false", function()
    local x, y = points(20, 2, 13), points(20, 2, 14, 2)
    local ok, err = pcall(fm.ot.sinkhorn, x, y, { eps = 0.01, iters = 5 })
    assert.is_false(ok)
    assert.matches("not converged after 5 iterations", err)
    local P, _, info = fm.ot.sinkhorn(x, y, { eps = 0.01, iters = 5, check = false })
    assert.is_false(info.converged)
    assert.equal(5, info.iters)
    assert.is_true(info.err > 1e-9)
    -- columns still exact, up to the rounding of exponents as large as
    -- |C| / eps ~ 10^3: 10^3 2^-52 ~ 2e-13 relative on entries ~ 0.05
    assert.is_true(maxabs(P:sum(1), fm.full({ 20 }, 1 / 20, "float64")) <= 1e-13)
  end)

  it("names the argument on bad input", function()
    local x, y = points(5, 2, 15), points(4, 2, 16)
    local cases = {
      { { x, y, { eps = 0 } }, "opts.eps must be finite and > 0" },
      { { x, y, { eps = -1 } }, "opts.eps" },
      { { x, y, { eps = 0 / 0 } }, "opts.eps" },
      { { x, y, {} }, "opts.eps must be a number" },
      { { x, y, { eps = 1, iters = 0 } }, "opts.iters" },
      { { x, y, { eps = 1, tol = -1 } }, "opts.tol" },
      { { x, points(4, 3, 1), { eps = 1 } }, "%(5, 2%) and y %(4, 3%)" },
      { { x, y, { eps = 1, wa = { 1, 2, 3 } } }, "opts.wa has 3 weights, the points 5" },
      { { x, y, { eps = 1, wb = { 1, -1, 1, 1 } } }, "weight b%[2%] is %-1" },
      { { x, y, { eps = 1, wa = { 1, 0 / 0, 1, 1, 1 } } }, "weight a%[2%] is" },
      { { x, y, { eps = 1, wa = { 0, 0, 0, 0, 0 } } }, "weights a sum to 0" },
      { { fm.tensor({ { 0, 0 / 0 } }, "float64"), y, { eps = 1 } }, "cost%[1, 1%] is %-?nan %(must be finite%)" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(fm.ot.sinkhorn, table.unpack(c[1]))
      assert.is_false(ok)
      assert.matches(c[2], err)
    end
    local ok, err = pcall(fm.ot.sinkhorn_cost, { { 1, 0 / 0 } }, { eps = 1 })
    assert.is_false(ok); assert.matches("cost%[1, 2%] is", err)
    ok, err = pcall(fm.ot.sinkhorn_cost, { 1, 2 }, { eps = 1 })
    assert.is_false(ok); assert.matches("the cost must be a %(n, m%)", err)
    ok, err = pcall(fm.ot.sample_plan, { { -1, 1 } }, 3)
    assert.is_false(ok); assert.matches("weight 1 is %-1", err)
  end)
end)

describe("fm.ot.sample_plan", function()
  it("draws pairs with the plan's frequencies, reproducibly", function()
    local P = fm.tensor({ { 0.1, 0.25, 0.05 }, { 0.3, 0, 0.3 } }, "float64")
    local k = 200000
    fm.seed(21)
    local r, c = fm.ot.sample_plan(P, k)
    fm.seed(21)
    local r2, c2 = fm.ot.sample_plan(P, k)
    assert.are.same(r:totable(), r2:totable())
    assert.are.same(c:totable(), c2:totable())
    local count = { { 0, 0, 0 }, { 0, 0, 0 } }
    local rt, ct = r:totable(), c:totable()
    for s = 1, k do count[rt[s]][ct[s]] = count[rt[s]][ct[s]] + 1 end
    for i = 1, 2 do
      for j = 1, 3 do
        local p = P[i][j]
        -- binomial counts: 5 standard deviations (a zero cell is never drawn)
        local sd = math.sqrt(k * p * (1 - p))
        assert.is_true(math.abs(count[i][j] - k * p) <= 5 * sd + 1e-9,
          ("cell %d %d: %d vs %g"):format(i, j, count[i][j], k * p))
      end
    end
  end)
end)

describe("fm.ot.sinkhorn against POT", function()
  local dir
  setup(function()
    local _, out = sh("mktemp -d /tmp/fm_sinkhorn_spec_XXXXXX")
    dir = out:gsub("%s+$", "")
  end)
  teardown(function() sh("rm -rf " .. dir) end)

  local cases = {
    { n = 40, m = 30, d = 2, eps = 0.5, weighted = false },
    { n = 25, m = 35, d = 5, eps = 1.0, weighted = true },
    { n = 50, m = 50, d = 2, eps = 0.2, weighted = true },
  }

  -- Writes case k's M, a, b as dir/M<k>.npy ...; returns x, y, a, b, C.
  local function write_case(k, case)
    local x, y = points(case.n, case.d, case.n), points(case.m, case.d, case.m, 0.3)
    local wa = case.weighted and weights(case.n, 1) or fm.ones(case.n, "float64")
    local wb = case.weighted and weights(case.m, 2) or fm.ones(case.m, "float64")
    local a, b = wa / wa:sum():item(), wb / wb:sum():item()
    local C = ((x:reshape(case.n, 1, case.d) - y:reshape(1, case.m, case.d)) ^ 2):sum(3)
    fm.save_npy(("%s/M%d.npy"):format(dir, k), C)
    fm.save_npy(("%s/a%d.npy"):format(dir, k), a)
    fm.save_npy(("%s/b%d.npy"):format(dir, k), b)
    return x, y, a, b, C
  end

  -- One Python run (its start-up dominates) for POT's plans of every case:
  -- dir/P<k>_sinkhorn.npy and dir/P<k>_sinkhorn_log.npy.
  local function run_pot()
    local eps = {}
    for k, case in ipairs(cases) do eps[k] = ("%.17g"):format(case.eps) end
    local code = "import numpy as np, ot, sys\n" ..
      "D = sys.argv[1]\n" ..
      "for k, e in enumerate([" .. table.concat(eps, ", ") .. "], 1):\n" ..
      "    L = lambda n: np.load('%s/%s%d.npy' % (D, n, k))\n" ..
      "    M, a, b = L('M'), L('a'), L('b')\n" ..
      "    for name, f in (('sinkhorn', ot.sinkhorn), ('sinkhorn_log', ot.bregman.sinkhorn_log)):\n" ..
      "        P = f(a, b, M, e, numItermax=200000, stopThr=1e-13)\n" ..
      "        np.save('%s/P%d_%s.npy' % (D, k, name), P)\n"
    local f = assert(io.open(dir .. "/pot.py", "w"))
    f:write(code)
    f:close()
    local ok, out = sh(("%s %q %q"):format(PY, dir .. "/pot.py", dir))
    assert(ok, out)
  end

  it("gives POT's plans (ot.sinkhorn, ot.bregman.sinkhorn_log) to 1e-12", function()
    local missing = pot_missing()
    if missing then pending(missing) return end
    local inputs = {}
    for k, case in ipairs(cases) do inputs[k] = { write_case(k, case) } end
    run_pot()
    for k, case in ipairs(cases) do
      local x, y, a, b, C = table.unpack(inputs[k])
      local opts = { eps = case.eps, wa = a, wb = b, tol = 1e-13, iters = 200000 }
      local P = fm.ot.sinkhorn(x, y, opts)
      -- all three stop at marginal errors <= 1e-13 on a unique plan whose
      -- entries are O(1 / nm) ~ 1e-3; 1e-12 absolute leaves a margin for the
      -- different stopping rules (L2 of columns in POT, L1 of rows here)
      for _, method in ipairs { "sinkhorn", "sinkhorn_log" } do
        local Q = fm.load_npy(("%s/P%d_%s.npy"):format(dir, k, method))
        assert.is_true(maxabs(P, Q) <= 1e-12,
          ("case %d, %s: %g"):format(k, method, maxabs(P, Q)))
      end
      -- the cost matrix form gives the same plan
      assert.is_true(maxabs(P, fm.ot.sinkhorn_cost(C, opts)) <= 1e-15)
    end
  end)
end)

describe("SB-CFM (fm.coupling.sb)", function()
  it("pairs by the entropic plan with eps = 2 sigma^2", function()
    local sb = fm.coupling.sb(0.5)
    assert.equal(0.5, sb.eps)
    assert.equal(0.5, sb.path.sigma)
    fm.seed(31)
    local z = fm.data.moons():sample(256, "float64")
    local x0 = fm.randn(256, 2, "float64")
    local zz, xx, info = sb:pair(z, x0)
    assert.is_true(info.converged)
    -- every returned row is a row of z (resp. x0): each is its own nearest row
    local function rows_of(p, q)
      local D = ((p:reshape(256, 1, 2) - q:reshape(1, 256, 2)) ^ 2):sum(3)
      return D:min(2):max():item() == 0
    end
    assert.is_true(rows_of(zz, z) and rows_of(xx, x0))
    -- the pairs' mean squared displacement lies between the exact OT one and
    -- the independent one (entropy blurs the plan); for these sets it is
    -- within 25% of OT and far below independent (~12 vs ~4)
    local _, _, ot = fm.coupling.ot(z, x0)
    local ind = ((z - x0) ^ 2):sum():item() / 256
    local msd = ((zz - xx) ^ 2):sum():item() / 256
    assert.is_true(msd > ot / 256 * 0.8 and msd < ot / 256 * 1.25 and msd < 0.5 * ind,
      ("sb %g, ot %g, independent %g"):format(msd, ot / 256, ind))
  end)

  it("its conditional field is the time derivative of its path", function()
    local sb = fm.coupling.sb(0.7)
    fm.seed(32)
    local z, x0, eps = fm.randn(8, 2, "float64"), fm.randn(8, 2, "float64"), fm.randn(8, 2, "float64")
    for _, t in ipairs { 0.1, 0.37, 0.5, 0.9 } do
      local h = 1e-5
      local fd = (sb.path:sample(z, x0, t + h, eps) - sb.path:sample(z, x0, t - h, eps)) / (2 * h)
      -- central differences: O(h^2 |psi'''|) ~ 1e-9 here, rounding 1e-16 / h ~ 1e-11
      assert.is_true(maxabs(sb.path:velocity_eps(z, x0, eps, t), fd) <= 1e-7)
      local xt = sb.path:sample(z, x0, t, eps)
      assert.is_true(maxabs(sb.path:velocity(xt, z, x0, t), fd) <= 1e-7)
    end
  end)

  it("rejects a bad sigma and a missing eps", function()
    local ok, err = pcall(fm.coupling.sb, 0)
    assert.is_false(ok); assert.matches("sigma must be a finite number > 0", err)
    ok, err = pcall(fm.coupling.sinkhorn, fm.randn(4, 2), nil, {})
    assert.is_false(ok); assert.matches("opts.eps", err)
  end)
end)
