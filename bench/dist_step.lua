-- bench/dist_step.lua — a data-parallel training step (docs/dist.md) at the
-- configurations of bench/train_step.lua (the fused MLP on 8 gaussians) and
-- bench/unet_step.lua (UNet-S), timed in its parts. --batch is the global
-- batch: under mpirun -np N each rank takes batch / N rows.
--   fmlua bench/dist_step.lua --model mlp --width 256 --batch 256
--   mpirun -np 2 fmlua bench/dist_step.lua --model unet --channels 16 --batch 128
-- Rank 0 prints `name value unit` lines: steps/s (median over repeats), and
-- per step the milliseconds of the whole step, of the gradient allreduce
-- alone, and of waiting for the slowest rank before it (a barrier, so that
-- the allreduce time is the transfer, not the imbalance).
local fm = require "fm"
local dist = require "fm.dist"

local a = {model = "mlp", width = 256, batch = 256, channels = 16, repeats = 5,
           ["target-s"] = 1.0, warmup = 10}
local i = 1
while i <= #arg do
  local k = arg[i]:match("^%-%-(.+)$")
  assert(k and a[k] ~= nil, "unknown argument " .. tostring(arg[i]))
  a[k] = tonumber(arg[i + 1]) or arg[i + 1]
  i = i + 2
end
local N = dist.size()
local B = math.tointeger(a.batch) // N
assert(B * N == a.batch, "--batch must split evenly over the ranks")

fm.seed(0)
local net, loss_of, tag
if a.model == "mlp" then
  local W = math.tointeger(a.width)
  local target = fm.data.gaussians8{radius = 4, std = 0.5}
  net = fm.nn.mlp{inputs = 3, hidden = {W, W, W}, outputs = 2, act = "silu"}
  loss_of = function()
    local x0, x1, t = fm.randn(B, 2), target:sample(B), fm.rand(B, 1)
    local v = net(fm.cat({x0 + (x1 - x0) * t, t}, 2))
    return ((v - (x1 - x0)) ^ 2):sum(2):mean()
  end
  tag = string.format("mlp_w%d_b%d", W, a.batch)
else
  local C = math.tointeger(a.channels)
  net = fm.nn.unet{channels = C, mults = {1, 2, 2}, attention = {false, false, true},
                   classes = 10, in_channels = 1, times = 1}
  local x1, labels = fm.rand(B, 1, 28, 28) * 2 - 1, fm.randint(1, 10, B)
  loss_of = function()
    local x0, t = fm.randn(B, 1, 28, 28), fm.rand(B)
    local tt = t:reshape(B, 1, 1, 1)
    return ((net(tt * x1 + (1 - tt) * x0, t, labels) - (x1 - x0)) ^ 2):mean()
  end
  tag = string.format("unet_c%d_b%d", C, a.batch)
end
local opt = fm.optim.adam(net, {lr = 1e-3})   -- averages gradients when N > 1

local clock = fm.clock
local wait_s, reduce_s = 0, 0
local function step()
  local loss = loss_of()
  opt:zero_grad()
  loss:backward()
  if N > 1 then
    local t0 = clock()
    dist.barrier()
    local t1 = clock()
    dist.sync_grads(opt.params)  -- the allreduce opt:step() would make
    local t2 = clock()
    wait_s, reduce_s = wait_s + (t1 - t0), reduce_s + (t2 - t1)
  end
  opt:step()
end

-- every rank runs the same number of steps: rank 0 times the warm-up and
-- chooses how many fill target-s
local t0 = clock()
for _ = 1, a.warmup do step() end
local per = dist.broadcast_value(math.max(4, math.ceil(a["target-s"] * a.warmup / (clock() - t0))))
local rates, steps_ms, reduce_ms, wait_ms = {}, {}, {}, {}
for r = 1, a.repeats do
  wait_s, reduce_s = 0, 0
  local s0 = clock()
  for _ = 1, per do step() end
  local el = clock() - s0
  rates[r], steps_ms[r] = per / el, 1e3 * el / per
  reduce_ms[r], wait_ms[r] = 1e3 * reduce_s / per, 1e3 * wait_s / per
end
local function median(t) table.sort(t); return t[(#t + 1) // 2] end
local name = string.format("dist_%s_np%d_t%d", tag, N, fm.threads())
print(string.format("%s_params %d params", name, net:num_parameters()))
print(string.format("%s_steps_per_s_median %.2f steps/s", name, median(rates)))
print(string.format("%s_step_ms_median %.3f ms", name, median(steps_ms)))
print(string.format("%s_allreduce_ms_median %.3f ms", name, median(reduce_ms)))
print(string.format("%s_wait_ms_median %.3f ms", name, median(wait_ms)))
