-- Reverse-mode rules against central finite differences in float64
-- (fm.gradcheck: eps = 1e-6, so the truncation error is O(eps^2 f''') ~ 1e-12
-- and the rounding error O(1e-16 / eps) ~ 1e-10; tolerance 1e-5 + 1e-3 rel).
local fm = require "fm"

local src = os.getenv("FM_SOURCE_DIR") or "."
local cases = dofile(src .. "/tests/lua/op_cases.lua")
local function X(...) fm.seed(7); return fm.randn(...):double() end

local function check(name, fn, inputs)
  it(name, function()
    local ok, msg = fm.gradcheck(fn, inputs)
    assert(ok, msg)
  end)
end

describe("gradcheck of every rule", function()
  for _, c in ipairs(cases(7)) do check(c[1], c[2], c[3]) end
end)

describe("autograd API", function()
  it("accumulates .grad on parameters and releases the graph", function()
    local w = fm.param(fm.tensor({1, 2, 3}, "float64"))
    local loss = (w * w):sum()
    loss:backward()
    assert.same({2, 4, 6}, w.grad:totable())
    assert.has_error(function() loss:backward() end)
    local loss2 = (w * 3):sum()
    loss2:backward()
    assert.same({5, 7, 9}, w.grad:totable())
  end)

  it("fm.grad leaves .grad alone; no_grad records nothing; detach cuts", function()
    local x = fm.tensor({1, 2}, "float64"):requires_grad_()
    local y = (x ^ 3):sum()
    local g = fm.grad(y, x)
    assert.same({3, 12}, g:totable())
    assert.is_nil(x.grad)
    local z = fm.no_grad(function() return x * 2 end)
    assert.is_false(z.requires_grad)
    assert.is_false(x:detach().requires_grad)
  end)

  it("second derivatives with create_graph", function()
    local x = fm.tensor({0.3, -1.2}, "float64"):requires_grad_()
    local y = (x:silu() * x:sin()):sum()
    local g = fm.grad(y, x, {create_graph = true})
    local h = fm.grad(g:sum(), x)
    -- finite difference of the first derivative
    local function d1(v)
      local t = fm.tensor(v, "float64"):requires_grad_()
      return fm.grad((t:silu() * t:sin()):sum(), t):totable()
    end
    local e = 1e-6
    local p, m = d1({0.3 + e, -1.2 + e}), d1({0.3 - e, -1.2 - e})
    assert.near((p[1] - m[1]) / (2 * e), h[1], 1e-6)
    assert.near((p[2] - m[2]) / (2 * e), h[2], 1e-6)
  end)

  it("jvp equals finite differences", function()
    local x, u = X(3, 2), X(3, 2)
    local f = function(t) return (t:mm(fm.tensor({{1, 2}, {3, 4}}, "float64"))):tanh() * t end
    local out, jv = fm.jvp(f, x, u)
    local e = 1e-6
    local fd = (f(x + u * e) - f(x - u * e)) / (2 * e)
    assert.tensor_near(fd, jv, 1e-7)
    assert.tensor_near(f(x), out, 0)
  end)
end)

describe("second-order rules of activations", function()
  for _, act in ipairs{"silu", "gelu", "tanh", "sigmoid", "softplus"} do
    it(act .. "'' matches finite differences of " .. act .. "'", function()
      local ok, msg = fm.gradcheck(function(x)
        return fm.grad((x[act](x)):sum(), x, {create_graph = true})
      end, {fm.tensor({-2.1, -0.4, 0.3, 1.7}, "float64")})
      assert(ok, msg)
    end)
  end
end)
