-- fm.args — the one argument checker of the Lua library (docs/design.md,
-- "Errors"): public functions that take an options table check each
-- positional argument here, so that a call shape mistake (an argument
-- missing, a second return value landing in the options slot) is an error
-- naming the function, the argument and what it got, not "attempt to index
-- a function value" deep inside.
--
--   local args = require "fm.args"
--   args.check("fm.loss.cfm", 3, "z", z, "tensor")
--   opts = args.opts("fm.loss.cfm", 4, opts)            -- nil or a table -> table
--   opts = args.opts("fm.images", 1, opts, {split = true, dir = true})  -- known keys
--
--   args.fail("fm.loss.cfm", 3, "z", "an (n, d) tensor", z)   -- any other expectation
--
-- Kinds: "tensor", "table", "number", "integer", "string", "boolean",
-- "function", "callable" (a function or anything with __call), "options"
-- (a table), "object" (a table or userdata), "any"; alternatives joined by "|" ("tensor|number"); a
-- trailing "?" also allows nil. Errors are raised at `level` (default 3:
-- the caller of the public function that called check).
local fm = require "fm"

local M = {}

local function is_callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

local tests = {
  tensor = function(v) return fm.is_tensor(v) end,
  table = function(v) return type(v) == "table" end,
  options = function(v) return type(v) == "table" end,
  number = function(v) return type(v) == "number" end,
  integer = function(v) return math.type(v) == "integer" end,
  string = function(v) return type(v) == "string" end,
  boolean = function(v) return type(v) == "boolean" end,
  ["function"] = function(v) return type(v) == "function" end,
  callable = is_callable,
  object = function(v) return type(v) == "table" or type(v) == "userdata" end,
  any = function(v) return v ~= nil end,
}

local names = {
  tensor = "a tensor", table = "a table", options = "an options table",
  number = "a number", integer = "an integer", string = "a string",
  boolean = "a boolean", ["function"] = "a function",
  callable = "a function or callable object", object = "an object (table or userdata)",
  any = "a value",
}

--- What v is, for a message: "int64 tensor (256,)", "function", "number 3".
function M.describe(v)
  if fm.is_tensor(v) then
    local s = v:shape()
    local dims = #s == 1 and (s[1] .. ",") or table.concat(s, ", ")
    return ("%s tensor (%s)"):format(v:dtype(), dims)
  end
  if type(v) == "number" or type(v) == "boolean" then return type(v) .. " " .. tostring(v) end
  if type(v) == "string" then
    return ("string %q"):format(#v > 40 and v:sub(1, 37) .. "..." or v)
  end
  return type(v)
end

local parsed = {}

-- "tensor|number?" -> {optional = true, "tensor", "number"}, cached
local function parse(kind)
  local p = parsed[kind]
  if p then return p end
  p = {optional = kind:sub(-1) == "?"}
  for k in (p.optional and kind:sub(1, -2) or kind):gmatch("[^|]+") do
    if not tests[k] then error("fm.args: unknown kind '" .. k .. "'", 3) end
    p[#p + 1] = k
  end
  parsed[kind] = p
  return p
end

local function expected(p)
  local parts = {}
  for i, k in ipairs(p) do parts[i] = names[k] end
  if p.optional then parts[#parts + 1] = "nil" end
  return table.concat(parts, " or ")
end

--- Raises "fname: bad argument #argn 'name' (<what> expected, got <v>)",
-- for expectations that are not a kind ("an (n, d) tensor").
function M.fail(fname, argn, name, what, v, level)
  error(("%s: bad argument #%d '%s' (%s expected, got %s)"):format(fname, argn, name,
    what, M.describe(v)), (level or 2) + 1)
end

--- Raises "fname: bad argument #argn 'name' (<kind> expected, got <what>)"
-- unless v is of the kind; returns v.
function M.check(fname, argn, name, v, kind, level)
  local p = parse(kind)
  if v == nil and p.optional then return v end
  for _, k in ipairs(p) do
    if tests[k](v) then return v end
  end
  M.fail(fname, argn, name, expected(p), v, (level or 3))
end

--- The options table at argument #argn: nil gives {}, a table is returned
-- as is (its keys checked against `known` when given), anything else is an
-- error naming it.
function M.opts(fname, argn, opts, known, level)
  level = level or 3
  if opts == nil then return {} end
  M.check(fname, argn, "opts", opts, "options", level + 1)
  if known then
    for k in pairs(opts) do
      if not known[k] then
        local list = {}
        for n in pairs(known) do list[#list + 1] = n end
        table.sort(list)
        error(("%s: unknown option '%s' (known: %s)"):format(fname, tostring(k),
          table.concat(list, ", ")), level)
      end
    end
  end
  return opts
end

--- The labels and the options of a loss from its arguments after the data
-- batch z (argument #argn is a, #argn + 1 is b): a tensor at #argn is the
-- labels, as a data set's :sample returns them beside the points, and the
-- options follow it; otherwise #argn is the options, which may hold
-- opts.labels. The labels must have one entry per row of z. Returns
-- labels (or nil), opts (a table).
function M.labels_and_opts(fname, argn, z, a, b, level)
  level = level or 3
  local labels, opts, oargn = nil, a, argn
  if fm.is_tensor(a) then labels, opts, oargn = a, b, argn + 1
  elseif b ~= nil then
    M.check(fname, argn, "labels", a, "tensor", level + 1)
  end
  opts = M.opts(fname, oargn, opts, nil, level + 1)
  M.check(fname, oargn, "opts.labels", opts.labels, "tensor?", level + 1)
  if labels and opts.labels then
    error(("%s: labels given twice (argument #%d and opts.labels)"):format(fname, argn), level)
  end
  labels = labels or opts.labels
  if labels ~= nil and (labels:dim() == 0 or #labels ~= #z) then
    error(("%s: %d labels for %d points (%s)"):format(fname, labels:dim() == 0 and 1 or #labels,
      #z, M.describe(labels)), level)
  end
  return labels, opts
end

return M
