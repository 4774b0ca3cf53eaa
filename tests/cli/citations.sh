#!/usr/bin/env bash
# citations.sh — no file of the repository (tracked, or new and not ignored) cites documents or directories outside the
# repository: the project's own docs are docs/math.md and docs/design.md
# (lower case), never the upper-case names of the files they came from, and
# nothing points into the shared directory beside the checkout (the
# benchmark peer is reached through FM_PEER_DIR, see bench/*.sh). The
# patterns are bracketed so that this file does not match itself.
#   bash tests/cli/citations.sh path/to/fmlua
source "$(dirname "$0")/lib.bash"
SRC=${FM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$SRC"
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  list() { git ls-files -z --cached --others --exclude-standard; }
else # an exported tree: every file but the build outputs
  list() { find . -path ./.git -prune -o -path './build*' -prune -o -path ./runs -prune \
                -o -type f -print0; }
fi
n=$(list | tr -cd '\0' | wc -c)
echo "checked $n files"
check "some files listed" yes "$([ "$n" -gt 50 ] && echo yes || echo no)"
for pat in 'MATH[.]md' 'DESIGN[.]md' '[.][.]/shared' '/work[/]shared' 'shared/bench[/]peer'; do
  hits=$(list | xargs -0 grep -IEn -- "$pat" 2>/dev/null | head -n 5)
  check "no file cites $pat" "" "$hits"
done
finish
