-- fm.luadata — Lua values written as Lua source (config.lua of a run, the
-- sweep's state.lua): tables with sorted keys, floats that read back exactly,
-- nan and inf spelled so that loading gives them again. Pure Lua.
local M = {}

-- literal(v, indent): v as Lua source (tables with sorted keys).
local function literal(v, indent)
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t == "number" then
    if v ~= v then return "0/0" end
    if v == math.huge then return "math.huge" end
    if v == -math.huge then return "-math.huge" end
    if math.type(v) == "integer" then return tostring(v) end
    local s = string.format("%.17g", v)
    local short = string.format("%.15g", v)
    if tonumber(short) == v then s = short end
    if not s:find("[%.eEn]") then s = s .. ".0" end
    return s
  end
  if t == "boolean" or t == "nil" then return tostring(v) end
  if t == "table" then
    indent = indent or ""
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b)
      if type(a) == type(b) then return a < b end
      return type(a) == "number"
    end)
    local inner, parts = indent .. "  ", {}
    for _, k in ipairs(keys) do
      local key = (type(k) == "string" and k:match("^[%a_][%w_]*$")) and k
        or "[" .. literal(k) .. "]"
      parts[#parts + 1] = inner .. key .. " = " .. literal(v[k], inner) .. ","
    end
    if #parts == 0 then return "{}" end
    return "{\n" .. table.concat(parts, "\n") .. "\n" .. indent .. "}"
  end
  return string.format("%q", tostring(v)) -- functions, userdata: described only
end

M.literal = literal
return M
