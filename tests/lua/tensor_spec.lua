-- The tensor API: creation, shape, views, elementwise with broadcasting,
-- reductions, products, indexing, errors. Exact answers computed by hand.
local fm = require "fm"

describe("tensor creation", function()
  it("builds from nested tables and reads back", function()
    local a = fm.tensor{{1, 2}, {3, 4}}
    assert.same({2, 2}, a:shape())
    assert.equal(4, a:numel())
    assert.equal(2, a:dim())
    assert.equal(2, #a)
    assert.equal("float32", a:dtype())
    assert.same({{1, 2}, {3, 4}}, a:totable())
    assert.equal(3, a[2][1])
  end)

  it("makes zeros, ones, full, eye, arange, linspace", function()
    assert.same({{0, 0, 0}, {0, 0, 0}}, fm.zeros(2, 3):totable())
    assert.same({1, 1}, fm.ones({2}):totable())
    assert.same({7, 7}, fm.full(2, 7):totable())
    assert.same({{1, 0}, {0, 1}}, fm.eye(2):totable())
    assert.same({0, 1, 2}, fm.arange(3):totable())
    assert.equal("int64", fm.arange(3):dtype())
    assert.same({1, 1.5, 2}, fm.arange(1.0, 2.5, 0.5):totable())
    assert.same({0, 0.25, 0.5, 0.75, 1}, fm.linspace(0, 1, 5):totable())
    assert.equal("float64", fm.zeros(2, "float64"):dtype())
  end)

  it("is_tensor, item, tostring", function()
    assert.is_true(fm.is_tensor(fm.zeros(1)))
    assert.is_false(fm.is_tensor({}))
    assert.equal(5, fm.tensor{5}:item())
    local s = tostring(fm.zeros(2, 3))
    assert.truthy(s:find("shape=%(2, 3%)"))
    assert.truthy(s:find("float32"))
    local big = tostring(fm.arange(100000):float())
    assert.truthy(big:find("%.%.%.")) -- elided in the middle
    assert.is_true(#big < 400)
  end)
end)

describe("views", function()
  it("share storage", function()
    local a = fm.zeros(3, 4)
    local row = a[2]
    row:fill(5)
    assert.same({0, 0, 0, 0}, a[1]:totable())
    assert.same({5, 5, 5, 5}, a[2]:totable())
    a:narrow(2, 2, 2):fill(1)
    assert.same({0, 1, 1, 0}, a[1]:totable())
    a[3] = 9
    assert.same({9, 9, 9, 9}, a[3]:totable())
  end)

  it("transpose, reshape, select, expand", function()
    local a = fm.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.same({{1, 4}, {2, 5}, {3, 6}}, a:t():totable())
    assert.is_false(a:t():is_contiguous())
    assert.same({{1, 2}, {3, 4}, {5, 6}}, a:reshape(3, 2):totable())
    assert.same({{1, 4}, {2, 5}, {3, 6}}, a:t():contiguous():totable())
    assert.same({1, 4, 2, 5, 3, 6}, a:t():reshape(-1):totable()) -- copies
    assert.same({2, 5}, a:select(2, 2):totable())
    assert.same({{1, 2, 3}, {1, 2, 3}}, fm.tensor{1, 2, 3}:expand(2, 3):totable())
    assert.same({1, 3}, a:narrow(1, 1, 1):shape())
    assert.same({3, 1}, fm.tensor{1, 2, 3}:unsqueeze(2):shape())
    assert.same({3}, fm.zeros(1, 3, 1):squeeze():shape())
    assert.same({3, 2}, fm.zeros(2, 3):permute(2, 1):shape())
    assert.has_error(function() a:t():view(6) end)
  end)

  it("keep the base alive after it is unreachable", function()
    local v = fm.arange(10):float():narrow(1, 3, 2)
    collectgarbage(); collectgarbage()
    assert.same({2, 3}, v:totable())
  end)
end)

describe("elementwise", function()
  it("broadcasts like NumPy", function()
    local a = fm.tensor{{1, 2, 3}, {4, 5, 6}}
    local b = fm.tensor{10, 20, 30}
    assert.same({{11, 22, 33}, {14, 25, 36}}, (a + b):totable())
    assert.same({{2, 3, 4}, {5, 6, 7}}, (a + 1):totable())
    assert.same({{0, -1, -2}, {-3, -4, -5}}, (1 - a):totable())
    assert.same({{2, 4, 6}, {8, 10, 12}}, (a * 2):totable())
    assert.same({{1, 4, 9}, {16, 25, 36}}, (a ^ 2):totable())
    assert.same({{-1, -2, -3}, {-4, -5, -6}}, (-a):totable())
    local col = fm.tensor{{1}, {2}}
    assert.same({{1, 2, 3}, {8, 10, 12}}, (a * col):totable())
    assert.tensor_near({{0.5, 1, 1.5}, {2, 2.5, 3}}, a / 2, 1e-7)
  end)

  it("computes functions", function()
    local x = fm.tensor({-1, 0, 2}, "float64")
    assert.tensor_near({math.exp(-1), 1, math.exp(2)}, x:exp(), 1e-12)
    assert.tensor_near({0, 0, 2}, x:relu(), 0)
    assert.tensor_near({1, 0, 2}, x:abs(), 0)
    assert.tensor_near({-1 / (1 + math.exp(1)), 0, 2 / (1 + math.exp(-2))}, x:silu(), 1e-12)
    assert.tensor_near({math.tanh(-1), 0, math.tanh(2)}, x:tanh(), 1e-12)
    assert.tensor_near({math.log(1 + math.exp(-1)), math.log(2), math.log(1 + math.exp(2))},
      x:softplus(), 1e-12)
    assert.tensor_near({-0.5, 0, 0.5}, x:clamp(-0.5, 0.5), 0)
    assert.tensor_near({1, 0, 0}, x:lt(0), 0)
    assert.tensor_near({9, 0, 2}, fm.where(x:lt(0), 9, x), 0)
  end)

  it("refuses dtype mixes and bad shapes with the shapes in the message", function()
    local ok, err = pcall(function() return fm.zeros(2, 3) + fm.zeros(4) end)
    assert.is_false(ok)
    assert.truthy(err:find("(2, 3)", 1, true))
    assert.truthy(err:find("(4,)", 1, true))
    ok, err = pcall(function() return fm.zeros(2) + fm.zeros(2, "uint8") end)
    assert.is_false(ok)
    assert.truthy(err:find("dtype"))
  end)
end)

describe("reductions and products", function()
  local a = fm.tensor({{1, 2, 3}, {4, 5, 6}}, "float64")
  it("sum, mean, max, min, argmax, var, norm", function()
    assert.equal(21, a:sum():item())
    assert.same({5, 7, 9}, a:sum(1):totable())
    assert.same({{6}, {15}}, a:sum(2, true):totable())
    assert.same({2, 5}, a:mean(2):totable())
    assert.equal(6, a:max():item())
    local v, i = a:max(2)
    assert.same({3, 6}, v:totable())
    assert.same({3, 3}, i:totable())
    assert.same({1, 1, 1}, a:argmin(1):totable())
    assert.tensor_near({1, 1}, a:var(2), 1e-12)
    assert.near(math.sqrt(91), a:norm():item(), 1e-12)
  end)

  it("mm, bmm, cdist2", function()
    local b = fm.tensor({{1, 0}, {0, 1}, {1, 1}}, "float64")
    assert.same({{4, 5}, {10, 11}}, a:mm(b):totable())
    assert.same({{14, 32}, {32, 77}}, a:mm(a:t()):totable())
    local ab = a:reshape(1, 2, 3):bmm(b:reshape(1, 3, 2))
    assert.same({{{4, 5}, {10, 11}}}, ab:totable())
    local p = fm.tensor({{0, 0}, {3, 4}}, "float64")
    assert.same({{0, 25}, {25, 0}}, p:cdist2(p):totable())
    assert.has_error(function() a:mm(a) end)
  end)
end)

describe("indexing", function()
  it("index, gather, scatter_add, cat, stack", function()
    local a = fm.tensor{{1, 2}, {3, 4}, {5, 6}}
    assert.same({{5, 6}, {1, 2}}, a:index(1, fm.tensor({3, 1}, "int64")):totable())
    assert.same({{2}, {3}, {6}}, a:gather(2, fm.tensor({{2}, {1}, {2}}, "int64")):totable())
    local s = fm.zeros(2, 2):scatter_add(1, fm.tensor({{1, 2}, {1, 1}}, "int64"),
      fm.tensor{{1, 2}, {3, 4}})
    assert.same({{4, 4}, {0, 2}}, s:totable())
    assert.same({{1, 2}, {3, 4}, {5, 6}, {1, 2}}, fm.cat({a, a:narrow(1, 1, 1)}, 1):totable())
    assert.same({3, 4}, fm.cat({a, a}, 2):shape())
    assert.same({2, 3, 2}, fm.stack({a, a}):shape())
    assert.has_error(function() a:index(1, fm.tensor({4}, "int64")) end)
  end)
end)

describe("random numbers", function()
  it("are reproducible bit for bit after fm.seed", function()
    fm.seed(42)
    local a = fm.randn(100):totable()
    fm.seed(42)
    local b = fm.randn(100):totable()
    assert.same(a, b)
  end)
end)

-- Each op on non-contiguous views (transposed, narrowed, expanded) equals the
-- same op on :contiguous() of the view, in float32 and float64. Both sides run
-- the same arithmetic on the same values, so the comparison is exact except
-- for reductions whose summation order may follow the layout (1e-5 relative
-- in float32, 1e-12 in float64).
describe("ops on views equal ops on contiguous copies", function()
  local function views(dt)
    fm.seed(3)
    local base = fm.randn(5, 4, dt)
    return {
      transposed = base:t(),                                -- (4, 5)
      narrowed = fm.randn(6, 7, dt):narrow(2, 2, 5):narrow(1, 2, 4), -- (4, 5)
      expanded = fm.randn(1, 5, dt):expand(4, 5),           -- (4, 5)
    }
  end
  local unary = {"exp", "sin", "cos", "tanh", "sigmoid", "silu", "relu", "gelu",
    "softplus", "abs", "neg", "square", "t", "clone", "contiguous"}
  local reductions = {"sum", "mean", "max", "min", "argmax", "var", "norm"}
  for _, dt in ipairs{"float32", "float64"} do
    local tol = dt == "float32" and 1e-5 or 1e-12
    it(dt, function()
      for name, v in pairs(views(dt)) do
        local c = v:contiguous()
        assert.is_true(c:is_contiguous())
        assert.is_false(v:is_contiguous(), name)
        local function same(a, b, what, t)
          assert.equal(a:dtype(), b:dtype())
          assert(fm.allclose(a, b, t or 0, t or 0), what .. " on " .. name .. " " .. dt)
          assert.same(a:shape(), b:shape())
        end
        for _, u in ipairs(unary) do same(v[u](v), c[u](c), u) end
        same(v:abs():log1p(), c:abs():log1p(), "log1p")
        same(v:abs():sqrt(), c:abs():sqrt(), "sqrt")
        same(v:clamp(-0.5, 0.5), c:clamp(-0.5, 0.5), "clamp")
        for _, r in ipairs(reductions) do
          same(v[r](v), c[r](c), r, tol)
          local p = r == "norm" and {2} or {} -- norm(p, dim, keepdim)
          for d = 1, 2 do
            same(v[r](v, table.unpack(p), d), c[r](c, table.unpack(p), d), r .. " dim " .. d, tol)
          end
          local pk = {table.unpack(p)}
          pk[#pk + 1] = 2; pk[#pk + 1] = true
          same(v[r](v, table.unpack(pk)), c[r](c, table.unpack(pk)), r .. " keepdim", tol)
        end
        local w = fm.randn(5, 3, dt)
        same(v:mm(w), c:mm(w), "mm", tol)
        same(w:t():mm(v:t()), w:t():mm(c:t()), "mm of transposes", tol)
        same(v:unsqueeze(1):bmm(w:unsqueeze(1)), c:unsqueeze(1):bmm(w:unsqueeze(1)), "bmm", tol)
        same(v:cdist2(v), c:cdist2(c), "cdist2", tol)
        same(v + v:t():t(), c + c, "add")
        same(v * 2 - 1, c * 2 - 1, "scalar ops")
        same(v / (v:abs() + 1), c / (c:abs() + 1), "div")
        same(v:lt(0), c:lt(0), "lt")
        same(v:eq(v), c:eq(c), "eq")
        same(fm.where(v:gt(0), v, -v), fm.where(c:gt(0), c, -c), "where")
        local idx = fm.tensor({3, 1, 3}, "int64")
        same(v:index(1, idx), c:index(1, idx), "index")
        local g = fm.tensor({{2, 1, 4, 4, 3}, {1, 1, 1, 1, 1}}, "int64")
        same(v:gather(1, g), c:gather(1, g), "gather")
        same(fm.cat({v, v}, 2), fm.cat({c, c}, 2), "cat")
        same(fm.stack({v, v}, 1), fm.stack({c, c}, 1), "stack")
        same(v:reshape(-1), c:reshape(-1), "reshape")
        assert.same(c:totable(), v:totable())
        assert.equal(c[2][3], v[2][3])
        assert(fm.allclose(v, c, 0, 0))
      end
    end)
  end
end)

describe("hand-checked answers in float32 and float64", function()
  for _, dt in ipairs{"float32", "float64"} do
    it(dt, function()
      local a = fm.tensor({{1, -2, 3}, {-4, 5, -6}}, dt)
      assert.equal(dt, a:dtype())
      assert.same({{1, 2, 3}, {4, 5, 6}}, a:abs():totable())
      assert.same({{1, 0, 3}, {0, 5, 0}}, a:relu():totable())
      assert.same({-3, 3, -3}, a:sum(1):totable())
      assert.equal(-3, a:sum():item())
      assert.equal(-0.5, a:mean():item())
      assert.same({-1.5, 1.5, -1.5}, a:mean(1):totable())
      assert.equal(5, a:max():item())
      assert.equal(-6, a:min():item())
      assert.same({3, 2}, a:argmax(2):totable())
      assert.equal(5, a:argmax():item()) -- flat, 1-based
      -- var of {1,-4} = 12.5 (unbiased), norm = sqrt(91)
      assert.same({12.5, 24.5, 40.5}, a:var(1):totable())
      assert.is_true(math.abs(a:norm():item() - math.sqrt(91)) < (dt == "float32" and 1e-5 or 1e-13))
      assert.same({{1, 0, 1}, {0, 1, 0}}, a:gt(0):totable())
      assert.same({{14, -32}, {-32, 77}}, a:mm(a:t()):totable())
      assert.same({{0, 155}, {155, 0}}, a:cdist2(a):totable()) -- 25+49+81
      assert.same({{2, -4, 6}, {-8, 10, -12}}, (a + a):totable())
      assert.same({{1, 4, 9}, {16, 25, 36}}, (a ^ 2):totable())
      assert.same({{0.5, -1, 1.5}, {-2, 2.5, -3}}, (a / 2):totable())
      assert.same({{1, 0, 0}, {0, 1, 0}}, fm.eye(2, 3, dt):totable())
      assert.same({7, 7}, fm.full(2, 7, dt):totable())
      assert.same({0.5, 0.5, 0.5}, fm.full(3, 0.5, dt):totable())
      assert.is_true(fm.allclose(a, a:clone()))
      assert.is_false(fm.allclose(a, a + 1e-3))
    end)
  end
end)

describe("element access", function()
  it("x[i], x[i] = v, negative indices, #x, views keep the base alive", function()
    local a = fm.tensor{{1, 2}, {3, 4}, {5, 6}}
    assert.equal(3, #a)
    assert.equal(6, a[-1][-1])
    assert.equal(5, a[-1][1])
    assert.is_true(fm.is_tensor(a[2]))
    a[-1] = fm.tensor{7, 8}
    assert.same({7, 8}, a[3]:totable())
    a[1][2] = 9
    assert.equal(9, a[1][2])
    local col = a:t()[2]
    collectgarbage(); collectgarbage()
    assert.same({9, 4, 8}, col:totable())
    local i = fm.tensor({math.maxinteger, -2}, "int64")
    assert.equal(math.maxinteger, i[1]) -- exact, not through double
    assert.equal(math.maxinteger, i:totable()[1])
    i[2] = math.mininteger
    assert.equal(math.mininteger, i[2])
    assert.has_error(function() i[1] = 2.5 end)
  end)
end)

describe("printing", function()
  it("0-d, empty, int64, huge/tiny, NaN/inf, 4-d, elided in the middle", function()
    assert.equal("tensor(3.5000, shape=(), dtype=float32)", tostring(fm.tensor(3.5)))
    assert.equal("tensor(2., shape=(), dtype=float64)", tostring(fm.tensor(2, "float64")))
    assert.equal("tensor([], shape=(0, 3), dtype=float32)", tostring(fm.zeros(0, 3)))
    assert.equal("tensor([-1,  0, 12], shape=(3,), dtype=int64)",
      tostring(fm.tensor({-1, 0, 12}, "int64")))
    assert.truthy(tostring(fm.tensor({math.maxinteger}, "int64")):find("9223372036854775807", 1, true))
    assert.truthy(tostring(fm.tensor{1e10, 1}):find("1.0000e+10", 1, true))
    assert.truthy(tostring(fm.tensor{1e-7, 1}):find("1.0000e-07", 1, true))
    local s = tostring(fm.tensor{0 / 0, math.huge, -math.huge, 1})
    assert.truthy(s:find("nan", 1, true) and s:find(" inf", 1, true) and s:find("-inf", 1, true))
    local t4 = tostring(fm.arange(16):reshape(2, 2, 2, 2))
    assert.truthy(t4:find("[[[[ 0,  1],", 1, true), t4)
    assert.truthy(t4:find("shape=(2, 2, 2, 2)", 1, true))
    local big = tostring(fm.arange(2000))
    assert.truthy(big:find("[   0,    1,    2, ..., 1997, 1998, 1999]", 1, true), big)
    local e = tostring(fm.tensor(1.5):expand(2 ^ 61)) -- fast: only shown elements read
    assert.truthy(e:find("1.5000, ..., 1.5000", 1, true))
    local m = tostring(fm.arange(10000):reshape(100, 100))
    assert.truthy(m:find("...,\n", 1, true))
    assert.is_true(#m < 800)
  end)
end)

describe("random numbers", function()
  local fmlua = (os.getenv("FM_BUILD_DIR") or "build") .. "/fmlua"
  local script = "local fm = require 'fm'; fm.seed(123); " ..
    "local x = fm.randn(1000, 'float64'):sum():item() + fm.rand(5000):sum():item() " ..
    "+ fm.randint(1, 100, 3000):sum():item() + fm.permutation(500)[7] " ..
    "+ fm.multinomial(fm.tensor{1, 2, 3}, 100, true):sum():item(); " ..
    "io.write(string.format('%a', x))"
  local function run(env)
    local p = assert(io.popen(env .. " " .. fmlua .. " -e \"" .. script .. "\""))
    local out = p:read("a"); p:close()
    return out
  end
  it("fm.seed makes a script reproducible bit for bit, whatever the thread count", function()
    local a = run("OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1")
    local b = run("OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2")
    local c = run("OPENBLAS_NUM_THREADS=1")
    assert.truthy(a:match("^%-?0x"), a)
    assert.equal(a, b)
    assert.equal(a, c)
  end)
end)
