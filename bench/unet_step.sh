#!/bin/bash
# bench/unet_step.sh [FMLUA] — fmlua's U-Net "UNet-S" (bench/unet_step.lua,
# fm.nn.unet) beside PyTorch's (unet_train.py of the peer in $FM_PEER_DIR), batch
# 128, C = 16 and 32: training steps/s, no-grad forwards/s and forward-mode
# JVPs/s, under the machine's OpenBLAS environment and with
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (both sides the same way).
# Each side in its best threading (peer README, "Comparing fairly"): PyTorch
# with OMP_WAIT_POLICY=passive at --threads 2 and 1, fmlua with
# OPENBLAS_NUM_THREADS 2 and 1; the runs alternate (fmlua, torch, fmlua,
# torch, ...) for ROUNDS rounds and each side's figure is its best median over
# rounds and thread settings (the VM's speed drifts from minute to minute).
# GEMM-bound limit of a training step: 3 x the forward FLOPs (the peer's
# _forward_gflop line: convolutions, linears and the attention products) at
# cblas_sgemm's measured rate (4096x256x256, best of one measurement per round
# and C in the setting).
# Targets: train steps/s >= min(1.5 x torch, 70% of the GEMM-bound limit);
# fmlua's JVP at most 2 x fmlua's forward time, and at least 2 x torch's JVP
# rate; peak RSS of a fixed-step training run (/usr/bin/time -v, 3 warm-up +
# RSS_STEPS steps, 2 threads) at most 0.5 x torch's (the peer has no fixed-step
# mode: it runs --repeats RSS_STEPS --target-s 0, i.e. the same 3 + RSS_STEPS
# training steps, then as many no-grad forwards and no JVP).
# Only reports: it never fails because a target is missed.
# Env: ROUNDS (2), REPEATS (3), TARGET_S (1.5 s per repeat), WARMUP (2),
# RSS_STEPS (20), CHANNELS ("16 32"), BATCH (128), SETTINGS ("machine unset").
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FMLUA=${1:-$here/../build/fmlua}
PEER=${FM_PEER_DIR:?set FM_PEER_DIR to the directory of the PyTorch peer benchmark (not part of this repository)}
ROUNDS=${ROUNDS:-2}
REPEATS=${REPEATS:-3}
TARGET_S=${TARGET_S:-1.5}
WARMUP=${WARMUP:-2}
RSS_STEPS=${RSS_STEPS:-20}
CHANNELS=${CHANNELS:-16 32}
BATCH=${BATCH:-128}
SETTINGS=${SETTINGS:-machine unset}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# cblas_sgemm's ceiling: the peer's build if there is one (its directory
# may be read-only), else built here into bench/out (as bench/train_step.sh does)
SGEMM=$PEER/build/sgemm_cblas
if [ ! -x "$SGEMM" ]; then
  SGEMM=$here/out/sgemm_cblas
  mkdir -p "$here/out"
  [ -x "$SGEMM" ] || gcc -O2 -o "$SGEMM" "$PEER/sgemm_cblas.c" \
    -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas
fi

val() { # file suffix -> value of the line whose name ends in suffix (0 if none)
  awk -v s="$2" '$1 ~ s"$" { v = $2 } END { print (v == "" ? 0 : v) }' "$1"
}
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
peak_kb() { # command... -> peak RSS in kB from /usr/bin/time -v, 0 if the command failed
  "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ { gsub(/ /, "", $2); kb = $2 }
    /Exit status/ { gsub(/ /, "", $2); st = $2 } END { print (st == "0" ? kb : 0) }'
}

fmlua_run() { # threads C out
  env "${ENV[@]}" OPENBLAS_NUM_THREADS=$1 "$FMLUA" "$here/unet_step.lua" --channels $2 \
    --batch $BATCH --repeats $REPEATS --target-s $TARGET_S --warmup $WARMUP >"$3" 2>"$3.err" \
    || { echo "# fmlua run failed (threads $1, C $2): $(head -n 1 "$3.err")"; }
}
torch_run() { # threads C out
  env "${ENV[@]}" OMP_WAIT_POLICY=passive /usr/bin/python3 "$PEER/unet_train.py" --channels $2 \
    --batch $BATCH --threads $1 --repeats $REPEATS --target-s $TARGET_S --warmup $WARMUP \
    >"$3" 2>"$3.err" || { echo "# torch run failed (threads $1, C $2): $(head -n 1 "$3.err")"; }
}

declare -A R
table() { # C label gflops: one table from R[C,*]
  local C=$1
  awk -v tag="unet_c${C}_b${BATCH}" -v fpar="${R[$C,fpar]}" -v tpar="${R[$C,tpar]}" \
      -v ftr="${R[$C,ftr]}" -v ttr="${R[$C,ttr]}" -v ffw="${R[$C,ffw]}" -v tfw="${R[$C,tfw]}" \
      -v fjv="${R[$C,fjv]}" -v tjv="${R[$C,tjv]}" -v fl="${R[$C,gflop]}" -v g="$3" \
      -v rf="${R[$C,rf]:-0}" -v rt="${R[$C,rt]:-0}" -v label="$2" '
    function ratio(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "n/a" }
    function res(ok) { return ok ? "met" : "MISSED" }
    BEGIN {
      printf "### %s, setting %s\n", tag, label
      printf "%-26s %12s %12s %8s  %s\n", "quantity", "fmlua", "torch", "ratio", "notes"
      printf "%-26s %12d %12d %8s  %s\n", "params", fpar, tpar, "",
        (fpar == tpar ? "same" : "DIFFERENT")
      lim = (fl > 0) ? g / (3 * fl) : 0
      target = 1.5 * ttr; why = "1.5x torch"
      if (0.70 * lim < target) { target = 0.70 * lim; why = "70% of limit" }
      printf "%-26s %12.3f %12.3f %8s  limit %.3f (3 x %.2f GFLOP at %.0f GFLOP/s), fmlua at %.0f%% of it; target %.3f (%s): %s\n",
        "train steps/s", ftr, ttr, ratio(ftr, ttr), lim, fl, g, (lim > 0 ? 100 * ftr / lim : 0),
        target, why, res(ftr > 0 && ftr >= target)
      printf "%-26s %12.3f %12.3f %8s\n", "forward calls/s", ffw, tfw, ratio(ffw, tfw)
      printf "%-26s %12.3f %12.3f %8s  target fmlua >= 2x torch: %s\n", "jvp calls/s", fjv, tjv,
        ratio(fjv, tjv), res(fjv > 0 && tjv > 0 && fjv >= 2 * tjv)
      printf "%-26s %12s %12s %8s  target fmlua <= 2: %s\n", "jvp time / forward time",
        (fjv > 0 ? sprintf("%.2f", ffw / fjv) : "n/a"), (tjv > 0 ? sprintf("%.2f", tfw / tjv) : "n/a"), "",
        res(fjv > 0 && ffw / fjv <= 2)
      printf "%-26s %12.1f %12.1f %8s  target fmlua <= 0.5x torch: %s\n", "peak RSS MB (train run)",
        rf / 1024, rt / 1024, ratio(rf, rt), res(rf > 0 && rt > 0 && rf <= 0.5 * rt)
    }'
}

run_setting() {
  local label=$1; shift
  echo "## setting: $label (${*:-as the environment is}; OPENBLAS_CORETYPE=$(env "${ENV[@]}" printenv OPENBLAS_CORETYPE || echo '<unset>'))"
  local C gflops=0 nsg=0
  for C in $CHANNELS; do
    local tag=unet_c${C}_b${BATCH} runs=""
    local ftr=0 ffw=0 fjv=0 ttr=0 tfw=0 tjv=0 fpar=0 tpar=0 gflop=0 r th g
    for r in $(seq "$ROUNDS"); do
      g=$(env "${ENV[@]}" "$SGEMM" 3 0.3 | awk '/4096x256x256_median/ {print $2}')
      gflops=$(best "$gflops" "$g"); nsg=$((nsg + 1))
      for th in 2 1; do
        local f=$TMP/f.txt t=$TMP/t.txt
        fmlua_run $th $C "$f"
        torch_run $th $C "$t"
        ftr=$(best "$ftr" "$(val "$f" _train_steps_per_s_median)")
        ffw=$(best "$ffw" "$(val "$f" _forward_per_s_median)")
        fjv=$(best "$fjv" "$(val "$f" _jvp_per_s_median)")
        ttr=$(best "$ttr" "$(val "$t" _train_steps_per_s_median)")
        tfw=$(best "$tfw" "$(val "$t" _forward_per_s_median)")
        tjv=$(best "$tjv" "$(val "$t" _jvp_per_s_median)")
        fpar=$(best "$fpar" "$(val "$f" _params)"); tpar=$(best "$tpar" "$(val "$t" _params)")
        gflop=$(best "$gflop" "$(val "$t" _forward_gflop)")
        runs="$runs | r$r/t$th fmlua $(val "$f" _train_steps_per_s_median) $(val "$f" _forward_per_s_median)"
        runs="$runs $(val "$f" _jvp_per_s_median) torch $(val "$t" _train_steps_per_s_median)"
        runs="$runs $(val "$t" _forward_per_s_median) $(val "$t" _jvp_per_s_median)"
        grep '^# fm.jvp' "$f" || true
      done
    done
    echo "# $tag medians (train, forward, jvp per s) by round/threads$runs"
    R[$C,ftr]=$ftr; R[$C,ffw]=$ffw; R[$C,fjv]=$fjv; R[$C,ttr]=$ttr; R[$C,tfw]=$tfw; R[$C,tjv]=$tjv
    R[$C,fpar]=$fpar; R[$C,tpar]=$tpar; R[$C,gflop]=$gflop
    R[$C,rf]=$(peak_kb env "${ENV[@]}" OPENBLAS_NUM_THREADS=2 /usr/bin/time -v "$FMLUA" "$here/unet_step.lua" \
         --channels $C --batch $BATCH --warmup 3 --steps $RSS_STEPS)
    R[$C,rt]=$(peak_kb env "${ENV[@]}" OMP_WAIT_POLICY=passive /usr/bin/time -v /usr/bin/python3 \
         "$PEER/unet_train.py" --channels $C --batch $BATCH --threads 2 --warmup 3 \
         --repeats $RSS_STEPS --target-s 0 --no-jvp)
  done
  echo "# cblas_sgemm 4096x256x256, best of $nsg (one per round and C): $gflops GFLOP/s"
  for C in $CHANNELS; do table $C "$label" "$gflops"; done
}

echo "# $(date -u) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# ROUNDS=$ROUNDS REPEATS=$REPEATS TARGET_S=$TARGET_S WARMUP=$WARMUP RSS_STEPS=$RSS_STEPS BATCH=$BATCH"
for s in $SETTINGS; do
  case $s in
    machine) ENV=(); run_setting machine ;;
    unset) ENV=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE); run_setting unset "${ENV[@]}" ;;
    *) echo "# unknown setting $s (machine or unset)" ;;
  esac
done
exit 0
