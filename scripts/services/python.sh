# shellcheck shell=bash
# Sourced by start-services.sh, which calls ensure_python.
# ---- Python (Debian's python3) --------------------------------------------
#
# Python functions run in python3 interpreters that workers start; the
# tests of the Python SDK (python/) run with Debian's /usr/bin/python3
# (3.11 on Debian 12) and its unittest, never a version manager's shim
# that may come first in PATH. `pip install ./python` is tested offline in
# a virtual environment, with Debian's pip, setuptools and wheel.

python_ok() {
  [ -x /usr/bin/python3 ] &&
    /usr/bin/python3 -c 'import venv, ensurepip, setuptools, wheel, pip' >/dev/null 2>&1
}

ensure_python() {
  if python_ok; then
    say "python3 is installed ($(/usr/bin/python3 --version 2>&1))"
    return 0
  fi
  apt_install python3 python3-venv python3-pip python3-setuptools python3-wheel
  python_ok || die "apt-get installed python3, but /usr/bin/python3 lacks venv, pip, setuptools or wheel"
}
