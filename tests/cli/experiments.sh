# experiments.sh — every experiments/*.lua at a tiny size, into a temporary
# directory: it exits 0, and its run directory is well formed (config.lua
# loads, metrics.jsonl lines parse, samples.npy loads, PNG/GIF signatures;
# tests/cli/check_run.lua). Training experiments are skipped while fm.nn /
# fm.optim / fm.ode are missing from the build. Also: --help, bad options,
# and docs/experiments.md's Python snippet when numpy is available.
source "$(dirname "$0")/lib.bash"
HERE=$(dirname "$0")
export FM_PROGRESS=lines

have_training=$("$FMLUA" -e 'local fm = require "fm"
  print(fm.nn and fm.optim and fm.ode and fm.field and fm.langevin and "yes" or "no")' 2>/dev/null)

tiny() { # name: the options that make experiment <name> take about a second
    case "$1" in
        exact_field) echo "--n 200 --steps 20" ;;
        schedules) echo "--steps 20 --n 200 --ode-steps 5" ;;
        score_sde) echo "--steps 20 --n 200 --sde-steps 10" ;;
        ot_cfm) echo "--steps 10 --batch 32 --n 200 --ode-steps 5" ;;
        guidance) echo "--steps 20 --n 210 --ode-steps 5" ;;
        likelihood) echo "--steps 20 --n 200 --ode-steps 4 --res 12" ;;
        normalizing_flow) echo "--steps 20 --n 200 --ode-steps 4 --res 12 --layers 2 --width 16" ;;
        few_step) echo "--steps 20 --n 200 --width 16 --nfe 1,2" ;;
        few_step_images) echo "--data synthetic --steps 5 --batch 16 --channels 8 --n 8 --nfe 1 --ref-nfe 2" ;;
        fashion_mnist) echo "--data synthetic --steps 5 --batch 16 --channels 8 --n 8 --acc-n 4 --guidance 1" ;;
        fashion_classifier) echo "--train-n 256 --test-n 128 --epochs 1 --batch 64" ;;
        *) echo "--steps 20 --n 200" ;;
    esac
}
needs_training() { [ "$1" != exact_field ]; }
FASHION=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

for exp in experiments/*.lua; do
    name=$(basename "$exp" .lua)
    if needs_training "$name" && [ "$have_training" != yes ]; then
        echo "skip $name (fm.nn / fm.optim / fm.ode / fm.langevin not in this build)"; continue
    fi
    if [ "$name" = fashion_classifier ] && [ ! -e "$FASHION" ]; then
        echo "skip $name (Debian's dataset-fashion-mnist is not installed)"; continue
    fi
    out="$TMP/$name"
    if "$FMLUA" "$exp" $(tiny "$name") --seed 3 --out "$out" >"$TMP/$name.log" 2>&1; then
        echo "ok   $name runs"
    else
        echo "FAIL $name exited non-zero:"; tail -20 "$TMP/$name.log"; FAILED=1; continue
    fi
    extra=""
    [ "$name" = ot_path ] && extra="model.safetensors samples.npy samples.png loss.png flow.gif"
    [ "$name" = exact_field ] && extra="samples.npy samples.png flow.gif"
    [ "$name" = schedules ] && extra="samples.npy samples.png w2.png schedules.png"
    [ "$name" = score_sde ] && extra="model.safetensors samples.npy samples.png trajectories_sigma1.png"
    [ "$name" = ot_cfm ] && extra="samples.npy traj_noise_to_moons_ot.png traj_moons_to_8g_independent.png"
    [ "$name" = guidance ] && extra="model.safetensors samples.npy samples.png"
    [ "$name" = likelihood ] && extra="model.safetensors samples.npy logp_exact.png logp_model.png"
    [ "$name" = normalizing_flow ] && extra="flow.safetensors cnf.safetensors samples.npy logp_exact.png logp_flow.png logp_cnf.png densities.png"
    [ "$name" = few_step_images ] && extra="meanflow.safetensors tvm.safetensors cfm.safetensors grid_tvm_nfe1.png grid_cfm_nfe2.png"
    [ "$name" = few_step ] && extra="meanflow.safetensors tvm.safetensors cfm.safetensors samples_tvm_1nfe.npy one_step.png map_exact.png map_meanflow.png w2_nfe.png"
    [ "$name" = fashion_classifier ] && extra="classifier.safetensors loss.png accuracy.png confusion.txt"
    if "$FMLUA" "$HERE/check_run.lua" "$out" $extra; then
        echo "ok   $name run directory"
    else
        echo "FAIL $name run directory"; FAILED=1
    fi
done

# the classifier it saved is the one fm.image_metrics loads
if [ -e "$TMP/fashion_classifier/classifier.safetensors" ]; then
    got=$(P="$TMP/fashion_classifier/classifier.safetensors" "$FMLUA" -e '
      local fm = require "fm"
      local clf = require("fm.image_metrics").load_classifier(os.getenv("P"))
      print(clf:predict(fm.zeros(2, 1, 28, 28)):dtype())' 2>&1)
    check "fm.image_metrics.load_classifier reads the saved classifier" int64 "$got"
fi

# the options machinery as a user meets it
help=$("$FMLUA" experiments/exact_field.lua --help)
contains "help lists the options with defaults" "--steps N" "$help"
contains "help shows choices" "{linear, sqrt, cosine, vp, polynomial}" "$help"
err=$("$FMLUA" experiments/exact_field.lua --stpes 3 2>&1); code=$?
check "unknown option exits 2" 2 "$code"
contains "unknown option lists the known ones" "known options: --method --n --out" "$err"
# declared ranges (fm.cli min / above): a usage error, exit 2, before anything runs
for bad in "--steps -5:--steps must be >= 1, got -5" "--steps 0:--steps must be >= 1, got 0" \
           "--width 0:--width must be >= 1, got 0" "--batch 0:--batch must be >= 1, got 0" \
           "--n 1:--n must be >= 2, got 1" "--lr 0:--lr must be > 0, got 0"; do
    args=${bad%%:*}; want=${bad#*:}
    err=$("$FMLUA" experiments/ot_path.lua $args --out "$TMP/never" 2>&1); code=$?
    check "ot_path $args exits 2" 2 "$code"
    contains "ot_path $args names the range" "$want" "$err"
done
check "nothing ran for a bad range" "no" "$([ -e "$TMP/never" ] && echo yes || echo no)"

# a diverging run stops at the step that diverged and writes no samples
# (docs/reliability.md, "Bad numbers": ot_path --lr 1e3 ran at loss 1e30)
if [ "$have_training" = yes ]; then
    err=$("$FMLUA" experiments/ot_path.lua --lr 1e3 --steps 300 --n 200 --no-plots \
          --out "$TMP/diverged" 2>&1 >/dev/null); code=$?
    check "a diverged run exits 1" 1 "$code"
    contains "the error names the step" "fm.train: step 2: the loss" "$err"
    contains "the error says it diverged" "diverged" "$err"
    check "no samples from a diverged run" "no" "$([ -e "$TMP/diverged/samples.npy" ] && echo yes || echo no)"
fi

# docs/experiments.md: the Python snippet reads an fmlua run directory
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    run="$TMP/exact_field"
    [ "$have_training" = yes ] && run="$TMP/ot_path"
    sed -n '/^```python$/,/^```$/p' docs/experiments.md | sed '1d;$d' >"$TMP/read_run.py"
    py=$(/usr/bin/python3 "$TMP/read_run.py" "$run" 2>&1)
    contains "python reads samples.npy" "samples (200, 2) float32" "$py"
    contains "python reads metrics.jsonl" "last metrics:" "$py"
else
    echo "skip python snippet (no numpy)"
fi
finish
