-- op_cases.lua — the differentiable ops exercised by the rule specs
-- (autograd_spec.lua: reverse rules; jvp_spec.lua: forward rules): a list of
-- {name, function, inputs}, float64 inputs from a fixed seed.
local fm = require "fm"

return function(seed)
  local function X(...) fm.seed(seed); return fm.randn(...):double() end
  local function pos(...) return X(...):abs() + 0.5 end
  local cases = {}
  local function check(name, fn, inputs) cases[#cases + 1] = {name, fn, inputs} end
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
  check("activation derivatives", function(x)
    return x:silu_grad() + x:gelu_grad() + x:tanh_grad() + x:sigmoid_grad() + x:softplus_grad()
  end, {a})
  check("clone, to, sum_to", function(x)
    return x:clone() * 2 + x:sum_to({1, 4}) + x:to("float64")
  end, {a})
  return cases
end
