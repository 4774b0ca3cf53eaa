# errors.sh — exit statuses and tracebacks: an uncaught error exits 1 with
# "fmlua: msg" and a stack traceback on stderr; Ctrl-C exits 130 with one
# line; os.exit(n) exits n; -m runs require(mod).main(arg) and exits with the
# integer it returns.
. "$(dirname "$0")/lib.bash"

cat > "$TMP/fail.lua" <<'LUA'
local function inner() error("boom") end
local function outer() inner() end
outer()
LUA
err=$("$FMLUA" "$TMP/fail.lua" 2>&1 >/dev/null); rc=$?
check "uncaught error exits 1" 1 $rc
contains "message names program and line" "$FMLUA: $TMP/fail.lua:1: boom" "$err"
contains "traceback present" "stack traceback:" "$err"
contains "traceback names the caller" "in local 'outer'" "$err"

err=$("$FMLUA" -e 'error(setmetatable({}, {__tostring = function() return "custom" end}))' 2>&1); rc=$?
check "error object with __tostring" "1 $FMLUA: custom" "$rc $err"
err=$("$FMLUA" -e 'error({})' 2>&1)
contains "error object without __tostring" "(error object is a table value)" "$err"

err=$("$FMLUA" "$TMP/missing.lua" 2>&1); rc=$?
check "missing script exits 1" 1 $rc
contains "missing script named" "cannot open $TMP/missing.lua" "$err"

err=$("$FMLUA" -e 'x = = 1' 2>&1); rc=$?
check "syntax error exits 1" 1 $rc

out=$("$FMLUA" -e 'os.exit(3)'); rc=$?
check "os.exit(3)" 3 $rc
"$FMLUA" -e 'os.exit(true)'; check "os.exit(true)" 0 $?
"$FMLUA" -e 'os.exit(false)'; check "os.exit(false)" 1 $?
out=$(echo 'print("a") os.exit(4) print("b")' | "$FMLUA" -); rc=$?
check "os.exit from stdin" "4 a" "$rc $out"

out=$("$FMLUA" -e 'error("x")' -e 'print("not reached")' 2>/dev/null); rc=$?
check "first failing -e stops" "1 " "$rc $out"

# SIGINT stops a running script with "interrupted!", no traceback, exit 130
# (128 + SIGINT, what a shell reports for a program killed by Ctrl-C)
# The script says "started" once its handler is in place: a signal sent
# earlier (a loaded machine, a slow start) would be lost and the loop would
# never stop, since a background job of a non-interactive shell ignores SIGINT.
"$FMLUA" -e 'print("started") io.stdout:flush() while true do end' \
  >"$TMP/int.out" 2>"$TMP/int.err" &
pid=$!
for _ in $(seq 600); do grep -q started "$TMP/int.out" 2>/dev/null && break; sleep 0.05; done
kill -INT $pid
wait $pid; rc=$?
check "SIGINT exits 130" 130 $rc
check "SIGINT message, no traceback" "$FMLUA: interrupted!" "$(cat "$TMP/int.err")"
# ... inside the engine (a long ODE solve) and during an experiment's training
cat > "$TMP/long_ode.lua" <<'LUA'
local fm = require "fm"
io.stdout:write("started\n"); io.stdout:flush()
local field = fm.path.gaussian("linear"):marginal(fm.data.gmm{means = {{0, 0}, {2, 2}}, stds = 0.5})
fm.ode.solve(field, fm.randn(1000, 2), {method = "euler", steps = 100000000})
LUA
"$FMLUA" "$TMP/long_ode.lua" >"$TMP/ode.out" 2>"$TMP/ode.err" &
pid=$!
for _ in $(seq 100); do grep -q started "$TMP/ode.out" 2>/dev/null && break; sleep 0.05; done
sleep 0.3
kill -INT $pid
wait $pid; rc=$?
check "SIGINT in an engine loop exits 130" 130 $rc
contains "engine loop interrupted" "ode.solve: interrupted at t = " "$(cat "$TMP/ode.err")"
check "no traceback after an engine interruption" "" "$(grep 'stack traceback' "$TMP/ode.err")"
if "$FMLUA" -e 'local fm = require "fm"; os.exit(fm.nn and fm.optim and 0 or 1)' 2>/dev/null; then
    "$FMLUA" experiments/ot_path.lua --steps 1000000 --no-plots --out "$TMP/int_run" \
        >/dev/null 2>"$TMP/exp.err" &
    pid=$!
    for _ in $(seq 200); do [ -s "$TMP/int_run/metrics.jsonl" ] && break; sleep 0.05; done
    kill -INT $pid
    wait $pid; rc=$?
    check "Ctrl-C during an experiment exits 130" 130 $rc
    check "Ctrl-C during an experiment: one line, no traceback" "$FMLUA: interrupted!" \
        "$(cat "$TMP/exp.err")"
    check "the run directory lock is released" "no" "$([ -e "$TMP/int_run/.lock" ] && echo yes || echo no)"
fi

# -m: a module on LUA_PATH with a main(arg)
mkdir -p "$TMP/mods/pkg"
cat > "$TMP/mods/pkg/tool.lua" <<'LUA'
local M = {}
function M.main(arg)
    print("main", arg[0], #arg, table.concat(arg, ","))
    return tonumber(arg[1])
end
return M
LUA
echo 'return {answer = 42}' > "$TMP/mods/nomain.lua"
export LUA_PATH="$TMP/mods/?.lua;;"
out=$("$FMLUA" -m pkg.tool 0 x y); rc=$?
check "-m runs main(arg)" "0 main	pkg.tool	3	0,x,y" "$rc $out"
"$FMLUA" -m pkg.tool 7 >/dev/null; check "-m exit status from main" 7 $?
out=$("$FMLUA" -e 'print("e first")' -m pkg.tool 0)
check "-e before -m" "e first
main	pkg.tool	1	0" "$out"
err=$("$FMLUA" -m nomain 2>&1); rc=$?
check "-m without main exits 1" 1 $rc
contains "-m without main is explained" "module 'nomain' has no main function" "$err"
err=$("$FMLUA" -m no.such.module 2>&1); rc=$?
check "-m missing module exits 1" 1 $rc
contains "-m missing module named" "module 'no.such.module' not found" "$err"
err=$("$FMLUA" -m 2>&1); rc=$?
check "-m without argument" "1" "$rc"
contains "-m without argument message" "'-m' needs argument" "$err"

finish
