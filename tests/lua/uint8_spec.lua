-- uint8_spec.lua — the uint8 dtype through the Lua API: creation,
-- conversions (rounding, clamping, NaN), element access, views, copies,
-- printing, the ops that refuse bytes, and files: npy '|u1' both ways (and
-- '|b1' read as uint8) against NumPy (/usr/bin/python3 with numpy; skipped
-- with a message when either is absent), safetensors U8.
local fm = require "fm"

local sh = require "tests.lua.shell"

local err, has = table.unpack((require "tests.lua.expect_error"))

describe("uint8", function()
  it("is made by fm.tensor, the constructors and :to, and reads back as integers", function()
    local x = fm.tensor({{0, 1, 255}, {7, 8, 9}}, "uint8")
    assert.equal("uint8", x:dtype())
    assert.same({{0, 1, 255}, {7, 8, 9}}, x:totable())
    assert.equal(255, x[1][3])
    assert.is_true(math.type(x[1][3]) == "integer")
    assert.equal(9, x[2][3])
    assert.equal(9, x[-1][-1])
    assert.same({0, 0}, fm.zeros(2, "uint8"):totable())
    assert.same({{1, 1}}, fm.ones(1, 2, "uint8"):totable())
    assert.same({7, 7, 7}, fm.full(3, 7, "uint8"):totable())
    assert.same({0, 1, 2}, fm.arange(3, "uint8"):totable())
    assert.same({{1, 0}, {0, 1}}, fm.eye(2, "uint8"):totable())
    assert.equal("uint8", fm.zeros_like(fm.zeros(3), "uint8"):dtype())
    local r = fm.randint(250, 255, 100, "uint8")
    assert.equal("uint8", r:dtype())
    assert.is_true(r:to("float32"):min():item() >= 250)
    assert.equal(42, fm.tensor({42}, "uint8"):reshape({}):item())
  end)

  it("converts from float by rounding to nearest (ties to even) and clamping", function()
    local f = fm.tensor{-3, -0.4, 0.4, 0.5, 1.5, 2.5, 127.49, 254.5, 254.6, 300, math.huge, -math.huge}
    assert.same({0, 0, 0, 0, 2, 2, 127, 254, 255, 255, 255, 0}, f:to("uint8"):totable())
    assert.same({0, 0, 7, 255, 255}, fm.tensor({-9, 0, 7, 255, 2 ^ 40}, "int64"):to("uint8"):totable())
    local u = fm.tensor({0, 128, 255}, "uint8")
    assert.same({0, 128, 255}, u:to("float32"):totable())
    assert.same({0, 128, 255}, u:double():totable())
    assert.same({0, 128, 255}, u:long():totable())
    assert.equal("int64", u:long():dtype())
    has(err(function() return fm.tensor{1, 0 / 0}:to("uint8") end), "NaN", "uint8")
  end)

  it("takes only whole numbers in [0, 255] as Lua numbers", function()
    has(err(fm.tensor, {300}, "uint8"), "element 1", "[0, 255]", "uint8")
    has(err(fm.tensor, {-1}, "uint8"), "[0, 255]")
    has(err(fm.tensor, {1.5}, "uint8"), "[0, 255]")
    has(err(fm.full, 2, 256, "uint8"), "256", "uint8")
    local x = fm.zeros(2, 2, "uint8")
    has(err(function() x[1] = 3.5 end), "[0, 255]")
    x[1] = 4
    x[2] = fm.tensor{1.4, 2.6}       -- a float tensor converts (rounds)
    assert.same({{4, 4}, {1, 3}}, x:totable())
    x:fill(9)
    assert.same({{9, 9}, {9, 9}}, x:totable())
    x:copy(fm.tensor{{0.2, 300}, {-5, 128}})
    assert.same({{0, 255}, {0, 128}}, x:totable())
  end)

  it("has views, indexing, copies, cat, stack and where", function()
    local x = fm.tensor({{1, 2, 3}, {4, 5, 6}}, "uint8")
    assert.same({{1, 4}, {2, 5}, {3, 6}}, x:t():totable())
    assert.same({1, 2, 3, 4, 5, 6}, x:reshape(6):totable())
    assert.same({{2}, {5}}, x:narrow(2, 2, 1):totable())
    assert.same({{3, 1}, {6, 4}}, x:index(2, fm.tensor({3, 1}, "int64")):totable())
    assert.same({{4, 5, 6}}, x:index(1, {2}):totable())
    assert.same({{3}, {4}}, x:gather(2, fm.tensor({{3}, {1}}, "int64")):totable())
    assert.same({4, 5, 6}, x[2]:totable())
    local c = x:clone()
    c[1] = 0
    assert.equal(1, x[1][1])
    assert.same({4, 3}, fm.cat({x, x}, 1):shape())
    assert.same({2, 2, 3}, fm.stack({x, x}):shape())
    assert.equal("uint8", x:t():contiguous():dtype())
    assert.same({1, 3}, x[1]:unsqueeze(1):shape())
    assert.same({2, 1, 3}, x:unsqueeze(2):shape())
    assert.same({2, 3, 2}, x:unsqueeze(3):expand(2, 3, 2):shape())
    assert.same({{0, 2, 0}, {4, 0, 6}},
      fm.where(fm.tensor({{0, 1, 0}, {1, 0, 1}}, "uint8"), x, fm.zeros(2, 3, "uint8")):totable())
    assert.same({1, 0}, fm.where(fm.tensor({5, 0}, "uint8"), 1.0, 0.0):totable())
    assert.is_true(fm.allclose(x, x:to("float32")))
    -- an index tensor may be uint8
    assert.same({{4, 5, 6}}, x:index(1, fm.tensor({2}, "uint8")):totable())
  end)

  it("prints as integers with its dtype", function()
    local s = tostring(fm.tensor({{0, 1, 255}}, "uint8"))
    has(s, "[[  0,   1, 255]]", "shape=(1, 3)", "dtype=uint8")
    has(tostring(fm.zeros(3, 1000, "uint8")), "...", "dtype=uint8")
  end)

  it("refuses arithmetic, comparisons and reductions, saying how to convert", function()
    local x = fm.tensor({1, 2, 3}, "uint8")
    for _, f in ipairs{
      function() return x + 1 end, function() return x * x end, function() return -x end,
      function() return x:exp() end, function() return x:sum() end, function() return x:max() end,
      function() return x:argmax() end, function() return x:eq(x) end, function() return x / 2 end,
      function() return x:mean(1) end} do
      has(err(f), "uint8", "(3,)", ':to("float32")')
    end
    has(err(function() return x:add_(1) end), "float tensor expected", "uint8")
    has(err(function() return x:clamp(0, 1) end), "float tensor expected", "uint8")
    has(err(function() return x:mm(x) end), "float tensor expected", "uint8")
    has(err(function() return x:scatter_add(1, fm.tensor({1}, "int64"), x:narrow(1, 1, 1)) end),
        "scatter_add", "uint8")
    has(err(function() return x:index_add(1, fm.tensor({1}, "int64"), x:narrow(1, 1, 1)) end),
        "index_add", "uint8")
    has(err(function() return x + fm.zeros(3) end), "uint8", "float32")
    has(err(function() return x:requires_grad_() end), "float")
    has(err(fm.randn, 3, "uint8"), "float dtype expected")
    has(err(fm.set_default_dtype, "uint8"), "float32 or float64")
    has(err(fm.randint, 0, 256, 3, "uint8"), "uint8", "[0, 255]")
  end)
end)

describe("uint8 files", function()
  local dir
  local function tmp(name) return dir .. "/" .. name end
  setup(function()
    local _, out = sh("mktemp -d /tmp/fm_uint8_spec_XXXXXX")
    dir = out:gsub("%s+$", "")
  end)
  teardown(function() sh("rm -rf " .. dir) end)

  it("round-trip through npy in fmlua", function()
    local x = fm.randint(0, 255, {4, 5, 6}, "uint8")
    fm.save_npy(tmp("u8.npy"), x)
    local y = fm.load_npy(tmp("u8.npy"))
    assert.equal("uint8", y:dtype())
    assert.same(x:totable(), y:totable())
    fm.save_npy(tmp("u8t.npy"), x:transpose(1, 3), "uint8")
    assert.same(x:transpose(1, 3):totable(), fm.load_npy(tmp("u8t.npy")):totable())
    has(err(fm.save_npy, tmp("bad.npy"), x, "int32"), "uint8", "int32")
  end)

  it("round-trip through safetensors as U8", function()
    local m = fm.tensor({{0, 1}, {254, 255}}, "uint8")
    fm.safetensors.save(tmp("u8.safetensors"), {mask = m, w = fm.ones(2)})
    local info = fm.safetensors.info(tmp("u8.safetensors"))
    assert.equal("U8", info.mask.stored)
    assert.equal("uint8", info.mask.dtype)
    local t = fm.safetensors.load(tmp("u8.safetensors"))
    assert.same(m:totable(), t.mask:totable())
    local into = {mask = fm.zeros(2, 2, "uint8")}
    fm.safetensors.load_into(tmp("u8.safetensors"), into, false)
    assert.same(m:totable(), into.mask:totable())
  end)

  it("'|u1' both ways and '|b1' as uint8, against numpy", function()
    local ok = os.execute("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1")
    if not ok then pending("/usr/bin/python3 with numpy not available: npy checks skipped") return end
    local x = fm.tensor({{0, 1, 2}, {127, 254, 255}}, "uint8")
    fm.save_npy(tmp("from_fm.npy"), x)
    fm.save_npy(tmp("from_fm_t.npy"), x:t())
    local script = tmp("check.py")
    local f = assert(io.open(script, "w"))
    f:write([==[
import sys, os
import numpy as np
D = sys.argv[1]
a = np.load(os.path.join(D, 'from_fm.npy'))
assert a.dtype.str == '|u1' and a.shape == (2, 3), (a.dtype.str, a.shape)
assert a.tolist() == [[0, 1, 2], [127, 254, 255]], a.tolist()
assert np.load(os.path.join(D, 'from_fm_t.npy')).tolist() == a.T.tolist()
rng = np.random.default_rng(1)
np.save(os.path.join(D, 'from_np.npy'), rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8))
np.save(os.path.join(D, 'from_np_f.npy'), np.asfortranarray(np.arange(12, dtype=np.uint8).reshape(3, 4)))
np.save(os.path.join(D, 'bool.npy'), np.array([True, False, True]))
with open(os.path.join(D, 'from_np.txt'), 'w') as out:
    b = np.load(os.path.join(D, 'from_np.npy'))
    out.write('%d %d %d %d\n' % (int(b.sum()), int(b[0, 0, 0]), int(b[2, 27, 27]), int(b.max())))
]==])
    f:close()
    local ran, out = sh(("/usr/bin/python3 %q %q"):format(script, dir))
    assert(ran, "python check failed:\n" .. out)
    local y = fm.load_npy(tmp("from_np.npy"))
    assert.equal("uint8", y:dtype())
    assert.same({3, 28, 28}, y:shape())
    local t = assert(io.open(tmp("from_np.txt"))):read("a")
    local sum, first, last, max = t:match("(%d+) (%d+) (%d+) (%d+)")
    assert.equal(tonumber(sum), y:to("float64"):sum():item())
    assert.equal(tonumber(first), y[1][1][1])
    assert.equal(tonumber(last), y[3][28][28])
    assert.equal(tonumber(max), y:to("float32"):max():item())
    assert.same({{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}}, fm.load_npy(tmp("from_np_f.npy")):totable())
    local b = fm.load_npy(tmp("bool.npy"))
    assert.equal("uint8", b:dtype())
    assert.same({1, 0, 1}, b:totable())
  end)
end)
