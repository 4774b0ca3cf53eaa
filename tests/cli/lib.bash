# lib.bash — helpers sourced by the tests/cli/*.sh tests (named .bash so
# that ctest does not run it as a test).
FMLUA=${1:?usage: bash test.sh path/to/fmlua}
FAILED=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

check() { # name expected actual
    if [ "$2" == "$3" ]; then
        echo "ok   $1"
    else
        echo "FAIL $1"; echo "  expected: $2"; echo "  actual:   $3"
        FAILED=1
    fi
}

contains() { # name needle haystack
    case "$3" in
        *"$2"*) echo "ok   $1" ;;
        *) echo "FAIL $1"; echo "  missing: $2"; echo "  in: $3"; FAILED=1 ;;
    esac
}

finish() {
    [ "$FAILED" == 0 ] && echo "all passed" || echo "SOME FAILED"
    exit "$FAILED"
}
