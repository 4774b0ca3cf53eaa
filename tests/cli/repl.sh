# repl.sh — the interactive REPL driven through a pseudo-terminal (tmux):
# expressions print their values, multi-line statements continue, an error
# prints a traceback and the REPL goes on, tab completion (globals, nested
# fields, fm., methods after ":"), Ctrl-C interrupts a running loop and
# abandons a line at the prompt, history is written, Ctrl-D exits 0.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/tmux.bash"

HIST="$TMP/history"
tmux_ new-session -d -x 200 -y 50 \
    "FMLUA_HISTORY='$HIST' '$FMLUA'; echo \"EXIT=\$?\"; sleep 60"
expect "banner" "^fmlua [0-9.]+ with Lua 5\.4"
expect "prompt" "^>$"

line '1+2'; line '"<" .. 40+2 .. ">"'
expect "expression printed" "^<42>$"
line 'x = 10'; line '= x * 3'
expect "=expr printed" "^30$"
line '"m1", 2, nil'
expect "several values printed" "^m1 +2 +nil$"
line 'type(fm)'
expect "fm is a global in the REPL" "^table$"

line 'function sq(n)'; expect "continuation prompt" "^>>$"
line '  return n * n'; line 'end'; line 'sq(12) + 0.5'
expect "multi-line function defined" "^144\.5$"

line 'error("oops-marker")'
expect "error message" "stdin:1: oops-marker"
expect "error traceback" "stack traceback:"
line '"still" .. "-alive"'
expect "REPL goes on after an error" "^still-alive$"

line 't = {inner = {deep_value = 5}}'
type_ 't.inner.dee'; key Tab; type_ ' + 1000'; key Enter
expect "completion of nested fields" "^1005$"
type_ 'fm.vers'; key Tab; type_ ' .. "-ver"'; key Enter
expect "completion of fm." "^$("$FMLUA" -e 'io.write(require("fm").version)')-ver$"
line 's = "abc"'
type_ 's:upp'; key Tab; type_ ') .. "-meth"'; key Enter
expect "completion of methods after :" "^ABC-meth$"
line 'obj = setmetatable({}, {__index = {frobnicate = function() return "frob-ok" end}})'
type_ 'obj:frob'; key Tab; type_ ')'; key Enter
expect "completion of methods from __index" "^frob-ok$"
type_ 'io.stdout:wri'; key Tab; type_ '"userdata-ok\n")'; key Enter # Tab adds "("
expect "completion of userdata methods" "^userdata-ok$"
type_ 'collectg'; key Tab; type_ '"count") > 0 and "glob-ok"'; key Enter
expect "completion of globals" "^glob-ok$"

line 'while true do end'
sleep 0.5; key C-c
expect "Ctrl-C interrupts a loop" "interrupted!$"
line '"after" .. "-interrupt"'
expect "REPL answers after Ctrl-C" "^after-interrupt$"

type_ '"ran" .. "-abandoned"'; key C-c
line '"after" .. "-prompt-ctrl-c"'
expect "Ctrl-C at the prompt drops the line" "^after-prompt-ctrl-c$"
line 'function never()'; key C-c
line '"after" .. "-continuation-ctrl-c"'
expect "Ctrl-C drops a multi-line statement" "^after-continuation-ctrl-c$"
if screen | grep -qE '^ran-abandoned$|never'"'"'? expected'; then
    echo "FAIL an abandoned line was run"; FAILED=1
fi

key C-d
expect "Ctrl-D exits with status 0" "^EXIT=0$"
contains "history written" "sq(12) + 0.5" "$(cat "$HIST" 2>/dev/null)"
tmux_ kill-server 2>/dev/null
SOCK="$SOCK-i" # a fresh server: the old one may still be shutting down

# -i: the REPL after the options (and script) have run
tmux_ new-session -d -x 200 -y 50 \
    "FMLUA_HISTORY='$HIST' '$FMLUA' -e 'marker = 7' -i; echo \"EXIT=\$?\"; sleep 60"
expect "-i prints the version" "^fmlua [0-9.]+ with Lua 5\.4"
line 'marker * 6'
expect "-i keeps the state of -e" "^42$"
key C-d
expect "-i: Ctrl-D exits with status 0" "^EXIT=0$"

# completion of fm's lazily loaded scripts/fm modules, in an installed tree
# (a temp prefix, so a probe module can be added without touching scripts/)
BUILD=${FM_BUILD_DIR:-$(dirname "$FMLUA")}
if [ -x "$BUILD/fmlua" ] && cmake --install "$BUILD" --prefix "$TMP/prefix" >/dev/null 2>&1; then
    mkdir -p "$TMP/prefix/share/lua/5.4/fm"
    echo 'return {nested = {leaf_value = 9}}' > "$TMP/prefix/share/lua/5.4/fm/probe_repl.lua"
    tmux_ kill-server 2>/dev/null
    SOCK="$SOCK-inst"
    tmux_ new-session -d -x 200 -y 50 \
        "FMLUA_HISTORY='$HIST' '$TMP/prefix/bin/fmlua'; echo \"EXIT=\$?\"; sleep 60"
    expect "installed REPL starts" "^fmlua [0-9.]+ with Lua 5\.4"
    type_ 'fm.probe_r'; key Tab      # a file in scripts/fm, not yet loaded
    type_ 'nested.leaf_v'; key Tab   # Tab after a table added the "."
    type_ ' + 100'; key Enter
    expect "completion walks fm's lazy modules" "^109$"
    key C-d
    expect "installed REPL exits" "^EXIT=0$"
else
    echo "skip lazy-module completion: cannot install $BUILD (no scripts/ yet?)"
fi

finish
