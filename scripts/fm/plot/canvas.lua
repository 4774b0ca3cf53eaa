-- fm.plot.canvas: a grid of character cells with colours, the braille dot
-- raster drawn into it, and the frame of axes around it (docs/plots.md,
-- "Plots in the terminal").
--
-- Cells are numbered row by row from the top left: k = row * w + col + 1.
-- The dot raster of a w x h grid is 2w x 4h dots (a braille cell has 2
-- columns of 4 dots), numbered the same way: k = y * 2w + x + 1, y from the top.
local terminal = require "fm.plot.terminal"
local M = {}

-- The bit of dot (column c, row r) of a braille cell: U+2800 + bits, with
-- Unicode's dot numbering (1 2 3 down the left, 4 5 6 down the right, then 7
-- and 8 under them).
local dot_bit = {[0] = {[0] = 0x01, 0x02, 0x04, 0x40}, {[0] = 0x08, 0x10, 0x20, 0x80}}
M.dot_bit = dot_bit

function M.braille(bits) return utf8.char(0x2800 + bits) end

-- braille_cells(counts, w, h): for each cell, the bits of its dots with a
-- nonzero count and the sum of their counts.
function M.braille_cells(counts, w, h)
  local dw, bits, sums = 2 * w, {}, {}
  for cy = 0, h - 1 do
    for cx = 0, w - 1 do
      local b, s = 0, 0
      for r = 0, 3 do
        local base = (4 * cy + r) * dw + 2 * cx + 1
        for c = 0, 1 do
          local v = counts[base + c]
          if v > 0 then b, s = b | dot_bit[c][r], s + v end
        end
      end
      bits[cy * w + cx + 1], sums[cy * w + cx + 1] = b, s
    end
  end
  return bits, sums
end

-- popcount of a cell's bits: how many of its 8 dots are on
function M.dots_on(b)
  local n = 0
  while b > 0 do n, b = n + (b & 1), b >> 1 end
  return n
end

-- line(counts, dw, dh, x0, y0, x1, y1): Bresenham's line between two dots,
-- adding 1 to each dot it passes (both ends included; no dot outside the raster).
function M.line(counts, dw, dh, x0, y0, x1, y1)
  local dx, dy = math.abs(x1 - x0), -math.abs(y1 - y0)
  local sx, sy = x0 < x1 and 1 or -1, y0 < y1 and 1 or -1
  local err = dx + dy
  while true do
    if x0 >= 0 and x0 < dw and y0 >= 0 and y0 < dh then
      local k = y0 * dw + x0 + 1
      counts[k] = counts[k] + 1
    end
    if x0 == x1 and y0 == y1 then return end
    local e2 = 2 * err
    if e2 >= dy then err, x0 = err + dy, x0 + sx end
    if e2 <= dx then err, y0 = err + dx, y0 + sy end
  end
end

-- trace(counts, dw, dh, gx, gy, ok): the dots of the line through the
-- points (gx[i], gy[i]) where ok[i] == 1, broken where it is 0. Consecutive
-- points in one dot column are a run: the segments between them light
-- exactly the column's span from their lowest to their highest dot, so a run
-- is one vertical line, and only the segment from one run to the next is
-- drawn point to point. The same dots as segment by segment, in time
-- O(n + dots) even when 10^6 points share 160 columns.
function M.trace(counts, dw, dh, gx, gy, ok)
  local run   -- {x, lo, hi, last y}
  local function flush()
    if run then M.line(counts, dw, dh, run[1], run[2], run[1], run[3]) end
  end
  for i = 1, #gx do
    if ok[i] ~= 1 then flush(); run = nil
    elseif run and gx[i] == run[1] then
      local y = gy[i]
      run[2], run[3], run[4] = math.min(run[2], y), math.max(run[3], y), y
    else
      flush()
      if run then M.line(counts, dw, dh, run[1], run[4], gx[i], gy[i]) end
      run = {gx[i], gy[i], gy[i], gy[i]}
    end
  end
  flush()
end

-- grid(w, h): cells with ch (a string, " " when unset), fg and bg ({r, g, b}
-- or nil for the terminal's own colours).
function M.grid(w, h)
  return {w = w, h = h, ch = {}, fg = {}, bg = {}}
end

-- rows(g, depth): the grid's rows as strings, colours as escapes when depth
-- is set (only where a cell's colours differ from the previous cell's).
function M.rows(g, depth)
  local out = {}
  for r = 0, g.h - 1 do
    local parts, current = {}, ""
    for c = 1, g.w do
      local k = r * g.w + c
      if depth then
        local fg, bg = g.fg[k], g.bg[k]
        local esc = (fg and terminal.fg(depth, fg) or "") .. (bg and terminal.bg(depth, bg) or "")
        if esc ~= current then
          parts[#parts + 1] = (current ~= "" and terminal.reset or "") .. esc
          current = esc
        end
      end
      parts[#parts + 1] = g.ch[k] or " "
    end
    if current ~= "" then parts[#parts + 1] = terminal.reset end
    out[#out + 1] = table.concat(parts)
  end
  return out
end

-- A number for an axis: 4 significant digits, no "-0".
function M.number(v)
  if v == 0 then return "0" end
  if math.type(v) == "integer" then return tostring(v) end
  local s = string.format("%.4g", v)
  return s
end

-- layout(caps, ylabels, extra): the plot area's width and height in cells
-- when the y labels are ylabels (strings) and extra lines (title, notes)
-- take part of the height: a frame takes the labels' width + 2 columns (a
-- space and the axis) and 2 lines (the x axis and its labels).
function M.layout(fn, caps, ylabels, extra)
  local margin = 0
  for _, l in ipairs(ylabels) do margin = math.max(margin, utf8.len(l)) end
  local pw, ph = caps.width - margin - 2, caps.height - 2 - extra
  if pw < 1 or ph < 1 then
    error(string.format("%s: a plot of %d x %d characters leaves no room to draw (width and "
                          .. "height must leave at least 1 column and 1 row inside the axes)",
                        fn, caps.width, caps.height), 3)
  end
  return margin, pw, ph
end

-- frame(rows, o): the plot rows inside axes, as one string with a final
-- newline. o.margin (label width), o.ylabels = {top, bottom},
-- o.xlabels = {left, right}, o.title, o.notes (lines under the plot),
-- o.unicode.
function M.frame(rows, o)
  local u = o.unicode
  local lines = {}
  if o.title then lines[1] = o.title end
  local pad = string.rep(" ", o.margin)
  for i, row in ipairs(rows) do
    local label = i == 1 and o.ylabels[1] or i == #rows and o.ylabels[2] or nil
    if label then
      lines[#lines + 1] = string.rep(" ", o.margin - utf8.len(label)) .. label
        .. (u and " ┤" or " +") .. row
    else
      lines[#lines + 1] = pad .. (u and " │" or " |") .. row
    end
  end
  local pw = o.width
  lines[#lines + 1] = pad .. (u and " └" or " +") .. string.rep(u and "─" or "-", pw)
  local left, right = o.xlabels[1], o.xlabels[2]
  local gap = math.max(1, pw - #left - #right)
  lines[#lines + 1] = pad .. "  " .. left .. string.rep(" ", gap) .. right
  for _, n in ipairs(o.notes or {}) do lines[#lines + 1] = n end
  return table.concat(lines, "\n") .. "\n"
end

return M
