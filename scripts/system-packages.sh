#!/usr/bin/env bash
# Makes sure the servers the test suite runs for real are on the machine:
# PostgreSQL, Redis and Chromium (Debian packages). Installs them with apt-get when
# missing and we are root; otherwise says what is missing and fails.
set -euo pipefail

missing=()
ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "==> installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the services it installs where it can; the suite runs its own.
  for service in postgresql redis-server; do
    service "$service" stop >/dev/null 2>&1 || true
  done
else
  echo "The test suite needs these Debian packages: ${missing[*]}." >&2
  echo "Install them (sudo apt-get install ${missing[*]}) and run make test again." >&2
  exit 1
fi
