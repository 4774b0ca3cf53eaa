-- fm.pretty — values as readable text. The REPL echoes its results through
-- fm.pretty.echo: a plain table is written as a Lua constructor, nested to
-- a depth (fm.pretty.depth, 3) with at most fm.pretty.items entries a table
-- (30), a table met again inside itself as <cycle>; everything else through
-- tostring, so fm objects show their __tostring (a tensor's values, a data
-- set's parameters, an optimiser's settings). fm.pretty.call(name, fields)
-- is the one format of those __tostring texts: name(k = v, ...).
local M = {depth = 3, items = 30, width = 78}

local function is_ident(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil
end

-- a leaf value: strings quoted, numbers with %.6g unless integers
function M.scalar(v)
  if type(v) == "string" then return string.format("%q", v) end
  if math.type(v) == "float" then return string.format("%.6g", v) end
  return tostring(v)
end

-- has its own text: a table with a __tostring or __name, or a non-table
local function has_text(v)
  local mt = getmetatable(v)
  return type(v) ~= "table" or (type(mt) == "table" and (rawget(mt, "__tostring") or rawget(mt, "__name")))
end

-- the keys of t: 1..n first, then the others sorted by their text
local function keys_of(t)
  local n, keys, rest = 0, {}, {}
  while rawget(t, n + 1) ~= nil do n = n + 1; keys[n] = n end
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then rest[#rest + 1] = k end
  end
  table.sort(rest, function(a, b)
    if type(a) ~= type(b) then return type(a) < type(b) end
    if type(a) == "number" or type(a) == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  return keys, n
end

local format_value

-- the "k = v" texts of t's entries (array entries without keys)
local function entry_texts(t, depth, open, indent)
  local keys, n = keys_of(t)
  local parts = {}
  for i, k in ipairs(keys) do
    if i > M.items then
      parts[#parts + 1] = ("... (%d more)"):format(#keys - M.items)
      break
    end
    local v = format_value(rawget(t, k), depth + 1, open, indent .. "  ")
    if math.type(k) == "integer" and k <= n then
      parts[#parts + 1] = v
    else
      local key = is_ident(k) and k or "[" .. (has_text(k) and type(k) ~= "table" and M.scalar(k) or tostring(k)) .. "]"
      parts[#parts + 1] = key .. " = " .. v
    end
  end
  return parts
end

local function format_table(t, depth, open, indent)
  if open[t] then return "<cycle>" end
  if next(t) == nil then return "{}" end
  if depth >= M.depth then
    local count = 0
    for _ in next, t do count = count + 1 end
    return ("{...%d}"):format(count)
  end
  open[t] = true
  local parts = entry_texts(t, depth, open, indent)
  open[t] = nil
  local one = "{" .. table.concat(parts, ", ") .. "}"
  if #one + #indent <= M.width and not one:find("\n") then return one end
  return "{\n" .. indent .. "  " .. table.concat(parts, ",\n" .. indent .. "  ")
    .. "\n" .. indent .. "}"
end

function format_value(v, depth, open, indent)
  if type(v) == "table" and not has_text(v) then return format_table(v, depth, open, indent) end
  if type(v) == "string" or type(v) == "number" then return M.scalar(v) end
  local ok, s = pcall(tostring, v)
  return ok and s or ("<" .. type(v) .. ": __tostring failed>")
end

--- M.format(v) -> text: a plain table as a depth-limited constructor,
-- anything else as tostring.
function M.format(v)
  if type(v) == "table" and not has_text(v) then return format_table(v, 0, {}, "") end
  return tostring(v)
end

--- M.echo(...): prints the values as print does (tab-separated, strings
-- as they are), plain tables through M.format.
function M.echo(...)
  local out = {}
  for i = 1, select("#", ...) do
    out[i] = M.format((select(i, ...)))
  end
  io.write(table.concat(out, "\t"), "\n")
end

--- M.call(name, fields [, extra]) -> "name(k1 = v1, k2 = v2; extra)": fields
-- is a list of {key, value} pairs (kept in order, nil values skipped);
-- {key, value, raw = true} writes a string value without quotes.
function M.call(name, fields, extra)
  local parts = {}
  for _, kv in ipairs(fields) do
    if kv[2] ~= nil then
      local v = kv[2]
      if type(v) == "table" and not has_text(v) then
        v = format_table(v, 0, {}, "")
      elseif not kv.raw and (type(v) == "string" or type(v) == "number") then
        v = M.scalar(v)
      else
        v = tostring(v)
      end
      parts[#parts + 1] = kv[1] .. " = " .. v
    end
  end
  local text = table.concat(parts, ", ")
  if extra and extra ~= "" then text = text .. (text ~= "" and "; " or "") .. extra end
  return name .. "(" .. text .. ")"
end

return M
