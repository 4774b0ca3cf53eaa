-- pretty_spec.lua — fm.pretty (the REPL's echo of plain tables) and the
-- __tostring texts of fm objects.
local fm = require "fm"
local pretty = fm.pretty

describe("fm.pretty.format", function()
  it("writes a plain table as a constructor: array part, then sorted keys", function()
    assert.are.equal('{1, 2, "x", [10] = 3, a = true, b = 2.5, ["not ident"] = 0}',
      pretty.format({1, 2, "x", b = 2.5, a = true, ["not ident"] = 0, [10] = 3}))
    assert.are.equal("{}", pretty.format({}))
  end)

  it("limits the depth and counts what it leaves out", function()
    assert.are.equal("{a = {b = {c = {...2}}}}", pretty.format({a = {b = {c = {d = 1, e = 2}}}}))
  end)

  it("survives cycles", function()
    local t = {name = "t"}
    t.self = t
    t.list = {t}
    assert.are.equal('{list = {<cycle>}, name = "t", self = <cycle>}', pretty.format(t))
  end)

  it("shows at most fm.pretty.items entries", function()
    local t = {}
    for i = 1, 40 do t[i] = i end
    local text = pretty.format(t)
    assert.truthy(text:find("^{\n  1,\n  2,\n"))
    assert.truthy(text:find("\n  30,\n  %.%.%. %(10 more%)\n}$"))
  end)

  it("breaks long tables into lines, nested ones indented", function()
    local t = {alpha = string.rep("a", 40), beta = {gamma = string.rep("g", 70), delta = 1}}
    assert.are.equal('{\n  alpha = "' .. string.rep("a", 40) .. '",\n  beta = {\n    delta = 1,\n'
      .. '    gamma = "' .. string.rep("g", 70) .. '"\n  }\n}', pretty.format(t))
  end)

  it("uses tostring for values with their own text", function()
    local x = fm.tensor{1, 2}
    assert.are.equal(tostring(x), pretty.format(x))
    assert.are.equal("{p = fm.Path(linear)}", pretty.format({p = fm.path.gaussian("linear")}))
    assert.are.equal("abc", pretty.format("abc"))
  end)

  it("echo prints as print does, tables through format", function()
    local out = {}
    local write = io.write
    io.write = function(...) for _, s in ipairs{...} do out[#out + 1] = s end end
    local ok, err = pcall(pretty.echo, "s", 1, nil, {k = {1}})
    io.write = write
    assert.is_true(ok, err)
    assert.are.equal("s\t1\tnil\t{k = {1}}\n", table.concat(out))
  end)
end)

describe("fm objects print their settings", function()
  it("mixtures with their components", function()
    local g = fm.data.gmm{means = {{0, 0}, {3, 3}}, stds = 0.5, weights = {1, 3}}
    assert.are.equal("fm.GMM(2 components in 2-d; w = 0.25, mean = (0, 0), std = (0.5, 0.5); "
      .. "w = 0.75, mean = (3, 3), std = (0.5, 0.5))", tostring(g))
    local big = fm.data.gaussians8{count = 5, std = 0.1}
    assert.truthy(tostring(big):find("^fm%.GMM%(5 components in 2%-d; w = 0%.2, mean = %(5, 0%), std = %(0%.1, 0%.1%);"))
    assert.truthy(tostring(big):find("; %.%.%.%)$"))
    local full = fm.data.gmm{means = {{1, 2, 3, 4}}, covs = {{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}}}
    assert.are.equal("fm.GMM(1 component in 4-d; w = 1, mean = (1, 2, 3, ...), full covariance)", tostring(full))
  end)

  it("data sets with their parameters", function()
    assert.are.equal("fm.Dataset(moons, noise = 0.05, scale = 3, shift = -1)",
      tostring(fm.data.moons{noise = 0.05}))
    assert.are.equal("fm.Dataset(circles, noise = 0.08, factor = 0.3, scale = 3, shift = 0)",
      tostring(fm.data.circles{factor = 0.3}))
    assert.truthy(tostring(fm.data.pinwheel()):find("^fm%.Dataset%(pinwheel, noise = [%d.]+, count = 5, rate = "))
  end)

  it("marginals with their path and mixture", function()
    local g = fm.data.gmm{means = {{1}}, stds = 2}
    assert.are.equal("fm.Marginal(path = fm.Path(cosine), data = fm.GMM(1 component in 1-d; "
      .. "w = 1, mean = (1), std = (2)))", tostring(fm.path.gaussian("cosine"):marginal(g)))
  end)

  it("optimisers, EMA and schedulers with their settings", function()
    local w = fm.param(fm.zeros(3, 4))
    local b = fm.param(fm.zeros(4))
    assert.are.equal('fm.optim.adam(lr = 0.01, betas = {0.9, 0.99}, eps = 1e-08, weight_decay = 0, '
      .. 'nonfinite = "error"; 2 tensors (16 numbers), step 0)',
      tostring(fm.optim.adam({w, b}, {lr = 0.01, betas = {0.9, 0.99}})))
    assert.truthy(tostring(fm.optim.adamw({w})):find("^fm%.optim%.adamw%(lr = 0%.001, .*weight_decay = 0%.01,"))
    local sgd = fm.optim.sgd({w}, {lr = 0.5, momentum = 0.9})
    assert.are.equal('fm.optim.sgd(lr = 0.5, momentum = 0.9, dampening = 0, nesterov = false, '
      .. 'weight_decay = 0, nonfinite = "error"; 1 tensor (12 numbers), step 0)', tostring(sgd))
    assert.are.equal("fm.optim.ema(decay = 0.99, warmup = true; 2 tensors (16 numbers), 0 updates)",
      tostring(fm.optim.ema({w, b}, 0.99, {warmup = true})))
    local s = fm.optim.scheduler(sgd, fm.optim.schedule.constant())
    s:step()
    assert.are.equal("fm.optim.scheduler(base_lr = 0.5, lr = 0.5; step 1)", tostring(s))
  end)

  it("fields with their network", function()
    local net = fm.nn.mlp{inputs = 3, hidden = {8}, outputs = 2}
    assert.are.equal("fm.field(net = MLP)", tostring(fm.field(net)))
    assert.truthy(tostring(fm.field.resolve(fm.field(net))):find(
      '^fm%.field%.mlp%(sizes = {3, 8, 2}, act = "silu", dtype = "float32"%)$'))
  end)

  it("runs with their directory and settings", function()
    local dir = os.tmpname()
    os.remove(dir)
    local run = fm.run.new(dir, {lr = 0.1, steps = 5})
    local text = tostring(run)
    run:close()
    os.execute("rm -rf '" .. dir .. "'")
    assert.are.equal(('fm.run(dir = "%s", settings = {lr = 0.1, steps = 5}; 0 steps logged)'):format(dir), text)
  end)
end)
