-- checkpoint_spec.lua — fm.save / fm.load / net:load / opt:load_state:
-- round trips, and bad files raising errors that name the file and leave the
-- module untouched; Python (NumPy, a small safetensors reader) reads the file.
local fm = require "fm"

local dir
local function tmp(name) return dir .. "/" .. name end

local function snapshot(net)
  local s = {}
  for i, p in ipairs(net:parameters()) do s[i] = p:clone() end
  return s
end
local function same_as(net, snap)
  for i, p in ipairs(net:parameters()) do
    if (p - snap[i]):abs():max():item() ~= 0 then return false end
  end
  return true
end

local function make(h) return fm.nn.mlp{inputs = 3, hidden = {h or 8, 8}, outputs = 2} end

setup(function()
  dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
end)
teardown(function() os.execute("rm -rf " .. dir) end)

describe("checkpoints", function()
  it("round-trip a module and its optimiser state", function()
    local net = make()
    local opt = fm.optim.adam(net, {lr = 1e-2})
    local x = fm.randn(16, 3)
    for _ = 1, 3 do
      opt:zero_grad();
      (net(x) ^ 2):mean():backward()
      opt:step()
    end
    fm.save(tmp("a.safetensors"), net, {optimizer = opt, metadata = {epoch = 3}})
    local info, meta = fm.safetensors.info(tmp("a.safetensors"))
    assert.is_not_nil(info["layers.1.weight"])
    assert.is_not_nil(info["optim.layers.1.weight.exp_avg"])
    assert.equal("3", meta.epoch)

    local net2 = make()
    local opt2 = fm.optim.adam(net2, {lr = 1e-2})
    local meta2 = net2:load(tmp("a.safetensors"))
    assert.equal("3", meta2.epoch)
    opt2:load_state(tmp("a.safetensors"))
    assert.same(opt.steps, opt2.steps)
    assert.tensor_near(net(x), net2(x), 0)
    -- continuing from the loaded state gives the same next step
    for _, pair in ipairs({{net, opt}, {net2, opt2}}) do
      pair[2]:zero_grad();
      (pair[1](x) ^ 2):mean():backward()
      pair[2]:step()
    end
    assert.tensor_near(net(x), net2(x), 0)
    -- a table of tensors works too
    local t = {w = fm.randn(2, 2)}
    fm.save(tmp("t.safetensors"), t)
    local u = {w = fm.zeros(2, 2)}
    fm.load(tmp("t.safetensors"), u)
    assert.tensor_near(t.w, u.w, 0)
  end)

  it("rejects a different architecture, naming the file, module untouched", function()
    make(8):save(tmp("small.safetensors"))
    local big = make(16)
    local snap = snapshot(big)
    local ok, err = pcall(big.load, big, tmp("small.safetensors"))
    assert.is_false(ok)
    assert.truthy(err:find(tmp("small.safetensors"), 1, true))
    assert.truthy(err:find("tensor 'layers.1.weight' is float32 (3, 8) in the file, " ..
      "the module has float32 (3, 16)", 1, true), err)
    assert.is_true(same_as(big, snap))
    -- a deeper network: missing tensor
    local deep = fm.nn.mlp{inputs = 3, hidden = {8, 8, 8}, outputs = 2}
    snap = snapshot(deep)
    ok, err = pcall(deep.load, deep, tmp("small.safetensors"))
    assert.is_false(ok)
    assert.truthy(err:find("tensor 'layers.5.weight' is float32 (8, 2)", 1, true), err)
    assert.is_true(same_as(deep, snap))
    -- a shallower one: a tensor in the file it does not have
    local shallow = fm.nn.mlp{inputs = 3, hidden = {8}, outputs = 2}
    ok, err = pcall(shallow.load, shallow, tmp("small.safetensors"))
    assert.is_false(ok)
    assert.truthy(err:find("tensor 'layers.3.weight' is float32 (8, 8)", 1, true), err)
    local part = {["layers.1.weight"] = fm.zeros(3, 8)}
    ok, err = pcall(fm.load, tmp("small.safetensors"), part)
    assert.is_false(ok)
    assert.truthy(err:find("unexpected tensor 'layers.", 1, true), err)
    assert.same(0, part["layers.1.weight"]:abs():max():item())
  end)

  it("rejects a truncated or corrupt file, module untouched", function()
    local net = make()
    net:save(tmp("good.safetensors"))
    local f = assert(io.open(tmp("good.safetensors"), "rb"))
    local bytes = f:read("a")
    f:close()
    local cases = {
      truncated = bytes:sub(1, #bytes - 10),
      header_only = bytes:sub(1, 20),
      garbage = string.rep("\255", 64),
    }
    local other = make()
    local snap = snapshot(other)
    for name, content in pairs(cases) do
      local path = tmp(name .. ".safetensors")
      local g = assert(io.open(path, "wb"))
      g:write(content)
      g:close()
      local ok, err = pcall(other.load, other, path)
      assert.is_false(ok, name)
      assert.truthy(err:find(path, 1, true), name .. ": " .. err)
      assert.is_true(same_as(other, snap), name)
    end
    local ok, err = pcall(fm.load, tmp("missing.safetensors"), other)
    assert.is_false(ok)
    assert.truthy(err:find("missing.safetensors", 1, true))
  end)

  it("is readable from Python with NumPy", function()
    local net = make()
    net:save(tmp("py.safetensors"))
    fm.save_npy(tmp("w1.npy"), net.layers[1].weight)
    local code = [[
import json, struct, sys
import numpy as np
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
e = h['layers.1.weight']
assert e['dtype'] == 'F32' and e['shape'] == [3, 8], e
s, t = e['data_offsets']
w = np.frombuffer(b[8 + n + s:8 + n + t], dtype='<f4').reshape(3, 8)
ref = np.load(sys.argv[2])
assert np.array_equal(w, ref)
print(len([k for k in h if k != '__metadata__']))
]]
    local script = tmp("check.py")
    local f = assert(io.open(script, "w"))
    f:write(code)
    f:close()
    local p = assert(io.popen(string.format("/usr/bin/python3 %s %s %s 2>&1", script,
      tmp("py.safetensors"), tmp("w1.npy"))))
    local out = p:read("a")
    local ok = p:close()
    assert.is_true(ok, out)
    assert.equal("6", out:match("%d+"))
  end)
end)

describe("fm.checkpoint", function()
  local ck = require "fm.checkpoint"
  local d
  setup(function() d = os.tmpname(); os.remove(d); assert(require("lfs").mkdir(d)) end)
  teardown(function() os.execute("rm -rf '" .. d .. "'") end)

  local function trained()
    fm.seed(3)
    local net = fm.nn.mlp{inputs = 3, hidden = {8}, outputs = 2}
    local opt = fm.optim.adam(net, {lr = 1e-2})
    local ema = fm.optim.ema(net:parameters(), 0.9, {warmup = true})
    for _ = 1, 3 do
      local loss = (net(fm.randn(16, 3)) ^ 2):mean()
      opt:zero_grad(); loss:backward(); opt:step(); ema:update()
    end
    return net, opt, ema
  end

  it("restores the weights, the optimiser, the EMA and the step", function()
    local net, opt, ema = trained()
    ck.save(d .. "/c.safetensors", {net = net, optimizer = opt, ema = ema, step = 3,
                                    meta = {seed = 3}})
    fm.seed(9)
    local net2 = fm.nn.mlp{inputs = 3, hidden = {8}, outputs = 2}
    local opt2 = fm.optim.adam(net2, {lr = 1e-2})
    local ema2 = fm.optim.ema(net2:parameters(), 0.9, {warmup = true})
    local info = ck.load(d .. "/c.safetensors", {net = net2, optimizer = opt2, ema = ema2})
    assert.equal(3, info.step)
    assert.equal("3", info.meta.seed)
    assert.equal(3, ema2.count)
    for i, p in ipairs(net:parameters()) do
      assert.tensor_near(p:detach(), net2:parameters()[i]:detach(), 0)
      assert.tensor_near(ema.averages[i], ema2.averages[i], 0)
    end
    -- the next step is the same on both
    fm.seed(5); local x = fm.randn(16, 3)
    for _, s in ipairs{{net, opt}, {net2, opt2}} do
      local loss = (s[1](x) ^ 2):mean()
      s[2]:zero_grad(); loss:backward(); s[2]:step()
    end
    for i, p in ipairs(net:parameters()) do
      assert.tensor_near(p:detach(), net2:parameters()[i]:detach(), 1e-7)
    end
  end)

  it("refuses a missing file or another network and changes nothing", function()
    local net = trained()
    assert.has_error(function() ck.load(d .. "/none.safetensors", {net = net}) end)
    ck.save(d .. "/small.safetensors", {net = fm.nn.mlp{inputs = 3, hidden = {4}, outputs = 2}})
    local snap = {}
    for i, p in ipairs(net:parameters()) do snap[i] = p:detach():clone() end
    local ok, err = pcall(ck.load, d .. "/small.safetensors", {net = net})
    assert.is_false(ok)
    assert.truthy(tostring(err):match("fm.checkpoint.load"))
    for i, p in ipairs(net:parameters()) do assert.tensor_near(snap[i], p:detach(), 0) end
    assert.has_error(function() ck.save(d .. "/x.safetensors", {}) end,
                     "fm.checkpoint: net = a module is required")
  end)
end)
