#!/usr/bin/env bash
# Memory rule (docs/design.md): 2 GB of temporary tensors made in a loop without
# collectgarbage() must stay under 300 MB resident: tensor storage lives in
# userdata, so Lua's collector counts it and paces itself.
set -euo pipefail
fmlua=$1
if [ "${FM_SANITIZE:-OFF}" = ON ]; then
  echo "skipped: ASan keeps freed memory in quarantine, so RSS says nothing here"
  exit 0
fi
out=$("$fmlua" -e '
local fm = require "fm"
local x = fm.zeros(1024, 256)            -- 1 MiB
for i = 1, 1024 do                        -- 2 temporaries of 1 MiB per step: 2 GiB
  local y = (x + i) * 0.5
end
local hwm
for line in io.lines("/proc/self/status") do
  hwm = hwm or line:match("^VmHWM:%s+(%d+)")
end
print(hwm)')
echo "peak resident: ${out} kB"
if [ "$out" -gt $((300 * 1024)) ]; then
  echo "FAIL: peak resident ${out} kB exceeds 300 MB" >&2
  exit 1
fi
