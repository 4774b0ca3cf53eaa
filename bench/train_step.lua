-- bench/train_step.lua — the conditional flow matching training step of
-- the PyTorch peer's fm_train.py in fmlua: 8 gaussians (radius 4, std 0.5),
-- MLP [x, t] -> W -> W -> W -> 2 with SiLU, Adam lr 1e-3, data sampled every
-- step. Prints `name value unit` lines like the peer (steps/s min/median/max).
-- Usage: fmlua bench/train_step.lua [--width 256] [--batch 256] [--repeats 7]
--        [--target-s 1.0] [--steps N (fixed steps, one repeat; no timing lines)]
local fm = require "fm"

local a = {width = 256, batch = 256, repeats = 7, ["target-s"] = 1.0, warmup = 20, steps = 0}
local i = 1
while i <= #arg do
  local k = arg[i]:match("^%-%-(.+)$")
  assert(k and a[k] ~= nil, "unknown argument " .. tostring(arg[i]))
  a[k] = tonumber(arg[i + 1])
  i = i + 2
end

fm.seed(0)
local W, B = a.width, a.batch
local target = fm.data.gaussians8{radius = 4, std = 0.5}
local net = fm.nn.mlp{inputs = 3, hidden = {W, W, W}, outputs = 2, act = "silu"}
local opt = fm.optim.adam(net, {lr = 1e-3})
local last

local function step()
  local x0 = fm.randn(B, 2)
  local x1 = target:sample(B)
  local t = fm.rand(B, 1)
  local xt = x0 + (x1 - x0) * t            -- (1 - t) x0 + t x1
  local v = net(fm.cat({xt, t}, 2))
  local loss = ((v - (x1 - x0)) ^ 2):sum(2):mean()
  opt:zero_grad()
  loss:backward()
  opt:step()
  last = loss
end

-- wall time: fm.clock (monotonic); read every 8 steps
local now = fm.clock

for _ = 1, a.warmup do step() end
local first = last:item()
if a.steps > 0 then
  for _ = 1, a.steps do step() end
  print(string.format("# steps=%d loss_after_warmup=%.4f loss_final=%.4f", a.steps, first, last:item()))
  return
end
local rates = {}
for r = 1, a.repeats do
  local n, t0 = 0, now()
  local el = 0
  while el < a["target-s"] do
    for _ = 1, 8 do step() end
    n = n + 8
    el = now() - t0
  end
  rates[r] = n / el
end
table.sort(rates)
local name = string.format("fmlua_train_w%d_b%d", W, B)
print(string.format("# loss_after_warmup=%.4f loss_final=%.4f", first, last:item()))
print(string.format("%s_params %d params", name, net:num_parameters()))
print(string.format("%s_steps_per_s_min %.2f steps/s", name, rates[1]))
print(string.format("%s_steps_per_s_median %.2f steps/s", name, rates[(#rates + 1) // 2]))
print(string.format("%s_steps_per_s_max %.2f steps/s", name, rates[#rates]))
