-- layers_spec.lua — every fm.nn layer (each one C layer kind) through the
-- Lua API, in float64: reverse mode against central differences
-- (fm.gradcheck: eps 1e-6, truncation O(eps^2) ~ 1e-12, rounding
-- O(1e-16 / eps) ~ 1e-10; tolerance 1e-5 + 1e-3 relative), forward mode
-- (fm.jvp) against central differences of the function along the tangent,
-- fm.jvp{create_graph = true} differentiated again by reverse mode, and the
-- error messages for bad shapes. The kernels themselves are checked in C
-- (tests/engine/test_layer_*.c).
local fm = require "fm"
local nn = fm.nn

local D = "float64"
local function X(...) return fm.randn({...}, D) end

-- max |a - b| / max(1, max |b|)
local function rel(a, b)
  return (a - b):abs():max():item() / math.max(1, b:abs():max():item())
end

-- f's jvp at xs along ts against (f(x + e t) - f(x - e t)) / 2e
local function check_jvp(f, xs, ts, tol)
  local y, jv = fm.jvp(f, xs, ts)
  local e = 1e-6
  local up, dn = {}, {}
  for i, x in ipairs(xs) do up[i] = x + ts[i] * e; dn[i] = x - ts[i] * e end
  local fd = (f(table.unpack(up)) - f(table.unpack(dn))) / (2 * e)
  assert.is_true(rel(jv, fd) < (tol or 1e-7), "jvp error " .. rel(jv, fd))
  assert.is_true(rel(y, f(table.unpack(xs))) < 1e-14)
end

-- a module's function of its input and of its parameters (as inputs)
local function with_params(m)
  local ps = m:parameters()
  return function(x, ...)
    local saved = {}
    for i, p in ipairs({...}) do
      local k = ps[i].name:match("([^.]+)$")
      saved[i] = m[k]
      rawset(m, k, p)
    end
    local y = m(x)
    for i, p in ipairs(ps) do rawset(m, p.name:match("([^.]+)$"), saved[i] or p) end
    return y
  end, ps
end

local function check_module(name, m, x)
  describe(name, function()
    local f, ps = with_params(m)
    local inputs = {x}
    for _, p in ipairs(ps) do inputs[#inputs + 1] = p:detach():clone() end
    it("backward matches central differences (input and parameters)", function()
      local ok, msg = fm.gradcheck(f, inputs)
      assert(ok, msg)
    end)
    it("jvp matches central differences (input and parameter tangents)", function()
      local ts = {}
      for i, v in ipairs(inputs) do ts[i] = fm.randn(v:shape(), D) end
      check_jvp(f, inputs, ts)
      check_jvp(function(z) return m(z) end, {x}, {ts[1]})
    end)
    -- (a layer without parameters that is linear in its input has a jvp
    -- that does not depend on the input: nothing to differentiate)
    local linear_only = #ps == 0 and (name:find("Upsample") or name:find("AvgPool"))
    if not linear_only then it("jvp with create_graph is differentiable by reverse mode", function()
      local tx = fm.randn(x:shape(), D)
      local w = fm.randn(m(x):shape(), D)
      local ok, msg = fm.gradcheck(function(...)
        local args = {...}
        local _, jv = fm.jvp(function(z) return f(z, table.unpack(args, 2)) end,
                             {args[1]}, {tx}, {create_graph = true})
        return jv * w
      end, inputs)
      assert(ok, msg)
    end) end
  end)
end

fm.seed(3)
check_module("Linear", nn.Linear(3, 4, {dtype = D}), X(5, 3))
check_module("Linear on (N, T, in)", nn.Linear(3, 2, {dtype = D}), X(2, 3, 3))
check_module("Conv2d 3x3 padding 1", nn.Conv2d(2, 3, 3, {padding = 1, dtype = D}), X(2, 2, 5, 4))
check_module("Conv2d 3x3 stride 2", nn.Conv2d(2, 2, 3, {stride = 2, padding = 1, dtype = D}),
             X(1, 2, 5, 5))
check_module("Conv2d 1x1 without bias", nn.Conv2d(3, 2, 1, {bias = false, dtype = D}),
             X(2, 3, 3, 2))
check_module("GroupNorm", nn.GroupNorm(2, 4, {dtype = D}), X(2, 4, 3, 3))
check_module("GroupNorm with SiLU", nn.GroupNorm(2, 4, {act = "silu", dtype = D}), X(2, 4, 2, 3))
check_module("LayerNorm", nn.LayerNorm(5, {dtype = D}), X(3, 5))
check_module("Upsample", nn.Upsample(2, {dtype = D}), X(2, 2, 3, 2))
check_module("AvgPool2d (odd size)", nn.AvgPool2d(2, {dtype = D}), X(1, 2, 5, 4))
check_module("Attention, 2 heads", nn.Attention(4, {heads = 2, groups = 2, dtype = D}),
             X(2, 4, 2, 3))

describe("the act kind", function()
  for _, act in ipairs{"silu", "gelu", "tanh", "sigmoid", "relu"} do
    it(act .. ": the tensor op's values, gradcheck and jvp", function()
      local l = fm._layer.new("act", {act = act, dtype = D}, {})
      local x = X(3, 5) + 0.05   -- relu: away from the kink at 0 (seeded draw)
      assert.tensor_near(x[act](x), l(x), 0)
      local ok, msg = fm.gradcheck(function(z) return l(z) end, {x})
      assert(ok, msg)
      check_jvp(function(z) return l(z) end, {x}, {X(3, 5)})
    end)
  end
end)

describe("ResBlock, cat, Embedding, MLP", function()
  it("ResBlock: gradcheck in x and the embedding, jvp", function()
    local r = nn.ResBlock(2, 4, 3, {groups = 2, dtype = D})
    local x, e = X(2, 2, 3, 3), X(2, 3)
    local ok, msg = fm.gradcheck(function(a, b) return r(a, b) end, {x, e})
    assert(ok, msg)
    check_jvp(function(a, b) return r(a, b) end, {x, e}, {X(2, 2, 3, 3), X(2, 3)})
  end)
  it("nn.cat along the channels: gradcheck and jvp", function()
    local f = function(a, b) return nn.cat({a, b * 2}) end
    local a, b = X(2, 1, 2, 2), X(2, 3, 2, 2)
    assert(fm.gradcheck(f, {a, b}))
    check_jvp(f, {a, b}, {X(2, 1, 2, 2), X(2, 3, 2, 2)})
  end)
  it("Embedding(n, d) and {classes =, dim =}: rows, gradient, parameter jvp", function()
    local e = nn.Embedding(4, 3, {dtype = D})
    local idx = fm.tensor({2, 4, 2}, "int64")
    assert.tensor_near(e.weight:index(1, idx), e(idx), 0)
    local ok, msg = fm.gradcheck(function(w) rawset(e, "weight", w); return e(idx) end,
                                 {e.weight:detach():clone()})
    assert(ok, msg)
    local tw = X(4, 3)
    local _, jv = fm.jvp(function() return e(idx) end, {}, {},
                         {params = {e.weight}, param_tangents = {tw}})
    assert.tensor_near(tw:index(1, idx), jv, 0)
    local lab = nn.Embedding{classes = 3, dim = 2}
    assert.equal(4, lab.null)
    assert.has_error(function() e(fm.tensor({5}, "int64")) end)
  end)
  it("the MLP's C tangent forward matches central differences, in x and in parameters", function()
    local net = nn.mlp{inputs = 3, hidden = {8, 8}, outputs = 2, act = "gelu", dtype = D}
    local x, u = X(7, 3), X(7, 3)
    check_jvp(function(z) return net(z) end, {x}, {u})
    local ps = net:parameters()
    local ts = {}
    for i, p in ipairs(ps) do ts[i] = fm.randn(p:shape(), D) end
    local _, jv = fm.jvp(function(z) return net(z) end, {x}, {u}, {params = ps, param_tangents = ts})
    local e = 1e-6
    local function at(s)
      fm.no_grad(function()
        for i, p in ipairs(ps) do p:detach():copy(p:detach() + ts[i] * s) end
      end)
      local y = fm.no_grad(function() return net(x + u * s) end)
      fm.no_grad(function()
        for i, p in ipairs(ps) do p:detach():copy(p:detach() - ts[i] * s) end
      end)
      return y
    end
    assert.is_true(rel(jv, (at(e) - at(-e)) / (2 * e)) < 1e-7)
  end)
end)

describe("fm.jvp", function()
  it("returns outputs that keep their graph, and detached tangents", function()
    local net = nn.mlp{inputs = 2, hidden = {4}, outputs = 2, dtype = D}
    local y, jv = fm.jvp(function(z) return net(z) end, {X(3, 2)}, {X(3, 2)})
    assert.is_true(y.requires_grad)
    assert.is_false(jv.requires_grad)
    y:sum():backward()
    assert.is_not_nil(net.layers[1].weight.grad)
  end)
  it("names a tangent of the wrong shape, and refuses nesting", function()
    local f = function(z) return z * 2 end
    local ok, err = pcall(fm.jvp, f, {X(3, 2)}, {X(2, 2)})
    assert.is_false(ok)
    assert.truthy(tostring(err):find("tangent 1 has shape (2, 2)", 1, true))
    ok, err = pcall(fm.jvp, function(z) return fm.jvp(f, {z}, {z}) end, {X(2)}, {X(2)})
    assert.is_false(ok)
    assert.truthy(tostring(err):find("nested", 1, true))
    -- forward mode is off again after an error
    local _, jv = fm.jvp(f, {X(2)}, {fm.ones({2}, D)})
    assert.tensor_near({2, 2}, jv, 0)
  end)
end)

describe("layer errors name the layer and the shapes", function()
  local cases = {
    {"conv2d", function() return nn.Conv2d(3, 4, 3)(fm.randn(1, 2, 5, 5)) end, "channels"},
    {"conv2d", function() return nn.Conv2d(1, 1, 5)(fm.randn(1, 1, 3, 3)) end, "kernel"},
    {"group_norm", function() return nn.GroupNorm(3, 4) end, "divide"},
    {"linear", function() return nn.Linear(3, 2)(fm.randn(4, 2)) end, "(4, 2)"},
    {"attention", function() return fm._layer.new("attention", {["in"] = 4}, {})(fm.randn(1, 5, 2, 2)) end,
     "channels"},
    {"concat", function() return nn.cat({fm.randn(1, 2, 3, 3), fm.randn(2, 2, 3, 3)}) end, "input"},
  }
  for _, c in ipairs(cases) do
    it(c[1] .. ": " .. c[3], function()
      local ok, err = pcall(c[2])
      assert.is_false(ok)
      err = tostring(err)
      assert.truthy(err:find(c[1], 1, true), err)
      assert.truthy(err:find(c[3], 1, true), err)
    end)
  end
end)

describe("fm.nn.unet", function()
  it("has exactly UNet-S's parameter counts at C = 16 and C = 32", function()
    assert.equal(203505, nn.unet{channels = 16}:num_parameters())
    assert.equal(799201, nn.unet{channels = 32}:num_parameters())
  end)
  it("a small U-Net (times = 2): gradcheck in x, jvp along (x, s, t)", function()
    fm.seed(5)
    local net = nn.unet{channels = 8, mults = {1, 2}, attention = {false, true}, classes = 3,
                        times = 2, dtype = D}
    local x, y = X(2, 1, 4, 4), fm.tensor({1, 4}, "int64")
    local s, t = fm.tensor({0.1, 0.4}, D), fm.tensor({0.6, 0.9}, D)
    local f = function(z, a, b) return net(z, a, b, y) end
    assert.same({2, 1, 4, 4}, f(x, s, t):shape())
    local ok, msg = fm.gradcheck(function(z) return f(z, s, t) end, {x})
    assert(ok, msg)
    check_jvp(f, {x, s, t}, {X(2, 1, 4, 4), fm.zeros({2}, D), fm.ones({2}, D)}, 1e-6)
  end)
end)
