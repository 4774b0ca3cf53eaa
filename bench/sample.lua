-- bench/sample.lua — Euler sampling, 100 steps, of the 2-D toy MLP
-- 3 -> 256 -> 256 -> 256 -> 2 (SiLU), as the PyTorch peer's fm_sample.py:
-- x <- x + dt * v([x, t_k]). Reports point-steps/s (min/median/max).
-- Paths: "fused" = fm.ode.solve(euler) over a fused MLP field (one C call,
-- fm_mlp_euler: row blocks run all steps in cache); "stage" = the C field
-- evaluation per step through the generic solver (fm_mlp_field_eval,
-- forced by an explicit time grid); "lua" = a Lua field of tensor ops
-- (mm + silu), called once per step for the batch (10k points only).
-- Usage: fmlua bench/sample.lua [points=10000] [repeats=3] [paths=fused,stage,lua]
local fm = require "fm"
local lib = require "bench.lib"

local N = tonumber(arg and arg[1]) or 10000
local repeats = tonumber(arg and arg[2]) or 3
local paths = (arg and arg[3]) or "fused,stage,lua"
local W, S = 256, 100

lib.env_header()
fm.seed(0)
local sizes = {3, W, W, W, 2}
local params = {}
for l = 1, 4 do   -- torch.nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in))
  local k = 1 / math.sqrt(sizes[l])
  params[2 * l - 1] = fm.rand({sizes[l], sizes[l + 1]}) * (2 * k) - k
  params[2 * l] = fm.rand({sizes[l + 1]}) * (2 * k) - k
end
local field = fm.field.mlp{params = params, act = "silu"}
local x0 = fm.randn({N, 2})
local grid = {}
for k = 0, S do grid[k + 1] = k / S end

local runs = {
  fused = function() return fm.ode.solve(field, x0, {method = "euler", steps = S}) end,
  stage = function() return fm.ode.solve(field, x0, {method = "euler", times = grid}) end,
  lua = function()
    return fm.ode.solve(function(x, t) return field(x, t) end, x0, {method = "euler", steps = S})
  end,
}
local flop = 0
for l = 1, 4 do flop = flop + 2 * sizes[l] * sizes[l + 1] end
for name in paths:gmatch("[^,]+") do
  if name ~= "lua" or N <= 10000 then
    runs[name]()  -- warm-up
    local rates = {}
    for r = 1, repeats do
      local t0 = fm.clock()
      runs[name]()
      rates[r] = N * S / (fm.clock() - t0)
    end
    local tag = ("sample_%s_w%d_n%d_s%d"):format(name, W, N, S)
    lib.emit_stats(tag .. "_point_steps_per_s", rates, "point-steps/s")
    lib.emit(tag .. "_gflops_median", flop * lib.median(rates) / 1e9, "GFLOP/s")
  end
end
