-- Fuzzing fm: thousands of random calls with random shapes, dtypes, layouts
-- (transposed, narrowed, expanded views) and arguments, over the whole tensor
-- API (every method of fm.Tensor and every tensor function of fm), fm.path,
-- fm.data, fm.metrics, fm.ot, fm.plot (into a temp dir), npy/safetensors
-- (bad paths, corrupt files) and autograd (random graphs, then :backward()).
-- Each call must return or raise a Lua error with a non-empty message; a
-- crash, an abort, a hang or a sanitizer report fails the run (ctest runs
-- this spec in the ASan+UBSan build). Every result tensor is printed and read
-- back, so a bad view descriptor is caught when it is used.
local fm = require "fm"

local rand = math.random
local function pick(t) return t[rand(1, #t)] end

local tmpdir = os.tmpname()
os.remove(tmpdir)
assert(os.execute("mkdir -p '" .. tmpdir .. "'"))
local function tmp(name) return tmpdir .. "/" .. name end

-- ---- random values -------------------------------------------------------

local function random_shape(maxd)
  local s = {}
  for i = 1, rand(0, maxd or 4) do s[i] = rand(0, 4) end
  return s
end

local dtypes = {"float32", "float64", "int64", "uint8"}

-- a random tensor of the given shape, in a random layout with those sizes
local function layout(t)
  local r = rand(1, 5)
  if r == 1 and t:dim() >= 2 then -- transposed copy, transposed back: a strided view
    return t:transpose(1, t:dim()):contiguous():transpose(1, t:dim())
  elseif r == 2 and t:dim() >= 1 then -- a narrowed view of a bigger tensor
    local s = t:shape()
    s[1] = s[1] + 2
    local big = fm.zeros(s, t:dtype())
    local v = big:narrow(1, 2, t:shape(1))
    v:copy(t)
    return v
  elseif r == 3 and t:dim() >= 1 and t:shape(1) == 1 then -- expanded
    return t:expand(t:shape())
  end
  return t
end

local function tensor_of(shape, dt)
  dt = dt or pick(dtypes)
  local t
  if dt == "int64" then t = fm.randint(-3, 5, shape)
  elseif dt == "uint8" then t = fm.randint(0, 255, shape, "uint8")
  else
    t = fm.randn(shape, dt)
    if rand(1, 8) == 1 then -- special values
      local n = t:numel()
      if n > 0 then t:reshape(-1)[rand(1, n)] = pick{0 / 0, math.huge, -math.huge, 1e30, 0} end
    end
  end
  return layout(t)
end

local function random_tensor(like)
  if like and rand(1, 2) == 1 then -- a shape that broadcasts with like (or not)
    local s = like:shape()
    if #s > 0 and rand(1, 2) == 1 then table.remove(s, 1) end
    if #s > 0 and rand(1, 3) == 1 then s[rand(1, #s)] = 1 end
    return tensor_of(s, rand(1, 4) > 1 and like:dtype() or nil)
  end
  return tensor_of(random_shape())
end

local function index_tensor(n)
  local len = rand(0, 4)
  local t = {}
  for i = 1, len do t[i] = rand(1, 8) == 1 and rand(-2, n + 2) or rand(1, math.max(n, 1)) end
  return fm.tensor(t, "int64")
end

local specials = {0 / 0, math.huge, -math.huge, math.maxinteger, math.mininteger,
  2 ^ 62, -1, 0, 1e-300, true, false, "", "float64", "int64", "uint8", "bogus", {}, {{}}, {1, 2}}

local function random_arg(self)
  local r = rand(1, 20)
  local nd = self and self:dim() or 3
  if r <= 5 then return random_tensor(self)
  elseif r <= 10 then return rand(-nd - 1, nd + 1) -- dims, sizes, indices
  elseif r == 11 then return rand() * 4 - 2
  elseif r == 12 then return random_shape()
  elseif r == 13 then return index_tensor(self and self:dim() > 0 and self:shape(1) or 3)
  elseif r == 14 then return {random_tensor(self), random_tensor(self)}
  elseif r == 15 then return pick(dtypes)
  elseif r == 16 and self then return self
  else return pick(specials) end
end

-- reads every element of a result: a bad descriptor shows up under ASan here
local function consume(v, depth)
  depth = depth or 0
  if fm.is_tensor(v) then
    local s = tostring(v)
    assert(s:find("tensor(", 1, true), s)
    if v:numel() <= 4096 then
      local ok, err = pcall(v.totable, v) -- refused for (2^62, 0), say
      assert(ok or err:find("totable"), err)
    end
  elseif type(v) == "table" and depth < 2 then
    for _, x in pairs(v) do consume(x, depth + 1) end
  end
end

local stats = {ok = 0, err = 0}
local trace = os.getenv("FM_FUZZ_TRACE") -- prints each call before making it
local function describe_args(...)
  local t = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    t[i] = fm.is_tensor(v) and ("T" .. table.concat(v:shape(), "x") .. v:dtype())
      or type(v) == "table" and "{...}" or tostring(v)
  end
  return table.concat(t, ", ")
end
local function call(f, ...)
  if trace then io.stderr:write(debug.getinfo(2, "l").currentline, " ", describe_args(...), "\n") end
  local res = table.pack(pcall(f, ...))
  if res[1] then
    stats.ok = stats.ok + 1
    for i = 2, res.n do consume(res[i]) end
  else
    stats.err = stats.err + 1
    assert(type(res[2]) == "string" and #res[2] > 0, "error without a message: " .. tostring(res[2]))
    assert(not res[2]:find("C stack overflow"), res[2])
  end
  return res[1], res[2]
end

-- ---- the tensor API ------------------------------------------------------

local methods = {}
for name in pairs(getmetatable(fm.zeros(1)).methods) do methods[#methods + 1] = name end
table.sort(methods)

-- fm.* functions that take tensors/numbers (files, processes and functions
-- that take callbacks are fuzzed below, with safe paths)
local functions = {"allclose", "arange", "bmm", "cat", "cdist2", "empty", "eye", "full",
  "full_like", "is_tensor", "linspace", "maximum", "minimum", "mm", "multinomial",
  "ones", "ones_like", "permutation", "rand", "randint", "randn", "stack", "tensor",
  "where", "zeros", "zeros_like", "param"}

describe("fuzzing", function()
  setup(function()
    math.randomseed(tonumber(os.getenv("FM_FUZZ_SEED")) or 12345)
    fm.seed(1)
  end)
  teardown(function() os.execute("rm -rf '" .. tmpdir .. "'") end)

  it("the tensor API: every method and function, random arguments", function()
    assert.is_true(#methods > 90, "method table: " .. #methods)
    local before = stats.ok + stats.err
    for _ = 1, 40000 do
      local args = {}
      if rand() < 0.75 then
        local self = random_tensor()
        for i = 1, rand(0, 4) do args[i] = random_arg(self) end
        local m = pick(methods)
        if trace then io.stderr:write(m, "(", describe_args(self, table.unpack(args, 1, 4)), ")\n") end
        call(function() return self[m](self, table.unpack(args, 1, 4)) end)
      else
        for i = 1, rand(0, 4) do args[i] = random_arg() end
        call(fm[pick(functions)], table.unpack(args, 1, 4))
      end
    end
    -- metamethods, x[i], x[i] = v and # with random operands
    for _ = 1, 10000 do
      local a = random_tensor()
      local b = rand(1, 3) == 1 and random_arg(a) or random_tensor(a)
      local op = rand(1, 9)
      call(function()
        if op == 1 then return a + b elseif op == 2 then return a - b
        elseif op == 3 then return a * b elseif op == 4 then return a / b
        elseif op == 5 then return a ^ b elseif op == 6 then return -a
        elseif op == 7 then return a[b] elseif op == 8 then a[b] = random_arg(a); return a
        else return #a end
      end)
    end
    fm.set_default_dtype("float32")
    fm.set_grad_enabled(true)
    assert.is_true(stats.ok + stats.err - before == 50000)
    assert.is_true(stats.ok > 3000, "too few calls succeeded: " .. stats.ok)
    assert.is_true(stats.err > 3000, "too few calls failed: " .. stats.err)
  end)

  it("fm.path, fm.data, fm.metrics, fm.ot", function()
    local names = {"linear", "cosine", "vp", "sqrt", "polynomial", "bogus"}
    local preds = {"velocity", "eps", "x0", "x1", "score", "bogus"}
    local ok_before = stats.ok
    local function pts(n, d, dt) return fm.randn(n or rand(0, 5), d or 2):to(dt or "float32") end
    local function targ()
      local r = rand(1, 6)
      if r <= 2 then return rand() elseif r == 3 then return fm.rand(rand(0, 5), 1)
      elseif r == 4 then return pick{-0.5, 1.5, 0 / 0, 0, 1} else return random_arg() end
    end
    for _ = 1, 4000 do
      local r = rand(1, 4)
      if r == 1 then
        local ok, p = call(fm.path.gaussian, pick(names), rand(1, 3) == 1 and {n = rand(-1, 3)} or nil)
        if ok then
          local n, d = rand(0, 4), rand(1, 3)
          local a = rand(1, 4) > 1 and pts(n, d) or random_arg()
          local b = rand(1, 4) > 1 and pts(n, d) or random_arg()
          local m = pick{"sample", "velocity", "velocity_eps", "score", "convert", "schedule",
            "marginal", "name"}
          if m == "convert" then call(p.convert, p, a, b, targ(), pick(preds), pick(preds))
          elseif m == "schedule" then call(p.schedule, p, targ())
          else call(p[m], p, a, targ(), b) end
        end
      elseif r == 2 then
        local ds = pick{"checkerboard", "circles", "gaussians8", "moons", "pinwheel",
          "spirals", "swissroll", "gmm"}
        local opts = rand(1, 2) == 1 and {} or {noise = rand() - 0.2, std = rand(), n = rand(-1, 3)}
        if ds == "gmm" then
          opts = pick{{means = {{0, 0}, {1, 1}}, stds = rand() - 0.1},
            {means = {{0}}, covs = {{{rand() - 0.3}}}}, {means = {}}, {stds = 1},
            {means = {{0, 0}}, weights = {rand() - 0.5}}}
        end
        local ok, g = call(fm.data[ds], opts)
        if ok then call(g.sample, g, pick{rand(0, 50), -1, 0, 2 ^ 40, "x"}, random_arg()) end
      elseif r == 3 then
        local m = pick{"energy", "mmd", "sliced_w2", "w2", "fd", "gaussian_stats", "fd_stats"}
        local d = rand(1, 3)
        local a = rand(1, 5) > 1 and pts(rand(0, 20), d) or random_arg()
        local b = rand(1, 5) > 1 and pts(rand(0, 20), rand(1, 6) > 1 and d or d + 1,
          pick{"float32", "float64"}) or random_arg()
        if m == "fd_stats" then
          local ok, mu, cov = pcall(fm.metrics.gaussian_stats, a)
          if not ok then mu, cov = random_arg(), random_arg() end
          call(fm.metrics.fd_stats, pick{mu, a}, pick{cov, b}, pick{mu, random_arg()},
            pick{cov, ok and -cov or b, random_arg()})
        else
          call(fm.metrics[m], a, b, pick{nil, {}, {bandwidth = rand() * 2 - 0.5},
            {projections = rand(-1, 20)}, {seed = 3}})
        end
      else
        local n = rand(0, 12)
        local r = rand(1, 3)
        if r == 1 then
          local c = rand(1, 5) > 1 and fm.rand(n, rand(1, 6) > 1 and n or n + 1, "float64")
            or random_arg()
          call(fm.ot.assign, c)
        elseif r == 2 then
          call(fm.ot.sinkhorn, pts(n, 2), rand(1, 5) > 1 and pts(rand(0, 12), 2) or random_arg(),
            pick{random_arg(), {eps = rand() * 2 - 0.2, iters = rand(-1, 50), check = false},
              {eps = 1, wa = random_arg(), wb = random_arg(), check = false}})
        else
          call(fm.ot.match, pts(n, 2), rand(1, 5) > 1 and pts(n, 2) or random_arg(), random_arg())
        end
      end
    end
    assert.is_true(stats.ok - ok_before > 300, "too few calls succeeded")
  end)

  it("fm.plot into a temp dir", function()
    local kinds = {"curve", "heatmap", "quiver", "scatter", "trajectories", "images",
      "snapshots", "gif"}
    for i = 1, 300 do
      local k = pick(kinds)
      local ext = k == "gif" and ".gif" or pick{".png", ".png", ".svg", ".pdf", ".bogus"}
      local path = pick{tmp("p" .. i .. ext), tmp("no/such/dir/p.png"), tmpdir}
      local n = rand(0, 30)
      local data = pick{fm.randn(n, 2), fm.randn(n), fm.randn(rand(1, 4), n, 2),
        fm.rand(rand(0, 5), rand(0, 5)), fm.rand(rand(1, 3), 4, 4), random_arg(), {fm.randn(n, 2)}}
      local opts = pick{nil, {}, {title = "t", xlim = {-1, 1}}, {xlim = {1, -1}},
        {s = -1, colors = fm.randint(1, 3, {n})}, {u = fm.randn(n, 2)}, {fps = 0}}
      call(fm.plot[k], path, data, opts)
      call(fm.plot[k], data, path)
    end
  end)

  it("npy, safetensors and IDX: bad paths and corrupt files", function()
    local good = tmp("good.npy")
    fm.save_npy(good, fm.randn(3, 4))
    fm.safetensors.save(tmp("good.st"), {a = fm.randn(2, 3), b = fm.randint(1, 3, {4})})
    local f = assert(io.open(good, "rb")); local npy = f:read("a"); f:close()
    f = assert(io.open(tmp("good.st"), "rb")); local st = f:read("a"); f:close()
    local idx = string.pack(">I4I4I4I4", 0x803, 2, 3, 4) .. string.rep("\7", 24)
    local function corrupt(bytes, i)
      local r = rand(1, 3)
      local p = tmp("bad" .. i)
      local out = assert(io.open(p, "wb"))
      if r == 1 then out:write(bytes:sub(1, rand(0, #bytes - 1)))      -- truncated
      elseif r == 2 then                                                 -- one byte changed
        local k = rand(1, #bytes)
        out:write(bytes:sub(1, k - 1), string.char(rand(0, 255)), bytes:sub(k + 1))
      else out:write(bytes, string.rep("\0", rand(1, 9))) end           -- trailing junk
      out:close()
      return p
    end
    local bad = {tmp("missing.npy"), tmpdir, "/dev/null", tmp("no/dir/x.npy"), ""}
    for i = 1, 1000 do
      local r = rand(1, 8)
      if r == 8 then call(fm.load_idx, corrupt(idx, i))
      elseif r == 1 then call(fm.load_npy, corrupt(npy, i))
      elseif r == 2 then call(fm.safetensors.load, corrupt(st, i))
      elseif r == 3 then call(fm.safetensors.info, corrupt(st, i))
      elseif r == 4 then call(fm.safetensors.load_into, corrupt(st, i),
        {a = fm.zeros(2, 3), b = fm.zeros(4, "int64")}, pick{true, false})
      elseif r == 5 then
        call(pick{fm.load_npy, fm.load_idx, fm.safetensors.load, fm.safetensors.info}, pick(bad))
      elseif r == 6 then call(fm.save_npy, pick(bad), random_tensor(), pick{nil, "int32", "bogus"})
      else call(fm.safetensors.save, pick(bad), {x = random_tensor()}) end
    end
    -- the good files are still good
    assert.is_true(fm.allclose(fm.load_npy(good), fm.load_npy(good)))
  end)

  it("autograd: random graphs, then :backward()", function()
    local unary = {"exp", "tanh", "sigmoid", "silu", "relu", "gelu", "softplus", "abs",
      "sin", "cos", "square", "neg", "t", "sum", "mean", "logsumexp", "softmax",
      "log_softmax", "contiguous", "clone", "norm", "var", "max", "min", "prod"}
    local backward_ok = 0
    for _ = 1, 1500 do
      local dt = pick{"float32", "float64"}
      local n, d = rand(1, 4), rand(1, 4)
      local leaves = {fm.param(fm.randn(n, d, dt)), fm.param(fm.randn(d, dt)),
        fm.param(fm.randn(d, rand(1, 3), dt))}
      local pool = {leaves[1], leaves[2], leaves[3], fm.randn(n, d, dt)}
      for _ = 1, rand(1, 12) do
        local a, b = pick(pool), pick(pool)
        local r = rand(1, 7)
        local ok, v = call(function()
          if r == 1 then return a + b elseif r == 2 then return a * b
          elseif r == 3 then return a - b * 0.5
          elseif r == 4 then return a:mm(b)
          elseif r == 5 then
            local u = pick(unary)
            if (u == "t" and a:dim() ~= 2) then return a end
            return a[u](a, (u ~= "t" and rand(1, 2) == 1) and rand(1, math.max(a:dim(), 1)) or nil)
          elseif r == 6 then return a:reshape(-1):narrow(1, 1, math.min(2, a:numel()))
          else return fm.where(a:gt(0), a, b) end
        end)
        if ok and fm.is_tensor(v) then pool[#pool + 1] = v end
      end
      local out = pool[#pool]
      local ok = call(function()
        local s = out:sum()
        s:backward()
        for _, l in ipairs(leaves) do
          local g = l.grad
          if g then assert(fm.is_tensor(g) and g:dtype() == l:dtype()) end
        end
      end)
      if ok then backward_ok = backward_ok + 1 end
      call(function() return out:backward() end) -- again, or on a non-scalar
    end
    assert.is_true(backward_ok > 500, "backward succeeded only " .. backward_ok .. " times")
    fm.set_grad_enabled(true)
  end)

  it("ran thousands of calls", function()
    -- the counts, always: a crash would have ended the run before this line
    print(("\nrandom-call fuzzer: tried %d, returned %d, clean errors %d, crashes 0 (seed %s)")
      :format(stats.ok + stats.err, stats.ok, stats.err, os.getenv("FM_FUZZ_SEED") or "12345"))
    assert.is_true(stats.ok + stats.err > 60000, tostring(stats.ok + stats.err))
  end)
end)
