-- fm.cli: option types come from the defaults; every accepted spelling;
-- errors name the option (and list the known ones when it is unknown);
-- --help is generated from the same declaration. fm.progress formatting.
local cli = require "fm.cli"

local spec = {
  steps = {5000, "training steps"}, lr = 1e-3, out = "runs/x", plots = true,
  data = {"gaussians8", "target", choices = {"gaussians8", "moons"}},
  noise_scale = 0.5,
}

local function parse(...) return cli.try_parse({[0] = "exp.lua", ...}, spec) end

describe("fm.cli", function()
  it("returns the defaults with the declared types", function()
    local o = assert(parse())
    assert.same({5000, 1e-3, "runs/x", true, "gaussians8", 0.5},
                {o.steps, o.lr, o.out, o.plots, o.data, o.noise_scale})
    assert.equal("integer", math.type(o.steps))
  end)

  it("accepts --k v, --k=v, flags, --no-flag, dashes for underscores", function()
    local o = assert(parse("--steps", "20", "--lr=0.5", "--no-plots", "--data", "moons",
                           "--noise-scale", "-2", "--out=a=b"))
    assert.same({20, 0.5, false, "moons", -2.0, "a=b"},
                {o.steps, o.lr, o.plots, o.data, o.noise_scale, o.out})
    assert.equal("integer", math.type(o.steps))
    assert.equal("float", math.type(o.noise_scale))  -- a number default stays a float
    o = assert(parse("--no-plots", "--plots"))
    assert.is_true(o.plots)
    o = assert(parse("--plots=false", "--steps=1e3"))
    assert.same({false, 1000}, {o.plots, o.steps})
  end)

  it("rejects unknown options, listing the known ones", function()
    local o, err = parse("--stepz", "3")
    assert.is_nil(o)
    assert.equal("unknown option --stepz; known options: --data --lr --noise-scale --out "
                 .. "--plots --steps", err)
  end)

  it("names bad values, missing values and stray arguments", function()
    assert.same({nil, "--steps needs an integer, got '1.5'"}, {parse("--steps", "1.5")})
    assert.same({nil, "--lr needs a number, got 'fast'"}, {parse("--lr", "fast")})
    assert.same({nil, "--data must be one of gaussians8, moons; got 'spiral'"},
                {parse("--data", "spiral")})
    assert.same({nil, "--out needs a value"}, {parse("--out")})
    assert.same({nil, "--plots is a flag: true or false, got 'maybe'"}, {parse("--plots=maybe")})
    assert.same({nil, "unexpected argument 'x' (options look like --name value)"}, {parse("x")})
    assert.same({nil, "help"}, {parse("--steps", "3", "-h")})
  end)

  it("raises on reading an option that was never declared", function()
    local o = assert(parse())
    assert.has_error(function() return o.setps end, "fm.cli: no option 'setps' (a typo?)")
  end)

  it("generates --help with types, choices, help and defaults", function()
    local h = cli.help(spec, "Trains a flow.", {[0] = "exp.lua"})
    assert.equal([[
usage: fmlua exp.lua [options]

Trains a flow.

options:
  --data STR           target {gaussians8, moons} (default: gaussians8)
  --lr X               (default: 0.001)
  --noise-scale X      (default: 0.5)
  --out STR            (default: runs/x)
  --plots, --no-plots  (default: true)
  --steps N            training steps (default: 5000)
  -h, --help           show this help and exit]], h)
  end)

  it("checks declared ranges (min, max inclusive; above exclusive) and finiteness", function()
    local ranged = {steps = {3000, "training steps", min = 1}, lr = {1e-3, "rate", above = 0},
                    p = {0.5, "probability", min = 0, max = 1}, seed = 1}
    local function rparse(...) return cli.try_parse({[0] = "exp.lua", ...}, ranged) end
    assert.same({nil, "--steps must be >= 1, got -5"}, {rparse("--steps", "-5")})
    assert.same({nil, "--steps must be >= 1, got 0"}, {rparse("--steps=0")})
    assert.same({nil, "--lr must be > 0, got 0"}, {rparse("--lr", "0")})
    assert.same({nil, "--p must be <= 1, got 1.5"}, {rparse("--p", "1.5")})
    assert.same({nil, "--lr needs a finite number, got '1e999'"}, {rparse("--lr", "1e999")})
    assert.same({nil, "--steps needs an integer, got 'nan'"}, {rparse("--steps", "nan")})
    local o = assert(rparse("--steps", "1", "--p", "1", "--lr", "1e-9", "--seed", "-4"))
    assert.same({1, 1.0, 1e-9, -4}, {o.steps, o.p, o.lr, o.seed})
    local h = cli.help(ranged, nil, {[0] = "exp.lua"})
    assert.truthy(h:find("--steps N   training steps [>= 1] (default: 3000)", 1, true), h)
    assert.truthy(h:find("probability [>= 0, <= 1] (default: 0.5)", 1, true), h)
    assert.truthy(h:find("rate [> 0] (default: 0.001)", 1, true), h)
    -- a default outside its own range, or a range on a string, is a mistake in the script
    assert.has_error(function() cli.try_parse({}, {steps = {0, "x", min = 1}}) end)
    assert.has_error(function() cli.try_parse({}, {out = {"a", "x", min = 1}}) end)
  end)

  it("refuses a spec without a usable default", function()
    assert.has_error(function() cli.try_parse({}, {f = {}}) end)
  end)
end)

describe("fm.progress", function()
  local progress = require "fm.progress"
  local function sink()
    local buf = {}
    return {write = function(self, ...) for _, s in ipairs{...} do buf[#buf + 1] = s end return self end,
            flush = function() end, text = function() return table.concat(buf) end}
  end

  it("prints one plain line per tenth of the run (plus the first) in lines mode", function()
    local out = sink()
    local bar = progress.new(100, {label = "train", out = out, mode = "lines"})
    for i = 1, 100 do bar:update(i, {loss = 1}) end
    bar:done()
    local lines = {}
    for l in out.text():gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(11, #lines)
    assert.matches("^train 1/100  %d+ steps/s  loss 1  ETA ", lines[1])
    assert.matches("^train 100/100  %d+ steps/s  loss 1  in %d", lines[11])
  end)

  it("redraws in place with \\r in bar mode, at most every 0.1 s", function()
    local out = sink()
    local bar = progress.new(1000, {label = "t", out = out, mode = "bar", width = 4})
    for i = 1, 1000 do bar:update(i, {}) end
    bar:done()
    local text = out.text()
    local _, draws = text:gsub("\r", "")
    -- first and last always drawn; 1000 updates take far less than 0.1 s each
    assert.is_true(draws >= 2 and draws <= 5, "draws: " .. draws)
    assert.matches("\rt %[####%] 100%%  1000/1000 ", text)
    assert.equal("\n", text:sub(-1))
  end)

  it("formats durations", function()
    assert.same({"5.0s", "2m05s", "1h01m"},
                {progress.duration(5), progress.duration(125), progress.duration(3660)})
  end)
end)

describe("fm.cli.list", function()
  it("splits an option's comma-separated value", function()
    local cli = require "fm.cli"
    assert.same({"meanflow", "tvm", "cfm"}, cli.list("meanflow, tvm,cfm"))
    assert.same({1, 2, 4}, cli.list("1,2,4", "number"))
    assert.same({0.5}, cli.list(0.5, "number"))
    assert.has_error(function() cli.list("1,x", "number") end, "fm.cli.list: 'x' is not a number")
  end)
end)
