-- ot_path.lua — placeholder until the training experiment lands: samples a
-- 2-D mixture of 8 Gaussians and prints its statistics.
local fm = require "fm"
fm.seed(tonumber(arg and arg[1]) or 0)
local n = 10000
local k = fm.randint(1, 8, n)
local angle = (k:double() - 1) * (2 * math.pi / 8)
local centres = fm.cat({angle:cos():unsqueeze(2), angle:sin():unsqueeze(2)}, 2) * 5
local x = centres + fm.randn(n, 2, "float64") * math.sqrt(0.1)
print(string.format("samples: %d from 8 gaussians (radius 5, variance 0.1)", n))
print("mean:", table.concat(x:mean(1):totable(), "  "))
print("var: ", table.concat(x:var(1):totable(), "  "))
print("radius mean:", x:norm(2, 2):mean():item())
