-- fm.sweep: sweep files, run expansion, JSON, statistics, and a real local
-- sweep of tiny fake experiments (succeeds / error() / os.exit(3) / hangs)
-- run as separate processes: statuses, log tails, timeout, resume, tables.
local src = os.getenv("FM_SOURCE_DIR") or "."
package.path = src .. "/scripts/?.lua;" .. package.path
local sweep = require "fm.sweep"
local spec = require "fm.sweep.spec"
local json = require "fm.sweep.json"
local report = require "fm.sweep.report"
local state = require "fm.sweep.state"

-- the interpreter that runs the fake experiments: the fmlua under test
local build = os.getenv("FM_BUILD_DIR")
local interp = build and io.open(build .. "/fmlua") and (build .. "/fmlua") or "lua5.4"

local function tmpdir()
  local p = os.tmpname(); os.remove(p)
  assert(os.execute("mkdir -p " .. p))
  return p
end

local function write(path, text)
  local f = assert(io.open(path, "w")); f:write(text); f:close()
end

local function read_csv(path)    -- no quoted fields in these tables
  local rows = {}
  for line in assert(io.open(path)):lines() do
    local row = {}
    for field in (line .. ","):gmatch("([^,]*),") do row[#row + 1] = field end
    rows[#rows + 1] = row
  end
  local header, out = rows[1], {}
  for i = 2, #rows do
    local r = {}
    for j, h in ipairs(header) do r[h] = rows[i][j] end
    out[#out + 1] = r
  end
  return out, header
end

-- the fake experiment: --mode ok|crash|exit3|hang; "crash" succeeds once the
-- file <dir>/fixed exists; every start appends a line to <out>/starts.
local EXPERIMENT = [[
local o, i = {}, 1
while i <= #arg do o[arg[i]:sub(3)] = arg[i + 1]; i = i + 2 end
local f = assert(io.open(o.out .. "/starts", "a")); f:write("x\n"); f:close()
local dir = arg[0]:match("^(.*)/[^/]*$")
print("mode", o.mode, "lr", o.lr, "seed", o.seed, "steps", o.steps)
local fixed = io.open(dir .. "/fixed")
if o.mode == "crash" and not fixed then error("boom: lr " .. o.lr) end
if o.mode == "exit3" then io.stderr:write("giving up\n"); os.exit(3) end
if o.mode == "hang" then while true do end end
local m = assert(io.open(o.out .. "/metrics.jsonl.tmp", "w"))
m:write('{"step": 1, "loss": 9}\n')
m:write(string.format('{"step": %d, "w2": %.17g, "mmd": %d}\n', o.steps, o.lr * o.seed, o.seed))
m:close()
assert(os.rename(o.out .. "/metrics.jsonl.tmp", o.out .. "/metrics.jsonl"))
]]

describe("fm.sweep options", function()
  it("--jobs is an integer >= 1 and --timeout a number > 0 (exit 2 otherwise)", function()
    for _, bad in ipairs { {"--jobs", "0"}, {"--jobs", "-1"}, {"--jobs", "1.5"},
                           {"--timeout", "-1"}, {"--timeout", "0"}, {"--timeout", "1e999"} } do
      local ok, err = pcall(sweep.parse, { "s.lua", bad[1], bad[2] })
      assert.is_false(ok)
      assert.truthy(err:find("sweep: " .. bad[1] .. " must be", 1, true), err)
      assert.equal(2, sweep.main({ "s.lua", bad[1], bad[2] }))
    end
    local o = sweep.parse({ "s.lua", "--jobs", "3", "--timeout", "0.5" })
    assert.same({ 3, 0.5 }, { o.jobs, o.timeout })
    assert.has_error(function() spec.check_jobs(0, "x.lua: jobs") end, "sweep: x.lua: jobs must be an integer >= 1, got 0")
    assert.has_error(function() spec.check_timeout(-2, "x.lua: timeout") end)
  end)
end)

describe("fm.sweep spec", function()
  it("expands grid x random x seeds into uniquely, stably named runs", function()
    local s = { experiment = "x.lua", grid = { a = { 1, 2 }, b = { "u", "v", "w" } },
                random = { n = 3, seed = 7, lr = { log_uniform = { 1e-4, 1e-2 } }, k = { int = { 1, 4 } } },
                seeds = { 1, 2 }, fixed = { steps = 10 }, out = "o" }
    local runs = spec.expand(s)
    assert.equal(2 * 3 * 3 * 2, #runs)
    local seen = {}
    for _, r in ipairs(runs) do
      assert.is_nil(seen[r.name]); seen[r.name] = true
      assert.is_true(r.settings.lr >= 1e-4 and r.settings.lr <= 1e-2)
      assert.is_true(r.settings.k >= 1 and r.settings.k <= 4 and math.type(r.settings.k) == "integer")
      assert.equal("o/runs/" .. r.name, r.dir)
      local a = table.concat(r.args, " ")
      assert.truthy(a:find("--steps 10 ", 1, true))
      assert.truthy(a:find(" --seed " .. r.seed .. "$"))
    end
    local again = spec.expand(s)   -- same file, same draws, same names
    for i, r in ipairs(runs) do assert.equal(r.name, again[i].name) end
    assert.equal("a-1_b-u_seed-2", spec.name({ a = 1, b = "u" }, 2))
  end)

  it("passes options as --key value with exact numbers, seed last", function()
    local runs = spec.expand { experiment = "x.lua", grid = { lr = { 0.1, 3e-3 } }, fixed = { steps = 5 }, seeds = 1, out = "o" }
    assert.same({ "--lr", "0.1", "--steps", "5", "--seed", "1" }, runs[1].args)
    assert.equal(3e-3, tonumber(runs[2].args[2]))
  end)

  it("passes booleans as --flag / --no-flag, as fm.cli reads them", function()
    local runs = spec.expand { experiment = "x.lua", grid = { ema = { true, false } },
                               fixed = { plots = false, save_plots = true }, seeds = 1, out = "o" }
    assert.same({ "--ema", "--no-plots", "--save_plots", "--seed", "1" }, runs[1].args)
    assert.same({ "--no-ema", "--no-plots", "--save_plots", "--seed", "1" }, runs[2].args)
    local cli = require "fm.cli"
    for i, want in ipairs{ true, false } do
      local o = assert(cli.try_parse(runs[i].args, { ema = true, plots = true, save_plots = false, seed = 0 }))
      assert.equal(want, o.ema)
      assert.is_false(o.plots)
      assert.is_true(o.save_plots)
    end
  end)

  it("loads sweep files and rejects bad ones with a message", function()
    local d = tmpdir()
    write(d .. "/bad.lua", "return { grid = { lr = {} } }")
    assert.has_error(function() spec.load(d .. "/bad.lua") end)
    write(d .. "/good.lua", "return { experiment = 'e.lua', seeds = 3 }")
    local s = spec.load(d .. "/good.lua")
    assert.same({ 1, 2, 3 }, s.seeds)
    assert.equal("runs/good", s.out)
    os.execute("rm -rf " .. d)
  end)
end)

describe("fm.sweep helpers", function()
  it("round-trips flat JSON and skips nested values", function()
    local o = json.decode('{"a": 1, "b": -2.5e-3, "s": "q\\"\\n", "t": true, "n": null, "x": [1, {"y": 2}]}')
    assert.same({ a = 1, b = -2.5e-3, s = 'q"\n', t = true }, o)
    assert.same(o, json.decode(json.encode(o)))
    assert.equal(1 / 3, json.decode(json.encode { v = 1 / 3 }).v)
    assert.has_error(function() json.decode('{"a": }') end)
  end)

  it("computes mean and sample std", function()
    local m, s = report.mean_std { 1, 2, 3, 4 }
    assert.equal(2.5, m)
    assert.near(math.sqrt(5 / 3), s, 1e-15)     -- sum of squares 5, n - 1 = 3
    local m1, s1 = report.mean_std { 7 }
    assert.equal(7, m1); assert.is_nil(s1)
  end)
end)

describe("fm.sweep local backend", function()
  it("runs a sweep over a boolean setting of an fm.cli experiment", function()
    local d = tmpdir()
    write(d .. "/exp.lua", [[
      package.path = ]] .. string.format("%q", src .. "/scripts/?.lua;") .. [[ .. package.path
      local o = require("fm.cli").parse(arg, { plots = true, ema = false, out = "", seed = 1 })
      local m = assert(io.open(o.out .. "/metrics.jsonl", "w"))
      m:write(string.format('{"step": 1, "plots_on": %d, "ema_on": %d}\n', o.plots and 1 or 0, o.ema and 1 or 0))
      m:close()]])
    write(d .. "/s.lua", string.format([[
      return { experiment = %q, out = %q, grid = { ema = { true, false } },
               fixed = { plots = false }, seeds = { 1 }, jobs = 2, metrics = { "plots_on", "ema_on" } }]],
      d .. "/exp.lua", d .. "/out"))
    assert.equal(0, sweep.main({ d .. "/s.lua", "--fmlua", interp, "--quiet" }))
    local rows = read_csv(d .. "/out/summary.csv")
    assert.equal(2, #rows)
    for _, r in ipairs(rows) do
      assert.equal(0, tonumber(r.plots_on))
      assert.equal(r.ema == "true" and 1 or 0, tonumber(r.ema_on))
    end
    os.execute("rm -rf " .. d)
  end)

  it("isolates crashes, times out hangs, resumes, and writes the tables", function()
    local d = tmpdir()
    write(d .. "/exp.lua", EXPERIMENT)
    write(d .. "/s.lua", string.format([[
      return { experiment = %q, out = %q, grid = { mode = { "ok", "crash", "exit3", "hang" } },
               seeds = { 1, 2 }, fixed = { lr = 0.5, steps = 7 }, jobs = 4, timeout = 1,
               metrics = { "w2", "mmd" } }]], d .. "/exp.lua", d .. "/out"))
    local argv = { d .. "/s.lua", "--fmlua", interp, "--quiet" }
    assert.equal(1, sweep.main(argv))                -- some runs failed
    local st = state.load(d .. "/out")
    local function rec(mode, seed) return st.runs["mode-" .. mode .. "_seed-" .. seed] end
    for seed = 1, 2 do
      assert.equal("done", rec("ok", seed).status)
      assert.equal("failed", rec("crash", seed).status)
      assert.equal(1, rec("crash", seed).exit)
      assert.truthy(rec("crash", seed).tail:find("boom: lr 0.5", 1, true))
      assert.equal(3, rec("exit3", seed).exit)
      assert.truthy(rec("exit3", seed).tail:find("giving up", 1, true))
      assert.equal("timeout", rec("hang", seed).status)
      assert.equal(124, rec("hang", seed).exit)
    end
    local rows = read_csv(d .. "/out/summary.csv")
    assert.equal(8, #rows)
    for _, r in ipairs(rows) do
      if r.mode == "ok" then assert.equal(0.5 * tonumber(r.seed), tonumber(r.w2)) end
      if r.mode ~= "ok" then assert.equal("", r.w2) end
    end

    -- resume: crash is fixed now; ok runs must not start again
    write(d .. "/fixed", "")
    assert.equal(1, sweep.main(argv))                -- exit3 and hang still fail
    local function starts(mode, seed)
      local n = 0
      for _ in io.lines(d .. "/out/runs/mode-" .. mode .. "_seed-" .. seed .. "/starts") do n = n + 1 end
      return n
    end
    st = state.load(d .. "/out")
    for seed = 1, 2 do
      assert.equal(1, starts("ok", seed))
      assert.equal(2, starts("crash", seed))
      assert.equal(2, starts("exit3", seed))
      assert.equal("done", rec("crash", seed).status)
    end
    local grouped = read_csv(d .. "/out/grouped.csv")
    assert.equal(4, #grouped)
    for _, g in ipairs(grouped) do
      if g.mode == "ok" or g.mode == "crash" then
        -- w2 = lr * seed over seeds {1, 2}: mean 0.75, std 0.5 / sqrt(2)
        assert.equal("2", g.n)
        assert.near(0.75, tonumber(g.w2_mean), 1e-5)  -- tables print 6 digits
        assert.near(0.5 / math.sqrt(2), tonumber(g.w2_std), 1e-5)
        assert.near(1.5, tonumber(g.mmd_mean), 1e-12)
      else
        assert.equal("0", g.n)
      end
    end
    local md = assert(io.open(d .. "/out/grouped.md")):read("a")
    assert.truthy(md:find("| ok | 2/2 | 0.75 ± 0.353553 | 1.5 ± 0.707107 |", 1, true))
    local svg = assert(io.open(d .. "/out/comparison.svg")):read("a")
    assert.truthy(svg:find("^<svg") and svg:find("</svg>\n$"))
    os.execute("rm -rf " .. d)
  end)
end)
