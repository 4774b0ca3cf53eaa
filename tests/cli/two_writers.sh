#!/usr/bin/env bash
# Two writers at once (docs/reliability.md):
#  1. a second experiments/ot_path.lua with the same --out while the first
#     runs is refused: non-zero exit, a message naming the directory and the
#     holder's pid; the first run's files are intact;
#  2. ROUNDS pairs started at the same moment: each pair gives one run and one
#     clean refusal (or two runs one after the other), never a corrupt file;
#  3. two processes writing the same file through fm.run's temporary names
#     (and fm.save the same checkpoint) while a third reads it: no error, no
#     torn file.
#   bash tests/cli/two_writers.sh path/to/fmlua       (ROUNDS=20 in *_slow.sh)
set -euo pipefail
FMLUA=$(realpath "${1:?usage: two_writers.sh path/to/fmlua}")
SRC=${FM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ROUNDS=${ROUNDS:-3}
T=$(mktemp -d)
trap '[[ -n ${KEEP:-} ]] || rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
tried=0 refused=0 runs=0 crashes=0
EXP=("$FMLUA" "$SRC/experiments/ot_path.lua" --n 200 --no-plots)

# valid(dir): config.lua loads and every metrics.jsonl line is one JSON object
cat > "$T/valid.lua" <<'LUA'
local fm, dir = require "fm", arg[1]
assert(loadfile(dir .. "/config.lua"))()
local json = require "fm.sweep.json"
local n = 0
for line in io.lines(dir .. "/metrics.jsonl") do
  local ok, obj = pcall(json.decode, line)
  if not ok or type(obj) ~= "table" then io.stderr:write("bad line: ", line, "\n"); os.exit(1) end
  n = n + 1
end
if n < 2 then io.stderr:write("only ", n, " lines\n"); os.exit(1) end
assert(fm.load_npy(dir .. "/samples.npy"))
LUA
valid() { "$FMLUA" "$T/valid.lua" "$1"; }

# refusal(file, dir): the message names the directory and a process id
refusal() {
  grep -q "fm.run: $2 is in use by another writer (process [0-9]*" "$1"
}

# 1. the second writer arrives while the first holds the directory
"${EXP[@]}" --steps 1500 --out "$T/one" > "$T/a.txt" 2>&1 &
A=$!
for _ in $(seq 400); do [[ -s $T/one/metrics.jsonl ]] && break; sleep 0.02; done
rc=0; "${EXP[@]}" --steps 50 --out "$T/one" > "$T/b.txt" 2>&1 || rc=$?
tried=$((tried + 1))
if [[ $rc != 0 ]] && refusal "$T/b.txt" "$T/one"; then refused=$((refused + 1))
else crashes=$((crashes + 1)); echo "second writer: exit $rc"; cat "$T/b.txt"; fi
grep -q "process $A " "$T/b.txt" || { cat "$T/b.txt"; fail "the message does not name the holder $A"; }
wait "$A" || { cat "$T/a.txt"; fail "the first writer failed"; }
tried=$((tried + 1)) runs=$((runs + 1))
valid "$T/one" || fail "the first writer's files are damaged"
[[ ! -e $T/one/.lock ]] || fail "the lock file outlived its run"
echo "ok: a second writer is refused: $(grep -o 'fm.run: .*' "$T/b.txt" | head -1)"

# 2. pairs started together
for r in $(seq "$ROUNDS"); do
  d="$T/pair$r"
  "${EXP[@]}" --steps 100 --seed 1 --out "$d" > "$T/p1.txt" 2>&1 & P1=$!
  "${EXP[@]}" --steps 100 --seed 2 --out "$d" > "$T/p2.txt" 2>&1 & P2=$!
  r1=0; wait "$P1" || r1=$?
  r2=0; wait "$P2" || r2=$?
  for k in 1 2; do
    tried=$((tried + 1))
    rc=$([[ $k == 1 ]] && echo "$r1" || echo "$r2")
    if [[ $rc == 0 ]]; then runs=$((runs + 1))
    elif refusal "$T/p$k.txt" "$d"; then refused=$((refused + 1))
    else crashes=$((crashes + 1)); echo "writer $k of pair $r: exit $rc"; cat "$T/p$k.txt"; fi
  done
  [[ $r1 == 0 || $r2 == 0 ]] || fail "pair $r: neither writer ran"
  valid "$d" || { crashes=$((crashes + 1)); echo "pair $r left a damaged run directory"; }
done

# 3. the same file from two processes, through fm.run.write_file and fm.save
cat > "$T/hammer.lua" <<'LUA'
local fm, runmod, path, tag, n = require "fm", require "fm.run", arg[1], arg[2], tonumber(arg[3])
local text = string.rep(tag, 200000)
local t = { w = fm.full({64, 64}, tag == "a" and 1 or 2) }
for _ = 1, n do
  runmod.write_file(path .. ".txt", text)
  runmod.atomic(path .. ".safetensors", function(tmp) fm.save(tmp, t) end)
  fm.save(path .. "-direct.safetensors", t)
end
LUA
cat > "$T/reader.lua" <<'LUA'
local fm, path, bad = require "fm", arg[1], 0
for _ = 1, 150 do
  local f = io.open(path .. ".txt", "rb")
  if f then
    local s = f:read("a"); f:close()
    if not (#s == 200000 and (s:match("^a+$") or s:match("^b+$"))) then bad = bad + 1 end
  end
  for _, p in ipairs { path .. ".safetensors", path .. "-direct.safetensors" } do
    local t = { w = fm.zeros({64, 64}) }
    local ok = pcall(fm.load, p, t)
    local v = ok and t.w:sum():item() or 0
    if io.open(p) and not (v == 4096 or v == 8192) then bad = bad + 1 end
  end
end
print("torn reads " .. bad)
LUA
"$FMLUA" "$T/hammer.lua" "$T/same" a 60 > "$T/h1.txt" 2>&1 & H1=$!
"$FMLUA" "$T/hammer.lua" "$T/same" b 60 > "$T/h2.txt" 2>&1 & H2=$!
"$FMLUA" "$T/reader.lua" "$T/same" > "$T/r.txt" 2>&1 || true
for k in 1 2; do
  tried=$((tried + 1))
  pid=$([[ $k == 1 ]] && echo "$H1" || echo "$H2")
  if wait "$pid"; then runs=$((runs + 1)); else crashes=$((crashes + 1)); echo "writer $k:"; cat "$T/h$k.txt"; fi
done
grep -q "^torn reads 0$" "$T/r.txt" || { crashes=$((crashes + 1)); cat "$T/r.txt"; }
left=$(find "$T" -maxdepth 1 -name '*.tmp*' | wc -l)
[[ $left == 0 ]] || { crashes=$((crashes + 1)); echo "temporaries left:"; ls -a "$T"; }

echo "two_writers: tried $tried writers, ran $runs, refused cleanly $refused, crashes or damage $crashes"
[[ $crashes == 0 ]] || fail "two_writers"
echo "ok: two_writers"
