-- nonfinite_spec.lua — the policy on bad numbers in training
-- (docs/reliability.md, "Bad numbers"): optimisers refuse or skip a NaN/inf
-- gradient without touching the parameters, clip_grad_norm raises on one,
-- fm.train.loop stops at the step with a non-finite or diverged loss (or
-- skips it on request) and keeps the last checkpoint of good parameters.
local fm = require "fm"
local optim = fm.optim
local train = require "fm.train"

local function params() return {fm.param(fm.tensor({1, 2, 3})), fm.param(fm.tensor({4, 5}))} end
local function set_grads(ps, bad)
  ps[1].grad = fm.tensor({0.1, bad and 0 / 0 or 0.2, 0.3})
  ps[2].grad = fm.tensor({0.5, 0.5})
end

describe("optimisers on non-finite gradients", function()
  for _, make in ipairs {
    {"adam", function(ps, o) return optim.adam(ps, o) end},
    {"adamw", function(ps, o) return optim.adamw(ps, o) end},
    {"sgd", function(ps, o) o.lr = 0.1; o.momentum = 0.9; return optim.sgd(ps, o) end},
  } do
    local kind, new = make[1], make[2]
    it(kind .. ": an error naming the step, parameters untouched", function()
      local ps = params()
      local opt = new(ps, {})
      set_grads(ps); assert.is_true(opt:step())
      local before = {ps[1]:totable(), ps[2]:totable()}
      set_grads(ps, true)
      local ok, err = pcall(opt.step, opt)
      assert.is_false(ok)
      assert.truthy(tostring(err):find("fm.optim." .. kind .. ": step 2: non-finite gradient (norm nan)", 1, true), err)
      assert.same(before, {ps[1]:totable(), ps[2]:totable()})
    end)
    it(kind .. ": nonfinite = skip leaves parameters and state alone", function()
      local ps = params()
      local opt = new(ps, {nonfinite = "skip"})
      set_grads(ps, true)
      assert.is_false(opt:step())
      assert.same({{1, 2, 3}, {4, 5}}, {ps[1]:totable(), ps[2]:totable()})
      assert.equal(1, opt.skipped)
      assert.equal(0, opt.nstep)
      set_grads(ps); assert.is_true(opt:step())
      assert.equal(1, opt.nstep)
      for _, p in ipairs(ps) do for _, v in ipairs(p:totable()) do assert.is_true(v == v) end end
    end)
  end
  it("rejects an unknown policy", function()
    assert.has_error(function() optim.adam(params(), {nonfinite = "maybe"}) end)
  end)
  it("inf counts as non-finite", function()
    local ps = params()
    local opt = optim.adam(ps)
    ps[1].grad = fm.tensor({1 / 0, 0, 0}); ps[2].grad = fm.tensor({0, 0})
    assert.has_error(function() opt:step() end,
      "fm.optim.adam: step 1: non-finite gradient (norm inf); the parameters were not updated "
      .. "(nonfinite = \"skip\" skips such steps)")
  end)
end)

describe("clip_grad_norm on non-finite gradients", function()
  it("raises and scales nothing", function()
    local ps = params()
    set_grads(ps, true)
    local ok, err = pcall(optim.clip_grad_norm, ps, 1.0)
    assert.is_false(ok)
    assert.truthy(err:find("clip_grad_norm: non-finite gradient (norm nan); nothing was scaled", 1, true), err)
    assert.same({0.5, 0.5}, ps[2].grad:totable())
  end)
  it("returns the norm with nonfinite = ignore, scaling nothing", function()
    local ps = params()
    set_grads(ps, true)
    local n = optim.clip_grad_norm(ps, 1.0, {nonfinite = "ignore"})
    assert.is_true(n ~= n)
    assert.same({0.5, 0.5}, ps[2].grad:totable())
  end)
  it("still clips finite gradients", function()
    local ps = params()
    set_grads(ps)
    local n = optim.clip_grad_norm(ps, 0.1)
    assert.is_true(math.abs(n - math.sqrt(0.01 + 0.04 + 0.09 + 0.5)) < 1e-6)
  end)
end)

-- a little regression: y = 2x fitted by w; batch `bad` has a NaN in it
local function problem(bad_step)
  fm.seed(3)
  local w = fm.param(fm.zeros({1, 1}))
  local opt = optim.adam({w}, {lr = 0.05})
  local function step(i)
    local x = fm.randn(16, 1)
    if i == bad_step then x = x * (0 / 0) end
    local loss = ((x * w - x * 2) ^ 2):mean()
    opt:zero_grad()
    loss:backward()
    opt:step()
    return loss
  end
  return w, opt, step
end

describe("fm.train.loop and bad numbers", function()
  it("stops at the step with a NaN batch and keeps the last good checkpoint", function()
    local w, _, step = problem(7)
    local saved = {}
    local ok, err = pcall(train.loop, {steps = 20, step = step,
      checkpoint_every = 3, checkpoint = function(i) saved[#saved + 1] = {i, w:item()} end})
    assert.is_false(ok)
    assert.truthy(err:find("^fm%.train: step 7: "), err)
    assert.truthy(err:find("non-finite", 1, true), err)
    assert.truthy(err:find("the last checkpoint, of good parameters, is kept", 1, true), err)
    assert.same({3, 6}, {saved[1][1], saved[2][1]})
    assert.equal(2, #saved)
    assert.is_true(w:item() == w:item())   -- the parameters were not poisoned
  end)
  it("skips bad steps on request and finishes with good parameters", function()
    local w, opt, step = problem(7)
    local _, skipped = train.loop{steps = 60, step = step, nonfinite = "skip"}
    assert.equal(1, skipped)
    assert.equal(0, opt.skipped)    -- the optimiser raised; the loop skipped the step
    assert.is_true(math.abs(w:item() - 2) < 0.5)
  end)
  it("stops after max_skips bad steps in a row", function()
    local ok, err = pcall(train.loop, {steps = 50, nonfinite = "skip", max_skips = 5,
                                       step = function() return 0 / 0 end})
    assert.is_false(ok)
    assert.truthy(err:find("fm.train: step 5: the loss is nan (non-finite) (5 bad steps in a row)", 1, true), err)
  end)
  it("calls a diverging loss an error, unless divergence = false", function()
    local function grow(i) return 10.0 ^ (3 * i) end
    local ok, err = pcall(train.loop, {steps = 10, step = grow})
    assert.is_false(ok)
    assert.truthy(err:find("fm.train: step 5: the loss 1e+15 diverged", 1, true), err)
    assert.has_no_error(function() train.loop{steps = 10, step = grow, divergence = false} end)
    local ok2, err2 = pcall(train.loop, {steps = 10, step = function(i) return i == 4 and 1 / 0 or 1 end,
                                          divergence = false})
    assert.is_false(ok2)
    assert.truthy(err2:find("fm.train: step 4: the loss is inf (non-finite)", 1, true), err2)
  end)
  it("passes other errors through unchanged", function()
    assert.has_error(function() train.loop{steps = 3, step = function() error("mine", 0) end} end, "mine")
  end)
end)

-- a field that is fine until t > 0.3, then NaN
local function late_nan(x, t) if t > 0.3 then return x * (0 / 0) end return x * 0 end

describe("integrators on non-finite states", function()
  for _, m in ipairs {"euler", "midpoint", "heun", "rk4"} do
    it("ode " .. m .. " stops at the step, naming it and its times", function()
      local ok, err = pcall(fm.ode.solve, late_nan, fm.randn(4, 2), {method = m, steps = 10})
      assert.is_false(ok)
      assert.truthy(err:find("ode.solve: step %d+ %(t = 0%.%d+ %-> 0%.%d+%): non%-finite state %(x%[1, 1%] = nan%)"), err)
    end)
  end
  it("ode euler names step 5 (t = 0.4 -> 0.5)", function()
    assert.has_error(function() fm.ode.solve(late_nan, fm.randn(4, 2), {method = "euler", steps = 10}) end)
    local _, err = pcall(fm.ode.solve, late_nan, fm.randn(4, 2), {method = "euler", steps = 10})
    assert.truthy(err:find("step 5 (t = 0.4 -> 0.5)", 1, true), err)
  end)
  it("dopri5 says the field gave NaN", function()
    local _, err = pcall(fm.ode.solve, late_nan, fm.randn(4, 2), {method = "dopri5"})
    assert.truthy(err:find("NaN or inf", 1, true), err)
  end)
  it("a non-finite initial state is refused", function()
    local _, err = pcall(fm.ode.solve, late_nan, fm.tensor{{1, 2}, {0 / 0, 1}}, {steps = 4})
    assert.truthy(err:find("ode.solve: the initial state is not finite (x[2, 1] = nan, t = 0)", 1, true), err)
  end)
  -- Euler-Maruyama meets the NaN at the start of step 5 (t = 0.4), Heun's
  -- corrector at the end of step 4
  for m, want in pairs {euler_maruyama = "step 5 (t = 0.4 -> 0.5)", heun = "step 4 (t = 0.3 -> 0.4)"} do
    it("sde " .. m .. " stops at the step", function()
      local _, err = pcall(fm.sde.solve, late_nan, 0.1, fm.randn(4, 2), {method = m, steps = 10})
      assert.truthy(err:find("sde.solve: " .. want .. ": non-finite state", 1, true), err)
    end)
  end
  it("a fused MLP field with NaN weights names the step too", function()
    local net = fm.nn.mlp{inputs = 3, hidden = {8}, outputs = 2}
    for _, p in ipairs(net:parameters()) do p:detach():fill(0 / 0) end
    local _, err = pcall(fm.ode.solve, fm.field(net), fm.randn(4, 2), {method = "euler", steps = 10})
    assert.truthy(err:find("ode.solve: step 1 (t = 0 -> 0.1): non-finite state", 1, true), err)
  end)
  it("fm.likelihood stops at the step", function()
    local f = function(x, t) if t < 0.75 then return x * (0 / 0) end return x * 0 end
    local _, err = pcall(fm.likelihood, f, fm.randn(4, 2), {steps = 10, method = "euler"})
    assert.truthy(err:find("fm.likelihood: step 4 (t = 0.7 -> 0.6): non-finite state", 1, true), err)
  end)
  it("unadjusted Langevin stops at the step", function()
    local score = function(x) return x * (0 / 0) end
    local _, err = pcall(fm.langevin, score, fm.randn(4, 2), {step = 0.01, steps = 5})
    assert.truthy(err:find("langevin: step 1", 1, true), err)
  end)
end)

describe("custom schedules that are NaN between their check points", function()
  -- fm_schedule_validate looks at t = 0, 0.001, ..., 1: these holes miss it
  local function hole(t) return t > 0.4995 and t < 0.4999 end
  it("alpha NaN: an error naming the schedule and t", function()
    local p = fm.path.gaussian{name = "holey", beta = function(t) return 1 - t end,
                               alpha = function(t) return hole(t) and 0 / 0 or t end}
    local z, eps = fm.randn(3, 2), fm.randn(3, 2)
    local _, err = pcall(p.sample, p, z, fm.tensor({{0.2}, {0.4997}, {0.9}}, "float64"), eps)
    assert.truthy(err:find("schedule holey: alpha is nan at t = 0.4997", 1, true), err)
    assert.has_no_error(function() p:sample(z, fm.tensor{{0.2}, {0.5}, {0.9}}, eps) end)
  end)
  it("a derivative callback NaN inside (0, 1): an error naming it", function()
    local p = fm.path.gaussian{name = "badslope", alpha = function(t) return t end,
      beta = function(t) return 1 - t end, dalpha = function(t) return hole(t) and 0 / 0 or 1 end,
      dbeta = function() return -1 end}
    local x = fm.randn(2, 2)
    local _, err = pcall(p.velocity, p, x, x, 0.4997)
    assert.truthy(err:find("schedule badslope: dalpha is nan at t = 0.4997", 1, true), err)
  end)
  it("an inf in beta between the check points of the numerical derivative", function()
    local p = fm.path.gaussian{name = "spike", alpha = function(t) return t end,
      beta = function(t) return (t > 0.70001 and t < 0.70002) and 1 / 0 or 1 - t end}
    local x = fm.randn(2, 2)
    local _, err = pcall(p.velocity, p, x, x, 0.7000150)
    assert.truthy(err:find("schedule spike: beta is inf at t = 0.700015", 1, true), err)
    -- t itself is fine, t + h (h = 8.7e-6) is in the spike
    _, err = pcall(p.velocity, p, x, x, 0.700006)
    assert.truthy(err:find("schedule spike: dbeta is inf at t = 0.700006: the derivatives must be "
                           .. "finite on (0, 1) (numerical: the schedule is not finite next to t)", 1, true), err)
  end)
end)
