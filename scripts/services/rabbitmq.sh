# shellcheck shell=bash
# Sourced by start-services.sh, which calls ensure_rabbitmq.
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
    # A node whose app was stopped (rabbitmqctl stop_app, as the outage
    # test does) answers pings but serves nothing until it is started.
    if ! port_open 127.0.0.1 5672; then
      say "rabbitmq app not serving AMQP: rabbitmqctl start_app"
      rabbitmqctl -q start_app </dev/null >/dev/null || { rabbitmq_logs; die "rabbitmqctl start_app failed"; }
    fi
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
