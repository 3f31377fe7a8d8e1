#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm tests: `start` (idempotent) or `stop`.
# Debian's slurm-wlm and munge; state under $WISE_AL_SLURM_DIR (default /tmp/wise-al-slurm).
# Needs root (slurmd runs jobs as their user). No accounting daemon: the job completion log
# (jobcomp/filetxt) and `scontrol show job` say how a job ended.
set -euo pipefail
dir=${WISE_AL_SLURM_DIR:-/tmp/wise-al-slurm}
conf=$dir/slurm.conf
node=$(hostname -s)
cpus=$(nproc)

stop() {
  for daemon in slurmd slurmctld; do
    if [ -f "$dir/$daemon.pid" ]; then
      kill "$(cat "$dir/$daemon.pid")" 2>/dev/null || true
      rm -f "$dir/$daemon.pid"
    fi
  done
  if [ -f "$dir/munged.pid" ]; then
    kill "$(cat "$dir/munged.pid")" 2>/dev/null || true
    rm -f "$dir/munged.pid"
  fi
}

running() {
  SLURM_CONF=$conf timeout 5 scontrol ping 2>/dev/null | grep -q UP \
    && SLURM_CONF=$conf timeout 5 sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'
}

start() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "local-slurm.sh: run as root (slurmd starts jobs as their user)" >&2
    exit 1
  fi
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurm-wlm and munge"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      slurm-wlm munge >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
             --no-install-recommends slurm-wlm munge >/dev/null; }
  fi
  mkdir -p "$dir"/{spool,state,munge,log}
  if [ -f "$conf" ] && running; then
    echo "slurm is up ($conf)"
    return
  fi
  stop
  if [ ! -f "$dir/munge/munge.key" ]; then
    head -c 1024 /dev/urandom > "$dir/munge/munge.key"
  fi
  chmod 700 "$dir/munge"
  chmod 400 "$dir/munge/munge.key"
  cat > "$conf" <<EOF
ClusterName=wise-al-local
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.log
ReturnToService=2
MinJobAge=600
KillWait=5
InactiveLimit=0
SchedulerType=sched/backfill
NodeName=$node CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munge.seed" --force
  SLURM_CONF=$conf slurmctld -f "$conf"
  SLURM_CONF=$conf slurmd -f "$conf"
  for _ in $(seq 60); do
    if running; then
      echo "slurm is up ($conf)"
      return
    fi
    sleep 0.5
  done
  echo "local-slurm.sh: slurm did not come up; see $dir/log" >&2
  exit 1
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
