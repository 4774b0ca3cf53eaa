-- fm.help — help(x), fm.help(x) and the REPL's "?x": the signature and
-- description of a public fm function, module, type or method, read from the
-- API reference scripts/fm/api.md (installed beside this file, so that an
-- installed fmlua finds it too). The reference's format (docs/design.md, "The
-- API reference"): every entry is a line "### <name><signature>" followed by
-- its description; <name> is fm.a.b for functions and modules, Type for a
-- type (Tensor, Path, ...) and Type:method for a method. Other lines starting
-- with "#" only group entries.
--
--   fm.help(fm.randn)      prints the entry
--   fm.help.text(x)        the same text as a string
--   fm.help.line("x:sum")  what the REPL's "?x:sum" prints
local M = {}

-- userdata types of the bindings: registry name -> reference name
local TYPES = {Tensor = "fm.Tensor", Path = "fm.Path", GMM = "fm.GMM",
  Dataset = "fm.Dataset", Marginal = "fm.Marginal", Layer = "fm.Layer"}

local function reference_path()
  local src = debug.getinfo(1, "S").source
  return (src:sub(2):match("^(.*)/[^/]*$") or ".") .. "/api.md"
end

--- M.parse(text) -> entries {name = {heading =, body =}}, names in order.
-- Raises on a duplicate name or an entry without a name.
function M.parse(text, where)
  local entries, order, cur = {}, {}, nil
  local lineno = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    local heading = line:match("^### (.+)$")
    if heading then
      local name = heading:match("^([%a_][%w_%.:]*)")
      if not name then error(("%s:%d: an entry needs a name"):format(where, lineno), 0) end
      if entries[name] then error(("%s:%d: %s is listed twice"):format(where, lineno, name), 0) end
      cur = {heading = heading, body = {}}
      entries[name] = cur
      order[#order + 1] = name
    elseif line:match("^#") then
      cur = nil
    elseif cur then
      cur.body[#cur.body + 1] = line
    end
  end
  for _, e in pairs(entries) do
    while e.body[#e.body] == "" do e.body[#e.body] = nil end
    while e.body[1] == "" do table.remove(e.body, 1) end
    e.body = table.concat(e.body, "\n")
  end
  return entries, order
end

local cache
-- the parsed reference, read once
function M.entries()
  if not cache then
    local path = reference_path()
    local f = assert(io.open(path, "r"))
    local text = f:read("a")
    f:close()
    local entries, order = M.parse(text, path)
    cache = {entries = entries, order = order}
  end
  return cache.entries, cache.order
end

-- the value a reference name stands for (nil if none)
function M.resolve(name)
  local tname, method = name:match("^([%a_][%w_]*):([%a_][%w_]*)$")
  if tname then
    local mt = debug.getregistry()[TYPES[tname] or ""]
    if type(mt) ~= "table" then return nil end
    local methods = type(mt.__index) == "table" and mt.__index or mt.methods
    return methods and rawget(methods, method)
  end
  if TYPES[name] then return debug.getregistry()[TYPES[name]] end
  local v = require "fm"
  for part in name:gmatch("[^.]+") do
    if part ~= "fm" or v ~= require "fm" then
      if type(v) ~= "table" then return nil end
      v = v[part]
    end
  end
  return v
end

local reverse
-- value -> reference name, for every entry that resolves to a function or table
local function names_of_values()
  if not reverse then
    reverse = {}
    local _, order = M.entries()
    for _, name in ipairs(order) do
      local ok, v = pcall(M.resolve, name)
      if ok and (type(v) == "function" or type(v) == "table") and not reverse[v] then
        reverse[v] = name
      end
    end
  end
  return reverse
end

-- the reference name of the type of an object (a tensor, an nn.Linear, ...)
local function type_name(x)
  local names = names_of_values()
  local mt = getmetatable(x)
  for _ = 1, 5 do
    if type(mt) ~= "table" then return nil end
    if names[mt] then return names[mt] end
    local index = rawget(mt, "__index")
    if type(index) == "table" and names[index] then return names[index] end
    mt = type(index) == "table" and getmetatable(index) or nil
  end
end

-- words joined into lines of at most width characters, each indented
local function wrap(words, width)
  local lines, cur = {}, nil
  for _, w in ipairs(words) do
    if cur and #cur + 1 + #w > width then
      lines[#lines + 1] = cur
      cur = nil
    end
    cur = cur and cur .. " " .. w or "  " .. w
  end
  lines[#lines + 1] = cur
  return lines
end

-- the entries under a module (one signature a line) or a type (its method
-- names, wrapped)
local function members(name)
  local entries, order = M.entries()
  local out = {}
  local prefix = TYPES[name] and name .. ":" or name .. "."
  for _, n in ipairs(order) do
    local rest = n:sub(#prefix + 1)
    if n:sub(1, #prefix) == prefix and not rest:find("[.:]") then
      out[#out + 1] = TYPES[name] and rest or "  " .. entries[n].heading
    end
  end
  return TYPES[name] and #out > 0 and wrap(out, 78) or out
end

local function entry_text(name)
  local e = M.entries()[name]
  local text = e.heading .. (e.body ~= "" and "\n" .. e.body:gsub("^", "  "):gsub("\n", "\n  ") or "")
  local list = members(name)
  if #list > 0 then
    text = text .. "\n" .. (TYPES[name] and "Methods (?x:name or help(\"" .. name .. ":name\") for one)"
      or "Contents (help(name) for one)") .. ":\n"
      .. table.concat(list, "\n")
  end
  return text
end

-- a name as the user may type it: "randn", "fm.randn", "nn.Linear", "Tensor:sum"
local function find_name(s)
  local entries = M.entries()
  for _, n in ipairs{s, "fm." .. s} do
    if entries[n] then return n end
  end
end

--- M.text(x) -> the help text of a value or of a name given as a string.
function M.text(x)
  if type(x) == "string" then
    local name = find_name(x)
    if name then return entry_text(name) end
  end
  local names = names_of_values()
  if (type(x) == "function" or type(x) == "table") and names[x] then
    return entry_text(names[x])
  end
  local tname = (type(x) == "table" or type(x) == "userdata") and type_name(x)
  if tname then return entry_text(tname) end
  if type(x) == "string" then
    return ("help: no entry named '%s' in fm's API reference"):format(x)
  end
  return ("help: no entry for this %s (help covers fm's functions, modules, "
    .. "types and methods: help(fm), help(fm.randn), ?x:sum)"):format(type(x))
end

local function evaluate(src)
  local chunk = load("return " .. src, "=?", "t")
  if not chunk then return false end
  return pcall(chunk)
end

--- M.line(src) -> the text of the REPL's "?src": an expression, a method as
-- value:name or Type:name, or a name.
function M.line(src)
  src = src:match("^%s*(.-)%s*$")
  if src == "" then return M.text(require "fm") end
  local obj, method = src:match("^(.-):([%a_][%w_]*)$")
  if obj then
    local tname = TYPES[obj] and obj
    if not tname then
      local ok, v = evaluate(obj)
      tname = ok and v ~= nil and type_name(v)
    end
    if tname and M.entries()[tname .. ":" .. method] then
      return entry_text(tname .. ":" .. method)
    end
    return ("help: no method '%s' documented for %s"):format(method, obj)
  end
  local ok, v = evaluate(src)
  if ok and v ~= nil then return M.text(v) end
  local text = M.text(src)
  if not ok or find_name(src) then return text end
  return ("help: '%s' is nil"):format(src)
end

return setmetatable(M, {__call = function(_, x)
  io.write(M.text(x), "\n")
end})
