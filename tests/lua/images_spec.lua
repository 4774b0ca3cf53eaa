-- images_spec.lua — fm.load_idx on tiny hand-made files (and its errors),
-- fm.data.images over a user's images (the rules for dtypes, shapes and
-- labels; batches covering every image once per epoch; seeds), and
-- fm.data.fashion_mnist on Debian's dataset-fashion-mnist when it is
-- installed (sizes, value range, labels, per-class counts, errors for
-- missing and corrupt files); skipped with a message when it is not.
local fm = require "fm"

local FASHION = "/usr/share/datasets/fashion-mnist"

local sh = require "tests.lua.shell"

local err, has = table.unpack((require "tests.lua.expect_error"))

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- An IDX file: magic 0x000008NN, big-endian sizes, then the bytes.
local function idx(sizes, bytes)
  local parts = {string.pack(">I4", 0x0800 + #sizes)}
  for _, n in ipairs(sizes) do parts[#parts + 1] = string.pack(">I4", n) end
  parts[#parts + 1] = bytes
  return table.concat(parts)
end

local function bytes(n, f)
  local t = {}
  for i = 1, n do t[i] = string.char(f(i)) end
  return table.concat(t)
end

local dir
local function tmp(name) return dir .. "/" .. name end
setup(function()
  local _, out = sh("mktemp -d /tmp/fm_images_spec_XXXXXX")
  dir = out:gsub("%s+$", "")
end)
teardown(function() sh("rm -rf " .. dir) end)

describe("fm.load_idx", function()
  it("reads images and labels into uint8 tensors of the file's dims", function()
    write(tmp("im"), idx({2, 3, 4}, bytes(24, function(i) return (i * 11) % 256 end)))
    local x = fm.load_idx(tmp("im"))
    assert.equal("uint8", x:dtype())
    assert.same({2, 3, 4}, x:shape())
    assert.equal(11, x[1][1][1])
    assert.equal((24 * 11) % 256, x[2][3][4])
    write(tmp("lab"), idx({5}, "\0\1\2\9\8"))
    assert.same({0, 1, 2, 9, 8}, fm.load_idx(tmp("lab")):totable())
    if os.execute("command -v gzip >/dev/null 2>&1") then
      assert(os.execute(("gzip -c %q > %q"):format(tmp("lab"), tmp("lab.gz"))))
      assert.same({0, 1, 2, 9, 8}, fm.load_idx(tmp("lab.gz")):totable())
    end
  end)

  it("says what is wrong with a bad file, naming it", function()
    local good = idx({2, 3, 4}, bytes(24, function(i) return i end))
    has(err(fm.load_idx, tmp("missing")), "load_idx", tmp("missing"), "cannot open")
    has(err(fm.load_idx, dir), dir, "not a regular file")
    write(tmp("bad"), "\1\2" .. good:sub(3))
    has(err(fm.load_idx, tmp("bad")), tmp("bad"), "bad magic", "0x00000803")
    write(tmp("bad"), good:sub(1, 2) .. "\13" .. good:sub(4))
    has(err(fm.load_idx, tmp("bad")), "unsupported IDX type code 0x0d")
    write(tmp("bad"), good:sub(1, 30))
    has(err(fm.load_idx, tmp("bad")), tmp("bad"), "truncated data", "(2, 3, 4)")
    write(tmp("bad"), good:sub(1, 9))
    has(err(fm.load_idx, tmp("bad")), "truncated header")
    write(tmp("bad"), good .. "x")
    has(err(fm.load_idx, tmp("bad")), "bytes after the data")
    write(tmp("bad"), idx({0xffffffff, 0xffffffff, 0xffffffff}, ""))
    has(err(fm.load_idx, tmp("bad")), "too large")
    has(err(fm.load_idx), "string expected")
  end)
end)

describe("fm.data.images", function()
  -- n images of 2 x 3 whose first pixel is the image's number (mod 256)
  local function numbered(n, c)
    local x = fm.zeros(c and {n, c, 2, 3} or {n, 2, 3}, "uint8")
    for i = 1, n do
      local v = x[i]
      if c then v = v[1] end
      v[1][1] = (i - 1) % 256
      v[2][3] = 255
    end
    return x
  end

  it("turns uint8 bytes into (n, c, h, w) floats x / 127.5 - 1, one batch at a time", function()
    local ds = fm.data.images(numbered(10), fm.tensor({1, 2, 3, 1, 2, 3, 1, 2, 3, 1}, "int64"))
    assert.equal(10, ds:size())
    assert.equal(10, #ds)
    assert.same({1, 2, 3}, ds:image_shape())
    assert.same({10, 2, 3}, ds:images():shape())
    assert.equal("uint8", ds:images():dtype())
    assert.equal("int64", ds:labels():dtype())
    local x, y = ds:sample(7)
    assert.same({7, 1, 2, 3}, x:shape())
    assert.equal("float32", x:dtype())
    assert.equal(-1, x:min():item())
    assert.equal(1, x:max():item())
    assert.same({7}, y:shape())
    assert.equal("float64", ds:sample(2, "float64"):dtype())
    -- the values: byte b -> b / 127.5 - 1, exactly at 0, 255 and 127.5
    local one = fm.data.images(fm.tensor({{{0, 51, 255}}}, "uint8")):sample(1)
    assert.tensor_near({{{{-1, 51 / 127.5 - 1, 1}}}}, one, 1e-7)
    assert.is_nil(select(2, fm.data.images(numbered(3)):sample(2)))
    has(tostring(ds), "fm.Images", "10 x 1 x 2 x 3", "uint8")
  end)

  it("keeps (n, c, h, w) and takes floats already in [-1, 1]", function()
    local ds = fm.data.images(numbered(4, 3))
    assert.same({4, 3, 2, 3}, ds:sample(4):shape())
    assert.same({4, 3, 2, 3}, ds:images():shape())
    local f = fm.rand(5, 2, 4, 4) * 2 - 1
    local fd = fm.data.images(f, {1, 1, 2, 2, 3}, {classes = {"a", "b", "c"}})
    assert.same({"a", "b", "c"}, fd.classes)
    local x = fd:sample(3)
    assert.same({3, 2, 4, 4}, x:shape())
    assert.is_true(x:max():item() <= 1 and x:min():item() >= -1)
    assert.equal("float64", fm.data.images(f:double()):sample(1):dtype())
  end)

  it("reads images and labels from .npy files", function()
    fm.save_npy(tmp("x.npy"), numbered(6))
    fm.save_npy(tmp("y.npy"), fm.tensor({1, 2, 1, 2, 1, 2}, "uint8"))
    local ds = fm.data.images(tmp("x.npy"), tmp("y.npy"))
    assert.equal(6, #ds)
    assert.same({1, 2, 1, 2, 1, 2}, ds:labels():totable())
    assert.equal(tmp("x.npy"), ds.name)
  end)

  it("checks its arguments, naming them", function()
    has(err(fm.data.images, 42), "fm.data.images", "images must be a tensor or a file name")
    has(err(fm.data.images, fm.zeros(3, 4)), "images must be (n, h, w) or (n, c, h, w)", "(3, 4)")
    has(err(fm.data.images, fm.zeros({3, 2, 2}, "int64")), "uint8", "float", "int64")
    has(err(fm.data.images, fm.zeros(3, 2, 2) + 1.5), "[-1, 1]", "1.5")
    has(err(fm.data.images, fm.full({3, 2, 2}, 0 / 0)), "[-1, 1]")
    has(err(fm.data.images, numbered(3), {1, 2}), "2 labels for 3 images")
    has(err(fm.data.images, numbered(3), {0, 1, 2}), "class ids from 1", "add 1")
    has(err(fm.data.images, numbered(3), fm.tensor{1, 2.5, 3}), "labels must be whole numbers")
    has(err(fm.data.images, numbered(3), {1, 2, 3}, {classes = {"a", "b"}}), "label 3", "2 class names")
    has(err(fm.data.images, numbered(3), nil, {colour = true}), "unknown option 'colour'")
    has(err(fm.data.images, tmp("nope.npy")), "fm.data.images", "images", tmp("nope.npy"))
    local ds = fm.data.images(numbered(3))
    has(err(ds.sample, 3), "data:sample")
    has(err(ds.sample, ds, 2.5), "number of images")
    has(err(ds.sample, ds, 2, "int64"), "dtype")
    has(err(ds.batches, ds, {batch = 0}), "batch must be an integer >= 1")
    has(err(ds.batches, ds, {epochs = 0}), "epochs")
    has(err(ds.batches, ds, {shuffle = "yes"}), "shuffle must be a boolean")
    has(err(ds.batches, ds, {seed = 1.5}), "seed must be an integer")
    has(err(ds.batches, ds, {batchsize = 3}), "unknown option 'batchsize'")
    has(err(fm.data.images(fm.zeros(0, 2, 2, "uint8")).sample, fm.data.images(fm.zeros(0, 2, 2, "uint8")), 1),
        "no images")
  end)

  it("batches cover every image once per epoch, shuffled by a reproducible seed", function()
    local n = 103
    local x = numbered(n)
    local ds = fm.data.images(x, fm.arange(1, n + 1))
    local function epochs(opts)
      local seen, order, sizes = {}, {}, {}
      for xb, yb in ds:batches(opts) do
        assert.same({#xb, 1, 2, 3}, xb:shape())
        sizes[#sizes + 1] = #xb
        for i = 1, #xb do
          local k = math.floor((xb[i][1][1][1] + 1) * 127.5 + 0.5) + 1 -- the image's number
          assert.equal(k, yb[i])                                      -- labels follow images
          seen[k] = (seen[k] or 0) + 1
          order[#order + 1] = k
        end
      end
      return seen, order, sizes
    end
    local seen, order, sizes = epochs{batch = 10, seed = 7, epochs = 2}
    for k = 1, n do assert.equal(2, seen[k]) end
    assert.equal(22, #sizes)
    assert.equal(3, sizes[11])
    local _, again = epochs{batch = 10, seed = 7, epochs = 2}
    assert.same(order, again)
    local _, other = epochs{batch = 10, seed = 8, epochs = 2}
    assert.are_not.same(order, other)
    local first = {table.unpack(order, 1, n)}
    local second = {table.unpack(order, n + 1, 2 * n)}
    assert.are_not.same(first, second) -- a fresh order every epoch
    local _, plain = epochs{batch = 50, shuffle = false}
    for k = 1, n do assert.equal(k, plain[k]) end
    local seen_d, _, sizes_d = epochs{batch = 10, drop_last = true, seed = 1}
    assert.equal(10, #sizes_d)
    local count = 0
    for _, v in pairs(seen_d) do assert.equal(1, v) count = count + 1 end
    assert.equal(100, count)
  end)

  it("gives labels fm.nn.Embedding and fm.nn.unet take (1..classes)", function()
    local ds = fm.data.images(numbered(4), {1, 2, 3, 3})
    local emb = fm.nn.Embedding{classes = 3, dim = 2}
    local _, y = ds:sample(8)
    assert.same({8, 2}, emb(y):shape())
  end)
end)

local have_fashion = io.open(FASHION .. "/t10k-labels-idx1-ubyte.gz", "rb")
if have_fashion then have_fashion:close() end

describe("fm.data.fashion_mnist", function()
  local function need()
    if not have_fashion then
      pending("Debian's dataset-fashion-mnist is not installed (" .. FASHION .. "): skipped")
      return false
    end
    return true
  end

  it("test: 10000 images of 1 x 28 x 28 in [-1, 1], labels 1..10, 1000 per class", function()
    if not need() then return end
    local ds = fm.data.fashion_mnist{split = "test"}
    assert.equal(10000, #ds)
    assert.same({1, 28, 28}, ds:image_shape())
    assert.same({10000, 28, 28}, ds:images():shape())
    assert.equal("uint8", ds:images():dtype())
    assert.same({"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"}, ds.classes)
    local y = ds:labels()
    assert.equal("int64", y:dtype())
    assert.equal(1, y:min():item())
    assert.equal(10, y:max():item())
    for k = 1, 10 do assert.equal(1000, y:eq(k):sum():item()) end
    fm.seed(3)
    local x, yb = ds:sample(64)
    assert.same({64, 1, 28, 28}, x:shape())
    assert.equal("float32", x:dtype())
    assert.is_true(x:min():item() >= -1 and x:max():item() <= 1)
    assert.equal(-1, x:min():item())            -- the background
    assert.is_true(x:max():item() > 0.9)
    assert.is_true(yb:min():item() >= 1 and yb:max():item() <= 10)
    has(tostring(ds), "fashion-mnist test", "10000 x 1 x 28 x 28", "10 classes")
    -- one epoch: every label count once
    local counts, total = {}, 0
    for xb, ybb in ds:batches{batch = 1000, seed = 2} do
      total = total + #xb
      for k = 1, 10 do counts[k] = (counts[k] or 0) + ybb:eq(k):sum():item() end
    end
    assert.equal(10000, total)
    for k = 1, 10 do assert.equal(1000, counts[k]) end
    -- loaded once: a second object shares the tensors
    assert.is_true(rawequal(y, fm.data.fashion_mnist{split = "test"}:labels()))
  end)

  it("train: 60000 images, 6000 per class, seeds reproducible", function()
    if not need() then return end
    local ds = fm.data.fashion_mnist{}            -- split = "train" by default
    assert.equal(60000, ds:size())
    assert.equal("train", ds.split)
    local y = ds:labels()
    for k = 1, 10 do assert.equal(6000, y:eq(k):sum():item()) end
    local a = ds:batches{batch = 256, seed = 5}
    local b = ds:batches{batch = 256, seed = 5}
    local xa, ya = a()
    local xb, yb = b()
    assert.same(ya:totable(), yb:totable())
    assert.is_true(fm.allclose(xa, xb, 0, 0))
    local raw = ds:images()
    assert.same({60000, 28, 28}, raw:shape())
  end)

  it("says what to install, or which file is wrong", function()
    has(err(fm.data.fashion_mnist, {path = tmp("none")}), "fm.data.fashion_mnist",
        tmp("none") .. "/train-images-idx3-ubyte.gz not found", "apt-get install dataset-fashion-mnist",
        "path")
    has(err(fm.data.fashion_mnist, {split = "validation"}), "split must be \"train\" or \"test\"")
    has(err(fm.data.fashion_mnist, {path = 3}), "path must be a directory")
    has(err(fm.data.fashion_mnist, "train"), "options table expected")
    has(err(fm.data.fashion_mnist, {spilt = "test"}), "unknown option 'spilt'")
    -- a directory of tiny hand-made files: wrong sizes, bad labels, truncation
    sh("mkdir -p " .. tmp("fm"))
    write(tmp("fm/t10k-images-idx3-ubyte"), idx({2, 28, 28}, string.rep("\0", 2 * 784)))
    write(tmp("fm/t10k-labels-idx1-ubyte"), idx({2}, "\0\9"))
    local ok = fm.data.fashion_mnist{split = "test", path = tmp("fm")}
    assert.equal(2, #ok)
    assert.same({1, 10}, ok:labels():totable())
    ok = nil -- luacheck: ignore (its data leaves the cache of read files)
    collectgarbage()
    write(tmp("fm/t10k-labels-idx1-ubyte"), idx({3}, "\0\9\1"))
    local bad = fm.data.fashion_mnist{split = "test", path = tmp("fm")}
    has(err(bad.size, bad), tmp("fm/t10k-labels-idx1-ubyte"), "2 labels expected")
    write(tmp("fm/t10k-labels-idx1-ubyte"), idx({2}, "\0\10"))
    bad = fm.data.fashion_mnist{split = "test", path = tmp("fm")}
    has(err(bad.sample, bad, 1), tmp("fm/t10k-labels-idx1-ubyte"), "labels must be 0..9")
    write(tmp("fm/t10k-images-idx3-ubyte"), idx({2, 28, 28}, string.rep("\0", 100)))
    bad = fm.data.fashion_mnist{split = "test", path = tmp("fm")}
    has(err(bad.batches, bad), tmp("fm/t10k-images-idx3-ubyte"), "truncated data")
    write(tmp("fm/t10k-images-idx3-ubyte"), idx({2, 14, 14}, string.rep("\0", 2 * 196)))
    bad = fm.data.fashion_mnist{split = "test", path = tmp("fm")}
    has(err(bad.images, bad), "(n, 28, 28)", "(2, 14, 14)")
    if have_fashion then -- a cut copy of the real gzip file
      local gz = read(FASHION .. "/t10k-labels-idx1-ubyte.gz")
      sh("mkdir -p " .. tmp("cut"))
      write(tmp("cut/t10k-labels-idx1-ubyte.gz"), gz:sub(1, #gz // 2))
      write(tmp("cut/t10k-images-idx3-ubyte"), idx({2, 28, 28}, string.rep("\0", 2 * 784)))
      bad = fm.data.fashion_mnist{split = "test", path = tmp("cut")}
      has(err(bad.size, bad), tmp("cut/t10k-labels-idx1-ubyte.gz"), "truncated")
    end
  end)
end)
