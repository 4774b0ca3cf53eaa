-- bench/fewstep_step.lua — one training step of plain CFM, MeanFlow and TVM
-- (with and without the gradient through the JVP) in fmlua, the workload of
-- bench/fewstep_step.py: 8 gaussians, the MLP of experiments/few_step.lua
-- (SiLU, 3 x W, inputs [x, s, t] or [x, t] for CFM), batch B, Adam lr 1e-3.
-- Prints `<method>_steps_per_s_{min,median,max} value steps/s` lines.
-- Usage: fmlua bench/fewstep_step.lua [--width 256] [--batch 512]
--        [--repeats 5] [--target-s 0.5] [--methods cfm,meanflow,tvm,tvm_detach]
local fm = require "fm"
local fs = fm.fewstep

local a = {width = 256, batch = 512, repeats = 5, ["target-s"] = 0.5, warmup = 5,
           methods = "cfm,meanflow,tvm,tvm_detach"}
local i = 1
while i <= #arg do
  local k = arg[i]:match("^%-%-(.+)$")
  assert(k and a[k] ~= nil, "unknown argument " .. tostring(arg[i]))
  a[k] = tonumber(arg[i + 1]) or arg[i + 1]
  i = i + 2
end

local W, B = a.width, a.batch
local path = fm.path.gaussian("linear")
local target = fm.data.gaussians8{}

local function make_step(method)
  fm.seed(1)
  local net = fm.nn.mlp{inputs = method == "cfm" and 3 or 4, hidden = {W, W, W}, outputs = 2}
  local opt = fm.optim.adam(net, {lr = 1e-3})
  local tvm = method:match("^tvm") and fs.tvm(net, {ema = 0.99, detach_jvp = method == "tvm_detach"})
  return function()
    local z = target:sample(B)
    local loss
    if method == "cfm" then loss = fm.loss.cfm(net, path, z)
    elseif method == "meanflow" then loss = fs.meanflow_loss(net, path, z, {equal = 0.5})
    else loss = tvm:loss(path, z, {equal = 0.25}) end
    opt:zero_grad(); loss:backward(); opt:step()
    if tvm then tvm:update() end
  end
end

for method in a.methods:gmatch("[^,]+") do
  local step = make_step(method)
  for _ = 1, a.warmup do step() end
  local rates = {}
  for r = 1, a.repeats do
    local n, t0 = 0, fm.clock()
    while fm.clock() - t0 < a["target-s"] do step(); n = n + 1 end
    rates[r] = n / (fm.clock() - t0)
  end
  table.sort(rates)
  for _, q in ipairs{{"min", 1}, {"median", (#rates + 1) // 2}, {"max", #rates}} do
    print(("%s_steps_per_s_%s %.2f steps/s"):format(method, q[1], rates[q[2]]))
  end
end
