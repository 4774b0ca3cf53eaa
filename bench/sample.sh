#!/bin/bash
# bench/sample.sh — Euler sampling (100 steps, MLP 3->256->256->256->2 SiLU)
# of 10,000 and 100,000 points: fmlua (bench/sample.lua) beside PyTorch in its
# best configuration (OMP_WAIT_POLICY=passive, the peer README's
# 'Comparing fairly'; the peer is not in this repository: FM_PEER_DIR), under both OpenBLAS settings: the machine's
# OPENBLAS_CORETYPE (Haswell when the environment does not set one) and with
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (AVX-512 kernels).
# Usage: bash bench/sample.sh [path/to/fmlua] [repeats=3]
# Prints "name value unit" lines and ratio_fm_over_torch_<setting>_<n> (> 1:
# fmlua faster), fmlua's fastest path (fused) against torch's median.
set -euo pipefail
FMLUA=${1:-build/fmlua}
REPEATS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
PEER=${FM_PEER_DIR:?set FM_PEER_DIR to the directory of the PyTorch peer benchmark (not part of this repository)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
run_setting() {
  local tag=$1; shift
  echo "# setting: $tag"
  for n in 10000 100000; do
    local paths=fused,stage
    [ "$n" -le 10000 ] && paths=fused,stage,lua
    "$@" "$FMLUA" "$HERE/sample.lua" "$n" "$REPEATS" "$paths" | tee "$TMP/fm.txt"
    "$@" env OMP_WAIT_POLICY=passive /usr/bin/python3 "$PEER/fm_sample.py" \
      --points "$n" --repeats "$REPEATS" | tee "$TMP/py.txt"
    local fm py
    fm=$(awk '/^sample_fused_.*_point_steps_per_s_median/ {print $2}' "$TMP/fm.txt")
    py=$(awk '/^sample_w256_.*_point_steps_per_s_median/ {print $2}' "$TMP/py.txt")
    awk -v a="$fm" -v b="$py" -v t="$tag" -v n="$n" \
      'BEGIN { printf "ratio_fm_over_torch_%s_%d %.3f x\n", t, n, a / b }'
  done
}
run_setting haswell env OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"
run_setting unset env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
