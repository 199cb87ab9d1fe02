#!/usr/bin/env bash
# A one-node SLURM cluster on localhost for the tests: munged and slurmctld + slurmd from
# Debian's munge and slurm-wlm, every file (key, sockets, state, logs, slurm.conf) in DIR,
# so nothing of the machine's own configuration is used or changed.
#   local_slurm.sh start DIR   starts it and waits until the node is idle (prints SLURM_CONF=...)
#   local_slurm.sh stop DIR    stops what `start` started (the test calls it however it ends)
# Needs root (slurmd runs jobs as their user) and the packages; exits 77 (skipped) without them.
set -euo pipefail
command_name=${1:?usage: local_slurm.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: local_slurm.sh start|stop DIR}")

stop() {
  [ -f "$dir/runtime" ] || return 0
  for pidfile in "$dir"/slurmd.pid "$dir"/slurmctld.pid "$dir"/munged.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  for _ in $(seq 50); do
    alive=0
    for pidfile in "$dir"/slurmd.pid "$dir"/slurmctld.pid "$dir"/munged.pid; do
      [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && alive=1
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  rm -rf "$(cat "$dir/runtime")" "$dir/runtime"
}

if [ "$command_name" = stop ]; then stop; exit 0; fi

for tool in munged mungekey slurmctld slurmd sbatch sinfo; do
  command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
  command -v "$tool" >/dev/null 2>&1 || { echo "skipped: $tool not installed (packages munge, slurm-wlm)"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skipped: a local slurmd must run as root"; exit 77; }

# Unix socket paths are limited to 108 bytes: the sockets (munge's, slurmd's spool) live in
# a short directory of their own, named in DIR/runtime and removed by `stop`.
mkdir -p "$dir/state"
runtime=$(mktemp -d /tmp/slurm.XXXXXX)
echo "$runtime" > "$dir/runtime"
mkdir -p "$runtime"/{spool,munge}
chmod 700 "$runtime/munge"
mungekey --create --keyfile="$runtime/munge/munge.key" --force
chmod 400 "$runtime/munge/munge.key"
munged --key-file="$runtime/munge/munge.key" --socket="$runtime/munge/socket" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$runtime/munge/seed" --force

host=$(hostname -s)
cpus=$(nproc)
# A free port pair for slurmctld and slurmd (parallel test runs must not share one).
port=$(( 20000 + ($$ % 20000) ))
cat > "$dir/slurm.conf" <<CONF
ClusterName=ltrnn-test
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$runtime/munge/socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$runtime/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -i
slurmd
for _ in $(seq 120); do
  if sinfo -h -o %T 2>/dev/null | grep -qx idle; then echo "SLURM_CONF=$SLURM_CONF"; exit 0; fi
  sleep 0.5
done
echo "the local SLURM did not become ready within 60 s; logs in $dir" >&2
tail -n 20 "$dir"/slurmctld.log "$dir"/slurmd.log >&2 || true
stop
exit 1
