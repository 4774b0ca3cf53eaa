-- fm.plot.term: exact text for small inputs (the braille dots, bar heights
-- and shades each point or count must give, worked out by hand from the
-- Unicode braille numbering and the layout rules of docs/plots.md), the
-- ASCII and colour variants, terminal detection, the loss curve of
-- fm.progress, and errors that name the argument.
local fm = require "fm"
local term = fm.plot.term
local terminal = require "fm.plot.terminal"

-- options for a plot that is only returned, uncoloured, in Unicode
local function o(t)
  t = t or {}
  t.print = false
  if t.color == nil then t.color = false end
  if t.ascii == nil then t.ascii = false end
  return t
end

local function lines(...) return table.concat({...}, "\n") .. "\n" end

local function err(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok)
  return tostring(e)
end

describe("fm.plot.term.scatter", function()
  it("puts each point in its braille dot", function()
    -- 6 x 4 characters: labels "1"/"0" (1 wide) + " ┤" leave 3 x 2 cells,
    -- 6 x 8 dots. (0, 1) is dot (0, 0) of cell 1 (U+2801); (0.5, 0.5) is
    -- dot column 3, row 4: cell (1, 1), its right column, top row (U+2808);
    -- (1, 0) is the last dot (5, 7): cell (2, 1), right column, bottom row (U+2880).
    local s = term.scatter(fm.tensor{{0, 1}, {0.5, 0.5}, {1, 0}}, o{width = 6, height = 4})
    assert.are.equal(lines("1 ┤⠁  ", "0 ┤ ⠈⢀", "  └───", "   0 1"), s)
  end)

  it("numbers the 8 dots of a cell as Unicode does", function()
    -- one cell (4 x 3 characters): dot (c, r) at x = (c + 0.5) / 2, y = 1 - (r + 0.5) / 4
    local bits = {[0] = {0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}}
    local all = {}
    for c = 0, 1 do
      for r = 0, 3 do
        local p = {(c + 0.5) / 2, 1 - (r + 0.5) / 4}
        all[#all + 1] = p
        local s = term.scatter({p}, o{width = 4, height = 3, xlim = {0, 1}, ylim = {0, 1}})
        assert.are.equal(lines("1 ┤" .. utf8.char(0x2800 + bits[c][r + 1]), "  └─", "   0 1"), s)
      end
    end
    local s = term.scatter(all, o{width = 4, height = 3, xlim = {0, 1}, ylim = {0, 1}})
    assert.are.equal("1 ┤⣿\n", s:sub(1, #"1 ┤⣿\n"))
  end)

  it("falls back to ASCII density characters", function()
    local s = term.scatter(fm.tensor{{0, 1}, {0.5, 0.5}, {1, 0}}, o{width = 6, height = 4, ascii = true})
    assert.are.equal(lines("1 +.  ", "0 + ..", "  +---", "   0 1"), s)
    -- 8 dots of one cell on: "#"
    local x = {}
    for c = 0, 1 do for r = 0, 3 do x[#x + 1] = {(c + 0.5) / 2, 1 - (r + 0.5) / 4} end end
    s = term.scatter(x, o{width = 4, height = 3, ascii = true, xlim = {0, 1}, ylim = {0, 1}})
    assert.are.equal(lines("1 +#", "  +-", "   0 1"), s)
  end)

  it("marks labels with symbols and a legend", function()
    local x = fm.tensor{{0, 1}, {1, 0}}
    local s = term.scatter(x, o{width = 6, height = 5, ascii = true, labels = {3, 7}})
    assert.are.equal(lines("1 +*  ", "0 +  o", "  +---", "   0 1", "* 3  o 7"), s)
    -- a cell takes the label with more points in it
    s = term.scatter(fm.tensor{{0, 1}, {0, 1}, {0.01, 0.99}, {1, 0}},
                     o{width = 6, height = 5, ascii = true, labels = fm.tensor{2, 1, 1, 2}})
    assert.are.equal("1 +*  \n", s:sub(1, 7))
  end)

  it("colours labels from the palette in 24-bit colour", function()
    local s = term.scatter(fm.tensor{{0, 1}, {1, 0}}, o{width = 6, height = 5, labels = {1, 2}, color = 24})
    local blue, orange = "\27[38;2;31;119;180m", "\27[38;2;255;127;14m"
    assert.are.equal(lines("1 ┤" .. blue .. "⠁\27[0m  ", "0 ┤  " .. orange .. "⢀\27[0m", "  └───",
                           "   0 1", blue .. "⣿\27[0m 1  " .. orange .. "⣿\27[0m 2"), s)
  end)

  it("skips NaN points and points outside the limits, with counts", function()
    local x = fm.tensor{{0, 1}, {0 / 0, 0}, {1, 1 / 0}, {5, 0.5}, {1, 0}}
    local s, info = term.scatter(x, o{width = 6, height = 5, xlim = {0, 1}, ylim = {0, 1}})
    assert.are.equal(2, info.nonfinite)
    assert.are.equal(1, info.outside)
    assert.are.equal(lines("1 ┤⠁  ", "0 ┤  ⢀", "  └───", "   0 1",
                           "2 points with NaN or inf skipped; 1 outside the limits"), s)
  end)

  it("bins 10^5 points as a direct count does", function()
    fm.seed(7)
    local n = 100000
    local x = fm.randn(n, 2)
    -- 10 x 4 cells; one line of notes (points outside the limits)
    local s = term.scatter(x, o{width = 14, height = 7, xlim = {-2, 2}, ylim = {-2, 2}})
    -- the dots that must be on, counted point by point in Lua
    local on, t = {}, x:double():totable()
    for _, p in ipairs(t) do
      if p[1] >= -2 and p[1] <= 2 and p[2] >= -2 and p[2] <= 2 then
        local dx = math.min(19, math.floor((p[1] - -2) * (20 / 4)))
        local dy = math.min(15, math.floor((2 - p[2]) * (16 / 4)))
        on[dy * 20 + dx] = true
      end
    end
    local bits = {[0] = {[0] = 0x01, 0x02, 0x04, 0x40}, {[0] = 0x08, 0x10, 0x20, 0x80}}
    local rows = {}
    for cy = 0, 3 do
      local row = {}
      for cx = 0, 9 do
        local b = 0
        for r = 0, 3 do for c = 0, 1 do
          if on[(4 * cy + r) * 20 + 2 * cx + c] then b = b | bits[c][r] end
        end end
        row[#row + 1] = b > 0 and utf8.char(0x2800 + b) or " "
      end
      rows[#rows + 1] = table.concat(row)
    end
    local got = {}
    for line in s:gmatch("[^\n]+") do got[#got + 1] = line end
    for i = 1, 4 do assert.are.equal(rows[i], got[i]:sub(#"-2 ┤" + 1)) end
  end)

  it("raises errors that name the argument", function()
    assert.matches("x must be an %(n, 2%) tensor of points, got %(3, 3%)",
                   err(term.scatter, fm.zeros(3, 3), o()))
    assert.matches("x is empty", err(term.scatter, fm.zeros(0, 2), o()))
    assert.matches("x has no finite points %(all 2", err(term.scatter, fm.full(2, 2, 0 / 0), o()))
    assert.matches("labels must hold one value per point %(2%), got 3",
                   err(term.scatter, fm.zeros(2, 2), o{labels = {1, 2, 3}}))
    assert.matches("labels must be finite numbers", err(term.scatter, fm.zeros(2, 2), o{labels = {1, 0 / 0}}))
    assert.matches("labels has 100 distinct values, at most 64",
                   err(term.scatter, fm.zeros(100, 2), o{labels = fm.arange(0, 100)}))
    assert.matches("xlim must be {lo, hi} with lo < hi", err(term.scatter, fm.zeros(2, 2), o{xlim = {1, 0}}))
    assert.matches("x must be a tensor or a table of numbers, got string", err(term.scatter, "x", o()))
    assert.matches("options table expected, got number", err(term.scatter, fm.zeros(2, 2), 3))
    assert.matches("leaves no room to draw", err(term.scatter, fm.zeros(2, 2), o{width = 3}))
    assert.matches("color must be true, false, 16, 256 or 24, got red",
                   err(term.scatter, fm.zeros(2, 2), {color = "red", print = false}))
    assert.matches("width must be a positive integer, got 0",
                   err(term.scatter, fm.zeros(2, 2), o{width = 0}))
  end)

  it("prints what print = false returns, and then returns nothing", function()
    local out = {}
    local saved = io.stdout
    local x, o4 = fm.tensor{{0, 1}, {1, 0}}, {width = 6, height = 4, color = false, ascii = true}
    io.stdout = {write = function(_, s) out[#out + 1] = s end, flush = function() end}
    local ok, n, r = pcall(function(...) return select("#", ...), ... end, term.scatter(x, o4))
    io.stdout = saved
    assert.is_true(ok, r)
    assert.are.equal(0, n)
    o4.print = false
    assert.are.equal(term.scatter(x, o4), table.concat(out))
  end)
end)

describe("fm.plot.term.curve", function()
  it("joins the points with braille lines", function()
    -- 5 x 3: one row of 2 cells (4 x 4 dots); (1, 1) -> dot (0, 3), (2, 2) ->
    -- dot (3, 0); Bresenham passes (1, 2) and (2, 1): cell 1 has dots 7 and 6
    -- (0x40 + 0x20, U+2860), cell 2 dots 2 and 4 (0x02 + 0x08, U+280A).
    assert.are.equal(lines("2 ┤⡠⠊", "  └──", "   1 2"), term.curve({1, 2}, o{width = 5, height = 3}))
    assert.are.equal(lines("2 ┤⡠⠊", "  └──", "   1 2"), term.curve({1, 2}, {1, 2}, o{width = 5, height = 3}))
    -- ASCII: cell 1 lit in rows 3-4 (low, "."), cell 2 in rows 1-2 (high, "'")
    assert.are.equal(lines("2 +.'", "  +--", "   1 2"), term.curve({1, 2}, o{width = 5, height = 3, ascii = true}))
  end)

  it("draws a flat line along one dot row", function()
    -- a constant is centred in a range of 1: y = 5 in [4.5, 5.5] is dot row
    -- round(0.5 * 7) = 4 (ties to even), the top row of the second cell row
    local s = term.curve({5, 5, 5}, o{width = 7, height = 4})
    assert.are.equal(lines("5.5 ┤  ", "4.5 ┤⠉⠉", "    └──", "     1 3"), s)
  end)

  it("lights the same dots as drawing every segment, in runs per column", function()
    local canvas = require "fm.plot.canvas"
    fm.seed(5)
    local n, dw, dh = 3000, 16, 12
    local gx = (fm.rand(n) * (dw + 4) - 2):floor():totable()  -- some outside the raster
    local gy = (fm.rand(n) * (dh + 4) - 2):floor():totable()
    table.sort(gx)                                             -- many points per column
    local ok = fm.rand(n):gt(0.05):totable()                   -- and breaks
    local fast, slow = {}, {}
    for k = 1, dw * dh do fast[k], slow[k] = 0, 0 end
    canvas.trace(fast, dw, dh, gx, gy, ok)
    for i = 1, n do
      if ok[i] == 1 then
        local j = (i > 1 and ok[i - 1] == 1) and i - 1 or i
        canvas.line(slow, dw, dh, gx[j], gy[j], gx[i], gy[i])
      end
    end
    for k = 1, dw * dh do assert.are.equal(slow[k] > 0, fast[k] > 0) end
  end)

  it("skips NaN and, with ylog, values <= 0", function()
    local s, info = term.curve({1, 0 / 0, 3}, o{width = 20, height = 6})
    assert.are.equal(1, info.nonfinite)
    assert.matches("1 values with NaN or inf skipped\n$", s)
    s, info = term.curve({1, -1, 10, 100}, o{width = 20, height = 6, ylog = true})
    assert.are.equal(1, info.nonfinite)
    assert.matches("^100 ┤", s)
    assert.matches("\n  1 ┤", s)
  end)

  it("raises errors that name the argument", function()
    assert.matches("x and y must have the same length, got 2 and 3", err(term.curve, {1, 2}, {1, 2, 3}, o()))
    assert.matches("y must be a vector %(n%) or %(n, 1%), got %(2, 2%)", err(term.curve, fm.zeros(2, 2), o()))
    assert.matches("y is empty", err(term.curve, {}, o()))
    assert.matches("y has no finite values > 0", err(term.curve, {-1, 0}, o{ylog = true}))
  end)
end)

describe("fm.plot.term.hist", function()
  it("draws bars of the counts' heights", function()
    -- counts 1, 2, 3 over 3 rows: 8, 16 and 24 eighths, whole rows
    local s, info = term.hist({1, 2, 2, 3, 3, 3}, o{width = 6, height = 5, bins = 3})
    assert.are.same({1, 2, 3}, info.counts)
    assert.are.equal(lines("3 ┤  █", "  │ ██", "0 ┤███", "  └───", "   1 3"), s)
    assert.are.equal(lines("3 +  #", "  | ##", "0 +###", "  +---", "   1 3"),
                     term.hist({1, 2, 2, 3, 3, 3}, o{width = 6, height = 5, bins = 3, ascii = true}))
  end)

  it("draws eighths of a row, and a nonzero bar never vanishes", function()
    -- counts 1 and 4 in one row: 1/4 of 8 eighths = 2 (U+2582)
    assert.are.equal(lines("4 ┤▂█", "  └──", "   0 1"),
                     term.hist({0, 1, 1, 1, 1}, o{width = 5, height = 3, bins = 2}))
    -- 1 of 100 in one row is 0.08 eighths: still one eighth; "." in ASCII
    local x = {0}
    for i = 2, 101 do x[i] = 1 end
    assert.are.equal("100 ┤▁█\n", term.hist(x, o{width = 7, height = 3, bins = 2}):sub(1, #"100 ┤▁█\n"))
    assert.are.equal("100 +.#\n", term.hist(x, o{width = 7, height = 3, bins = 2, ascii = true}):sub(1, #"100 +.#\n"))
  end)

  it("gives each bin as many columns as fit", function()
    local s = term.hist({1, 2, 2}, o{width = 9, height = 3, bins = 2})
    assert.are.equal(lines("2 ┤▄▄▄███", "  └──────", "   1    2"), s)
  end)

  it("counts as a direct count does, numpy's convention for the last edge", function()
    fm.seed(3)
    local x = fm.randn(20000)
    local _, info = term.hist(x, o{width = 60, height = 10, bins = 16, range = {-2, 2}})
    local want = {}
    for i = 1, 16 do want[i] = 0 end
    local outside = 0
    for _, v in ipairs(x:double():totable()) do
      if v >= -2 and v <= 2 then
        local b = math.min(16, math.floor((v + 2) / 4 * 16) + 1)
        want[b] = want[b] + 1
      else outside = outside + 1 end
    end
    assert.are.same(want, info.counts)
    assert.are.equal(outside, info.outside)
    assert.are.equal(-2, info.edges[1])
    assert.are.equal(2, info.edges[17])
  end)

  it("scales to a density", function()
    -- counts 1, 2, 3 of 6 in bins of width 2/3: the top is 3 / (6 * 2/3) = 0.75
    local s = term.hist({1, 2, 2, 3, 3, 3}, o{width = 9, height = 5, bins = 3, density = true})
    assert.matches("^0.75 ┤", s)
  end)

  it("skips NaN with a count and raises errors that name the argument", function()
    local s, info = term.hist({1, 0 / 0, 2, 1 / 0}, o{width = 10, height = 5, bins = 2})
    assert.are.equal(2, info.nonfinite)
    assert.matches("2 values with NaN or inf skipped\n$", s)
    assert.matches("x is empty", err(term.hist, fm.zeros(0), o()))
    assert.matches("x must be a vector %(n%) or %(n, 1%), got %(2, 3%)", err(term.hist, fm.zeros(2, 3), o()))
    assert.matches("x has no finite values", err(term.hist, {0 / 0}, o()))
    assert.matches("bins must be a positive integer, got 2.5", err(term.hist, {1, 2}, o{bins = 2.5}))
    assert.matches("50 bins do not fit in 7 columns", err(term.hist, {1, 2}, o{bins = 50, width = 10}))
    assert.matches("range must be {lo, hi}", err(term.hist, {1, 2}, o{range = {2, 2}}))
  end)
end)

describe("fm.plot.term.heatmap", function()
  it("shades a matrix, row 1 at the top", function()
    -- values 0..3 on 5 shades: floor(v / 3 * 5) + 1 -> 1, 2, 4, 5
    local s = term.heatmap(fm.tensor{{0, 1}, {2, 3}}, o{width = 20, height = 8})
    assert.are.equal(lines("1 ┤ ░", "2 ┤▓█", "  └──", "   1 2", "0 ░▒▓█ 3"), s)
    s = term.heatmap(fm.tensor{{0, 1}, {2, 3}}, o{width = 20, height = 8, ascii = true})
    -- 10 levels: 0, 1 -> 4, 2 -> 7, 3 -> 10
    assert.are.equal(lines("1 + -", "2 +*@", "  +--", "   1 2", "0 .:-=+*#%@ 3"), s)
  end)

  it("draws two pixels per cell with half blocks in colour", function()
    local s = term.heatmap(fm.tensor{{0}, {1}}, o{width = 20, height = 8, color = 24})
    local first = s:match("^[^\n]*")
    assert.are.equal("1 ┤\27[38;2;68;1;84m\27[48;2;253;231;37m▀\27[0m", first)
  end)

  it("colours one pixel per cell in ASCII", function()
    local s = term.heatmap(fm.tensor{{0, 1}}, o{width = 20, height = 8, color = 24, ascii = true})
    assert.are.equal("1 +\27[48;2;68;1;84m \27[0m\27[48;2;253;231;37m \27[0m", s:match("^[^\n]*"))
  end)

  it("averages blocks of a larger matrix", function()
    -- a 4 x 4 matrix on 2 x 2 cells: each the mean of a 2 x 2 block
    local z = fm.tensor{{0, 0, 4, 4}, {0, 0, 4, 4}, {8, 8, 12, 12}, {8, 8, 12, 12}}
    local s = term.heatmap(z, o{width = 5, height = 5, ascii = true})
    assert.are.equal(lines("1 + -", "4 +*@", "  +--", "   1 4", "0 .:-=+*#%@ 12"), s)
  end)

  it("evaluates a function once at the pixel centres of the box", function()
    local calls, seen = 0, nil
    local s = term.heatmap(function(x)
      calls, seen = calls + 1, x
      return x:select(2, 1)
    end, o{width = 7, height = 5, xlim = {0, 4}, ylim = {0, 2}, ascii = true})
    assert.are.equal(1, calls)
    -- 4 x 2 cells over [0, 4] x [0, 2]: centres x = 0.5..3.5, y = 1.5 then 0.5
    assert.are.same({{0.5, 1.5}, {1.5, 1.5}, {2.5, 1.5}, {3.5, 1.5},
                     {0.5, 0.5}, {1.5, 0.5}, {2.5, 0.5}, {3.5, 0.5}}, seen:double():totable())
    -- u = 0, 1/3, 2/3, 1 of 10 levels: " ", "-", "*", "@"
    assert.are.equal(lines("2 + -*@", "0 + -*@", "  +----", "   0  4", "0.5 .:-=+*#%@ 3.5"), s)
  end)

  it("draws a density from log_prob, and a vector field's norm", function()
    local dist = {log_prob = function(_, x) return -(x * x):sum(2) end}
    local s = term.heatmap(dist, o{width = 6, height = 5, xlim = {-1, 1}, ylim = {-1, 1}, ascii = true})
    -- the four pixels are all at |x|^2 = 0.5: one value exp(-0.5), the middle shade
    assert.are.equal(lines(" 1 +++", "-1 +++", "   +--", "    -1 1", "0.6065 .:-=+*#%@ 0.6065"), s)
    s = term.heatmap(function(x) return x * 0 + 1 end, o{width = 8, height = 4, ascii = true})
    assert.matches("1.414 .:%-=%+%*#%%@ 1.414", s)
  end)

  it("leaves NaN blank with a count, and raises errors that name the argument", function()
    local s, info = term.heatmap(fm.tensor{{0 / 0, 1}, {2, 3}}, o{width = 20, height = 8})
    assert.are.equal(1, info.nonfinite)
    -- 1 is the lowest value, so its shade is blank too (colour tells them apart)
    assert.are.equal(lines("1 ┤  ", "2 ┤▒█", "  └──", "   1 2", "1 ░▒▓█ 3", "1 pixels with NaN or inf left blank"), s)
    assert.matches("z must be a non%-empty 2%-D tensor", err(term.heatmap, fm.zeros(3), o()))
    assert.matches("z must be a non%-empty 2%-D tensor", err(term.heatmap, fm.zeros(0, 2), o()))
    assert.matches("f must return 8 values %(one per grid point%), got %(3%)",
                   err(term.heatmap, function() return fm.zeros(3) end, o{width = 8, height = 5, ascii = true}))
    assert.matches("no finite values", err(term.heatmap, fm.full(2, 2, 0 / 0), o()))
  end)
end)

describe("fm.plot.terminal", function()
  local function env(t) return function(k) return t[k] end end

  it("turns colour off for NO_COLOR, a pipe or a dumb terminal", function()
    assert.is_nil(terminal.depth(env{TERM = "xterm-256color", NO_COLOR = "1"}, true))
    assert.is_nil(terminal.depth(env{TERM = "xterm-256color"}, false))
    assert.is_nil(terminal.depth(env{TERM = "dumb"}, true))
    assert.is_nil(terminal.depth(env{}, true))
    assert.are.equal(256, terminal.depth(env{TERM = "xterm-256color", NO_COLOR = ""}, true))
    assert.are.equal(24, terminal.depth(env{TERM = "xterm", COLORTERM = "truecolor"}, true))
    assert.are.equal(16, terminal.depth(env{TERM = "vt220"}, true))
  end)

  it("draws Unicode only under a UTF-8 locale", function()
    assert.is_true(terminal.unicode(env{LANG = "en_GB.UTF-8", TERM = "xterm"}))
    assert.is_true(terminal.unicode(env{LC_ALL = "C.utf8"}))
    assert.is_false(terminal.unicode(env{LC_ALL = "C", LANG = "en_GB.UTF-8"}))
    assert.is_false(terminal.unicode(env{}))
    assert.is_false(terminal.unicode(env{LANG = "C.UTF-8", TERM = "linux"}))
  end)

  it("takes the size from the options, COLUMNS/LINES, the terminal, or 80 x 24", function()
    local c = terminal.caps({}, env{}, {false})
    assert.are.same({80, 24, false}, {c.width, c.height, c.unicode})
    c = terminal.caps({}, env{COLUMNS = "100", LINES = "40"}, {true, 120, 50})
    assert.are.same({100, 39}, {c.width, c.height})
    c = terminal.caps({}, env{COLUMNS = "x"}, {true, 120, 50})
    assert.are.same({120, 49}, {c.width, c.height})
    c = terminal.caps({width = 30, height = 10, color = true}, env{NO_COLOR = "1"}, {false})
    assert.are.same({30, 10, 256}, {c.width, c.height, c.depth})
  end)

  it("maps colours into the 256-colour palette", function()
    assert.are.equal(196, terminal.index256{255, 0, 0})
    assert.are.equal(16, terminal.index256{0, 0, 0})
    assert.are.equal(231, terminal.index256{255, 255, 255})
    assert.are.equal(244, terminal.index256{128, 128, 128})
    assert.are.equal("\27[38;5;196m", terminal.fg(256, {255, 0, 0}))
    assert.are.equal("\27[41m", terminal.bg(16, {200, 10, 10}))
  end)
end)

describe("the loss curve of fm.progress", function()
  local progress = require "fm.progress"
  local function sink()
    local buf = {}
    return {write = function(_, s) buf[#buf + 1] = s end, flush = function() end,
            text = function() return table.concat(buf) end}
  end

  it("draws the curve and redraws it in place", function()
    local out = sink()
    local bar = progress.new(50, {mode = "bar", curve = true, out = out, curve_height = 6, label = "t"})
    assert.are.equal("curve", bar.mode)
    for i = 1, 50 do bar:update(i, {loss = 1 / i}) end
    bar:done()
    local s = out.text()
    assert.matches("^t 1/50", s)
    -- the first frame is 6 lines: the status, 3 rows, the axis and its labels
    assert.matches("\r\27%[6At 50/50 ", s)
    local _, e = s:find("\r\27%[6A")
    assert.is_nil(s:find("\27%[%d+A", e + 1))   -- two frames only
  end)

  it("keeps plain lines where there is no terminal", function()
    local out = sink()
    local bar = progress.new(20, {mode = "lines", curve = true, out = out, label = "t"})
    for i = 1, 20 do bar:update(i, {loss = 1}) end
    assert.is_nil(out.text():find("\27", 1, true))
    assert.matches("t 20/20", out.text())
  end)

  it("keeps at most 512 buckets of the loss history", function()
    local bar = progress.new(3000, {mode = "off"})
    for i = 1, 3000 do bar:record(i, 2 * i) end
    local h = bar.history
    -- 512 buckets of 1, merged to 256 of 2 at step 512, to 256 of 4 at 1024, of 8 at 2048
    assert.are.equal(8, h.size)
    assert.are.equal(2048 // 8 + (3000 - 2048) // 8, #h.x)
    assert.are.equal(4.5, h.x[1])            -- the mean of steps 1..8
    for i = 1, #h.x do assert.are.equal(2 * h.x[i], h.y[i]) end
  end)

  it("is asked for by train.loop{progress = \"curve\"}", function()
    local train = require "fm.train"
    assert.matches("progress must be \"bar\" or \"curve\", got plot",
                   err(train.loop, {steps = 2, progress = "plot", step = function() return 1 end}))
  end)
end)
