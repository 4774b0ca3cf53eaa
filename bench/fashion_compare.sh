#!/bin/bash
# bench/fashion_compare.sh [FMLUA] — experiments/fashion_mnist.lua and its
# PyTorch peer (bench/fashion_peer.py: the same UNet-S, data, loss,
# optimiser, steps and sampler) one after the other, each with 2 threads,
# then both scored on fmlua's metric (bench/fashion_eval.lua: FD on the
# classifier's features, accuracy on the asked labels). Needs the classifier
# of experiments/fashion_classifier.lua. Env: STEPS (4000), N (5000), OUT
# (runs/compare).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FMLUA=${1:-$here/../build/fmlua}
STEPS=${STEPS:-4000}
N=${N:-5000}
OUT=${OUT:-runs/compare}
echo "# $(date -u) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
FM_PROGRESS=lines "$FMLUA" experiments/fashion_mnist.lua --steps "$STEPS" --n "$N" \
  --out "$OUT/fmlua" | grep -v "^train "
OMP_WAIT_POLICY=passive /usr/bin/python3 "$here/fashion_peer.py" --steps "$STEPS" --n "$N" \
  --out "$OUT/torch"
"$FMLUA" "$here/fashion_eval.lua" "$OUT/fmlua" "$OUT/torch"
