-- args_spec.lua — call shapes that do not trap (scripts/fm/args.lua): the
-- shared checker itself, the losses taking a data set's (points, labels)
-- pair, and, for a representative set of public functions with an options
-- table, a wrong positional argument is an error naming the argument and
-- the type it got.
local fm = require "fm"
local args = require "fm.args"

local err, has = table.unpack((require "tests.lua.expect_error"))

describe("fm.args", function()
  it("describes values by type, tensors by dtype and shape", function()
    assert.equal("int64 tensor (256,)", args.describe(fm.zeros(256, "int64")))
    assert.equal("float32 tensor (2, 3)", args.describe(fm.zeros(2, 3)))
    assert.equal("float64 tensor ()", args.describe(fm.tensor(1, "float64")))
    assert.equal("function", args.describe(print))
    assert.equal("number 5", args.describe(5))
    assert.equal('string "x"', args.describe("x"))
    assert.equal("nil", args.describe(nil))
  end)

  it("checks kinds, alternatives and optional values", function()
    assert.equal(3, args.check("f", 1, "n", 3, "integer"))
    assert.is_nil(args.check("f", 1, "n", nil, "integer?"))
    local call = setmetatable({}, {__call = function() end})
    assert.equal(call, args.check("f", 1, "g", call, "callable"))
    has(err(args.check, "f", 2, "n", 2.5, "integer"),
      "f: bad argument #2 'n' (an integer expected, got number 2.5)")
    has(err(args.check, "f", 1, "x", {}, "tensor|number?"),
      "f: bad argument #1 'x' (a tensor or a number or nil expected, got table)")
    has(err(args.check, "f", 1, "x", 1, "bogus"), "unknown kind 'bogus'")
  end)

  it("reads options tables, optionally against known keys", function()
    assert.same({}, args.opts("f", 2, nil))
    local o = {a = 1}
    assert.equal(o, args.opts("f", 2, o, {a = true}))
    has(err(args.opts, "f", 2, fm.zeros(3, "int64")),
      "f: bad argument #2 'opts' (an options table expected, got int64 tensor (3,))")
    has(err(args.opts, "f", 2, {b = 1}, {a = true, c = true}), "unknown option 'b' (known: a, c)")
  end)
end)

describe("losses take a data set's (points, labels) pair", function()
  local path = fm.path.gaussian("linear")
  local g = fm.data.gmm{means = {{-2, 0}, {2, 0}}, std = 0.5}
  local net = fm.nn.mlp{inputs = 3, hidden = {8}, outputs = 2}

  it("fm.loss.cfm(net, path, data:sample(n)) trains as without the labels", function()
    fm.seed(7)
    local z, y = g:sample(64)
    fm.seed(8)
    local l1, ex = fm.loss.cfm(net, path, z, y)
    fm.seed(8)
    local l0 = fm.loss.cfm(net, path, z)
    assert.equal(l0:item(), l1:item())          -- same draws: the labels change nothing
    assert.equal(y, ex.labels)
    assert.equal("float32", fm.loss.cfm(net, path, g:sample(64)):dtype())
    assert.equal("float32", fm.loss.dsm(net, path, g:sample(64)):dtype())
    assert.equal("float32", fm.loss.noise(net, path, g:sample(64)):dtype())
  end)

  it("the labels reach the model and the field, positionally or as opts.labels", function()
    local z, y = g:sample(16)
    local seen
    local model = function(input, labels) seen = labels; return input:narrow(2, 1, 2) end
    fm.loss.cfm(model, path, z, y, {t = 0.5})
    assert.equal(y, seen)
    seen = nil
    fm.loss.noise(model, path, z, {labels = y})
    assert.equal(y, seen)
    seen = nil
    fm.loss.dsm(nil, path, z, y, {field = function(x, _, labels) seen = labels; return x end})
    assert.equal(y, seen)
    has(err(fm.loss.cfm, model, path, z, y, {labels = y}), "fm.loss.cfm", "labels given twice")
    has(err(fm.loss.cfm, model, path, z, y:narrow(1, 1, 3)),
      "fm.loss.cfm: 3 labels for 16 points (int64 tensor (3,))")
  end)

  it("so do the few-step losses", function()
    local fs = fm.fewstep
    local tnet = fm.nn.mlp{inputs = 4, hidden = {8}, outputs = 2, dtype = "float64"}
    local z, y = g:sample(8, "float64")
    local seen
    -- a function net is called as net(x, s, t, labels)
    local cond = function(xx, s, t, labels) seen = labels; return tnet(fm.cat({xx, s, t}, 2)) end
    fs.meanflow_loss(cond, path, z, y)
    assert.equal(y, seen)
    has(err(fs.meanflow_loss, cond, path, z, print),
      "fm.fewstep.meanflow_loss: bad argument #4 'opts' (an options table expected, got function)")
  end)
end)

describe("a wrong positional argument names the argument and what it got", function()
  local path = fm.path.gaussian("linear")
  local net = fm.nn.mlp{inputs = 3, hidden = {8}, outputs = 2}
  local x = fm.randn(4, 2)
  local f = function(y) return y end
  local cases = {
    {"fm.loss.cfm", function() return fm.loss.cfm(net, path, x, print) end,
      "bad argument #4 'opts' (an options table expected, got function)"},
    {"fm.loss.cfm", function() return fm.loss.cfm(net, "linear", x) end,
      "bad argument #2 'path'", 'got string "linear"'},
    {"fm.loss.dsm", function() return fm.loss.dsm(net, path, {1, 2}) end,
      "bad argument #3 'z' (an (n, d) tensor expected, got table)"},
    {"fm.loss.noise", function() return fm.loss.noise(7, path, x) end,
      "bad argument #1 'model'", "got number 7"},
    {"fm.ode.solve", function() return fm.ode.solve(f, x, 10) end,
      "bad argument #3 'opts' (an options table expected, got number 10)"},
    {"fm.ode.solve", function() return fm.ode.solve(f, "x") end,
      "bad argument #2 'x0'", 'got string "x"'},
    {"fm.sample.ode", function() return fm.sample.ode(f, x, "euler") end,
      "bad argument #3 'opts'", 'got string "euler"'},
    {"fm.sample.sde", function() return fm.sample.sde(f, path, x, x) end,
      "bad argument #4 'opts'", "got float32 tensor (4, 2)"},
    {"fm.sde.solve", function() return fm.sde.solve(f, "big", x) end,
      "bad argument #2 'diffusion'", 'got string "big"'},
    {"fm.sde.brownian", function() return fm.sde.brownian(4, 2.5) end,
      "bad argument #2 'd' (an integer expected, got number 2.5)"},
    {"fm.langevin", function() return fm.langevin(f, x, 0.1) end,
      "bad argument #3 'opts'", "got number 0.1"},
    {"fm.field", function() return fm.field(net, true) end,
      "bad argument #2 'opts'", "got boolean true"},
    {"fm.likelihood", function() return fm.likelihood(f, x, "rk4") end,
      "bad argument #3 'opts'", 'got string "rk4"'},
    {"fm.guided", function() return fm.guided(net, "strong") end,
      "bad argument #2 'w' (a number expected, got string \"strong\")"},
    {"fm.coupling.bridge", function() return fm.coupling.bridge("sb") end,
      "bad argument #1 'sigma'", 'got string "sb"'},
    {"fm.data.batches", function() return fm.data.batches(x, 128) end,
      "bad argument #2 'opts'", "got number 128"},
    {"fm.data.from_npy", function() return fm.data.from_npy(x) end,
      "bad argument #1 'path' (a string expected, got float32 tensor (4, 2))"},
    {"fm.optim.adam", function() return fm.optim.adam(net, 1e-3) end,
      "bad argument #2 'opts'", "got number 0.001"},
    {"fm.optim.ema", function() return fm.optim.ema(net, "slow") end,
      "bad argument #2 'decay'", 'got string "slow"'},
    {"fm.train.loop", function() return fm.train.loop(100) end,
      "bad argument #1 'o' (an options table expected, got number 100)"},
    {"fm.run.new", function() return fm.run.new(42) end,
      "bad argument #1 'dir' (a string expected, got number 42)"},
    {"fm.grad", function() return fm.grad(x, x, 1) end,
      "bad argument #3 'opts'", "got number 1"},
    {"fm.jvp", function() return fm.jvp(x, {x}) end,
      "bad argument #1 'fn'", "got float32 tensor (4, 2)"},
    {"fm.fewstep.sample", function() return fm.fewstep.sample(net, x, 4) end,
      "bad argument #3 'opts'", "got number 4"},
    {"fm.nn.Linear", function() return fm.nn.Linear(3, 2, "float64") end,
      "bad argument #3 'opts'", 'got string "float64"'},
    {"fm.nn.mlp", function() return fm.nn.mlp(3) end,
      "bad argument #1 'opts' (an options table expected, got number 3)"},
    {"fm.optim.schedule.cosine", function() return fm.optim.schedule.cosine(1000) end,
      "bad argument #1 'o'", "got number 1000"},
    {"fm.optim.scheduler", function() return fm.optim.scheduler(fm.optim.adam(net), 0.1) end,
      "bad argument #2 'schedule'", "got number 0.1"},
    {"fm.nn.save", function() return fm.nn.save("m.safetensors", net, "fp16") end,
      "bad argument #3 'opts'", 'got string "fp16"'},
  }
  for _, c in ipairs(cases) do
    it(c[1] .. ": " .. c[3], function()
      local msg = err(c[2])
      has(msg, c[1] .. ": ", table.unpack(c, 3))
    end)
  end
end)
