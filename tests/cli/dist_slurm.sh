#!/usr/bin/env bash
# fm.sweep --backend slurm with slurm = {ntasks = 2}: one run of
# experiments/ot_path.lua as a 2-rank MPI job (srun --ntasks=2 --mpi=pmix
# inside the array task) on the single-node Slurm of tools/slurm_up.sh, and
# the same with mpi = "mpirun" (docs/dist.md, "Slurm"). SKIPs (exit 0) only
# when the Slurm / munge packages are missing or fmlua has no MPI.
#   bash tests/cli/dist_slurm.sh path/to/fmlua
set -euo pipefail
FMLUA=$(realpath "${1:?usage: dist_slurm.sh path/to/fmlua}")
SRC=${FM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export PATH=$PATH:/usr/sbin:/sbin
missing=()
for b in slurmctld slurmd sbatch srun squeue sinfo scancel munged mungekey mpirun; do
  command -v "$b" > /dev/null || missing+=("$b")
done
if (( ${#missing[@]} )); then
  echo "SKIP: missing ${missing[*]}; apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge openmpi-bin"
  exit 0
fi
if [[ $("$FMLUA" -e 'print(require("fm").dist.available())') != true ]]; then
  echo "SKIP: $FMLUA was built without MPI"; exit 0
fi
T=$(mktemp -d)
export FMLUA_SLURM_DIR=$T/slurm
# ports of their own, so that tests/cli/sweep_slurm.sh may run at the same time
export FMLUA_SLURM_CTLD_PORT=${FMLUA_DIST_CTLD_PORT:-16927} FMLUA_SLURM_SLURMD_PORT=${FMLUA_DIST_SLURMD_PORT:-16928}
cleanup() { "$SRC/tools/slurm_down.sh" > /dev/null 2>&1 || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -n 20 "$T"/out*/runs/*/log.txt >&2 2>/dev/null || true; exit 1; }

"$SRC/tools/slurm_up.sh" || fail "slurm_up.sh"
# shellcheck disable=SC1091
source "$FMLUA_SLURM_DIR/env.sh"
# the jobs inherit this environment (sbatch --export=ALL): Open MPI as root
# in a container (docs/dist.md)
if [[ $(id -u) == 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1 FM_PROGRESS=off

for mpi in pmix mpirun; do
  cat > "$T/s_$mpi.lua" <<LUA
return { experiment = "$SRC/experiments/ot_path.lua", out = "$T/out_$mpi", seeds = { 1 },
         fixed = { steps = 20, batch = 64, n = 200 }, jobs = 1, timeout = 120,
         metrics = { "w2" }, slurm = { ntasks = 2, mpi = "$mpi" } }
LUA
  rc=0; timeout 150 "$FMLUA" -m fm.sweep "$T/s_$mpi.lua" --backend slurm --fmlua "$FMLUA" \
    > "$T/sweep_$mpi.txt" 2>&1 || rc=$?
  cat "$T/sweep_$mpi.txt"
  [[ $rc == 0 ]] || fail "$mpi: sweep exited $rc"
  run=$T/out_$mpi/runs/seed-1
  want="srun --ntasks=2 --mpi=pmix"; [[ $mpi == mpirun ]] && want="mpirun -np 2"
  grep -q -- "$want" "$T/out_$mpi"/slurm/tasks-*.sh || fail "$mpi: the runs table lacks '$want'"
  grep -q "global_batch = 64" "$run/config.lua" || fail "$mpi: the run did not see 2 ranks"
  [[ $(grep -c '^trained 20 steps' "$run/log.txt") == 1 ]] || fail "$mpi: rank 0 must print once"
  [[ $(grep -c '"step":20,' "$run/metrics.jsonl") == 1 ]] || fail "$mpi: one metrics line per step"
  echo "ok: dist_slurm ($mpi)"
done
