#!/bin/bash
# train_memory.sh FMLUA — a CFM training loop (MLP 3->64->64->2, batch 256,
# Adam) must keep a flat resident size without collectgarbage(): VmRSS after
# 1,000 and after 20,000 steps. Pass if growth < 10% + 5 MB: after step 1,000
# every buffer (OpenBLAS's, the MLP workspace, Lua's heap at its GC-paced
# plateau) has reached its working size; the remaining jitter is where the
# incremental collector happens to be in its cycle (garbage of a few steps
# of ~100 KB each, i.e. a few MB) and malloc arena fragmentation. A leak of
# even one 256x64 float tensor per step would add 1.3 GB by step 20,000, and
# a leak of one Lua table per step ~1 MB+: well above the bound.
set -euo pipefail
FMLUA=${1:?usage: train_memory.sh path/to/fmlua}
if [ "${FM_SANITIZE:-OFF}" = "ON" ]; then
  echo "skipped: FM_SANITIZE=ON (ASan's allocator changes RSS)"; exit 0
fi
# one BLAS thread: the machine is shared and the test measures memory, not speed
export OPENBLAS_NUM_THREADS=1
script=$(mktemp --suffix=.lua)
trap 'rm -f "$script"' EXIT
cat > "$script" <<'LUA'
local fm = require "fm"
fm.seed(0)
local B = 256
local target = fm.data.gaussians8{radius = 4, std = 0.5}
local net = fm.nn.mlp{inputs = 3, hidden = {64, 64}, outputs = 2}
local opt = fm.optim.adam(net, {lr = 1e-3})
local function rss()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s+(%d+)")
    if kb then return tonumber(kb) end
  end
end
local loss
local function step()
  local x0, x1, t = fm.randn(B, 2), target:sample(B), fm.rand(B, 1)
  local v = net(fm.cat({x0 + (x1 - x0) * t, t}, 2))
  loss = ((v - (x1 - x0)) ^ 2):sum(2):mean()
  opt:zero_grad()
  loss:backward()
  opt:step()
end
for _ = 1, 1000 do step() end
local r1 = rss()
local l1 = loss:item()
for _ = 1001, 20000 do step() end
local r2 = rss()
print(string.format("rss_1000_kb %d\nrss_20000_kb %d\nloss %.3f -> %.3f", r1, r2, l1, loss:item()))
local limit = r1 * 1.10 + 5 * 1024
if r2 > limit then
  io.stderr:write(string.format("FAIL: RSS grew from %d kB to %d kB (limit %d kB)\n", r1, r2, limit))
  os.exit(1)
end
print("ok")
LUA
"$FMLUA" "$script"
