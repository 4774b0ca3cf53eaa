#!/usr/bin/env bash
# two_writers.sh with 20 simultaneous pairs of writers.
ROUNDS=${ROUNDS:-20} exec bash "$(dirname "$0")/two_writers.sh" "$@"
