-- bench/unet_step.lua — class-conditional flow matching with the small U-Net
-- "UNet-S" of the PyTorch peer's unet_train.py, in fmlua: the training step,
-- a forward pass alone (no_grad) and a forward-mode JVP (output and its
-- derivative along (dx, dt) = (v, 1)), timed as the peer times them (same
-- repeat_rate: W warm-up calls, then R repeats of at least S seconds each).
-- Same data and loss as the peer: x1 random images in [-1, 1], x0 ~ N(0, I),
-- t ~ U(0, 1), x_t = t x1 + (1 - t) x0, target x1 - x0, labels 1..10 dropped
-- to the null label 11 with probability 0.1, mean squared error, Adam 2e-4.
-- Prints `name value unit` lines with the peer's names prefixed fmlua_
-- (fmlua_unet_c16_b128_train_steps_per_s_median, ...).
-- Usage: fmlua bench/unet_step.lua [--channels 32] [--batch 128] [--repeats 5]
--        [--warmup 3] [--target-s 3.0] [--no-jvp 1]
--        [--steps N: W warm-up steps then N fixed training steps, no timing
--         lines (for peak-RSS runs under /usr/bin/time -v)]
local fm = require "fm"
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local lib = require "lib"

local a = {channels = 32, batch = 128, repeats = 5, warmup = 3, ["target-s"] = 3.0,
           steps = 0, ["no-jvp"] = 0}
local i = 1
while i <= #arg do
  local k = arg[i]:match("^%-%-(.+)$")
  assert(k and a[k] ~= nil, "unknown argument " .. tostring(arg[i]))
  local v = tonumber(arg[i + 1])
  assert(v, "--" .. k .. " needs a number")
  a[k] = v
  i = i + 2
end

fm.seed(0)
local B, C = math.tointeger(a.batch), math.tointeger(a.channels)
local net = fm.nn.unet{channels = C, mults = {1, 2, 2}, attention = {false, false, true},
                       classes = 10, in_channels = 1, times = 1}
local opt = fm.optim.adam(net:parameters(), {lr = 2e-4})
local tag = string.format("fmlua_unet_c%d_b%d", C, B)

local x1 = fm.rand(B, 1, 28, 28) * 2 - 1
local labels = fm.randint(1, 10, B)
local null = fm.full_like(labels, 11)
local last_loss

local function train_step()
  local x0 = fm.randn(B, 1, 28, 28)
  local t = fm.rand(B)
  local y = fm.where(fm.rand(B):lt(0.1), null, labels)
  local tt = t:reshape(B, 1, 1, 1)
  local v = net(tt * x1 + (1 - tt) * x0, t, y)
  local loss = ((v - (x1 - x0)) ^ 2):mean()
  opt:zero_grad()
  loss:backward()
  opt:step()
  last_loss = loss
end

local xs, ts = fm.randn(B, 1, 28, 28), fm.rand(B)
local function forward()
  fm.no_grad(function() return net(xs, ts, labels) end)
end

local dx, dt = fm.randn(B, 1, 28, 28), fm.ones(B)
local function jvp()
  local _, tout = fm.jvp(function(x, t) return net(x, t, labels) end, {xs, ts}, {dx, dt})
  return tout
end

-- the peer's repeat_rate: warm-up calls, then per repeat call fn until at
-- least target_s seconds have passed (no minimum number of calls)
local function repeat_rate(fn, repeats, target_s, warmup)
  for _ = 1, warmup do fn() end
  local rates = {}
  for r = 1, repeats do
    local n, t0 = 0, fm.clock()
    while true do
      fn()
      n = n + 1
      local el = fm.clock() - t0
      if el >= target_s then rates[r] = n / el; break end
    end
  end
  return rates
end

if a.steps > 0 then
  for _ = 1, a.warmup do train_step() end
  local first = last_loss and last_loss:item() or 0 / 0
  for _ = 1, a.steps do train_step() end
  print(string.format("# steps=%d loss_after_warmup=%.4f loss_final=%.4f", a.steps, first,
                      last_loss:item()))
  return
end

lib.env_header()
print(string.format("# fm.threads()=%d", fm.threads()))
lib.emit(tag .. "_params", net:num_parameters(), "params")

local rates = repeat_rate(train_step, a.repeats, a["target-s"], a.warmup)
print(string.format("# loss_last=%.4f", last_loss:item()))
lib.emit_stats(tag .. "_train_steps_per_s", rates, "steps/s")
rates = repeat_rate(forward, a.repeats, a["target-s"], a.warmup)
lib.emit_stats(tag .. "_forward_per_s", rates, "calls/s")
if a["no-jvp"] == 0 then
  local ok, err = pcall(jvp)
  if ok then
    rates = repeat_rate(jvp, a.repeats, a["target-s"], a.warmup)
    lib.emit_stats(tag .. "_jvp_per_s", rates, "calls/s")
  else
    print("# fm.jvp through the U-Net failed: " .. tostring(err):gsub("\n.*", ""))
  end
end
