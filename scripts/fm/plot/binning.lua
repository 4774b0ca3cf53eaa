-- fm.plot.binning: the checks and tensor arithmetic that put values into
-- cells for the terminal plots (docs/plots.md, "Plots in the terminal").
-- The per-point work is done by tensor ops in C (a floor, a clamp and one
-- index_add for the whole set), so 10^5 points cost a few milliseconds; only
-- the cells are visited in Lua.
local fm = require "fm"
local M = {}

function M.shape(t)
  return "(" .. table.concat(t:shape(), ", ") .. ")"
end

-- opts(o, fn): the options table (nil is {}).
function M.opts(o, fn)
  if o == nil then return {} end
  if type(o) ~= "table" then
    error(string.format("%s: bad argument (options table expected, got %s)", fn, type(o)), 3)
  end
  return o
end

-- double(v, fn, name): a tensor, or a Lua table of numbers, as float64.
function M.double(v, fn, name)
  if fm.is_tensor(v) then
    local ok, d = pcall(function() return v:detach():to("float64") end)
    if ok then return d end
    error(string.format("%s: %s: %s", fn, name, d), 3)
  elseif type(v) == "table" then
    local ok, t = pcall(fm.tensor, v, "float64")
    if ok then return t end
    error(string.format("%s: %s must be a tensor or a table of numbers (%s)", fn, name, t), 3)
  end
  error(string.format("%s: %s must be a tensor or a table of numbers, got %s", fn, name, type(v)), 3)
end

-- vector(v, fn, name): a 1-D float64 tensor from a tensor of shape (n) or
-- (n, 1), or a table of numbers; an empty one is an error.
function M.vector(v, fn, name)
  local t = M.double(v, fn, name)
  if t:dim() == 2 and t:shape()[2] == 1 then t = t:select(2, 1) end
  if t:dim() ~= 1 then
    error(string.format("%s: %s must be a vector (n) or (n, 1), got %s", fn, name, M.shape(t)), 3)
  end
  if t:shape()[1] == 0 then error(string.format("%s: %s is empty (no values)", fn, name), 3) end
  return t
end

-- lim(l, fn, name): a {lo, hi} option with lo < hi, both finite, or nil.
function M.lim(l, fn, name)
  if l == nil then return nil end
  local ok = type(l) == "table" and type(l[1]) == "number" and type(l[2]) == "number"
    and l[1] < l[2] and l[2] - l[1] < math.huge
  if not ok then
    error(string.format("%s: %s must be {lo, hi} with lo < hi, both finite", fn, name), 3)
  end
  return {l[1], l[2]}
end

-- range(v, ok, given): the given {lo, hi}, or the extent of v where ok is 1;
-- a single value c gives {c - 0.5, c + 0.5}.
function M.range(v, ok, given)
  if given then return given end
  local lo = fm.where(ok, v, math.huge):min():item()
  local hi = fm.where(ok, v, -math.huge):max():item()
  if lo == hi then return {lo - 0.5, hi + 0.5} end
  return {lo, hi}
end

-- total(mask): how many ones, as a Lua integer
function M.total(mask)
  return math.tointeger(mask:sum():item())
end

-- inside(v, lim): 1 where lo <= v <= hi (0 for NaN).
function M.inside(v, lim)
  return v:ge(lim[1]) * v:le(lim[2])
end

-- cell(v, lim, n, flip): the 0-based cell of each value among n equal cells
-- over lim, the top value in the last cell (as numpy.histogram); flip counts
-- from the top (screen rows). NaN stays NaN (masked later).
function M.cell(v, lim, n, flip)
  local u = flip and (lim[2] - v) or (v - lim[1])
  return (u * (n / (lim[2] - lim[1]))):floor():clamp(0, n - 1)
end

-- count(index, keep, size, weights): how many values (or how much weight)
-- fall in each of size cells, a Lua list; index is 0-based (float64), keep
-- is 1 for the values to count. One index_add over all values.
function M.count(index, keep, size, weights)
  local idx = fm.where(keep, index + 1, size + 1):long()
  local w = weights or fm.ones(index:shape()[1], "float64")
  local c = fm.zeros(size + 1, "float64"):index_add(1, idx, w):totable()
  c[size + 1] = nil
  return c
end

-- notes(nonfinite, outside, what): the line that says what was left out.
function M.notes(nonfinite, outside, what)
  local parts = {}
  if nonfinite > 0 then parts[#parts + 1] = string.format("%d %s with NaN or inf skipped", nonfinite, what) end
  if outside > 0 then parts[#parts + 1] = string.format("%d outside the limits", outside) end
  return #parts > 0 and {table.concat(parts, "; ")} or {}
end

return M
