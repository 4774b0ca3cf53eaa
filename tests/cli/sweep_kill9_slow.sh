#!/usr/bin/env bash
# sweep_kill9.sh with 100 kills -9 of the runner over 64 runs (about a minute).
KILLS=${KILLS:-100} exec bash "$(dirname "$0")/sweep_kill9.sh" "$@"
