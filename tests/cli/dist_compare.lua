-- dist_compare.lua A B TOL: the largest |a - b| over every tensor of two
-- checkpoints (same names and shapes); prints it and exits 1 above TOL.
local fm = require "fm"
local a, b = fm.safetensors.load(arg[1]), fm.safetensors.load(arg[2])
local tol = assert(tonumber(arg[3]), "usage: dist_compare.lua A B TOL")
local worst, n = 0, 0
for name, ta in pairs(a) do
  local tb = assert(b[name], arg[2] .. " has no tensor " .. name)
  local d = (ta:double() - tb:double()):abs():max():item()
  if d > worst then worst = d end
  n = n + 1
end
for name in pairs(b) do assert(a[name], arg[1] .. " has no tensor " .. name) end
print(string.format("%d tensors, max |diff| %.3g (tolerance %g)", n, worst, tol))
os.exit(worst <= tol and 0 or 1)
