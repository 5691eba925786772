#!/usr/bin/env bash
# Install (if missing) and start the services the tests use: PostgreSQL (the classroom store's
# second database) and nginx (the two-replica deployment test). Prints the test database URL.
# Needs root (CI runs as root); safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# Only the URL goes to stdout (the caller captures it); everything else, including what
# pg_ctlcluster prints ("Removed stale pid file."), goes to stderr. The set-up runs with the
# caller's stdout closed: a daemon it starts (PostgreSQL, from pg_ctlcluster or from the
# package's postinst) inherits every open descriptor, and one holding the caller's pipe made
# `$(bash .ci/services.sh)` wait forever on a fresh machine.
exec 3>&1 1>&2
start_services() {
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # Debian's nginx package starts a server on port 80 that the tests do not use.
  service nginx stop >/dev/null 2>&1 || true

  ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$ver main$"; then
    pg_createcluster "$ver" main >/dev/null
  fi
  pg_ctlcluster "$ver" main start 2>/dev/null || true
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
  psql_as_postgres() { su postgres -c "psql -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
  [ "$(psql_as_postgres "SELECT 1 FROM pg_roles WHERE rolname='lrlab'")" = 1 ] ||
    psql_as_postgres "CREATE ROLE lrlab LOGIN PASSWORD 'lrlab' CREATEDB" >&2
  [ "$(psql_as_postgres "SELECT 1 FROM pg_database WHERE datname='lrlab_test'")" = 1 ] ||
    su postgres -c "createdb -O lrlab lrlab_test" >&2
}
start_services 3>&- </dev/null
echo "postgresql+psycopg://lrlab:lrlab@127.0.0.1:5432/lrlab_test" >&3
