-- bench/term_plot.lua — fm.plot.term on n random points, an 80 x 24 plot in
-- 24-bit colour, returned and not printed. Usage: fmlua bench/term_plot.lua
-- Prints "term_<kind>_<n> <seconds> s" (best of 5, wall time from fm.clock)
-- for scatter (plain and with 4 labels), hist and curve (docs/plots.md, "Speed").
local fm = require "fm"
local term = fm.plot.term
local opts = {width = 80, height = 24, print = false, color = 24, ascii = false}

local function best(f)
  local b = math.huge
  for _ = 1, 5 do
    local t0 = fm.clock()
    f()
    b = math.min(b, fm.clock() - t0)
  end
  return b
end

fm.seed(1)
for _, n in ipairs{1000, 100000, 1000000} do
  local x, labels, v = fm.randn(n, 2), fm.randint(1, 4, n), fm.randn(n)
  local lopts = setmetatable({labels = labels}, {__index = opts})
  print(("term_scatter_%d %.6f s"):format(n, best(function() term.scatter(x, opts) end)))
  print(("term_scatter_labels4_%d %.6f s"):format(n, best(function() term.scatter(x, lopts) end)))
  print(("term_hist_%d %.6f s"):format(n, best(function() term.hist(v, opts) end)))
  print(("term_curve_%d %.6f s"):format(n, best(function() term.curve(v, opts) end)))
end
