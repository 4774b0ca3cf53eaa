# repl_help.sh — help, completion of methods and printing in the REPL, driven
# through tmux as a person types: x:<Tab> and x.<Tab> on a tensor offer its
# methods, "_" names stay hidden until a "_" is typed, ?x and help(x) print
# the API reference's entry (scripts/fm/api.md), fm objects and plain tables
# print readably; outside the REPL: fmlua --version / -v, fm.help from a
# script, and help in an installed tree.
. "$(dirname "$0")/lib.bash"

# outside the REPL first (no tmux needed)
VERSION=$(sed -n 's/^project(fmlua VERSION \([0-9.]*\).*/\1/p' "${FM_SOURCE_DIR:-.}/CMakeLists.txt")
out=$("$FMLUA" --version); code=$?
check "--version exits 0" 0 "$code"
contains "--version names fmlua's version (CMake's project VERSION)" "fmlua $VERSION with Lua 5.4" "$out"
check "-v prints the same line" "$out" "$("$FMLUA" -v)"
check "--version runs nothing after it" "$out" "$("$FMLUA" --version -e 'print("ran")')"
printf 'local fm = require "fm"\nfm.help(fm.zeros)\nfm.help(fm.data.moons())\n' > "$TMP/script.lua"
out=$("$FMLUA" "$TMP/script.lua")
contains "fm.help in a script: a function" "fm.zeros(size... [, dtype]) -> tensor" "$out"
contains "fm.help in a script: an object's type and its methods" \
    "Methods (?x:name or help(\"Dataset:name\") for one):
  sample classes" "$out"
check "scripts get no help global" "nil" "$("$FMLUA" -e 'io.write(tostring(help))')"

. "$(dirname "$0")/tmux.bash"
tmux_ new-session -d -x 200 -y 50 \
    "FMLUA_HISTORY='$TMP/history' '$FMLUA'; echo \"EXIT=\$?\"; sleep 60"
expect "REPL starts" "^fmlua [0-9.]+ with Lua 5\.4"

line 'x = fm.randn(2, 3)'
type_ 'x:logsu'; key Tab; type_ '):item() < 100 and "colon-ok"'; key Enter
expect "x:<Tab> completes a tensor method" "^colon-ok$"
type_ 'x.cdis'; key Tab; type_ 'x, x):numel() .. "-dot"'; key Enter
expect "x.<Tab> completes a tensor method" "^4-dot$"
type_ 'x:lo'; key Tab Tab
expect "x:<Tab><Tab> lists the methods" "x:logsumexp +x:long"
key C-u
type_ 'x.me'; key Tab; type_ 'x):numel() .. "-mean"'; key Enter  # not 'methods'
expect "x.<Tab> offers the methods, not the 'methods' table" "^1-mean$"
line 'obj = {_secret = 1, visible = 2}'
type_ 'obj.'; key Tab; type_ ' .. "-shown"'; key Enter
expect "names starting with _ are hidden" "^2-shown$"
type_ 'obj._'; key Tab; type_ ' .. "-asked"'; key Enter
expect "a typed _ offers them" "^1-asked$"

line '?fm.randn'
expect "?name prints the signature" "^fm\.randn\(size\.\.\. \[, dtype\]\) -> tensor$"
expect "?name prints the description" "^  Standard normal draws\.$"
line '?x:sum'
expect "?value:method" "^Tensor:sum\(\[dim \[, keepdim\]\]\) -> tensor$"
line 'help(fm.loss.cfm)'
expect "help(f) of a lazily loaded module's function" "^fm\.loss\.cfm\(model, path, z \[, opts\]\) -> loss, extras$"
line '?fm.ode'
expect "?module lists its contents" "^  fm\.ode\.solve\(f, x0 \[, opts\]\) -> x1, traj, stats$"
line '?nosuchname'
expect "?unknown says so" "^help: 'nosuchname' is nil$"
line 'help(42)'
expect "help of a value without an entry says so" "^help: no entry for this number"

line 'fm.data.moons{noise = 0.1}'
expect "a data set prints its parameters" "^fm\.Dataset\(moons, noise = 0\.1, scale = 3, shift = -1\)$"
line 'fm.data.gmm{means = {{0, 0}, {2, 2}}, stds = 1}'
expect "a mixture prints its components" "^fm\.GMM\(2 components in 2-d; w = 0\.5, mean = \(0, 0\), std = \(1, 1\); w = 0\.5, mean = \(2, 2\)"
line 'fm.optim.adam({fm.param(fm.zeros(2))}, {lr = 0.02})'
expect "an optimiser prints its settings" "^fm\.optim\.adam\(lr = 0\.02, betas = \{0\.9, 0\.999\}"
line '{a = {b = {c = {d = {e = 1}}}}, n = 1.5}'
expect "a nested table prints to a depth" "^\{a = \{b = \{c = \{\.\.\.1\}\}\}, n = 1\.5\}$"
line 'cyc = {}; cyc.me = cyc'; line 'cyc'
expect "a cycle prints as <cycle>" "^\{me = <cycle>\}$"
line '"after" .. "-printing"'
expect "the REPL goes on" "^after-printing$"
key C-d
expect "Ctrl-D exits with status 0" "^EXIT=0$"
contains "a ?line is kept in the history" "?fm.randn" "$(cat "$TMP/history" 2>/dev/null)"

# the installed scripts find the reference beside them
BUILD=${FM_BUILD_DIR:-$(dirname "$FMLUA")}
if [ -x "$BUILD/fmlua" ] && cmake --install "$BUILD" --prefix "$TMP/prefix" >/dev/null 2>&1; then
    out=$(cd / && "$TMP/prefix/bin/fmlua" -e 'require("fm").help(require("fm").randn)')
    contains "help in an installed tree" "fm.randn(size... [, dtype]) -> tensor" "$out"
else
    echo "skip installed help: cannot install $BUILD"
fi
finish
