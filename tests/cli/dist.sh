#!/usr/bin/env bash
# fm.dist under mpirun (docs/dist.md): the collectives against hand-computed
# values at 1, 2 and 3 ranks; 2 ranks with B/2 rows each end 20 steps with
# the parameters of 1 rank with B rows (fused MLP, conv net, MeanFlow through
# a JVP; float32 and float64), and a run that does not average does not;
# resuming at another number of ranks; an error or a failing exit on one rank
# ends the whole job with its message and a non-zero status; a
# data-parallel experiments/ot_path.lua writes its run directory once and is
# reproducible. In a build without MPI it checks that fm.dist says so.
#   bash tests/cli/dist.sh path/to/fmlua
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
SRC=${FM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE=$SRC/tests/cli

if [[ $("$FMLUA" -e 'print(require("fm").dist.available())') != true ]]; then
  out=$("$FMLUA" -e 'require("fm").dist.allreduce(require("fm").zeros(1))' 2>&1)
  contains "without MPI: allreduce says so" "built without MPI" "$out"
  out=$(FM_DIST=1 "$FMLUA" -e 'print("ran")' 2>&1)
  contains "without MPI, launched: it stops at start-up" "started by an MPI launcher, but" "$out"
  echo "SKIP: the rest needs a build with MPI (apt-get install libopenmpi-dev openmpi-bin)"
  finish
fi
command -v mpirun > /dev/null || { echo "FAIL: fmlua has MPI but mpirun is missing (openmpi-bin)"; exit 1; }

# Open MPI in containers and CI (docs/dist.md, "Running as root, in containers")
if [[ $(id -u) == 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
export FM_PROGRESS=off
mpi() { local np=$1; shift; timeout 300 mpirun -np "$np" "$FMLUA" "$@"; }

# ---- collectives -------------------------------------------------------------
for np in 1 2 3; do
  out=$(mpi "$np" "$HERE/dist_collectives.lua" 2>&1); rc=$?
  check "collectives np=$np: exit status" 0 "$rc"
  check "collectives np=$np: every rank ok" "$np" "$(grep -c '^rank [0-9]*: ok$' <<< "$out")"
done
out=$("$FMLUA" "$HERE/dist_collectives.lua" 2>&1); rc=$?
check "collectives without mpirun: exit status" 0 "$rc"
contains "collectives without mpirun: ok" "rank 0: ok" "$out"

# ---- 1 rank with B rows = 2 ranks with B/2 rows ------------------------------
# float32: the ranks sum their rows' gradients in another order; each of 20
# Adam steps (lr 1e-2) moves a weight by at most ~lr, and a gradient wrong in
# its last bits (2^-23 relative) changes a step by far less than 1e-6, so
# 1e-5 bounds 20 of them; the run that does not average differs by ~0.1.
# float64: 1e-12 for the same reason at 2^-52.
compare() { "$FMLUA" "$HERE/dist_compare.lua" "$@"; }
for m in mlp conv meanflow mlp64 mlp_local; do
  "$FMLUA" "$HERE/dist_train.lua" "$m" "$TMP/$m.1" > /dev/null 2>&1 || echo "FAIL $m: 1 rank did not run"
  mpi 2 "$HERE/dist_train.lua" "$m" "$TMP/$m.2" > /dev/null 2>&1 || echo "FAIL $m: 2 ranks did not run"
done
for m in mlp conv meanflow; do
  compare "$TMP/$m.1" "$TMP/$m.2" 1e-5 > /dev/null; check "$m: 2 ranks = 1 rank (float32)" 0 $?
done
compare "$TMP/mlp64.1" "$TMP/mlp64.2" 1e-12 > /dev/null; check "mlp float64: 2 ranks = 1 rank" 0 $?
compare "$TMP/mlp_local.1" "$TMP/mlp_local.2" 1e-3 > /dev/null
check "without averaging the ranks drift apart (the test can fail)" 1 $?
# resuming at another number of ranks
mpi 2 "$HERE/dist_train.lua" mlp "$TMP/a10" 1 10 > /dev/null 2>&1
"$FMLUA" "$HERE/dist_train.lua" mlp "$TMP/a20" 11 20 "$TMP/a10" > /dev/null 2>&1
compare "$TMP/mlp.1" "$TMP/a20" 1e-5 > /dev/null; check "2 ranks, then resumed on 1 = 1 rank" 0 $?
"$FMLUA" "$HERE/dist_train.lua" mlp "$TMP/b10" 1 10 > /dev/null 2>&1
mpi 2 "$HERE/dist_train.lua" mlp "$TMP/b20" 11 20 "$TMP/b10" > /dev/null 2>&1
compare "$TMP/mlp.1" "$TMP/b20" 1e-5 > /dev/null; check "1 rank, then resumed on 2 = 1 rank" 0 $?

# ---- errors end the job ------------------------------------------------------
cat > "$TMP/boom.lua" <<'LUA'
local dist = require("fm").dist
if dist.rank() == 1 then error("boom on rank 1") end
dist.barrier()   -- rank 0 waits here for a rank that is gone
LUA
out=$(mpi 2 "$TMP/boom.lua" 2>&1); rc=$?
contains "an error on rank 1: its message" "boom on rank 1" "$out"
[[ $rc != 0 && $rc != 124 ]]; check "an error on rank 1: non-zero exit, no hang (rc $rc)" 0 $?
cat > "$TMP/exit3.lua" <<'LUA'
local dist = require("fm").dist
if dist.rank() == 1 then os.exit(3) end
dist.barrier()
LUA
mpi 2 "$TMP/exit3.lua" > /dev/null 2>&1; rc=$?
[[ $rc != 0 && $rc != 124 ]]; check "os.exit(3) on rank 1: non-zero exit, no hang (rc $rc)" 0 $?
mpi 2 -e 'require("fm").dist.barrier()' > /dev/null 2>&1; check "every rank exits 0: the job exits 0" 0 $?

# ---- an experiment, unchanged --------------------------------------------------
ot() { mpi 2 "$SRC/experiments/ot_path.lua" --steps 20 --batch 64 --n 200 --no-plots --out "$@"; }
out=$(ot "$TMP/ot1" 2>&1); rc=$?
check "ot_path np=2: exit status" 0 "$rc"
check "ot_path np=2: rank 0 alone prints" 1 "$(grep -c '^trained 20 steps' <<< "$out")"
check "ot_path np=2: metrics logged once per step" 1 "$(grep -c '"step":20,' "$TMP/ot1/metrics.jsonl")"
contains "ot_path np=2: config records the global batch" "global_batch = 64" "$(cat "$TMP/ot1/config.lua")"
ot "$TMP/ot2" > /dev/null 2>&1
compare "$TMP/ot1/model.safetensors" "$TMP/ot2/model.safetensors" 0 > /dev/null
check "ot_path np=2: reproducible (same seed, same weights)" 0 $?
# fashion_mnist.lua (U-Net, EMA, gradient clipping, checkpoints): 2 ranks,
# then resumed from their checkpoint by 1 rank
fmx() { # steps [--resume] -- launcher...
  local a=(--steps "$1"); shift
  [[ $1 == --resume ]] && { a+=(--resume); shift; }
  shift # --
  "$@" "$SRC/experiments/fashion_mnist.lua" "${a[@]}" --data synthetic --batch 16 --n 8 \
    --acc-n 4 --guidance 0 --no-plots --out "$TMP/fm"
}
out=$(fmx 4 -- mpi 2 2>&1); rc=$?
check "fashion_mnist np=2: exit status" 0 "$rc"
check "fashion_mnist np=2: rank 0 alone prints" 1 "$(grep -c '^trained 4 steps' <<< "$out")"
out=$(fmx 6 --resume -- "$FMLUA" 2>&1); rc=$?
check "fashion_mnist: resumed on 1 rank: exit status" 0 "$rc"
contains "fashion_mnist: resumed on 1 rank at step 4" "at step 4 of 6" "$out"
out=$(mpi 2 "$SRC/experiments/ot_path.lua" --steps 2 --batch 63 --out "$TMP/ot3" 2>&1); rc=$?
contains "an odd batch over 2 ranks: the error" "--batch 63 does not split evenly over 2 ranks" "$out"
[[ $rc != 0 && $rc != 124 ]]; check "an odd batch over 2 ranks: non-zero exit (rc $rc)" 0 $?
finish
