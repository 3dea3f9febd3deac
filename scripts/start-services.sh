#!/usr/bin/env bash
# Installs (Debian, as root) and starts what the integration tests need,
# each only if it is missing or stopped, so it is safe to run again on a
# machine that already has everything running. scripts/test.sh calls it
# before the tests; CI runs it non-interactively.
#
# The services are in scripts/services/NAME.sh, one file each:
#   rabbitmq   rabbitmq-server with the management plugin:
#              AMQP on 127.0.0.1:5672, HTTP API on 127.0.0.1:15672
#              (guest/guest, which RabbitMQ admits on loopback only),
#              and AMQP over TLS on 127.0.0.1:5671 with a test CA and
#              server certificate in /etc/funcx-test/tls (ca.pem)
#   python     Debian's python3 (/usr/bin/python3), for Python functions
#   slurm      munged, MariaDB + slurmdbd (for sacct), slurmctld and slurmd:
#              a one-node cluster, this host in partition "debug"
#              (see docs/slurm.md)
#
# Environment:
#   SERVICES_TIMEOUT=60   seconds to wait for each service to answer
set -euo pipefail

TIMEOUT="${SERVICES_TIMEOUT:-60}"
export DEBIAN_FRONTEND=noninteractive
# The RabbitMQ and Slurm daemons live in /usr/sbin, which a CI shell's PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

here="$(dirname "$0")/services"
# shellcheck source=services/lib.sh
source "$here/lib.sh"

# Each scripts/services/NAME.sh (other than lib.sh) defines ensure_NAME,
# which installs and starts that service when it is missing.
for f in "$here"/*.sh; do
  name=$(basename "$f" .sh)
  [ "$name" = lib ] && continue
  # shellcheck disable=SC1090
  source "$f"
  "ensure_$name"
done
say "all services up"
