# shellcheck shell=bash
# Sourced by start-services.sh, which calls ensure_rabbitmq.
# ---- RabbitMQ ----------------------------------------------------------
#
# AMQP on 5672 (plain) for everything, and a TLS listener on 5671 for the
# tests of amqps:// links, with a test CA and server certificate made
# here (openssl) into $RABBITMQ_TLS_DIR: clients trust ca.pem.

RABBITMQ_API=http://127.0.0.1:15672/api/overview
RABBITMQ_CONF=/etc/rabbitmq/rabbitmq.conf
RABBITMQ_TLS_DIR=/etc/funcx-test/tls
RABBITMQ_TLS_PORT=5671
# The machine-wide lock of the tests that share this RabbitMQ
# (broker/brokertest.RabbitMQLockPath): they hold it shared; a restart
# holds it exclusively, so that no test sees it.
RABBITMQ_TEST_LOCK=/tmp/funcx-go-rabbitmq-tests.lock

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

  # Before any start, so that a node started here loads the TLS
  # listener at once.
  RABBITMQ_TLS_RENEWED=
  rabbitmq_tls_certs && RABBITMQ_TLS_RENEWED=1
  rabbitmq_tls_conf

  if port_open 127.0.0.1 5672 && rabbitmq_api_ok; then
    say "rabbitmq is running, management API up"
    ensure_rabbitmq_tls
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
    RABBITMQ_TLS_RENEWED= # it has just read the certificates
  fi

  # Idempotent; persisted in enabled_plugins, so later starts load it.
  say "enabling rabbitmq_management"
  rabbitmq-plugins -q enable rabbitmq_management </dev/null >/dev/null || { rabbitmq_logs; die "enabling rabbitmq_management failed"; }

  wait_for "rabbitmq AMQP (127.0.0.1:5672)" port_open 127.0.0.1 5672 ||
    { rabbitmq_logs; die "rabbitmq AMQP port 5672 not open within ${TIMEOUT}s"; }
  wait_for "rabbitmq management API ($RABBITMQ_API)" rabbitmq_api_ok ||
    { rabbitmq_logs; die "rabbitmq management API not answering within ${TIMEOUT}s"; }
  ensure_rabbitmq_tls
}

# rabbitmq_tls_listening: the node serves AMQP over TLS on its TLS port.
rabbitmq_tls_listening() {
  rabbitmq-diagnostics -q listeners </dev/null 2>/dev/null | grep -q "port: $RABBITMQ_TLS_PORT, protocol: amqp/ssl"
}

# rabbitmq_tls_certs makes the test CA and the server certificate it
# signs (for localhost, 127.0.0.1, ::1 and this host's name) unless they
# exist and stay valid for another 30 days. It returns 0 if it made new
# ones. The CA's key is not kept: nothing else is ever signed with it.
rabbitmq_tls_certs() {
  local d=$RABBITMQ_TLS_DIR
  if [ -s "$d/ca.pem" ] && [ -s "$d/server.key" ] &&
    openssl x509 -checkend $((30 * 86400)) -noout -in "$d/server.pem" >/dev/null 2>&1; then
    say "rabbitmq TLS certificates in $d are valid"
    return 1
  fi
  command -v openssl >/dev/null || apt_install openssl
  say "making a test CA and a RabbitMQ server certificate in $d"
  mkdir -p "$d" && chmod 755 "$d"
  local tmp
  tmp=$(mktemp -d)
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=funcx-go test CA" \
    -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1 &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tmp/server.key" -out "$tmp/server.csr" >/dev/null 2>&1 &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,DNS:%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
      "$(hostname)" >"$tmp/ext" &&
    openssl x509 -req -days 3650 -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
      -extfile "$tmp/ext" -out "$tmp/server.pem" >/dev/null 2>&1 ||
    { rm -rf "$tmp"; die "openssl could not make the test certificates"; }
  # The node runs as rabbitmq; the key is for its eyes only.
  install -m 644 "$tmp/ca.pem" "$tmp/server.pem" "$d/" &&
    install -m 640 -g rabbitmq "$tmp/server.key" "$d/" ||
    { rm -rf "$tmp"; die "could not install the test certificates in $d"; }
  rm -rf "$tmp"
  return 0
}

# rabbitmq_tls_conf adds the TLS listener to $RABBITMQ_CONF unless one is
# there; the plain listener (5672 by default) stays.
rabbitmq_tls_conf() {
  if [ -f "$RABBITMQ_CONF" ] && grep -q '^listeners\.ssl\.' "$RABBITMQ_CONF"; then
    say "$RABBITMQ_CONF has a TLS listener"
    return 0
  fi
  say "adding a TLS listener on $RABBITMQ_TLS_PORT to $RABBITMQ_CONF"
  cat >>"$RABBITMQ_CONF" <<CONF
# funcx-go tests (scripts/services/rabbitmq.sh): AMQP over TLS for the
# amqps:// tests; the plain listener stays on 5672.
listeners.ssl.default = $RABBITMQ_TLS_PORT
ssl_options.cacertfile = $RABBITMQ_TLS_DIR/ca.pem
ssl_options.certfile = $RABBITMQ_TLS_DIR/server.pem
ssl_options.keyfile = $RABBITMQ_TLS_DIR/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
CONF
}

# ensure_rabbitmq_tls restarts the running node when it does not serve
# the TLS listener, or serves certificates rabbitmq_tls_certs has just
# replaced (RabbitMQ reads its configuration at boot). The restart holds
# the tests' RabbitMQ lock exclusively: it waits for the tests using
# RabbitMQ, and none starts until the node is back.
ensure_rabbitmq_tls() {
  local renewed=$RABBITMQ_TLS_RENEWED
  if [ -z "$renewed" ] && rabbitmq_tls_listening; then
    say "rabbitmq serves AMQP over TLS on $RABBITMQ_TLS_PORT"
    return 0
  fi
  say "waiting for the RabbitMQ tests' lock ($RABBITMQ_TEST_LOCK) to restart the node"
  exec 9>>"$RABBITMQ_TEST_LOCK"
  chmod 666 "$RABBITMQ_TEST_LOCK" 2>/dev/null || true
  flock -x -w 1800 9 || { exec 9>&-; die "could not take $RABBITMQ_TEST_LOCK within 30 minutes: tests keep RabbitMQ busy"; }
  # 9>&-: no command run under the lock inherits it (the node would hold
  # it for as long as it runs); this shell keeps it in a saved,
  # close-on-exec copy of fd 9 until the restart is done.
  local ok=1
  if [ -n "$renewed" ] || ! rabbitmq_tls_listening 9>&-; then
    rabbitmq_tls_restart 9>&- || ok=
  fi
  exec 9>&-
  [ -n "$ok" ] || die "rabbitmq did not come back with its TLS listener after the restart (see the log above)"
}

# rabbitmq_tls_restart restarts the node, which reads its configuration
# again, and waits for its listeners.
rabbitmq_tls_restart() {
  say "restarting rabbitmq to load its TLS listener"
  rabbitmqctl -q stop </dev/null >/dev/null 2>&1 || true
  rabbitmq-server -detached </dev/null || { rabbitmq_logs; return 1; }
  wait_for "rabbitmq node" rabbitmq_node_up &&
    wait_for "rabbitmq AMQP (127.0.0.1:5672)" port_open 127.0.0.1 5672 &&
    wait_for "rabbitmq management API" rabbitmq_api_ok &&
    wait_for "rabbitmq AMQP over TLS (port $RABBITMQ_TLS_PORT)" rabbitmq_tls_listening ||
    { rabbitmq_logs; return 1; }
}
