-- The README's tour, run as written (with fewer steps), so the front page
-- never shows code that does not work.
local fm = require "fm"

describe("the README tour", function()
  it("runs: tensors, autograd, training, sampling, likelihood", function()
    fm.seed(0)
    local x = fm.randn(1024, 2)
    local a = fm.tensor{{1, 2}, {3, 4}}
    assert.same({1024, 1024, 2}, {x:shape()[1], #x, x:dim()})
    local y = (x:mm(a) + 1):silu() * 2
    assert.same({2}, y:mean(1):shape())
    local w = fm.param(fm.randn(2, 3))
    local loss = (x:mm(w) ^ 2):mean()
    loss:backward()
    assert.same({2, 3}, w.grad:shape())
    local f = function(v) return v:mm(w):tanh() end
    local xg = x:detach():requires_grad_()
    assert.same({1024, 2}, fm.grad(f(xg):sum(), xg):shape())
    local _, jv = fm.jvp(f, x, fm.randn(1024, 2))
    assert.same({1024, 3}, jv:shape())
    assert(fm.gradcheck(function(v) return v:sin() * v end, {fm.randn(4, "float64")}))

    local net = fm.nn.mlp{inputs = 3, hidden = {64, 64}, outputs = 2, act = "silu"}
    local opt = fm.optim.adam(net:parameters(), {lr = 1e-3})
    local path = fm.path.gaussian("linear")
    local target = fm.data.gaussians8()
    for _ = 1, 20 do
      local z = target:sample(256)
      local l = fm.loss.cfm(net, path, z)
      opt:zero_grad(); l:backward(); opt:step()
    end
    local file = os.tmpname()
    fm.save(file, net)
    net:load(file)
    os.remove(file)

    local field = fm.field(net)
    local x1, traj = fm.ode.solve(field, fm.randn(200, 2), {method = "rk4", steps = 10, record = 5})
    assert.same({200, 2}, x1:shape())
    assert.same({5, 200, 2}, traj:shape())
    local exact = path:marginal(target)
    local s = fm.sample.sde(exact, path, fm.randn(200, 2), {sigma = 1, steps = 50})
    assert.same({200, 2}, s:shape())
    local logp = fm.likelihood(exact, target:sample(20), {exact = true, steps = 20})
    assert.same({20}, logp:shape())
    assert.is_number(fm.metrics.w2(x1, target:sample(200)))
  end)

  it("runs: layers and the U-Net", function()
    local conv = fm.nn.Conv2d(1, 16, 3, {padding = 1})
    local h = conv(fm.randn(8, 1, 28, 28))
    assert.same({8, 16, 28, 28}, h:shape())
    local net = fm.nn.unet{channels = 16, classes = 10}
    assert.equal(203505, net:num_parameters())
    local x, t, u = fm.randn(8, 1, 28, 28), fm.rand(8), fm.randn(8, 1, 28, 28)
    local v = net(x, t, fm.randint(1, 10, 8))
    assert.same({8, 1, 28, 28}, v:shape())
    local y, dv = fm.jvp(function(a, b) return net(a, b) end, {x, t}, {u, fm.ones(8)})
    assert.same(y:shape(), dv:shape())
  end)

  it("runs: few-step generation", function()
    local fs = fm.fewstep
    local path = fm.path.gaussian("linear")
    local z = fm.data.gaussians8{}:sample(64)
    local net = fm.nn.mlp{inputs = 4, hidden = {32, 32, 32}, outputs = 2}
    local loss = fs.meanflow_loss(net, path, z)
    loss:backward()
    local tvm = fs.tvm(net, {ema = 0.99})
    local loss2 = tvm:loss(path, z)
    loss2:backward(); tvm:update()
    local x0 = fm.randn(20, 2)
    local x1 = fs.sample(net, x0, {steps = 1})
    assert.same({20, 2}, x1:shape())
    local exact = path:flow_map(fm.data.gaussians8{}):phi(x0, 0, 1)
    assert.same({20, 2}, exact:shape())
  end)
end)
