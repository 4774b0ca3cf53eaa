#!/bin/bash
# bench/dist.sh [FMLUA] — data-parallel training (docs/dist.md) on this
# machine: steps/s of 1 rank with 1 thread, 2 ranks with 1 thread each
# (mpirun -np 2) and 1 rank with 2 threads, at the same global batch, for
# the fused MLP configurations of bench/train_step.sh (W256/B256, W256/B4096)
# and UNet-S of bench/unet_step.sh (C16/B128); parallel efficiency
# E = steps/s(2 ranks) / (2 x steps/s(1 rank, 1 thread)), the 2-rank rate
# against 1 rank with 2 threads, and per step the allreduce of the
# gradients (one MPI call) and the wait for the slower rank before it,
# against the step time (bench/dist_step.lua).
# Each configuration runs ROUNDS rounds alternating the three layouts; a
# layout's figure is its best median over rounds (the VM's speed drifts).
# Only reports. Env: ROUNDS (2), REPEATS (5), TARGET_S (1.0), CONFIGS.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FMLUA=${1:-$here/../build/fmlua}
ROUNDS=${ROUNDS:-2}
REPEATS=${REPEATS:-5}
TARGET_S=${TARGET_S:-1.0}
CONFIGS=${CONFIGS:-"mlp:256:256 mlp:256:4096 unet:16:128"}
if [[ $(id -u) == 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}

run() { # np threads model size batch -> "steps/s step_ms allreduce_ms wait_ms"
  local np=$1 th=$2 model=$3 size=$4 batch=$5 sizeflag=--width out
  [[ $model == unet ]] && sizeflag=--channels
  out=$(OPENBLAS_NUM_THREADS=$th timeout 600 mpirun -np "$np" -x OPENBLAS_NUM_THREADS \
        --bind-to none "$FMLUA" "$here/dist_step.lua" --model "$model" "$sizeflag" "$size" \
        --batch "$batch" --repeats "$REPEATS" --target-s "$TARGET_S" 2>/dev/null)
  awk '/_steps_per_s_median/ {s=$2} /_step_ms_median/ {m=$2} /_allreduce_ms_median/ {r=$2}
       /_wait_ms_median/ {w=$2} END {print s+0, m+0, r+0, w+0}' <<< "$out"
}
better() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
  print (x[1] + 0 >= y[1] + 0) ? a : b }'; }

echo "# $(date -u) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg); $("$FMLUA" -e 'print(require("fm").dist.library())')"
printf "%-16s %9s %9s %9s %6s %8s %9s %9s %9s %7s\n" config 1r1t 2r1t 1r2t E 2r/1r2t \
  step_ms ar_ms wait_ms ar/step
for c in $CONFIGS; do
  IFS=: read -r model size batch <<< "$c"
  a="0 0 0 0"; b="0 0 0 0"; t="0 0 0 0"
  for _ in $(seq "$ROUNDS"); do
    a=$(better "$a" "$(run 1 1 "$model" "$size" "$batch")")
    b=$(better "$b" "$(run 2 1 "$model" "$size" "$batch")")
    t=$(better "$t" "$(run 1 2 "$model" "$size" "$batch")")
  done
  awk -v c="${model}_${size}_b${batch}" -v a="$a" -v b="$b" -v t="$t" 'BEGIN {
    split(a, x, " "); split(b, y, " "); split(t, z, " ")
    printf "%-16s %9.1f %9.1f %9.1f %5.0f%% %7.2fx %9.2f %9.3f %9.3f %6.1f%%\n", c, x[1], y[1],
      z[1], 100 * y[1] / (2 * x[1]), y[1] / z[1], y[2], y[3], y[4], 100 * y[3] / y[2] }'
done
echo "# 1r1t: 1 rank, 1 thread; 2r1t: mpirun -np 2, 1 thread each; 1r2t: 1 rank, 2 threads."
echo "# step_ms, ar_ms (gradient allreduce), wait_ms (barrier before it): the 2-rank run."
