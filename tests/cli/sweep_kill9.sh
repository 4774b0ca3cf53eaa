#!/usr/bin/env bash
# fm.sweep, local backend, under kill -9 of the runner: the runner is killed
# at random moments KILLS times (default 12) and started again; then it runs
# to completion. Promised: every run starts exactly once (a restart waits for
# a run that survived its runner instead of starting a second copy), no two
# copies of a run ever overlap, every .exit belongs to the copy that ran
# (its process group id), and no process a run started is left at the end.
#   bash tests/cli/sweep_kill9.sh path/to/fmlua      (KILLS=100 in *_slow.sh)
set -euo pipefail
FMLUA=$(realpath "${1:?usage: sweep_kill9.sh path/to/fmlua}")
KILLS=${KILLS:-12}
T=$(mktemp -d)
MARK="fmkill9-$(basename "$T")"
cleanup() {
  [[ -n ${RUNNER:-} ]] && kill -KILL "$RUNNER" 2>/dev/null || true
  for p in "$T"/out/runs/*/.pgid; do [[ -f $p ]] && kill -KILL -- "-$(cat "$p")" 2>/dev/null || true; done
  { pgrep -f -- "$MARK" | xargs -r kill -KILL; } 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
RANDOM=17

# each run: count its start, detect an overlapping copy (mkdir is atomic),
# leave a child behind (to be reaped), work for --t seconds, write metrics
cat > "$T/exp.lua" <<LUA
local o, i = {}, 1
while i <= #arg do o[arg[i]:sub(3)] = arg[i + 1]; i = i + 2 end
local f = assert(io.open(o.out .. "/starts", "a")); f:write("start\n"); f:close()
if not os.execute("mkdir '" .. o.out .. "/busy' 2>/dev/null") then
  local d = assert(io.open("$T/double", "a")); d:write(o.out, "\n"); d:close()
end
os.execute("bash -c 'exec -a $MARK sleep 1000' &")
os.execute("sleep " .. o.t)
os.execute("rmdir '" .. o.out .. "/busy'")
local m = assert(io.open(o.out .. "/metrics.jsonl", "w"))
m:write('{"step": 1, "w2": ', o.seed, '}\n'); m:close()
LUA
cat > "$T/s.lua" <<LUA
return { experiment = "$T/exp.lua", out = "$T/out", grid = { t = { 0.3, 0.7, 1.1, 1.5 } },
         seeds = $(( KILLS / 6 > 2 ? KILLS / 6 : 2 )), jobs = 3, timeout = 60, metrics = { "w2" } }
LUA

tried=0 crashes=0
for _ in $(seq "$KILLS"); do
  "$FMLUA" -m fm.sweep "$T/s.lua" --quiet >> "$T/runner.txt" 2>&1 &
  RUNNER=$!
  sleep "0.$((RANDOM % 9 + 1))"
  kill -KILL "$RUNNER" 2>/dev/null || true
  rc=0; wait "$RUNNER" 2>/dev/null || rc=$?
  RUNNER=
  tried=$((tried + 1))
  # killed (137), or finished before the kill (0): anything else is a crash
  if [[ $rc != 137 && $rc != 0 ]]; then crashes=$((crashes + 1)); cat "$T/runner.txt"; fi
done
rc=0; "$FMLUA" -m fm.sweep "$T/s.lua" --quiet > "$T/final.txt" 2>&1 || rc=$?
[[ $rc == 0 ]] || { cat "$T/final.txt"; crashes=$((crashes + 1)); }

double=0 bad_exit=0
for d in "$T"/out/runs/*/; do
  n=$(grep -c start "$d/starts" 2>/dev/null || echo 0)
  [[ $n == 1 ]] || { echo "run $(basename "$d") started $n times"; double=$((double + 1)); }
  read -r code owner < "$d/.exit" || true
  [[ $code == 0 && $owner == "$(cat "$d/.pgid")" ]] || {
    echo "run $(basename "$d"): .exit '$code $owner' is not the exit 0 of its own copy $(cat "$d/.pgid")"
    bad_exit=$((bad_exit + 1)); }
done
[[ -f $T/double ]] && { echo "overlapping copies:"; cat "$T/double"; double=$((double + $(wc -l < "$T/double"))); }
orphans=$(pgrep -f -c -- "$MARK" || true)
echo "sweep_kill9: tried $tried kills, restarts $((tried + 1)), double runs $double, foreign .exit $bad_exit, orphans $orphans, crashes $crashes"
[[ $double == 0 && $bad_exit == 0 && $orphans == 0 && $crashes == 0 ]] || fail "sweep_kill9"
echo "ok: sweep_kill9"
