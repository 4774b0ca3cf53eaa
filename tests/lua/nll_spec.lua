-- fm.metrics.nll against the closed form: for x ~ N(m, s^2) in d dims the
-- expected NLL is the entropy d/2 log(2 pi e s^2); the sample mean has
-- standard error sd(log p)/sqrt(n) with sd(log p) = sqrt(d/2) (chi-square).
local fm = require "fm"

describe("fm.metrics.nll", function()
  it("equals the entropy of a Gaussian within 5 standard errors", function()
    fm.seed(3)
    local d, n, s = 2, 20000, 0.7
    local g = fm.data.gmm{means = {{1, -2}}, stds = {{s, s}}, weights = {1}}
    local x = g:sample(n)
    local expected = d / 2 * math.log(2 * math.pi * math.exp(1) * s * s)
    local se = math.sqrt(d / 2) / math.sqrt(n)
    assert.near(expected, fm.metrics.nll(x, g), 5 * se)
  end)

  it("names a bad distribution", function()
    assert.has_error(function() fm.metrics.nll(fm.zeros(2, 2), 3) end,
      "metrics.nll: bad argument #2 (distribution with :log_prob expected)")
  end)
end)
