-- fm.sweep.json: JSON for flat objects (one metrics.jsonl line): keys are
-- strings, values numbers / strings / booleans / null. Nested values are
-- skipped by the decoder (returned as nil) rather than rejected.
local M = {}

local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function encode_value(v)
  local t = type(v)
  if t == "string" then return encode_string(v) end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if math.type(v) == "integer" then return string.format("%d", v) end
    local s = string.format("%.15g", v)
    if tonumber(s) ~= v then s = string.format("%.17g", v) end
    return s
  end
  return "null"
end

-- encode(obj): a flat table as one JSON object, keys sorted.
function M.encode(obj)
  local keys = {}
  for k in pairs(obj) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = encode_string(k) .. ":" .. encode_value(obj[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- decoder: a cursor over s; each reader returns value, next position.
local function skip_ws(s, i) return s:find("[^ \t\r\n]", i) or #s + 1 end

local function read_string(s, i)      -- s:sub(i, i) == '"'
  local buf, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == "" then error("json: unterminated string") end
    if c == '"' then return table.concat(buf), j + 1 end
    if c == "\\" then
      local e = s:sub(j + 1, j + 1)
      local map = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
      if e == "u" then
        local cp = tonumber(s:sub(j + 2, j + 5), 16) or error("json: bad \\u escape")
        buf[#buf + 1] = utf8.char(cp); j = j + 6
      else
        buf[#buf + 1] = map[e] or e; j = j + 2
      end
    else
      buf[#buf + 1] = c; j = j + 1
    end
  end
end

local function read_nested(s, i)      -- skip an array / object, return nil
  local depth, j = 0, i
  while j <= #s do
    local c = s:sub(j, j)
    if c == '"' then local _; _, j = read_string(s, j) goto continue end
    if c == "[" or c == "{" then depth = depth + 1 end
    if c == "]" or c == "}" then depth = depth - 1; if depth == 0 then return nil, j + 1 end end
    j = j + 1
    ::continue::
  end
  error("json: unterminated array/object")
end

local function read_value(s, i)
  local c = s:sub(i, i)
  if c == '"' then return read_string(s, i) end
  if c == "[" or c == "{" then return read_nested(s, i) end
  for lit, v in pairs({ ["true"] = true, ["false"] = false, ["null"] = M.null }) do
    if s:sub(i, i + #lit - 1) == lit then return v, i + #lit end
  end
  local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  if not num or num == "" then error("json: unexpected '" .. c .. "' at " .. i) end
  return tonumber(num) or error("json: bad number " .. num), i + #num
end

M.null = setmetatable({}, { __tostring = function() return "null" end })

-- decode(s): a flat JSON object as a table (null -> M.null sentinel dropped,
-- i.e. the key is absent). Raises on malformed input.
function M.decode(s)
  local i = skip_ws(s, 1)
  if s:sub(i, i) ~= "{" then error("json: expected '{'") end
  local obj = {}
  i = skip_ws(s, i + 1)
  if s:sub(i, i) == "}" then return obj end
  while true do
    if s:sub(i, i) ~= '"' then error("json: expected key at " .. i) end
    local k; k, i = read_string(s, i)
    i = skip_ws(s, i)
    if s:sub(i, i) ~= ":" then error("json: expected ':' at " .. i) end
    local v; v, i = read_value(s, skip_ws(s, i + 1))
    if v ~= M.null then obj[k] = v end
    i = skip_ws(s, i)
    local c = s:sub(i, i)
    if c == "}" then return obj end
    if c ~= "," then error("json: expected ',' or '}' at " .. i) end
    i = skip_ws(s, i + 1)
  end
end

return M
