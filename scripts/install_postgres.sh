#!/usr/bin/env bash
# Installs Debian's PostgreSQL 15 server binaries for the tests that run the stores on PostgreSQL
# (tests marked `postgres`; devtools/postgres.py starts a throwaway server from /usr/lib/postgresql/15/bin),
# idempotently: only when missing. The package's own cluster is not used (nor started by the tests).
set -euo pipefail
if [ -x /usr/lib/postgresql/15/bin/pg_ctl ] && [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_postgres.sh: postgresql-15 missing and installing needs root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
/usr/lib/postgresql/15/bin/pg_ctl --version
