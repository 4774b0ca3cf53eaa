-- fm.cli: command-line options for experiments, declared once as defaults.
--
--   local opts = require("fm.cli").parse(arg, {
--     steps = 5000,                       -- integer
--     lr = {1e-3, "Adam learning rate"},  -- number, with a description
--     data = {"gaussians8", choices = {"gaussians8", "moons"}, "target data"},
--     plots = true,                       -- boolean: --plots / --no-plots
--     out = "runs/ot_path",
--   }, "one-line description of the experiment")
--
-- A spec entry is a default value, or a table {default, "help", choices = {..},
-- min = a, max = b, above = c}: a number option may declare its range, min
-- and max inclusive, above exclusive (steps = {3000, "training steps", min = 1},
-- lr = {3e-3, "learning rate", above = 0}); a value outside it is a usage error
-- ("--steps must be >= 1, got -5"), and --help shows the range. Number
-- options are finite (no 1e999). The type of an option is the type of its
-- default (integer, number, string, boolean). Accepted forms: --key value, --key=value, --flag, --no-flag,
-- --flag=true|false; dashes and underscores in keys are interchangeable.
-- --help / -h prints the generated help and exits 0; a bad command line
-- prints the error and the usage line to stderr and exits 2. The returned
-- table raises an error when read at a key that is not an option (typos).
local M = {}

-- range_text(e): "(>= 1)", "(> 0, <= 1)", or nil without a range.
local function range_text(e)
  local parts = {}
  if e.min then parts[#parts + 1] = ">= " .. tostring(e.min) end
  if e.above then parts[#parts + 1] = "> " .. tostring(e.above) end
  if e.max then parts[#parts + 1] = "<= " .. tostring(e.max) end
  return #parts > 0 and table.concat(parts, ", ") or nil
end

-- in_range(e, v): nil if v is inside e's range, else the broken bound.
local function out_of_range(e, v)
  if e.min and v < e.min then return ">= " .. tostring(e.min) end
  if e.above and not (v > e.above) then return "> " .. tostring(e.above) end
  if e.max and v > e.max then return "<= " .. tostring(e.max) end
end

-- normalize(spec): {name = {default=, help=, choices=, kind=, min=, max=, above=}}
local function normalize(spec)
  local out = {}
  for k, v in pairs(spec) do
    assert(type(k) == "string", "fm.cli: option names must be strings")
    local e = type(v) == "table" and { default = v[1], help = v[2] or v.help, choices = v.choices,
                                       min = v.min, max = v.max, above = v.above }
      or { default = v }
    local d = e.default
    if type(d) == "number" then e.kind = math.type(d) == "integer" and "integer" or "number"
    elseif type(d) == "string" or type(d) == "boolean" then e.kind = type(d)
    else error("fm.cli: option '" .. k .. "' needs a default number, string or boolean, got "
               .. type(d), 2) end
    if (e.min or e.max or e.above) and type(d) ~= "number" then
      error("fm.cli: option '" .. k .. "': min, max and above are for number options", 2)
    end
    if type(d) == "number" and out_of_range(e, d) then
      error("fm.cli: option '" .. k .. "': the default " .. tostring(d) .. " is outside its range "
            .. range_text(e), 2)
    end
    out[k] = e
  end
  return out
end
M.range_text = range_text

--- fm.cli.list(s [, "number"]) -> the comma-separated items of an option's
-- value ("meanflow,tvm" -> {"meanflow", "tvm"}); with "number" each must be
-- a number (an error names the item otherwise).
function M.list(s, kind)
  local out = {}
  for w in tostring(s):gmatch("[^,%s]+") do
    if kind == "number" then
      local v = tonumber(w)
      if v == nil then error("fm.cli.list: '" .. w .. "' is not a number", 2) end
      out[#out + 1] = v
    else
      out[#out + 1] = w
    end
  end
  return out
end

local function sorted_names(entries)
  local names = {}
  for k in pairs(entries) do names[#names + 1] = k end
  table.sort(names)
  return names
end

local function flag(name) return "--" .. name:gsub("_", "-") end

local function fmt(v)
  if type(v) == "number" and math.type(v) == "float" then return string.format("%g", v) end
  return tostring(v)
end

local function script_name(argv)
  return (argv and argv[0]) or "script.lua"
end

-- usage(spec, argv): the one-line usage.
local function usage(argv)
  return "usage: fmlua " .. script_name(argv) .. " [options]   (--help lists them)"
end

-- help(spec, description, argv): the --help text.
function M.help(spec, description, argv)
  local entries = normalize(spec)
  local lines = { "usage: fmlua " .. script_name(argv) .. " [options]" }
  if description then lines[#lines + 1] = ""; lines[#lines + 1] = description end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "options:"
  local rows, width = {}, 0
  for _, k in ipairs(sorted_names(entries)) do
    local e = entries[k]
    local left
    if e.kind == "boolean" then left = flag(k) .. ", --no-" .. flag(k):sub(3)
    else left = flag(k) .. " " .. (e.kind == "string" and "STR" or e.kind == "integer" and "N" or "X") end
    local right = e.help and (e.help .. " ") or ""
    if e.choices then right = right .. "{" .. table.concat(e.choices, ", ") .. "} " end
    if range_text(e) then right = right .. "[" .. range_text(e) .. "] " end
    right = right .. "(default: " .. fmt(e.default) .. ")"
    rows[#rows + 1] = { left, right }
    width = math.max(width, #left)
  end
  rows[#rows + 1] = { "-h, --help", "show this help and exit" }
  width = math.max(width, 10)
  for _, r in ipairs(rows) do
    lines[#lines + 1] = "  " .. r[1] .. string.rep(" ", width - #r[1] + 2) .. r[2]
  end
  return table.concat(lines, "\n")
end

-- convert(name, e, s): the value of the string s for option e, or nil, error.
local function convert(name, e, s)
  local v
  if e.kind == "integer" then
    v = math.tointeger(tonumber(s))
    if v == nil then return nil, flag(name) .. " needs an integer, got '" .. s .. "'" end
  elseif e.kind == "number" then
    v = tonumber(s)
    if v == nil then return nil, flag(name) .. " needs a number, got '" .. s .. "'" end
    v = v + 0.0 -- a float default stays a float
    if v ~= v or v == math.huge or v == -math.huge then
      return nil, flag(name) .. " needs a finite number, got '" .. s .. "'"
    end
  elseif e.kind == "boolean" then
    if s == "true" or s == "1" or s == "yes" then v = true
    elseif s == "false" or s == "0" or s == "no" then v = false
    else return nil, flag(name) .. " is a flag: true or false, got '" .. s .. "'" end
  else
    v = s
  end
  if type(v) == "number" then
    local bound = out_of_range(e, v)
    if bound then return nil, flag(name) .. " must be " .. bound .. ", got " .. s end
  end
  if e.choices then
    local ok = false
    for _, c in ipairs(e.choices) do if c == v then ok = true end end
    if not ok then
      return nil, flag(name) .. " must be one of " .. table.concat(e.choices, ", ")
        .. "; got '" .. s .. "'"
    end
  end
  return v
end

local strict = {
  __index = function(_, k)
    error("fm.cli: no option '" .. tostring(k) .. "' (a typo?)", 2)
  end,
}

-- try_parse(argv, spec): opts, or nil, error message, or nil, "help".
function M.try_parse(argv, spec)
  local entries = normalize(spec)
  local opts = {}
  for k, e in pairs(entries) do opts[k] = e.default end
  local i = 1
  while argv and argv[i] ~= nil do
    local a = argv[i]
    if a == "--help" or a == "-h" then return nil, "help" end
    local key, value = a:match("^%-%-([%w_-]+)=(.*)$")
    key = key or a:match("^%-%-([%w_-]+)$")
    if not key then
      return nil, "unexpected argument '" .. a .. "' (options look like --name value)"
    end
    local name = key:gsub("-", "_")
    local negated = false
    if not entries[name] and name:sub(1, 3) == "no_" and entries[name:sub(4)]
       and entries[name:sub(4)].kind == "boolean" and value == nil then
      name, negated = name:sub(4), true
    end
    local e = entries[name]
    if not e then
      local known = {}
      for _, k in ipairs(sorted_names(entries)) do known[#known + 1] = flag(k) end
      return nil, "unknown option --" .. key .. "; known options: " .. table.concat(known, " ")
    end
    if e.kind == "boolean" and value == nil then
      opts[name] = not negated
    else
      if value == nil then
        i = i + 1
        value = argv[i]
        if value == nil then return nil, flag(name) .. " needs a value" end
      end
      local v, err = convert(name, e, value)
      if v == nil then return nil, err end
      opts[name] = v
    end
    i = i + 1
  end
  return setmetatable(opts, strict)
end

-- share_batch(opts): in a data-parallel job of N ranks (docs/dist.md), an
-- option named batch is the global batch: each rank gets batch / N rows
-- (opts.batch), and opts.global_batch keeps the total. nil, message when it
-- does not split evenly. fm.cli does not load fm itself: MPI starts when fm
-- opens, so without fm there is one rank.
local function share_batch(opts)
  local fm = package.loaded.fm
  local n = fm and fm._dist.size() or 1
  local b = rawget(opts, "batch")
  if n == 1 or math.type(b) ~= "integer" then return opts end
  if b % n ~= 0 then
    return nil, string.format("--batch %d does not split evenly over %d ranks (each rank "
                              .. "takes batch / ranks rows)", b, n)
  end
  rawset(opts, "global_batch", b)
  opts.batch = b // n
  return opts
end

-- parse(argv, spec, description): the options; --help prints and exits 0, a
-- bad command line prints the error to stderr and exits 2.
function M.parse(argv, spec, description)
  local opts, err = M.try_parse(argv, spec)
  if opts then opts, err = share_batch(opts) end
  if opts then return opts end
  if err == "help" then
    io.stdout:write(M.help(spec, description, argv), "\n")
    os.exit(0)
  end
  io.stderr:write(script_name(argv), ": ", err, "\n", usage(argv), "\n")
  os.exit(2)
end

return M
