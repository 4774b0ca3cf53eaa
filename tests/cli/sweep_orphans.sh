#!/usr/bin/env bash
# fm.sweep, local backend: whatever way a run ends (timeout, normal exit,
# the runner interrupted), nothing the run started is left alive. The fake
# experiment starts a child that would sleep for 1000 s, under a name that
# holds a marker unique to this test (bash's exec -a), so that pgrep finds it.
#   bash tests/cli/sweep_orphans.sh path/to/fmlua
set -euo pipefail
FMLUA=$(realpath "${1:?usage: sweep_orphans.sh path/to/fmlua}")
SRC=${FM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d)
MARK="fmorphan-$(basename "$T")"
cleanup() {
  [[ -n ${RUNNER:-} ]] && kill -KILL -- "-$RUNNER" 2>/dev/null || true
  { pgrep -f -- "$MARK" | xargs -r kill -KILL; } 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
tried=0 clean=0 left=0

# --mode timeout: a blocking os.execute that outlives the sweep's timeout;
# --mode exit: a child in the background, then a normal exit 0;
# --mode hang: a child in the background, then an endless loop;
# --mode slow: as exit, but the first attempt sleeps 30 s before it exits.
cat > "$T/exp.lua" <<LUA
local o, i = {}, 1
while i <= #arg do o[arg[i]:sub(3)] = arg[i + 1]; i = i + 2 end
local child = "bash -c 'exec -a $MARK sleep 1000'"
if o.mode == "timeout" then os.execute(child) end
os.execute(child .. " &")
if o.mode == "hang" then while true do os.execute("sleep 0.05") end end
if o.mode == "slow" and not io.open(o.out .. "/again") then
  io.open(o.out .. "/started", "w"):close(); os.execute("sleep 30")
end
local m = assert(io.open(o.out .. "/metrics.jsonl", "w"))
m:write('{"step": 1, "w2": 1}\n'); m:close()
LUA

# survivors(what): count the marked processes a finished sweep left behind
survivors() {
  tried=$((tried + 1))
  local n
  n=$(pgrep -f -c -- "$MARK" || true)
  if [[ $n == 0 ]]; then clean=$((clean + 1)); echo "ok: $1 left no process";
  else left=$((left + 1)); echo "FAIL: $1 left $n processes:"; pgrep -a -f -- "$MARK" || true; fi
  { pgrep -f -- "$MARK" | xargs -r kill -KILL; } 2>/dev/null || true
}

sweepfile() { # mode timeout out
  cat > "$T/$1.lua" <<LUA
return { experiment = "$T/exp.lua", out = "$T/out-$1", grid = { mode = { "$1" } },
         seeds = { 1, 2 }, jobs = 2, timeout = $2, metrics = { "w2" } }
LUA
}

# 1. timeout: exit 124, and the sleeping grandchildren are gone too
sweepfile timeout 1
rc=0; "$FMLUA" -m fm.sweep "$T/timeout.lua" --quiet > "$T/o1.txt" 2>&1 || rc=$?
[[ $rc == 1 ]] || { cat "$T/o1.txt"; fail "a timed-out sweep exited $rc, want 1"; }
grep -q 'exit = 124' "$T/out-timeout/state.lua" || fail "the runs are not recorded as exit 124"
survivors "timeout"

# 2. normal exit with a background child
sweepfile exit 60
rc=0; "$FMLUA" -m fm.sweep "$T/exit.lua" --quiet > "$T/o2.txt" 2>&1 || rc=$?
[[ $rc == 0 ]] || { cat "$T/o2.txt"; fail "the sweep exited $rc, want 0"; }
survivors "normal exit"

# 3. the runner interrupted (SIGINT to the runner alone) while runs hang
sweepfile hang 60
"$FMLUA" -m fm.sweep "$T/hang.lua" --quiet > "$T/o3.txt" 2>&1 &
RUNNER=$!
for _ in $(seq 200); do
  [[ $(pgrep -f -c -- "$MARK" || true) -ge 2 ]] && break
  sleep 0.05
done
kill -INT "$RUNNER"
rc=0; wait "$RUNNER" || rc=$?
RUNNER=
[[ $rc == 130 ]] || { cat "$T/o3.txt"; fail "the interrupted sweep exited $rc, want 130"; }
survivors "interrupted runner"

# 4. the runner and the run's wrapper and experiment killed -9, only the
# stray child left (it holds the run's lock): the next sweep kills it before
# it starts the run again, and then the run finishes
sweepfile slow 60
"$FMLUA" -m fm.sweep "$T/slow.lua" --quiet > "$T/o4.txt" 2>&1 &
RUNNER=$!
for _ in $(seq 200); do
  [[ -f $T/out-slow/runs/mode-slow_seed-1/started && -f $T/out-slow/runs/mode-slow_seed-2/started ]] && break
  sleep 0.05
done
kill -KILL "$RUNNER"; wait "$RUNNER" 2>/dev/null || true
RUNNER=
for s in 1 2; do   # everything of the run but the marked child
  g=$(cat "$T/out-slow/runs/mode-slow_seed-$s/.pgid")
  touch "$T/out-slow/runs/mode-slow_seed-$s/again"
  for p in $(pgrep -g "$g"); do
    grep -qF -- "$MARK" "/proc/$p/cmdline" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
  done
done
[[ $(pgrep -f -c -- "$MARK" || true) -ge 2 ]] || fail "the stray children did not survive the kill"
rc=0; "$FMLUA" -m fm.sweep "$T/slow.lua" --quiet > "$T/o5.txt" 2>&1 || rc=$?
[[ $rc == 0 ]] || { cat "$T/o5.txt"; fail "the sweep after the leftovers exited $rc, want 0"; }
survivors "leftovers of a killed wrapper"

echo "sweep_orphans: tried $tried, clean $clean, left processes $left, crashes 0"
[[ $left == 0 ]] || fail "processes survived their runs"
echo "ok: sweep_orphans"
