# image_experiment.sh — experiments/fashion_mnist.lua end to end on 8x8
# synthetic images of 4 classes (a bright quadrant per class; --data
# synthetic), in seconds: it trains, its class-conditional samples put the
# bright quadrant where the label asks (>= 0.8 of them; an untrained network
# scores about 0.25), the run directory holds what docs/images.md promises,
# and --resume goes on from the checkpoint instead of starting again.
source "$(dirname "$0")/lib.bash"
HERE=$(dirname "$0")
export FM_PROGRESS=off
out="$TMP/img"
common="--data synthetic --batch 32 --channels 8 --ema 0.9 --lr 2e-3 --n 80 --acc-n 8 --guidance 0,2 --w 2"
if "$FMLUA" experiments/fashion_mnist.lua $common --steps 150 --out "$out" >"$TMP/log" 2>&1; then
    echo "ok   fashion_mnist.lua trains on synthetic images"
else
    echo "FAIL fashion_mnist.lua exited non-zero:"; tail -20 "$TMP/log"; FAILED=1
fi
if "$FMLUA" "$HERE/check_run.lua" "$out" model.safetensors checkpoint.safetensors \
        grid_w0.png grid_w2.png loss.png generation.gif; then
    echo "ok   run directory"
else
    echo "FAIL run directory"; FAILED=1
fi
# the share of samples whose brightest quadrant is the asked one
cat > "$TMP/quadrants.lua" <<'LUA'
local fm = require "fm"
local x = fm.load_npy(arg[1]):to("float32")
local y = fm.load_npy(arg[2])
local q = require("fm.images").quadrant_of(x:reshape(x:size(1), 1, 8, 8))
print(q:eq(y):to("float32"):mean():item())
LUA
acc=$("$FMLUA" "$TMP/quadrants.lua" "$out/samples.npy" "$out/labels.npy" 2>&1)
ok=$(awk -v a="$acc" 'BEGIN { print (a + 0 >= 0.8) ? "yes" : "no" }')
check "samples follow their labels (quadrant accuracy $acc >= 0.8)" yes "$ok"
echo 'local fm = require "fm"; local x = fm.load_npy(arg[1])
print(x:dtype(), table.concat(x:shape(), "x"))' > "$TMP/dtype.lua"
check "samples.npy is uint8 (n, 8, 8)" "uint8	80x8x8" "$("$FMLUA" "$TMP/dtype.lua" "$out/samples.npy")"
# --resume: from the checkpoint at step 150 to 170, not from step 1
res=$("$FMLUA" experiments/fashion_mnist.lua $common --steps 170 --out "$out" --resume --no-plots 2>&1)
contains "--resume continues from the checkpoint" "resumed from $out/checkpoint.safetensors at step 150 of 170" "$res"
lines=$(grep -c '"loss"' "$out/metrics.jsonl")
ok=$([ "$lines" -ge 2 ] && echo yes || echo no)
check "--resume keeps the earlier metrics ($lines loss lines)" yes "$ok"
err=$("$FMLUA" experiments/fashion_mnist.lua $common --steps 10 --out "$TMP/none" --resume 2>&1); code=$?
check "--resume without a checkpoint fails" 1 "$code"
contains "and says where it looked" "no checkpoint at $TMP/none/checkpoint.safetensors" "$err"
finish
