-- fm.run: the run directory (mkdir -p, config.lua that loads back, metrics
-- lines that parse and survive without close(), whole files written through
-- a temporary name with nothing left behind on failure).
local fm = require "fm"
local lfs = require "lfs"
local runmod = require "fm.run"
local json = require "fm.sweep.json"

local root

local function listing(dir)
  local names = {}
  for f in lfs.dir(dir) do if f ~= "." and f ~= ".." then names[#names + 1] = f end end
  table.sort(names)
  return names
end

local function rm_rf(p)
  if lfs.attributes(p, "mode") == "directory" then
    for _, f in ipairs(listing(p)) do rm_rf(p .. "/" .. f) end
    lfs.rmdir(p)
  else
    os.remove(p)
  end
end

local function slurp(p)
  local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s
end

describe("fm.run", function()
  before_each(function() root = os.tmpname(); os.remove(root) end)
  after_each(function() rm_rf(root) end)

  it("creates nested directories and writes a config.lua that loads", function()
    local settings = {steps = 20, lr = 0.001, data = "moons", plots = false, seed = 7,
                      weird = "a \"quoted\"\nline", big = 1e300, third = 1 / 3}
    local run = runmod.new(root .. "/a/b/c", settings)
    assert.equal("directory", lfs.attributes(root .. "/a/b/c", "mode"))
    local cfg = assert(loadfile(run:path("config.lua")))()
    assert.same(settings, cfg.settings)        -- floats round-trip exactly
    assert.equal(7, cfg.seed)
    assert.equal(fm.version, cfg.fm_version)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT", cfg.date)
    run:close()
    -- an existing directory is reused
    runmod.new(root .. "/a/b/c", {}):close()
    assert.has_error(function() runmod.new(root .. "/a/b/c/config.lua/x", {}) end)
  end)

  it("appends one flushed JSON line per log call", function()
    local run = runmod.new(root, {seed = 1})
    run:log(1, {loss = 0.5})
    run:log(2, {loss = 0.25, w2 = 1e-3, note = "ok"})
    -- readable before close(): a killed run keeps every line
    local lines = {}
    for l in slurp(run:path("metrics.jsonl")):gmatch("[^\n]+") do lines[#lines + 1] = json.decode(l) end
    assert.same({{step = 1, loss = 0.5}, {step = 2, loss = 0.25, w2 = 1e-3, note = "ok"}}, lines)
    local steps, values = run:series("loss")
    assert.same({{1, 2}, {0.5, 0.25}}, {steps, values})
    assert.same({{}, {}}, {run:series("nothing")})
    run:close()
  end)

  it("writes npy, text and plots atomically and leaves no temporary", function()
    local run = runmod.new(root, {})
    local x = fm.tensor{{1, 2}, {3, 4}, {5, 6}}
    run:save_npy("samples.npy", x)
    assert.same(x:totable(), fm.load_npy(run:path("samples.npy")):totable())
    run:write("note.txt", "hello")
    assert.equal("hello", slurp(run:path("note.txt")))
    run:plot("scatter", "s.png", {x, title = "three"})
    assert.equal("\137PNG\r\n\26\n", slurp(run:path("s.png")):sub(1, 8))
    -- a failing writer: the error comes through, nothing is left behind
    assert.has_error(function() run:plot("scatter", "bad.png", {{{0 / 0, 0 / 0}}}) end)
    assert.has_error(function() runmod.atomic(run:path("x.txt"), function() error("boom") end) end,
                     "boom")
    run:close()
    assert.same({"config.lua", "metrics.jsonl", "note.txt", "s.png", "samples.npy"}, listing(root))
  end)

  it("locks its directory: a second writer is refused until the first closes", function()
    local a = runmod.new(root, {seed = 1})
    assert.equal("file", lfs.attributes(root .. "/.lock", "mode"))
    local ok, err = pcall(runmod.new, root, {seed = 2})
    assert.is_false(ok)
    assert.truthy(err:find(root .. " is in use by another writer (process " .. fm.pid() .. " ", 1, true), err)
    a:log(1, {loss = 1})   -- the refused writer touched nothing
    a:close()
    assert.is_nil(lfs.attributes(root .. "/.lock"))
    local b = runmod.new(root, {seed = 3})
    b:close()
    -- a lock file left by a dead writer is taken over
    local f = assert(io.open(root .. "/.lock", "w")); f:write("999999999\n"); f:close()
    runmod.new(root, {}):close()
    assert.has_error(function() b:log(2, {loss = 2}) end)   -- closed
  end)

  it("names temporaries by pid and host so that processes never collide", function()
    local a, b = runmod.tmpname(root .. "/m.safetensors"), runmod.tmpname(root .. "/m.safetensors")
    assert.are_not.equal(a, b)
    local infix = fm._tmp_infix()
    assert.matches("^%.tmp%-" .. fm.pid() .. "@[^/]+%-$", infix)
    assert.equal(root .. "/" .. infix, a:sub(1, #root + 1 + #infix))
    assert.matches("%-m%.safetensors$", a)
  end)

  it("removes the temporaries of dead writers on the next save, and only those", function()
    local run = runmod.new(root, {})
    local dead = tonumber(io.popen("sh -c 'echo $$'"):read("a"))   -- has exited
    local host = fm._tmp_infix():match("@(.*)%-$")
    local names = {
      stale = ".tmp-" .. dead .. "@" .. host .. "-1-abcdef-model.safetensors",
      stale_c = "model.safetensors.tmp-" .. dead .. "@" .. host .. "-Xy12Zq",
      mine = "x" .. fm._tmp_infix() .. "7",
      other_host = ".tmp-" .. dead .. "@elsewhere-1-abcdef-model.safetensors",
      unrelated = "notes.tmp-" .. dead .. ".txt",
    }
    for _, n in pairs(names) do io.open(root .. "/" .. n, "w"):close() end
    run:save_npy("x.npy", fm.zeros({2}))
    local left = {}
    for _, f in ipairs(listing(root)) do left[f] = true end
    assert.is_nil(left[names.stale]); assert.is_nil(left[names.stale_c])
    assert.is_true(left[names.mine]); assert.is_true(left[names.other_host])
    assert.is_true(left[names.unrelated])
    run:close()
  end)

  it("writes Lua literals for nested tables and special numbers", function()
    local src = runmod.literal({1, 2, {x = 0.1}, ["key with space"] = -math.huge})
    local t = load("return " .. src)()
    assert.same({1, 2, {x = 0.1}, ["key with space"] = -math.huge}, t)
  end)
end)
