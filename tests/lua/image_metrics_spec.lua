-- image_metrics_spec.lua — fm.image_metrics: the classifier's shapes, dtypes
-- and determinism, its cross-entropy against a hand-computed one, saving and
-- loading (and the error when the weights are missing), to_uint8, and
-- evaluate on real Fashion-MNIST images against noise with an UNTRAINED
-- classifier (no saved weights needed; random conv features already tell
-- real images from noise). The parts that read Fashion-MNIST are pending
-- with a message when Debian's dataset-fashion-mnist is not installed.
local fm = require "fm"
local im = require "fm.image_metrics"

local FASHION = "/usr/share/datasets/fashion-mnist"
local have_fashion = io.open(FASHION .. "/t10k-labels-idx1-ubyte.gz", "rb")
if have_fashion then have_fashion:close() end

local function images(n) return fm.rand(n, 1, 28, 28) * 2 - 1 end

local err, has = table.unpack((require "tests.lua.expect_error"))

describe("fm.image_metrics classifier", function()
  fm.seed(11)
  local clf = im.classifier()

  it("maps (n, 1, 28, 28) images to 10 logits and 128 float64 features", function()
    local x = images(5)
    assert.same({5, 10}, clf(x):shape())
    local f = clf:features(x)
    assert.same({5, im.FEATURES}, f:shape())
    assert.equal("float64", f:dtype())
    local p = clf:predict(x)
    assert.same({5}, p:shape())
    assert.equal("int64", p:dtype())
    assert.is_true(p:min():item() >= 1 and p:max():item() <= 10)
    local a = clf:accuracy(x, p)
    assert.equal(1, a)
    local f2, p2 = clf:features_and_predict(x, {batch = 2})
    assert.tensor_near(f, f2, 1e-5)
    assert.is_true(fm.allclose(p, p2, 0, 0))
    assert.same({0, im.FEATURES}, clf:features(x:narrow(1, 1, 0)):shape())
  end)

  it("takes uint8 (n, 28, 28) and float64 images as the same images", function()
    local b = fm.randint(0, 255, {3, 28, 28}, "uint8")
    local x = b:to("float32") / 127.5 - 1
    assert.is_true(fm.allclose(clf:features(x), clf:features(b), 0, 0))
    assert.is_true(fm.allclose(clf:features(x), clf:features(x:double()), 0, 0))
  end)

  it("gives the same features every time and in any batch size", function()
    local x = images(7)
    local f1 = clf:features(x)
    assert.is_true(fm.allclose(f1, clf:features(x), 0, 0))
    assert.tensor_near(f1, clf:features(x, {batch = 3}), 1e-5)
    assert.is_true(fm.allclose(clf:predict(x), clf:predict(x, {batch = 2}), 0, 0))
  end)

  it("refuses images of another shape or dtype, naming them", function()
    has(err(clf.features, clf, fm.zeros(2, 3, 28, 28)), "clf:features", "(2, 3, 28, 28)")
    has(err(clf.predict, clf, fm.zeros(2, 28)), "(n, 1, 28, 28)")
    has(err(clf.features, clf, fm.zeros({2, 28, 28}, "int64")), "int64")
    has(err(clf.accuracy, clf, images(3), {1, 2}), "2 labels for 3 images")
  end)

  it("cross_entropy is the mean of -log softmax at the labels", function()
    local logits = fm.randn(4, 10, "float64")
    local y = fm.tensor({1, 10, 3, 3}, "int64")
    local want, t, yt = 0, logits:totable(), y:totable()
    for i = 1, 4 do
      local s = 0
      for j = 1, 10 do s = s + math.exp(t[i][j]) end
      want = want + (math.log(s) - t[i][yt[i]]) / 4
    end
    assert.is_true(math.abs(im.cross_entropy(logits, y):item() - want) < 1e-12)
  end)

  it("load_classifier restores saved weights; a missing file says what to run", function()
    local path = os.tmpname() .. ".safetensors"
    fm.save(path, clf)
    local back = im.load_classifier(path)
    local x = images(3)
    assert.is_true(fm.allclose(clf(x), back(x), 0, 0))
    os.remove(path)
    has(err(im.load_classifier, path), path, "run experiments/fashion_classifier.lua first")
    has(err(im.load_classifier, "/nonexistent/dir/model.safetensors"),
        "/nonexistent/dir/model.safetensors", "experiments/fashion_classifier.lua")
  end)
end)

describe("fm.image_metrics.to_uint8", function()
  it("round-trips bytes through [-1, 1] floats", function()
    local b = fm.randint(0, 255, {4, 28, 28}, "uint8")
    local x = (b:to("float32") / 127.5 - 1):reshape(4, 1, 28, 28)
    local back = im.to_uint8(x)
    assert.equal("uint8", back:dtype())
    assert.same({4, 28, 28}, back:shape())
    assert.is_true(fm.allclose(b, back, 0, 0))
    assert.is_true(fm.allclose(b, im.to_uint8(x:double()), 0, 0))
  end)

  it("rounds (x + 1) * 127.5 and clamps to 0..255", function()
    local x = fm.tensor({{{{-3, -1, -0.999, 0, 0.5, 1, 7}}}})
    assert.same({{{0, 0, 0, 128, 191, 255, 255}}}, im.to_uint8(x):totable())
  end)
end)

describe("fm.image_metrics.evaluate", function()
  local function need()
    if not have_fashion then
      pending("Debian's dataset-fashion-mnist is not installed (" .. FASHION .. "): skipped")
      return false
    end
    return true
  end

  it("real test images are near the test set, noise is far (untrained classifier)", function()
    if not need() then return end
    fm.seed(5)
    local clf = im.classifier()
    local test = fm.data.fashion_mnist{split = "test"}
    local R, n = 1000, 1000
    local real = test:images():narrow(1, R + 1, n)      -- not in the reference set
    local labels = test:labels():narrow(1, R + 1, n)
    local o = {classifier = clf, reference = R}
    local m = im.evaluate(real, labels, o)
    local noise = im.evaluate(fm.rand(n, 1, 28, 28) * 2 - 1, nil, o)
    assert.is_true(m.fd >= 0 and m.fd < 0.1 * noise.fd,
                   ("fd(real) %g, fd(noise) %g"):format(m.fd, noise.fd))
    assert.equal(n, m.n)
    assert.equal(R, m.reference)
    for _, k in ipairs{"fd_floor_n", "fd_floor_ref", "fd_floor_10k"} do
      assert.is_true(m[k] > 0 and m[k] < 0.1 * noise.fd, k .. " " .. tostring(m[k]))
      assert.equal(m[k], noise[k])                      -- cached floors
    end
    assert.is_true(m.accuracy >= 0 and m.accuracy <= 1)
    assert.is_nil(noise.accuracy)
    local total = 0
    for k = 1, 10 do total = total + m.counts[k] end
    assert.equal(n, total)
    -- uint8 samples are the same images: the same figures
    local again = im.evaluate(real, labels, o)
    assert.equal(m.fd, again.fd)
    local f = im.evaluate(real:to("float32") / 127.5 - 1, labels, o)
    assert.is_true(math.abs(f.fd - m.fd) <= 1e-9 * m.fd)
    assert.equal(m.accuracy, f.accuracy)
  end)

  it("refuses bad samples and labels", function()
    if not need() then return end
    local o = {classifier = im.classifier(), reference = 200}
    has(err(im.evaluate, fm.zeros(3, 2, 28, 28), nil, o), "fm.image_metrics.evaluate")
    has(err(im.evaluate, images(1), nil, o), "at least 2 images")
    has(err(im.evaluate, images(4), {1, 2}, o), "2 labels for 4 images")
    local z = images(4)
    z[2][1][3][4] = 0 / 0
    has(err(im.evaluate, z, nil, o), "1 sample values are NaN or infinite")
  end)

  it("scores float samples clamped to [-1, 1], as they would be saved", function()
    if not need() then return end
    local o = {classifier = im.classifier(), reference = 200}
    local z = fm.randn(50, 1, 28, 28) * 3
    assert.equal(im.evaluate(z:clamp(-1, 1), nil, o).fd, im.evaluate(z, nil, o).fd)
  end)
end)
