#!/usr/bin/env bash
# Installs (Debian, as root) and starts what the integration tests need,
# each only if it is missing or stopped, so it is safe to run again on a
# machine that already has everything running. scripts/test.sh calls it
# before the tests; CI runs it non-interactively.
#
#   rabbitmq   rabbitmq-server with the management plugin:
#              AMQP on 127.0.0.1:5672, HTTP API on 127.0.0.1:15672
#              (guest/guest, which RabbitMQ admits on loopback only)
#
# Environment:
#   SERVICES_TIMEOUT=60   seconds to wait for each service to answer
set -euo pipefail

TIMEOUT="${SERVICES_TIMEOUT:-60}"
export DEBIAN_FRONTEND=noninteractive
# The RabbitMQ commands live in /usr/sbin, which a CI shell's PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

say() { printf 'start-services: %s\n' "$*"; }
die() { printf 'start-services: error: %s\n' "$*" >&2; exit 1; }

# apt_install PACKAGE... installs the packages, running apt-get update
# once per run first.
APT_UPDATED=
apt_install() {
  [ "$(id -u)" -eq 0 ] || die "need root to install $* (run as root, or install them yourself)"
  command -v apt-get >/dev/null || die "apt-get not found: install $* yourself (this script knows Debian)"
  if [ -z "$APT_UPDATED" ]; then
    say "apt-get update"
    apt-get update -q </dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "installing $*"
  apt-get install -y -q "$@" </dev/null || die "apt-get install $* failed"
}

# wait_for WHAT CMD... runs CMD until it succeeds, for at most $TIMEOUT
# seconds.
wait_for() {
  local what=$1; shift
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      return 1
    fi
    sleep 1
  done
  say "$what answers"
}

# port_open HOST PORT: something accepts TCP connections there.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# ---- RabbitMQ ----------------------------------------------------------

RABBITMQ_API=http://127.0.0.1:15672/api/overview

rabbitmq_api_ok() { curl -fsS -m 3 -u guest:guest "$RABBITMQ_API" >/dev/null 2>&1; }
rabbitmq_node_up() { rabbitmq-diagnostics -q ping --timeout 5 </dev/null >/dev/null 2>&1; }

rabbitmq_logs() {
  local log
  for log in /var/log/rabbitmq/rabbit@*.log; do
    [ -f "$log" ] && { echo "--- last lines of $log" >&2; tail -n 30 "$log" >&2; }
  done
  return 0
}

ensure_rabbitmq() {
  if ! command -v rabbitmq-server >/dev/null || ! command -v curl >/dev/null; then
    local missing=()
    command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
    command -v curl >/dev/null || missing+=(curl)
    apt_install "${missing[@]}"
  else
    say "rabbitmq-server is installed"
  fi

  if port_open 127.0.0.1 5672 && rabbitmq_api_ok; then
    say "rabbitmq is running, management API up"
    return 0
  fi

  # The package may have started the node itself (its postinst), or a
  # previous run left it up without the plugin.
  if rabbitmq_node_up; then
    say "rabbitmq node is running"
  else
    say "starting rabbitmq-server (detached)"
    rabbitmq-server -detached </dev/null || { rabbitmq_logs; die "rabbitmq-server -detached failed"; }
    wait_for "rabbitmq node" rabbitmq_node_up || { rabbitmq_logs; die "rabbitmq node did not come up within ${TIMEOUT}s"; }
  fi

  # Idempotent; persisted in enabled_plugins, so later starts load it.
  say "enabling rabbitmq_management"
  rabbitmq-plugins -q enable rabbitmq_management </dev/null >/dev/null || { rabbitmq_logs; die "enabling rabbitmq_management failed"; }

  wait_for "rabbitmq AMQP (127.0.0.1:5672)" port_open 127.0.0.1 5672 ||
    { rabbitmq_logs; die "rabbitmq AMQP port 5672 not open within ${TIMEOUT}s"; }
  wait_for "rabbitmq management API ($RABBITMQ_API)" rabbitmq_api_ok ||
    { rabbitmq_logs; die "rabbitmq management API not answering within ${TIMEOUT}s"; }
}

# ---- main ---------------------------------------------------------------

ensure_rabbitmq
say "all services up"
