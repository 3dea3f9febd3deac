# shellcheck shell=bash
# Sourced by start-services.sh, which calls ensure_slurm.
# ---- Slurm (one-node cluster) -----------------------------------------
#
# A one-node Slurm for the provider/slurm integration tests: munged, then
# MariaDB and slurmdbd (accounting, so that `sacct` works), then slurmctld
# and slurmd, all started directly (no systemd needed), this host's short
# name being both SlurmctldHost and the only node, in partition "debug"
# (the default). slurmdbd reaches MariaDB as root over its socket, so no
# database password is written anywhere. MinJobAge keeps ended jobs in
# squeue for an hour too, for provider/slurm's squeue fallback.
#
# The slurm.conf this writes starts with SLURM_CONF_MARK. A slurm.conf
# without it is someone else's and is left alone (the daemons are still
# started with it).

SLURM_CONF=/etc/slurm/slurm.conf
SLURMDBD_CONF=/etc/slurm/slurmdbd.conf
SLURM_CLUSTER=funcx
SLURM_CONF_MARK="# Written by funcx scripts/services/slurm.sh"
SLURM_PARTITION=debug
SLURM_LOG_DIR=/var/log/slurm
SLURM_STATE_DIR=/var/lib/slurm/slurmctld
SLURM_SPOOL_DIR=/var/lib/slurm/slurmd

slurm_logs() {
  local log
  for log in "$SLURM_LOG_DIR/slurmctld.log" "$SLURM_LOG_DIR/slurmd.log" "$SLURM_LOG_DIR/slurmdbd.log" /var/log/munge/munged.log /var/log/mysql/error.log; do
    [ -f "$log" ] && { echo "--- last lines of $log" >&2; tail -n 30 "$log" >&2; }
  done
  return 0
}

munge_ok() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }
slurmctld_ok() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
slurm_running() { pgrep -x "$1" >/dev/null 2>&1; }

# slurm_node_state prints the node's state in lower case (idle, mixed,
# down*, drained …).
slurm_node_state() { sinfo -h -N -n "$SLURM_NODE" -o '%T' 2>/dev/null | head -n1; }
slurm_node_usable() {
  case "$(slurm_node_state)" in
    idle | mixed | allocated | completing) return 0 ;;
  esac
  return 1
}

# slurm_node_ready resumes the node when an earlier run left it down or
# drained (slurmd killed, machine restarted; ReturnToService=2 covers most
# of it) and reports whether it takes jobs. A node still registering
# ("down*": not responding yet) is left to come up by itself.
slurm_node_ready() {
  local state
  state=$(slurm_node_state)
  case "$state" in
    *'*') ;;
    down* | drain* | fail*)
      say "node $SLURM_NODE is $state: resuming it"
      scontrol update NodeName="$SLURM_NODE" State=RESUME >/dev/null 2>&1 || true
      ;;
  esac
  slurm_node_usable
}

# slurm_write_conf writes the one-node slurm.conf when there is none or
# when ours is outdated, and then sets SLURM_CONF_CHANGED=1.
slurm_write_conf() {
  local cpus mem_mb conf
  cpus=$(nproc)
  # RealMemory a little under the total: a node claiming more memory
  # than slurmd finds is drained.
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  conf=$(cat <<EOF
$SLURM_CONF_MARK; rewritten when it changes.
ClusterName=$SLURM_CLUSTER
SlurmctldHost=$SLURM_NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$SLURM_STATE_DIR
SlurmdSpoolDir=$SLURM_SPOOL_DIR
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$SLURM_LOG_DIR/slurmctld.log
SlurmdLogFile=$SLURM_LOG_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# A node that was down comes back by itself once slurmd answers.
ReturnToService=2
# Accounting through slurmdbd, for sacct; squeue keeps ended jobs an hour.
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/none
MinJobAge=3600
# Walltime ends jobs promptly: no grace beyond the limit, 5 s from
# SIGTERM to SIGKILL.
OverTimeLimit=0
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$SLURM_NODE CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
# Many test jobs share the two cores of a CI machine.
PartitionName=$SLURM_PARTITION Nodes=$SLURM_NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:32
EOF
)
  if [ -f "$SLURM_CONF" ]; then
    if ! head -n1 "$SLURM_CONF" | grep -qF "$SLURM_CONF_MARK"; then
      say "keeping $SLURM_CONF (not written by this script)"
      return 0
    fi
    [ "$(cat "$SLURM_CONF")" = "$conf" ] && return 0
  fi
  mkdir -p "$(dirname "$SLURM_CONF")"
  printf '%s\n' "$conf" >"$SLURM_CONF.tmp" && mv "$SLURM_CONF.tmp" "$SLURM_CONF"
  say "wrote $SLURM_CONF (node $SLURM_NODE, $cpus CPUs, ${mem_mb} MB)"
  SLURM_CONF_CHANGED=1
}

# slurm_stop NAME PIDFILE stops the daemon this script started (by the
# pid file our slurm.conf names) and waits until it is gone.
slurm_stop() {
  local pid
  pid=$(cat "$2" 2>/dev/null) || die "$1 runs but $2 is missing: stop $1 yourself, then run this again"
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || die "$1 (pid $pid) did not stop within ${TIMEOUT}s"
    sleep 1
  done
}

mariadb_ok() { mariadb-admin ping >/dev/null 2>&1; }
slurmdbd_ok() { sacctmgr -n -P list cluster format=cluster </dev/null >/dev/null 2>&1; }

# ensure_slurmdbd starts MariaDB and slurmdbd and registers the cluster,
# so that slurmctld sends them its jobs and sacct answers.
ensure_slurmdbd() {
  if mariadb_ok; then
    say "mariadb is running"
  else
    say "starting mariadb"
    # In a session of its own: the init script backgrounds mysqld_safe in
    # the caller's process group, which a job runner ending that group
    # (a CI step, a terminal closing) would take down with it.
    setsid /etc/init.d/mariadb start </dev/null >/dev/null || { slurm_logs; die "mariadb failed to start"; }
    wait_for "mariadb" mariadb_ok || { slurm_logs; die "mariadb not answering within ${TIMEOUT}s"; }
  fi

  local conf
  conf=$(cat <<EOF
$SLURM_CONF_MARK; rewritten when it changes.
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
PidFile=/run/slurmdbd.pid
LogFile=$SLURM_LOG_DIR/slurmdbd.log
EOF
)
  if [ -f "$SLURMDBD_CONF" ] && ! head -n1 "$SLURMDBD_CONF" | grep -qF "$SLURM_CONF_MARK"; then
    say "keeping $SLURMDBD_CONF (not written by this script)"
  elif [ ! -f "$SLURMDBD_CONF" ] || [ "$(cat "$SLURMDBD_CONF")" != "$conf" ]; then
    # slurmdbd refuses a configuration others can read.
    { (umask 077 && printf '%s\n' "$conf" >"$SLURMDBD_CONF.tmp") && mv "$SLURMDBD_CONF.tmp" "$SLURMDBD_CONF"; } ||
      die "cannot write $SLURMDBD_CONF"
    say "wrote $SLURMDBD_CONF"
    if slurm_running slurmdbd; then
      slurm_stop slurmdbd /run/slurmdbd.pid
    fi
  fi

  if slurm_running slurmdbd; then
    say "slurmdbd is running"
  else
    say "starting slurmdbd"
    slurmdbd </dev/null || { slurm_logs; die "slurmdbd failed to start"; }
  fi
  wait_for "slurmdbd (sacctmgr)" slurmdbd_ok || { slurm_logs; die "slurmdbd not answering within ${TIMEOUT}s"; }

  if ! sacctmgr -n -P list cluster format=cluster </dev/null 2>/dev/null | grep -qx "$SLURM_CLUSTER"; then
    say "registering cluster $SLURM_CLUSTER with slurmdbd"
    sacctmgr -i add cluster "$SLURM_CLUSTER" </dev/null >/dev/null || { slurm_logs; die "sacctmgr add cluster $SLURM_CLUSTER failed"; }
  fi
}

ensure_munge() {
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    mkdir -p /etc/munge
    (umask 077 && dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null) ||
      die "cannot create /etc/munge/munge.key"
  fi
  if munge_ok; then
    say "munged is running"
    return 0
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  say "starting munged"
  # --force: run as root with the key and directories as the package
  # left them (owned by the munge user).
  munged --force </dev/null || { slurm_logs; die "munged failed to start"; }
  wait_for "munged" munge_ok || { slurm_logs; die "munged not answering within ${TIMEOUT}s"; }
}

ensure_slurm() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    apt_install slurm-wlm munge
  else
    say "slurm-wlm and munge are installed"
  fi
  if ! command -v slurmdbd >/dev/null || ! command -v mariadb-admin >/dev/null; then
    apt_install slurmdbd mariadb-server
  else
    say "slurmdbd and mariadb-server are installed"
  fi
  SLURM_NODE=$(hostname -s)
  ensure_munge
  mkdir -p "$SLURM_LOG_DIR" "$SLURM_STATE_DIR" "$SLURM_SPOOL_DIR"
  SLURM_CONF_CHANGED=
  slurm_write_conf || die "cannot write $SLURM_CONF"
  # After slurm.conf, which sacctmgr reads to find slurmdbd.
  ensure_slurmdbd

  if [ -n "$SLURM_CONF_CHANGED" ] && slurm_running slurmctld; then
    # A new configuration: restart both daemons to read it (a node
    # definition change is not taken by `scontrol reconfigure`).
    say "slurm.conf changed: restarting slurmctld and slurmd"
    slurm_stop slurmd /run/slurmd.pid
    slurm_stop slurmctld /run/slurmctld.pid
  fi

  if slurm_running slurmctld && slurmctld_ok; then
    say "slurmctld is running"
  else
    say "starting slurmctld"
    slurmctld </dev/null || { slurm_logs; die "slurmctld failed to start"; }
    wait_for "slurmctld (scontrol ping)" slurmctld_ok || { slurm_logs; die "slurmctld not answering within ${TIMEOUT}s"; }
  fi

  if slurm_running slurmd; then
    say "slurmd is running"
  else
    say "starting slurmd"
    slurmd </dev/null || { slurm_logs; die "slurmd failed to start"; }
  fi

  wait_for "slurm node $SLURM_NODE (idle)" slurm_node_ready ||
    { sinfo -N -l >&2 || true; slurm_logs; die "slurm node $SLURM_NODE not usable within ${TIMEOUT}s (state: $(slurm_node_state))"; }
}
