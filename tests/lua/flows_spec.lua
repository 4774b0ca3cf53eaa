-- flows_spec.lua — fm.flows (affine coupling flows, docs/math.md §6
-- "Normalizing flows"): inverse of forward is the identity, the log-dets are
-- log|det| of central-difference Jacobians, a short maximum-likelihood run
-- closes most of the gap to the exact NLL of a mixture, and bad
-- configurations are errors.
local fm = require "fm"

-- a flow with random (non-identity) parameters, float64
local function random_flow(d, opts)
  opts = opts or {}
  local flow = fm.flows.realnvp{dim = d, layers = opts.layers or 6, hidden = {16, 16},
    dtype = "float64", scale = opts.scale, scale_max = opts.scale_max}
  for _, p in ipairs(flow:parameters()) do p:normal_(0, opts.std or 0.4) end
  return flow
end

-- log |det A| of a small dense matrix (rows of numbers) by Gaussian
-- elimination with partial pivoting
local function logabsdet(A)
  local n, s = #A, 0
  for k = 1, n do
    local p = k
    for i = k + 1, n do if math.abs(A[i][k]) > math.abs(A[p][k]) then p = i end end
    A[k], A[p] = A[p], A[k]
    s = s + math.log(math.abs(A[k][k]))
    for i = k + 1, n do
      local f = A[i][k] / A[k][k]
      for j = k, n do A[i][j] = A[i][j] - f * A[k][j] end
    end
  end
  return s
end

-- the Jacobian of map at the row x (1, d) by central differences, as rows
local function fd_jacobian(map, x, h)
  local d = x:size(2)
  local J = {}
  for i = 1, d do J[i] = {} end
  for j = 1, d do
    local e = fm.zeros({1, d}, "float64")
    e:narrow(2, j, 1):fill(h)
    local col = ((map(x + e) - map(x - e)) / (2 * h)):reshape(d):totable()
    for i = 1, d do J[i][j] = col[i] end
  end
  return J
end

describe("fm.flows.realnvp", function()
  for _, case in ipairs { { 2, "tanh" }, { 5, "tanh" }, { 3, "clamp" }, { 6, "clamp" } } do
    local d, scale = case[1], case[2]
    it(("d = %d, scale %s: inverse(forward(x)) = x to 1e-10"):format(d, scale), function()
      fm.seed(d)
      local flow = random_flow(d, { scale = scale, scale_max = scale == "clamp" and 0.5 or 1 })
      local x = fm.randn(200, d, "float64") * 2
      local z, ld = flow:forward(x)
      -- the flow is far from the identity, so the check is not vacuous
      assert.is_true((z - x):abs():max():item() > 0.1)
      local xr, ldi = flow:inverse(z)
      assert.is_true((xr - x):abs():max():item() <= 1e-10)
      assert.is_true((ld + ldi):abs():max():item() <= 1e-10)
      local zr = flow:forward((flow:inverse(z)))
      assert.is_true((zr - z):abs():max():item() <= 1e-10)
    end)

    it(("d = %d, scale %s: log-dets equal log|det| of finite-difference Jacobians"):format(d, scale),
      function()
        fm.seed(10 + d)
        local flow = random_flow(d, { scale = scale, scale_max = scale == "clamp" and 0.5 or 1 })
        local fwd = function(x) return (flow:forward(x)) end
        local inv = function(z) return (flow:inverse(z)) end
        for k = 1, 4 do
          local x = fm.randn(1, d, "float64")
          local _, ld = flow:forward(x)
          local _, ldi = flow:inverse(x)
          -- central differences, h = 1e-5: truncation O(h^2 |f'''|) ~ 1e-10,
          -- rounding 1e-16 / h ~ 1e-11 per entry; log|det| errors stay ~1e-9.
          -- (A clamp is only piecewise smooth; a kink within h of x is
          -- improbable at random points, and would show up as a gross error.)
          local want = logabsdet(fd_jacobian(fwd, x, 1e-5))
          assert.is_true(math.abs(ld:item() - want) <= 1e-7,
            ("point %d: %.12g vs %.12g"):format(k, ld:item(), want))
          local wanti = logabsdet(fd_jacobian(inv, x, 1e-5))
          assert.is_true(math.abs(ldi:item() - wanti) <= 1e-7)
        end
      end)
  end

  it("starts as the identity and log_prob is then the standard normal's", function()
    local flow = fm.flows.realnvp{dim = 3, dtype = "float64"}
    local x = fm.randn(10, 3, "float64")
    local z, ld = flow:forward(x)
    assert.equal(0, (z - x):abs():max():item())
    assert.equal(0, ld:abs():max():item())
    local want = (x ^ 2):sum(2) * -0.5 - 1.5 * math.log(2 * math.pi)
    assert.is_true((flow:log_prob(x) - want):abs():max():item() <= 1e-14)
  end)

  it("maximum likelihood on a mixture closes most of the gap to the exact NLL", function()
    fm.seed(4)
    local target = fm.data.gmm{means = {{-2, -1}, {2, -1}, {0, 2.5}}, stds = {0.3, 0.6, 0.45},
                               weights = {0.5, 0.3, 0.2}}
    local held = target:sample(2000):double()
    local exact = fm.metrics.nll(held, target)
    local flow = fm.flows.realnvp{dim = 2, layers = 6, hidden = {32, 32}, dtype = "float64"}
    local before = -flow:log_prob(held):mean():item()
    fm.flows.fit(flow, target, {steps = 400, batch = 256, lr = 5e-3, label = "spec"})
    local after = -flow:log_prob(held):mean():item()
    -- the held-out estimate of the exact NLL has standard error ~ sd(log p) /
    -- sqrt(2000) ~ 0.03: a model cannot beat it by more than a few of those
    assert.is_true(after > exact - 0.15, ("after %g, exact %g"):format(after, exact))
    -- N(0, I) is ~1.8 nats worse than the exact NLL; 400 steps remove most of it
    assert.is_true(after - exact < 0.2 * (before - exact),
      ("before %g, after %g, exact %g"):format(before, after, exact))
  end)

  it("samples through the inverse on the seeded generator", function()
    local flow = random_flow(2)
    fm.seed(5)
    local a = flow:sample(50)
    fm.seed(5)
    local z = fm.randn(50, 2, "float64")
    assert.is_true((a - flow:inverse(z)):abs():max():item() == 0)
  end)

  it("rejects configurations that are not invertible couplings, naming them", function()
    local cases = {
      { { dim = 1 }, "dim must be an integer >= 2" },
      { { dim = 2.5 }, "dim must be an integer >= 2" },
      { { dim = 2, layers = 0 }, "layers must be an integer >= 1" },
      { { dim = 2, scale = "exp" }, "scale must be \"tanh\" or \"clamp\"" },
      { { dim = 2, scale_max = 0 }, "scale_max must be a finite number > 0" },
      { { dim = 2, scale_max = 1 / 0 }, "scale_max" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(fm.flows.realnvp, c[1])
      assert.is_false(ok)
      assert.matches(c[2], err, 1, true)
    end
    local ok, err = pcall(fm.flows.AffineCoupling, { 1, 1 }, {})
    assert.is_false(ok); assert.matches("not an invertible coupling", err)
    ok, err = pcall(fm.flows.AffineCoupling, { 1, 0.5 }, {})
    assert.is_false(ok); assert.matches("mask entries must be 0 or 1", err)
    local flow = fm.flows.realnvp{dim = 3}
    ok, err = pcall(flow.forward, flow, fm.randn(4, 2))
    assert.is_false(ok); assert.matches("x must be an (n, 3) tensor, got (4, 2)", err, 1, true)
    ok, err = pcall(flow.inverse, flow, {1, 2, 3})
    assert.is_false(ok); assert.matches("z must be an (n, 3) tensor, got table", err, 1, true)
  end)
end)
