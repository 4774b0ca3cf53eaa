-- jvp_spec.lua — every forward-mode rule (scripts/fm/autograd/jvp.lua)
-- against central differences of the function along the tangent, in
-- float64: (f(x + e u) - f(x - e u)) / 2e with e = 1e-6 has truncation error
-- O(e^2 f''') ~ 1e-12 and rounding error O(1e-16 / e) ~ 1e-10, so 1e-7
-- relative to the largest entry. The same functions as autograd_spec.lua.
local fm = require "fm"

local function X(...) fm.seed(11); return fm.randn(...):double() end
local function pos(...) return X(...):abs() + 0.5 end

local function check(name, fn, inputs)
  it(name, function()
    local ts = {}
    for i, x in ipairs(inputs) do ts[i] = fm.randn(x:shape(), "float64") end
    local y, jv = fm.jvp(fn, inputs, ts)
    local e = 1e-6
    local up, dn = {}, {}
    for i, x in ipairs(inputs) do up[i] = x + ts[i] * e; dn[i] = x - ts[i] * e end
    local fd = (fn(table.unpack(up)) - fn(table.unpack(dn))) / (2 * e)
    local err = (jv - fd):abs():max():item() / math.max(1, fd:abs():max():item())
    assert(err < 1e-7, name .. ": jvp error " .. err)
    assert.tensor_near(fn(table.unpack(inputs)), y, 0)
  end)
end

describe("forward rule of every op against central differences", function()
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
  check("activation derivatives", function(x)
    return x:silu_grad() + x:gelu_grad() + x:tanh_grad() + x:sigmoid_grad() + x:softplus_grad()
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
  check("mm", function(x, y) return x:mm(y:t()) end, {a, b})
  check("bmm", function(x, y) return x:bmm(y) end, {X(2, 3, 4), X(2, 4, 5)})
  check("cdist2", function(x, y) return x:cdist2(y) end, {X(3, 2), X(4, 2)})
  check("views", function(x)
    return x:narrow(2, 2, 2):t():reshape(-1) * 2 + x:select(1, 2):sum()
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
  check("clone, to, sum_to", function(x)
    return x:clone() * 2 + x:sum_to({1, 4}) + x:to("float64")
  end, {a})
end)

describe("forward mode through fields", function()
  it("a jvp through fm.field(net) equals the network's on [x, t]", function()
    local net = fm.nn.mlp{inputs = 3, hidden = {8}, outputs = 2, dtype = "float64"}
    local field = fm.field(net)
    local x, u = X(5, 2), X(5, 2)
    local _, j1 = fm.jvp(function(z) return field(z, 0.3) end, {x}, {u})
    local t = fm.full({5, 1}, 0.3, "float64")
    local _, j2 = fm.jvp(function(z) return net(fm.cat({z, t}, 2)) end, {x}, {u})
    assert.tensor_near(j2, j1, 1e-14)
  end)
  it("a jvp with create_graph of a plain op chain is differentiable", function()
    local ok, msg = fm.gradcheck(function(x)
      local _, jv = fm.jvp(function(z) return (z * x):tanh():exp() end, {x}, {x * 0 + 1},
                           {create_graph = true})
      return jv
    end, {X(3)})
    assert(ok, msg)
  end)
end)
