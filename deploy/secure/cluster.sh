#!/usr/bin/env bash
# The secure local cluster: deploy/local/cluster.sh with this folder's
# properties, its own data directory (./data-secure), and the admin's
# client certificate for its readiness checks. Makes the certificates
# first when deploy/secure/certs/ has none.
#
#   deploy/secure/cluster.sh start | start-broker 4 | stop | status
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
[ "${1:-}" = start ] && deploy/secure/make-certs.sh
STRATA_CONFIG=deploy/secure STRATA_DATA=${STRATA_DATA:-$top/data-secure} \
  STRATA_COMMAND_CONFIG=deploy/secure/admin.properties exec deploy/local/cluster.sh "$@"
