-- promote_spec.lua — type promotion of + - * / ^ and the comparisons
-- (engine/ops/promote.c, docs/tensors.md "Type promotion"): each rule
-- against a value computed by hand and the result dtype; gradients through
-- promoted ops against central differences, each back in its input's dtype;
-- and, where /usr/bin/python3 has numpy, every combination of dtypes, Lua
-- integers and Lua floats against numpy's own promotion (NEP 50 "weak"
-- scalars, the rule of NumPy 2, switched on in NumPy 1.24+ by
-- np._set_promotion_state).
local fm = require "fm"

local function expect(dtype, values, t, tol)
  assert.equal(dtype, t:dtype())
  assert.tensor_near(values, t:double(), tol or 0)
end

describe("promotion rules, by hand", function()
  local i = fm.arange(5)                              -- int64 0..4
  local f = fm.tensor({1, 2, 4}, "float32")
  local d = fm.tensor({0.5, 0.25, 2}, "float64")
  local i3 = fm.tensor({1, 2, 3}, "int64")

  it("int64 with a Lua float gives float64, both orders", function()
    expect("float64", {0, 0.5, 1, 1.5, 2}, i * 0.5)
    expect("float64", {0, 0.5, 1, 1.5, 2}, 0.5 * i)
    expect("float64", {0.25, 1.25, 2.25, 3.25, 4.25}, i + 0.25)
    expect("float64", {2.5, 1.5, 0.5, -0.5, -1.5}, 2.5 - i)
    expect("float64", {0, 1, 2 ^ 0.5, 3 ^ 0.5, 2}, i ^ 0.5, 1e-15)
    expect("float64", {1, 2, 4, 8, 16}, 2.0 ^ i)
  end)

  it("int64 with a Lua integer stays int64, except true division", function()
    expect("int64", {0, 2, 4, 6, 8}, i * 2)
    expect("int64", {3, 2, 1, 0, -1}, 3 - i)
    expect("float64", {0, 0.2, 0.4, 0.6, 0.8}, i / 5)
    expect("float64", {2, 1, 2 / 3}, 2 / i3, 1e-16)
  end)

  it("int64 / int64 is true division in float64", function()
    expect("float64", {1, 1, 1}, i3 / i3)
    expect("float64", {0, 0.5, 2 / 3}, fm.tensor({0, 1, 2}, "int64") / i3, 1e-16)
  end)

  it("a float tensor with a Lua number keeps its dtype", function()
    expect("float32", {0.5, 1, 2}, f * 0.5)
    expect("float32", {3, 4, 6}, 2 + f)
    expect("float32", {1, 0.5, 0.25}, 1 / f)
    expect("float64", {1.5, 1.25, 3}, d + 1)
    -- 0.1 is rounded to float32 once, as torch and NumPy 2 do
    local fs = fm.tensor({1}, "float32") * 0.1
    assert.equal("float32", fs:dtype())
    assert.equal(fm.tensor({0.1}, "float32"):item(), fs:item())
  end)

  it("float32 with float64 gives float64, broadcasting", function()
    expect("float64", {1.5, 2.25, 6}, f + d)
    expect("float64", {-0.5, -1.75, -2}, d - f)
    expect("float64", {2, 8, 2}, f / d)
    expect("float64", {1, 2 ^ 0.25, 16}, f ^ d, 1e-15)
    local col = fm.tensor({{1}, {10}}, "float32")
    expect("float64", {{1.5, 1.25, 3}, {10.5, 10.25, 12}}, col + d)
  end)

  it("int64 with a float tensor gives that float dtype (torch's rule)", function()
    expect("float32", {1, 4, 12}, i3 * f)
    expect("float64", {0.5, 0.5, 6}, d * i3)
    expect("float32", {0, 1, 1.5}, i:narrow(1, 1, 3) / fm.tensor({1, 1, 4 / 3}, "float32"), 1e-7)
  end)

  it("comparisons compare the promoted operands and give 0/1 in that dtype", function()
    expect("float64", {1, 0, 0, 0, 0}, i:lt(0.5))
    expect("float64", {0, 0, 0, 1, 1}, i:gt(2.5))
    expect("int64", {0, 0, 1, 1, 1}, i:ge(2))
    expect("float64", {0, 1, 0}, f:eq(fm.tensor({0.5, 2, 3}, "float64")))
    expect("float32", {1, 1, 1}, i3:le(fm.tensor({1, 2, 3.5}, "float32")))
    -- 0.1 in float32 is not 0.1 in float64: the float64 comparison sees it
    expect("float64", {1}, fm.tensor({0.1}, "float32"):ne(fm.tensor({0.1}, "float64")))
    expect("float32", {1}, fm.tensor({0.1}, "float32"):eq(0.1))
  end)

  it("maximum and minimum follow the same rules", function()
    expect("float64", {0.5, 1, 2, 3, 4}, fm.maximum(i, 0.5))
    expect("float64", {0.5, 0.25, 2}, fm.minimum(d, i3))
  end)

  it("indices stay int64", function()
    local x = fm.tensor({10, 20, 30})
    assert.equal("int64", (i3 + 1):dtype())
    assert.same({20, 30}, x:index(1, i3:narrow(1, 2, 2)):totable())
    assert.equal("int64", x:argmax():dtype())
  end)

  it("uint8 is not promoted, and int64 ^ int64 is refused", function()
    local u = fm.zeros(3, "uint8")
    local ok, e = pcall(function() return f + u end)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("float32", 1, true) and tostring(e):find("uint8", 1, true))
    ok, e = pcall(function() return i3 ^ 2 end)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("pow", 1, true) and tostring(e):find("int64", 1, true))
  end)
end)

-- Central differences in float64 of f's value as a function of x's entries.
-- A float32 input enters a promoted op through an exact conversion to
-- float64, so the float64 difference quotient (step 1e-6, error ~1e-9 for
-- these smooth functions) is the derivative of what was computed; the
-- analytic gradient is that derivative rounded to float32 (relative 6e-8).
local function numeric_grad(f, inputs, k)
  local eps = 1e-6
  local x = inputs[k]:double()
  local flat = x:reshape(x:numel())
  local g = {}
  for j = 1, flat:numel() do
    local function at(h)
      local args = {}
      for m, v in ipairs(inputs) do args[m] = v end
      local y = flat:clone()
      y[j] = flat[j] + h
      args[k] = y:reshape(x:shape())
      return fm.no_grad(function() return f(table.unpack(args)):item() end)
    end
    g[j] = (at(eps) - at(-eps)) / (2 * eps)
  end
  return fm.tensor(g, "float64"):reshape(x:shape())
end

local function check_grads(f, inputs)
  for _, x in ipairs(inputs) do x:requires_grad_() end
  local grads = fm.grad(f(table.unpack(inputs)), inputs)
  for k, x in ipairs(inputs) do
    assert.equal(x:dtype(), grads[k]:dtype())
    local num = numeric_grad(f, inputs, k)
    local scale = math.max(1, num:abs():max():item())
    assert.tensor_near(num, grads[k]:double(), 2e-6 * scale)
  end
end

describe("gradients through promoted ops", function()
  local a = fm.tensor({{0.3, -1.2, 0.7}, {1.5, 0.4, -0.6}}, "float32")
  local b = fm.tensor({0.9, 1.7, 0.35}, "float64")

  it("float32 (+ - * / ^) float64 flow back as float32 and float64", function()
    check_grads(function(x, y)
      return ((x + y) * (x - y) + x / y + y ^ x + (x * y):sin()):sum()
    end, {a:clone(), b:clone()})
  end)

  it("int64 with a float32 parameter flows back as float32", function()
    local n = fm.tensor({{1, 2, 3}, {4, 5, 6}}, "int64")
    check_grads(function(w) return (n * w + w / n + (n * 0.5) * w:square()):sum() end,
      {a:clone()})
  end)

  it("a float32 tensor with a Lua number stays float32 with float32 gradients", function()
    local x = a:clone():requires_grad_()
    local y = (x * 0.5 + 2 / (x + 3)):sum()
    assert.equal("float32", y:dtype())
    local g = fm.grad(y, x)
    assert.equal("float32", g:dtype())
    assert.tensor_near(0.5 - 2 / (a:double() + 3):square(), g:double(), 1e-6)
  end)

  it("forward mode: the tangent of float32 * float64 is float64", function()
    local x, y = a:clone(), b:clone()
    local tx = fm.ones(2, 3)
    local out, t = fm.jvp(function(p, q) return p * q end, {x, y}, {tx})
    assert.equal("float64", out:dtype())
    assert.equal("float64", t:dtype())
    assert.tensor_near(b:expand(2, 3), t, 0)
  end)
end)

describe("against numpy's promotion", function()
  local PY = "/usr/bin/python3"
  -- operands: dtypes and Lua numbers (integer 3 and float 0.5)
  local kinds = {"float32", "float64", "int64", "luaint", "luafloat"}
  local ops = {
    add = function(x, y) return x + y end, sub = function(x, y) return x - y end,
    mul = function(x, y) return x * y end, div = function(x, y) return x / y end,
    pow = function(x, y) return x ^ y end,
    lt = function(x, y) return fm.is_tensor(x) and x:lt(y) or y:gt(x) end,
    eq = function(x, y) return fm.is_tensor(x) and x:eq(y) or y:eq(x) end,
  }
  local function operand(kind)
    if kind == "luaint" then return 3 elseif kind == "luafloat" then return 0.5 end
    return fm.tensor({1, 2}, kind)
  end

  it("gives numpy's result dtype for every combination", function()
    if not os.execute(PY .. " -c 'import numpy; numpy._set_promotion_state' >/dev/null 2>&1") then
      pending(PY .. " with numpy >= 1.24 not available: numpy check skipped")
      return
    end
    -- numpy: arithmetic by doing it; comparisons by the dtype the operands
    -- are compared in (numpy returns bool, fm the promoted 0/1)
    local script = [[
import numpy as np
np._set_promotion_state('weak')
def v(k):
    return {'luaint': 3, 'luafloat': 0.5}.get(k) if k.startswith('lua') else np.array([1, 2], k)
ops = {'add': np.add, 'sub': np.subtract, 'mul': np.multiply, 'div': np.true_divide,
       'pow': np.power}
kinds = ['float32', 'float64', 'int64', 'luaint', 'luafloat']
for op in ['add', 'sub', 'mul', 'div', 'pow', 'lt', 'eq']:
    for a in kinds:
        for b in kinds:
            if a.startswith('lua') and b.startswith('lua'): continue
            if op in ops: dt = ops[op](v(a), v(b)).dtype
            else: dt = np.result_type(v(a), v(b))
            print(op, a, b, dt)
]]
    local file = os.tmpname()
    local f = assert(io.open(file, "w"))
    f:write(script)
    f:close()
    local p = assert(io.popen(PY .. " " .. file .. " 2>&1"))
    local out = p:read("a")
    local ran = p:close()
    os.remove(file)
    assert(ran, "numpy failed:\n" .. out)
    local n, refused, departures = 0, 0, 0
    for op, ka, kb, dt in out:gmatch("(%w+) (%w+) (%w+) (%w+)\n") do
      local ok, r = pcall(ops[op], operand(ka), operand(kb))
      -- the one departure (docs/tensors.md): int64 with float32 stays float32
      local pair = {[ka] = true, [kb] = true}
      if pair.int64 and pair.float32 then
        assert.equal("float64", dt, "numpy widens int64 with float32")
        dt = "float32"
        departures = departures + 1
      end
      if op == "pow" and dt == "int64" then
        -- integer powers are not defined for int64 (docs/tensors.md)
        assert.is_false(ok, op .. " " .. ka .. " " .. kb)
        refused = refused + 1
      else
        assert(ok, ("%s %s %s: %s"):format(op, ka, kb, tostring(r)))
        assert.equal(dt, r:dtype(), ("%s %s %s"):format(op, ka, kb))
        n = n + 1
      end
    end
    assert.equal(7 * 21, n + refused)   -- 5 x 5 pairs less the 4 of two numbers
    assert.equal(3, refused)            -- int64 ^ int64, ^ 3 and 3 ^
    assert.equal(7 * 2, departures)     -- int64 with float32, both orders
  end)
end)
