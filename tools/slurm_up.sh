#!/usr/bin/env bash
# slurm_up.sh - start a throw-away single-node Slurm cluster on localhost for
# tests and CI, without systemd and without touching /etc: munged, slurmctld
# and slurmd run as the invoking user, everything lives in $FMLUA_SLURM_DIR.
# Installs nothing. Debian packages needed (CI installs them):
#   apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
#
#   tools/slurm_up.sh                    # start, wait until the node is idle
#   source "$FMLUA_SLURM_DIR/env.sh"     # SLURM_CONF for sbatch/squeue/sinfo
#   tools/slurm_down.sh                  # stop exactly what was started (PIDs)
#
# Environment: FMLUA_SLURM_DIR [/tmp/fmlua-slurm-$USER],
#   FMLUA_SLURM_CTLD_PORT / FMLUA_SLURM_SLURMD_PORT [16817 / 16818],
#   FMLUA_SLURM_CPUS [nproc].
# Exit status: 0 up, 1 failed (logs printed; whatever started is stopped),
# 3 packages missing (nothing started).
set -euo pipefail
ME=$(id -un)
D=${FMLUA_SLURM_DIR:-/tmp/fmlua-slurm-$ME}
CTLD_PORT=${FMLUA_SLURM_CTLD_PORT:-16817}
SLURMD_PORT=${FMLUA_SLURM_SLURMD_PORT:-16818}
CPUS=${FMLUA_SLURM_CPUS:-$(nproc)}
HERE=$(cd "$(dirname "$0")" && pwd)
die() { echo "slurm_up: $*" >&2; exit 1; }

export PATH=$PATH:/usr/sbin:/sbin
for b in slurmctld slurmd sbatch squeue sinfo scancel munged mungekey munge unmunge; do
  command -v "$b" >/dev/null || { echo "slurm_up: $b not found (apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge)" >&2; exit 3; }
done
[[ -e $D/pids ]] && die "$D/pids exists: cluster already up? run tools/slurm_down.sh first"
rm -rf "$D"
mkdir -p "$D"/{ctld,spool,log,munge}
chmod 0755 "$D"
chmod 0711 "$D/munge"                  # munged refuses group/world-writable dirs
: > "$D/pids"                          # "name pid" lines for slurm_down.sh
trap 'rc=$?; (( rc == 0 )) || FMLUA_SLURM_DIR="$D" "$HERE/slurm_down.sh" --keep >&2' EXIT

# start NAME CMD...: CMD in its own session, in the background; record its PID
start() {
  local name=$1; shift
  setsid "$@" > "$D/log/$name.out" 2>&1 < /dev/null &
  echo "$name $!" >> "$D/pids"
}

# munge: a fresh key and a private socket (-F: foreground, so $! is the daemon)
mungekey --create --keyfile="$D/munge/munge.key"
start munged munged -F --force --key-file="$D/munge/munge.key" --socket="$D/munge/munge.sock" \
      --pid-file="$D/munge/munged.pid" --seed-file="$D/munge/munged.seed" --log-file="$D/log/munged.log"
for _ in $(seq 100); do [[ -S $D/munge/munge.sock ]] && break; sleep 0.05; done
munge -n -S "$D/munge/munge.sock" | unmunge -S "$D/munge/munge.sock" > /dev/null \
  || die "munge round trip failed; see $D/log/munged.out"

cat > "$D/slurm.conf" <<CONF
ClusterName=fmlua
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$ME
SlurmdUser=$ME
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.sock
StateSaveLocation=$D/ctld
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=1
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=60
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
printf 'export SLURM_CONF=%q\n' "$D/slurm.conf" > "$D/env.sh"
export SLURM_CONF=$D/slurm.conf

# -D: foreground; -N localhost: the node name, whatever the hostname is
start slurmctld slurmctld -D -f "$D/slurm.conf"
start slurmd slurmd -D -f "$D/slurm.conf" -N localhost

state=""; deadline=$((SECONDS + 30))
while (( SECONDS < deadline )); do
  while read -r name pid; do
    kill -0 "$pid" 2>/dev/null || { state="$name died"; break 2; }
  done < "$D/pids"
  state=$(timeout 5 sinfo -h -N -o '%T' 2>/dev/null || true)
  [[ $state == idle ]] && break
  sleep 0.1
done
if [[ $state != idle ]]; then
  echo "slurm_up: node never became idle (state '$state'); logs:" >&2
  tail -n 20 "$D"/log/* >&2 || true
  exit 1
fi
echo "slurm_up: up in ${SECONDS}s, dir $D; source $D/env.sh"
