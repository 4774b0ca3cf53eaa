#!/bin/bash
# bench/sinkhorn.sh — fm.ot.sinkhorn beside POT (python3-pot) on the same
# points, one after the other in one run. Usage: bench/sinkhorn.sh [fmlua]
set -e
FMLUA=${1:-build/fmlua}
HERE=$(dirname "$0")
DIR=$(mktemp -d /tmp/fm_bench_sinkhorn_XXXXXX)
trap 'rm -rf "$DIR"' EXIT
"$FMLUA" "$HERE/sinkhorn.lua" "$DIR"
if /usr/bin/python3 -c 'import ot' 2>/dev/null; then
    /usr/bin/python3 "$HERE/sinkhorn.py" "$DIR"
else
    echo "# POT missing (apt-get install python3-pot): peer skipped"
fi
