#!/usr/bin/env bash
# bootstrap.sh — install Debian's packages, build fmlua, then do one thing:
#   tools/bootstrap.sh build                      only build
#   tools/bootstrap.sh run [script.lua args...]   run a script (default: experiments/ot_path.lua)
#   tools/bootstrap.sh test [ctest args...]       run the whole test suite (ctest)
#   tools/bootstrap.sh test-sanitize [ctest args] the suite in an ASan + UBSan build
#   tools/bootstrap.sh slurm                      install Slurm too, build,
#                                                 run the Slurm test (tests/cli/sweep_slurm.sh)
# The package lists are tools/packages/*.txt: build and run install
# runtime + build (+ mpi), test and test-sanitize add test, and the Slurm
# packages (slurm.txt, for tools/slurm_up.sh and the Slurm test) come only
# with the slurm command or FM_WITH_SLURM=1 (.ci/run sets it).
# Set FM_SKIP_APT=1 to skip the package step (already installed).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
mode=${1:-build}
[ $# -gt 0 ] && shift

# lists MODE: the package lists (tools/packages/NAME.txt) that MODE needs
lists() {
  local base=(runtime build mpi)
  case "$1" in
    build|run) echo "${base[*]}" ;;
    test|test-sanitize) echo "${base[*]} test" ;;
    slurm) echo "${base[*]} slurm" ;;
  esac
  [ "${FM_WITH_SLURM:-0}" = 1 ] && [ "$1" != slurm ] && echo slurm
  return 0
}

install_packages() { # install_packages LIST...
  [ "${FM_SKIP_APT:-0}" = 1 ] && return 0
  local pkgs=() missing=() list
  for list in "$@"; do
    mapfile -t -O "${#pkgs[@]}" pkgs < <(sed 's/#.*//; s/[[:space:]]//g; /^$/d' "tools/packages/$list.txt")
  done
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

case "$mode" in
  build|run|test|test-sanitize|slurm) ;;
  *) echo "usage: tools/bootstrap.sh build|run [script args]|test|test-sanitize|slurm" >&2; exit 2 ;;
esac
# shellcheck disable=SC2046 # one word per list name
install_packages $(lists "$mode")
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
  slurm)
    build build
    ctest --test-dir build --output-on-failure -R '^cli\.sweep_slurm$' ;;
esac
