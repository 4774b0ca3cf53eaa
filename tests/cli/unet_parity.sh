#!/bin/bash
# unet_parity.sh FMLUA — fm.nn.unet (UNet-S, C = 16) against PyTorch: the
# parameter names, shapes and count, the forward output, fm.jvp, the loss and
# every parameter's gradient of one training step, one Adam step, and fm.save's
# names (tests/cli/unet_parity.py builds the torch network, exports its weights
# and inputs as safetensors and compares; the tolerances are explained there).
# Skipped (exit 0) when /usr/bin/python3 cannot import torch and numpy
# (Debian: apt-get install python3-torch python3-numpy).
set -euo pipefail
FMLUA=${1:?usage: unet_parity.sh path/to/fmlua}
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c "import torch, numpy" 2>/dev/null; then
  echo "SKIP: $PY cannot import torch and numpy (apt-get install python3-torch python3-numpy)"
  exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# the fmlua side: arg[1] = directory of the exchange files, arg[2] = channels
cat > "$TMP/parity.lua" <<'LUA'
local fm = require "fm"
local dir, C = arg[1], math.tointeger(tonumber(arg[2]))
fm.seed(1)
local net = fm.nn.unet{channels = C, mults = {1, 2, 2}, attention = {false, false, true},
                       classes = 10, in_channels = 1, times = 1}
local named = net:named_parameters()
for _, kv in ipairs(named) do print("param", kv[1], table.concat(kv[2]:shape(), "x")) end
print("num_parameters", net:num_parameters())
assert(#net:parameters() == #named, "parameters() and named_parameters() differ in length")
net:load(dir .. "/weights.safetensors")
local I = fm.safetensors.load(dir .. "/inputs.safetensors")
local B = I.x:shape()[1]
local R = {}
R.out = fm.no_grad(function() return net(I.x, I.t, I.y) end)
R.jvp_out, R.jvp_tan = fm.jvp(function(x, t) return net(x, t, I.y) end, {I.x, I.t},
                              {I.dx, fm.ones(B)})
-- one training step on the given batch: no label dropping
local opt = fm.optim.adam(net:parameters(), {lr = 2e-4})
local tt = I.t:reshape(B, 1, 1, 1)
local v = net(tt * I.x1 + (1 - tt) * I.x0, I.t, I.y)
local loss = ((v - (I.x1 - I.x0)) ^ 2):mean()
opt:zero_grad()
loss:backward()
R.loss = loss:detach():reshape(1)
for _, kv in ipairs(named) do
  local g = kv[2].grad
  if g then R["grad." .. kv[1]] = g:clone() else print("# no gradient for " .. kv[1]) end
end
opt:step()
for _, kv in ipairs(named) do R["after." .. kv[1]] = kv[2]:detach():clone() end
fm.safetensors.save(dir .. "/fmlua.safetensors", R)
fm.save(dir .. "/saved.safetensors", net)
LUA
"$PY" "$here/unet_parity.py" "$FMLUA" "$TMP/parity.lua" "$TMP"
