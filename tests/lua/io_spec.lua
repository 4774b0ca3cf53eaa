-- io_spec.lua — npy and safetensors files checked against NumPy
-- (/usr/bin/python3 with python3-numpy; safetensors parsed by a tiny
-- json + struct reader/writer below, since Debian has no python3-safetensors),
-- and corrupt files: every case must be a Lua error naming the file.
local fm = require "fm"

local sh = require "tests.lua.shell"

local dir
local function tmp(name) return dir .. "/" .. name end

-- Runs Python code (with np, json, struct, os imported, D = the temp dir and
-- st_read / st_write helpers) and fails the test with its output on error.
local prelude = [==[
import json, os, struct, sys
import numpy as np
D = sys.argv[1]
ST = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8', 'I32': '<i4'}
def st_read(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    assert (8 + n) % 8 == 0, 'data not 8-aligned'
    h = json.loads(b[8:8 + n].decode('utf-8'))
    meta = h.pop('__metadata__', {})
    data = b[8 + n:]
    out, spans = {}, []
    for k, v in h.items():
        s, e = v['data_offsets']
        spans.append((s, e))
        out[k] = np.frombuffer(data[s:e], dtype=ST[v['dtype']]).reshape(v['shape'])
    spans.sort()
    at = 0
    for s, e in spans:
        assert s == at, 'gap or overlap'
        at = e
    assert at == len(data), 'stray bytes'
    return out, meta
def st_write(path, tensors, meta=None):
    h, blobs, at = {}, [], 0
    if meta: h['__metadata__'] = meta
    rev = {v: k for k, v in ST.items()}
    for k, a in tensors.items():
        a = np.asarray(a)
        raw = a.tobytes(order='C')
        h[k] = {'dtype': rev[a.dtype.str], 'shape': list(a.shape), 'data_offsets': [at, at + len(raw)]}
        blobs.append(raw); at += len(raw)
    j = json.dumps(h).encode()
    j += b' ' * (-(8 + len(j)) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(j)) + j + b''.join(blobs))
]==]
local function py(code)
  local f = assert(io.open(tmp("check.py"), "w"))
  f:write(prelude, code)
  f:close()
  local ok, out = sh(string.format("/usr/bin/python3 %q %q", tmp("check.py"), dir))
  assert(ok, "python check failed:\n" .. out)
  return out
end

local function read_bytes(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write_bytes(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- the call must raise an error whose message names the file
local function fails_naming(path, f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error for " .. path)
  assert.is_truthy(tostring(err):find(path, 1, true), "error does not name the file: " .. tostring(err))
end

setup(function()
  local _, out = sh("mktemp -d /tmp/fm_io_spec_XXXXXX")
  dir = out:gsub("%s+$", "")
end)
teardown(function() sh("rm -rf " .. dir) end)

describe("npy", function()
  it("files written by fmlua open in numpy with the right dtype and shape", function()
    fm.seed(3)
    fm.save_npy(tmp("f32.npy"), fm.randn(3, 4))
    fm.save_npy(tmp("f64.npy"), fm.rand({2, 3, 2}, "float64"))
    local ints = fm.randint(-5, 5, 7)
    fm.save_npy(tmp("i64.npy"), ints)
    fm.save_npy(tmp("i32.npy"), ints, "int32")
    fm.save_npy(tmp("scalar.npy"), fm.rand("float64"))
    fm.save_npy(tmp("empty.npy"), fm.rand(0, 3))
    py [==[
for name, dt, shape in [('f32', '<f4', (3, 4)), ('f64', '<f8', (2, 3, 2)), ('i64', '<i8', (7,)),
                        ('i32', '<i4', (7,)), ('scalar', '<f8', ()), ('empty', '<f4', (0, 3))]:
    a = np.load(os.path.join(D, name + '.npy'))
    assert a.dtype.str == dt and a.shape == shape, (name, a.dtype.str, a.shape)
a = np.load(os.path.join(D, 'f32.npy'))
assert abs(a.mean()) < 2 and 0.2 < a.std() < 2 and np.isfinite(a).all()
assert (np.load(os.path.join(D, 'i32.npy')) == np.load(os.path.join(D, 'i64.npy'))).all()
]==]
  end)

  it("round-trips files written by numpy bit for bit", function()
    py [==[
rng = np.random.default_rng(0)
np.save(os.path.join(D, 'n_f32.npy'), rng.standard_normal((5, 3)).astype('<f4'))
np.save(os.path.join(D, 'n_f64.npy'), rng.standard_normal((2, 2, 2, 2)))
np.save(os.path.join(D, 'n_i64.npy'), np.array([-2**62, -1, 0, 2**62 + 12345], dtype='<i8'))
np.save(os.path.join(D, 'n_i32.npy'), np.array([[-2**31, 7], [2**31 - 1, 0]], dtype='<i4'))
np.save(os.path.join(D, 'n_scalar.npy'), np.float32(2.5))
for v in (2, 3):  # format versions 2.0 and 3.0 (4-byte header length)
    with open(os.path.join(D, 'n_v%d.npy' % v), 'wb') as f:
        np.lib.format.write_array(f, np.arange(6, dtype='<i8').reshape(3, 2) - 3, version=(v, 0))
np.save(os.path.join(D, 'n_view.npy'), np.ascontiguousarray(np.arange(12.0).reshape(3, 4).T))
# fortran_order True: numpy's choice for F-contiguous arrays (a transpose)
np.save(os.path.join(D, 'n_fortran.npy'), rng.standard_normal((3, 4)).astype('<f4').T)
np.save(os.path.join(D, 'n_fortran3.npy'), np.asfortranarray(np.arange(24, dtype='<i4').reshape(2, 3, 4)))
for n in ('fortran', 'fortran3'):
    with open(os.path.join(D, 'n_' + n + '.npy'), 'rb') as f:
        assert b"'fortran_order': True" in f.read(128), n
]==]
    for _, n in ipairs{"f32", "f64", "i64", "scalar", "view", "v2", "v3", "fortran", "fortran3"} do
      fm.save_npy(tmp("r_" .. n .. ".npy"), fm.load_npy(tmp("n_" .. n .. ".npy")))
    end
    fm.save_npy(tmp("r_i32.npy"), fm.load_npy(tmp("n_i32.npy")), "int32")
    fm.save_npy(tmp("r_i32as64.npy"), fm.load_npy(tmp("n_i32.npy")))
    py [==[
for n in ['f32', 'f64', 'i64', 'i32', 'scalar', 'view', 'v2', 'v3', 'fortran']:
    a, b = np.load(os.path.join(D, 'n_' + n + '.npy')), np.load(os.path.join(D, 'r_' + n + '.npy'))
    assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), n
c = np.load(os.path.join(D, 'r_i32as64.npy'))
assert c.dtype.str == '<i8' and np.array_equal(c, np.load(os.path.join(D, 'n_i32.npy')))
f3 = np.load(os.path.join(D, 'r_fortran3.npy'))
assert f3.dtype.str == '<i8' and np.array_equal(f3, np.arange(24).reshape(2, 3, 4))
]==]
  end)

  it("rejects what it cannot read with an error naming the file", function()
    py [==[
np.save(os.path.join(D, 'bigendian.npy'), np.ones(3, dtype='>f4'))
np.save(os.path.join(D, 'i16.npy'), np.ones(3, dtype='<i2'))
np.save(os.path.join(D, 'u16.npy'), np.ones(3, dtype='<u2'))
]==]
    for _, n in ipairs{"bigendian", "i16", "u16", "missing"} do
      fails_naming(tmp(n .. ".npy"), fm.load_npy, tmp(n .. ".npy"))
    end
    -- a NUL or control character in the dict (numpy refuses '<f4\x00' too;
    -- issue 17, item 7), beside the same header without it, which loads
    local function npy(descr)
      local dict = "{'descr': '" .. descr .. "', 'fortran_order': False, 'shape': (2,), }"
      dict = dict .. (" "):rep(63 - (10 + #dict) % 64) .. "\n"
      return "\x93NUMPY\1\0" .. string.pack("<I2", #dict) .. dict .. ("\0"):rep(8)
    end
    write_bytes(tmp("descr.npy"), npy("<f4"))
    assert.are.equal(2, fm.load_npy(tmp("descr.npy")):numel())
    for _, descr in ipairs{"<f4\0", "<f4\n", "\1<f4"} do
      write_bytes(tmp("descr.npy"), npy(descr))
      local ok, err = pcall(fm.load_npy, tmp("descr.npy"))
      assert.is_false(ok, descr)
      assert.is_truthy(err:find("control character", 1, true), err)
    end
  end)

  it("gives a Lua error, never a crash, for every truncation and header flip", function()
    fm.save_npy(tmp("good.npy"), fm.randn(4, 3))
    local good = read_bytes(tmp("good.npy"))
    local bad = tmp("bad.npy")
    for k = 0, #good - 1 do
      write_bytes(bad, good:sub(1, k))
      fails_naming(bad, fm.load_npy, bad)
    end
    local accepted = 0
    for k = 1, 128 do
      local c = good:sub(1, k - 1) .. string.char(good:byte(k) ~ 0xff) .. good:sub(k + 1)
      write_bytes(bad, c)
      local ok, err = pcall(fm.load_npy, bad)
      if ok then accepted = accepted + 1
      else assert.is_truthy(tostring(err):find(bad, 1, true), err) end
    end
    assert.equal(1, accepted) -- only the minor version byte is free
  end)

  it("writes atomically: a failed save keeps the old file and leaves no temporary", function()
    local p = tmp("atomic.npy")
    fm.save_npy(p, fm.randint(0, 9, 4))
    local before = read_bytes(p)
    assert.has_error(function() fm.save_npy(p, fm.randint(2^40, 2^41, 4), "int32") end)
    assert.has_error(function() fm.save_npy(p, fm.rand(2), "int32") end)
    assert.equal(before, read_bytes(p))
    local _, out = sh("ls " .. dir .. " | grep -c tmp")
    assert.equal("0", out:gsub("%s+$", ""))
    fails_naming(tmp("no/such/dir/x.npy"), fm.save_npy, tmp("no/such/dir/x.npy"), fm.rand(2))
  end)
end)

describe("safetensors", function()
  it("reads files written by a reference writer, with metadata", function()
    py [==[
st_write(os.path.join(D, 'ref.safetensors'), {
    'net.0.weight': np.arange(6, dtype='<f4').reshape(2, 3) / 4,
    'net.0.bias': np.array([1.5, -2.25]),
    'steps': np.array(123456789012, dtype='<i8'),
    'idx': np.array([[1, -2], [3, 2**31 - 1]], dtype='<i4'),
    'empty': np.zeros((0, 4), dtype='<f4'),
}, {'format': 'pt', 'note': 'caf\u00e9'})
]==]
    local info, meta = fm.safetensors.info(tmp("ref.safetensors"))
    assert.same({dtype = "float32", stored = "F32", shape = {2, 3}}, info["net.0.weight"])
    assert.same({dtype = "float64", stored = "F64", shape = {2}}, info["net.0.bias"])
    assert.same({dtype = "int64", stored = "I64", shape = {}}, info.steps)
    assert.same({dtype = "int64", stored = "I32", shape = {2, 2}}, info.idx)
    assert.same({dtype = "float32", stored = "F32", shape = {0, 4}}, info.empty)
    assert.same({format = "pt", note = "café"}, meta)
    local t, meta2 = fm.safetensors.load(tmp("ref.safetensors"))
    assert.same(meta, meta2)
    meta2.extra = "42"
    fm.safetensors.save(tmp("out.safetensors"), t, meta2)
    py [==[
a, ma = st_read(os.path.join(D, 'ref.safetensors'))
b, mb = st_read(os.path.join(D, 'out.safetensors'))
assert set(a) == set(b)
for k in a:
    want = a[k].astype('<i8') if a[k].dtype.str == '<i4' else a[k]
    assert b[k].dtype == want.dtype and b[k].shape == want.shape and np.array_equal(b[k], want), k
assert mb == dict(ma, extra='42'), mb
]==]
  end)

  it("writes files numpy can read (views, every dtype, no metadata)", function()
    fm.seed(11)
    local x = fm.randn(4, 5)
    fm.save_npy(tmp("x.npy"), x)
    fm.safetensors.save(tmp("w.safetensors"), {x = x, y = fm.rand(3, "float64"), n = fm.permutation(6)})
    py [==[
b, m = st_read(os.path.join(D, 'w.safetensors'))
assert m == {} and set(b) == {'x', 'y', 'n'}
assert np.array_equal(b['x'], np.load(os.path.join(D, 'x.npy')))
assert b['y'].dtype.str == '<f8' and ((b['y'] >= 0) & (b['y'] < 1)).all()
assert sorted(b['n']) == list(range(1, 7))
]==]
  end)

  it("load_into checks everything before touching the targets", function()
    fm.seed(1)
    local w, bias = fm.randn(2, 3), fm.randn(2)
    fm.safetensors.save(tmp("m.safetensors"), {w = w, b = bias})
    local w2, b2 = fm.rand(2, 3), fm.rand(2)
    fm.save_npy(tmp("w2_before.npy"), w2)
    -- wrong shape for b: nothing may change, w2 included
    local ok, err = pcall(fm.safetensors.load_into, tmp("m.safetensors"), {w = w2, b = fm.rand(3)})
    assert.is_false(ok)
    assert.is_truthy(err:find("'b'", 1, true), err)
    fm.save_npy(tmp("w2_after.npy"), w2)
    assert.equal(read_bytes(tmp("w2_before.npy")), read_bytes(tmp("w2_after.npy")))
    assert.has_error(function() fm.safetensors.load_into(tmp("m.safetensors"), {w = w2}) end)
    assert.equal(1, fm.safetensors.load_into(tmp("m.safetensors"), {w = w2}, false))
    assert.equal(2, fm.safetensors.load_into(tmp("m.safetensors"), {w = w2, b = b2}))
    fm.save_npy(tmp("w.npy"), w); fm.save_npy(tmp("w2.npy"), w2)
    assert.equal(read_bytes(tmp("w.npy")), read_bytes(tmp("w2.npy")))
  end)

  it("refuses bad arguments", function()
    assert.has_error(function() fm.safetensors.save(tmp("a.safetensors"), {x = 1}) end)
    assert.has_error(function() fm.safetensors.save(tmp("a.safetensors"), {fm.rand(2)}) end)
    assert.has_error(function()
      fm.safetensors.save(tmp("a.safetensors"), {x = fm.rand(2)}, {k = true})
    end)
    assert.has_error(function()
      fm.safetensors.save(tmp("a.safetensors"), {__metadata__ = fm.rand(2)})
    end)
  end)

  it("gives a Lua error naming the file for every corruption", function()
    fm.safetensors.save(tmp("good.safetensors"), {a = fm.rand(2, 3), b = fm.randint(1, 3, 4)}, {k = "v"})
    local good = read_bytes(tmp("good.safetensors"))
    local bad = tmp("bad.safetensors")
    local function all_fail()
      fails_naming(bad, fm.safetensors.load, bad)
      fails_naming(bad, fm.safetensors.info, bad)
      fails_naming(bad, fm.safetensors.load_into, bad, {})
    end
    for k = 0, #good - 1 do
      write_bytes(bad, good:sub(1, k))
      all_fail()
    end
    local hlen = string.unpack("<I8", good)
    for k = 1, 8 + hlen do
      write_bytes(bad, good:sub(1, k - 1) .. string.char(good:byte(k) ~ 0xff) .. good:sub(k + 1))
      all_fail()
    end
    -- hand-made headers for each validation rule
    local function st(json, data) return string.pack("<I8", #json) .. json .. (data or "") end
    local cases = {
      st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}', ("\0"):rep(8)),
      st('{"a":{"dtype":"I16","shape":[2],"data_offsets":[0,4]}}', ("\0"):rep(4)),
      st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', ("\0"):rep(4)),
      st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
         .. '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', ("\0"):rep(12)),
      st('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', ("\0"):rep(8)),
      st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', ("\0"):rep(9)),
      string.pack("<I8", 1 << 40) .. "{}",
    }
    for _, c in ipairs(cases) do
      write_bytes(bad, c)
      all_fail()
    end
    fails_naming(tmp("missing.safetensors"), fm.safetensors.load, tmp("missing.safetensors"))
  end)

  -- issue 17, item 7: what cJSON lets through but JSON or the reference refuses
  it("refuses NUL and control characters in names, and non-integer numbers", function()
    local function st(json, data) return string.pack("<I8", #json) .. json .. (data or "") end
    local four = ("\0"):rep(4)
    local a = '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'
    local cases = {
      {st('{"a\\u0000evil":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', four), "NUL"},
      {st('{"a\\u0001":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', four), "control"},
      {st('{"a\tb":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', four), "control"},
      {st('{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', four), "'1.0'"},
      {st('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0e0,4]}}', four), "'0e0'"},
      {st('{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}', four), "'01'"},
      {st('{"__metadata__":{"k":"v\\u0000w"},' .. a .. '}', four), "NUL"},
    }
    for _, c in ipairs(cases) do
      write_bytes(tmp("bad.safetensors"), c[1])
      local ok, err = pcall(fm.safetensors.load, tmp("bad.safetensors"))
      assert.is_false(ok, c[1])
      assert.is_truthy(err:find(tmp("bad.safetensors"), 1, true), err)
      assert.is_truthy(err:find(c[2], 1, true), err)
    end
    -- a good file with the same layout loads (the checks are not too strict)
    write_bytes(tmp("ok.safetensors"), st('{' .. a .. ',"__metadata__":{"k":"v\\n"}}', four))
    local t, meta = fm.safetensors.load(tmp("ok.safetensors"))
    assert.are.equal(1, t.a:numel())
    assert.are.equal("v\n", meta.k)
    -- and the writer refuses such names rather than cutting them short
    for _, name in ipairs{"a\0evil", "tab\there"} do
      local ok, err = pcall(fm.safetensors.save, tmp("w.safetensors"), {[name] = fm.zeros(1)})
      assert.is_false(ok)
      assert.is_truthy(err:find("NUL") or err:find("control"), err)
    end
    local ok, err = pcall(fm.safetensors.save, tmp("w.safetensors"), {a = fm.zeros(1)},
                          {note = "x\0y"})
    assert.is_false(ok)
    assert.is_truthy(err:find("NUL"), err)
  end)

  -- issue 17, item 6: duplicate detection is O(n log n), not quadratic
  it("checks 50,000 names for duplicates in a moment, and finds one", function()
    local parts = {}
    for i = 1, 50000 do
      parts[i] = ('"t%d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}'):format(i)
    end
    local json = "{" .. table.concat(parts, ",") .. "}"
    write_bytes(tmp("many.safetensors"), string.pack("<I8", #json) .. json)
    local names = fm.safetensors.info(tmp("many.safetensors"))
    local n = 0
    for _ in pairs(names) do n = n + 1 end
    assert.is_true(n >= 50000, tostring(n))
    parts[#parts + 1] = parts[777]
    json = "{" .. table.concat(parts, ",") .. "}"
    write_bytes(tmp("many.safetensors"), string.pack("<I8", #json) .. json)
    local ok, err = pcall(fm.safetensors.info, tmp("many.safetensors"))
    assert.is_false(ok)
    assert.is_truthy(err:find("'t777' appears twice", 1, true), err)
  end)
end)
