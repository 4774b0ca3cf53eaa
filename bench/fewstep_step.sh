#!/bin/bash
# bench/fewstep_step.sh [FMLUA] — training steps of CFM, MeanFlow and TVM
# (bench/fewstep_step.lua) beside the PyTorch peer (bench/fewstep_step.py,
# functorch.jvp), MLP 3 x 256, batch 512, under the machine's OpenBLAS
# environment. Each side in its best threading (fmlua with OpenBLAS at 2 and
# 1 threads, torch with OMP_WAIT_POLICY=passive at 2 and 1 threads); runs
# alternate for ROUNDS rounds and each figure is the best median.
# Prints steps/s per method and side, fmlua / torch, and each method's step
# time in units of fmlua's CFM step (the issue's budget: about 3 forward
# passes beyond a CFM step, a CFM step being about 3 forward passes).
# Env: ROUNDS (2), REPEATS (5), TARGET_S (0.5), WIDTH (256), BATCH (512).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FMLUA=${1:-$here/../build/fmlua}
ROUNDS=${ROUNDS:-2}
REPEATS=${REPEATS:-5}
TARGET_S=${TARGET_S:-0.5}
WIDTH=${WIDTH:-256}
BATCH=${BATCH:-512}
METHODS="cfm meanflow tvm tvm_detach"

declare -A F T
for m in $METHODS; do F[$m]=0; T[$m]=0; done
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
echo "# $(date -u) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  for th in 2 1; do
    out=$(OPENBLAS_NUM_THREADS=$th "$FMLUA" "$here/fewstep_step.lua" --width "$WIDTH" \
          --batch "$BATCH" --repeats "$REPEATS" --target-s "$TARGET_S")
    for m in $METHODS; do
      v=$(echo "$out" | awk -v k="${m}_steps_per_s_median" '$1 == k {print $2}')
      F[$m]=$(best "${F[$m]}" "$v")
    done
    out=$(OMP_WAIT_POLICY=passive /usr/bin/python3 "$here/fewstep_step.py" --width "$WIDTH" \
          --batch "$BATCH" --repeats "$REPEATS" --target-s "$TARGET_S" --threads $th 2>/dev/null)
    for m in $METHODS; do
      v=$(echo "$out" | awk -v k="${m}_steps_per_s_median" '$1 == k {print $2}')
      T[$m]=$(best "${T[$m]}" "$v")
    done
  done
done
printf "%-11s %12s %12s %8s %14s %14s\n" method fmlua_steps/s torch_steps/s ratio "x fmlua CFM" "x torch CFM"
for m in $METHODS; do
  awk -v m=$m -v f=${F[$m]} -v t=${T[$m]} -v fc=${F[cfm]} -v tc=${T[cfm]} 'BEGIN {
    printf "%-11s %12.1f %12.1f %7.2fx %14.2f %14.2f\n", m, f, t, f / t, fc / f, tc / t }'
done
