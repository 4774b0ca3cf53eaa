-- bench/assignment.lua — fm.ot.match on the points in a text file (two
-- blocks of n lines "x y": a then b). Usage: fmlua assignment.lua file n
-- (or env FM_BENCH_PTS, FM_BENCH_N). Prints "fm_match_<n> <seconds> s"
-- (best of 7, wall time from fm.clock) and the total. The points become
-- float64 tensors before timing, as SciPy's side starts from arrays.
local fm = require "fm"
local path = arg and arg[1] or os.getenv("FM_BENCH_PTS")
local n = tonumber(arg and arg[2] or os.getenv("FM_BENCH_N"))
local a, b = {}, {}
local f = assert(io.open(path))
for i = 1, 2 * n do
  local x, y = f:read("n", "n")
  if i <= n then a[i] = { x, y } else b[i - n] = { x, y } end
end
f:close()
a, b = fm.tensor(a, "float64"), fm.tensor(b, "float64")
local best, total = math.huge, nil
for _ = 1, 7 do
  local t0 = fm.clock()
  local _, cost = fm.ot.match(a, b)
  local t = fm.clock() - t0
  if t < best then best = t end
  total = cost
end
print(("fm_match_%d %.6f s"):format(n, best))
print(("fm_match_%d_total %.12g 1"):format(n, total))
