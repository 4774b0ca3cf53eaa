#!/usr/bin/env bash
# slurm_down.sh - stop the cluster started by tools/slurm_up.sh: cancel its
# jobs, then end the PIDs recorded in $FMLUA_SLURM_DIR/pids (never by name),
# checking that each PID is still the daemon we started.
#   --keep: leave $FMLUA_SLURM_DIR (the logs) in place.
set -uo pipefail
export PATH=$PATH:/usr/sbin:/sbin
D=${FMLUA_SLURM_DIR:-/tmp/fmlua-slurm-$(id -un)}
KEEP=0; [[ ${1:-} == --keep ]] && KEEP=1
[[ -f $D/pids ]] || { echo "slurm_down: no $D/pids, nothing to stop"; exit 0; }

pid_of() { awk -v n="$1" '$1 == n { print $2 }' "$D/pids"; }

ours() {   # ours PID NAME: is PID still NAME started with our directory?
  local pid=$1 name=$2 cmd
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline")
  [[ $cmd == *"$name"* && $cmd == *"$D"* ]]
}

stop() {   # stop NAME: TERM, wait up to 10 s, then KILL the same PID
  local name=$1 pid; pid=$(pid_of "$name")
  ours "$pid" "$name" || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "slurm_down: $name ($pid) ignored TERM, sending KILL" >&2
  kill -KILL "$pid" 2>/dev/null
}

if [[ -f $D/slurm.conf ]] && ours "$(pid_of slurmctld)" slurmctld; then
  export SLURM_CONF=$D/slurm.conf
  timeout 5 scancel --full --quiet --partition=debug 2>/dev/null || true
  deadline=$((SECONDS + 15))
  while (( SECONDS < deadline )); do
    [[ -z $(timeout 5 squeue -h -t R,CG,PD 2>/dev/null) ]] && break
    sleep 0.1
  done
fi
stop slurmd
stop slurmctld
stop munged
rm -f "$D/pids"
(( KEEP )) || rm -rf "$D"
echo "slurm_down: stopped"
