# Helpers shared by the service scripts; sourced by start-services.sh.
# shellcheck shell=bash
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

