# shellcheck shell=bash
# Sourced by start-services.sh, which calls ensure_postgresql.
# ---- PostgreSQL --------------------------------------------------------
#
# Debian's postgresql package and its cluster (the newest installed
# major version, cluster "main", port 5432), started with pg_ctlcluster,
# and a role and database for the tests of service/pgstore and of
# several service replicas:
#
#   FUNCX_TEST_POSTGRES=postgres://funcx:funcx@127.0.0.1:5432/funcx_test?sslmode=disable
#
# which is also the tests' default when the variable is unset. Each test
# works in a schema of its own and drops it afterwards.

PG_ROLE=funcx
PG_PASSWORD=funcx
PG_DATABASE=funcx_test
PG_PORT=5432
PG_DSN="postgres://$PG_ROLE:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE?sslmode=disable"

pg_version() { find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1; }
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
pg_sql() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -tA "$@" </dev/null; }

pg_logs() {
  local log
  for log in /var/log/postgresql/postgresql-*-main.log; do
    [ -f "$log" ] && { echo "--- last lines of $log" >&2; tail -n 30 "$log" >&2; }
  done
  return 0
}

ensure_postgresql() {
  if [ -z "$(pg_version)" ] || ! command -v pg_ctlcluster >/dev/null; then
    apt_install postgresql
  else
    say "postgresql is installed"
  fi
  local ver
  ver=$(pg_version)
  [ -n "$ver" ] || die "no PostgreSQL server under /usr/lib/postgresql after installing postgresql"

  if ! pg_lsclusters -h 2>/dev/null | awk -v v="$ver" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
    say "creating PostgreSQL $ver cluster main"
    pg_createcluster "$ver" main --port "$PG_PORT" >/dev/null || die "pg_createcluster $ver main failed"
  fi
  # Several service replicas, each with a pool, and the tests' stores in
  # parallel need more than the default 100 connections. Read at start.
  local conf=/etc/postgresql/$ver/main/conf.d/funcx-tests.conf
  if [ -d "$(dirname "$conf")" ] && [ ! -f "$conf" ]; then
    printf '# Written by funcx-go scripts/services/postgresql.sh for its tests.\nmax_connections = 300\n' >"$conf"
  fi

  if pg_ready; then
    say "postgresql is running"
  else
    say "starting PostgreSQL $ver cluster main"
    pg_ctlcluster "$ver" main start </dev/null || { pg_logs; die "pg_ctlcluster $ver main start failed"; }
    wait_for "postgresql (127.0.0.1:$PG_PORT)" pg_ready || { pg_logs; die "postgresql did not answer within ${TIMEOUT}s"; }
  fi

  if [ "$(pg_sql -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != 1 ]; then
    say "creating role $PG_ROLE"
    pg_sql -c "CREATE ROLE $PG_ROLE LOGIN PASSWORD '$PG_PASSWORD'" || die "create role $PG_ROLE failed"
  fi
  if [ "$(pg_sql -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]; then
    say "creating database $PG_DATABASE"
    pg_sql -c "CREATE DATABASE $PG_DATABASE OWNER $PG_ROLE" || die "create database $PG_DATABASE failed"
  fi
  say "postgresql: export FUNCX_TEST_POSTGRES='$PG_DSN' (the tests' default)"
}
