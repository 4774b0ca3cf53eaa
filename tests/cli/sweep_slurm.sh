#!/usr/bin/env bash
# fm.sweep --backend slurm against a real single-node Slurm on localhost:
# tools/slurm_up.sh, a sweep of 6 runs (one crashes) as one job array,
# results checked, a resumed sweep that only resubmits the failed runs,
# tools/slurm_down.sh. SKIPs (exit 0) only when the Slurm / munge packages
# are missing:  apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
#   bash tests/cli/sweep_slurm.sh path/to/fmlua
set -euo pipefail
FMLUA=$(realpath "${1:?usage: sweep_slurm.sh path/to/fmlua}")
SRC=${FM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export PATH=$PATH:/usr/sbin:/sbin
missing=()
for b in slurmctld slurmd sbatch squeue sinfo scancel munged mungekey; do
  command -v "$b" > /dev/null || missing+=("$b")
done
if (( ${#missing[@]} )); then
  echo "SKIP: Slurm not installed (missing: ${missing[*]}); apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"
  exit 0
fi
export LUA_PATH="$SRC/scripts/?.lua;;"
T=$(mktemp -d)
export FMLUA_SLURM_DIR=$T/slurm
# ports away from the defaults, so a cluster left by someone else does not matter
export FMLUA_SLURM_CTLD_PORT=${FMLUA_SLURM_CTLD_PORT:-16917} FMLUA_SLURM_SLURMD_PORT=${FMLUA_SLURM_SLURMD_PORT:-16918}
cleanup() { "$SRC/tools/slurm_down.sh" > /dev/null 2>&1 || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -n 5 "$FMLUA_SLURM_DIR"/log/*.log >&2 2>/dev/null || true; exit 1; }

"$SRC/tools/slurm_up.sh" || fail "slurm_up.sh"
# shellcheck disable=SC1091
source "$FMLUA_SLURM_DIR/env.sh"

if "$FMLUA" -m fm.sweep --help > /dev/null 2>&1; then
  RUN=("$FMLUA" -m fm.sweep); INTERP=$FMLUA
else
  echo "note: $FMLUA has no -m yet; running the sweep with lua5.4"
  RUN=(lua5.4 "$SRC/scripts/fm/sweep.lua"); INTERP=lua5.4
fi

cat > "$T/exp.lua" <<'LUA'
local o, i = {}, 1
while i <= #arg do o[arg[i]:sub(3)] = arg[i + 1]; i = i + 2 end
local f = assert(io.open(o.out .. "/starts", "a")); f:write(os.getenv("SLURM_ARRAY_JOB_ID") or "none", "\n"); f:close()
local dir = arg[0]:match("^(.*)/[^/]*$")
if o.lr == "0.3" and o.seed == "2" and not io.open(dir .. "/fixed") then error("boom in slurm") end
local m = assert(io.open(o.out .. "/metrics.jsonl", "w"))
m:write(string.format('{"step": 1, "w2": %.17g}\n', o.lr * o.seed)); m:close()
LUA
cat > "$T/s.lua" <<LUA
return { experiment = "$T/exp.lua", out = "$T/out", grid = { lr = { 0.1, 0.2, 0.3 } },
         seeds = { 1, 2 }, jobs = 2, timeout = 30, metrics = { "w2" } }
LUA

rc=0; timeout 50 "${RUN[@]}" "$T/s.lua" --backend slurm --fmlua "$INTERP" > "$T/out1.txt" 2>&1 || rc=$?
cat "$T/out1.txt"
[[ $rc == 1 ]] || fail "sweep with one crashing run exited $rc, want 1"
grep -q "submitted Slurm job array" "$T/out1.txt" || fail "no job array submitted"
[[ $(grep -c ',done,' "$T/out/summary.csv") == 5 ]] || fail "want 5 finished runs"
grep -q 'lr-0.3_seed-2,failed,1,' "$T/out/summary.csv" || fail "crashed run not recorded with exit 1"
grep -q 'boom in slurm' "$T/out/state.lua" || fail "crashed run's log tail missing"
[[ $(cat "$T/out/runs/lr-0.1_seed-1/starts") != none ]] || fail "run did not run under Slurm"
ls "$T"/out/slurm/tasks-*.sh > /dev/null || fail "no runs table"

touch "$T/fixed"
rc=0; timeout 50 "${RUN[@]}" "$T/s.lua" --backend slurm --fmlua "$INTERP" > "$T/out2.txt" 2>&1 || rc=$?
cat "$T/out2.txt"
[[ $rc == 0 ]] || fail "resumed sweep exited $rc"
grep -q "(1 tasks, 2 at a time)" "$T/out2.txt" || fail "resume must resubmit only the failed run"
[[ $(wc -l < "$T/out/runs/lr-0.1_seed-1/starts") == 1 ]] || fail "a finished run ran twice"
grep -q '| 0.3 | 2/2 | 0.45 ± 0.212132 |' "$T/out/grouped.md" || { cat "$T/out/grouped.md"; fail "grouped.md"; }
echo "ok: sweep_slurm"
