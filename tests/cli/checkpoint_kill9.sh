#!/usr/bin/env bash
# Checkpoints under kill -9 (docs/reliability.md): a process that saves a
# checkpoint over and over (fm.save, fm.run's save_model and save_npy) is
# killed -9 at random moments KILLS times (default 20). Promised: the files
# always load and are whole (every value from one save), and the next save
# into the directory removes every temporary the killed writers left, while
# the temporaries of live writers and of other hosts are kept.
#   bash tests/cli/checkpoint_kill9.sh path/to/fmlua     (KILLS=200 in *_slow.sh)
set -euo pipefail
FMLUA=$(realpath "${1:?usage: checkpoint_kill9.sh path/to/fmlua}")
KILLS=${KILLS:-20}
T=$(mktemp -d)
trap '[[ -n ${KEEP:-} ]] || rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
RANDOM=7

# the writer: step i fills every tensor with i (2 MB per file)
cat > "$T/writer.lua" <<'LUA'
local fm, runmod = require "fm", require "fm.run"
local dir, n = arg[1], tonumber(arg[2] or "1000000")
local net = { a = fm.zeros({512, 1024}), b = fm.zeros({1024}) }
for i = 1, n do
  net.a:fill(i); net.b:fill(i)
  fm.save(dir .. "/direct.safetensors", net, { metadata = { step = i } })
  runmod.atomic(dir .. "/model.safetensors", function(tmp) fm.save(tmp, net) end)
  runmod.atomic(dir .. "/samples.npy", function(tmp) fm.save_npy(tmp, net.a) end)
end
LUA
# the checker: each file that exists loads, and holds one step's values
cat > "$T/check.lua" <<'LUA'
local fm, dir, bad = require "fm", arg[1], 0
local function whole(t) local lo, hi = t:min():item(), t:max():item(); return lo == hi end
for _, name in ipairs { "direct.safetensors", "model.safetensors" } do
  local p = dir .. "/" .. name
  if io.open(p) then
    local net = { a = fm.zeros({512, 1024}), b = fm.zeros({1024}) }
    local ok, err = pcall(fm.load, p, net)
    if not ok or not whole(net.a) or not whole(net.b) then bad = bad + 1; print(name, err) end
  end
end
if io.open(dir .. "/samples.npy") then
  local ok, x = pcall(fm.load_npy, dir .. "/samples.npy")
  if not ok or not whole(x) then bad = bad + 1; print("samples.npy", x) end
end
print("torn " .. bad)
LUA

tried=0 torn=0 crashes=0 stale=0
touch "$T/mark"
for _ in $(seq "$KILLS"); do
  "$FMLUA" "$T/writer.lua" "$T" > "$T/w.txt" 2>&1 &
  W=$!
  sleep "0.$((RANDOM % 40 + 5))"
  kill -KILL "$W" 2>/dev/null || true
  rc=0; wait "$W" 2>/dev/null || rc=$?
  tried=$((tried + 1))
  [[ $rc == 137 ]] || { crashes=$((crashes + 1)); echo "writer exited $rc:"; cat "$T/w.txt"; }
  out=$("$FMLUA" "$T/check.lua" "$T")
  [[ $out == "torn 0" ]] || { torn=$((torn + 1)); echo "$out"; }
  stale=$((stale + $(find "$T" -maxdepth 1 -name '*.tmp*' -newer "$T/mark" | wc -l)))
  touch "$T/mark"
done

# temporaries that must stay: a live writer's (this shell's pid), another host's
live="$T/model.safetensors.tmp-$$@$(hostname | tr /- __)-keepme"
other="$T/model.safetensors.tmp-999999@not-this-host-keepme"
touch "$live" "$other"
"$FMLUA" "$T/writer.lua" "$T" 1 || fail "the save after the kills failed"
after=$(find "$T" -maxdepth 1 -name '*.tmp*' ! -name '*keepme' | wc -l)
[[ -e $live && -e $other ]] || { crashes=$((crashes + 1)); echo "a temporary of a live writer or another host was removed"; }
out=$("$FMLUA" "$T/check.lua" "$T")
[[ $out == "torn 0" ]] || { torn=$((torn + 1)); echo "$out"; }

echo "checkpoint_kill9: tried $tried kills, torn files $torn, temporaries left by the kills $stale, left after the next save $after, crashes $crashes"
[[ $torn == 0 && $after == 0 && $crashes == 0 ]] || fail "checkpoint_kill9"
echo "ok: checkpoint_kill9"
