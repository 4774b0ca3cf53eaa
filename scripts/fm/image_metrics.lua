-- fm.image_metrics — how good are generated Fashion-MNIST images? A small
-- classifier trained on the real images (experiments/fashion_classifier.lua)
-- gives penultimate features for a Fréchet distance (fm.metrics.fd_stats,
-- docs/math.md §10) against the test set, beside its floor between real
-- sets, and its predictions give the accuracy on the asked labels and the
-- per-class counts. docs/images.md, "Image metrics".
--
--   local im = require "fm.image_metrics"
--   local net = im.classifier()                    -- the architecture (untrained)
--   local clf = im.load_classifier()               -- runs/fashion_classifier/classifier.safetensors
--   local f = clf:features(x)                      -- (n, 128) float64, no_grad, in batches
--   local y = clf:predict(x)                       -- int64 labels 1..10
--   local m = im.evaluate(samples, labels)         -- {fd =, fd_floor_n =, fd_floor_10k =, accuracy =, counts =}
--   local u8 = im.to_uint8(x)                      -- [-1, 1] floats -> uint8 (n, 28, 28)
--
-- Images are (n, 1, 28, 28) floats in [-1, 1] or uint8 bytes (n, 28, 28) or
-- (n, 1, 28, 28) (0..255, turned into x / 127.5 - 1 as fm.data does).
local fm = require "fm"
local nn = fm.nn

local M = {}

M.FEATURES = 128
M.CLASSES = 10
M.DEFAULT_PATH = "runs/fashion_classifier/classifier.safetensors"

-- ---- inputs ------------------------------------------------------------------------

-- images(x, what): x as (n, 1, 28, 28) float32 in [-1, 1] (uint8 bytes
-- converted, a missing channel dim added), or an error naming `what`.
local function images(x, what)
  what = what or "fm.image_metrics"
  if not fm.is_tensor(x) then error(what .. ": images must be a tensor, got " .. type(x), 3) end
  local s = x:shape()
  if #s == 3 then x = x:reshape(s[1], 1, s[2], s[3]); s = x:shape() end
  if #s ~= 4 or s[2] ~= 1 or s[3] ~= 28 or s[4] ~= 28 then
    error(("%s: images must be (n, 1, 28, 28) or (n, 28, 28), got (%s)"):format(what,
          table.concat(s, ", ")), 3)
  end
  local dt = x:dtype()
  if dt == "uint8" then return x:to("float32") / 127.5 - 1 end
  if dt == "float64" then return x:float() end
  if dt ~= "float32" then
    error(what .. ": images must be float32/float64 in [-1, 1] or uint8, got " .. dt, 3)
  end
  return x
end
--- M.as_images(x): x as the classifier takes it, (n, 1, 28, 28) float32.
M.as_images = function(x) return images(x, "fm.image_metrics.as_images") end

local function labels_of(y, n, what)
  if type(y) == "table" then y = fm.tensor(y, "int64") end
  if not fm.is_tensor(y) then error(what .. ": labels must be a tensor or a table", 3) end
  y = y:reshape(-1)
  if y:dtype() ~= "int64" then y = y:to("int64") end
  if #y ~= n then
    error(("%s: %d labels for %d images"):format(what, #y, n), 3)
  end
  return y
end

-- ---- the classifier ------------------------------------------------------------------

-- Three 3x3 conv blocks (Conv, GroupNorm(8) with SiLU fused) at 28, 14 and 7
-- pixels with 2x2 average pooling in between, C, 2C, 4C channels; then the
-- feature layer SiLU(Linear(4C * 49 -> F)) and Linear(F -> 10) to the logits.
local Classifier = nn.class("FashionClassifier")
M.Classifier = Classifier

function Classifier:init(o)
  o = o or {}
  local C = o.channels or 16
  local F = o.features or M.FEATURES
  local dt = o.dtype or "float32"
  local d = {dtype = dt}
  rawset(self, "channels", C)
  rawset(self, "nfeatures", F)
  local function block(cin, cout)
    return nn.Conv2d(cin, cout, 3, {padding = 1, dtype = dt}),
           nn.GroupNorm(8, cout, {act = "silu", dtype = dt})
  end
  local l = {}
  local function add(...) for _, m in ipairs{...} do l[#l + 1] = m end end
  add(block(1, C)); add(nn.AvgPool2d(2, d))
  add(block(C, 2 * C)); add(nn.AvgPool2d(2, d))
  add(block(2 * C, 4 * C))
  self.body = nn.Sequential(l)
  self.fc = nn.Linear(4 * C * 49, F, d)
  self.out = nn.Linear(F, M.CLASSES, d)
end

--- clf:embed(x): the penultimate features (n, F), differentiable (training).
function Classifier:embed(x)
  local h = self.body(x)
  return self.fc(h:reshape(h:shape()[1], -1)):silu()
end

--- clf(x) = clf:forward(x): the logits (n, 10) of (n, 1, 28, 28) float images.
function Classifier:forward(x) return self.out(self:embed(x)) end

function Classifier:extra_repr()
  return string.format("channels=%d, features=%d", self.channels, self.nfeatures)
end

-- over(self, x, batch, f): f(self, xb) for each batch of the images under
-- no_grad, as a list of results.
local function over(self, x, batch, f, what)
  x = images(x, what)
  local n, out = #x, {}
  batch = batch or 500
  fm.no_grad(function()
    for i = 1, n, batch do
      out[#out + 1] = f(self, x:narrow(1, i, math.min(batch, n - i + 1)))
    end
  end)
  return out, n
end

--- clf:features(x [, {batch = 500}]): (n, F) float64 penultimate features.
function Classifier:features(x, o)
  local parts, n = over(self, x, o and o.batch, function(s, xb) return s:embed(xb):double() end,
                        "clf:features")
  if n == 0 then return fm.zeros({0, self.nfeatures}, "float64") end
  return #parts == 1 and parts[1] or fm.cat(parts, 1)
end

--- clf:predict(x [, {batch = 500}]): int64 (n,) labels 1..10.
function Classifier:predict(x, o)
  local parts, n = over(self, x, o and o.batch, function(s, xb) return s(xb):argmax(2) end,
                        "clf:predict")
  if n == 0 then return fm.zeros({0}, "int64") end
  return #parts == 1 and parts[1] or fm.cat(parts, 1)
end

--- clf:features_and_predict(x [, {batch = 500}]): both in one pass.
function Classifier:features_and_predict(x, o)
  local fs, ps = {}, {}
  local _, n = over(self, x, o and o.batch, function(s, xb)
    local f = s:embed(xb)
    fs[#fs + 1], ps[#ps + 1] = f:double(), s.out(f):argmax(2)
  end, "clf:features_and_predict")
  if n == 0 then return fm.zeros({0, self.nfeatures}, "float64"), fm.zeros({0}, "int64") end
  return fm.cat(fs, 1), fm.cat(ps, 1)
end

--- clf:accuracy(x, y): the fraction of images whose predicted label is y.
function Classifier:accuracy(x, y, o)
  local p = self:predict(x, o)
  y = labels_of(y, #p, "clf:accuracy")
  if #p == 0 then return 0 / 0 end
  return p:eq(y):sum():item() / #p
end

--- clf:confusion(x, y): a 10 x 10 Lua table, [true][predicted] = count.
function Classifier:confusion(x, y, o)
  local p = self:predict(x, o)
  y = labels_of(y, #p, "clf:confusion")
  local c = {}
  for i = 1, M.CLASSES do c[i] = {}; for j = 1, M.CLASSES do c[i][j] = 0 end end
  local pt, yt = p:totable(), y:totable()
  for i = 1, #pt do c[yt[i]][pt[i]] = c[yt[i]][pt[i]] + 1 end
  return c
end

--- M.classifier([{channels = 16, features = 128}]): a new (untrained) classifier,
-- the one architecture the experiment trains and evaluate uses.
function M.classifier(o) return Classifier(o) end

--- M.cross_entropy(logits, labels): mean of -log softmax(logits)[label].
function M.cross_entropy(logits, labels)
  local n = logits:shape()[1]
  return -logits:log_softmax(2):gather(2, labels:reshape(n, 1)):mean()
end

--- M.load_classifier([path]): the classifier with the weights that
-- experiments/fashion_classifier.lua saved (default M.DEFAULT_PATH).
function M.load_classifier(path, o)
  path = path or M.DEFAULT_PATH
  local f = io.open(path, "rb")
  if not f then
    error(("fm.image_metrics: no classifier weights at %s: run experiments/fashion_classifier.lua "
           .. "first (it saves them there; --out chooses the directory)"):format(path), 2)
  end
  f:close()
  local clf = Classifier(o)
  fm.load(path, clf)
  rawset(clf, "path", path)
  return clf
end

-- ---- evaluation ------------------------------------------------------------------------

-- Per process, for each classifier (weak keys) and data directory: the
-- features of the first images of each split (extended when more are
-- asked for), the test set's Gaussian statistics, and the floors by n.
local cache = setmetatable({}, {__mode = "k"})
M._cache = cache

local loaded = {}
local function default_classifier(o)
  if o.classifier then return o.classifier end
  local key = o.path or M.DEFAULT_PATH
  if not loaded[key] then loaded[key] = M.load_classifier(key) end
  return loaded[key]
end

local function store(clf, o)
  local c = cache[clf]
  if not c then c = {}; cache[clf] = c end
  local key = o.data or ""
  if not c[key] then c[key] = {floors = {}} end
  return c[key]
end

-- real(st, clf, o, split, n): features (float64) of the first n images of
-- the split (n clamped to its size).
local function real(st, clf, o, split, n)
  local ds = st[split .. "_ds"]
  if not ds then
    ds = fm.data.fashion_mnist{split = split, path = o.data}
    st[split .. "_ds"] = ds
  end
  n = math.min(n, #ds)
  local f = st[split]
  local have = f and #f or 0
  if have < n then
    local more = clf:features(ds:images():narrow(1, have + 1, n - have))
    f = f and fm.cat({f, more}, 1) or more
    st[split] = f
  end
  return f:narrow(1, 1, n)
end

--- M.evaluate(samples [, labels [, opts]]) -> {fd, fd_floor_n, fd_floor_ref,
-- fd_floor_10k, accuracy, counts, n, reference, time}. labels: the asked
-- labels (int64 1..10, a table; nil: no accuracy). opts: classifier (default
-- M.load_classifier(opts.path), loaded once per path), path, data (the
-- Fashion-MNIST directory), reference (images in each real set, default
-- 10000: the whole test set).
function M.evaluate(samples, labels, o)
  o = o or {}
  local t0 = fm.clock()
  local clf = default_classifier(o)
  local x = images(samples, "fm.image_metrics.evaluate")
  local n = #x
  if n < 2 then error("fm.image_metrics.evaluate: at least 2 images needed", 2) end
  if samples:dtype() ~= "uint8" then
    -- scored as they would be saved: clamped to [-1, 1] (as to_uint8 does)
    local bad = n * 784 - x:isfinite():sum():item()
    if bad > 0 then
      error(("fm.image_metrics.evaluate: %d sample values are NaN or infinite"):format(bad), 2)
    end
    x = x:clamp(-1, 1)
  end
  local st = store(clf, o)
  local R = o.reference or 10000
  local test = real(st, clf, o, "test", R)
  R = #test
  local sk = "stats" .. R
  if not st[sk] then st[sk] = {fm.metrics.gaussian_stats(test)} end
  local tmu, tcov = st[sk][1], st[sk][2]
  local fx, pred = clf:features_and_predict(x)
  local mu, cov = fm.metrics.gaussian_stats(fx)
  local m = {n = n, reference = R}
  m.fd = fm.metrics.fd_stats(mu, cov, tmu, tcov)
  -- floors with real images only: n test vs n train images (n-vs-n); n train
  -- images vs the reference test set (exactly what fd measures); the
  -- reference test set vs as many train images (10k vs 10k by default)
  local fk = R .. "|" .. n
  if not st.floors[fk] then
    local k = math.min(n, R)
    local tr = real(st, clf, o, "train", math.max(n, R))
    local trmu, trcov = fm.metrics.gaussian_stats(tr:narrow(1, 1, R))
    local nmu, ncov = fm.metrics.gaussian_stats(tr:narrow(1, 1, n))
    st.floors[fk] = {
      n = fm.metrics.fd(test:narrow(1, 1, k), tr:narrow(1, 1, k)),
      ref = fm.metrics.fd_stats(nmu, ncov, tmu, tcov),
      full = fm.metrics.fd_stats(trmu, trcov, tmu, tcov),
    }
  end
  local fl = st.floors[fk]
  m.fd_floor_n, m.fd_floor_ref, m.fd_floor_10k = fl.n, fl.ref, fl.full
  local counts = {}
  for j = 1, M.CLASSES do counts[j] = pred:eq(j):sum():item() end
  m.counts = counts
  if labels ~= nil then
    local y = labels_of(labels, n, "fm.image_metrics.evaluate")
    m.accuracy = pred:eq(y):sum():item() / n
  end
  m.time = fm.clock() - t0
  return m
end

--- M.to_uint8(x): images in [-1, 1] -> uint8 bytes, round((x + 1) * 127.5)
-- clamped to 0..255; (n, 1, h, w) becomes (n, h, w). NaN is an error.
function M.to_uint8(x)
  if not fm.is_tensor(x) then error("fm.image_metrics.to_uint8: a tensor expected", 2) end
  if x:dtype() == "uint8" then return x end
  local s = x:shape()
  local b = ((x:detach() + 1) * 127.5):to("uint8")
  if #s == 4 and s[2] == 1 then b = b:reshape(s[1], s[3], s[4]) end
  return b
end

return M
