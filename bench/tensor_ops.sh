#!/usr/bin/env bash
# bench/tensor_ops.sh — fmlua's matmul and elementwise speed beside
# cblas_sgemm (the ceiling), NumPy and PyTorch, in one run, under the
# machine's OpenBLAS setting and with OPENBLAS_CORETYPE/L2_SIZE unset (each
# side under the same setting). Prints `name value unit` lines and a table.
# Usage: FM_PEER_DIR=path/to/peer bench/tensor_ops.sh [path/to/fmlua] [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
fmlua=${1:-build/fmlua}
R=${2:-5}
peer=${FM_PEER_DIR:?set FM_PEER_DIR to the directory of the PyTorch peer benchmark (not part of this repository)}
[ -x $peer/build/sgemm_cblas ] || (cd $peer && ./build.sh >/dev/null) || {
  mkdir -p bench/out && gcc -O2 -o bench/out/sgemm_cblas $peer/sgemm_cblas.c \
    -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas; }
sgemm=$peer/build/sgemm_cblas
[ -x $sgemm ] || sgemm=bench/out/sgemm_cblas
export OMP_WAIT_POLICY=passive  # PyTorch's best configuration here

one_setting() { # label, then the env command prefix
  local label=$1; shift
  echo "## setting: $label"
  "$@" $sgemm "$R" 0.5 | grep -v '^#' | sed "s/^/$label./"
  "$@" "$fmlua" bench/tensor_ops.lua "$R" 0.5 | grep -v '^#' | sed "s/^/$label./"
  "$@" /usr/bin/python3 $peer/gemm_py.py --repeats "$R" --target-s 0.5 | grep -v '^#' | sed "s/^/$label./"
  "$@" /usr/bin/python3 bench/tensor_ops.py "$R" 0.5 | grep -v '^#' | sed "s/^/$label./"
}

out=$(mktemp)
{ one_setting machine env; one_setting unset env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE; } | tee "$out"

echo
echo "| setting | quantity | fmlua | cblas_sgemm | NumPy | PyTorch | fmlua / best other |"
echo "|---|---|---|---|---|---|---|"
awk '
  { v[$1] = $2 }
  END {
    split("machine unset", S, " ")
    split("4096x256x256 1024x1024x1024 256x4096x256_tn", G, " ")
    split("4096x256x256 1024x1024x1024 256x256x4096_tn", C, " ")  # sgemm_cblas names M x N x K
    for (s = 1; s <= 2; s++) {
      for (g = 1; g <= 3; g++) {
        f = v[S[s] ".gemm_fmlua_" G[g] "_median"]; c = v[S[s] ".gemm_cblas_" C[g] "_median"]
        n = v[S[s] ".gemm_numpy_" G[g] "_median"]; t = v[S[s] ".gemm_torch_" G[g] "_median"]
        printf "| %s | sgemm %s GFLOP/s | %.1f | %.1f | %.1f | %.1f | %.2f of cblas |\n", S[s], G[g], f, c, n, t, (c > 0 ? f / c : 0)
      }
      f = v[S[s] ".elementwise5_fmlua_1M_median"]; n = v[S[s] ".elementwise5_numpy_1M_median"]
      t = v[S[s] ".elementwise5_torch_1M_median"]
      printf "| %s | 5 elementwise ops, 1M float32, ms | %.3f | - | %.3f | %.3f | %.2fx NumPy speed |\n", S[s], f, n, t, (f > 0 ? n / f : 0)
    }
  }' "$out"
rm -f "$out"
