-- fewstep_spec.lua — fm.fewstep (scripts/fm/fewstep/): MeanFlow and TVM
-- losses against the same losses written by hand with the JVP taken by
-- central differences, their parameter gradients (reverse over forward
-- through the fused MLP: engine/nn/mlp_tangent.c) against central
-- differences of the loss, the samplers against the exact flow map, and
-- tiny training runs whose one-step map gets closer to the exact one.
-- float64 throughout the exact checks: a central difference with e = 1e-6
-- errs by O(e^2 f''') + O(1e-16 / e) ~ 1e-10, hence tolerances of 1e-7
-- relative to the size of the compared values.
local fm = require "fm"
local fs = fm.fewstep

local path = fm.path.gaussian("linear")

local function rel(a, b)
  return (a - b):abs():max():item() / math.max(1e-3, b:abs():max():item())
end

local function tiny_net(act, hidden)
  return fm.nn.mlp{inputs = 4, hidden = hidden or {8, 8}, outputs = 2, act = act or "silu",
                   dtype = "float64"}
end

-- a fixed batch: data z, noise eps, times s <= t
local function batch(n)
  fm.seed(21)
  local z = fm.data.gaussians8{}:sample(n):double()
  local eps = fm.randn(n, 2, "float64")
  local s = fm.rand(n, 1, "float64") * 0.6
  local t = s + fm.rand(n, 1, "float64") * (1 - s)
  return z, eps, s, t
end

local function F(net, x, s, t) return net(fm.cat({x, s, t}, 2)) end

local function rowsum_sq(e) return (e * e):sum(2) end

describe("fm.fewstep.meanflow_loss", function()
  it("equals the loss written by hand (JVP along (v, 1, 0) by differences)", function()
    local net = tiny_net()
    local z, eps, s, t = batch(16)
    local x, v = s * z + (1 - s) * eps, z - eps
    local e = 1e-6
    local fd = fm.no_grad(function()
      return (F(net, x + v * e, s + e, t) - F(net, x - v * e, s - e, t)) / (2 * e)
    end)
    local target = v + (t - s) * fd
    local pred = F(net, x, s, t):detach()
    local sq = rowsum_sq(pred - target)
    local plain = fs.meanflow_loss(net, path, z, {eps = eps, s = s, t = t, adaptive = false})
    assert(rel(plain:detach(), sq:mean()) < 1e-7)
    local w = (sq + 1e-2) ^ -0.5
    local ad = fs.meanflow_loss(net, path, z, {eps = eps, s = s, t = t,
                                               adaptive = {p = 0.5, c = 1e-2}})
    assert(rel(ad:detach(), (w * sq):mean()) < 1e-7)
  end)

  it("has the gradient of the loss with the target held fixed", function()
    local net = tiny_net("tanh")
    local z, eps, s, t = batch(8)
    local loss, ex = fs.meanflow_loss(net, path, z, {eps = eps, s = s, t = t, adaptive = false})
    local W = net:parameters()[3]
    local g = fm.grad(loss, {W})[1]
    local function L()
      return fm.no_grad(function() return rowsum_sq(F(net, ex.x, s, t) - ex.target):mean():item() end)
    end
    local e, worst = 1e-6, 0
    fm.no_grad(function()
      for k = 1, 6 do
        local i, j = k, (k * 3) % 8 + 1
        local w0 = W[i][j]
        W[i][j] = w0 + e; local up = L()
        W[i][j] = w0 - e; local dn = L()
        W[i][j] = w0
        worst = math.max(worst, math.abs((up - dn) / (2 * e) - g[i][j]))
      end
    end)
    assert(worst < 1e-7 * math.max(1, g:abs():max():item()), "gradient error " .. worst)
  end)
end)

describe("fm.fewstep.tvm", function()
  it("equals the loss written by hand (JVP in t by differences)", function()
    local net = tiny_net("gelu")
    local z, eps, s, t = batch(16)
    local tvm = fs.tvm(net, {ema = 0})
    local loss, ex = tvm:loss(path, z, {eps = eps, s = s, t = t})
    local e = 1e-6
    local byhand = fm.no_grad(function()
      local x = s * z + (1 - s) * eps
      local f0 = F(net, x, s, t)
      local dF = (F(net, x, s, t + e) - F(net, x, s, t - e)) / (2 * e)
      local landing = x + (t - s) * f0
      local terminal = rowsum_sq(f0 + (t - s) * dF - F(net, landing, t, t)):mean()
      local xt = t * z + (1 - t) * eps
      local fmterm = rowsum_sq(F(net, xt, t, t) - (z - eps)):mean()
      return terminal + fmterm
    end)
    assert(rel(loss:detach(), byhand) < 1e-7)
    assert(math.abs(ex.terminal + ex.fm - byhand:item()) < 1e-6 * byhand:item())
  end)

  -- the loss as a function of the weights with the target held at its value
  local function fixed_target_loss(net, ex, z, eps, s, t, dF0)
    local x = s * z + (1 - s) * eps
    local f0, dF = fm.jvp(function(a, b, c) return F(net, a, b, c) end, {x, s, t},
                          {nil, nil, fm.ones_like(t)})
    if dF0 then dF = dF0 end
    local xt = t * z + (1 - t) * eps
    return (rowsum_sq(f0 + (t - s) * dF - ex.target):mean()
            + rowsum_sq(F(net, xt, t, t) - (z - eps)):mean()):item(), dF
  end

  for _, detach in ipairs{false, true} do
    it("has the gradient of the loss through the JVP (detach_jvp = " .. tostring(detach) .. ")",
       function()
      for _, hidden in ipairs{{}, {8}, {8, 8, 8}} do
        local net = tiny_net("silu", hidden)
        local z, eps, s, t = batch(8)
        local tvm = fs.tvm(net, {ema = 0.5, detach_jvp = detach})
        local loss, ex = tvm:loss(path, z, {eps = eps, s = s, t = t})
        local W = net:parameters()[1]
        local g = fm.grad(loss, {W})[1]
        local _, dF0 = fixed_target_loss(net, ex, z, eps, s, t)
        local e, worst = 1e-6, 0
        fm.no_grad(function()
          for i = 1, 4 do
            for j = 1, W:size(2) do
              local w0 = W[i][j]
              W[i][j] = w0 + e
              local up = fixed_target_loss(net, ex, z, eps, s, t, detach and dF0 or nil)
              W[i][j] = w0 - e
              local dn = fixed_target_loss(net, ex, z, eps, s, t, detach and dF0 or nil)
              W[i][j] = w0
              worst = math.max(worst, math.abs((up - dn) / (2 * e) - g[i][j]))
            end
          end
        end)
        assert(worst < 1e-7 * math.max(1, g:abs():max():item()),
               "hidden " .. #hidden .. ": gradient error " .. worst)
      end
    end)
  end

  it("differentiates the tangent of the fused MLP as its layers do, for every activation", function()
    for _, act in ipairs{"silu", "tanh", "gelu", "sigmoid", "relu"} do
      local net = tiny_net(act, {8, 8, 8})
      local z, eps, s, t = batch(6)
      local x = (s * z + (1 - s) * eps)
      x.requires_grad = true
      local wts = fm.randn(6, 2, "float64")
      local function lossf()
        local f0, dF = fm.jvp(function(a, b, c) return F(net, a, b, c) end, {x, s, t},
                              {nil, nil, fm.ones_like(t)}, {create_graph = true})
        return ((f0 + dF * 0.7) * wts):sum() + (dF * dF):sum()
      end
      local ps = net:parameters()
      local g1 = fm.grad(lossf(), {x, table.unpack(ps)})
      local fused = net:fused()
      rawset(net, "_fused", nil)                -- the Sequential of Linear layers
      local g2 = fm.grad(lossf(), {x, table.unpack(ps)})
      rawset(net, "_fused", fused)
      for i = 1, #g1 do assert(rel(g1[i], g2[i]) < 1e-12, act .. ": entry " .. i) end
    end
  end)

  it("moves its target copy by the EMA after each update", function()
    local net = tiny_net()
    local tvm = fs.tvm(net, {ema = 0.75})
    local z, _, s, t = batch(8)
    local x = s * z
    local before = tvm:target_velocity(x, t)
    assert.tensor_near(F(net, x, t, t), before, 1e-12)
    local old = {}
    for i, p in ipairs(net:parameters()) do old[i] = p:detach():clone() end
    fm.no_grad(function() for _, p in ipairs(net:parameters()) do p:add_(0.1) end end)
    tvm:update()
    local twin = tiny_net()
    fm.no_grad(function()
      for i, p in ipairs(twin:parameters()) do p:copy(old[i] * 0.75 + (old[i] + 0.1) * 0.25) end
    end)
    assert.tensor_near(F(twin, x, t, t), tvm:target_velocity(x, t), 1e-12)
    assert.tensor_near(F(net, x, t, t):detach(), net(fm.cat({x, t, t}, 2)):detach(), 0)
  end)
end)

describe("fm.fewstep with fm.nn.unet{times = 2}", function()
  local function unet()
    fm.seed(13)
    return fm.nn.unet{channels = 8, mults = {1, 2}, attention = {false, true}, classes = 3,
                      times = 2, dtype = "float64"}
  end
  local function images(n)
    fm.seed(14)
    return fm.randn(n, 1, 8, 8, "float64"), fm.randn(n, 1, 8, 8, "float64"),
           fm.tensor({0.1, 0.3, 0.5}, "float64"):reshape(3, 1),
           fm.tensor({0.1, 0.8, 0.9}, "float64"):reshape(3, 1), fm.tensor({1, 2, 3}, "int64")
  end
  it("MeanFlow equals the loss by hand on images", function()
    local net = unet()
    local z, eps, s, t, y = images(3)
    local loss = fs.meanflow_loss(net, path, z, {eps = eps, s = s, t = t, labels = y})
    local r = function(v) return v:reshape(3, 1, 1, 1) end
    local x, v = r(s) * z + (1 - r(s)) * eps, z - eps
    -- the time embedding reaches frequency 1000, so the third derivative is
    -- about 1e6 times an MLP's: e = 1e-7 (measured: relative error 2.4e-5 at
    -- e = 1e-5, 2.4e-7 at 1e-6, under 3e-8 at 1e-7, the e^2 law)
    local e = 1e-7
    local byhand = fm.no_grad(function()
      local fd = (net(x + v * e, (s + e):reshape(3), t:reshape(3), y)
                  - net(x - v * e, (s - e):reshape(3), t:reshape(3), y)) / (2 * e)
      local target = v + r(t - s) * fd
      return ((net(x, s:reshape(3), t:reshape(3), y) - target) ^ 2):reshape(3, -1):sum(2):mean()
    end)
    assert(rel(loss:detach(), byhand) < 3e-8, ("%.12g vs %.12g"):format(loss:item(), byhand:item()))
  end)
  it("TVM's gradient through the JVP matches differences of the loss", function()
    local net = unet()
    local z, eps, s, t, y = images(3)
    local tvm = fs.tvm(net, {ema = 0.5})
    local loss, ex = tvm:loss(path, z, {eps = eps, s = s, t = t, labels = y})
    local W = net.stem.weight
    local g = fm.grad(loss, {W})[1]
    local r = function(v) return v:reshape(3, 1, 1, 1) end
    local function L()
      local x = r(s) * z + (1 - r(s)) * eps
      local f0, dF = fm.jvp(function(a, b, c) return net(a, b:reshape(3), c:reshape(3), y) end,
                            {x, s, t}, {nil, nil, fm.ones_like(t)})
      local xt = r(t) * z + (1 - r(t)) * eps
      local a = ((f0 + r(t - s) * dF - ex.target) ^ 2):reshape(3, -1):sum(2):mean()
      local b = ((net(xt, t:reshape(3), t:reshape(3), y) - (z - eps)) ^ 2):reshape(3, -1):sum(2):mean()
      return (a + b):item()
    end
    local e, worst = 1e-6, 0
    local flat = W:reshape(-1)
    fm.no_grad(function()
      for k = 1, 8 do
        local i = 1 + (k * 7) % flat:numel()
        local w0 = flat[i]
        flat[i] = w0 + e; local up = L()
        flat[i] = w0 - e; local dn = L()
        flat[i] = w0
        worst = math.max(worst, math.abs((up - dn) / (2 * e) - g:reshape(-1)[i]))
      end
    end)
    assert(worst < 1e-6 * math.max(1, g:abs():max():item()), "gradient error " .. worst)
    local x1 = fs.sample(net, eps, {steps = 2, labels = y})
    assert.same({3, 1, 8, 8}, x1:shape())
  end)
end)

describe("fm.fewstep.sample", function()
  it("with the exact average velocity reproduces the exact flow map at any k", function()
    local g = fm.data.gmm{means = {{-2, 0}, {2, 1}}, stds = 0.4}
    local fmap = path:flow_map(g)
    local exact = function(x, s, t) return fmap:average(x, s, t) end
    fm.seed(4)
    local x0 = fm.randn(50, 2, "float64")
    local x1 = fmap:phi(x0, 0, 1)
    for _, k in ipairs{1, 2, 4} do
      assert.tensor_near(x1, (fs.sample(exact, x0, {steps = k})), 1e-8)
    end
    local y, frames = fs.sample(exact, x0, {times = {0, 0.2, 0.7, 1}})
    assert.equal(4, #frames)
    assert.tensor_near(fmap:phi(x0, 0, 0.7), frames[3], 1e-8)
    assert.tensor_near(x1, y, 1e-8)
  end)

  it("checks its grid", function()
    local f = function(x) return x end
    local x0 = fm.randn(3, 2)
    assert.has_error(function() fs.sample(f, x0, {times = {0, 0.5, 0.4}}) end,
      "fm.fewstep.sample: times must not decrease (times[3])")
    assert.has_error(function() fs.sample(f, x0, {steps = 0}) end,
      "fm.fewstep.grid: steps must be a positive integer, got 0")
    assert.has_error(function() fs.sample(f, "x") end, "fm.fewstep.sample: x0 must be a tensor")
  end)
end)

describe("fm.fewstep.sample_times", function()
  it("draws ordered pairs with the asked share of s = t", function()
    fm.seed(9)
    local n = 10000
    local s, t = fs.sample_times(n, {equal = 0.25})
    assert((t - s):min():item() >= 0)
    local same = (t - s):abs():lt(1e-12):to("float32"):mean():item()
    assert(math.abs(same - 0.25) < 0.02, "share " .. same)         -- sd 0.0043
    local s0, t0 = fs.sample_times(n, {equal = 0})
    assert(math.abs(t0:mean():item() - 2 / 3) < 0.01)               -- sd 0.0024
    assert(math.abs(s0:mean():item() - 1 / 3) < 0.01)
    local _, tl = fs.sample_times(n, {equal = 0, time = {logit_normal = {mean = 3, std = 0.1}}})
    assert(tl:min():item() > 0.9)
    assert.has_error(function() fs.sample_times(4, {equal = 2}) end,
      "fm.fewstep: equal must be a share in [0, 1], got 2")
  end)
end)

describe("few-step training", function()
  -- one-step map error against the exact flow map on a two-component GMM:
  -- 300 steps take it from about 1.45 to 0.35-0.52 (seeds 1-6, both losses)
  local g = fm.data.gmm{means = {{-2, 0}, {2, 1}}, stds = 0.4}
  local fmap = path:flow_map(g)
  local function map_error(net, x0, exact)
    local x1 = fs.sample(net, x0, {steps = 1})
    return (x1 - exact):pow(2):sum(2):sqrt():mean():item()
  end
  for _, method in ipairs{"meanflow", "tvm"} do
    it(method .. " brings the one-step map closer to the exact one", function()
      fm.seed(7)
      local net = fm.nn.mlp{inputs = 4, hidden = {64, 64}, outputs = 2}
      local opt = fm.optim.adam(net:parameters(), {lr = 3e-3})
      local tvm = method == "tvm" and fs.tvm(net, {ema = 0.9})
      local x0 = fm.randn(500, 2)
      local exact = fmap:phi(x0, 0, 1)
      local before = map_error(net, x0, exact)
      for _ = 1, 300 do
        local z = g:sample(256)
        local loss
        if tvm then loss = tvm:loss(path, z) else loss = fs.meanflow_loss(net, path, z) end
        opt:zero_grad(); loss:backward(); opt:step()
        if tvm then tvm:update() end
      end
      local after = map_error(net, x0, exact)
      assert(after < 0.5 * before, ("%s: %.3f -> %.3f"):format(method, before, after))
    end)
  end
end)

describe("fm.fewstep arguments", function()
  it("names what is wrong", function()
    local net = tiny_net()
    local z = fm.randn(4, 2, "float64")
    local ok, msg = pcall(fs.meanflow_loss, net, path, "z")
    assert.is_false(ok)
    assert.truthy(msg:find([[fm.fewstep.meanflow_loss: bad argument #3 'z' (a tensor expected, got string "z")]], 1, true), msg)
    assert.has_error(function() fs.meanflow_loss(net, path, z, {s = 0.6, t = 0.5}) end,
      "fm.fewstep: s <= t is required")
    assert.has_error(function() fs.meanflow_loss(net, path, z, {eps = fm.randn(3, 2, "float64")}) end,
      "fm.fewstep: eps must have the shape of the data batch z")
    assert.has_error(function() fs.tvm(net, {ema = 1}) end,
      "fm.fewstep.tvm: ema must be a decay in [0, 1), got 1")
    local unet = fm.nn.unet{channels = 8, mults = {1}, attention = {false}, classes = 0}
    assert.has_error(function() fs.call(unet, fm.randn(1, 1, 8, 8), fm.zeros(1, 1), fm.ones(1, 1)) end)
  end)
end)
