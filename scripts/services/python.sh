# shellcheck shell=bash
# Sourced by start-services.sh, which calls ensure_python.
# ---- Python (Debian's python3) --------------------------------------------
#
# Python functions run in python3 interpreters that workers start; the
# tests of the Python SDK (python/) run with Debian's /usr/bin/python3
# (3.11 on Debian 12) and its unittest, never a version manager's shim
# that may come first in PATH.

ensure_python() {
  if [ -x /usr/bin/python3 ]; then
    say "python3 is installed ($(/usr/bin/python3 --version 2>&1))"
    return 0
  fi
  apt_install python3
  [ -x /usr/bin/python3 ] || die "apt-get installed python3, but /usr/bin/python3 is missing"
}
