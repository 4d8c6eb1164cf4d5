#!/usr/bin/env bash
# `make test`: ruff, then the whole pytest suite twice: on SQLite, then on a real
# PostgreSQL and a real Redis started here on loopback in a temporary folder.
# Exits non-zero when a check or a test fails, or when no test ran (pytest exit 5).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1
step() { printf '\n==> %s\n' "$*"; }

step "ruff check"
.venv/bin/ruff check .
step "ruff format --check"
.venv/bin/ruff format --check .

scripts/system-packages.sh

work=$(mktemp -d /tmp/aha-test.XXXXXX)
chmod 755 "$work"
pg_pid_file="$work/pg/postmaster.pid"
as_pg=()
cleanup() {
  if [ -f "$pg_pid_file" ]; then
    "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Redis for both runs (tests that stop Redis start a private one of their own).
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$work" --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
export AHA_TEST_REDIS_URL="redis://127.0.0.1:${redis_port}/0"
# Repeatable property tests: the same examples on every run (see tests/conftest.py).
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"

run_pytest() {
  local label=$1; shift
  step "pytest on $label"
  set +e
  .venv/bin/python -m pytest "$@"
  local code=$?
  set -e
  if [ $code -eq 5 ]; then
    echo "pytest on $label collected no tests: that is a failure." >&2
  fi
  return $code
}

run_pytest "SQLite" "$@"

# PostgreSQL: a throwaway cluster; postgres refuses to run as root, so root runs it as
# the postgres user that the Debian package creates.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
mkdir "$work/pg"
if [ "$(id -u)" = 0 ]; then
  chown postgres "$work/pg"
  as_pg=(runuser -u postgres --)
fi
pg_port=$(free_port)
"${as_pg[@]}" "$PGBIN/initdb" -D "$work/pg" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$work/pg" -w -l "$work/pg/server.log" \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null

DATABASE_URL="postgres://postgres@127.0.0.1:${pg_port}/aha_desk" run_pytest "PostgreSQL" "$@"
