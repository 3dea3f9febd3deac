# shellcheck shell=bash
# Sourced by start-services.sh, which calls ensure_docker.
# ---- Docker (dockerd) ----------------------------------------------------
#
# The container tests talk to a real dockerd through /var/run/docker.sock.
# Machines here may lack systemd, so dockerd is started in the background
# with its default storage driver and its log in $DOCKERD_LOG. Nothing is
# pulled: the tests build their images FROM scratch.

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/funcx-dockerd.log}

docker_ok() { docker info >/dev/null 2>&1; }

# dockerd_running: a dockerd process exists (without procps' pgrep, which
# minimal images lack).
dockerd_running() {
  local c
  for c in /proc/[0-9]*/comm; do
    [ "$(cat "$c" 2>/dev/null)" = dockerd ] && return 0
  done
  return 1
}

dockerd_logs() {
  [ -f "$DOCKERD_LOG" ] && { echo "--- last lines of $DOCKERD_LOG" >&2; tail -n 30 "$DOCKERD_LOG" >&2; }
  return 0
}

ensure_docker() {
  if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    apt_install docker.io
  else
    say "dockerd is installed"
  fi

  if docker_ok; then
    say "dockerd is running"
    return 0
  fi

  # A dockerd that died uncleanly leaves its pid file, which makes the next
  # one refuse to start; remove it only when that pid is not a dockerd.
  local pidfile=/var/run/docker.pid
  if [ -f "$pidfile" ] && ! grep -qs dockerd "/proc/$(cat "$pidfile")/comm"; then
    rm -f "$pidfile"
  fi
  if dockerd_running; then
    say "dockerd is starting"
  else
    say "starting dockerd in the background (log: $DOCKERD_LOG)"
    # setsid: the daemon outlives this script and its terminal.
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  wait_for "dockerd (docker info)" docker_ok || { dockerd_logs; die "dockerd did not answer within ${TIMEOUT}s"; }
}
