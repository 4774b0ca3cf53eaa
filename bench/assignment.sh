#!/bin/bash
# bench/assignment.sh — exact assignment of n uniform random 2-D points
# (squared Euclidean cost), fmlua's fm.ot.match vs SciPy's
# linear_sum_assignment on the same points, n = 512, 1024, 2048.
# Usage: bash bench/assignment.sh [path/to/fmlua]   (default build/fmlua)
# Both sides are timed from points to optimal total (cost matrix + solve),
# best of 7; prints "name value unit" lines and the ratio scipy / fmlua
# (> 1 means fmlua is faster).
set -euo pipefail
FMLUA=${1:-build/fmlua}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for n in 512 1024 2048; do
  /usr/bin/python3 - "$n" "$TMP/pts.txt" > "$TMP/py.txt" <<'PY'
import sys, time
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
n, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(n)
a, b = rng.random((n, 2)), rng.random((n, 2))
np.savetxt(path, np.vstack([a, b]), fmt="%.17g")
best = 1e300
for _ in range(7):
    t0 = time.perf_counter()
    c = cdist(a, b, "sqeuclidean")
    r, k = linear_sum_assignment(c)
    total = c[r, k].sum()
    best = min(best, time.perf_counter() - t0)
print(f"scipy_lsa_{n} {best:.6f} s")
print(f"scipy_lsa_{n}_total {total:.12g} 1")
PY
  FM_BENCH_PTS="$TMP/pts.txt" FM_BENCH_N=$n "$FMLUA" "$HERE/assignment.lua" "$TMP/pts.txt" "$n" > "$TMP/fm.txt"
  cat "$TMP/fm.txt" "$TMP/py.txt"
  paste "$TMP/fm.txt" "$TMP/py.txt" | head -1 | \
    awk -v n="$n" '{ printf "ratio_scipy_over_fm_%d %.3f x\n", n, $5 / $2 }'
  paste "$TMP/fm.txt" "$TMP/py.txt" | sed -n 2p | \
    awk -v n="$n" '{ d = $2 - $5; if (d < 0) d = -d;
      printf "total_rel_diff_%d %.3g 1\n", n, d / $5 }'
done
