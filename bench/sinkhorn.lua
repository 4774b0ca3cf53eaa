-- bench/sinkhorn.lua — fm.ot.sinkhorn at n = 256, 512, 1024 (N(0, I) to
-- moons, squared Euclidean cost, eps = 0.5), 100 iterations per solve
-- (tol = 0, check = false) so every solver does the same work; writes the
-- points to dir/x<n>.npy and dir/y<n>.npy for the POT peer. Usage:
-- fmlua bench/sinkhorn.lua dir. Prints "fm_sinkhorn_<n> <seconds> s" (best
-- of 5) and the plan's cost.
local fm = require "fm"
local dir = assert(arg[1], "usage: fmlua bench/sinkhorn.lua dir")
for _, n in ipairs { 256, 512, 1024 } do
  fm.seed(n)
  local x, y = fm.randn(n, 2, "float64"), fm.data.moons():sample(n):double()
  fm.save_npy(("%s/x%d.npy"):format(dir, n), x)
  fm.save_npy(("%s/y%d.npy"):format(dir, n), y)
  local best, cost = math.huge, nil
  for _ = 1, 5 do
    local t0 = fm.clock()
    local _, c = fm.ot.sinkhorn(x, y, { eps = 0.5, iters = 100, tol = 0, check = false })
    best, cost = math.min(best, fm.clock() - t0), c
  end
  print(("fm_sinkhorn_%d %.6f s"):format(n, best))
  print(("fm_sinkhorn_%d_cost %.12g 1"):format(n, cost))
end
