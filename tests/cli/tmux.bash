# tmux.bash — driving an interactive fmlua through a pseudo-terminal (tmux),
# sourced after lib.bash by tests/cli/repl*.sh: screen, wait_for, expect,
# type_, key, line. Skips the test (exit 0) when tmux is missing.
if ! command -v tmux >/dev/null; then
    echo "skip: tmux is not installed (apt-get install tmux)"
    exit 0
fi
SOCK="fmlua-${0##*/}-$$"
tmux_() { tmux -L "$SOCK" "$@"; }
trap 'tmux_ kill-server 2>/dev/null; rm -rf "$TMP"' EXIT

# the screen (tmux turns tabs into spaces and drops trailing spaces)
screen() { tmux_ capture-pane -p -S -500 2>/dev/null | grep -v '^$'; }
# wait_for REGEX: polls the screen for up to 10 s; 1 if it never showed or
# the REPL is gone.
wait_for() {
    for _ in $(seq 100); do
        screen | grep -qE -- "$1" && return 0
        tmux_ has-session 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
expect() { # name regex
    if wait_for "$2"; then echo "ok   $1"; else
        echo "FAIL $1: /$2/ never appeared; screen:"; screen | tail -25 | sed 's/^/  | /'
        FAILED=1
    fi
}
type_() { tmux_ send-keys -l -- "$1"; }
key() { tmux_ send-keys "$@"; }
line() { type_ "$1"; key Enter; }
