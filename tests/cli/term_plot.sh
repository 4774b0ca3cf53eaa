# term_plot.sh — fm.plot.term in a real terminal (tmux): a scatter typed at
# the REPL shows braille dots in colour, sized from the terminal (ioctl
# TIOCGWINSZ); NO_COLOR, a pipe and a non-UTF-8 locale turn colour and
# Unicode off; train.loop{progress = "curve"} redraws the loss curve in place
# on a terminal and prints plain lines into a pipe.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/tmux.bash"
# one tmux server per part (a new server on a socket whose server is still
# exiting can fail to start); tmux_ of tmux.bash reads $SOCK at each call
SOCK="fmlua-termplot-test-$$-repl"
trap 'for p in repl nocolor curve; do tmux -L "fmlua-termplot-test-$$-$p" kill-server 2>/dev/null; done
      rm -rf "$TMP"' EXIT
screen_e() { tmux_ capture-pane -e -p -S -500 2>/dev/null; }
# a line ending in ";" (tmux reads a final ";" as its own separator unless
# escaped): the REPL runs it as a statement and does not echo the result
line_() { tmux_ send-keys -l -- "$1"; tmux_ send-keys -l '\;'; tmux_ send-keys Enter; }

# the REPL in a UTF-8 terminal of 120 x 40
tmux_ new-session -d -x 120 -y 40 \
    "LANG=C.UTF-8 FMLUA_HISTORY='$TMP/history' '$FMLUA'; echo \"EXIT=\$?\"; sleep 60"
expect "banner" "^fmlua [0-9.]+ with Lua 5\.4"
line 'x = fm.tensor{{0, 1}, {0.5, 0.5}, {1, 0}}'
# the three points of tests/lua/plot_term_spec.lua: U+2801, U+2808, U+2880
line_ 'fm.plot.term.scatter(x, {width = 6, height = 4})'
expect "scatter in the REPL: top row" "^1 ┤⠁$"
expect "scatter in the REPL: bottom row" "^0 ┤ ⠈⢀$"
line_ 'fm.plot.term.scatter(fm.data.moons{}:sample(5000), {title = "moons"})'
expect "a sample set drawn in braille" "^moons$"
expect "the plot's last line" "^ +-[0-9.]+ +[0-9.]+$"
if screen | grep -q "table: 0x"; then echo "FAIL the statement's results were echoed"; FAILED=1
else echo "ok   a line ending in ; is not echoed"; fi
if screen_e | LC_ALL=C grep -q $'\e\\[[0-9;]*m\xe2[\xa0-\xa3]'; then echo "ok   braille in colour on a terminal"
else echo "FAIL no coloured braille"; screen_e | tail -5 | cat -v; FAILED=1; fi
# no width given: the terminal's 120 columns (the axis line spans them)
axis=$(screen | grep -E "^ +└─+$" | tail -1)
check "width from the terminal (TIOCGWINSZ)" 120 "${#axis}"
line_ 'fm.plot.term.heatmap(function(p) return (-(p * p):sum(2)):exp() end, {width = 40, height = 12, title = "density"})'
expect "a field as a heatmap" "^density$"
expect "heatmap half blocks" "▀"
line 'os.exit(0)'
expect "REPL exits" "^EXIT=0$"
tmux_ kill-server 2>/dev/null

# NO_COLOR in a terminal: braille without colour
SOCK="fmlua-termplot-test-$$-nocolor"
tmux_ new-session -d -x 100 -y 30 \
    "NO_COLOR=1 LANG=C.UTF-8 '$FMLUA' -e 'fm = require \"fm\"; fm.plot.term.scatter(fm.tensor{{0, 1}, {1, 0}}, {width = 6, height = 4})'; echo DONE; sleep 60"
expect "NO_COLOR run finished" "^DONE$"
if screen_e | grep -q $'\e\\[[0-9;]*m'; then echo "FAIL colour escapes despite NO_COLOR"; FAILED=1
else echo "ok   NO_COLOR turns colour off"; fi
contains "NO_COLOR keeps braille" "⠁" "$(screen)"
tmux_ kill-server 2>/dev/null

# a pipe: no escapes; a C locale: ASCII
out=$(LANG=C.UTF-8 LC_ALL= "$FMLUA" -e 'fm = require "fm"; fm.plot.term.scatter(fm.tensor{{0, 1}, {1, 0}}, {width = 6, height = 4})' | cat)
check "no colour into a pipe" 0 "$(printf '%s' "$out" | grep -c $'\e')"
contains "braille into a pipe under UTF-8" "1 ┤⠁" "$out"
out=$(LANG=C LC_ALL=C "$FMLUA" -e 'fm = require "fm"; fm.plot.term.scatter(fm.tensor{{0, 1}, {1, 0}}, {width = 6, height = 4})')
check "ASCII under the C locale" "1 +.  |0 +  .|  +---|   0 1" "$(printf '%s' "$out" | paste -sd'|')"

# the loss curve of train.loop
cat > "$TMP/loop.lua" <<'LUA'
local fm = require "fm"
local train = require "fm.train"
local seconds = train.loop{steps = 400, progress = "curve", curve_height = 8, step = function(i)
  local t = fm.clock()
  while fm.clock() - t < 0.004 do end
  return 1 / i
end}
io.open(arg[1], "w"):write(string.format("%d\n", math.ceil(seconds)))
LUA
SOCK="fmlua-termplot-test-$$-curve"
# what the program wrote to the terminal, escapes and all (tmux pipe-pane)
tmux_ new-session -d -x 100 -y 30 "sleep 0.5; LANG=C.UTF-8 '$FMLUA' '$TMP/loop.lua' '$TMP/seconds'; echo DONE; sleep 60"
tmux_ pipe-pane -o "cat > '$TMP/loop.out'"
expect "curve loop finished" "^DONE$"
expect "the loop's last frame" "^train 400/400"
raw=$(cat "$TMP/loop.out")
ups=$(printf '%s' "$raw" | grep -o $'\e\\[8A' | wc -l)
secs=$(cat "$TMP/seconds")   # the loop's time, rounded up (1.6 s unloaded)
if [ "$ups" -ge 3 ] && [ "$ups" -le $((4 * secs + 1)) ]; then
    echo "ok   the curve is redrawn in place ($ups times in at most $secs s)"
else echo "FAIL redrawn $ups times in $secs s (expected 3 to 4 a second)"; FAILED=1; fi
contains "the curve's last frame" "train 400/400" "$raw"
tmux_ kill-server 2>/dev/null
# not a terminal: the plain progress lines
out=$(LANG=C.UTF-8 "$FMLUA" "$TMP/loop.lua" "$TMP/seconds" | cat)
check "plain lines into a pipe" 0 "$(printf '%s' "$out" | grep -c $'\e')"
contains "plain progress line" "train 400/400" "$out"

finish
