#!/bin/bash
# bench/fd.sh — the Fréchet distance of two (n, d) float32 feature sets,
# n = 10000, d = 64, 128, 256, 512 (FM_BENCH_DIMS to change): fmlua's
# fm.metrics.fd against NumPy + SciPy the way pytorch-fid computes it
# (np.cov, then scipy.linalg.sqrtm(S_a @ S_b)), on the same features.
# Usage: bash bench/fd.sh [path/to/fmlua]   (default build/fmlua)
# Both sides: features in memory to distance, best of 5; prints "name value
# unit" lines and the ratio scipy / fmlua (> 1 means fmlua is faster).
set -euo pipefail
FMLUA=${1:-build/fmlua}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=10000
for d in ${FM_BENCH_DIMS:-64 128 256 512}; do
  /usr/bin/python3 - "$n" "$d" "$TMP" > "$TMP/py.txt" <<'PY'
import sys, time, warnings
import numpy as np
from scipy.linalg import sqrtm
n, d, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(d)
m = rng.standard_normal((d, d)) / np.sqrt(d)
a = (rng.standard_normal((n, d)) @ m).astype(np.float32)
b = (rng.standard_normal((n, d)) @ m + 0.1).astype(np.float32)
np.save(tmp + "/a.npy", a); np.save(tmp + "/b.npy", b)
best = 1e300
for _ in range(5):
    t0 = time.perf_counter()
    x, y = a.astype(np.float64), b.astype(np.float64)
    ma, sa = x.mean(0), np.cov(x, rowvar=False)
    mb, sb = y.mean(0), np.cov(y, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = sqrtm(sa @ sb)
    v = ((ma - mb) ** 2).sum() + np.trace(sa) + np.trace(sb) - 2 * np.trace(c).real
    best = min(best, time.perf_counter() - t0)
print("scipy_fd_n%d_d%d %.6f s" % (n, d, best))
print("scipy_fd_n%d_d%d_value %.12g 1" % (n, d, v))
PY
  cat "$TMP/py.txt"
  "$FMLUA" "$HERE/fd.lua" "$TMP/a.npy" "$TMP/b.npy" "n${n}_d${d}" | tee "$TMP/fm.txt"
  awk -v d="$d" -v n="$n" 'FNR == 1 { t[FILENAME] = $2 } END {
    for (f in t) if (f ~ /py/) s = t[f]; else m = t[f]
    printf "fd_n%d_d%d_ratio %.2f x\n", n, d, s / m }' "$TMP/py.txt" "$TMP/fm.txt"
done
