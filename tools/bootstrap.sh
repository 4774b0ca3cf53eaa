#!/usr/bin/env bash
# bootstrap.sh — install Debian's packages, build fmlua, then do one thing:
#   tools/bootstrap.sh run [script.lua args...]   run a script (default: experiments/ot_path.lua)
#   tools/bootstrap.sh test                       run the whole test suite (ctest)
#   tools/bootstrap.sh test-sanitize              the suite in an ASan + UBSan build
#   tools/bootstrap.sh build                      only build
# Set FM_SKIP_APT=1 to skip the package step (already installed).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
mode=${1:-build}
[ $# -gt 0 ] && shift

install_packages() {
  [ "${FM_SKIP_APT:-0}" = 1 ] && return 0
  local pkgs missing=()
  mapfile -t pkgs < <(grep -v '^#' tools/debian-packages.txt | sed '/^$/d')
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "bootstrap: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() { # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}

install_packages
case "$mode" in
  build) build build ;;
  run)
    build build
    [ $# -eq 0 ] && set -- experiments/ot_path.lua
    exec build/fmlua "$@" ;;
  test)
    build build
    ctest --test-dir build --output-on-failure -j"$(nproc)" "$@" ;;
  test-sanitize)
    build build-asan -DFM_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build-asan --output-on-failure -j"$(nproc)" -LE slow "$@" ;;
  *) echo "usage: tools/bootstrap.sh build|run [script args]|test|test-sanitize" >&2; exit 2 ;;
esac
