-- fm.likelihood (docs/math.md §6): log-densities of continuous normalising flows
-- against exact mixture log-densities.
local fm = require "fm"

-- Linear schedule, data N(m, s^2 I): the marginal field is affine in x,
-- u_t(x) = m + c(t) (x - t m), c(t) = (t s^2 - (1 - t)) / (t^2 s^2 + (1 - t)^2),
-- written with tensor ops so autograd differentiates it (the vjp path).
local m, s = fm.tensor({{1.0, -0.5}}, "float64"), 0.7
local function affine(x, t)
  local c = (t * s * s - (1 - t)) / (t * t * s * s + (1 - t) ^ 2)
  return (x - m * t) * c + m
end
local single = fm.data.gmm{means = {{1.0, -0.5}}, stds = s}

describe("fm.likelihood", function()
  it("exact divergence by vector-Jacobian products matches a Gaussian's log p", function()
    fm.seed(1)
    local x = single:sample(300):double()
    local lp = fm.likelihood(affine, x, {exact = true, steps = 50})
    local mae = (lp - single:log_prob(x):double()):abs():mean():item()
    assert.is_true(mae < 1e-4, "mae " .. mae)  -- rk4, 50 steps: about 1e-8
  end)

  it("Hutchinson's estimator is unbiased (diagonal Jacobian: exact; general: within SE)", function()
    fm.seed(2)
    local x = single:sample(300):double()
    local lp = fm.likelihood(affine, x, {probes = 2, steps = 50})
    assert.is_true((lp - single:log_prob(x):double()):abs():mean():item() < 1e-4)
    -- a rotating field has a non-diagonal Jacobian: eps^T J eps is noisy per
    -- sample but its mean over 300 samples stays within 4 standard errors
    local A = fm.tensor({{0.3, 1.2}, {-0.8, -0.1}}, "float64")
    local rot = function(y) return y:mm(A) end
    local exact = fm.likelihood(rot, x, {steps = 20})
    local est = fm.likelihood(rot, x, {probes = 1, steps = 20})
    local d = est - exact
    local se = d:std():item() / math.sqrt(300)
    assert.is_true(d:std():item() > 1e-3)          -- the estimator is random
    assert.is_true(math.abs(d:mean():item()) < 4 * se + 1e-9)
  end)

  it("the exact marginal field of a mixture gives its exact log_prob (< 0.05 nats)", function()
    local g = fm.data.gmm{means = {{-2, 0}, {2, 1}, {0, 2.5}}, stds = {0.5, 0.4, 0.6},
                          weights = {1, 2, 1}}
    for _, name in ipairs{"linear", "cosine"} do
      fm.seed(3)
      local x = g:sample(300):double()
      local lp = fm.likelihood(fm.path.gaussian(name):marginal(g), x, {steps = 100})
      local mae = (lp - g:log_prob(x):double()):abs():mean():item()
      assert.is_true(mae < 0.05, name .. " mae " .. mae)
    end
  end)

  it("bits per dimension; option errors", function()
    local lp = fm.tensor({-2 * math.log(2), 0}, "float64")
    assert.tensor_near({1, 0}, fm.likelihood.bpd(lp, 2), 1e-12)
    assert.tensor_near({1 + 8, 8}, fm.likelihood.bpd(lp, 2, 256), 1e-12)
    assert.has_error(function() fm.likelihood(affine, fm.zeros({2, 2}, "float64"), {exact = true, probes = 2}) end)
    assert.has_error(function() fm.likelihood(affine, fm.zeros({2, 2}, "float64"), {method = "rk9"}) end)
  end)
end)
