-- Reverse-mode rules against central finite differences in float64
-- (fm.gradcheck: eps = 1e-6, so the truncation error is O(eps^2 f''') ~ 1e-12
-- and the rounding error O(1e-16 / eps) ~ 1e-10; tolerance 1e-5 + 1e-3 rel).
local fm = require "fm"

local function X(...) fm.seed(7); return fm.randn(...):double() end
local function pos(...) return X(...):abs() + 0.5 end

local function check(name, fn, inputs)
  it(name, function()
    local ok, msg = fm.gradcheck(fn, inputs)
    assert(ok, msg)
  end)
end

describe("gradcheck of every rule", function()
  local a, b, c = X(3, 4), X(3, 4) * 0.7 + 0.1, X(4)
  check("add/sub/mul/div with broadcasting", function(x, y, z)
    return (x + y) * z - x / (y:abs() + 1) + z
  end, {a, b, c})
  check("scalar ops", function(x) return 2 - x * 3 + 1 / (x:abs() + 1) + (x ^ 3) / 4 end, {a})
  check("pow tensor^tensor", function(x, y) return x ^ y end, {pos(3), X(3)})
  check("rpow scalar^tensor", function(x) return 2 ^ x end, {a})
  check("unary functions", function(x)
    return x:exp() + x:sin() * x:cos() + x:tanh() + x:sigmoid() + x:silu()
      + x:gelu() + x:softplus() + x:square() + x:atan2(x * 0 + 1)
  end, {a})
  check("log, sqrt, reciprocal, log1p, expm1", function(x)
    return x:log() + x:sqrt() + x:reciprocal() + x:log1p() + x:expm1()
  end, {pos(2, 3)})
  check("abs, relu, clamp away from kinks", function(x)
    return x:abs() + x:relu() + x:clamp(-0.5, 0.5)
  end, {fm.tensor({{-1.3, 0.2, 2.1}, {0.9, -0.3, -2.2}}, "float64")})
  check("maximum, minimum, where", function(x, y)
    return fm.maximum(x, y) + fm.minimum(x, y) * 2 + fm.where(x:gt(0), x, y)
  end, {a, b})
  check("sum, mean over all and dims", function(x)
    return x:sum() + x:sum(1):sum() + x:mean(2, true):sum() * x:mean()
  end, {a})
  check("max, min, prod, var, norm, logsumexp", function(x)
    return x:max() + x:min(2):sum() + x:prod() + x:var(1):sum() + x:norm()
      + x:norm(3, 2):sum() + x:logsumexp(2):sum()
  end, {a})
  check("softmax, log_softmax", function(x)
    return x:softmax(2) * x + x:log_softmax(1)
  end, {a})
  check("mm and bmm", function(x, y) return x:mm(y:t()) end, {a, b})
  check("bmm", function(x, y) return x:bmm(y) end, {X(2, 3, 4), X(2, 4, 5)})
  check("cdist2", function(x, y) return x:cdist2(y) end, {X(3, 2), X(4, 2)})
  check("views", function(x)
    return x:narrow(2, 2, 2):t():reshape(-1) * 2
      + x:select(1, 2):sum()
  end, {a})
  check("transpose, permute, expand, squeeze", function(x)
    return x:permute(2, 1):unsqueeze(1):expand(2, 4, 3):sum(1):squeeze() * 3
  end, {a})
  check("index, gather, scatter_add, index_add", function(x, y)
    local i = fm.tensor({3, 1, 3}, "int64")
    local g = fm.tensor({{1, 2, 1, 1}, {4, 4, 3, 1}, {2, 2, 2, 2}}, "int64")
    return x:index(1, i):sum(1) + x:gather(2, g):sum(2):sum()
      + x:scatter_add(2, g, y):sum(1) + x:index_add(1, i, y):sum(1)
  end, {a, b})
  check("cat and stack", function(x, y)
    return fm.cat({x, y * 2}, 1):sum(1) + fm.stack({x, y}):sum(1):sum(1)
  end, {a, b})
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
