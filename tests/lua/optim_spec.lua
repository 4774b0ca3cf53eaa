-- optim_spec.lua — fm.optim updates against the formulas evaluated by hand in
-- plain Lua doubles (and Adam against PyTorch when /usr/bin/python3 has torch).
local fm = require "fm"
local optim = fm.optim

-- fixed gradients for 5 steps, two parameters of 3 and 2 elements
local P0 = {{0.5, -1.5, 2.0}, {0.25, -0.75}}
local G = {}
for k = 1, 5 do
  G[k] = {{0.1 * k, -0.3 + 0.05 * k, 1.0 / k}, {-0.2 * k, 0.4}}
end

local function params(dt)
  local ps = {}
  for i, v in ipairs(P0) do ps[i] = fm.param(fm.tensor(v, dt or "float64")) end
  return ps
end

local function run(opt, ps, nsteps)
  for k = 1, nsteps or 5 do
    opt:zero_grad()
    for i, p in ipairs(ps) do p.grad = fm.tensor(G[k][i], p:dtype()) end
    opt:step()
  end
end

-- relative closeness of each element to the hand value, 1e-6 relative (the
-- C update runs in double for float64 tensors: only rounding differs)
local function check(ps, want, tol)
  tol = tol or 1e-6
  for i, p in ipairs(ps) do
    local got = p:totable()
    for j = 1, #got do
      local w = want[i][j]
      assert(math.abs(got[j] - w) <= tol * math.max(1e-3, math.abs(w)),
             string.format("param %d[%d]: got %.12g, want %.12g", i, j, got[j], w))
    end
  end
end

-- hand formulas (PyTorch's), elementwise on plain numbers
local function hand(update, nsteps)
  local out = {}
  for i, v in ipairs(P0) do
    out[i] = {}
    for j, p in ipairs(v) do
      local s = {}
      for k = 1, nsteps or 5 do p = update(p, G[k][i][j], s, k) end
      out[i][j] = p
    end
  end
  return out
end

describe("fm.optim.sgd", function()
  it("plain, with weight decay", function()
    local ps = params()
    run(optim.sgd(ps, {lr = 0.1, weight_decay = 0.01}), ps)
    check(ps, hand(function(p, g) return p - 0.1 * (g + 0.01 * p) end))
  end)
  it("momentum with dampening, and nesterov", function()
    local ps = params()
    run(optim.sgd(ps, {lr = 0.05, momentum = 0.9, dampening = 0.1}), ps)
    check(ps, hand(function(p, g, s, k)
      s.b = k == 1 and g or 0.9 * s.b + 0.9 * g
      return p - 0.05 * s.b
    end))
    ps = params()
    run(optim.sgd(ps, {lr = 0.05, momentum = 0.9, nesterov = true, weight_decay = 0.1}), ps)
    check(ps, hand(function(p, g, s, k)
      g = g + 0.1 * p
      s.b = k == 1 and g or 0.9 * s.b + g
      return p - 0.05 * (g + 0.9 * s.b)
    end))
  end)
end)

local function adam_hand(lr, b1, b2, eps, wd, decoupled)
  return hand(function(p, g, s, k)
    s.m, s.v = s.m or 0, s.v or 0
    if decoupled then p = p * (1 - lr * wd) else g = g + wd * p end
    s.m = b1 * s.m + (1 - b1) * g
    s.v = b2 * s.v + (1 - b2) * g * g
    local mhat = s.m / (1 - b1 ^ k)
    local vhat = s.v / (1 - b2 ^ k)
    return p - lr * mhat / (math.sqrt(vhat) + eps)
  end)
end

describe("fm.optim.adam / adamw", function()
  it("adam (with L2 weight decay) matches the formulas", function()
    local ps = params()
    run(optim.adam(ps, {lr = 0.01, betas = {0.8, 0.99}, eps = 1e-6, weight_decay = 0.1}), ps)
    check(ps, adam_hand(0.01, 0.8, 0.99, 1e-6, 0.1, false))
  end)
  it("adamw (decoupled weight decay) matches the formulas", function()
    local ps = params()
    run(optim.adamw(ps, {lr = 0.01, weight_decay = 0.05}), ps)
    check(ps, adam_hand(0.01, 0.9, 0.999, 1e-8, 0.05, true))
  end)
  it("float32 parameters follow the float64 values to float32 precision", function()
    local ps = params("float32")
    run(optim.adam(ps, {lr = 0.01}), ps)
    check(ps, adam_hand(0.01, 0.9, 0.999, 1e-8, 0, false), 1e-5)
  end)
  it("skips parameters without a gradient", function()
    local ps = params()
    local opt = optim.adam(ps, {lr = 0.1})
    ps[1].grad = fm.tensor(G[1][1], "float64")
    opt:step()
    assert.same(P0[2], ps[2]:totable())
    assert.equal(0, opt.steps[2])
  end)

  it("matches PyTorch over 5 steps", function()
    local ok = os.execute("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1")
    if not ok then pending("torch not available") return end
    local ps = params()
    run(optim.adam(ps, {lr = 0.01, betas = {0.8, 0.99}, eps = 1e-6, weight_decay = 0.1}), ps)
    local function lit(t) -- Lua nested table -> Python literal
      if type(t) == "number" then return string.format("%.17g", t) end
      local parts = {}
      for i, v in ipairs(t) do parts[i] = lit(v) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local code = string.format([[
import torch
P0, G = %s, %s
ps = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in P0]
opt = torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
for g in G:
    for p, gi in zip(ps, g): p.grad = torch.tensor(gi, dtype=torch.float64)
    opt.step()
print(' '.join('%%.17g' %% x for p in ps for x in p.detach().tolist()))
]], lit(P0), lit(G))
    local script = os.tmpname()
    local w = assert(io.open(script, "w"))
    w:write(code)
    w:close()
    local f = assert(io.popen("/usr/bin/python3 " .. script .. " 2>&1"))
    local out = f:read("a")
    f:close()
    os.remove(script)
    local want, i = {{}, {}}, 0
    for v in out:gmatch("%S+") do
      i = i + 1
      if i <= 3 then want[1][i] = tonumber(v) else want[2][i - 3] = tonumber(v) end
    end
    assert.equal(5, i, "python output: " .. out)
    check(ps, want)
  end)
end)

describe("clipping, schedules, EMA", function()
  it("clip_grad_norm returns the global norm and scales by max / (norm + 1e-6)", function()
    local a, b = fm.param(fm.zeros({2}, "float64")), fm.param(fm.zeros({1}, "float64"))
    a.grad = fm.tensor({3, 4}, "float64")
    b.grad = fm.tensor({12}, "float64")
    assert.near(13, optim.clip_grad_norm({a, b}, 1), 1e-12)
    local c = 1 / (13 + 1e-6)
    assert.tensor_near({3 * c, 4 * c}, a.grad, 1e-12)
    assert.tensor_near({12 * c}, b.grad, 1e-12)
    assert.near(1, optim.clip_grad_norm({a, b}, 5), 1e-6) -- below max: unchanged
    assert.tensor_near({12 * c}, b.grad, 1e-12)
  end)

  it("schedules give the closed-form learning rates", function()
    local ps = params()
    local opt = optim.sgd(ps, {lr = 0.1})
    local s = optim.scheduler(opt, optim.schedule.linear_warmup{warmup = 4})
    assert.near(0.025, s:step(), 1e-15)
    assert.near(0.05, s:step(), 1e-15)
    s:step(); s:step()
    assert.near(0.1, s:step(), 1e-15)
    assert.near(0.1, opt:get_lr(), 1e-15)
    local cos = optim.schedule.cosine{total = 10, min_lr = 0.01}
    assert.near(0.1, cos(0, 0.1), 1e-15)
    assert.near(0.01 + 0.09 * 0.5 * (1 + math.cos(math.pi * 0.3)), cos(3, 0.1), 1e-15)
    assert.near(0.01, cos(10, 0.1), 1e-15)
    assert.near(0.01, cos(20, 0.1), 1e-15)
    assert.equal(0.3, optim.schedule.constant()(7, 0.3))
  end)

  it("ema averages, copies and swaps", function()
    local p = fm.param(fm.tensor({1.0, 2.0}, "float64"))
    local e = optim.ema({p}, 0.9)
    fm.no_grad(function() p:copy(fm.tensor({3.0, 0.0}, "float64")) end)
    e:update()
    fm.no_grad(function() p:copy(fm.tensor({5.0, 1.0}, "float64")) end)
    e:update()
    local want = {0.9 * (0.9 * 1 + 0.1 * 3) + 0.1 * 5, 0.9 * (0.9 * 2 + 0) + 0.1 * 1}
    assert.tensor_near(want, e.averages[1], 1e-12)
    e:swap()
    assert.tensor_near(want, p, 1e-12)
    e:swap()
    assert.tensor_near({5, 1}, p, 0)
    e:copy_to()
    assert.tensor_near(want, p, 1e-12)
  end)

  it("ema with warm-up forgets the initial weights early", function()
    local p = fm.param(fm.tensor({1.0}, "float64"))
    local e = optim.ema({p}, 0.999, {warmup = true})
    fm.no_grad(function() p:copy(fm.tensor({3.0}, "float64")) end)
    e:update()                                   -- d = min(0.999, 2 / 11)
    assert.tensor_near({2 / 11 * 1 + 9 / 11 * 3}, e.averages[1], 1e-12)
    for _ = 1, 5000 do e:update() end            -- d reaches 0.999
    assert.tensor_near({3}, e.averages[1], 1e-12)
  end)

  it("a module's parameters train: loss decreases with adam", function()
    fm.seed(1)
    local net = fm.nn.mlp{inputs = 2, hidden = {16}, outputs = 1}
    local opt = optim.adam(net, {lr = 1e-2})
    local x = fm.randn(64, 2)
    local y = (x:narrow(2, 1, 1) * 2 - x:narrow(2, 2, 1)):contiguous()
    local first, last
    for k = 1, 200 do
      opt:zero_grad()
      local loss = ((net(x) - y) ^ 2):mean()
      loss:backward()
      opt:step()
      if k == 1 then first = loss:item() end
      last = loss:item()
    end
    assert.is_true(last < 0.05 * first, string.format("%g -> %g", first, last))
  end)
end)
