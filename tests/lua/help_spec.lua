-- help_spec.lua — the API reference (scripts/fm/api.md) covers every public
-- name, and fm.help prints its entries (scripts/fm/help.lua).
local fm = require "fm"
local help = fm.help

-- every scripts/fm module: <name>.lua, or <name>/init.lua
local function script_modules()
  local dir = debug.getregistry()["fm.scripts_dir"] .. "/fm"
  local names = {}
  local p = assert(io.popen("cd '" .. dir .. "' && ls"))
  for entry in p:lines() do
    local name = entry:match("^([%a][%w_]*)%.lua$")
    if not name then
      local f = io.open(dir .. "/" .. entry .. "/init.lua")
      if f then f:close(); name = entry end
    end
    if name then names[#names + 1] = name end
  end
  p:close()
  return names
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" and not k:match("^_") then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

-- modules under a binding's table that load on first use through its
-- __index (scripts/fm/prelude.lua): their functions are walked too
local LAZY_SUBMODULES = {{"plot", "term"}}

-- the public names: fm.<a> and fm.<a>.<b> that are functions or tables
-- (fm's own names and every lazily loaded module), the functions of the
-- lazy submodules (fm.plot.term.scatter, ...), every method of the
-- bindings' types (Tensor:sum, Path:velocity, ...)
local function public_names()
  for _, m in ipairs(script_modules()) do local _ = fm[m] end
  for _, s in ipairs(LAZY_SUBMODULES) do assert(type(fm[s[1]][s[2]]) == "table") end
  local names = {}
  local function wanted(v) return (type(v) == "function" or type(v) == "table") and v ~= fm end
  for _, a in ipairs(sorted_keys(fm)) do
    local v = rawget(fm, a)
    if wanted(v) then
      names[#names + 1] = "fm." .. a
      if type(v) == "table" then
        for _, b in ipairs(sorted_keys(v)) do
          if wanted(rawget(v, b)) then names[#names + 1] = "fm." .. a .. "." .. b end
        end
      end
    end
  end
  for _, s in ipairs(LAZY_SUBMODULES) do
    local prefix, sub = "fm." .. s[1] .. "." .. s[2] .. ".", rawget(fm[s[1]], s[2])
    for _, c in ipairs(sorted_keys(sub)) do
      if wanted(rawget(sub, c)) then names[#names + 1] = prefix .. c end
    end
  end
  local reg = debug.getregistry()
  for _, t in ipairs{"Tensor", "Path", "GMM", "Dataset", "Marginal", "Layer"} do
    local mt = reg["fm." .. t]
    names[#names + 1] = t
    local methods = type(mt.__index) == "table" and mt.__index or mt.methods
    for _, m in ipairs(sorted_keys(methods)) do names[#names + 1] = t .. ":" .. m end
  end
  return names
end

describe("the API reference", function()
  it("has an entry for every public name of fm, its modules and its types", function()
    local entries = help.entries()
    local names = public_names()
    local missing = {}
    for _, n in ipairs(names) do
      if not entries[n] then missing[#missing + 1] = n end
    end
    assert.are.same({}, missing)
    assert.is_true(#names > 350) -- the walk really saw the modules and methods
  end)

  it("has no entry for a name that does not exist", function()
    local _, order = help.entries()
    local stale = {}
    for _, n in ipairs(order) do
      if help.resolve(n) == nil then stale[#stale + 1] = n end
    end
    assert.are.same({}, stale)
  end)

  it("gives every entry a description", function()
    local entries, order = help.entries()
    for _, n in ipairs(order) do
      assert.is_true(#entries[n].body > 0, n .. " has no description")
    end
  end)

  it("refuses a duplicate entry and an entry without a name", function()
    -- (pcall, not has_error: busted strips a leading "ref:3:" as a position)
    assert.are.same({false, "ref:3: fm.a is listed twice"},
      {pcall(help.parse, "### fm.a()\nx\n### fm.a\ny\n", "ref")})
    assert.are.same({false, "ref:1: an entry needs a name"}, {pcall(help.parse, "### (x)\n", "ref")})
    local e, order = help.parse("# group\n### fm.a(x) -> y\nOne.\nTwo.\n\n## next\ntext\n", "ref")
    assert.are.same({"fm.a"}, order)
    assert.are.equal("fm.a(x) -> y", e["fm.a"].heading)
    assert.are.equal("One.\nTwo.", e["fm.a"].body)
  end)
end)

describe("fm.help", function()
  it("shows a function's signature and description", function()
    local text = help.text(fm.randn)
    assert.truthy(text:find("^fm%.randn%(size%.%.%. %[, dtype%]%) %-> tensor\n  Standard normal draws%."))
  end)

  it("finds a function by its value under a lazily loaded module", function()
    assert.truthy(help.text(fm.loss.cfm):find("^fm%.loss%.cfm%("))
    assert.truthy(help.text(fm.nn.Linear):find("^fm%.nn%.Linear\n"))
  end)

  it("lists a module's contents", function()
    local text = help.text(fm.metrics)
    assert.truthy(text:find("^fm%.metrics\n"))
    assert.truthy(text:find("\n  fm%.metrics%.w2%(x, y%) %-> number"))
  end)

  it("shows the type of an object with its methods, and a method by value", function()
    local x = fm.zeros(2, 3)
    local text = help.text(x)
    assert.truthy(text:find("^Tensor\n"))
    assert.truthy(text:find("\nMethods %(%?x:name or help%(\"Tensor:name\"%) for one%):\n  shape size "))
    assert.truthy(text:find(" sum "))
    assert.truthy(help.text(x.sum):find("^Tensor:sum%("))
    assert.truthy(help.text(fm.path.gaussian("linear")):find("^Path\n"))
    assert.truthy(help.text(fm.data.moons()):find("^Dataset\n"))
    assert.truthy(help.text(fm.nn.Linear(2, 3)):find("^fm%.nn%.Linear\n"))
  end)

  it("takes names as strings", function()
    assert.truthy(help.text("Tensor:mm"):find("^Tensor:mm%(y%)"))
    assert.truthy(help.text("randn"):find("^fm%.randn%("))
    assert.truthy(help.text("fm.ode.solve"):find("^fm%.ode%.solve%("))
  end)

  it("says clearly when there is no entry", function()
    assert.are.equal("help: no entry named 'nosuch' in fm's API reference", help.text("nosuch"))
    assert.truthy(help.text(42):find("^help: no entry for this number %(help covers fm's"))
    assert.truthy(help.text(print):find("^help: no entry for this function"))
  end)

  it("answers the REPL's ?x lines", function()
    _G.help_spec_x = fm.ones(2)
    assert.truthy(help.line("help_spec_x:norm"):find("^Tensor:norm%("))
    assert.truthy(help.line("help_spec_x"):find("^Tensor\n"))
    assert.truthy(help.line(" fm.seed "):find("^fm%.seed%(n%)"))
    assert.truthy(help.line("Path:velocity"):find("^Path:velocity%("))
    assert.are.equal("help: no method 'nosuch' documented for help_spec_x", help.line("help_spec_x:nosuch"))
    assert.are.equal("help: 'help_spec_nothing' is nil", help.line("help_spec_nothing"))
    assert.truthy(help.line(""):find("^fm\n"))
    _G.help_spec_x = nil
  end)
end)
