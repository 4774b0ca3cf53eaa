-- fm.plot.terminal: what the terminal can show, and the colour escapes to
-- show it with (docs/plots.md, "Plots in the terminal").
--
--   local t = require "fm.plot.terminal"
--   local caps = t.caps(opts)  -- {unicode =, depth = nil|16|256|24, width =, height =}
--   t.fg(depth, {r, g, b}) .. text .. t.reset
--
-- Detection reads the environment through a function (os.getenv by default)
-- and the terminal through fm._terminal(1), so tests can pass their own.
local fm = require "fm"
local M = {}

M.reset = "\27[0m"

local function nonempty(s) return s ~= nil and s ~= "" end

-- unicode(env): the locale says UTF-8 (LC_ALL, else LC_CTYPE, else LANG, as
-- setlocale reads them) and the terminal is not one known to lack the glyphs
-- (dumb; the Linux console's fonts have no braille).
function M.unicode(env)
  local loc = env("LC_ALL")
  if not nonempty(loc) then loc = env("LC_CTYPE") end
  if not nonempty(loc) then loc = env("LANG") end
  if not (loc or ""):lower():find("utf%-?8") then return false end
  local term = env("TERM") or ""
  return term ~= "dumb" and term ~= "linux"
end

-- depth(env, is_tty): colours the terminal shows: nil (none), 16, 256 or 24
-- (bits, "truecolor"). NO_COLOR (https://no-color.org: any non-empty value)
-- and a stdout that is not a terminal turn colour off.
function M.depth(env, is_tty)
  if nonempty(env("NO_COLOR")) or not is_tty then return nil end
  local term = env("TERM") or ""
  if term == "" or term == "dumb" then return nil end
  local ct = (env("COLORTERM") or ""):lower()
  if ct == "truecolor" or ct == "24bit" then return 24 end
  if term:find("256") or term:find("direct") then return 256 end
  return 16
end

local function positive_int(v)
  v = tonumber(v)
  return v and v == math.floor(v) and v > 0 and math.tointeger(v) or nil
end

-- caps(opts, env, tty): what to draw with. opts.ascii = true/false forces the
-- character set; opts.color = false | true | 16 | 256 | 24 forces colour off,
-- on (the detected depth, or 256 when detection says none), or a depth;
-- opts.width/opts.height, else COLUMNS/LINES, else the terminal's size, else
-- 80 x 25; a height from the terminal is one line less, for the prompt.
-- env(name) -> string; tty = {is_tty, columns, rows}.
function M.caps(opts, env, tty)
  env = env or os.getenv
  tty = tty or table.pack(fm._terminal(1))
  local c = {}
  if opts.ascii == nil then c.unicode = M.unicode(env) else c.unicode = not opts.ascii end
  local col = opts.color
  if col == nil then c.depth = M.depth(env, tty[1])
  elseif col == false then c.depth = nil
  elseif col == true then c.depth = M.depth(env, true) or 256
  elseif col == 16 or col == 256 or col == 24 then c.depth = col
  else
    error("fm.plot.term: color must be true, false, 16, 256 or 24, got " .. tostring(col), 3)
  end
  c.width = opts.width or positive_int(env("COLUMNS")) or tty[2] or 80
  c.height = opts.height or (positive_int(env("LINES")) or tty[3] or 25) - 1
  for _, k in ipairs{"width", "height"} do
    local v = c[k]
    if math.type(v) ~= "integer" or v < 1 then
      error(string.format("fm.plot.term: %s must be a positive integer, got %s", k, tostring(v)), 3)
    end
  end
  return c
end

-- The 16 colours of xterm's default palette, codes 30-37 then 90-97.
local basic = {
  {0, 0, 0}, {205, 0, 0}, {0, 205, 0}, {205, 205, 0}, {0, 0, 238}, {205, 0, 205},
  {0, 205, 205}, {229, 229, 229}, {127, 127, 127}, {255, 0, 0}, {0, 255, 0},
  {255, 255, 0}, {92, 92, 255}, {255, 0, 255}, {0, 255, 255}, {255, 255, 255},
}

local function dist2(a, b)
  return (a[1] - b[1]) ^ 2 + (a[2] - b[2]) ^ 2 + (a[3] - b[3]) ^ 2
end

-- index256(rgb): the nearest of the 6x6x6 cube (16..231) and the grey ramp
-- (232..255) of the 256-colour palette.
local levels = {0, 95, 135, 175, 215, 255}
local function nearest_level(v)
  local best, bi = math.huge, 1
  for i, l in ipairs(levels) do
    if math.abs(v - l) < best then best, bi = math.abs(v - l), i end
  end
  return bi - 1
end
function M.index256(rgb)
  local r, g, b = nearest_level(rgb[1]), nearest_level(rgb[2]), nearest_level(rgb[3])
  local cube = {levels[r + 1], levels[g + 1], levels[b + 1]}
  local k = math.max(0, math.min(23, math.floor(((rgb[1] + rgb[2] + rgb[3]) / 3 - 8) / 10 + 0.5)))
  local v = 8 + 10 * k
  if dist2({v, v, v}, rgb) < dist2(cube, rgb) then return 232 + k end
  return 16 + 36 * r + 6 * g + b
end

local function index16(rgb)
  local best, bi = math.huge, 1
  for i, c in ipairs(basic) do
    local d = dist2(c, rgb)
    if d < best then best, bi = d, i end
  end
  return bi <= 8 and 29 + bi or 81 + bi
end

-- sgr(depth, rgb, background): the escape that sets the colour.
local function sgr(depth, rgb, background)
  if depth == 24 then
    return string.format("\27[%d;2;%d;%d;%dm", background and 48 or 38,
                         math.floor(rgb[1] + 0.5), math.floor(rgb[2] + 0.5), math.floor(rgb[3] + 0.5))
  elseif depth == 256 then
    return string.format("\27[%d;5;%dm", background and 48 or 38, M.index256(rgb))
  end
  return string.format("\27[%dm", index16(rgb) + (background and 10 or 0))
end
function M.fg(depth, rgb) return sgr(depth, rgb, false) end
function M.bg(depth, rgb) return sgr(depth, rgb, true) end

-- viridis(u): matplotlib's viridis at u in [0, 1], from 9 samples of it
-- interpolated linearly.
local viridis = {
  {68, 1, 84}, {72, 40, 120}, {62, 73, 137}, {49, 104, 142}, {38, 130, 142},
  {31, 158, 137}, {53, 183, 121}, {110, 206, 88}, {253, 231, 37},
}
function M.viridis(u)
  u = math.max(0, math.min(1, u)) * (#viridis - 1)
  local i = math.min(#viridis - 2, math.floor(u))
  local f, a, b = u - i, viridis[i + 1], viridis[i + 2]
  return {a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2]), a[3] + f * (b[3] - a[3])}
end

-- Colours of labelled points and of series (Tableau 10, matplotlib's default).
M.palette = {
  {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
  {140, 86, 75}, {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
}

return M
