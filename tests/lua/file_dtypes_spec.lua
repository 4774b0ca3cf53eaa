-- file_dtypes_spec.lua — float16, bfloat16 and bool in safetensors (F16,
-- BF16, BOOL) and npy ('<f2', '|b1'), checked bit for bit against NumPy and
-- PyTorch (/usr/bin/python3; skipped with a message where numpy is missing,
-- the torch comparisons skipped where torch is). Python writes its files by
-- hand (struct + json: Debian has no python3-safetensors), fmlua reads them
-- and writes its own, and Python compares the bits:
--   * all 65536 float16 patterns widened by fmlua == numpy's float16 ->
--     float32 (NaN payloads included), and == torch's for the non-NaNs;
--   * all 65536 bfloat16 patterns widened == torch's bfloat16 -> float32;
--   * 2.6 M float32 patterns (every sign, exponent and kept mantissa of a
--     float16, each with the dropped bits at, below and above the tie, and
--     random ones; infinities and NaNs among them) narrowed by fmlua to F16
--     == numpy's astype(float16), NaN included; to BF16 == torch's
--     .to(bfloat16) for the non-NaNs (torch's own NaN pattern depends on its
--     code path: 0x7fc0 or 0xffff), NaN for the NaNs;
--   * bools both ways; bytes other than 0/1 refused.
local fm = require "fm"

local sh = require "tests.lua.shell"

local dir
local function tmp(name) return dir .. "/" .. name end

local has_numpy = os.execute("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1")
local has_torch = os.execute("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1")

-- Python with np, D (the temp dir), TORCH (whether torch is there), and a
-- safetensors writer / reader by hand; BF16 travels as its uint16 bits.
local prelude = [==[
import json, os, struct, sys
import numpy as np
D = sys.argv[1]
TORCH = sys.argv[2] == '1'  # the scripts that compare with torch import it
ST = {'F32': '<f4', 'F16': '<f2', 'BF16': '<u2', 'BOOL': '|b1', 'U8': '|u1', 'I64': '<i8'}
def st_write(path, tensors):
    h, blobs, at = {}, [], 0
    for k, (tag, a) in tensors.items():
        raw = np.ascontiguousarray(a).tobytes()
        h[k] = {'dtype': tag, 'shape': list(a.shape), 'data_offsets': [at, at + len(raw)]}
        blobs.append(raw); at += len(raw)
    j = json.dumps(h).encode()
    j += b' ' * (-(8 + len(j)) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(j)) + j + b''.join(blobs))
def st_read(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n].decode('utf-8'))
    h.pop('__metadata__', None)
    out = {}
    for k, v in h.items():
        s, e = v['data_offsets']
        out[k] = (v['dtype'], np.frombuffer(b[8 + n + s:8 + n + e], dtype=ST[v['dtype']]).reshape(v['shape']))
    return out
def bits32(a): return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
def same_bits(name, got, want, mask=None):
    bad = got != want if mask is None else (got != want) & mask
    n = int(bad.sum())
    if n:
        i = np.flatnonzero(bad)[:5]
        raise AssertionError('%s: %d differ, e.g. %s' % (name, n, [(hex(int(x)), hex(int(y))) for x, y in zip(got[i], want[i])]))
def t_bits16(t):
    import torch
    return t.contiguous().view(torch.int16).numpy().view(np.uint16)
]==]

local function py(code)
  local f = assert(io.open(tmp("check.py"), "w"))
  f:write(prelude, code)
  f:close()
  local ok, out = sh(("/usr/bin/python3 %q %q %s"):format(tmp("check.py"), dir,
    has_torch and "1" or "0"))
  assert(ok, "python check failed:\n" .. out)
  return out
end

local err, has = table.unpack((require "tests.lua.expect_error"))

setup(function()
  local _, out = sh("mktemp -d /tmp/fm_file_dtypes_XXXXXX")
  dir = out:gsub("%s+$", "")
end)
teardown(function() sh("rm -rf " .. dir) end)

describe("16-bit floats in files", function()
  it("widen every float16 and bfloat16 pattern as numpy and torch do", function()
    if not has_numpy then pending("/usr/bin/python3 has no numpy: float16 checks skipped") return end
    py [==[
pat = np.arange(65536, dtype=np.uint32).astype(np.uint16)
st_write(os.path.join(D, 'all16.safetensors'), {'h': ('F16', pat.view(np.float16)), 'b': ('BF16', pat)})
np.save(os.path.join(D, 'all16.npy'), pat.view(np.float16))
]==]
    local t = fm.safetensors.load(tmp("all16.safetensors"))
    assert.equal("float32", t.h:dtype())
    assert.equal("float32", t.b:dtype())
    assert.same({65536}, t.b:shape())
    assert.equal("F16", fm.safetensors.info(tmp("all16.safetensors")).h.stored)
    assert.equal("BF16", fm.safetensors.info(tmp("all16.safetensors")).b.stored)
    fm.save_npy(tmp("fm_h.npy"), t.h)
    fm.save_npy(tmp("fm_b.npy"), t.b)
    fm.save_npy(tmp("fm_h_npy.npy"), fm.load_npy(tmp("all16.npy")))
    local out = py [==[
pat = np.arange(65536, dtype=np.uint32).astype(np.uint16)
want = bits32(pat.view(np.float16).astype(np.float32))
for n in ('fm_h', 'fm_h_npy'):
    a = np.load(os.path.join(D, n + '.npy'))
    assert a.dtype.str == '<f4' and a.shape == (65536,)
    same_bits(n + ' vs numpy', a.view(np.uint32), want)
b = np.load(os.path.join(D, 'fm_b.npy')).view(np.uint32)
same_bits('bf16 by definition', b, pat.astype(np.uint32) << 16)
if TORCH:
    import torch
    h16 = torch.from_numpy(pat.view(np.int16).copy())
    tf = bits32(h16.view(torch.float16).float().numpy())
    same_bits('fm_h vs torch', np.load(os.path.join(D, 'fm_h.npy')).view(np.uint32), tf,
              ~np.isnan(pat.view(np.float16)))
    tb = bits32(h16.view(torch.bfloat16).float().numpy())
    same_bits('fm_b vs torch', b, tb)
print('widened: 65536 float16 and 65536 bfloat16 patterns bit-exact' + (' (numpy, torch)' if TORCH else ' (numpy)'))
]==]
    assert.truthy(out:find("bit-exact", 1, true), out)
    print(out)
  end)

  it("narrow float32 to F16 / '<f2' as numpy and to BF16 as torch, bit for bit", function()
    if not has_numpy then pending("/usr/bin/python3 has no numpy: float16 checks skipped") return end
    py [==[
rng = np.random.default_rng(7)
pre = np.arange(1 << 19, dtype=np.uint32) << 13   # sign, exponent, 10 kept mantissa bits
lows = [0, 1, 0xfff, 0x1000, 0x1001]
x = np.concatenate([pre | l for l in lows] + [rng.integers(0, 1 << 32, 1 << 18, dtype=np.uint64).astype(np.uint32)])
np.save(os.path.join(D, 'f32.npy'), x.view(np.float32))
]==]
    local x = fm.load_npy(tmp("f32.npy"))
    assert.same({5 * 2 ^ 19 + 2 ^ 18}, x:shape())
    fm.safetensors.save(tmp("fm_narrow.safetensors"), {h = x, b = x}, nil, {dtype = {h = "f16", b = "bf16"}})
    fm.save_npy(tmp("fm_narrow.npy"), x, "float16")
    local info = fm.safetensors.info(tmp("fm_narrow.safetensors"))
    assert.equal("F16", info.h.stored)
    assert.equal("BF16", info.b.stored)
    local out = py [==[
x = np.load(os.path.join(D, 'f32.npy'))
t = st_read(os.path.join(D, 'fm_narrow.safetensors'))
assert t['h'][0] == 'F16' and t['b'][0] == 'BF16'
with np.errstate(over='ignore'):
    want = x.astype(np.float16).view(np.uint16)
same_bits('F16 vs numpy', t['h'][1].view(np.uint16), want)
n = np.load(os.path.join(D, 'fm_narrow.npy'))
assert n.dtype.str == '<f2', n.dtype.str
same_bits("'<f2' vs numpy", n.view(np.uint16), want)
nan = np.isnan(x)
b = t['b'][1]
assert np.isnan((b.astype(np.uint32) << 16).view(np.float32)[nan]).all(), 'a NaN did not stay a NaN'
if TORCH:
    import torch
    tb = t_bits16(torch.from_numpy(x).to(torch.bfloat16))
    same_bits('BF16 vs torch', b, tb, ~nan)
    th = t_bits16(torch.from_numpy(x).to(torch.float16))
    same_bits('F16 vs torch', t['h'][1].view(np.uint16), th, ~nan)
print('narrowed: %d float32 patterns (%d NaN, %d to inf in float16) bit-exact' % (
    x.size, int(nan.sum()), int(np.isinf(want.view(np.float16)).sum() - np.isinf(x).sum())))
]==]
    assert.truthy(out:find("bit-exact", 1, true), out)
    print(out)
  end)

  it("stores per save or per tensor, and refuses what does not fit", function()
    local w, mask, steps = fm.tensor({0.1, -2, 1e5}), fm.tensor({1, 0, 1}, "uint8"), fm.tensor({7}, "int64")
    local p = tmp("opts.safetensors")
    fm.safetensors.save(p, {w = w, mask = mask, steps = steps}, {note = "x"}, {dtype = "bf16"})
    local info = fm.safetensors.info(p)
    assert.equal("BF16", info.w.stored)       -- every float32 tensor
    assert.equal("U8", info.mask.stored)      -- the others keep their dtype
    assert.equal("I64", info.steps.stored)
    local t, meta = fm.safetensors.load(p)
    assert.equal("x", meta.note)
    assert.same({0.10009765625, -2, 99840}, t.w:totable())
    fm.safetensors.save(p, {w = w, mask = mask}, nil, {dtype = {w = "float16", mask = "bool"}})
    info = fm.safetensors.info(p)
    assert.equal("F16", info.w.stored)
    assert.equal("BOOL", info.mask.stored)
    assert.equal("uint8", info.mask.dtype)
    t = fm.safetensors.load(p)
    assert.same({0.0999755859375, -2, math.huge}, t.w:totable())
    assert.same({1, 0, 1}, t.mask:totable())
    local into = {w = fm.zeros(3), mask = fm.zeros(3, "uint8")}
    fm.safetensors.load_into(p, into)
    assert.same(t.w:totable(), into.w:totable())
    has(err(fm.safetensors.save, p, {w = w}, nil, {dtype = {w = "bool"}}), "'w'", "float32", "bool")
    has(err(fm.safetensors.save, p, {w = w}, nil, {dtype = {v = "f16"}}), "'v'", "not a tensor")
    has(err(fm.safetensors.save, p, {w = w}, nil, {dtype = "f8"}), "opts.dtype", "'f8'", "bf16")
    has(err(fm.safetensors.save, p, {w = w:to("float64")}, nil, {dtype = {w = "f16"}}), "float64")
    has(err(fm.safetensors.save, p, {m = fm.tensor({0, 3}, "uint8")}, nil, {dtype = "bool"}),
      "element 1 is 3", "bool")
    has(err(fm.save_npy, tmp("x.npy"), w, "bf16"), "bfloat16", "safetensors")
    has(err(fm.save_npy, tmp("x.npy"), mask:to("float32"), "bool"), "float32", "bool")
    -- the file from before the refused saves is whole
    assert.same({1, 0, 1}, fm.safetensors.load(p).mask:totable())
  end)
end)

describe("fm.save with dtype", function()
  it("stores the parameters as bfloat16 and the optimiser state as float32", function()
    local net = fm.nn.mlp{inputs = 3, hidden = {8}, outputs = 2}
    local opt = fm.optim.adam(net, {lr = 1e-2})
    local x = fm.randn(16, 3)
    opt:zero_grad();
    (net(x) ^ 2):mean():backward()
    opt:step()
    local p = tmp("net_bf16.safetensors")
    net:save(p, {optimizer = opt, dtype = "bf16"})
    local info = fm.safetensors.info(p)
    for name, e in pairs(info) do
      assert.equal(name:match("^optim%.") and "F32" or "BF16", e.stored, name)
    end
    local net2 = fm.nn.mlp{inputs = 3, hidden = {8}, outputs = 2}
    net2:load(p)
    -- each parameter is its nearest bfloat16: through a BF16 save and back
    local ref = {}
    for name, t in pairs(net:state_dict()) do ref[name] = t end
    fm.safetensors.save(tmp("ref.safetensors"), ref, nil, {dtype = "bf16"})
    local back = fm.safetensors.load(tmp("ref.safetensors"))
    for name, t in pairs(net2:state_dict()) do
      assert.tensor_near(back[name], t, 0)
      assert.tensor_near(ref[name], t, 2 ^ -8 * ref[name]:abs():max():item())
    end
    local opt2 = fm.optim.adam(net2, {lr = 1e-2})
    opt2:load_state(p)
    has(err(fm.save, p, net, {dtype = "bool"}), "fm.save", "bf16", "bool")
  end)
end)

describe("bools in files", function()
  it("read numpy's '|b1' and BOOL as uint8 0/1 and write them back as bools", function()
    if not has_numpy then pending("/usr/bin/python3 has no numpy: bool checks skipped") return end
    py [==[
rng = np.random.default_rng(3)
m = rng.random((4, 5, 6)) < 0.3
np.save(os.path.join(D, 'b1.npy'), m)
np.save(os.path.join(D, 'b1_f.npy'), np.asfortranarray(m[0]))
np.save(os.path.join(D, 'b1_sum.npy'), m.sum(axis=2).astype(np.int64))
st_write(os.path.join(D, 'bool.safetensors'), {'m': ('BOOL', m), 'u': ('U8', m.astype(np.uint8) * 200)})
]==]
    local m = fm.load_npy(tmp("b1.npy"))
    assert.equal("uint8", m:dtype())
    assert.same({4, 5, 6}, m:shape())
    local sums = fm.load_npy(tmp("b1_sum.npy"))
    assert.same(sums:totable(), m:to("int64"):sum(3):totable())
    assert.same(m[1]:totable(), fm.load_npy(tmp("b1_f.npy")):totable())
    local t = fm.safetensors.load(tmp("bool.safetensors"))
    assert.equal("uint8", t.m:dtype())
    assert.same(m:totable(), t.m:totable())
    assert.equal("BOOL", fm.safetensors.info(tmp("bool.safetensors")).m.stored)
    fm.save_npy(tmp("fm_b1.npy"), m:transpose(1, 3), "bool")
    fm.safetensors.save(tmp("fm_bool.safetensors"), t, nil, {dtype = {m = "bool"}})
    py [==[
m = np.load(os.path.join(D, 'b1.npy'))
a = np.load(os.path.join(D, 'fm_b1.npy'))
assert a.dtype == np.bool_ and (a == m.transpose(2, 1, 0)).all(), a.dtype
t = st_read(os.path.join(D, 'fm_bool.safetensors'))
assert t['m'][0] == 'BOOL' and t['m'][1].dtype == np.bool_ and (t['m'][1] == m).all()
assert t['u'][0] == 'U8' and (t['u'][1] == m.astype(np.uint8) * 200).all()
]==]
  end)

  it("refuse a bool byte other than 0 or 1, naming the file and the tensor", function()
    local function st(json, data) return string.pack("<I8", #json) .. json .. data end
    local p = tmp("bad_bool.safetensors")
    local f = assert(io.open(p, "wb"))
    f:write(st('{"flags":{"dtype":"BOOL","shape":[4],"data_offsets":[0,4]}}', "\1\0\255\1"))
    f:close()
    has(err(fm.safetensors.load, p), p, "tensor 'flags'", "element 2", "byte 255")
    has(err(fm.safetensors.load_into, p, {flags = fm.zeros(4, "uint8")}), p, "byte 255")
    local dict = "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }"
    dict = dict .. (" "):rep(63 - (10 + #dict) % 64) .. "\n"
    local q = tmp("bad_b1.npy")
    f = assert(io.open(q, "wb"))
    f:write("\147NUMPY\1\0", string.pack("<I2", #dict), dict, "\0\1\2")
    f:close()
    has(err(fm.load_npy, q), q, "element 2", "byte 2")
  end)
end)
