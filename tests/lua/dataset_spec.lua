-- fm.data.from_npy / from_csv / batches, and labels of the built-in sets.
local fm = require "fm"

local function write(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

describe("fm.data.from_csv", function()
  it("reads a header, picks columns by name and labels", function()
    local p = write("x,y,class\n1,2,0\n3.5, -4 ,1\n\n# comment\n5,6e-1,1\n")
    local d = fm.data.from_csv(p, {header = true, label = "class", dtype = "float64"})
    assert.tensor_near({{1, 2}, {3.5, -4}, {5, 0.6}}, d:tensor(), 0)
    assert.are.same({0, 1, 1}, d:labels():totable())
    local e = fm.data.from_csv(p, {header = true, columns = {"y"}, dtype = "float64"})
    assert.tensor_near({{2}, {-4}, {0.6}}, e:tensor(), 0)
    assert.are.equal(3, #e)
    os.remove(p)
  end)

  it("reads files without a header, columns by index", function()
    local p = write("1,2,3\n4,5,6\n")
    assert.tensor_near({{1, 2, 3}, {4, 5, 6}}, fm.data.from_csv(p):tensor(), 0)
    assert.tensor_near({{3, 1}, {6, 4}}, fm.data.from_csv(p, {columns = {3, 1}}):tensor(), 0)
    os.remove(p)
  end)

  it("names the file and line of a malformed row", function()
    local p = write("a,b\n1,2\n3,x\n")
    local ok, err = pcall(fm.data.from_csv, p, {header = true})
    assert.is_false(ok)
    assert.matches(p:gsub("%p", "%%%0") .. ":3: field 2 %('x'%) is not a number", err)
    local q = write("1,2\n3,4,5\n")
    ok, err = pcall(fm.data.from_csv, q)
    assert.is_false(ok)
    assert.matches(q:gsub("%p", "%%%0") .. ":2: 3 fields, expected 2", err)
    ok, err = pcall(fm.data.from_csv, p, {header = true, columns = {"c"}})
    assert.matches("no column named 'c'", err)
    ok, err = pcall(fm.data.from_csv, "/nonexistent/file.csv")
    assert.matches("/nonexistent/file.csv", err)
    os.remove(p); os.remove(q)
  end)
end)

describe("fm.data.from_npy", function()
  it("round-trips and samples with replacement", function()
    fm.seed(3)
    local x = fm.randn(50, 3, "float64")
    local p = os.tmpname()
    fm.save_npy(p, x)
    local d = fm.data.from_npy(p)
    assert.tensor_near(x, d:tensor(), 0)
    assert.are.same({50, 3}, {d:size(), d:dim()})
    -- every sampled row is one of the data rows
    local s = d:sample(200)
    assert.are.same({200, 3}, s:shape())
    local rows = {}
    for i = 1, 50 do rows[table.concat(x[i]:totable(), ",")] = true end
    for i = 1, 200 do assert.is_true(rows[table.concat(s[i]:totable(), ",")]) end
    os.remove(p)
    local ok, err = pcall(fm.data.from_npy, "/nonexistent.npy")
    assert.is_false(ok)
    assert.matches("/nonexistent.npy", err)
  end)
end)

describe("fm.data.batches", function()
  local function ids(b) local t = {} for i, v in ipairs(b:totable()) do t[i] = v[1] end return t end

  it("covers every row once per epoch and reshuffles", function()
    local x = fm.arange(1, 11):reshape(10, 1):double()
    local y = fm.arange(1, 11):long()
    local seen, orders, sizes = {}, {}, {}
    local e = 0
    for xb, yb in fm.data.batches(x, {batch = 4, labels = y, epochs = 2, seed = 7}) do
      assert.are.same(ids(xb), yb:totable())   -- labels follow their rows
      sizes[#sizes + 1] = #xb
      for _, v in ipairs(ids(xb)) do
        local k = math.floor(e / 10) + 1
        seen[k] = seen[k] or {}
        assert.is_nil(seen[k][v])
        seen[k][v] = true
        orders[k] = (orders[k] or "") .. v .. " "
        e = e + 1
      end
    end
    assert.are.same({4, 4, 2, 4, 4, 2}, sizes)
    assert.are.equal(20, e)
    assert.are_not.equal(orders[1], orders[2])
  end)

  it("is reproducible with a seed and leaves the global generator alone", function()
    local x = fm.arange(1, 101):reshape(100, 1):double()
    fm.seed(1)
    local r1 = fm.rand(1):item()
    fm.seed(1)
    local a = {}
    for b in fm.data.batches(x, {batch = 30, seed = 5, drop_last = true}) do a[#a + 1] = ids(b) end
    assert.are.equal(r1, fm.rand(1):item())
    local b = {}
    for bb in fm.data.batches(x, {batch = 30, seed = 5, drop_last = true}) do b[#b + 1] = ids(bb) end
    assert.are.same(a, b)
    assert.are.equal(3, #a)   -- 100 = 3 * 30 + 10, last dropped
    local c = {}
    for bb in fm.data.batches(x, {batch = 64, shuffle = false}) do c[#c + 1] = ids(bb) end
    assert.are.same(1, c[1][1])
    assert.are.same(65, c[2][1])
  end)

  it("iterates a data object with its labels", function()
    local p = write("1,0\n2,1\n3,1\n")
    local n = 0
    for xb, yb in fm.data.batches(fm.data.from_csv(p, {label = 2}), {batch = 2}) do
      n = n + #xb
      assert.are.equal(#xb, #yb)
    end
    assert.are.equal(3, n)
    os.remove(p)
  end)
end)

describe("labels of the built-in sets", function()
  it("gaussians8 labels name the component", function()
    fm.seed(2)
    local x, y = fm.data.gaussians8():sample(400, "float64")
    -- the component of each point is the nearest centre (radius 5, std 0.32:
    -- centres are 3.8 apart, so a mislabel needs a 6-sigma draw)
    local xs, ys = x:totable(), y:totable()
    for i = 1, 400 do
      local k = ys[i]
      local c = {5 * math.cos(2 * math.pi * (k - 1) / 8), 5 * math.sin(2 * math.pi * (k - 1) / 8)}
      assert.is_true((xs[i][1] - c[1]) ^ 2 + (xs[i][2] - c[2]) ^ 2 < 4)
    end
    local _, ym = fm.data.moons():sample(100)
    assert.are.equal("int64", ym:dtype())
  end)
end)
