-- fm.images — image data sets (docs/images.md). Attached by the prelude as
-- fm.data.fashion_mnist and fm.data.images.
--
--   local ds = fm.data.fashion_mnist{split = "train"}   -- Debian's dataset-fashion-mnist
--   local x, y = ds:sample(64)       -- (64, 1, 28, 28) float32 in [-1, 1], int64 labels 1..10
--   for xb, yb in ds:batches{batch = 128, shuffle = true, seed = 1, epochs = 2} do ... end
--   ds.classes[y[1]]                 -- "Ankle boot", ...
--   local mine = fm.data.images("faces.npy", "faces_labels.npy")   -- the same object
--
-- Images are kept as they come (uint8 bytes, 47 MB for the training set)
-- and turned into floats x / 127.5 - 1 one batch at a time. Labels are
-- int64 class ids from 1 (Fashion-MNIST's 0..9 become 1..10), the base that
-- fm.nn.Embedding and fm.nn.unet's `classes` take (classes + 1 is their
-- null label).
local fm = require "fm"
local dataset = require "fm.dataset"
local args = require "fm.args"

local M = {}

M.FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
M.FASHION_MNIST_CLASSES = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

local Images = {}
Images.__index = Images

local function fail(fname, msg, level)
  error(fname .. ": " .. msg, (level or 1) + 1)
end

-- Checks that opts (argument #argn) is nil or a table whose keys are all
-- in `known` (fm.args); level as for error, seen from the caller.
local function check_opts(fname, opts, known, level, argn)
  return args.opts(fname, argn or 1, opts, known, level + 2)
end

local function is_count(v) return math.type(v) == "integer" or v == math.huge end

-- ---- the data set object ------------------------------------------------------------

-- x: uint8 (n, c, h, w) bytes or float (n, c, h, w) in [-1, 1]; y: int64 (n,)
-- labels from 1, or nil; load: a function giving {x, y} on first use instead.
local function new(name, x, y, classes, load)
  return setmetatable({name = name, classes = classes, _x = x, _y = y, _load = load}, Images)
end

local function check_self(self, method)
  if getmetatable(self) ~= Images then
    error(("fm.Images:%s: call it as data:%s(...)"):format(method, method), 3)
  end
end

-- The images and labels, loaded on first use (self._d keeps the shared
-- copy of the cache alive).
local function data(self)
  if not self._x then
    self._d = self._load()
    self._x, self._y = self._d[1], self._d[2]
  end
  return self._x, self._y
end

--- the number of images
function Images:size()
  check_self(self, "size")
  return #(data(self))
end
Images.__len = Images.size

--- {channels, height, width}
function Images:image_shape()
  check_self(self, "image_shape")
  local s = data(self):shape()
  return {s[2], s[3], s[4]}
end

function Images:__tostring()
  local x = data(self)
  local s = x:shape()
  local k = self.classes and (", %d classes"):format(#self.classes) or ""
  return ("fm.Images(%s, %d x %d x %d x %d %s%s)"):format(self.name, s[1], s[2], s[3], s[4],
    x:dtype(), k)
end

--- the images as stored: uint8 (n, h, w) for one channel, (n, c, h, w)
-- otherwise (or the float tensor given to fm.data.images)
function Images:images()
  check_self(self, "images")
  local x = data(self)
  if x:shape()[2] == 1 then return x:select(2, 1) end
  return x
end

--- int64 (n,) class ids from 1, or nil
function Images:labels()
  check_self(self, "labels")
  local _, y = data(self)
  return y
end

-- A batch of stored images as floats in [-1, 1].
local function to_float(xb, dtype)
  if xb:dtype() == "uint8" then return xb:to(dtype or "float32") / 127.5 - 1 end
  if dtype and xb:dtype() ~= dtype then return xb:to(dtype) end
  return xb
end

--- n images drawn uniformly with replacement, as (n, c, h, w) floats in
-- [-1, 1] (float32 unless dtype says otherwise), and their labels
function Images:sample(n, dtype)
  check_self(self, "sample")
  if math.type(n) ~= "integer" or n < 0 then
    error("fm.Images:sample: bad argument #1 (a number of images >= 0 expected, got "
          .. tostring(n) .. ")", 2)
  end
  if dtype ~= nil and dtype ~= "float32" and dtype ~= "float64" then
    error("fm.Images:sample: bad argument #2 (dtype \"float32\" or \"float64\" expected)", 2)
  end
  local x, y = data(self)
  if #x == 0 then error("fm.Images:sample: " .. self.name .. " has no images", 2) end
  local idx = fm.randint(1, #x, n)
  local xb = to_float(x:index(1, idx), dtype)
  if y then return xb, y:index(1, idx) end
  return xb
end

local batch_opts = {batch = true, shuffle = true, seed = true, epochs = true, drop_last = true,
                    dtype = true}

--- An iterator over (xb, yb) batches as :sample gives them, every image
-- once per epoch: opts as fm.data.batches (batch = 128, shuffle = true, seed,
-- epochs = 1, drop_last = false), and dtype (default float32).
function Images:batches(opts)
  check_self(self, "batches")
  local fname = "fm.Images:batches"
  opts = check_opts(fname, opts, batch_opts, 2)
  if opts.batch ~= nil and not (math.type(opts.batch) == "integer" and opts.batch >= 1) then
    fail(fname, "batch must be an integer >= 1, got " .. tostring(opts.batch), 2)
  end
  if opts.epochs ~= nil and not (is_count(opts.epochs) and opts.epochs >= 1) then
    fail(fname, "epochs must be an integer >= 1 or math.huge, got " .. tostring(opts.epochs), 2)
  end
  if opts.seed ~= nil and math.type(opts.seed) ~= "integer" then
    fail(fname, "seed must be an integer, got " .. tostring(opts.seed), 2)
  end
  for _, k in ipairs{"shuffle", "drop_last"} do
    if opts[k] ~= nil and type(opts[k]) ~= "boolean" then
      fail(fname, k .. " must be a boolean, got " .. tostring(opts[k]), 2)
    end
  end
  if opts.dtype ~= nil and opts.dtype ~= "float32" and opts.dtype ~= "float64" then
    fail(fname, "dtype must be \"float32\" or \"float64\"", 2)
  end
  local x, y = data(self)
  local it = dataset.batches(x, {labels = y, batch = opts.batch, shuffle = opts.shuffle,
                                 seed = opts.seed, epochs = opts.epochs,
                                 drop_last = opts.drop_last})
  return function()
    local xb, yb = it()
    if xb == nil then return nil end
    return to_float(xb, opts.dtype), yb
  end
end

-- ---- Fashion-MNIST --------------------------------------------------------------------

local FILES = {train = "train", test = "t10k"}
-- The files read, by name and size -> {x, y}: shared by the data set objects
-- over them while any of them is alive (weak values), so a split is read
-- once however many objects use it.
local loaded = setmetatable({}, {__mode = "v"})

-- The path of an IDX file in dir (name.gz, or name uncompressed) and its size.
local function find_file(dir, name)
  for _, p in ipairs{dir .. "/" .. name .. ".gz", dir .. "/" .. name} do
    local f = io.open(p, "rb")
    if f then
      local size = f:seek("end")
      f:close()
      return p, size
    end
  end
  return nil
end

local function read_idx(fname, path)
  local ok, t = pcall(fm.load_idx, path)
  if not ok then error(fname .. ": " .. tostring(t), 0) end
  return t
end

-- Reads and checks one split: images (n, 28, 28), labels (n) in 0..9.
local function load_fashion(fname, ipath, lpath)
  local raw, lab = read_idx(fname, ipath), read_idx(fname, lpath)
  local s = raw:shape()
  if #s ~= 3 or s[2] ~= 28 or s[3] ~= 28 then
    error(("%s: %s: images of shape (n, 28, 28) expected, the file holds %s"):format(
      fname, ipath, "(" .. table.concat(s, ", ") .. ")"), 0)
  end
  if lab:dim() ~= 1 or #lab ~= s[1] then
    error(("%s: %s: %d labels expected (one per image of %s), the file holds shape (%s)"):format(
      fname, lpath, s[1], ipath, table.concat(lab:shape(), ", ")), 0)
  end
  local y = lab:long()
  if #y > 0 and (y:max():item() > 9 or y:min():item() < 0) then
    error(("%s: %s: labels must be 0..9, the file holds %d..%d"):format(fname, lpath,
      y:min():item(), y:max():item()), 0)
  end
  return raw:reshape(s[1], 1, 28, 28), y + 1
end

local fashion_opts = {split = true, path = true}

--- fm.data.fashion_mnist{split = "train" | "test", path = dir}: Fashion-MNIST
-- (60000 train or 10000 test images of 28 x 28, 10 classes) from dir
-- (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist).
function M.fashion_mnist(opts)
  local fname = "fm.data.fashion_mnist"
  opts = check_opts(fname, opts, fashion_opts, 2)
  local split = opts.split or "train"
  if not FILES[split] then
    fail(fname, "split must be \"train\" or \"test\", got " .. tostring(split), 2)
  end
  local dir = opts.path or M.FASHION_MNIST_DIR
  if type(dir) ~= "string" then
    fail(fname, "path must be a directory name (string), got " .. type(dir), 2)
  end
  dir = dir:gsub("/+$", "")
  local pre = FILES[split]
  local ipath, isize = find_file(dir, pre .. "-images-idx3-ubyte")
  local lpath, lsize = find_file(dir, pre .. "-labels-idx1-ubyte")
  if not (ipath and lpath) then
    local missing = dir .. "/" .. pre .. (ipath and "-labels-idx1" or "-images-idx3") .. "-ubyte.gz"
    local hint = opts.path == nil
      and "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass path = the directory holding the files"
      or "pass path = the directory holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz], or install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"
    fail(fname, ("%s not found: %s"):format(missing, hint), 2)
  end
  local key = table.concat({ipath, tostring(isize), lpath, tostring(lsize)}, "\0")
  local function load()
    local d = loaded[key]
    if not d then
      d = {load_fashion(fname, ipath, lpath)}
      loaded[key] = d
    end
    return d
  end
  local classes = {}
  for i, c in ipairs(M.FASHION_MNIST_CLASSES) do classes[i] = c end
  local ds = new("fashion-mnist " .. split, nil, nil, classes, load)
  ds.split, ds.files = split, {images = ipath, labels = lpath}
  return ds
end

-- ---- a user's own images --------------------------------------------------------------

-- A tensor, or a file (.npy, else IDX), as a tensor; what names it in errors.
local function tensor_arg(fname, v, what)
  if fm.is_tensor(v) then return v end
  if type(v) ~= "string" then
    fail(fname, ("%s must be a tensor or a file name (.npy or IDX), got %s"):format(what, type(v)), 4)
  end
  local load = v:match("%.npy$") and fm.load_npy or fm.load_idx
  local ok, t = pcall(load, v)
  if not ok then error(("%s: %s: %s"):format(fname, what, tostring(t)), 4) end
  return t
end

-- The images as stored (n, c, h, w): uint8 bytes, or floats in [-1, 1].
local function image_tensor(fname, v)
  local x = tensor_arg(fname, v, "images")
  local dt, s = x:dtype(), x:shape()
  if dt ~= "uint8" and dt ~= "float32" and dt ~= "float64" then
    fail(fname, "images must be uint8 (0..255) or float (in [-1, 1]), got " .. dt, 3)
  end
  if #s == 3 then x = x:reshape(s[1], 1, s[2], s[3])
  elseif #s ~= 4 then
    fail(fname, ("images must be (n, h, w) or (n, c, h, w), got shape (%s)"):format(
      table.concat(s, ", ")), 3)
  end
  if dt ~= "uint8" and x:numel() > 0 then
    local lo, hi = x:min():item(), x:max():item()
    if not (lo >= -1 and hi <= 1) then
      fail(fname, ("float images must already be in [-1, 1], got values in [%g, %g] "
        .. "(pass uint8 bytes, or scale to [-1, 1] first)"):format(lo, hi), 3)
    end
  end
  return x:is_contiguous() and x or x:contiguous()
end

-- Labels as int64 (n,) class ids from 1.
local function label_tensor(fname, v, n)
  local y
  if type(v) == "table" then
    local ok, t = pcall(fm.tensor, v, "int64")
    if not ok then fail(fname, "labels: " .. tostring(t), 3) end
    y = t
  else
    y = tensor_arg(fname, v, "labels")
  end
  if y:dtype() ~= "int64" then
    if y:dtype() ~= "uint8" and not fm.allclose(y, y:floor(), 0, 0) then
      fail(fname, "labels must be whole numbers", 3)
    end
    y = y:to("int64")
  end
  y = y:reshape(-1)
  if #y ~= n then fail(fname, ("%d labels for %d images"):format(#y, n), 3) end
  if n > 0 and y:min():item() < 1 then
    fail(fname, ("labels are class ids from 1 (as fm.nn.unet's classes take), got %d; "
      .. "add 1 to 0-based labels"):format(y:min():item()), 3)
  end
  return y:contiguous()
end

--- fm.data.images(images, labels [, {classes = names, name = ...}]): the
-- object of fm.data.fashion_mnist over a user's images: images a tensor or
-- a .npy (or IDX) file, uint8 (n, h, w) or (n, c, h, w) bytes, or floats
-- already in [-1, 1]; labels (optional) a tensor, table or file of class
-- ids from 1; classes an optional list of class names.
function M.images(images, labels, opts)
  local fname = "fm.data.images"
  opts = check_opts(fname, opts, {classes = true, name = true}, 2, 3)
  local x = image_tensor(fname, images)
  local y = labels ~= nil and label_tensor(fname, labels, #x) or nil
  local classes = opts.classes
  if classes ~= nil then
    if type(classes) ~= "table" or #classes == 0 then
      fail(fname, "classes must be a list of class names", 2)
    end
    if y and #y > 0 and y:max():item() > #classes then
      fail(fname, ("label %d but only %d class names"):format(y:max():item(), #classes), 2)
    end
  end
  local name = opts.name or (type(images) == "string" and images or "images")
  return new(name, x, y, classes, nil)
end

--- fm.data.quadrants{n = 512, size = 8, seed = 99}: a synthetic image set
-- for tests and first looks, n (1, size, size) images of 4 classes, class k
-- a bright quadrant (value 0.8) on a dark noisy background (-0.8 + 0.2 n,
-- clamped to [-1, 1]). A sample's class can be read off its brightest
-- quadrant, so class-conditional generators are checked without a
-- classifier. Drawn from its own seed; the global generator is restored.
function M.quadrants(opts)
  local fname = "fm.data.quadrants"
  opts = check_opts(fname, opts, {n = true, size = true, seed = true}, 2, 1)
  local n, size = opts.n or 512, opts.size or 8
  if math.type(n) ~= "integer" or n < 1 then fail(fname, "n must be a positive integer", 2) end
  if math.type(size) ~= "integer" or size < 2 or size % 2 ~= 0 then
    fail(fname, "size must be an even integer >= 2", 2)
  end
  local state = fm.rng_state and fm.rng_state()
  fm.seed(opts.seed or 99)
  local y = fm.randint(1, 4, n)
  local x = fm.randn(n, 1, size, size) * 0.2 - 0.8
  local yt, h = y:totable(), size // 2
  for i = 1, n do
    local q = yt[i] - 1
    x[i]:narrow(2, (q // 2) * h + 1, h):narrow(3, (q % 2) * h + 1, h):fill(0.8)
  end
  if state then fm.set_rng_state(state) end
  return new("quadrants", x:clamp(-1, 1), y,
             {"top-left", "top-right", "bottom-left", "bottom-right"}, nil)
end

--- the class of each image of x (n, 1, h, w) by its brightest quadrant
-- (the labels of fm.data.quadrants)
function M.quadrant_of(x)
  local n, h, w = x:size(1), x:size(3), x:size(4)
  local best, arg = {}, {}
  for q = 0, 3 do
    local m = x:narrow(3, (q // 2) * (h // 2) + 1, h // 2):narrow(4, (q % 2) * (w // 2) + 1, w // 2)
    local v = m:reshape(n, -1):mean(2):totable()
    for i = 1, n do
      if best[i] == nil or v[i] > best[i] then best[i], arg[i] = v[i], q + 1 end
    end
  end
  return fm.tensor(arg, "int64")
end

return M
