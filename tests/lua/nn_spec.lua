-- nn_spec.lua — fm.nn modules, and the fused MLP checked against the generic
-- autograd path (same parameters, composed ops) and finite differences.
local fm = require "fm"
local nn = fm.nn

-- max |a - b| / max(1, max |b|): a relative error with an absolute floor
local function rel(a, b)
  return (a - b):abs():max():item() / math.max(1, b:abs():max():item())
end

-- gradients of sum(net(x) * w) w.r.t. x and every parameter, through f
local function grads_of(f, net, x, w)
  local xs = x:detach():clone():requires_grad_()
  local ps = net:parameters()
  local inputs = {xs}
  for _, p in ipairs(ps) do inputs[#inputs + 1] = p end
  local out = f(xs)
  local op = out.grad_fn
  return out, fm.grad({(out * w):sum()}, inputs), op
end

describe("fm.nn.Linear", function()
  it("computes x W + b with W of shape (in, out)", function()
    local lin = nn.Linear(3, 2, {dtype = "float64"})
    assert.same({3, 2}, lin.weight:shape())
    assert.same({2}, lin.bias:shape())
    local x = fm.randn({4, 3}, "float64")
    assert.tensor_near(x:mm(lin.weight) + lin.bias, lin(x), 1e-15)
    assert.equal("Linear(in=3, out=2)", tostring(lin))
  end)

  it("initialises like torch: U(-1/sqrt(in), 1/sqrt(in))", function()
    local lin = nn.Linear(4, 1000)
    local k = 0.5
    for _, p in ipairs({lin.weight, lin.bias}) do
      local m = p:abs():max():item()
      -- 4000 (1000) draws all below 0.9 k has probability 0.9^1000 ~ 1e-46
      assert.is_true(m <= k and m > 0.9 * k)
    end
    -- mean of 4000 uniforms on [-k, k]: sd k / sqrt(3 * 4000) ~ 0.0046
    assert.is_true(math.abs(lin.weight:mean():item()) < 0.03)
  end)
end)

describe("fm.nn modules", function()
  it("names parameters, counts them and prints like torch", function()
    local net = nn.mlp{inputs = 3, hidden = {8, 8}, outputs = 2}
    local names = {}
    for i, p in ipairs(net:parameters()) do names[i] = p.name end
    assert.same({"layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias",
                 "layers.5.weight", "layers.5.bias"}, names)
    local np = net:named_parameters()
    assert.equal("layers.3.weight", np[3][1])
    assert.equal(3 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2, net:num_parameters())
    local s = tostring(net)
    assert.truthy(s:find("(layers): Sequential(", 1, true))
    assert.truthy(s:find("(1): Linear(in=3, out=8)", 1, true))
    assert.truthy(s:find("(4): SiLU()", 1, true))
  end)

  it("train/eval propagate, zero_grad clears gradients", function()
    local net = nn.mlp{inputs = 2, hidden = {4}, outputs = 1}
    net:eval()
    assert.is_false(net.training)
    assert.is_false(net.layers[1].training)
    net:train()
    assert.is_true(net.layers[2].training)
    net(fm.randn(5, 2)):sum():backward()
    assert.is_not_nil(net.layers[1].weight.grad)
    net:zero_grad()
    assert.is_nil(net.layers[1].weight.grad)
  end)

  it("activations match the tensor functions", function()
    local x = fm.randn({3, 4}, "float64")
    assert.tensor_near(x:silu(), nn.SiLU()(x), 0)
    assert.tensor_near(x:relu(), nn.ReLU()(x), 0)
    assert.tensor_near(x:tanh(), nn.Tanh()(x), 0)
    assert.tensor_near(x:gelu(), nn.GELU()(x), 0)
    assert.tensor_near(x:sigmoid(), nn.Sigmoid()(x), 0)
    assert.tensor_near(x, nn.Identity()(x), 0)
  end)

  it("user modules from a table and from a class", function()
    local m = nn.module{
      name = "Scaled",
      lin = nn.Linear(2, 2, {dtype = "float64"}),
      scale = fm.param(fm.tensor({3.0}, "float64")),
      forward = function(self, x) return self.lin(x) * self.scale end,
    }
    local names = {}
    for i, p in ipairs(m:parameters()) do names[i] = p.name end
    assert.same({"scale", "lin.weight", "lin.bias"}, names)
    local x = fm.randn({3, 2}, "float64")
    assert.tensor_near(m.lin(x) * 3, m(x), 1e-14)
    assert.truthy(tostring(m):find("^Scaled%("))

    local Res = nn.class("Residual")
    function Res:init(d) self.f = nn.Linear(d, d, {dtype = "float64"}) end
    function Res:forward(x) return x + self.f(x) end
    local r = Res(2)
    assert.equal(6, r:num_parameters())
    assert.is_true(fm.gradcheck(function(x) return r(x) end, {x}))
  end)

  it("time embedding is [cos(t f_k), sin(t f_k)]", function()
    local e = nn.time_embedding{dim = 6, max_period = 100}
    local t = fm.tensor({0.0, 0.5, 2.0}, "float64")
    local y = e(t)
    assert.same({3, 6}, y:shape())
    local yt = y:totable()
    for i, tv in ipairs({0.0, 0.5, 2.0}) do
      for k = 0, 2 do
        local f = 100 ^ (-k / 3)
        assert.near(math.cos(tv * f), yt[i][k + 1], 1e-12)
        assert.near(math.sin(tv * f), yt[i][k + 4], 1e-12)
      end
    end
    assert.same({1, 7}, nn.time_embedding{dim = 7}(0.3):shape())
  end)

  it("label embedding has a null label classes + 1", function()
    local e = nn.embedding{classes = 3, dim = 2, dtype = "float64"}
    assert.equal(4, e.null)
    assert.same({4, 2}, e.weight:shape())
    local y = e({1, 4, 2})
    assert.tensor_near(e.weight:index(1, fm.tensor({1, 4, 2}, "int64")), y, 0)
    local lab = fm.tensor({1, 2, 3, 1, 2, 3}, "int64")
    assert.same({4, 4, 4, 4, 4, 4}, e:drop(lab, 1):totable())
    assert.same(lab:totable(), e:drop(lab, 0):totable())
  end)

  it("emb:drop takes labels of any dtype and p as a number or a 1-element tensor", function()
    local e = nn.embedding{classes = 3, dim = 2}
    for _, lab in ipairs{fm.tensor{1, 2, 3}, fm.tensor({1, 2, 3}, "float64"),
                         fm.tensor({1, 2, 3}, "int64"), {1, 2, 3}} do
      for _, p in ipairs{0.5, fm.tensor(0.5), fm.tensor({0.5}, "float64")} do
        local y = e:drop(lab, p)
        assert.equal("int64", y:dtype())
        for i, v in ipairs(y:totable()) do assert.truthy(v == i or v == e.null) end
        assert.same({3, 2}, e(y):shape())
      end
    end
    assert.same({2, 2}, e:drop(fm.tensor({{1, 2}, {3, 1}}, "int64"), 0.5):shape())
    -- the drop rate: 20000 Bernoulli(0.3) draws, 4 sigma = 4 sqrt(0.21 / 20000) = 0.013
    local many = fm.full({20000}, 2, "int64")
    local rate = e:drop(many, 0.3):eq(e.null):sum():item() / 20000
    assert.truthy(math.abs(rate - 0.3) < 0.013, "drop rate " .. rate)
  end)

  it("emb:drop names a bad p, and an embedding without a null label", function()
    local e = nn.embedding{classes = 3, dim = 2}
    local lab = fm.tensor({1, 2}, "int64")
    for _, case in ipairs{{1.5, "number 1.5"}, {"x", 'string "x"'}, {fm.zeros(2), "float32 tensor (2,)"}} do
      local ok, msg = pcall(e.drop, e, lab, case[1])
      assert.is_false(ok)
      assert.truthy(msg:find("bad argument #2 'p'", 1, true), msg)
      assert.truthy(msg:find(case[2], 1, true), msg)
    end
    local ok, msg = pcall(nn.Embedding(4, 2).drop, nn.Embedding(4, 2), lab, 0.5)
    assert.is_false(ok)
    assert.truthy(msg:find("no null label", 1, true), msg)
  end)

  it("initialisations follow torch's bounds", function()
    local w = nn.init.xavier_uniform(fm.zeros(100, 50))
    local a = math.sqrt(6 / 150)
    local m = w:abs():max():item()
    assert.is_true(m <= a and m > 0.9 * a)
    local k = nn.init.kaiming_normal(fm.zeros({400, 400}, "float64"), {nonlinearity = "relu"})
    -- 160000 draws: the sample std is within 1% of sqrt(2/400) (its sd ~0.18%)
    assert.near(math.sqrt(2 / 400), k:std():item(), 0.01 * math.sqrt(2 / 400))
    assert.same({0, 0}, nn.init.zeros(fm.ones(2)):totable())
  end)
end)

describe("the fused MLP", function()
  -- the same network through the fused C layer and through plain tensor
  -- ops on the same parameters (mm, add, the activation)
  local function pair(act, dt)
    local net = nn.mlp{inputs = 3, hidden = {16, 16, 16}, outputs = 2, act = act, dtype = dt}
    return net, function(x)
      local ps, h = net:flat_params(), x
      for l = 1, #ps // 2 do
        h = h:mm(ps[2 * l - 1]) + ps[2 * l]
        if l < #ps // 2 then h = h[act](h) end
      end
      return h
    end
  end

  for _, act in ipairs({"silu", "relu", "tanh", "gelu", "sigmoid"}) do
    it("matches the generic path in float64 (" .. act .. ")", function()
      local net, generic = pair(act, "float64")
      assert.is_not_nil(net:fused())
      local x = fm.randn({33, 3}, "float64")
      local w = fm.randn({33, 2}, "float64")
      local o1, g1, op1 = grads_of(net, net, x, w)
      local o2, g2, op2 = grads_of(generic, net, x, w)
      assert.equal("layer", op1)
      assert.equal("add", op2)
      assert.is_true(rel(o1, o2) < 1e-12)
      for i = 1, #g1 do assert.is_true(rel(g1[i], g2[i]) < 1e-12, "grad " .. i) end
    end)
  end

  it("matches the generic path in float32 to 1e-5", function()
    local net, generic = pair("silu", "float32")
    local x = fm.randn(257, 3)
    local w = fm.randn(257, 2)
    local o1, g1 = grads_of(net, net, x, w)
    local o2, g2 = grads_of(generic, net, x, w)
    -- float32: ~1e-7 rounding per op, sums over <= 257 terms; the fused exp
    -- is a 1-ulp polynomial. 1e-5 relative to the largest entry.
    assert.is_true(rel(o1, o2) < 1e-5)
    for i = 1, #g1 do assert.is_true(rel(g1[i], g2[i]) < 1e-5, "grad " .. i) end
  end)

  it("is used only for contiguous 2-D inputs of its dtype; fused=false forces the generic path", function()
    local net = nn.mlp{inputs = 3, hidden = {4}, outputs = 2, dtype = "float64"}
    local x = fm.randn({5, 3}, "float64")
    local p = net:parameters()[1]
    assert.equal("layer", fm.enable_grad(function() return net(x) end).grad_fn)
    -- a non-contiguous input is made contiguous first; the same numbers
    local xt = x:t():contiguous():t()
    assert.is_true(rel(net(xt), net(x)) < 1e-15)
    local plain = nn.mlp{inputs = 3, hidden = {4}, outputs = 2, fused = false}
    assert.is_nil(plain:fused())
    assert.is_true(p.requires_grad)
  end)

  it("passes gradcheck, jvp and double backward (create_graph falls back to ops)", function()
    local net, generic = pair("silu", "float64")
    local x = fm.randn({4, 3}, "float64")
    assert.is_true(fm.gradcheck(function(z) return net(z) end, {x}))
    local u = fm.randn({4, 3}, "float64")
    local y1, jv1 = fm.jvp(function(z) return net(z) end, {x}, {u})
    local y2, jv2 = fm.jvp(generic, {x}, {u})
    assert.is_true(rel(y1, y2) < 1e-12)
    assert.is_true(rel(jv1, jv2) < 1e-12)
    -- d/dW of |d sum(net(x)) / dx|^2, fused vs generic
    local function second(f)
      local xs = x:clone():requires_grad_()
      local gx = fm.grad({f(xs):sum()}, {xs}, {create_graph = true})[1]
      return fm.grad({(gx ^ 2):sum()}, net:parameters())
    end
    local s1, s2 = second(net), second(generic)
    for i = 1, #s1 do assert.is_true(rel(s1[i], s2[i]) < 1e-12, "param " .. i) end
  end)

  it("falls back when a later forward reused the workspace", function()
    local net, generic = pair("tanh", "float64")
    local xa, xb = fm.randn({6, 3}, "float64"), fm.randn({9, 3}, "float64")
    local ps = net:parameters()
    local ya = net(xa)
    local _ = net(xb) -- overwrites the kept activations
    local g1 = fm.grad({ya:sum()}, ps)
    local g2 = fm.grad({generic(xa):sum()}, ps)
    for i = 1, #g1 do assert.is_true(rel(g1[i], g2[i]) < 1e-12) end
    -- the same when Euler sampling or a no-grad forward used the workspace
    for _, use in ipairs({
      function() net:fused():apply(net:flat_params(), fm.randn({7, 3}, "float64")) end,
      function() fm.no_grad(function() return net(xb) end) end,
    }) do
      ya = net(xa)
      use()
      g1 = fm.grad({ya:sum()}, ps)
      for i = 1, #g1 do assert.is_true(rel(g1[i], g2[i]) < 1e-12) end
    end
  end)

  it("runs as a field: fused Euler steps in C match a Lua loop", function()
    local net = nn.mlp{inputs = 3, hidden = {16, 16}, outputs = 2, dtype = "float64"}
    local x0 = fm.randn({10, 2}, "float64")
    local x = x0:clone()
    fm.no_grad(function()
      for k = 0, 9 do
        local t = k / 10
        x = x + net.layers(fm.cat({x, fm.full({10, 1}, t, "float64")}, 2)) * 0.1
      end
    end)
    local y = fm.ode.solve(fm.field(net), x0, {method = "euler", steps = 10})
    assert.is_true(rel(y, x) < 1e-12)
  end)
end)
