-- bench/fd.lua — fm.metrics.fd on two feature sets from .npy files.
-- Usage: fmlua fd.lua a.npy b.npy name. Prints "fm_fd_<name> <seconds> s"
-- (best of 5, wall time from fm.clock, the features already loaded) and the
-- distance.
local fm = require "fm"
local a, b = fm.load_npy(arg[1]), fm.load_npy(arg[2])
local name = arg[3]
local best, v = math.huge, nil
for _ = 1, 5 do
  local t0 = fm.clock()
  v = fm.metrics.fd(a, b)
  best = math.min(best, fm.clock() - t0)
end
print(("fm_fd_%s %.6f s"):format(name, best))
print(("fm_fd_%s_value %.12g 1"):format(name, v))
