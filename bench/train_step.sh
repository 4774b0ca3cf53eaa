#!/bin/bash
# bench/train_step.sh [FMLUA] — fmlua's CFM training step (bench/train_step.lua)
# beside PyTorch's (../shared/bench/peer/fm_train.py) and the GEMM-bound limit
# (6 x batch x params FLOPs per step at cblas_sgemm's measured rate, the
# 4096x256x256 shape), under the machine's OpenBLAS environment and with
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (both sides the same way).
# Each side in its best threading: PyTorch with OMP_WAIT_POLICY=passive at 2
# and 1 threads, fmlua with OpenBLAS at 2 and 1 threads; the best median counts.
# Also peak RSS of the batch-4096 runs (/usr/bin/time -v, fixed 30 steps).
# Env: REPEATS (5), TARGET_S (0.5 s per repeat).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FMLUA=${1:-$here/../build/fmlua}
PEER=${PEER:-$here/../../shared/bench/peer}
[ -d "$PEER" ] || PEER=/work/shared/bench/peer
REPEATS=${REPEATS:-5}
TARGET_S=${TARGET_S:-0.5}
[ -x "$PEER/build/sgemm_cblas" ] || "$PEER/build.sh" >/dev/null

median() { grep "_steps_per_s_median" | awk '{print $2}'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
peak_kb() { "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }'; }

run_setting() {
  local label=$1; shift
  echo "## setting: $label ($*)"
  local gflops
  gflops=$(env "$@" "$PEER/build/sgemm_cblas" 3 0.3 | awk '/4096x256x256_median/ {print $2}')
  echo "# cblas_sgemm 4096x256x256: $gflops GFLOP/s"
  printf "%-10s %10s %10s %10s %7s %12s %9s\n" config params fmlua torch ratio gemm_limit of_limit
  for wb in "64 256" "256 256" "256 1024" "256 4096"; do
    set -- $wb
    local W=$1 B=$2
    local f2 f1 t2 t1 f t params
    f2=$(env "${ENV[@]}" OPENBLAS_NUM_THREADS=2 "$FMLUA" "$here/train_step.lua" --width $W --batch $B \
         --repeats $REPEATS --target-s $TARGET_S | median)
    f1=$(env "${ENV[@]}" OPENBLAS_NUM_THREADS=1 "$FMLUA" "$here/train_step.lua" --width $W --batch $B \
         --repeats $REPEATS --target-s $TARGET_S | median)
    t2=$(env "${ENV[@]}" OMP_WAIT_POLICY=passive /usr/bin/python3 "$PEER/fm_train.py" --width $W --batch $B \
         --threads 2 --repeats $REPEATS --target-s $TARGET_S 2>/dev/null | median)
    t1=$(env "${ENV[@]}" OMP_WAIT_POLICY=passive /usr/bin/python3 "$PEER/fm_train.py" --width $W --batch $B \
         --threads 1 --repeats $REPEATS --target-s $TARGET_S 2>/dev/null | median)
    f=$(best "$f2" "$f1"); t=$(best "$t2" "$t1")
    params=$(( 3 * W + W + 2 * (W * W + W) + W * 2 + 2 ))
    awk -v c="w${W}_b${B}" -v p=$params -v f=$f -v t=$t -v g=$gflops -v B=$B 'BEGIN {
      lim = g * 1e9 / (6 * B * p)
      printf "%-10s %10d %10.1f %10.1f %6.2fx %12.1f %8.0f%%\n", c, p, f, t, f / t, lim, 100 * f / lim }'
    echo "#   fmlua threads2=$f2 threads1=$f1  torch threads2=$t2 threads1=$t1 (steps/s medians)"
  done
  local rf rt
  rf=$(peak_kb env "${ENV[@]}" /usr/bin/time -v "$FMLUA" "$here/train_step.lua" --width 256 --batch 4096 --steps 30 --warmup 5)
  rt=$(peak_kb env "${ENV[@]}" OMP_WAIT_POLICY=passive /usr/bin/time -v /usr/bin/python3 "$PEER/fm_train.py" \
       --width 256 --batch 4096 --steps 30 --repeats 1 --warmup 5)
  awk -v f=$rf -v t=$rt 'BEGIN { printf "peak_rss_w256_b4096 fmlua %.1f MB torch %.1f MB ratio %.2f\n", f / 1024, t / 1024, f / t }'
}

echo "# $(date -u) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
ENV=()
run_setting "machine" env
ENV=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
run_setting "unset" "${ENV[@]}"
