#!/usr/bin/env bash
# fm.sweep from the command line, local backend: Ctrl-C stops the children
# (their process groups) and leaves a consistent state; running again skips
# finished runs and reruns the interrupted ones; --dry-run plans nothing then.
#   bash tests/cli/sweep_local.sh path/to/fmlua
set -euo pipefail
FMLUA=$(realpath "${1:?usage: sweep_local.sh path/to/fmlua}")
SRC=${FM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export LUA_PATH="$SRC/scripts/?.lua;;"
T=$(mktemp -d)
cleanup() { [[ -n ${RUNNER:-} ]] && kill -KILL -- "-$RUNNER" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# the runner: fmlua -m fm.sweep, or (before fmlua has -m) lua5.4 running the
# module as a script with the fake experiments also run by lua5.4
if "$FMLUA" -m fm.sweep --help > /dev/null 2>&1; then
  RUN=("$FMLUA" -m fm.sweep); INTERP=$FMLUA
else
  echo "note: $FMLUA has no -m yet; running the sweep with lua5.4"
  RUN=(lua5.4 "$SRC/scripts/fm/sweep.lua"); INTERP=lua5.4
fi

cat > "$T/exp.lua" <<'LUA'
local o, i = {}, 1
while i <= #arg do o[arg[i]:sub(3)] = arg[i + 1]; i = i + 2 end
local f = assert(io.open(o.out .. "/starts", "a")); f:write("x\n"); f:close()
local dir = arg[0]:match("^(.*)/[^/]*$")
if o.mode == "hang" and not io.open(dir .. "/released") then while true do end end
local m = assert(io.open(o.out .. "/metrics.jsonl", "w"))
m:write(string.format('{"step": 1, "w2": %d}\n', o.seed)); m:close()
LUA
cat > "$T/s.lua" <<LUA
return { experiment = "$T/exp.lua", out = "$T/out", grid = { mode = { "ok", "hang" } },
         seeds = { 1, 2 }, jobs = 2, timeout = 50, metrics = { "w2" } }
LUA

# 1. start, wait until both hanging runs are up, then Ctrl-C the runner's group
setsid "${RUN[@]}" "$T/s.lua" --fmlua "$INTERP" > "$T/out1.txt" 2>&1 &
RUNNER=$!
for _ in $(seq 200); do
  [[ -f $T/out/runs/mode-hang_seed-1/starts && -f $T/out/runs/mode-hang_seed-2/starts ]] && break
  sleep 0.05
done
[[ -f $T/out/runs/mode-hang_seed-2/starts ]] || { cat "$T/out1.txt"; fail "hanging runs never started"; }
sleep 0.3
kill -INT -- "-$RUNNER"
rc=0; wait "$RUNNER" || rc=$?
RUNNER=
[[ $rc == 130 ]] || { cat "$T/out1.txt"; fail "interrupted sweep exited $rc, want 130"; }
sleep 0.2
if ps -eo args | grep -F "$T/exp.lua" | grep -v grep; then fail "children survived Ctrl-C"; fi
grep -q 'status = "interrupted"' "$T/out/state.lua" || fail "state.lua does not record the interrupted runs"
[[ ! -e $T/out/runs/mode-hang_seed-1/.exit ]] || fail "an interrupted run has an exit status"
lua5.4 -e "assert(loadfile('$T/out/state.lua'))()" || fail "state.lua does not load"
echo "ok: Ctrl-C stopped the runs (exit 130) and kept a consistent state"

# 2. release the hang and run again: only the unfinished runs start again
touch "$T/released"
rc=0; "${RUN[@]}" "$T/s.lua" --fmlua "$INTERP" > "$T/out2.txt" 2>&1 || rc=$?
[[ $rc == 0 ]] || { cat "$T/out2.txt"; fail "resumed sweep exited $rc"; }
for s in 1 2; do
  [[ $(wc -l < "$T/out/runs/mode-hang_seed-$s/starts") == 2 ]] || fail "hang seed $s did not run again"
done
grep -q "4/4 done, 0 running, 0 failed" "$T/out2.txt" || { cat "$T/out2.txt"; fail "no final summary line"; }
[[ $(grep -c ',done,' "$T/out/summary.csv") == 4 ]] || fail "summary.csv: not 4 finished runs"
grep -q '| hang | 2/2 | 1.5 ± 0.707107 |' "$T/out/grouped.md" || { cat "$T/out/grouped.md"; fail "grouped.md"; }
echo "ok: the resumed sweep ran only the unfinished runs"

# 3. nothing left to do
"${RUN[@]}" "$T/s.lua" --dry-run | grep -q "4 finished, 0 to run" || fail "dry run after completion"
"${RUN[@]}" --bogus > /dev/null 2>&1 && fail "a bad option must fail"
echo "ok: sweep_local"
