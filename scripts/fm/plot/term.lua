-- fm.plot.term: plots drawn with characters in the terminal, for the REPL
-- and for training loops (docs/plots.md, "Plots in the terminal").
--
--   fm.plot.term.scatter(x [, opts])       x an (n, 2) set of points
--   fm.plot.term.curve(y [, opts])         values against their index (or opts.x)
--   fm.plot.term.curve(x, y [, opts])
--   fm.plot.term.hist(x [, opts])          a histogram of n values
--   fm.plot.term.heatmap(z or f [, opts])  a matrix, or f(points) over a box
--
-- Each prints the plot and returns nothing, so the REPL does not echo it a
-- second time; with opts.print = false it returns the plot as a string, with
-- a table of what was left out ({nonfinite =, outside =}).
-- Scatters and curves are drawn with braille dots (2 x 4 per character),
-- histograms with eighth blocks, heatmaps with half blocks in colour or
-- shades without; opts.ascii = true (or a terminal without UTF-8) draws them
-- with ASCII characters instead.
local fm = require "fm"
local terminal = require "fm.plot.terminal"
local canvas = require "fm.plot.canvas"
local bin = require "fm.plot.binning"
local M = {}

local number = canvas.number

-- The plot printed, or with opts.print == false returned as text.
local function finish(opts, s, info)
  if opts.print == false then return s, info end
  io.stdout:write(s)
  io.stdout:flush()
end

-- The braille (or ASCII) characters of the cells of a dot raster.
-- ascii(bits, k) gives a cell's ASCII character.
local function dots_grid(caps, counts, pw, ph, ascii)
  local bits, sums = canvas.braille_cells(counts, pw, ph)
  local g = canvas.grid(pw, ph)
  for k = 1, pw * ph do
    if bits[k] > 0 then g.ch[k] = caps.unicode and canvas.braille(bits[k]) or ascii(bits[k], k) end
  end
  return g, sums
end

-- ASCII density of a cell by the number of its dots that are on.
local density_chars = {".", ".", ":", ":", "o", "o", "#", "#"}
local function ascii_density(b) return density_chars[canvas.dots_on(b)] end

-- The distinct values of a label vector, sorted.
local function distinct(labels)
  local seen, list = {}, {}
  for _, v in ipairs(labels:totable()) do
    if not seen[v] then seen[v] = true; list[#list + 1] = v end
  end
  table.sort(list)
  return list
end

local label_symbols = {"*", "o", "+", "x", "#", "@", "%", "&", "=", "~"}

-- Colours (and ASCII symbols) of labelled points: each cell takes the label
-- with the most points among its dots; the legend names them.
local max_labels = 64
local function paint_labels(caps, g, labels, index, keep, size, notes)
  local values = distinct(labels)
  if #values > max_labels then
    error(string.format("fm.plot.term.scatter: labels has %d distinct values, at most %d "
                          .. "(a label is a class, not a value to colour by)", #values, max_labels), 3)
  end
  local best, owner = {}, {}
  for i, v in ipairs(values) do
    local _, sums = canvas.braille_cells(bin.count(index, keep, size, labels:eq(v)), g.w, g.h)
    for k = 1, g.w * g.h do
      if sums[k] > (best[k] or 0) then best[k], owner[k] = sums[k], i end
    end
  end
  local legend = {}
  for i, v in ipairs(values) do
    local colour = terminal.palette[(i - 1) % #terminal.palette + 1]
    local symbol = label_symbols[(i - 1) % #label_symbols + 1]
    local mark = caps.unicode and "⣿" or symbol
    if caps.depth then mark = terminal.fg(caps.depth, colour) .. mark .. terminal.reset end
    legend[#legend + 1] = mark .. " " .. number(v)
    for k = 1, g.w * g.h do
      if owner[k] == i then
        if caps.depth then g.fg[k] = colour end
        if not caps.unicode then g.ch[k] = symbol end
      end
    end
  end
  table.insert(notes, 1, table.concat(legend, "  "))
end

-- Unlabelled points in colour: the cell's count on viridis, log scaled, from
-- 0.3 up (the darkest end of viridis does not show on a dark background).
local function paint_density(caps, g, sums)
  local top = 0
  for k = 1, g.w * g.h do top = math.max(top, sums[k]) end
  for k = 1, g.w * g.h do
    if sums[k] > 0 then
      g.fg[k] = terminal.viridis(0.3 + 0.7 * math.log(1 + sums[k]) / math.log(1 + top))
    end
  end
end

-- scatter(x [, opts]): x an (n, 2) tensor (or table) of points. opts.xlim,
-- opts.ylim ({lo, hi}; the data's extent by default), opts.labels (one value
-- per point: coloured by label, with a legend), opts.title, and the common
-- options (width, height, ascii, color, print).
function M.scatter(x, opts)
  local fn = "fm.plot.term.scatter"
  opts = bin.opts(opts, fn)
  x = bin.double(x, fn, "x")
  if x:dim() ~= 2 or x:shape()[2] ~= 2 then
    error(string.format("%s: x must be an (n, 2) tensor of points, got %s", fn, bin.shape(x)), 2)
  end
  local n = x:shape()[1]
  if n == 0 then error(fn .. ": x is empty (0 points)", 2) end
  local labels = opts.labels ~= nil and bin.vector(opts.labels, fn, "labels") or nil
  if labels and labels:shape()[1] ~= n then
    error(string.format("%s: labels must hold one value per point (%d), got %d", fn, n,
                        labels:shape()[1]), 2)
  end
  if labels and bin.total(labels:isfinite()) < n then
    error(fn .. ": labels must be finite numbers (a NaN or inf label has no colour)", 2)
  end
  local caps = terminal.caps(opts)
  local px, py = x:select(2, 1), x:select(2, 2)
  local ok = x:isfinite():sum(2):eq(2)
  local good = bin.total(ok)
  if good == 0 then error(string.format("%s: x has no finite points (all %d have NaN or inf)", fn, n), 2) end
  local xlim = bin.range(px, ok, bin.lim(opts.xlim, fn, "xlim"))
  local ylim = bin.range(py, ok, bin.lim(opts.ylim, fn, "ylim"))
  local keep = ok * bin.inside(px, xlim) * bin.inside(py, ylim)
  local outside = good - bin.total(keep)
  local notes = bin.notes(n - good, outside, "points")
  local ylabels = {number(ylim[2]), number(ylim[1])}
  local extra = #notes + (opts.title and 1 or 0) + (labels and 1 or 0)
  local margin, pw, ph = canvas.layout(fn, caps, ylabels, extra)
  local dw = 2 * pw
  local index = bin.cell(py, ylim, 4 * ph, true) * dw + bin.cell(px, xlim, dw)
  local counts = bin.count(index, keep, dw * 4 * ph)
  local g, sums = dots_grid(caps, counts, pw, ph, ascii_density)
  if labels then paint_labels(caps, g, labels, index, keep, dw * 4 * ph, notes)
  elseif caps.depth then paint_density(caps, g, sums) end
  local s = canvas.frame(canvas.rows(g, caps.depth), {
    margin = margin, width = pw, ylabels = ylabels, unicode = caps.unicode,
    xlabels = {number(xlim[1]), number(xlim[2])}, title = opts.title, notes = notes})
  return finish(opts, s, {nonfinite = n - good, outside = outside})
end

-- ASCII for a curve's cell, by the rows of its lit dots: "|" when they span
-- the cell, else "'", "-" or "." as their middle is high, central or low.
local row_bits = {0x09, 0x12, 0x24, 0xC0}
local function ascii_line(b)
  local lo, hi
  for r = 1, 4 do
    if b & row_bits[r] ~= 0 then lo, hi = lo or r, r end
  end
  if hi - lo >= 3 then return "|" end
  local mid = (lo + hi) / 2
  return mid < 2 and "'" or mid > 3 and "." or "-"
end

local function is_values(v) return fm.is_tensor(v) or type(v) == "table" and v[1] ~= nil end

-- curve(y [, opts]) or curve(x, y [, opts]): y against x (opts.x, or the
-- index 1..n), points joined by lines of braille dots; NaN and inf values are
-- skipped (the line breaks there). opts.xlim, opts.ylim, opts.ylog (log10
-- of y; values <= 0 are skipped too), opts.title, and the common options.
function M.curve(a, b, c)
  local fn = "fm.plot.term.curve"
  local x, y, opts
  if is_values(b) then x, y, opts = a, b, c else y, opts = a, b end
  opts = bin.opts(opts, fn)
  y = bin.vector(y, fn, "y")
  local n = y:shape()[1]
  x = x or opts.x
  x = x ~= nil and bin.vector(x, fn, "x") or fm.arange(1, n + 1):to("float64")
  if x:shape()[1] ~= n then
    error(string.format("%s: x and y must have the same length, got %d and %d", fn, x:shape()[1], n), 2)
  end
  if opts.ylog then y = fm.where(y:gt(0), y, 0 / 0):log() / math.log(10) end
  local caps = terminal.caps(opts)
  local ok = x:isfinite() * y:isfinite()
  local good = bin.total(ok)
  if good == 0 then
    error(string.format("%s: y has no finite values%s (all %d)", fn, opts.ylog and " > 0" or "", n), 2)
  end
  local xlim = bin.range(x, ok, bin.lim(opts.xlim, fn, "xlim"))
  local ylim = bin.lim(opts.ylim, fn, "ylim")
  if ylim and opts.ylog then
    if ylim[1] <= 0 then error(fn .. ": ylim must be positive with ylog", 2) end
    ylim = {math.log(ylim[1], 10), math.log(ylim[2], 10)}
  end
  ylim = bin.range(y, ok, ylim)
  local notes = bin.notes(n - good, 0, opts.ylog and "values (<= 0)" or "values")
  local yl = function(v) return number(opts.ylog and 10 ^ v or v) end
  local ylabels = {yl(ylim[2]), yl(ylim[1])}
  local margin, pw, ph = canvas.layout(fn, caps, ylabels, #notes + (opts.title and 1 or 0))
  local dw, dh = 2 * pw, 4 * ph
  -- dot coordinates unclamped (a line leaving the limits is cut at the edge)
  local gx = ((x - xlim[1]) * ((dw - 1) / (xlim[2] - xlim[1]))):round():totable()
  local gy = ((ylim[2] - y) * ((dh - 1) / (ylim[2] - ylim[1]))):round():totable()
  local counts = {}
  for k = 1, dw * dh do counts[k] = 0 end
  canvas.trace(counts, dw, dh, gx, gy, ok:totable())
  local g = dots_grid(caps, counts, pw, ph, ascii_line)
  if caps.depth then
    for k = 1, pw * ph do if g.ch[k] then g.fg[k] = terminal.palette[1] end end
  end
  local s = canvas.frame(canvas.rows(g, caps.depth), {
    margin = margin, width = pw, ylabels = ylabels, unicode = caps.unicode,
    xlabels = {number(xlim[1]), number(xlim[2])}, title = opts.title, notes = notes})
  return finish(opts, s, {nonfinite = n - good})
end

local eighths = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"}

-- The bars of a histogram in a grid: bin i takes columns (i-1)*cw+1 .. i*cw;
-- its height in eighths of a row is round(count / top * 8 ph), at least one
-- eighth for a nonzero count (a lone value in a tail stays visible). ASCII
-- has whole rows of "#" only, and "." for a nonzero bar under half a row.
local function bars(caps, counts, top, cw, pw, ph)
  local g, unit = canvas.grid(pw, ph), caps.unicode and 8 or 1
  for i, c in ipairs(counts) do
    local h = math.floor(c / top * ph * unit + 0.5)
    if c > 0 and h == 0 then h = caps.unicode and 1 or -1 end
    for r = 1, ph do   -- r = 1 the bottom row
      local level = h < 0 and r == 1 and "." or nil
      local fill = math.max(0, math.min(unit, h - (r - 1) * unit))
      if fill > 0 then level = caps.unicode and eighths[fill] or "#" end
      if level then
        for col = (i - 1) * cw + 1, i * cw do
          local k = (ph - r) * pw + col
          g.ch[k], g.fg[k] = level, caps.depth and terminal.palette[1] or nil
        end
      end
    end
  end
  return g
end

-- hist(x [, opts]): a histogram of the values of x (a vector, (n) or (n, 1)).
-- opts.bins (default min(40, ceil(sqrt n)), at most the plot's width; each
-- bin is as many columns wide as fit), opts.range = {lo, hi} (the data's
-- extent by default; the top edge is in the last bin, as numpy.histogram),
-- opts.density (bar heights as a density: count / (n_in * bin width)),
-- opts.title, and the common options. Returns the string and {counts =,
-- edges =, nonfinite =, outside =}.
function M.hist(x, opts)
  local fn = "fm.plot.term.hist"
  opts = bin.opts(opts, fn)
  x = bin.vector(x, fn, "x")
  local n = x:shape()[1]
  local caps = terminal.caps(opts)
  local ok = x:isfinite()
  local good = bin.total(ok)
  if good == 0 then error(string.format("%s: x has no finite values (all %d are NaN or inf)", fn, n), 2) end
  local range = bin.range(x, ok, bin.lim(opts.range, fn, "range"))
  local keep = ok * bin.inside(x, range)
  local inside = bin.total(keep)
  local notes = bin.notes(n - good, good - inside, "values")
  -- the y labels depend on the counts, the counts on the bins, the bins on
  -- the width: count with the bins asked for (or the default), then lay out
  local nbins = opts.bins or math.min(40, math.ceil(math.sqrt(inside)))
  if math.type(nbins) ~= "integer" or nbins < 1 then
    error(string.format("%s: bins must be a positive integer, got %s", fn, tostring(opts.bins)), 2)
  end
  local counts = bin.count(bin.cell(x, range, nbins), keep, nbins)
  local top = math.max(1, table.unpack(counts))
  local width = (range[2] - range[1]) / nbins
  local ytop = opts.density and top / (math.max(inside, 1) * width) or math.tointeger(top)
  local ylabels = {number(ytop), "0"}
  local margin, pw, ph = canvas.layout(fn, caps, ylabels, #notes + (opts.title and 1 or 0))
  if nbins > pw then
    error(string.format("%s: %d bins do not fit in %d columns (ask for fewer bins or a wider plot)",
                        fn, nbins, pw), 2)
  end
  local cw = pw // nbins
  local g = bars(caps, counts, top, cw, cw * nbins, ph)
  local s = canvas.frame(canvas.rows(g, caps.depth), {
    margin = margin, width = cw * nbins, ylabels = ylabels, unicode = caps.unicode,
    xlabels = {number(range[1]), number(range[2])}, title = opts.title, notes = notes})
  local edges = {}
  for i = 0, nbins do edges[i + 1] = range[1] + i * width end
  return finish(opts, s, {counts = counts, edges = edges, nonfinite = n - good, outside = good - inside})
end

-- Shades from low to high, without colour.
local shades = {unicode = {" ", "░", "▒", "▓", "█"}, ascii = {" ", ".", ":", "-", "=", "+", "*", "#", "%", "@"}}

-- block_means(z, rows, cols, py, px): z (a Lua matrix) averaged over the
-- py x px blocks that tile it (each pixel the mean of the finite values it
-- covers; NaN when it covers none).
local function block_means(z, rows, cols, py, px)
  local out = {}
  for i = 1, py do
    local r0, r1 = (i - 1) * rows // py + 1, math.max((i - 1) * rows // py + 1, i * rows // py)
    for j = 1, px do
      local c0, c1 = (j - 1) * cols // px + 1, math.max((j - 1) * cols // px + 1, j * cols // px)
      local sum, k = 0, 0
      for r = r0, r1 do
        for c = c0, c1 do
          local v = z[r][c]
          if v == v and v ~= math.huge and v ~= -math.huge then sum, k = sum + v, k + 1 end
        end
      end
      out[(i - 1) * px + j] = k > 0 and sum / k or 0 / 0
    end
  end
  return out
end

-- field_values(f, opts, fn, px, py): f at the centres of a px x py grid of
-- pixels over opts.xlim x opts.ylim ({-3, 3} each by default), the top row
-- first, in one call. f is a function of an (m, 2) tensor (and opts.t when
-- given) giving m values, or (m, d) vectors (drawn as their norms), or an
-- object with :log_prob (drawn as its density, or the log-density with opts.log).
local function field_values(f, opts, fn, px, py, xlim, ylim)
  local gx = (fm.arange(0, px):to("float64") + 0.5) * ((xlim[2] - xlim[1]) / px) + xlim[1]
  local gy = ylim[2] - (fm.arange(0, py):to("float64") + 0.5) * ((ylim[2] - ylim[1]) / py)
  local pts = fm.stack({gx:unsqueeze(1):expand(py, px):reshape(px * py),
                        gy:unsqueeze(2):expand(py, px):reshape(px * py)}, 2):float()
  local v
  if type(f) == "function" then v = f(pts, opts.t)
  else v = f:log_prob(pts); if not opts.log then v = v:exp() end end
  if not fm.is_tensor(v) or v:shape()[1] ~= px * py or v:dim() > 2 then
    error(string.format("%s: f must return %d values (one per grid point), got %s", fn, px * py,
                        fm.is_tensor(v) and bin.shape(v) or type(v)), 3)
  end
  v = v:detach():to("float64")
  if v:dim() == 2 then v = v:shape()[2] == 1 and v:select(2, 1) or v:norm(2, 2):reshape(px * py) end
  return v:totable()
end

-- The pixel values on the grid: in Unicode colour, half blocks ("▀", the top
-- pixel as the foreground, the bottom one as the background); in ASCII
-- colour, a space on the pixel's colour; else one shade per cell.
local function paint_heat(caps, vals, lo, hi, pw, ph)
  local g = canvas.grid(pw, ph)
  local function u(v) return hi > lo and (v - lo) / (hi - lo) or 0.5 end
  local function colour(v) return v == v and terminal.viridis(u(v)) or nil end
  local set = caps.unicode and shades.unicode or shades.ascii
  for r = 0, ph - 1 do
    for c = 1, pw do
      local k = r * pw + c
      if caps.depth and caps.unicode then
        g.ch[k], g.fg[k], g.bg[k] = "▀", colour(vals[2 * r * pw + c]), colour(vals[(2 * r + 1) * pw + c])
      elseif caps.depth then
        g.bg[k] = colour(vals[k])
      elseif vals[k] == vals[k] then
        g.ch[k] = set[math.min(#set, math.floor(u(vals[k]) * #set) + 1)]
      end
    end
  end
  return g
end

-- The scale under a heatmap: its shades (or colours) from lo to hi.
local function scale(caps, lo, hi)
  local marks = {}
  if caps.depth then
    for i = 0, 7 do
      marks[#marks + 1] = terminal.bg(caps.depth, terminal.viridis(i / 7)) .. " " .. terminal.reset
    end
  else
    marks = caps.unicode and shades.unicode or shades.ascii
    marks = {table.unpack(marks, 2)}
  end
  return string.format("%s %s %s", number(lo), table.concat(marks), number(hi))
end

-- heatmap(z or f [, opts]): z a 2-D tensor (rows drawn from the top, as a
-- matrix; opts.xlim/ylim only label the axes; block means when z is larger
-- than the plot, a smaller z takes a smaller plot), or a function or density
-- over the box opts.xlim x opts.ylim (see field_values). opts.range = {lo,
-- hi} of the colour scale (the finite values' extent by default), opts.log
-- (a density's log_prob instead of its density), opts.title, and the common
-- options.
function M.heatmap(z, opts)
  local fn = "fm.plot.term.heatmap"
  opts = bin.opts(opts, fn)
  local is_field = type(z) == "function" or (type(z) == "table" or type(z) == "userdata")
    and not fm.is_tensor(z) and z.log_prob ~= nil
  local caps = terminal.caps(opts)
  local rows, cols
  if not is_field then
    z = bin.double(z, fn, "z")
    if z:dim() ~= 2 or z:numel() == 0 then
      error(string.format("%s: z must be a non-empty 2-D tensor (or f a function of points), got %s",
                          fn, bin.shape(z)), 2)
    end
    rows, cols = z:shape()[1], z:shape()[2]
  end
  local xlim = bin.lim(opts.xlim, fn, "xlim") or (is_field and {-3, 3} or {1, cols})
  local ylim = bin.lim(opts.ylim, fn, "ylim") or (is_field and {-3, 3} or {rows, 1})
  local ylabels = {number(ylim[2]), number(ylim[1])}
  if not is_field and not opts.ylim then ylabels = {"1", tostring(rows)} end
  local margin, pw, ph = canvas.layout(fn, caps, ylabels, 1 + (opts.title and 1 or 0))
  local sub = (caps.depth and caps.unicode) and 2 or 1   -- pixel rows per cell
  if not is_field then pw, ph = math.min(pw, cols), math.min(ph, (rows + sub - 1) // sub) end
  local px, py = pw, ph * sub
  local vals = is_field and field_values(z, opts, fn, px, py, xlim, ylim)
    or block_means(z:totable(), rows, cols, math.min(py, rows), px)
  local lo, hi, bad = math.huge, -math.huge, 0
  for k = 1, px * py do
    local v = vals[k]
    if v == nil then vals[k] = 0 / 0   -- under an odd last row
    elseif v ~= v or v == math.huge or v == -math.huge then vals[k], bad = 0 / 0, bad + 1
    else lo, hi = math.min(lo, v), math.max(hi, v) end
  end
  if lo > hi then error(fn .. ": no finite values to draw", 2) end
  local range = bin.lim(opts.range, fn, "range") or {lo, hi}
  local notes = {scale(caps, range[1], range[2])}
  if bad > 0 then notes[2] = string.format("%d pixels with NaN or inf left blank", bad) end
  local g = paint_heat(caps, vals, range[1], range[2], pw, ph)
  local xlabels = {number(xlim[1]), number(xlim[2])}
  if not is_field and not opts.xlim then xlabels = {"1", tostring(cols)} end
  local s = canvas.frame(canvas.rows(g, caps.depth), {
    margin = margin, width = pw, ylabels = ylabels, unicode = caps.unicode,
    xlabels = xlabels, title = opts.title, notes = notes})
  return finish(opts, s, {nonfinite = bad})
end

return M
