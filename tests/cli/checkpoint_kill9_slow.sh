#!/usr/bin/env bash
# checkpoint_kill9.sh with 200 kills -9 of the writer.
KILLS=${KILLS:-200} exec bash "$(dirname "$0")/checkpoint_kill9.sh" "$@"
